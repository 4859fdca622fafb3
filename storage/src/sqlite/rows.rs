//! Conversions between rows and records.

use chrono::{DateTime, TimeZone, Utc};
use healing_protocol::Timestamp;
use rusqlite::types::Type;

pub fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A column that must hold one of a fixed set of words.
pub fn word<T>(idx: usize, s: String, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, format!("unexpected value {s:?}").into())
    })
}

/// A JSON text column.
pub fn json<T: serde::de::DeserializeOwned>(idx: usize, s: Option<String>) -> rusqlite::Result<Option<T>> {
    match s {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))),
    }
}

pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Now, at the millisecond precision the store keeps, so returned records equal re-read ones.
pub fn now() -> Timestamp {
    from_ms(ms(chrono::Utc::now()))
}
