//! Rate limits on failed sign-ins, per username and per IP address (governor, keyed).
//!
//! Only failures are charged, so people who type their password right are never slowed down
//! (and a load test signing in many accounts from one address is not throttled), while guessing
//! is capped both for one account (spread over many IPs) and from one IP (spread over many
//! accounts). Governor cannot peek without charging, so once a budget is spent the key is
//! remembered as blocked until governor would allow it again.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use parking_lot::Mutex;

pub struct LoginLimiter {
    by_user: DefaultKeyedRateLimiter<String>,
    by_ip: DefaultKeyedRateLimiter<String>,
    blocked: Mutex<HashMap<String, Instant>>,
    clock: DefaultClock,
}

fn keys(username: &str, ip: &str) -> [String; 2] {
    [format!("u:{}", username.to_lowercase()), format!("ip:{ip}")]
}

impl LoginLimiter {
    pub fn new(failures_per_minute: u32) -> LoginLimiter {
        let n = NonZeroU32::new(failures_per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(n).allow_burst(n);
        LoginLimiter {
            by_user: RateLimiter::keyed(quota),
            by_ip: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` while the username or the IP address is blocked.
    pub fn check(&self, username: &str, ip: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let blocked = self.blocked.lock();
        let wait = keys(username, ip)
            .iter()
            .filter_map(|k| blocked.get(k))
            .map(|until| until.saturating_duration_since(now))
            .max()
            .unwrap_or(Duration::ZERO);
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Charges a failed attempt to both keys, blocking any key whose budget is now spent.
    pub fn record_failure(&self, username: &str, ip: &str) {
        let now = self.clock.now();
        let [user_key, ip_key] = keys(username, ip);
        for (limiter, key) in [(&self.by_user, user_key), (&self.by_ip, ip_key)] {
            if let Err(not_until) = limiter.check_key(&key) {
                let until = Instant::now() + not_until.wait_time_from(now).max(Duration::from_secs(1));
                self.blocked.lock().insert(key, until);
            }
        }
    }

    /// Forgets keys whose budget is full again, so memory does not grow with every name tried.
    pub fn housekeeping(&self) {
        self.by_user.retain_recent();
        self.by_ip.retain_recent();
        let now = Instant::now();
        self.blocked.lock().retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_budget_of_failures_per_user_and_ip() {
        let l = LoginLimiter::new(3);
        for _ in 0..3 {
            assert!(l.check("alice", "10.0.0.1").is_ok());
            l.record_failure("alice", "10.0.0.1");
        }
        l.record_failure("alice", "10.0.0.1");
        assert!(l.check("ALICE", "10.0.0.9").is_err(), "username block ignores the IP");
        assert!(l.check("bob", "10.0.0.1").is_err(), "IP block ignores the username");
        assert!(l.check("bob", "10.0.0.2").is_ok());
    }
}
