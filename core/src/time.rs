//! Timestamps: stored as milliseconds since the Unix epoch (portable, indexable, sortable on both
//! databases), shown as RFC 3339 in UTC.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// RFC 3339 (UTC, milliseconds) for a stored timestamp.
pub fn to_rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp with an offset into stored milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc).timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_offsets() {
        let ms = parse_rfc3339("2017-07-06T10:00:00+01:00").expect("parse");
        assert_eq!(to_rfc3339(ms), "2017-07-06T09:00:00.000Z");
        assert_eq!(parse_rfc3339("2017-07-06"), None);
    }
}
