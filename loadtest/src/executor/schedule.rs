//! Pure timing math of the executors, testable without a network or a clock.

use std::time::Duration;

use crate::config::Stage;

/// VUs a `ramping-vus` executor should run `elapsed` into its stages: linear between stage
/// targets, changing exactly when the line crosses a whole number (floor going up, ceil going
/// down), and 0 after the last stage.
pub fn ramping_vus_at(start_vus: u64, stages: &[Stage], elapsed: Duration) -> u64 {
    let mut from = start_vus as f64;
    let mut t = elapsed.as_secs_f64();
    for s in stages {
        let d = s.duration.as_secs_f64();
        if t < d {
            let v = from + (s.target - from) * (t / d);
            return if s.target >= from { v.floor() as u64 } else { v.ceil() as u64 };
        }
        t -= d;
        from = s.target;
    }
    if stages.is_empty() { start_vus } else { 0 }
}

/// The piecewise-linear rate of an arrival-rate executor, in iterations per second.
#[derive(Debug, Clone)]
pub struct RateSchedule {
    segments: Vec<Segment>,
    end: f64,
}

#[derive(Debug, Clone)]
struct Segment {
    start: f64,
    duration: f64,
    r0: f64,
    r1: f64,
    /// Iterations due before this segment.
    before: f64,
}

impl RateSchedule {
    /// `rate` iterations per `time_unit`, for `duration`.
    pub fn constant(rate: f64, time_unit: Duration, duration: Duration) -> RateSchedule {
        let r = rate / time_unit.as_secs_f64();
        RateSchedule::ramping(r, &[Stage { duration, target: r }], Duration::from_secs(1))
    }

    /// Starting at `start_rate`, moving linearly to each stage's target (both per `time_unit`).
    pub fn ramping(start_rate: f64, stages: &[Stage], time_unit: Duration) -> RateSchedule {
        let unit = time_unit.as_secs_f64();
        let mut segments = Vec::with_capacity(stages.len());
        let (mut start, mut before, mut r0) = (0.0, 0.0, start_rate / unit);
        for s in stages {
            let duration = s.duration.as_secs_f64();
            let r1 = s.target / unit;
            segments.push(Segment { start, duration, r0, r1, before });
            before += (r0 + r1) / 2.0 * duration;
            start += duration;
            r0 = r1;
        }
        RateSchedule { segments, end: start }
    }

    /// The schedule's length.
    pub fn end(&self) -> Duration {
        Duration::from_secs_f64(self.end)
    }

    /// Iterations due over the whole schedule.
    pub fn total(&self) -> f64 {
        self.segments.last().map(|s| s.before + (s.r0 + s.r1) / 2.0 * s.duration).unwrap_or(0.0)
    }

    /// When iteration `k` (0-based) starts: the time at which the integral of the rate reaches
    /// `k`; `None` when that is past the end.
    pub fn start_of(&self, k: u64) -> Option<Duration> {
        let k = k as f64;
        for s in &self.segments {
            let due = (s.r0 + s.r1) / 2.0 * s.duration;
            if k < s.before + due {
                let left = k - s.before;
                // Solve a·τ² + b·τ = left with a = (r1 - r0) / 2D, b = r0, in a stable form.
                let a = (s.r1 - s.r0) / (2.0 * s.duration);
                let b = s.r0;
                let tau = if left <= 0.0 { 0.0 } else { 2.0 * left / (b + (b * b + 4.0 * a * left).max(0.0).sqrt()) };
                let t = s.start + tau.min(s.duration);
                return (t < self.end).then(|| Duration::from_secs_f64(t));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(secs: u64, target: f64) -> Stage {
        Stage { duration: Duration::from_secs(secs), target }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn ramping_vus_interpolates_and_crosses_whole_numbers() {
        let stages = [st(10, 10.0), st(5, 10.0), st(10, 0.0)];
        assert_eq!(ramping_vus_at(0, &stages, ms(0)), 0);
        assert_eq!(ramping_vus_at(0, &stages, ms(999)), 0);
        assert_eq!(ramping_vus_at(0, &stages, ms(1000)), 1);
        assert_eq!(ramping_vus_at(0, &stages, ms(5500)), 5);
        assert_eq!(ramping_vus_at(0, &stages, ms(10_000)), 10);
        assert_eq!(ramping_vus_at(0, &stages, ms(14_999)), 10);
        // Ramping down: the 10th VU stops as soon as the line drops below 10.
        assert_eq!(ramping_vus_at(0, &stages, ms(15_001)), 10);
        assert_eq!(ramping_vus_at(0, &stages, ms(16_000)), 9);
        assert_eq!(ramping_vus_at(0, &stages, ms(16_001)), 9);
        assert_eq!(ramping_vus_at(0, &stages, ms(24_999)), 1);
        assert_eq!(ramping_vus_at(0, &stages, ms(25_000)), 0);
        // start_vus is the line's origin.
        assert_eq!(ramping_vus_at(4, &[st(4, 0.0)], ms(0)), 4);
        assert_eq!(ramping_vus_at(4, &[st(4, 0.0)], ms(1500)), 3);
        // A zero-length stage jumps.
        assert_eq!(ramping_vus_at(0, &[st(0, 5.0), st(2, 5.0)], ms(1)), 5);
    }

    #[test]
    fn constant_arrival_rate_is_evenly_spaced() {
        let s = RateSchedule::constant(4.0, Duration::from_secs(1), Duration::from_secs(2));
        let starts: Vec<Duration> = (0..).map_while(|k| s.start_of(k)).collect();
        assert_eq!(starts.len(), 8);
        assert_eq!(starts[0], ms(0));
        assert_eq!(starts[1], ms(250));
        assert_eq!(starts[7], ms(1750));
        // Per minute: 30/min = one every 2 s.
        let slow = RateSchedule::constant(30.0, Duration::from_secs(60), Duration::from_secs(10));
        assert_eq!(slow.start_of(1), Some(ms(2000)));
        assert_eq!(slow.start_of(5), None);
        assert_eq!(slow.total(), 5.0);
    }

    #[test]
    fn ramping_arrival_rate_follows_the_integral() {
        // 0 → 10/s over 2 s: N(t) = 2.5·t², 10 iterations in total.
        let s = RateSchedule::ramping(0.0, &[st(2, 10.0)], Duration::from_secs(1));
        assert_eq!(s.total(), 10.0);
        let close = |k: u64, secs: f64| (s.start_of(k).unwrap().as_secs_f64() - secs).abs() < 1e-9;
        assert!(close(0, 0.0));
        assert!(close(1, (1.0f64 / 2.5).sqrt()));
        assert!(close(9, (9.0f64 / 2.5).sqrt()));
        assert_eq!(s.start_of(10), None);
        // Ramping down 10/s → 0 over 2 s: N(t) = 10t − 2.5t²; iteration 5 at t = 2 − √2.
        let d = RateSchedule::ramping(10.0, &[st(2, 0.0)], Duration::from_secs(1));
        assert!((d.start_of(5).unwrap().as_secs_f64() - (2.0 - 2f64.sqrt())).abs() < 1e-9);
        // Two segments: 5/s hold for 2 s (10 iterations), then 5 → 15 over 1 s (10 more).
        let two = RateSchedule::ramping(5.0, &[st(2, 5.0), st(1, 15.0)], Duration::from_secs(1));
        assert_eq!(two.total(), 20.0);
        assert!((two.start_of(10).unwrap().as_secs_f64() - 2.0).abs() < 1e-9);
        // 5τ + 5τ² = 5 → τ = (√5 − 1) / 2.
        assert!((two.start_of(15).unwrap().as_secs_f64() - (2.0 + (5f64.sqrt() - 1.0) / 2.0)).abs() < 1e-9);
        // Starts are increasing.
        let all: Vec<Duration> = (0..).map_while(|k| two.start_of(k)).collect();
        assert_eq!(all.len(), 20);
        assert!(all.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_zero_rate_plateau_starts_nothing() {
        let s = RateSchedule::ramping(0.0, &[st(5, 0.0), st(1, 2.0)], Duration::from_secs(1));
        assert_eq!(s.total(), 1.0);
        // The first iteration waits for the rate to rise.
        assert!((s.start_of(0).unwrap().as_secs_f64() - 5.0).abs() < 1e-9);
        assert_eq!(s.start_of(1), None);
    }
}
