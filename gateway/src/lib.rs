//! The `healing-space` binary: HTTP + WebSocket gateway, configuration and command line.
//!
//! Layout:
//! - [`cli`]: the command line (`serve`, `user add`, `assign`, `team`, `risk ...`).
//! - [`config`]: [`config::ServeConfig`], every option with its environment variable, validated.
//! - [`server`]: builds the node's services and runs actix-web until shutdown
//!   (`server::run(listener, config, store_dir)`), including graceful SIGTERM handling.
//! - [`routes`]: one file per HTTP endpoint; `/ws` hands the socket to a session actor.
//! - [`extract`]: authentication as an extractor; [`api_error`]: the one error → HTTP mapping;
//!   [`audit`]: the one way routes write audit entries.
//! - [`login_limit`]: failed sign-in limits per username and IP.
//! - [`rights`]: carrying out erasures and the data-rights sweeper (erasure deadlines,
//!   `--retention-days` on the embedded store); [`fhir`]: the FHIR R4 form of a patient's export.
//! - [`commands`]: the admin subcommands that work directly on the store; [`store`]: opens the
//!   configured backend (embedded SQLite or ScyllaDB).
//!
//! Invariant: only this crate knows HTTP and JSON bodies; it calls into `actors` and `storage`,
//! never the reverse.

pub mod api_error;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod extract;
pub mod fhir;
pub mod login_limit;
pub mod rights;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;
