//! `regpilot-hello`: a bare hello-world server on the gateway's stack (tokio's multi-threaded
//! runtime with its default worker count, axum on hyper, HTTP/1), the ceiling `bench/run`
//! compares the gateway's `/api/health` with. `GET /api/health` answers `{"status":"ok"}`; no
//! authentication, no limiting, no recording.
//!
//! Prints exactly one line, `listening on http://IP:PORT`, once bound, then serves until SIGINT
//! or SIGTERM:
//!
//! ```text
//! regpilot-hello --listen 127.0.0.1:0
//! ```

use std::error::Error;
use std::future::IntoFuture;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use clap::Parser;
use regpilot_mock_upstream::wait_for_signal;

/// A bare hello-world HTTP server for benchmarks.
#[derive(Parser, Debug)]
#[command(name = "regpilot-hello", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("regpilot-hello: {error}");
            ExitCode::FAILURE
        }
    }
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    // The same runtime the gateway's `serve` builds: multi-threaded, default worker count.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let app = Router::new().route("/api/health", get(|| async { Json(Health { status: "ok" }) }));
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening on http://{}", listener.local_addr()?)?;
            stdout.flush()?;
        }
        // As the gateway serves: TCP_NODELAY, and the accept loop on a runtime worker.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = wait_for_signal().await;
            });
        tokio::spawn(server.into_future()).await??;
        Ok(())
    })
}
