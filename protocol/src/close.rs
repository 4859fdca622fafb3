//! Every WebSocket close code this node sends, in one table (docs/protocol.md "Close codes").
//!
//! 1xxx are the standard codes of RFC 6455. 4xxx are ours; where one mirrors an HTTP status its
//! last three digits are that status (4401 = 401, 4403 = 403, 4429 = 429). Numbers never change
//! meaning once published: clients switch on them.

/// The server is shutting down, or the socket was silent past the idle timeout.
pub const GOING_AWAY: u16 = 1001;
/// The client broke the WebSocket protocol itself.
pub const PROTOCOL_ERROR: u16 = 1002;
/// Flooding well past the frame rate limit (after `rate_limited` errors).
pub const POLICY: u16 = 1008;
/// A frame over `--max-frame-bytes` (after a `too_large` error).
pub const TOO_LARGE: u16 = 1009;
/// Slow consumer: the client stopped reading and its bounded send queue overflowed.
pub const SLOW_CONSUMER: u16 = 4008;
/// Contract §2 and §4.1: a bad, missing, expired or revoked token, or no `hello` within the hello
/// timeout (after an `unauthorized` error).
pub const UNAUTHORIZED: u16 = 4401;
/// Contract §4.1: an admin disabled the account.
pub const FORBIDDEN: u16 = 4403;
/// The account already has `--max-sockets-per-user` sockets open on this node (after a
/// `rate_limited` error naming `"limit":"sockets_per_user"`). Close another tab, then reconnect.
pub const TOO_MANY_SOCKETS: u16 = 4429;

/// `(code, name, when)` for every code above — what docs/protocol.md lists.
pub const TABLE: &[(u16, &str, &str)] = &[
    (GOING_AWAY, "going_away", "the server is shutting down, or the socket was silent past the idle timeout"),
    (PROTOCOL_ERROR, "protocol_error", "the client broke the WebSocket protocol"),
    (POLICY, "policy", "flooding well past the rate limit"),
    (TOO_LARGE, "too_large", "a frame over the size limit (after a `too_large` error)"),
    (SLOW_CONSUMER, "slow_consumer", "the client stopped reading and its bounded send queue overflowed"),
    (UNAUTHORIZED, "unauthorized", "bad, missing, expired or revoked token, or no `hello` in time"),
    (FORBIDDEN, "forbidden", "the account was disabled by an admin (contract §4.1)"),
    (TOO_MANY_SOCKETS, "too_many_sockets", "the account already has the most sockets allowed on this node"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut codes: Vec<u16> = TABLE.iter().map(|(c, _, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len(), "a close code is listed twice");
        let doc = include_str!("../../docs/protocol.md");
        let section = doc.split("### Close codes").nth(1).expect("docs/protocol.md has a Close codes section");
        for (code, name, _) in TABLE {
            assert!(section.contains(&format!("| {code} |")), "docs/protocol.md does not list close code {code}");
            assert!(section.contains(&format!("`{name}`")), "docs/protocol.md does not name close code {code}");
        }
    }
}
