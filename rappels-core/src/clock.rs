//! The `Clock` port: the only way rappels learns what time it is.

use chrono::{DateTime, Utc};

/// Tells the current instant. Rules never call it: the service layer reads it once per run
/// and passes `now` down, so every rule can be tested at any instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
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
}
