//! Timestamps: RFC 3339 UTC with milliseconds, fixed width, so they sort as strings.
//!
//! Every rule that depends on time (request decay, presence, retention, idempotency) reads
//! it from the app's [`Clock`], so a test moves time forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The wall clock, plus an offset that only tests set.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Now, as stored in items.
    pub fn stamp(&self) -> String {
        format(self.now())
    }

    /// Now, read once, for a planner.
    pub fn moment(&self) -> crate::domain::plan::Moment {
        let now = self.now();
        crate::domain::plan::Moment { stamp: format(now), epoch_secs: now.timestamp() }
    }

    pub fn epoch_secs(&self) -> i64 {
        self.now().timestamp()
    }

    /// The timestamp `secs` seconds ago.
    pub fn ago(&self, secs: i64) -> String {
        format(self.now() - chrono::Duration::seconds(secs))
    }

    /// Moves this clock (and every clone of it) forward: tests only.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
