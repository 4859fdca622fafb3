//! Errors of the harness and the exit codes they map to (k6's where k6 has one).

use thiserror::Error;

/// Exit code when every threshold passed.
pub const EXIT_OK: i32 = 0;
/// Exit code when at least one threshold failed (k6: `ThresholdsHaveFailed`).
pub const EXIT_THRESHOLDS_FAILED: i32 = 99;
/// Exit code for an invalid scenario file or flag (k6: `InvalidConfig`).
pub const EXIT_INVALID_CONFIG: i32 = 104;
/// Exit code when provisioning (k6's `setup()`) failed (k6: `ScriptException`).
pub const EXIT_SETUP_FAILED: i32 = 107;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("invalid config: {0}")]
    Config(String),
    #[error("setup failed: {0}")]
    Setup(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl LoadError {
    pub fn config(msg: impl Into<String>) -> LoadError {
        LoadError::Config(msg.into())
    }

    pub fn setup(msg: impl Into<String>) -> LoadError {
        LoadError::Setup(msg.into())
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            LoadError::Config(_) => EXIT_INVALID_CONFIG,
            LoadError::Setup(_) => EXIT_SETUP_FAILED,
            LoadError::Io(_) => 1,
        }
    }
}
