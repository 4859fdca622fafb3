//! `healing-load run SCENARIO.toml [--target URL] [--summary-export FILE.json]`: flags, the
//! runtime, and k6's exit codes (0 ok, 99 threshold failed, 104 invalid config, 107 setup failed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use healing_load::run::{RunArgs, load_plan, run};
use healing_load::{LoadError, export, summary};

#[derive(Parser)]
#[command(name = "healing-load", version, about = "k6-style WebSocket load tests for Healing Space")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision accounts, run the scenarios, print the summary; exit 99 if a threshold failed.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// The server, e.g. http://127.0.0.1:8080 (overrides `options.target`).
        #[arg(long)]
        target: Option<String>,
        /// Write the end-of-test summary as k6 legacy JSON.
        #[arg(long)]
        summary_export: Option<PathBuf>,
        /// Add a threshold, METRIC=EXPR (e.g. 'chat_ack_latency=p(95)<50'); repeatable.
        #[arg(long = "threshold", value_name = "METRIC=EXPR")]
        thresholds: Vec<String>,
        /// An admin account used to provision the test's accounts.
        #[arg(long, env = "HEALING_ADMIN_USER")]
        admin_user: Option<String>,
        #[arg(long, env = "HEALING_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// No live progress lines.
        #[arg(long)]
        quiet: bool,
    },
    /// Check a scenario file without running it (exit 0, or 104 if invalid).
    Validate { scenario: PathBuf },
    /// Serve the chat subset on bare tokio-tungstenite (the comparison ceiling).
    Peer {
        #[arg(long, default_value = "127.0.0.1:9103")]
        bind: std::net::SocketAddr,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Peer { bind } => match peer(bind) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        Command::Validate { scenario } => {
            let args = RunArgs {
                scenario,
                target: None,
                thresholds: Vec::new(),
                admin_user: None,
                admin_password: None,
                quiet: true,
            };
            match load_plan(&args) {
                Ok(plan) => {
                    println!("ok: {} scenarios, {} thresholds", plan.scenarios.len(), plan.thresholds.len());
                    0
                }
                Err(e) => report_error(&e),
            }
        }
        Command::Run { scenario, target, summary_export, thresholds, admin_user, admin_password, quiet } => {
            let args = RunArgs { scenario, target, thresholds, admin_user, admin_password, quiet };
            match execute(&args, summary_export) {
                Ok(code) => code,
                Err(e) => match e.downcast_ref::<LoadError>() {
                    Some(le) => report_error(le),
                    None => {
                        eprintln!("error: {e:#}");
                        1
                    }
                },
            }
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn peer(bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
        println!("listening on http://{}", listener.local_addr()?);
        healing_load::peer::serve(listener).await.context("serving")
    })
}

fn report_error(e: &LoadError) -> i32 {
    eprintln!("error: {e}");
    e.exit_code()
}

fn execute(args: &RunArgs, summary_export: Option<PathBuf>) -> anyhow::Result<i32> {
    let plan = load_plan(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    let report = runtime.block_on(run(plan, args))?;
    print!("{}", summary::render(&report.snapshot, &report.outcomes));
    if let Some(path) = summary_export {
        export::write(&path, &report.snapshot, &report.outcomes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let code = report.exit_code();
    if code != 0 {
        eprintln!("error: some thresholds have failed");
    }
    // Held sessions may still be closing; do not wait for stragglers.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(code)
}
