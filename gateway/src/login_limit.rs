//! Sign-in that resists guessing without locking the owner out (OWASP Authentication Cheat
//! Sheet: throttling, not permanent lockout; device cookies), and a limit on registrations.
//!
//! Only failures are charged, so people who type their password right are never slowed down
//! (and a load test signing in many accounts from one address is not throttled).
//!
//! - **Per account: exponential backoff.** After `free_failures` wrong passwords for a username,
//!   each further one blocks the account for 1 s, 2 s, 4 s … up to `backoff_max`; attempts while
//!   blocked are refused (429, `Retry-After`) without checking the password, so a guesser gets a
//!   handful of tries an hour, and there is never a permanent lockout: once the backoff has passed
//!   the next attempt is checked.
//! - **Known devices bypass it.** A successful sign-in sets a device cookie (HMAC-signed over the
//!   username); a sign-in presenting a valid one for that username is not held by the account's
//!   backoff nor by the per-address limits, so an attacker hammering an account cannot keep its
//!   owner out. Each device cookie has its own backoff, so a stolen cookie is no guessing licence.
//! - **Per address and username**, `per_ip_user_per_minute` failures (a token bucket), and **per
//!   address** a generous `per_ip_per_minute`: one guesser spread over many accounts is slowed,
//!   while many people behind one NAT each mistyping a password are not.
//! - **Registrations per address**: `registrations_per_ip_per_hour`.
//!
//! State is in memory on each node (so a node restart forgets backoffs; the device key is shared
//! by configuration, see `--device-cookie-key`). The clock is injectable for tests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Where "now" comes from (tests move it by hand).
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The monotonic clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The limits (from `ServeConfig`).
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// Wrong passwords for one account before its backoff starts.
    pub free_failures: u32,
    /// The first backoff; each further failure doubles it.
    pub backoff_base: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
    /// Failures per minute from one address for one username.
    pub per_ip_user_per_minute: u32,
    /// Failures per minute from one address, all usernames together.
    pub per_ip_per_minute: u32,
    /// Accounts one address may register per hour.
    pub registrations_per_ip_per_hour: u32,
    /// How long a device cookie is honoured.
    pub device_ttl: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            free_failures: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15 * 60),
            per_ip_user_per_minute: 10,
            per_ip_per_minute: 100,
            registrations_per_ip_per_hour: 20,
            device_ttl: Duration::from_secs(180 * 24 * 3600),
        }
    }
}

/// Consecutive failures and the instant the key may be tried again.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: Instant,
}

/// A token bucket: `capacity` tokens, refilled at `capacity` per `period`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant, capacity: u32, period: Duration) {
        let rate = f64::from(capacity) / period.as_secs_f64();
        self.tokens =
            (self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * rate).min(f64::from(capacity));
        self.at = now;
    }

    /// How long until one token is there (zero when one is).
    fn wait(&self, capacity: u32, period: Duration) -> Duration {
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        let rate = f64::from(capacity) / period.as_secs_f64();
        Duration::from_secs_f64((1.0 - self.tokens) / rate)
    }
}

/// Verifications of one account's (or one device's) password at once; one more is refused for a
/// second. Two, so a person double-clicking is not refused.
const CONCURRENT_PER_ACCOUNT: u32 = 2;
/// Verifications from one address at once (a NAT signing many people in at shift change is
/// served ~16 at a time, each taking tens of milliseconds).
const CONCURRENT_PER_IP: u32 = 16;

/// A sign-in being checked: holds its places in flight until dropped.
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    keys: Vec<String>,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("keys", &self.keys).finish()
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut st = self.limiter.state.lock();
        for key in &self.keys {
            if let Some(n) = st.in_flight.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    st.in_flight.remove(key);
                }
            }
        }
    }
}

#[derive(Default)]
struct State {
    in_flight: HashMap<String, u32>,
    accounts: HashMap<String, Backoff>,
    devices: HashMap<String, Backoff>,
    ip_user: HashMap<String, Bucket>,
    ip: HashMap<String, Bucket>,
    registrations: HashMap<String, Bucket>,
}

pub struct LoginLimiter {
    policy: LoginPolicy,
    clock: Arc<dyn Clock>,
    device_key: [u8; 32],
    /// Device cookies are stamped with seconds since this instant's wall-clock time.
    state: Mutex<State>,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

impl LoginLimiter {
    pub fn new(policy: LoginPolicy, device_key: [u8; 32]) -> LoginLimiter {
        LoginLimiter::with_clock(policy, device_key, Arc::new(SystemClock))
    }

    pub fn with_clock(policy: LoginPolicy, device_key: [u8; 32], clock: Arc<dyn Clock>) -> LoginLimiter {
        LoginLimiter { policy, clock, device_key, state: Mutex::new(State::default()) }
    }

    fn backoff_for(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.policy.free_failures);
        if over == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
        self.policy.backoff_base.saturating_mul(factor).min(self.policy.backoff_max)
    }

    /// `Err(wait)` while a sign-in for `account` (a username key) from `ip` must not be checked.
    /// `device`: the verified device cookie for this account, if the request carries one — it
    /// replaces the account's and the address's limits with its own backoff.
    ///
    /// On `Ok`, the returned [`Attempt`] holds a place among the verifications in flight for the
    /// account (or device) and the address until it is dropped — so a burst of parallel guesses
    /// cannot all be checked before the first failure is charged.
    pub fn check(&self, account: &str, ip: &str, device: Option<&str>) -> Result<Attempt<'_>, Duration> {
        let now = self.clock.now();
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let mut wait = Duration::ZERO;
        if let Some(device) = device {
            if let Some(b) = st.devices.get(device) {
                wait = b.until.saturating_duration_since(now);
            }
        } else {
            if let Some(b) = st.accounts.get(account) {
                wait = wait.max(b.until.saturating_duration_since(now));
            }
            let p = &self.policy;
            for (map, key, cap) in [
                (&mut st.ip_user, format!("{ip}|{account}"), p.per_ip_user_per_minute),
                (&mut st.ip, ip.to_owned(), p.per_ip_per_minute),
            ] {
                if let Some(bucket) = map.get_mut(&key) {
                    bucket.refill(now, cap, MINUTE);
                    wait = wait.max(bucket.wait(cap, MINUTE));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        let places = match device {
            Some(device) => vec![(format!("d:{device}"), CONCURRENT_PER_ACCOUNT)],
            None => vec![(format!("a:{account}"), CONCURRENT_PER_ACCOUNT), (format!("ip:{ip}"), CONCURRENT_PER_IP)],
        };
        if places.iter().any(|(key, cap)| st.in_flight.get(key).is_some_and(|n| n >= cap)) {
            return Err(Duration::from_secs(1));
        }
        for (key, _) in &places {
            *st.in_flight.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(Attempt { limiter: self, keys: places.into_iter().map(|(k, _)| k).collect() })
    }

    /// Charges a wrong password: to the device when one was presented, else to the account and
    /// the address.
    pub fn record_failure(&self, account: &str, ip: &str, device: Option<&str>) {
        let now = self.clock.now();
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let bump = |map: &mut HashMap<String, Backoff>, key: &str| {
            let b = map.entry(key.to_owned()).or_insert(Backoff { failures: 0, until: now });
            b.failures = b.failures.saturating_add(1);
            b.until = now + self.backoff_for(b.failures);
            b.failures
        };
        if let Some(device) = device {
            bump(&mut st.devices, device);
            return;
        }
        let failures = bump(&mut st.accounts, account);
        if failures > self.policy.free_failures {
            tracing::info!(failures, "sign-in backoff for an account");
        }
        let p = &self.policy;
        for (map, key, cap) in [
            (&mut st.ip_user, format!("{ip}|{account}"), p.per_ip_user_per_minute),
            (&mut st.ip, ip.to_owned(), p.per_ip_per_minute),
        ] {
            let bucket = map.entry(key).or_insert(Bucket { tokens: f64::from(cap), at: now });
            bucket.refill(now, cap, MINUTE);
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        }
    }

    /// A correct password: the account (or device) starts afresh. A sign-in through a known
    /// device leaves the account's backoff alone — it is the attacker's, not the owner's.
    pub fn record_success(&self, account: &str, device: Option<&str>) {
        let mut st = self.state.lock();
        match device {
            Some(device) => st.devices.remove(device),
            None => st.accounts.remove(account),
        };
    }

    /// `Err(wait)` when `ip` has used its registrations for now.
    pub fn may_register(&self, ip: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        let cap = self.policy.registrations_per_ip_per_hour;
        let mut st = self.state.lock();
        let Some(bucket) = st.registrations.get_mut(ip) else { return Ok(()) };
        bucket.refill(now, cap, HOUR);
        let wait = bucket.wait(cap, HOUR);
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Charges one registration attempt that cost a password hash (created, or refused after
    /// hashing) to `ip`. Refusals before any work — a weak password, a bad name — are not
    /// charged, so a person correcting their password is not locked out of signing up.
    pub fn charge_registration(&self, ip: &str) {
        let now = self.clock.now();
        let cap = self.policy.registrations_per_ip_per_hour;
        let mut st = self.state.lock();
        let bucket = st.registrations.entry(ip.to_owned()).or_insert(Bucket { tokens: f64::from(cap), at: now });
        bucket.refill(now, cap, HOUR);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    /// A device cookie for `account`, issued at `issued_unix` (seconds).
    pub fn device_cookie(&self, account: &str, issued_unix: i64) -> String {
        format!("v1.{issued_unix}.{}", hex(&self.sign(account, issued_unix)))
    }

    /// The cookie itself, when it is a valid, unexpired device cookie for `account`.
    pub fn verify_device<'a>(&self, cookie: &'a str, account: &str, now_unix: i64) -> Option<&'a str> {
        let mut parts = cookie.splitn(3, '.');
        let (Some("v1"), Some(issued), Some(mac)) = (parts.next(), parts.next(), parts.next()) else { return None };
        let issued: i64 = issued.parse().ok()?;
        let age = now_unix.checked_sub(issued)?;
        if age < -60 || age > self.policy.device_ttl.as_secs() as i64 {
            return None;
        }
        let expected = hex(&self.sign(account, issued));
        let same =
            expected.len() == mac.len() && expected.bytes().zip(mac.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
        same.then_some(cookie)
    }

    fn sign(&self, account: &str, issued_unix: i64) -> [u8; 32] {
        hmac_sha256(&self.device_key, format!("device|v1|{account}|{issued_unix}").as_bytes())
    }

    /// Forgets keys whose backoff has passed and buckets that are full again, so memory does not
    /// grow with every name tried.
    pub fn housekeeping(&self) {
        let now = self.clock.now();
        let p = self.policy.clone();
        let mut st = self.state.lock();
        let idle = p.backoff_max.max(MINUTE);
        st.accounts.retain(|_, b| now.saturating_duration_since(b.until) < idle);
        st.devices.retain(|_, b| now.saturating_duration_since(b.until) < idle);
        st.ip_user.retain(|_, b| now.saturating_duration_since(b.at) < MINUTE);
        st.ip.retain(|_, b| now.saturating_duration_since(b.at) < MINUTE);
        st.registrations.retain(|_, b| now.saturating_duration_since(b.at) < HOUR);
    }
}

/// HMAC-SHA256 (RFC 2104) over `sha2`, so no other crate is needed for one signature.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ManualClock(Mutex<Instant>);

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock()
        }
    }

    impl ManualClock {
        fn advance(&self, by: Duration) {
            *self.0.lock() += by;
        }
    }

    fn limiter(policy: LoginPolicy) -> (LoginLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        (LoginLimiter::with_clock(policy, [7; 32], clock.clone()), clock)
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn account_backoff_doubles_is_capped_and_passes() {
        let policy = LoginPolicy {
            per_ip_user_per_minute: 1000,
            per_ip_per_minute: 1000,
            backoff_max: Duration::from_secs(8),
            ..LoginPolicy::default()
        };
        let (l, clock) = limiter(policy);
        for _ in 0..5 {
            assert!(l.check("alice", "10.0.0.1", None).is_ok(), "free failures");
            l.record_failure("alice", "10.0.0.1", None);
        }
        assert!(l.check("alice", "10.0.0.1", None).is_ok());
        let mut waits = Vec::new();
        for _ in 0..6 {
            l.record_failure("alice", "10.0.0.1", None);
            let wait = l.check("alice", "10.0.0.9", None).expect_err("blocked from any address");
            waits.push(wait.as_secs());
            clock.advance(wait);
            assert!(l.check("alice", "10.0.0.9", None).is_ok(), "no permanent lockout: the backoff passes");
        }
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert!(l.check("bob", "10.0.0.1", None).is_ok(), "other accounts are untouched");
        l.record_success("alice", None);
        l.record_failure("alice", "10.0.0.1", None);
        assert!(l.check("alice", "10.0.0.1", None).is_ok(), "a success starts the count afresh");
    }

    #[test]
    fn a_known_device_bypasses_the_accounts_backoff_but_has_its_own() {
        let (l, _clock) = limiter(LoginPolicy::default());
        let cookie = l.device_cookie("alice", 1_000);
        let device = l.verify_device(&cookie, "alice", 1_100).expect("valid");
        for _ in 0..100 {
            l.record_failure("alice", "10.0.0.1", None);
        }
        assert!(l.check("alice", "10.0.0.1", None).is_err(), "the attacker is held");
        assert!(l.check("alice", "10.0.0.1", Some(device)).is_ok(), "the owner's device is not");
        for _ in 0..6 {
            l.record_failure("alice", "10.0.0.1", Some(device));
        }
        assert!(l.check("alice", "10.0.0.1", Some(device)).is_err(), "a stolen cookie is no guessing licence");
        assert!(l.verify_device(&cookie, "bob", 1_100).is_none(), "bound to its account");
        assert!(l.verify_device(&cookie.replace("v1.1000", "v1.1001"), "alice", 1_100).is_none(), "tampered");
        assert!(l.verify_device(&cookie, "alice", 1_000 + 181 * 24 * 3600).is_none(), "expired");
    }

    #[test]
    fn per_address_limits_spare_a_nat() {
        let policy =
            LoginPolicy { free_failures: 1000, per_ip_user_per_minute: 3, per_ip_per_minute: 10, ..Default::default() };
        let (l, clock) = limiter(policy);
        for _ in 0..3 {
            l.record_failure("alice", "10.0.0.1", None);
        }
        assert!(l.check("alice", "10.0.0.1", None).is_err(), "one address guessing one account");
        assert!(l.check("bob", "10.0.0.1", None).is_ok(), "a neighbour behind the same NAT signs in");
        for name in ["c", "d", "e", "f", "g", "h", "i"] {
            l.record_failure(name, "10.0.0.1", None);
        }
        assert!(l.check("zed", "10.0.0.1", None).is_err(), "past the generous per-address cap");
        assert!(l.check("zed", "10.0.0.2", None).is_ok());
        clock.advance(Duration::from_secs(60));
        assert!(l.check("zed", "10.0.0.1", None).is_ok(), "the allowance refills");
    }

    #[test]
    fn parallel_guesses_are_not_all_checked_at_once() {
        let (l, _clock) = limiter(LoginPolicy::default());
        let first = l.check("alice", "10.0.0.1", None).unwrap();
        let second = l.check("alice", "10.0.0.2", None).unwrap();
        assert!(l.check("alice", "10.0.0.3", None).is_err(), "a third verification of one account at once");
        assert!(l.check("bob", "10.0.0.1", None).is_ok(), "other accounts are not held");
        drop(first);
        assert!(l.check("alice", "10.0.0.3", None).is_ok(), "the place is given back");
        drop(second);
        let held: Vec<_> = (0..16).map(|i| l.check(&format!("u{i}"), "10.0.0.9", None).unwrap()).collect();
        assert!(l.check("u99", "10.0.0.9", None).is_err(), "past the verifications in flight from one address");
        drop(held);
        assert!(l.state.lock().in_flight.is_empty(), "nothing leaks");
    }

    #[test]
    fn registrations_are_limited_per_address() {
        let (l, clock) = limiter(LoginPolicy { registrations_per_ip_per_hour: 2, ..Default::default() });
        for _ in 0..2 {
            assert!(l.may_register("10.0.0.1").is_ok());
            l.charge_registration("10.0.0.1");
        }
        let wait = l.may_register("10.0.0.1").expect_err("third in the hour");
        assert!(l.may_register("10.0.0.2").is_ok());
        clock.advance(wait);
        assert!(l.may_register("10.0.0.1").is_ok(), "the allowance refills");
    }
}
