//! What happens after a delivery attempt: retry later, give up, or let the reminder expire
//! because its moment has passed.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{Kind, ReminderKey};

/// How a delivery failed, as the mailer classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Worth retrying: 4xx replies, refused connections, timeouts.
    Transient,
    /// Never worth retrying: 5xx replies, a refused recipient.
    Permanent,
}

/// What to do with a reminder after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Keep it pending and try again at this instant.
    RetryAt(DateTime<Utc>),
    /// Mark it failed for good.
    Fail,
    /// Its moment has passed: mark it expired rather than send it late.
    Expire,
}

/// The retry and expiry policy. The defaults follow what careful senders do: quick retries
/// for a server hiccup (about 1, 5 and 30 minutes), then hourly, each delay spread by a
/// jitter so that a whole batch does not hit a recovering server at the same second.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delays before the first retries, in order.
    pub backoff: Vec<TimeDelta>,
    /// Delay between retries once `backoff` is used up.
    pub then_every: TimeDelta,
    /// Jitter as a fraction of the delay (0.2: ±20 %).
    pub jitter: f64,
    /// How long after its slot an inactivity or weekly reminder is still worth sending.
    pub periodic_expiry: TimeDelta,
    /// How long after the request a manual reminder is still worth sending.
    pub manual_expiry: TimeDelta,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            backoff: vec![
                TimeDelta::minutes(1),
                TimeDelta::minutes(5),
                TimeDelta::minutes(30),
            ],
            then_every: TimeDelta::hours(1),
            jitter: 0.2,
            periodic_expiry: TimeDelta::hours(24),
            manual_expiry: TimeDelta::days(7),
        }
    }
}

impl RetryPolicy {
    /// The instant after which a reminder is no longer sent: a session reminder once its
    /// session has started, inactivity and weekly reminders `periodic_expiry` after their
    /// slot, manual reminders `manual_expiry` after the request.
    pub fn expires_at(
        &self,
        kind: Kind,
        due_at: DateTime<Utc>,
        session_start: Option<DateTime<Utc>>,
    ) -> DateTime<Utc> {
        match kind {
            Kind::SessionEve | Kind::SessionDay => session_start.unwrap_or(due_at),
            Kind::Inactivity | Kind::Weekly => due_at + self.periodic_expiry,
            Kind::Manual => due_at + self.manual_expiry,
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry), without jitter.
    pub fn base_delay(&self, attempt: u32) -> TimeDelta {
        let index = attempt.saturating_sub(1) as usize;
        self.backoff.get(index).copied().unwrap_or(self.then_every)
    }

    /// The delay before retry number `attempt` of the reminder `key`, with jitter. The
    /// jitter is derived from the key and the attempt, not drawn at random, so a schedule
    /// can be tested and two runners agree on it.
    pub fn delay(&self, key: &ReminderKey, attempt: u32) -> TimeDelta {
        let base = self.base_delay(attempt);
        let spread = spread_of(key, attempt); // in [-1, 1]
        let millis = base.num_milliseconds() as f64 * (1.0 + self.jitter * spread);
        TimeDelta::milliseconds(millis.round().max(0.0) as i64)
    }

    /// Decides the fate of a reminder whose attempt number `attempts` (1 for the first
    /// send) failed at `now`.
    pub fn after_failure(
        &self,
        key: &ReminderKey,
        attempts: u32,
        class: FailureClass,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AfterFailure {
        if class == FailureClass::Permanent {
            return AfterFailure::Fail;
        }
        let next = now + self.delay(key, attempts);
        if next >= expires_at {
            AfterFailure::Expire
        } else {
            AfterFailure::RetryAt(next)
        }
    }
}

/// A number in [-1, 1] that depends only on the key and the attempt (FNV-1a of both).
fn spread_of(key: &ReminderKey, attempt: u32) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.to_string().bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 2001) as f64 / 1000.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ManualId, PeriodicKind, StudentId, parse_instant};

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    fn key() -> ReminderKey {
        ReminderKey::Periodic {
            student: StudentId::new(1).unwrap(),
            kind: PeriodicKind::Weekly,
            slot_date: "2026-11-29".parse().unwrap(),
        }
    }

    #[test]
    fn backoff_is_about_1_5_30_minutes_then_hourly() {
        let p = RetryPolicy::default();
        let minutes = |a| p.base_delay(a).num_minutes();
        assert_eq!(
            [minutes(1), minutes(2), minutes(3), minutes(4), minutes(9)],
            [1, 5, 30, 60, 60]
        );
        for attempt in 1..10 {
            let base = p.base_delay(attempt).num_milliseconds() as f64;
            let d = p.delay(&key(), attempt).num_milliseconds() as f64;
            assert!(
                (base * 0.8..=base * 1.2).contains(&d),
                "attempt {attempt}: {d} vs {base}"
            );
            assert_eq!(
                p.delay(&key(), attempt),
                p.delay(&key(), attempt),
                "deterministic"
            );
        }
        let no_jitter = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(no_jitter.delay(&key(), 2), TimeDelta::minutes(5));
    }

    #[test]
    fn transient_failures_retry_until_the_reminder_expires() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let now = t("2026-11-29T19:00:00Z");
        let expires = p.expires_at(Kind::Weekly, now, None);
        assert_eq!(expires, t("2026-11-30T19:00:00Z"));
        assert_eq!(
            p.after_failure(&key(), 1, FailureClass::Transient, expires, now),
            AfterFailure::RetryAt(t("2026-11-29T19:01:00Z"))
        );
        assert_eq!(
            p.after_failure(
                &key(),
                4,
                FailureClass::Transient,
                expires,
                t("2026-11-30T18:00:00Z")
            ),
            AfterFailure::Expire
        );
        assert_eq!(
            p.after_failure(&key(), 1, FailureClass::Permanent, expires, now),
            AfterFailure::Fail
        );
    }

    #[test]
    fn expiry_per_kind() {
        let p = RetryPolicy::default();
        let due = t("2026-11-26T17:30:00Z");
        let start = t("2026-11-27T06:30:00Z");
        assert_eq!(p.expires_at(Kind::SessionEve, due, Some(start)), start);
        assert_eq!(
            p.expires_at(Kind::Inactivity, due, None),
            due + TimeDelta::hours(24)
        );
        assert_eq!(
            p.expires_at(Kind::Manual, due, None),
            due + TimeDelta::days(7)
        );
        let manual = ReminderKey::Manual(ManualId::new(5).unwrap());
        assert_ne!(spread_of(&manual, 1), spread_of(&manual, 2));
    }
}
