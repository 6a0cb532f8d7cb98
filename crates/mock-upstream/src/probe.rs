//! `regpilot-sse-probe`: measures the time to first chunk (TTFC) of SSE streams, for benchmarks.
//!
//! Each request opens a new TCP connection, writes a raw HTTP/1.1 POST (`Connection: close`),
//! starts the clock just before writing, stops the TTFC clock when the bytes after the response
//! headers first contain `data:` (chunked or plain bodies alike: the raw bytes are searched), then
//! reads to EOF for the total time. A non-2xx status, an I/O error or a body without `data:` is an
//! error: counted, and the first few printed to stderr. `--warmup` requests run first, unrecorded.
//! With `--concurrency C`, C tasks share the N requests. Prints one JSON line on stdout:
//!
//! ```text
//! {"requests":N,"errors":E,"ttfc_us":{"p50":…,"p90":…,"p99":…,"max":…},"total_us":{"p50":…,"p99":…}}
//! ```
//!
//! (percentiles over the successful requests, nearest rank, `null` if none) and exits 1 if any
//! request failed. Example:
//!
//! ```text
//! regpilot-sse-probe --url http://127.0.0.1:8080/v1/chat/completions \
//!     --header "Authorization: Bearer rp_..." --requests 500 --concurrency 4 \
//!     --body '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
//! ```

#[path = "probe/scan.rs"]
mod scan;

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use scan::{percentile, Scan, Target};

/// Measures time to first chunk of SSE streams.
#[derive(Parser, Debug)]
#[command(name = "regpilot-sse-probe", version)]
struct Args {
    /// The URL to POST to (http only).
    #[arg(long)]
    url: String,
    /// An extra request header, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The JSON request body.
    #[arg(long, default_value = r#"{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)]
    body: String,
    /// Measured requests.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Unmeasured requests sent first.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
}

/// One successful request's times.
struct Sample {
    ttfc: Duration,
    total: Duration,
}

/// How many errors are printed to stderr.
const ERRORS_PRINTED: usize = 10;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let target = match Target::parse(&args.url, &args.headers, &args.body) {
        Ok(target) => Arc::new(target),
        Err(error) => {
            eprintln!("regpilot-sse-probe: {error}");
            return ExitCode::FAILURE;
        }
    };
    let concurrency = args.concurrency.max(1);
    let warmup = run(&target, args.warmup, concurrency).await;
    let warmup_errors = warmup.iter().filter(|result| result.is_err()).count();
    if warmup_errors > 0 {
        eprintln!("warmup: {warmup_errors} of {} requests failed", args.warmup);
    }
    let results = run(&target, args.requests, concurrency).await;
    let mut ttfc = Vec::new();
    let mut total = Vec::new();
    let mut errors = 0;
    for result in results {
        match result {
            Ok(sample) => {
                ttfc.push(sample.ttfc.as_micros() as u64);
                total.push(sample.total.as_micros() as u64);
            }
            Err(error) => {
                errors += 1;
                if errors <= ERRORS_PRINTED {
                    eprintln!("error: {error}");
                }
            }
        }
    }
    if errors > ERRORS_PRINTED {
        eprintln!("... {} more errors", errors - ERRORS_PRINTED);
    }
    ttfc.sort_unstable();
    total.sort_unstable();
    let p = |values: &[u64], q: f64| percentile(values, q).map_or_else(|| "null".to_owned(), |v| v.to_string());
    println!(
        r#"{{"requests":{},"errors":{errors},"ttfc_us":{{"p50":{},"p90":{},"p99":{},"max":{}}},"total_us":{{"p50":{},"p99":{}}}}}"#,
        args.requests,
        p(&ttfc, 0.5),
        p(&ttfc, 0.9),
        p(&ttfc, 0.99),
        p(&ttfc, 1.0),
        p(&total, 0.5),
        p(&total, 0.99),
    );
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Sends `count` requests from `concurrency` tasks; the results in no particular order.
async fn run(target: &Arc<Target>, count: usize, concurrency: usize) -> Vec<Result<Sample, String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.min(count))
        .map(|_| {
            let (target, next) = (Arc::clone(target), Arc::clone(&next));
            tokio::spawn(async move {
                let mut results = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    results.push(one(&target).await);
                }
                results
            })
        })
        .collect();
    let mut results = Vec::with_capacity(count);
    for task in tasks {
        match task.await {
            Ok(done) => results.extend(done),
            Err(error) => results.push(Err(format!("task failed: {error}"))),
        }
    }
    results
}

/// One request on a new connection.
async fn one(target: &Target) -> Result<Sample, String> {
    let mut tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|error| format!("connect to {}:{}: {error}", target.host, target.port))?;
    tcp.set_nodelay(true).map_err(|error| format!("set_nodelay: {error}"))?;
    let start = Instant::now();
    tcp.write_all(&target.request).await.map_err(|error| format!("write: {error}"))?;
    let mut scan = Scan::default();
    let mut ttfc = None;
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = tcp.read(&mut buf).await.map_err(|error| format!("read: {error}"))?;
        if n == 0 {
            break;
        }
        if scan.feed(&buf[..n]) {
            ttfc = Some(start.elapsed());
        }
        if let Some(status) = scan.status() {
            if !(200..300).contains(&status) {
                return Err(format!("status {status}"));
            }
        }
    }
    let total = start.elapsed();
    match (scan.status(), ttfc) {
        (None, _) => Err("connection closed before the response headers ended".to_owned()),
        (Some(_), None) => Err("no `data:` in the response body".to_owned()),
        (Some(_), Some(ttfc)) => Ok(Sample { ttfc, total }),
    }
}
