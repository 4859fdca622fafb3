//! Pure arithmetic of the ScyllaDB layout: message buckets, the history paging plan, deadline and
//! audit buckets, TTLs and retry backoff. Nothing here touches the network, so all of it is unit
//! tested.

use std::time::Duration;

/// Messages per `messages` partition. The bucket of a message is a function of its `seq` alone
/// (`(seq - 1) / MESSAGES_PER_BUCKET`), so any history cursor maps to its partition by arithmetic:
/// no bucket list and no per-message index is needed, and no bucket is ever empty (seqs have no
/// gaps). A partition holds at most this many rows whatever the conversation's pace.
pub const MESSAGES_PER_BUCKET: i64 = 1000;

/// Width of an `alerts_by_deadline` partition: one hour of deadlines.
pub const DEADLINE_BUCKET_MS: i64 = 3_600_000;
/// How far back a full sweep looks for open alerts whose deadline passed (7 days). An alert whose
/// deadline passed longer ago than this without ever being swept is no longer returned by
/// `due_alerts` (it is still listed by `alerts`).
pub const DUE_HORIZON_MS: i64 = 7 * 24 * 3_600_000;
/// Between full sweeps, each sweep scans only this many newest deadline buckets (the current hour
/// and the two before it).
pub const RECENT_DEADLINE_BUCKETS: i32 = 3;
/// A full sweep of the whole horizon runs at least this often (and on the first sweep).
pub const FULL_SWEEP_EVERY: Duration = Duration::from_secs(300);

/// One `audit_by_day` partition per UTC day of insertion.
pub const AUDIT_DAY_MICROS: i64 = 86_400_000_000;

/// The longest TTL CQL accepts (20 years, in seconds).
pub const MAX_TTL_SECS: i64 = 630_720_000;

/// Tokens outlive their expiry by this much before the TTL removes them (expiry itself is checked
/// in code against the caller's clock).
pub const TOKEN_TTL_GRACE_SECS: i64 = 60;

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(0)
}

/// Floor division for possibly negative timestamps.
fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// The `messages` bucket of a seq (seqs start at 1).
pub fn message_bucket(seq: i64) -> i32 {
    clamp_i32(floor_div(seq.max(1) - 1, MESSAGES_PER_BUCKET))
}

/// First and last seq a bucket can hold.
pub fn bucket_seq_range(bucket: i32) -> (i64, i64) {
    let start = i64::from(bucket) * MESSAGES_PER_BUCKET + 1;
    (start, start + MESSAGES_PER_BUCKET - 1)
}

/// One read of the history walk: `seq <= max_seq` in `bucket`, newest first, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketRead {
    pub bucket: i32,
    pub max_seq: i64,
    pub limit: u32,
    /// The read covers the whole bucket (from its last possible seq down).
    pub full: bool,
}

/// The history paging plan: walk buckets newest → oldest until `limit` rows were found.
///
/// Stops early when a read that covered a whole bucket came back empty: seqs are gap-free and
/// retention TTLs expire messages oldest first, so an empty whole bucket means every older bucket
/// has expired too. (A read of only the top part of a bucket may come back empty because of a
/// message still being written; the walk goes on past it.)
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    top: i64,
    remaining: u32,
    done: bool,
}

impl HistoryPlan {
    /// `latest_seq`: the highest seq taken in the conversation (`next_seq - 1`).
    pub fn new(latest_seq: i64, before_seq: Option<i64>, limit: u32) -> HistoryPlan {
        let top = match before_seq {
            Some(b) => b.saturating_sub(1).min(latest_seq),
            None => latest_seq,
        };
        HistoryPlan { top, remaining: limit, done: top < 1 || limit == 0 }
    }

    /// The next read, or `None` when the walk is over.
    pub fn next_read(&self) -> Option<BucketRead> {
        if self.done {
            return None;
        }
        let bucket = message_bucket(self.top);
        let (start, end) = bucket_seq_range(bucket);
        let span = u32::try_from(self.top - start + 1).unwrap_or(u32::MAX);
        Some(BucketRead { bucket, max_seq: self.top, limit: self.remaining.min(span), full: self.top == end })
    }

    /// Records how many rows `read` returned.
    pub fn record(&mut self, read: &BucketRead, rows: usize) {
        let rows = u32::try_from(rows).unwrap_or(u32::MAX);
        self.remaining = self.remaining.saturating_sub(rows);
        let (start, _) = bucket_seq_range(read.bucket);
        self.top = start - 1;
        if self.remaining == 0 || self.top < 1 || (rows == 0 && read.full) {
            self.done = true;
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// The `alerts_by_deadline` bucket of a deadline.
pub fn deadline_bucket(deadline_ms: i64) -> i32 {
    clamp_i32(floor_div(deadline_ms, DEADLINE_BUCKET_MS))
}

/// Deadline buckets a sweep at `now_ms` reads, oldest first: the whole horizon on a full sweep,
/// else the newest [`RECENT_DEADLINE_BUCKETS`].
pub fn due_buckets(now_ms: i64, full: bool) -> std::ops::RangeInclusive<i32> {
    let hi = deadline_bucket(now_ms);
    let lo = if full { deadline_bucket(now_ms - DUE_HORIZON_MS) } else { hi - (RECENT_DEADLINE_BUCKETS - 1) };
    lo..=hi
}

/// TTL of a deadline index row: it must outlive the horizon of every sweep that may look for it.
pub fn deadline_index_ttl(deadline_ms: i64, now_ms: i64) -> i32 {
    let secs = (deadline_ms - now_ms).max(0) / 1000 + DUE_HORIZON_MS / 1000 + 86_400;
    clamp_i32(secs.min(MAX_TTL_SECS))
}

/// The audit day partition of an insertion ordinal (microseconds since the epoch).
pub fn audit_day(ord_micros: i64) -> i32 {
    clamp_i32(floor_div(ord_micros, AUDIT_DAY_MICROS))
}

/// The retention TTL in seconds (`0` = keep forever, which is what CQL's `USING TTL 0` means).
pub fn retention_ttl(retention_days: Option<u32>) -> i32 {
    match retention_days {
        None | Some(0) => 0,
        Some(d) => clamp_i32((i64::from(d) * 86_400).min(MAX_TTL_SECS)),
    }
}

/// What is left of the retention TTL of a row created at `created_ms`: `Some(0)` without
/// retention, `None` when the row has already expired.
pub fn remaining_ttl(retention_secs: i32, created_ms: i64, now_ms: i64) -> Option<i32> {
    if retention_secs <= 0 {
        return Some(0);
    }
    let left = i64::from(retention_secs) - (now_ms - created_ms).max(0) / 1000;
    if left <= 0 { None } else { Some(clamp_i32(left)) }
}

/// TTL of a token row: until its expiry plus a grace period (never zero, which would mean
/// "forever").
pub fn token_ttl(expires_ms: i64, now_ms: i64) -> i32 {
    let secs = (expires_ms - now_ms) / 1000 + TOKEN_TTL_GRACE_SECS;
    clamp_i32(secs.clamp(TOKEN_TTL_GRACE_SECS, MAX_TTL_SECS))
}

/// Delay before retry `attempt` (0-based) of a lost compare-and-set: exponential from 1 ms up to
/// 64 ms, jittered into the upper half so contenders spread out.
pub fn backoff(attempt: u32, jitter: u64) -> Duration {
    let ceiling = 1u64 << attempt.min(6);
    let floor = ceiling / 2;
    let micros = floor * 1000 + jitter % ((ceiling - floor) * 1000 + 1);
    Duration::from_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_map_to_buckets() {
        assert_eq!(message_bucket(1), 0);
        assert_eq!(message_bucket(1000), 0);
        assert_eq!(message_bucket(1001), 1);
        assert_eq!(message_bucket(2500), 2);
        assert_eq!(message_bucket(0), 0, "seqs below 1 clamp to the first bucket");
        assert_eq!(message_bucket(i64::MAX), i32::MAX, "huge seqs saturate instead of wrapping");
        assert_eq!(bucket_seq_range(0), (1, 1000));
        assert_eq!(bucket_seq_range(3), (3001, 4000));
        for seq in [1, 999, 1000, 1001, 123_456] {
            let (lo, hi) = bucket_seq_range(message_bucket(seq));
            assert!(lo <= seq && seq <= hi, "{seq} outside its bucket {lo}..={hi}");
        }
    }

    fn walk(
        latest: i64,
        before: Option<i64>,
        limit: u32,
        rows_per_read: impl Fn(&BucketRead) -> usize,
    ) -> Vec<BucketRead> {
        let mut plan = HistoryPlan::new(latest, before, limit);
        let mut reads = Vec::new();
        while let Some(r) = plan.next_read() {
            plan.record(&r, rows_per_read(&r));
            reads.push(r);
            assert!(reads.len() < 10_000, "plan does not terminate");
        }
        reads
    }

    /// Rows a gap-free history of `latest` messages has for a read.
    fn full_history(r: &BucketRead) -> usize {
        let (start, _) = bucket_seq_range(r.bucket);
        usize::try_from((r.max_seq - start + 1).min(i64::from(r.limit))).unwrap()
    }

    #[test]
    fn latest_page_within_one_bucket() {
        let reads = walk(7, None, 3, full_history);
        assert_eq!(reads, vec![BucketRead { bucket: 0, max_seq: 7, limit: 3, full: false }]);
    }

    #[test]
    fn before_cursor_is_exclusive_and_capped_by_latest() {
        let reads = walk(7, Some(5), 3, full_history);
        assert_eq!(reads, vec![BucketRead { bucket: 0, max_seq: 4, limit: 3, full: false }]);
        // A cursor far beyond the latest seq never walks empty buckets above it.
        let reads = walk(7, Some(i64::MAX), 3, full_history);
        assert_eq!(reads[0].max_seq, 7);
        assert_eq!(reads.len(), 1);
        // Nothing before seq 1.
        assert!(walk(7, Some(1), 3, full_history).is_empty());
        assert!(walk(0, None, 3, full_history).is_empty(), "empty conversation");
        assert!(walk(7, None, 0, full_history).is_empty(), "limit 0");
    }

    #[test]
    fn page_spanning_buckets_walks_newest_to_oldest() {
        // 2,050 messages; a page of 100 before seq 1,030 takes 29 from bucket 1 and 71 from bucket 0.
        let reads = walk(2050, Some(1030), 100, full_history);
        assert_eq!(
            reads,
            vec![
                BucketRead { bucket: 1, max_seq: 1029, limit: 29, full: false },
                BucketRead { bucket: 0, max_seq: 1000, limit: 71, full: true },
            ]
        );
        // The latest 2,500 of 2,050 messages: three buckets, stops at the first.
        let reads = walk(2050, None, 2500, full_history);
        assert_eq!(reads.iter().map(|r| (r.bucket, r.limit)).collect::<Vec<_>>(), vec![(2, 50), (1, 1000), (0, 1000)]);
    }

    #[test]
    fn an_unfinished_write_at_the_top_does_not_end_the_walk() {
        // Seq 1001 was taken but its row is not written yet: the partial read of bucket 1 is empty,
        // the walk still reads bucket 0.
        let reads = walk(1001, None, 10, |r| if r.bucket == 1 { 0 } else { full_history(r) });
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[1], BucketRead { bucket: 0, max_seq: 1000, limit: 10, full: true });
    }

    #[test]
    fn expired_history_stops_at_the_first_empty_whole_bucket() {
        // 5,500 messages, retention expired everything below seq 3,001: buckets 0..=2 are empty.
        let reads = walk(5500, None, 5000, |r| if r.bucket <= 2 { 0 } else { full_history(r) });
        assert_eq!(reads.iter().map(|r| r.bucket).collect::<Vec<_>>(), vec![5, 4, 3, 2], "walked expired buckets");
    }

    #[test]
    fn deadline_buckets_and_sweep_ranges() {
        assert_eq!(deadline_bucket(0), 0);
        assert_eq!(deadline_bucket(DEADLINE_BUCKET_MS - 1), 0);
        assert_eq!(deadline_bucket(DEADLINE_BUCKET_MS), 1);
        assert_eq!(deadline_bucket(-1), -1, "floor, not truncation");
        let now = 1_700_000_000_000_i64;
        let recent = due_buckets(now, false);
        assert_eq!(recent.clone().count(), 3);
        assert_eq!(*recent.end(), deadline_bucket(now));
        let full = due_buckets(now, true);
        assert_eq!(full.clone().count(), 7 * 24 + 1);
        assert!(full.contains(&deadline_bucket(now - DUE_HORIZON_MS)));
        assert!(full.contains(&deadline_bucket(now - 1)));
        assert!(!full.contains(&deadline_bucket(now + DEADLINE_BUCKET_MS)), "future deadlines are not due");
        // The index row of a deadline outlives every sweep that may look for it.
        let ttl = i64::from(deadline_index_ttl(now + 600_000, now));
        assert!(ttl * 1000 >= 600_000 + DUE_HORIZON_MS);
        assert!(deadline_index_ttl(now - 1000, now) > 0);
    }

    #[test]
    fn ttls() {
        assert_eq!(retention_ttl(None), 0);
        assert_eq!(retention_ttl(Some(0)), 0);
        assert_eq!(retention_ttl(Some(30)), 30 * 86_400);
        assert_eq!(i64::from(retention_ttl(Some(100_000))), MAX_TTL_SECS);
        assert_eq!(remaining_ttl(0, 0, 10_000_000), Some(0));
        assert_eq!(remaining_ttl(100, 1_000, 51_000), Some(50));
        assert_eq!(remaining_ttl(100, 1_000, 101_000), None);
        let now = 1_700_000_000_000_i64;
        assert_eq!(token_ttl(now + 3_600_000, now), 3_600 + 60);
        assert_eq!(token_ttl(now - 1_000, now), 60, "expired tokens still get a positive TTL");
        assert_eq!(i64::from(token_ttl(i64::MAX / 2, now)), MAX_TTL_SECS);
    }

    #[test]
    fn audit_days_split_at_midnight_utc() {
        assert_eq!(audit_day(0), 0);
        assert_eq!(audit_day(AUDIT_DAY_MICROS - 1), 0);
        assert_eq!(audit_day(AUDIT_DAY_MICROS), 1);
        assert_eq!(audit_day(1_700_000_000_000_000), 19_675);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(0, 0) <= Duration::from_millis(1));
        assert!(backoff(3, 0) >= Duration::from_millis(4));
        for attempt in 0..100 {
            for jitter in [0, 7, 999_999, u64::MAX] {
                assert!(backoff(attempt, jitter) <= Duration::from_millis(64));
            }
        }
        assert_ne!(backoff(6, 1), backoff(6, 20_000), "jitter spreads contenders");
    }
}
