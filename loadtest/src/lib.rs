//! `healing-load`: a k6-shaped WebSocket load harness for Healing Space.
//!
//! Layout (one purpose per file):
//! - [`config`]: the scenario TOML model, validated into [`config::TestPlan`]; durations.
//! - [`threshold`]: k6 threshold expressions (`p(95)<50`, `rate>0.99`, `count>0`): parse and evaluate.
//! - [`metrics`]: the metric registry (trends in ms, counters, rates, gauges, named checks) and
//!   its end-of-test [`metrics::Snapshot`].
//! - [`correlate`]: matches a patient's message id to the clinician `alert` / supervisor
//!   `escalation` frames that mention it, across sessions.
//! - [`executor`]: the four k6 executors; [`executor::schedule`] holds their pure timing math.
//! - [`behaviour`]: what one VU iteration does (`patient-chat`, `idle-patient`, `clinician`,
//!   `supervisor`), over a WebSocket [`behaviour::session::Session`].
//! - [`net`]: TCP connects from several loopback source addresses when one has too few ports.
//! - [`http`] and [`provision`]: the public REST API calls that create the account pool.
//! - [`run`]: the whole test — provision, run scenarios, evaluate thresholds.
//! - [`summary`], [`export`], [`progress`]: the printed summary, the k6 legacy JSON export and
//!   the live progress line.
//! - [`peer`]: the chat subset on bare tokio-tungstenite (`healing-load peer`), the ceiling in
//!   the side-by-side comparison.
//!
//! `main.rs` only parses flags and maps [`error::LoadError`] to k6's exit codes.

pub mod behaviour;
pub mod config;
pub mod correlate;
pub mod error;
pub mod executor;
pub mod export;
pub mod http;
pub mod metrics;
pub mod net;
pub mod peer;
pub mod progress;
pub mod provision;
pub mod run;
pub mod summary;
pub mod threshold;

pub use error::LoadError;
