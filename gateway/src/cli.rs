//! The command line (PROTOCOL §3).

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ServeConfig, StoreArgs};

#[derive(Parser)]
#[command(name = "healing-space", version, about = "Healing Space realtime gateway")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve` options, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(Box<ServeConfig>),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// The risk engine, offline: classify messages or evaluate against labelled data.
    Risk {
        #[command(subcommand)]
        action: RiskCommand,
    },
    /// Put a patient on a clinician's caseload.
    Assign {
        #[command(flatten)]
        store: StoreArgs,
        /// The clinician's username.
        #[arg(long)]
        clinician: String,
        /// The patient's username.
        #[arg(long)]
        patient: String,
    },
    /// Put a clinician on a supervisor's team, or (`--duty`) put a supervisor on duty: duty
    /// supervisors cover every patient with no care team.
    Team {
        #[command(flatten)]
        store: StoreArgs,
        /// The supervisor's username.
        #[arg(long)]
        supervisor: String,
        /// The clinician's username.
        #[arg(long, required_unless_present = "duty", conflicts_with = "duty")]
        clinician: Option<String>,
        /// Put the supervisor on duty instead of giving them a clinician.
        #[arg(long)]
        duty: bool,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain; exits non-zero naming the first broken entry.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
pub enum RiskCommand {
    /// Reads JSON Lines `{"id","text"}` on stdin; writes `{"id","level","score","reasons"}` per line.
    Classify,
    /// Scores the engine on a labelled JSON Lines file (`{"id","text","level"}`), printing the
    /// same metrics as the evaluation kit's score.py.
    Eval {
        /// The labelled file.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from stdin.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        /// Sign-in name (3-64 letters, digits, _ - . @).
        #[arg(long)]
        username: String,
        /// patient, clinician, supervisor or admin.
        #[arg(long)]
        role: String,
        /// Name shown to others (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        None => return serve(cli.serve),
        Some(Command::Serve(config)) => return serve(*config),
        Some(Command::Risk { action }) => return risk(action),
        Some(other) => other,
    };
    crate::telemetry::init(crate::config::LogFormat::Text);
    let result = match command {
        Command::User { action: UserCommand::Add { store, username, role, display_name } } => read_password()
            .and_then(|password| crate::commands::add_user(&store, username, &role, display_name, password)),
        Command::Assign { store, clinician, patient } => crate::commands::assign(&store, &clinician, &patient),
        Command::Team { store, supervisor, clinician, duty } => match clinician {
            Some(clinician) if !duty => crate::commands::team(&store, &supervisor, &clinician),
            _ => crate::commands::duty(&store, &supervisor),
        },
        Command::Audit { action: AuditCommand::Verify { store } } => crate::commands::audit_verify(&store),
        Command::Serve(_) | Command::Risk { .. } => Err(anyhow::anyhow!("handled above")),
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

/// `risk classify` writes nothing but result lines on stdout, so it never initialises logging.
fn risk(action: RiskCommand) -> ExitCode {
    match action {
        RiskCommand::Classify => {
            let stdin = std::io::stdin().lock();
            let stdout = std::io::BufWriter::new(std::io::stdout().lock());
            match healing_risk::cli::classify(stdin, stdout) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        RiskCommand::Eval { file } => match healing_risk::cli::eval_file(&file) {
            Ok(metrics) => {
                println!("{metrics}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn serve(config: ServeConfig) -> ExitCode {
    if let Err(e) = config.validate() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    crate::telemetry::init(config.log_format);
    match crate::server::serve_blocking(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The password for `user add`, from stdin (one line; a trailing newline is not part of it).
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| anyhow::anyhow!("could not read the password from stdin: {e}"))?;
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
