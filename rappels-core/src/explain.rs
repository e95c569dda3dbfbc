//! Why a reminder is or is not due: the answer to "why didn't my student get the reminder?".
//!
//! [`explain_student`] walks the same rule functions as [`crate::plan::due_reminders`], in the
//! same order, but keeps the first reason that stops each reminder instead of dropping it.
//! A property test holds the two together: what `explain` calls due is exactly what the plan
//! lists for the student.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

use crate::domain::{
    Family, Kind, ManualId, ManualRequest, PeriodicKind, ReminderKey, Session, SessionId,
    SessionReminder, SessionStatus, Student, StudentId, format_instant,
};
use crate::plan::{Directory, ZoneWindow};
use crate::rules::{self, Rejection};
use crate::settings::Settings;

/// How far around the instant sessions are explained: the day before (a reminder that was
/// due) to three days after (reminders still to come).
pub const SESSION_HORIZON: (TimeDelta, TimeDelta) = (TimeDelta::days(1), TimeDelta::days(3));

/// Why a reminder is not due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The student's account is not active: no reminder of any kind.
    AccountInactive,
    /// Inactivity and weekly reminders need an active subscription.
    NoSubscription,
    /// The student opted out of this family (directly or with `all`).
    OptedOut(Family),
    /// Only scheduled sessions get reminders.
    SessionNotScheduled(SessionStatus),
    /// The reminder's slot is at or after the session's start (a 07:30 session gets no 08:00
    /// reminder).
    SlotNotBeforeStart {
        /// The slot.
        slot: DateTime<Utc>,
        /// The session's start.
        starts_at: DateTime<Utc>,
    },
    /// The session has started: its reminders are over.
    SessionStarted {
        /// The session's start.
        starts_at: DateTime<Utc>,
    },
    /// The slot has not come yet.
    NotYet {
        /// The slot.
        slot: DateTime<Utc>,
    },
    /// The window closed before this instant (the grace period ran out).
    WindowPassed {
        /// The slot.
        slot: DateTime<Utc>,
        /// The end of the window.
        until: DateTime<Utc>,
    },
    /// Neither a last activity nor an account creation is known.
    NoActivityRecorded,
    /// Today is not a day of the inactivity ladder.
    NotALadderDay {
        /// Days since the last activity, counted in local dates.
        days_inactive: i64,
        /// The next local date that is on the ladder, if any.
        next: Option<NaiveDate>,
    },
    /// The weekly digest is only sent on its weekday.
    NotTheWeeklyDay {
        /// The next digest slot.
        next: DateTime<Utc>,
    },
    /// The student has no session near this instant.
    NoSession,
    /// A manual request the rules refuse.
    Refused(Rejection),
}

/// What the rules say about one reminder of the student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Due now: the next run sends it.
    Due {
        /// Its key.
        key: ReminderKey,
        /// Its slot.
        due_at: DateTime<Utc>,
    },
    /// Due, but already sent or recorded for sending.
    AlreadySent {
        /// Its key.
        key: ReminderKey,
    },
    /// Not due.
    NotDue(Reason),
}

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The kind explained.
    pub kind: Kind,
    /// The session, for session reminders.
    pub session: Option<SessionId>,
    /// The request, for manual reminders.
    pub manual: Option<ManualId>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Explains every reminder of `student` at `at`: both reminders of each session starting
/// within [`SESSION_HORIZON`] of `at`, the inactivity and weekly reminders, and the manual
/// requests made for the student. `sessions` are the student's sessions (others are ignored);
/// `manual` are the requests made by `at` that the rate limit must see (all of them is fine).
pub fn explain_student<D: Directory>(
    student: &Student,
    sessions: &[&Session],
    manual: &[&ManualRequest],
    at: DateTime<Utc>,
    settings: &Settings,
    directory: &D,
) -> Vec<Explanation> {
    let mut out = Vec::new();
    let (before, after) = SESSION_HORIZON;
    let mut near: Vec<&&Session> = sessions
        .iter()
        .filter(|s| {
            s.student_id == student.id && s.starts_at > at - before && s.starts_at <= at + after
        })
        .collect();
    near.sort_by_key(|s| (s.starts_at, s.id));
    for which in [SessionReminder::Eve, SessionReminder::Day] {
        let kind = if which == SessionReminder::Eve {
            Kind::SessionEve
        } else {
            Kind::SessionDay
        };
        if near.is_empty() {
            out.push(Explanation {
                kind,
                session: None,
                manual: None,
                verdict: Verdict::NotDue(Reason::NoSession),
            });
        }
        for session in &near {
            out.push(Explanation {
                kind,
                session: Some(session.id),
                manual: None,
                verdict: session_verdict(which, session, student, at, settings, directory),
            });
        }
    }
    // With a long grace, two dates' slots can be due at once: one line each.
    for (kind, verdicts) in [
        (
            Kind::Inactivity,
            inactivity_verdicts(student, at, settings, directory),
        ),
        (
            Kind::Weekly,
            weekly_verdicts(student, at, settings, directory),
        ),
    ] {
        for verdict in verdicts {
            out.push(Explanation {
                kind,
                session: None,
                manual: None,
                verdict,
            });
        }
    }
    let judged = rules::judge_manual_requests(
        manual.iter().copied(),
        at,
        settings,
        |id| directory.parent(id),
        |id| directory.student(id),
    );
    for (request, verdict) in judged {
        if request.student_id != student.id {
            continue;
        }
        let key = ReminderKey::Manual(request.id);
        let verdict = match verdict {
            Err(reason) => Verdict::NotDue(Reason::Refused(reason)),
            Ok(_) if directory.was_sent(&key) => Verdict::AlreadySent { key },
            Ok(_) => Verdict::Due {
                key,
                due_at: request.requested_at,
            },
        };
        out.push(Explanation {
            kind: Kind::Manual,
            session: None,
            manual: Some(request.id),
            verdict,
        });
    }
    out
}

fn automatic_refusal(student: &Student, family: Family) -> Option<Reason> {
    rules::automatic_ineligibility(student, family).map(|why| match why {
        rules::Ineligible::AccountInactive => Reason::AccountInactive,
        rules::Ineligible::NoSubscription => Reason::NoSubscription,
        rules::Ineligible::OptedOut(family) => Reason::OptedOut(family),
    })
}

fn session_verdict<D: Directory>(
    which: SessionReminder,
    session: &Session,
    student: &Student,
    at: DateTime<Utc>,
    settings: &Settings,
    directory: &D,
) -> Verdict {
    if session.status != SessionStatus::Scheduled {
        return Verdict::NotDue(Reason::SessionNotScheduled(session.status));
    }
    if let Some(reason) = automatic_refusal(student, Family::Session) {
        return Verdict::NotDue(reason);
    }
    let zone = student.zone(settings.timezone);
    let (slot_date, slot) = rules::session_slot(which, session, zone, settings);
    let window = rules::session_window(slot, session, settings);
    let key = ReminderKey::Session {
        student: student.id,
        day: which,
        session: session.id,
        slot_date,
    };
    if slot >= session.starts_at {
        Verdict::NotDue(Reason::SlotNotBeforeStart {
            slot,
            starts_at: session.starts_at,
        })
    } else if at < slot {
        Verdict::NotDue(Reason::NotYet { slot })
    } else if !window.contains(at) {
        if at >= session.starts_at {
            Verdict::NotDue(Reason::SessionStarted {
                starts_at: session.starts_at,
            })
        } else {
            Verdict::NotDue(Reason::WindowPassed {
                slot,
                until: window.end.unwrap_or(slot),
            })
        }
    } else if directory.was_sent(&key) {
        Verdict::AlreadySent { key }
    } else {
        Verdict::Due { key, due_at: slot }
    }
}

/// The latest local date whose `time` slot is at or before `at`, and that slot.
fn latest_slot(
    time: crate::domain::TimeOfDay,
    zone: crate::domain::Zone,
    at: DateTime<Utc>,
) -> (NaiveDate, DateTime<Utc>) {
    let mut date = rules::local_date(at, zone) + TimeDelta::days(1);
    loop {
        let slot = rules::slot_at(date, time, zone);
        if slot <= at {
            return (date, slot);
        }
        date -= TimeDelta::days(1);
    }
}

/// Due or already-sent verdicts for the slots of `kind` in the window that `applies` keeps;
/// empty when none is.
fn dated_verdicts<D: Directory>(
    kind: PeriodicKind,
    slots: &[crate::plan::DatedSlot],
    applies: impl Fn(NaiveDate) -> bool,
    student: StudentId,
    directory: &D,
) -> Vec<Verdict> {
    slots
        .iter()
        .filter(|s| applies(s.date))
        .map(|s| {
            let key = ReminderKey::Periodic {
                student,
                kind,
                slot_date: s.date,
            };
            if directory.was_sent(&key) {
                Verdict::AlreadySent { key }
            } else {
                Verdict::Due {
                    key,
                    due_at: s.slot,
                }
            }
        })
        .collect()
}

fn inactivity_verdicts<D: Directory>(
    student: &Student,
    at: DateTime<Utc>,
    settings: &Settings,
    directory: &D,
) -> Vec<Verdict> {
    if let Some(reason) = automatic_refusal(student, Family::Inactivity) {
        return vec![Verdict::NotDue(reason)];
    }
    let zone = student.zone(settings.timezone);
    let Some(reference) = rules::inactivity_reference_date(student, zone) else {
        return vec![Verdict::NotDue(Reason::NoActivityRecorded)];
    };
    let hits = |date: NaiveDate| rules::inactivity_hits_on(reference, date, settings);
    let window = ZoneWindow::new(zone, at, settings);
    let dated = dated_verdicts(
        PeriodicKind::Inactivity,
        &window.inactivity,
        hits,
        student.id,
        directory,
    );
    if !dated.is_empty() {
        return dated;
    }
    let (latest, slot) = latest_slot(settings.inactivity_time, zone, at);
    let next_date = latest + TimeDelta::days(1);
    let next_slot = rules::slot_at(next_date, settings.inactivity_time, zone);
    if next_slot > at && rules::local_date(at, zone) == next_date && hits(next_date) {
        return vec![Verdict::NotDue(Reason::NotYet { slot: next_slot })];
    }
    if hits(latest) {
        return vec![Verdict::NotDue(Reason::WindowPassed {
            slot,
            until: slot + settings.grace(),
        })];
    }
    let horizon = i64::from(settings.inactivity_last_rung().unwrap_or(0))
        + settings
            .inactivity_repeat_days
            .map_or(0, |r| i64::from(r.get()))
        + 1;
    let next = (1..=horizon)
        .map(|d| latest + TimeDelta::days(d))
        .find(|d| hits(*d));
    vec![Verdict::NotDue(Reason::NotALadderDay {
        days_inactive: (latest - reference).num_days(),
        next,
    })]
}

fn weekly_verdicts<D: Directory>(
    student: &Student,
    at: DateTime<Utc>,
    settings: &Settings,
    directory: &D,
) -> Vec<Verdict> {
    if let Some(reason) = automatic_refusal(student, Family::Weekly) {
        return vec![Verdict::NotDue(reason)];
    }
    let zone = student.zone(settings.timezone);
    let window = ZoneWindow::new(zone, at, settings);
    let dated = dated_verdicts(
        PeriodicKind::Weekly,
        &window.weekly,
        |_| true,
        student.id,
        directory,
    );
    if !dated.is_empty() {
        return dated;
    }
    let today = rules::local_date(at, zone);
    let today_slot = rules::slot_at(today, settings.weekly_time, zone);
    if rules::is_weekly_date(today, settings) && today_slot > at {
        return vec![Verdict::NotDue(Reason::NotYet { slot: today_slot })];
    }
    let (latest, slot) = latest_slot(settings.weekly_time, zone, at);
    if rules::is_weekly_date(latest, settings)
        && latest >= rules::local_date(at, zone) - TimeDelta::days(1)
    {
        return vec![Verdict::NotDue(Reason::WindowPassed {
            slot,
            until: slot + settings.grace(),
        })];
    }
    let next = (1..=8)
        .map(|d| latest + TimeDelta::days(d))
        .find(|d| d.weekday() == settings.weekly_day.chrono())
        .map(|d| rules::slot_at(d, settings.weekly_time, zone))
        .expect("a weekday comes back within a week");
    vec![Verdict::NotDue(Reason::NotTheWeeklyDay { next })]
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::AccountInactive => f.write_str("the student's account is not active"),
            Reason::NoSubscription => f.write_str("the student has no active subscription"),
            Reason::OptedOut(family) => {
                write!(f, "the student opted out of {} reminders", family.as_str())
            }
            Reason::SessionNotScheduled(status) => write!(f, "the session is {}", status.as_str()),
            Reason::SlotNotBeforeStart { slot, starts_at } => write!(
                f,
                "its slot ({}) is not before the session's start ({})",
                format_instant(*slot),
                format_instant(*starts_at)
            ),
            Reason::SessionStarted { starts_at } => {
                write!(f, "the session started at {}", format_instant(*starts_at))
            }
            Reason::NotYet { slot } => write!(f, "not yet: due at {}", format_instant(*slot)),
            Reason::WindowPassed { slot, until } => write!(
                f,
                "its window ({} to {}) has passed",
                format_instant(*slot),
                format_instant(*until)
            ),
            Reason::NoActivityRecorded => {
                f.write_str("no last activity or account creation is known")
            }
            Reason::NotALadderDay {
                days_inactive,
                next,
            } => {
                let unit = if days_inactive.abs() == 1 {
                    "day"
                } else {
                    "days"
                };
                write!(f, "{days_inactive} {unit} inactive is not a reminder day")?;
                match next {
                    Some(next) => write!(f, " (next: {next})"),
                    None => f.write_str(" (no later reminder day)"),
                }
            }
            Reason::NotTheWeeklyDay { next } => {
                write!(f, "not the digest's day (next: {})", format_instant(*next))
            }
            Reason::NoSession => f.write_str("no session near this instant"),
            Reason::Refused(reason) => {
                write!(f, "refused: {} ({})", reason.as_str(), reason.explain())
            }
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(session) = self.session {
            write!(f, " (session {session})")?;
        }
        if let Some(manual) = self.manual {
            write!(f, " (request {manual})")?;
        }
        match &self.verdict {
            Verdict::Due { due_at, .. } => write!(f, ": due since {}", format_instant(*due_at)),
            Verdict::AlreadySent { .. } => f.write_str(": already sent"),
            Verdict::NotDue(Reason::NotYet { slot }) => {
                write!(f, ": not yet, due at {}", format_instant(*slot))
            }
            Verdict::NotDue(reason) => write!(f, ": not due, {reason}"),
        }
    }
}

/// The student's sessions and the requests an explanation needs, from a snapshot.
pub fn explain_in_snapshot(
    snapshot: &crate::snapshot::Snapshot,
    student: StudentId,
    at: DateTime<Utc>,
) -> Option<Vec<Explanation>> {
    let record = snapshot.student(student)?;
    let (before, after) = SESSION_HORIZON;
    let sessions = snapshot.sessions_of(student, at - before, at + after + TimeDelta::seconds(1));
    let manual: Vec<&ManualRequest> = snapshot
        .scenario()
        .manual
        .iter()
        .filter(|m| m.requested_at <= at)
        .collect();
    Some(explain_student(
        record,
        &sessions,
        &manual,
        at,
        snapshot.settings(),
        snapshot,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;
    use crate::scenario::Scenario;
    use crate::snapshot::Snapshot;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    const SCHOOL: &str = r#"{
      "students": [
        { "id": 1, "first_name": "Awa", "email": "awa@example.org", "timezone": "Africa/Abidjan",
          "account_active": true, "subscription_active": true,
          "last_activity_at": "2026-11-20T17:03:00Z", "opt_out": ["weekly"] },
        { "id": 2, "first_name": "Lucas", "email": "lucas@example.org",
          "account_active": true, "subscription_active": false,
          "last_activity_at": "2026-11-23T09:00:00Z" },
        { "id": 3, "first_name": "Inès", "email": "ines@example.org",
          "account_active": false, "subscription_active": true }
      ],
      "parents": [ { "id": 10, "first_name": "Mariam", "email": "m@example.org", "children": [1] } ],
      "sessions": [
        { "id": 100, "student_id": 1, "subject": "Maths", "starts_at": "2026-11-27T14:00:00Z" },
        { "id": 101, "student_id": 2, "subject": "Physique", "starts_at": "2026-11-27T07:30:00+01:00" },
        { "id": 102, "student_id": 2, "subject": "Français", "starts_at": "2026-11-27T16:00:00+01:00",
          "status": "cancelled" }
      ],
      "manual": [
        { "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise", "message": "Courage",
          "requested_at": "2026-11-26T18:00:00Z" },
        { "id": 501, "parent_id": 10, "student_id": 2, "title": "Coucou", "message": "?",
          "requested_at": "2026-11-26T18:05:00Z" }
      ],
      "sent": [ { "manual_id": 500 } ]
    }"#;

    fn lines(student: i64, at: &str) -> Vec<String> {
        let snapshot = Snapshot::new(Scenario::from_json(SCHOOL).unwrap());
        explain_in_snapshot(&snapshot, StudentId::new(student).unwrap(), t(at))
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn two_inactivity_reminders_due_at_once_are_both_explained() {
        // Found by the explain/plan law: with a day of grace, the slots of two local dates
        // can be due together (Nuuk, around its 2026 spring transition).
        let scenario = Scenario::from_json(
            r#"{ "settings": { "inactivity_time": "01:00", "inactivity_days": [9, 11, 8],
                   "inactivity_repeat_days": 5, "grace_minutes": 1440 },
                 "students": [ { "id": 4, "first_name": "Aka", "email": "a@example.org",
                   "timezone": "America/Nuuk", "account_active": true, "subscription_active": true,
                   "last_activity_at": "2026-03-21T01:59:59Z" } ] }"#,
        )
        .unwrap();
        let snapshot = Snapshot::new(scenario);
        let at = t("2026-03-29T02:59:59.999999999Z");
        let planned: Vec<ReminderKey> = snapshot.plan(at).due.iter().map(|d| d.key).collect();
        assert_eq!(planned.len(), 2, "{planned:?}");
        let explained: Vec<ReminderKey> =
            explain_in_snapshot(&snapshot, StudentId::new(4).unwrap(), at)
                .unwrap()
                .into_iter()
                .filter_map(|e| match e.verdict {
                    Verdict::Due { key, .. } => Some(key),
                    _ => None,
                })
                .collect();
        assert_eq!(explained, planned);
    }

    #[test]
    fn explains_each_kind_for_awa() {
        assert_eq!(
            lines(1, "2026-11-26T18:45:00Z"),
            [
                "session_eve (session 100): due since 2026-11-26T18:30:00Z",
                "session_day (session 100): not yet, due at 2026-11-27T08:00:00Z",
                "inactivity: not due, 6 days inactive is not a reminder day (next: 2026-11-27)",
                "weekly: not due, the student opted out of weekly reminders",
                "manual (request 500): already sent",
            ]
        );
    }

    #[test]
    fn explains_the_early_session_the_cancelled_one_and_the_missing_subscription() {
        assert_eq!(
            lines(2, "2026-11-27T07:15:00Z"),
            [
                "session_eve (session 101): not due, the session started at 2026-11-27T06:30:00Z",
                "session_eve (session 102): not due, the session is cancelled",
                "session_day (session 101): not due, its slot (2026-11-27T07:00:00Z) is not before the session's start (2026-11-27T06:30:00Z)",
                "session_day (session 102): not due, the session is cancelled",
                "inactivity: not due, the student has no active subscription",
                "weekly: not due, the student has no active subscription",
                "manual (request 501): not due, refused: not_your_child (this student is not one of the parent's children)",
            ]
        );
    }

    #[test]
    fn explains_an_inactive_account_and_windows() {
        assert!(
            lines(3, "2026-11-26T18:45:00Z")
                .iter()
                .any(|l| l == "inactivity: not due, the student's account is not active")
        );
        // Awa's eve reminder: at 00:31Z its 6-hour window is over.
        let late = lines(1, "2026-11-27T00:31:00Z");
        assert_eq!(
            late[0],
            "session_eve (session 100): not due, its window (2026-11-26T18:30:00Z to 2026-11-27T00:30:00Z) has passed"
        );
        // On Sunday evening the digest of a student who did not opt out is explained too.
        let sunday = Snapshot::new(
            Scenario::from_json(&SCHOOL.replace(r#""opt_out": ["weekly"]"#, r#""opt_out": []"#))
                .unwrap(),
        );
        let at = t("2026-11-29T19:00:00Z");
        let explained = explain_in_snapshot(&sunday, StudentId::new(1).unwrap(), at).unwrap();
        let weekly = explained.iter().find(|e| e.kind == Kind::Weekly).unwrap();
        assert_eq!(
            weekly.to_string(),
            "weekly: not yet, due at 2026-11-29T20:00:00Z"
        );
        let explained = explain_in_snapshot(
            &sunday,
            StudentId::new(1).unwrap(),
            t("2026-11-29T20:10:00Z"),
        )
        .unwrap();
        let weekly = explained.iter().find(|e| e.kind == Kind::Weekly).unwrap();
        assert_eq!(weekly.to_string(), "weekly: due since 2026-11-29T20:00:00Z");
    }
}
