//! What the benchmarks share: the synthetic school they plan for, the instants they plan at,
//! and the naive planner they compare the indexed one with.
//!
//! The naive planner reads RULES.md the way the original Django command did: every student
//! and every session, one by one, with the zone arithmetic done per record. It uses core's
//! rule functions, so it finds the same reminders; what it lacks is the design of
//! `rappels_core::plan` (a window computed once per zone, candidates found through indexes).
//! The benchmarks show what that design buys.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::{Kind, Student, StudentId, parse_instant};
use rappels_core::plan::Plan;
use rappels_core::rules;
use rappels_core::scenario::Scenario;
use rappels_core::synthetic::SyntheticSchool;

/// The instants of the benchmarks, in the week of the synthetic school: the three busiest of
/// a school in Paris and a quiet one.
pub const INSTANTS: [(&str, &str); 4] = [
    ("sunday_20h_paris", "2026-11-29T19:05:00Z"),
    ("monday_08h_paris", "2026-11-30T07:05:00Z"),
    ("monday_10h_paris", "2026-11-30T09:05:00Z"),
    ("tuesday_03h_paris", "2026-12-01T02:00:00Z"),
];

/// An instant of [`INSTANTS`].
pub fn instant(text: &str) -> DateTime<Utc> {
    parse_instant(text).expect("the benchmarks' instants are valid")
}

/// The synthetic school of `students` students the benchmarks plan for: what `rappels
/// gen-scenario --students N --seed 42 --from 2026-11-23` writes.
pub fn school(students: u32) -> Scenario {
    let monday = "2026-11-23".parse().expect("a valid date");
    SyntheticSchool::new(students, 42, monday)
        .expect("2026-11-23 is a Monday")
        .scenario()
}

/// Counts of due reminders per automatic kind, to compare planners.
pub fn automatic_counts(plan: &Plan) -> HashMap<Kind, usize> {
    let mut counts = HashMap::new();
    for due in plan.due.iter().filter(|d| d.kind() != Kind::Manual) {
        *counts.entry(due.kind()).or_insert(0) += 1;
    }
    counts
}

/// The naive planner: how many reminders of each automatic kind are due at `at`, found by
/// looking at every student and every session with per-record zone arithmetic. Sent keys
/// are not consulted (the benchmark's school has none).
pub fn naive_counts(scenario: &Scenario, at: DateTime<Utc>) -> HashMap<Kind, usize> {
    let settings = &scenario.settings;
    let mut counts: HashMap<Kind, usize> = HashMap::new();
    let students: HashMap<StudentId, &Student> =
        scenario.students.iter().map(|s| (s.id, s)).collect();
    for student in &scenario.students {
        let zone = student.zone(settings.timezone);
        let first = rules::local_date(at - settings.grace(), zone) - TimeDelta::days(1);
        let last = rules::local_date(at, zone);
        for date in first.iter_days().take_while(|d| *d <= last) {
            if rules::inactivity_is_eligible(student)
                && let Some(reference) = rules::inactivity_reference_date(student, zone)
                && rules::inactivity_ladder_hits((date - reference).num_days(), settings)
                && rules::grace_window(
                    rules::slot_at(date, settings.inactivity_time, zone),
                    settings,
                )
                .contains(at)
            {
                *counts.entry(Kind::Inactivity).or_insert(0) += 1;
            }
            if rules::weekly_is_eligible(student)
                && rules::is_weekly_date(date, settings)
                && rules::grace_window(rules::slot_at(date, settings.weekly_time, zone), settings)
                    .contains(at)
            {
                *counts.entry(Kind::Weekly).or_insert(0) += 1;
            }
        }
    }
    for session in &scenario.sessions {
        let Some(student) = students.get(&session.student_id) else {
            continue;
        };
        if !rules::session_is_eligible(session, student) {
            continue;
        }
        let zone = student.zone(settings.timezone);
        let day = rules::local_date(session.starts_at, zone);
        for (kind, date, time) in [
            (
                Kind::SessionEve,
                day - TimeDelta::days(1),
                settings.session_eve_time,
            ),
            (Kind::SessionDay, day, settings.session_day_time),
        ] {
            let slot = rules::slot_at(date, time, zone);
            if rules::session_window(slot, session, settings).contains(at) {
                *counts.entry(kind).or_insert(0) += 1;
            }
        }
    }
    counts
}
