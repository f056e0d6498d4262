//! The one time type of stored and recorded facts: Unix milliseconds.
//!
//! Milliseconds because that is what the stores persist (an absolute deadline survives a
//! restart), it orders and compares the same in SQLite and PostgreSQL, and it serialises as
//! a plain integer, so recorded audit bodies keep their bytes. Every conversion to and from
//! [`SystemTime`] lives here; callers pass `now` explicitly so tests control the clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time as Unix milliseconds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// The epoch.
    pub const EPOCH: Self = Self(0);

    /// `t` in milliseconds; times before the epoch clamp to 0, after year 292 million to max.
    pub fn from_time(t: SystemTime) -> Self {
        Self(
            t.duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0),
        )
    }

    /// The same instant as a [`SystemTime`] (negative values clamp to the epoch).
    pub fn to_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(u64::try_from(self.0).unwrap_or(0))
    }

    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// The raw milliseconds, for storage and wire formats.
    pub fn as_i64(self) -> i64 {
        self.0
    }
}

impl From<SystemTime> for UnixMillis {
    fn from(t: SystemTime) -> Self {
        Self::from_time(t)
    }
}

impl std::fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.to_time()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_and_round_trips() {
        assert_eq!(UnixMillis::from_time(UNIX_EPOCH), UnixMillis(0));
        let t = UNIX_EPOCH + Duration::from_millis(1234);
        assert_eq!(UnixMillis::from_time(t), UnixMillis(1234));
        assert_eq!(UnixMillis(1234).to_time(), t);
        assert_eq!(
            UnixMillis::from_time(UNIX_EPOCH - Duration::from_secs(1)),
            UnixMillis(0)
        );
        assert_eq!(UnixMillis(-5).to_time(), UNIX_EPOCH);
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            UnixMillis(1000).plus(Duration::from_secs(2)),
            UnixMillis(3000)
        );
        assert_eq!(
            UnixMillis(i64::MAX).plus(Duration::from_secs(1)),
            UnixMillis(i64::MAX)
        );
        assert_eq!(
            UnixMillis(3000).since(UnixMillis(1000)),
            Duration::from_secs(2)
        );
        assert_eq!(UnixMillis(1000).since(UnixMillis(3000)), Duration::ZERO);
    }

    #[test]
    fn serialises_as_a_plain_integer() {
        assert_eq!(serde_json::to_string(&UnixMillis(42)).unwrap(), "42");
        assert_eq!(
            serde_json::from_str::<UnixMillis>("42").unwrap(),
            UnixMillis(42)
        );
    }
}
