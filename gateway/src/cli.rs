//! The command line (PROTOCOL §3).

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ServeConfig, StoreArgs};

#[derive(Parser)]
#[command(
    name = "healing-space",
    version,
    about = "Healing Space realtime gateway"
)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve` options, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Put a patient on a clinician's caseload.
    Assign {
        #[arg(long)]
        clinician: String,
        #[arg(long)]
        patient: String,
    },
    /// Put a clinician on a supervisor's team.
    Team {
        #[arg(long)]
        supervisor: String,
        #[arg(long)]
        clinician: String,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from stdin.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => {
            if let Err(e) = cli.serve.validate() {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            crate::telemetry::init(cli.serve.log_format);
            match crate::server::serve_blocking(cli.serve, cli.store.data_dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(cmd) => {
            crate::telemetry::init(crate::config::LogFormat::Text);
            let result = match cmd {
                Command::User {
                    action:
                        UserCommand::Add {
                            username,
                            role,
                            display_name,
                        },
                } => {
                    let mut password = String::new();
                    match std::io::stdin().read_to_string(&mut password) {
                        Ok(_) => {
                            let password = password.trim_end_matches(['\r', '\n']).to_owned();
                            crate::commands::add_user(
                                &cli.store.data_dir,
                                username,
                                &role,
                                display_name,
                                password,
                            )
                        }
                        Err(e) => Err(anyhow::anyhow!(
                            "could not read the password from stdin: {e}"
                        )),
                    }
                }
                Command::Assign { clinician, patient } => {
                    crate::commands::assign(&cli.store.data_dir, &clinician, &patient)
                }
                Command::Team {
                    supervisor,
                    clinician,
                } => crate::commands::team(&cli.store.data_dir, &supervisor, &clinician),
                Command::Serve => unreachable_serve(),
            };
            match result {
                Ok(msg) => {
                    println!("{msg}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn unreachable_serve() -> anyhow::Result<String> {
    Err(anyhow::anyhow!("serve is handled above"))
}
