//! `regpilot-mock-upstream`: the mock OpenAI-compatible upstream as a process, for benchmarks.
//!
//! Prints exactly one line, `listening on http://IP:PORT`, once bound, then serves until SIGINT
//! or SIGTERM. Example:
//!
//! ```text
//! MOCK_KEY=sk-mock regpilot-mock-upstream --listen 127.0.0.1:9001 --api-key-env MOCK_KEY \
//!     --chunks 8 --chunk-delay-ms 0 --threads 1
//! ```

use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use regpilot_mock_upstream::{wait_for_signal, MockConfig, MockUpstream};

/// A mock OpenAI-compatible upstream (see the library's docs for the special models).
#[derive(Parser, Debug)]
#[command(name = "regpilot-mock-upstream", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Name of the environment variable holding the API key to require; none: accept any.
    #[arg(long, value_name = "NAME")]
    api_key_env: Option<String>,
    /// Content chunks per stream.
    #[arg(long, default_value_t = 8)]
    chunks: usize,
    /// Pause before each content chunk of a stream, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    chunk_delay_ms: u64,
    /// The completion text (default: the quick brown fox).
    #[arg(long, value_name = "TEXT")]
    completion: Option<String>,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("regpilot-mock-upstream: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let api_key = match &args.api_key_env {
        Some(name) => Some(std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))?),
        None => None,
    };
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let defaults = MockConfig::default();
    let config = MockConfig {
        listen: args.listen,
        api_key,
        completion: args.completion.unwrap_or(defaults.completion),
        stream_chunks: args.chunks,
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()?;
    runtime.block_on(async {
        let upstream = MockUpstream::start(config).await?;
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening on http://{}", upstream.addr())?;
            stdout.flush()?;
        }
        wait_for_signal().await?;
        drop(upstream);
        Ok(())
    })
}
