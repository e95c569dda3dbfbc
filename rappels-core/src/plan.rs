//! Planning: which reminders are due at an instant.
//!
//! Planning runs in three steps so that its cost follows what is due rather than what is
//! stored (see DESIGN-NOTES.md):
//!
//! 1. [`PlanWindow::new`] computes from the instant and the settings, per zone in use, the
//!    local dates whose inactivity or weekly slot is due, the last-activity dates that hit
//!    the inactivity ladder on those dates, and the ranges of session starts that can be due.
//! 2. A store answers "who are the candidates in this window" ([`Candidates`]), from indexes
//!    in memory (`snapshot`) or indexed SQL queries. It may return more than is due, never
//!    less.
//! 3. [`due_reminders`] decides each candidate with the rule functions of [`crate::rules`],
//!    so every store shares the same decisions.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::{
    EmailAddress, Kind, ManualId, ManualRequest, Parent, ParentId, PeriodicKind, ReminderKey,
    Session, SessionReminder, Student, StudentId, TimeOfDay, Zone,
};
use crate::rules::{self, DueWindow, Rejection};
use crate::settings::Settings;

/// Margin added on both sides of a local day's UTC range when looking sessions up by start:
/// where a zone falls back across midnight (Cairo), a local date comes back for up to the
/// size of the offset change, and no change in the tz database exceeds three hours.
const DAY_RANGE_MARGIN: TimeDelta = TimeDelta::hours(3);

/// A local date and the slot instant of a reminder on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedSlot {
    /// The local date the rule is evaluated for.
    pub date: NaiveDate,
    /// The slot, `at(date, time, zone)`.
    pub slot: DateTime<Utc>,
}

/// What is due in one zone at the window's instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneWindow {
    /// The zone.
    pub zone: Zone,
    /// Local dates whose inactivity slot `S` satisfies `S <= at < S + grace`.
    pub inactivity: Vec<DatedSlot>,
    /// Local dates that are the weekly day and whose digest slot is due.
    pub weekly: Vec<DatedSlot>,
    /// Local dates whose eve slot lies in `(at − grace, at]`: sessions on the next day
    /// may be due an eve reminder.
    pub session_eve: Vec<DatedSlot>,
    /// Local dates whose morning slot lies in `(at − grace, at]`: sessions on that day may
    /// be due a morning reminder.
    pub session_day: Vec<DatedSlot>,
}

/// Last-activity dates that make an inactivity reminder due on a slot date: a list of exact
/// dates (one per ladder rung) and, with a repeat, every date `L < before` with
/// `(anchor − L) mod every = 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityDates {
    /// The slot date the dates are for.
    pub slot_date: NaiveDate,
    /// `D − d` for every rung `d` of `inactivity_days`.
    pub exact: Vec<NaiveDate>,
    /// The repeat rule, if any.
    pub repeat: Option<RepeatDates>,
}

/// The repeating part of the inactivity ladder, in last-activity dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatDates {
    /// `D − max(inactivity_days)`: matching dates are strictly before it…
    pub anchor: NaiveDate,
    /// …and a whole number of `every` days before it.
    pub every: u32,
}

impl RepeatDates {
    /// True when `reference` is strictly before the anchor by a multiple of `every` days.
    pub fn matches(&self, reference: NaiveDate) -> bool {
        let gap = (self.anchor - reference).num_days();
        gap > 0 && gap % i64::from(self.every) == 0
    }
}

impl ZoneWindow {
    /// Computes the zone's due dates at `at`. The candidate slot dates run from the local
    /// date of `at − grace` minus one (a slot in a gap may land on the next day) to the local
    /// date of `at`: no other date can have a slot in `(at − grace, at]`.
    pub fn new(zone: Zone, at: DateTime<Utc>, settings: &Settings) -> Self {
        let first = rules::local_date(at - settings.grace(), zone) - TimeDelta::days(1);
        let last = rules::local_date(at, zone);
        let due_on = |time: TimeOfDay, keep: &dyn Fn(NaiveDate) -> bool| -> Vec<DatedSlot> {
            first
                .iter_days()
                .take_while(|date| *date <= last)
                .filter(|date| keep(*date))
                .map(|date| DatedSlot {
                    date,
                    slot: rules::slot_at(date, time, zone),
                })
                .filter(|s| rules::grace_window(s.slot, settings).contains(at))
                .collect()
        };
        ZoneWindow {
            zone,
            inactivity: due_on(settings.inactivity_time, &|_| true),
            weekly: due_on(settings.weekly_time, &|date| {
                rules::is_weekly_date(date, settings)
            }),
            session_eve: due_on(settings.session_eve_time, &|_| true),
            session_day: due_on(settings.session_day_time, &|_| true),
        }
    }

    /// UTC ranges `[from, until)` holding every session start whose local day can have a
    /// reminder due (the day after an eve date, the day of a morning date), widened by a
    /// margin. A session reminder's window lies inside its grace window, so no session
    /// outside these ranges can be due.
    pub fn session_start_ranges(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let midnight = TimeOfDay::new(0, 0).expect("00:00 is a valid time");
        let day_range = |day: NaiveDate| {
            let from = rules::slot_at(day, midnight, self.zone);
            let until = rules::slot_at(day + TimeDelta::days(1), midnight, self.zone);
            (from - DAY_RANGE_MARGIN, until + DAY_RANGE_MARGIN)
        };
        let mut ranges: Vec<_> = self
            .session_eve
            .iter()
            .map(|s| day_range(s.date + TimeDelta::days(1)))
            .chain(self.session_day.iter().map(|s| day_range(s.date)))
            .collect();
        ranges.sort();
        ranges.dedup();
        ranges
    }

    /// For each inactivity slot date of this zone, the last-activity dates that are due.
    pub fn activity_dates(&self, settings: &Settings) -> Vec<ActivityDates> {
        self.inactivity
            .iter()
            .map(|s| ActivityDates {
                slot_date: s.date,
                exact: settings
                    .inactivity_days
                    .iter()
                    .map(|&d| s.date - TimeDelta::days(i64::from(d)))
                    .collect(),
                repeat: match (
                    settings.inactivity_repeat_days,
                    settings.inactivity_last_rung(),
                ) {
                    (Some(every), Some(max)) => Some(RepeatDates {
                        anchor: s.date - TimeDelta::days(i64::from(max)),
                        every: every.get(),
                    }),
                    _ => None,
                },
            })
            .collect()
    }
}

/// Everything that can be due at one instant, per zone: step 1 of planning.
#[derive(Debug, Clone)]
pub struct PlanWindow {
    /// The instant planned for.
    pub at: DateTime<Utc>,
    zones: HashMap<Zone, ZoneWindow>,
}

impl PlanWindow {
    /// Computes the window at `at` for the given zones (those of the students in store).
    /// Zone arithmetic is done once per zone, not per student.
    pub fn new(
        at: DateTime<Utc>,
        settings: &Settings,
        zones: impl IntoIterator<Item = Zone>,
    ) -> Self {
        let zones = zones
            .into_iter()
            .map(|zone| (zone, ZoneWindow::new(zone, at, settings)))
            .collect();
        PlanWindow { at, zones }
    }

    /// The window of `zone`: precomputed, or computed now for a zone the window was not
    /// built with (a store may name students of any zone).
    pub fn zone(&self, zone: Zone, settings: &Settings) -> Cow<'_, ZoneWindow> {
        match self.zones.get(&zone) {
            Some(w) => Cow::Borrowed(w),
            None => Cow::Owned(ZoneWindow::new(zone, self.at, settings)),
        }
    }

    /// The precomputed zone windows.
    pub fn zones(&self) -> impl Iterator<Item = &ZoneWindow> {
        self.zones.values()
    }
}

/// Lookups the decision step needs besides the candidates themselves.
pub trait Directory {
    /// The student with this id.
    fn student(&self, id: StudentId) -> Option<&Student>;
    /// The parent with this id.
    fn parent(&self, id: ParentId) -> Option<&Parent>;
    /// True when the reminder with this key was already sent (or recorded for sending).
    fn was_sent(&self, key: &ReminderKey) -> bool;
}

/// The records that may be due in a window: step 2 of planning. A superset is fine.
#[derive(Debug, Default, Clone)]
pub struct Candidates<'a> {
    /// Sessions whose start lies in a zone's [`ZoneWindow::session_start_ranges`].
    pub sessions: Vec<&'a Session>,
    /// Students whose last-activity date hits the ladder on a due inactivity date.
    pub inactivity: Vec<&'a Student>,
    /// Students of zones where a weekly digest is due.
    pub weekly: Vec<&'a Student>,
    /// Manual requests with `requested_at <= at`, and every earlier request of the same
    /// (parent, student) that the rate limit must count.
    pub manual: Vec<&'a ManualRequest>,
}

/// A reminder that is due: one line of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    /// The reminder's unique key.
    pub key: ReminderKey,
    /// The student it goes to.
    pub student: StudentId,
    /// The local date the rule was evaluated for (for manual: of `requested_at`).
    pub slot_date: NaiveDate,
    /// The slot.
    pub due_at: DateTime<Utc>,
    /// The end of its due window (`None`: never expires).
    pub due_until: Option<DateTime<Utc>>,
    /// The student's address.
    pub to: EmailAddress,
}

impl DueReminder {
    /// The reminder's kind.
    pub fn kind(&self) -> Kind {
        self.key.kind()
    }

    /// RULES.md's sort key: (`due_at`, student, kind, session, manual request).
    pub fn sort_key(
        &self,
    ) -> (
        DateTime<Utc>,
        StudentId,
        Kind,
        Option<crate::domain::SessionId>,
        Option<ManualId>,
    ) {
        (
            self.due_at,
            self.student,
            self.kind(),
            self.key.session(),
            self.key.manual(),
        )
    }
}

/// A manual request the rules refuse at the plan's instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectedRequest {
    /// The request.
    pub manual_id: ManualId,
    /// The first reason that applies.
    pub reason: Rejection,
}

/// The result of planning at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The instant planned for.
    pub at: DateTime<Utc>,
    /// Due reminders, in RULES.md's order.
    pub due: Vec<DueReminder>,
    /// Refused manual requests, by id.
    pub rejected: Vec<RejectedRequest>,
}

/// Memoises `at(D, HH:MM, zone)`: many sessions share a (zone, date, time).
#[derive(Debug, Default)]
struct SlotCache(HashMap<(Zone, NaiveDate, TimeOfDay), DateTime<Utc>>);

impl SlotCache {
    fn slot(&mut self, date: NaiveDate, time: TimeOfDay, zone: Zone) -> DateTime<Utc> {
        *self
            .0
            .entry((zone, date, time))
            .or_insert_with(|| rules::slot_at(date, time, zone))
    }
}

/// Step 3 of planning: decides which candidates are due at `window.at`, applying every rule
/// of RULES.md, and which manual requests are refused.
pub fn due_reminders<D: Directory>(
    window: &PlanWindow,
    settings: &Settings,
    candidates: &Candidates<'_>,
    directory: &D,
) -> Plan {
    let at = window.at;
    let mut due = Vec::new();
    let mut push = |key: ReminderKey, student: &Student, slot_date, w: DueWindow| {
        if w.contains(at) && !directory.was_sent(&key) {
            due.push(DueReminder {
                key,
                student: student.id,
                slot_date,
                due_at: w.start,
                due_until: w.end,
                to: student.email.clone(),
            });
        }
    };

    let mut slots = SlotCache::default();
    for session in &candidates.sessions {
        let Some(student) = directory.student(session.student_id) else {
            continue;
        };
        if !rules::session_is_eligible(session, student) {
            continue;
        }
        let zone = student.zone(settings.timezone);
        let start_date = rules::local_date(session.starts_at, zone);
        for (which, date, time) in [
            (
                SessionReminder::Eve,
                start_date - TimeDelta::days(1),
                settings.session_eve_time,
            ),
            (SessionReminder::Day, start_date, settings.session_day_time),
        ] {
            let slot = slots.slot(date, time, zone);
            let key = ReminderKey::Session {
                student: student.id,
                day: which,
                session: session.id,
                slot_date: date,
            };
            push(
                key,
                student,
                date,
                rules::session_window(slot, session, settings),
            );
        }
    }

    for student in &candidates.inactivity {
        if !rules::inactivity_is_eligible(student) {
            continue;
        }
        let zone = student.zone(settings.timezone);
        let Some(reference) = rules::inactivity_reference_date(student, zone) else {
            continue;
        };
        for s in &window.zone(zone, settings).inactivity {
            if rules::inactivity_hits_on(reference, s.date, settings) {
                let key = ReminderKey::Periodic {
                    student: student.id,
                    kind: PeriodicKind::Inactivity,
                    slot_date: s.date,
                };
                push(key, student, s.date, rules::grace_window(s.slot, settings));
            }
        }
    }

    for student in &candidates.weekly {
        if !rules::weekly_is_eligible(student) {
            continue;
        }
        let zone = student.zone(settings.timezone);
        for s in &window.zone(zone, settings).weekly {
            let key = ReminderKey::Periodic {
                student: student.id,
                kind: PeriodicKind::Weekly,
                slot_date: s.date,
            };
            push(key, student, s.date, rules::grace_window(s.slot, settings));
        }
    }

    let mut rejected = Vec::new();
    let verdicts = rules::judge_manual_requests(
        candidates.manual.iter().copied(),
        at,
        settings,
        |id| directory.parent(id),
        |id| directory.student(id),
    );
    for (request, verdict) in verdicts {
        match verdict {
            Ok(valid) => {
                let zone = valid.student.zone(settings.timezone);
                let date = rules::local_date(request.requested_at, zone);
                let window = DueWindow {
                    start: request.requested_at,
                    end: None,
                };
                push(ReminderKey::Manual(request.id), valid.student, date, window);
            }
            Err(reason) => rejected.push(RejectedRequest {
                manual_id: request.id,
                reason,
            }),
        }
    }

    // A store may name a candidate twice (say, a student in two matching buckets): the key
    // is what makes a reminder unique, so duplicates are dropped after sorting.
    due.sort_by_key(DueReminder::sort_key);
    due.dedup_by(|a, b| a.key == b.key);
    rejected.sort_by_key(|r| r.manual_id);
    rejected.dedup();
    Plan { at, due, rejected }
}
