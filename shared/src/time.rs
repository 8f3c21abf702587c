//! Timestamps: RFC 3339 UTC with milliseconds, fixed width, so they sort as strings.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now() -> String {
    format(Utc::now())
}

pub fn epoch_secs() -> i64 {
    Utc::now().timestamp()
}

/// The timestamp `secs` seconds ago.
pub fn ago(secs: i64) -> String {
    format(Utc::now() - chrono::Duration::seconds(secs))
}
