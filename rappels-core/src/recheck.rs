//! The send-time re-check. A reminder is recorded when it becomes due and sent later, by
//! this run or, after a failed attempt, by another. Between the two the platform's data can
//! change: the student opts out or is deactivated, the session is cancelled, completed,
//! moved to another day or deleted, the student comes back, the request is deleted or the
//! parent is no longer linked to the child. Just before a reminder is sent, the rules are
//! applied again to the data as it is then. A reminder they no longer want is recorded as
//! `cancelled`, never sent.
//!
//! Only the conditions that data can change are judged again. The slot is not: a reminder
//! recorded in its window stays wanted, and expiry has its own rule.

use std::fmt;

use crate::domain::{PeriodicKind, ReminderKey, SessionStatus};
use crate::message::MessageSource;
use crate::ports::NewReminder;
use crate::rules::{self, Ineligible, Rejection};
use crate::settings::Settings;

/// Why a recorded reminder is no longer wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancellation {
    /// The student is gone from the platform's data.
    StudentGone,
    /// The student can no longer get reminders of this family.
    Ineligible(Ineligible),
    /// The session is gone from the platform's data, or is now another student's.
    SessionGone,
    /// The session is no longer scheduled.
    SessionNot(SessionStatus),
    /// The session moved to a day whose reminder is another one.
    SessionMoved,
    /// The student was active since: the inactivity count no longer hits this day.
    ActiveAgain,
    /// The manual request is gone from the platform's data.
    RequestGone,
    /// The manual request is refused now (its parent is gone or no longer linked to the
    /// child, the child's account is inactive).
    Refused(Rejection),
}

impl fmt::Display for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cancellation::StudentGone => f.write_str("the student was removed"),
            Cancellation::Ineligible(Ineligible::AccountInactive) => {
                f.write_str("the student's account is inactive")
            }
            Cancellation::Ineligible(Ineligible::NoSubscription) => {
                f.write_str("the student's subscription is inactive")
            }
            Cancellation::Ineligible(Ineligible::OptedOut(family)) => {
                write!(f, "the student opted out of {} reminders", family.as_str())
            }
            Cancellation::SessionGone => f.write_str("the session was removed"),
            Cancellation::SessionNot(status) => write!(f, "the session is {}", status.as_str()),
            Cancellation::SessionMoved => f.write_str("the session moved to another day"),
            Cancellation::ActiveAgain => f.write_str("the student was active since"),
            Cancellation::RequestGone => f.write_str("the manual request was removed"),
            Cancellation::Refused(rejection) => write!(
                f,
                "the manual request is refused now: {} ({})",
                rejection.as_str(),
                rejection.explain()
            ),
        }
    }
}

/// Why `reminder` is no longer wanted, judged on `source` (the data as it is now, which
/// must hold the reminder's student, session, or request and its parent, as
/// [`crate::ports::Platform::message_input`] reads them); `None` when it still is.
pub fn cancellation(
    reminder: &NewReminder,
    source: &impl MessageSource,
    settings: &Settings,
) -> Option<Cancellation> {
    if let ReminderKey::Manual(id) = reminder.key {
        let Some(request) = source.manual_request(id) else {
            return Some(Cancellation::RequestGone);
        };
        let parent = source.parent(request.parent_id);
        let student = source.student(request.student_id);
        return rules::validate_manual(request, parent, student)
            .err()
            .map(Cancellation::Refused);
    }
    let Some(student) = source.student(reminder.student) else {
        return Some(Cancellation::StudentGone);
    };
    // Every kind but manual (handled above) has a family.
    if let Some(why) = reminder
        .key
        .kind()
        .family()
        .and_then(|family| rules::automatic_ineligibility(student, family))
    {
        return Some(Cancellation::Ineligible(why));
    }
    let zone = student.zone(settings.timezone);
    match reminder.key {
        ReminderKey::Session { session, day, .. } => {
            let Some(session) = source
                .session(session)
                .filter(|s| s.student_id == student.id)
            else {
                return Some(Cancellation::SessionGone);
            };
            if session.status != SessionStatus::Scheduled {
                return Some(Cancellation::SessionNot(session.status));
            }
            let (date, _) = rules::session_slot(day, session, zone, settings);
            (date != reminder.slot_date).then_some(Cancellation::SessionMoved)
        }
        ReminderKey::Periodic {
            kind: PeriodicKind::Inactivity,
            slot_date,
            ..
        } => {
            let hits = rules::inactivity_reference_date(student, zone)
                .is_some_and(|since| rules::inactivity_hits_on(since, slot_date, settings));
            (!hits).then_some(Cancellation::ActiveAgain)
        }
        ReminderKey::Periodic {
            kind: PeriodicKind::Weekly,
            ..
        }
        | ReminderKey::Manual(_) => None,
    }
}
