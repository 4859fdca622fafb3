//! `before`/`limit` cursors of the REST lists of alerts and escalations (an implementation
//! addition to the contract, see docs/protocol.md): every item of a list can be reached, a page
//! at a time, however long the list is.

use healing_protocol::{ErrorCode, Timestamp};
use healing_storage::PageCursor;

use crate::api_error::{ApiError, ApiResult};

/// Items per page when the client names no `limit` (the size of the unpaged lists before).
pub const DEFAULT_LIMIT: u32 = 500;
/// Largest `limit` a client may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// A validated page request.
pub struct Page {
    pub before: Option<PageCursor>,
    pub limit: u32,
}

impl Page {
    pub fn parse(before: Option<&str>, limit: Option<u32>) -> ApiResult<Page> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::new(ErrorCode::InvalidRequest, format!("limit must be 1 to {MAX_LIMIT}")));
        }
        let before = match before {
            None | Some("") => None,
            Some(text) => Some(PageCursor::decode(text).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidRequest, "before must be a next_before value from an earlier page")
            })?),
        };
        Ok(Page { before, limit })
    }

    /// The cursor of the page after one that returned `count` items, the last being `last`
    /// (`created_at`, `id`): `None` when this page was not full, so nothing comes after it.
    pub fn next(&self, count: usize, last: Option<(Timestamp, &str)>) -> Option<String> {
        if count < self.limit as usize {
            return None;
        }
        last.map(|(at, id)| PageCursor::after(at, id).encode())
    }
}
