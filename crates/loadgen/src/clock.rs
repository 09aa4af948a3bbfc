//! The one clock that send and arrival times are read from.

use std::time::{SystemTime, UNIX_EPOCH};

/// Returns the wall-clock time in nanoseconds since the Unix epoch. It is the clock the
/// kernel stamps received datagrams with, so publisher send times and subscriber arrival
/// times on one host compare directly.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
