//! Live progress on stderr: every second, on one rewritten line, when stderr is a terminal;
//! otherwise one plain line every 5 s (CI logs), or nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::metrics::Metrics;

pub struct Progress {
    task: Option<JoinHandle<()>>,
    tty: bool,
}

/// One progress line.
pub fn line(elapsed: Duration, planned: Duration, vus: i64, iterations: u64, msgs_per_sec: f64, errors: u64) -> String {
    format!(
        "running ({:.1}s/{:.1}s), {vus} VUs, {iterations} iterations, {msgs_per_sec:.1} msgs/s, {errors} errors",
        elapsed.as_secs_f64(),
        planned.as_secs_f64()
    )
}

impl Progress {
    pub fn start(metrics: Arc<Metrics>, planned: Duration, quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        if quiet {
            return Progress { task: None, tty: false };
        }
        let period = if tty { Duration::from_secs(1) } else { Duration::from_secs(5) };
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut tick = tokio::time::interval_at(started + period, period);
            let mut last_frames = metrics.frames();
            loop {
                tick.tick().await;
                let frames = metrics.frames();
                let rate = (frames - last_frames) as f64 / period.as_secs_f64();
                last_frames = frames;
                let text = line(
                    started.elapsed(),
                    planned,
                    metrics.vus.get(),
                    metrics.iterations.get(),
                    rate,
                    metrics.errors.get(),
                );
                if tty {
                    eprint!("\r\x1b[2K{text}");
                } else {
                    eprintln!("{text}");
                }
            }
        });
        Progress { task: Some(task), tty }
    }

    pub fn finish(self) {
        if let Some(t) = self.task {
            t.abort();
            if self.tty {
                eprint!("\r\x1b[2K");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_reads_well() {
        assert_eq!(
            line(Duration::from_millis(12_340), Duration::from_secs(20), 7, 120, 81.25, 0),
            "running (12.3s/20.0s), 7 VUs, 120 iterations, 81.2 msgs/s, 0 errors"
        );
    }
}
