//! A brute-force reference planner, written from RULES.md with no index, no candidate
//! window and none of the planner's shortcuts, and the law that the indexed planner agrees
//! with it.
//!
//! The reference walks every session and, for every student, every local date from three
//! days before the planning instant to one day after: a slot due at `T` lies in
//! `(T − 1 day, T]` (grace is at most 1440 minutes), so its local date is at most two days
//! before `T`'s, even after a DST shift. It uses `rules::slot_at` for slots (its own laws are
//! in `slots`) and restates every other rule in the words of RULES.md.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use rappels_core::domain::{
    Family, Kind, ManualId, OptOut, ParentId, PeriodicKind, ReminderKey, SessionId,
    SessionReminder, SessionStatus, Student, StudentId, TimeOfDay, Zone,
};
use rappels_core::plan::DueReminder;
use rappels_core::rules::{self, Rejection};
use rappels_core::scenario::Scenario;
use rappels_core::snapshot::Snapshot;

use crate::strategies;

/// One line of a plan, with its fields in RULES.md's sort order so that sorting lines sorts
/// the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Line {
    due_at: DateTime<Utc>,
    student: StudentId,
    kind: Kind,
    session: Option<SessionId>,
    manual: Option<ManualId>,
    slot_date: NaiveDate,
    due_until: Option<DateTime<Utc>>,
}

impl From<&DueReminder> for Line {
    fn from(d: &DueReminder) -> Self {
        Line {
            due_at: d.due_at,
            student: d.student,
            kind: d.kind(),
            session: d.key.session(),
            manual: d.key.manual(),
            slot_date: d.slot_date,
            due_until: d.due_until,
        }
    }
}

/// The plan at `at` by RULES.md, literally: due lines sorted, rejections by request id.
pub(crate) fn reference_plan(
    sc: &Scenario,
    at: DateTime<Utc>,
) -> (Vec<Line>, Vec<(ManualId, Rejection)>) {
    let settings = &sc.settings;
    let grace = TimeDelta::minutes(i64::from(settings.grace_minutes.get()));
    let sent: HashSet<ReminderKey> = sc.sent.iter().copied().collect();
    let zone_of = |s: &Student| s.timezone.unwrap_or(settings.timezone);
    let student = |id: StudentId| sc.students.iter().find(|s| s.id == id);
    // "the student's account_active is true and the student has not opted out of that kind
    // (opt_out contains the kind's family or all)".
    let accepts = |s: &Student, family: Family| {
        s.account_active
            && !s.opt_out.entries().iter().any(|o| {
                matches!(
                    (o, family),
                    (OptOut::All, _)
                        | (OptOut::Session, Family::Session)
                        | (OptOut::Inactivity, Family::Inactivity)
                        | (OptOut::Weekly, Family::Weekly)
                )
            })
    };
    let mut lines = Vec::new();
    let mut add =
        |key: ReminderKey, student: StudentId, slot_date, start, end: Option<DateTime<Utc>>| {
            let due = start <= at && end.is_none_or(|end| at < end);
            if due && !sent.contains(&key) {
                lines.push(Line {
                    due_at: start,
                    student,
                    kind: key.kind(),
                    session: key.session(),
                    manual: key.manual(),
                    slot_date,
                    due_until: end,
                });
            }
        };

    for session in &sc.sessions {
        let s = student(session.student_id).expect("validated scenarios have no dangling session");
        if session.status != SessionStatus::Scheduled || !accepts(s, Family::Session) {
            continue;
        }
        let zone = zone_of(s);
        let start_date = strategies::local_date(session.starts_at, zone);
        for (day, date, time) in [
            (
                SessionReminder::Eve,
                start_date - TimeDelta::days(1),
                settings.session_eve_time,
            ),
            (SessionReminder::Day, start_date, settings.session_day_time),
        ] {
            let slot = rules::slot_at(date, time, zone);
            // end = min(S + grace, start); for session_day "nothing is due when S >= start",
            // which the same end already says.
            let end = (slot + grace).min(session.starts_at);
            let key = ReminderKey::Session {
                student: s.id,
                day,
                session: session.id,
                slot_date: date,
            };
            add(key, s.id, date, slot, Some(end));
        }
    }

    let dates_around = |zone: Zone| {
        let today = strategies::local_date(at, zone);
        (-3..=1).map(move |d| today + TimeDelta::days(d))
    };
    let slot = |date: NaiveDate, time: TimeOfDay, zone: Zone| rules::slot_at(date, time, zone);
    for s in &sc.students {
        if !s.subscription_active {
            continue;
        }
        let zone = zone_of(s);
        // "neither: never due" when there is no last activity nor creation date.
        let reference = s.last_activity_at.or(s.created_at);
        if let Some(reference) = reference.filter(|_| accepts(s, Family::Inactivity)) {
            let last = strategies::local_date(reference, zone);
            for date in dates_around(zone) {
                let repeat = settings.inactivity_repeat_days.map(|r| r.get());
                if ladder_hits((date - last).num_days(), &settings.inactivity_days, repeat) {
                    let start = slot(date, settings.inactivity_time, zone);
                    let key = ReminderKey::Periodic {
                        student: s.id,
                        kind: PeriodicKind::Inactivity,
                        slot_date: date,
                    };
                    add(key, s.id, date, start, Some(start + grace));
                }
            }
        }
        if accepts(s, Family::Weekly) {
            for date in dates_around(zone).filter(|d| d.weekday() == settings.weekly_day.chrono()) {
                let start = slot(date, settings.weekly_time, zone);
                let key = ReminderKey::Periodic {
                    student: s.id,
                    kind: PeriodicKind::Weekly,
                    slot_date: date,
                };
                add(key, s.id, date, start, Some(start + grace));
            }
        }
    }

    let mut requests: Vec<_> = sc.manual.iter().filter(|m| m.requested_at <= at).collect();
    requests.sort_by_key(|m| (m.requested_at, m.id));
    let mut accepted: HashMap<(ParentId, StudentId, NaiveDate), u32> = HashMap::new();
    let mut rejected = Vec::new();
    for m in requests {
        let parent = sc.parents.iter().find(|p| p.id == m.parent_id);
        let s = student(m.student_id);
        let blank = |t: &str| t.chars().all(char::is_whitespace);
        let reason = match (parent, s) {
            (None, _) => Some(Rejection::UnknownParent),
            (_, None) => Some(Rejection::UnknownStudent),
            (Some(p), Some(s)) if !p.children.contains(&s.id) => Some(Rejection::NotYourChild),
            (_, Some(s)) if !s.account_active => Some(Rejection::StudentInactive),
            _ if blank(&m.title)
                || m.title.chars().count() > 200
                || m.title.chars().any(char::is_control) =>
            {
                Some(Rejection::InvalidTitle)
            }
            _ if blank(&m.message) || m.message.chars().count() > 5000 => {
                Some(Rejection::InvalidMessage)
            }
            (Some(_), Some(s)) => {
                let date = strategies::local_date(m.requested_at, zone_of(s));
                let count = accepted.entry((m.parent_id, s.id, date)).or_insert(0);
                if *count >= settings.manual_max_per_day {
                    Some(Rejection::RateLimited)
                } else {
                    *count += 1;
                    add(ReminderKey::Manual(m.id), s.id, date, m.requested_at, None);
                    None
                }
            }
        };
        if let Some(reason) = reason {
            rejected.push((m.id, reason));
        }
    }
    lines.sort();
    rejected.sort();
    (lines, rejected)
}

/// RULES.md's ladder: "due when d is in inactivity_days, or inactivity_repeat_days = r is
/// set and d > max(inactivity_days) and (d − max) mod r = 0".
fn ladder_hits(d: i64, days: &[u32], repeat: Option<u32>) -> bool {
    if days.iter().any(|&x| i64::from(x) == d) {
        return true;
    }
    match (repeat, days.iter().max()) {
        (Some(r), Some(&max)) => {
            let max = i64::from(max);
            d > max && (d - max) % i64::from(r) == 0
        }
        _ => false,
    }
}

/// Compares the indexed planner with the reference at `at`, in the plan's own order.
fn assert_agrees(sc: &Scenario, at: DateTime<Utc>) -> Result<(), TestCaseError> {
    let plan = Snapshot::new(sc.clone()).plan(at);
    let (lines, rejected) = reference_plan(sc, at);
    let got: Vec<Line> = plan.due.iter().map(Line::from).collect();
    prop_assert_eq!(got, lines, "due at {}", at);
    let got: Vec<(ManualId, Rejection)> = plan
        .rejected
        .iter()
        .map(|r| (r.manual_id, r.reason))
        .collect();
    prop_assert_eq!(got, rejected, "rejected at {}", at);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The indexed planner (window, candidates, decision) yields exactly what the
    /// brute-force reference yields, line for line and in RULES.md's order; and again once
    /// part of what is due has been recorded as sent.
    #[test]
    fn indexed_planner_equals_the_brute_force_reference(
        (at, scenario) in strategies::planned_scenario(),
        sent_mask in prop::collection::vec(any::<bool>(), 0..16),
    ) {
        assert_agrees(&scenario, at)?;
        let due = Snapshot::new(scenario.clone()).plan(at).due;
        let mut partly_sent = scenario;
        partly_sent.sent.extend(
            due.iter().zip(sent_mask.iter().chain(std::iter::repeat(&false))).filter(|(_, s)| **s).map(|(d, _)| d.key),
        );
        assert_agrees(&partly_sent, at)?;
    }
}

#[test]
fn reference_planner_sees_the_spec_example() {
    // The example of RULES.md ("Plan output"): a session eve reminder due at 18:45Z, and
    // the manual request of 18:00Z.
    let json = r#"{
      "settings": { "timezone": "Europe/Paris", "grace_minutes": 360 },
      "students": [
        { "id": 1, "first_name": "Awa", "last_name": "Koné", "email": "awa@example.org",
          "timezone": "Africa/Abidjan", "locale": "fr",
          "account_active": true, "subscription_active": true,
          "created_at": "2026-09-01T09:00:00Z", "last_activity_at": "2026-11-20T17:03:00Z",
          "opt_out": ["weekly"] } ],
      "parents": [ { "id": 10, "first_name": "Mariam", "email": "mariam@example.org", "children": [1] } ],
      "sessions": [
        { "id": 100, "student_id": 1, "subject": "Mathématiques", "objective": "Fractions",
          "starts_at": "2026-11-27T14:00:00Z", "duration_minutes": 45, "status": "scheduled" } ],
      "manual": [
        { "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise ce soir",
          "message": "Courage pour demain !", "requested_at": "2026-11-26T18:00:00Z" } ]
    }"#;
    let sc = Scenario::from_json(json).unwrap();
    let at = strategies::utc("2026-11-26T18:45:00Z");
    let (lines, rejected) = reference_plan(&sc, at);
    let kinds: Vec<(Kind, DateTime<Utc>)> = lines.iter().map(|l| (l.kind, l.due_at)).collect();
    assert_eq!(
        kinds,
        [
            (Kind::Manual, strategies::utc("2026-11-26T18:00:00Z")),
            (Kind::SessionEve, strategies::utc("2026-11-26T18:30:00Z"))
        ]
    );
    assert!(rejected.is_empty());
    assert_agrees(&sc, at).unwrap();
}
