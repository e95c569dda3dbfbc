//! The `Clock` port: the only way rappels learns what time it is.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Tells the current instant. Rules never call it: the service layer reads it once per run
/// and passes `now` down, so every rule can be tested at any instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Time on a clock that never goes back and keeps counting while the process is
    /// stopped, from an arbitrary origin: what measures how long something was held (a
    /// claim's lease), whatever `now` says (a run `--at` a frozen instant, a test clock).
    /// Every clock shares the process's; only differences of two readings mean anything.
    fn monotonic(&self) -> Duration {
        process_monotonic()
    }
}

/// The process's monotonic clock, from its first reading.
fn process_monotonic() -> Duration {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

/// The system's wall clock: the one place allowed to call `Utc::now` (see clippy.toml).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock shared with whoever else needs the same time (a test moving it forward while a
/// run is under way, a daemon and the runs it starts).
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
    }
}
