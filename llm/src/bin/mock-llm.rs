//! `mock-llm`: runs the OpenAI-compatible mock server from [`healing_llm::mock`] as a process, for
//! load tests and manual testing against a real socket.
//!
//! The first line on stdout is `listening on http://ADDR/v1`, so a harness can start it with
//! `--bind 127.0.0.1:0` and read the chosen port. Stops on Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::time::Duration;

use clap::Parser;
use healing_llm::{Fault, MockConfig, ReplyMode};

/// OpenAI-compatible streaming mock (POST /v1/chat/completions, GET /health).
#[derive(Debug, Parser)]
#[command(name = "mock-llm", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Delay before the first content token, in milliseconds.
    #[arg(long, default_value_t = 50)]
    ttft_ms: u64,
    /// Tokens (words) per second after the first; 0 means as fast as possible.
    #[arg(long, default_value_t = 50.0)]
    tokens_per_sec: f64,
    /// Fault to inject: none, 429, 500, drop:N or hang. Per request: header `x-mock-fault`.
    #[arg(long, default_value = "none")]
    fault: Fault,
    /// Reply: echo (the last user message), words:N, fixed:TEXT, or grade:ANSWER[:DELAY_MS] — the
    /// grading mode: requests asking for a JSON object (the risk second opinion) get ANSWER
    /// (keywords, none, low, moderate, high, garbage, schema or 500) after DELAY_MS, all others echo.
    #[arg(long, default_value = "echo")]
    reply: ReplyMode,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.bind).await?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}/v1")?;
        out.flush()?;
    }
    let cfg = MockConfig {
        ttft: Duration::from_millis(args.ttft_ms),
        tokens_per_sec: args.tokens_per_sec,
        fault: args.fault,
        reply: args.reply,
    };
    healing_llm::mock::serve(listener, cfg, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
