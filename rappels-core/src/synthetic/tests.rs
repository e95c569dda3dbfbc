use std::collections::{HashMap, HashSet};

use super::*;
use crate::domain::{Family, Kind};
use crate::rules::Rejection;
use crate::snapshot::Snapshot;

fn monday() -> NaiveDate {
    "2026-11-30".parse().unwrap()
}

fn school(students: u32, seed: u64) -> SyntheticSchool {
    SyntheticSchool::new(students, seed, monday()).unwrap()
}

fn at(raw: &str) -> DateTime<Utc> {
    crate::domain::parse_instant(raw).unwrap()
}

#[test]
fn the_first_day_must_be_a_monday_in_range() {
    let err = SyntheticSchool::new(10, 1, "2026-12-01".parse().unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "2026-12-01 is a tuesday, not a monday (the data starts on a Monday, e.g. 2026-11-30)"
    );
    assert!(matches!(
        SyntheticSchool::new(10, 1, "1800-01-06".parse().unwrap()),
        Err(SyntheticError::OutOfRange(_))
    ));
    assert_eq!(
        monday_of_week("2026-12-06".parse().unwrap()),
        "2026-11-30".parse::<NaiveDate>().unwrap()
    );
    assert_eq!(monday_of_week(monday()), monday());
}

#[test]
fn same_seed_and_monday_same_school_other_seed_other_school() {
    let a = school(300, 7).scenario();
    assert_eq!(a, school(300, 7).scenario());
    assert_ne!(a, school(300, 8).scenario());
    let later = SyntheticSchool::new(300, 7, "2026-12-07".parse().unwrap()).unwrap();
    assert_ne!(a, later.scenario());
    // A record does not depend on how many come after it.
    let bigger = school(600, 7).scenario();
    assert_eq!(a.students[..290], bigger.students[..290]);
}

#[test]
fn the_school_round_trips_through_the_scenario_format() {
    let scenario = school(2000, 42).scenario();
    let json = scenario.to_json();
    let read = Scenario::from_json(&json).unwrap();
    assert_eq!(read, scenario);
}

#[test]
fn text_fields_stay_within_the_limits() {
    let scenario = school(3000, 3).scenario();
    let chars = |s: &str| s.chars().count();
    for s in &scenario.students {
        assert!((1..=100).contains(&chars(&s.first_name)), "{s:?}");
        assert!(chars(&s.last_name) <= 100, "{s:?}");
        assert!(!s.first_name.chars().any(char::is_control));
    }
    for p in &scenario.parents {
        assert!((1..=100).contains(&chars(&p.first_name)), "{p:?}");
        assert!(chars(&p.last_name) <= 100, "{p:?}");
    }
    for (subject, objective) in scenario
        .sessions
        .iter()
        .map(|s| (&s.subject, &s.objective))
        .chain(
            scenario
                .study_plans
                .iter()
                .map(|p| (&p.subject, &p.objective)),
        )
    {
        assert!((1..=200).contains(&chars(subject)), "{subject}");
        assert!(chars(objective) <= 1000, "{objective}");
    }
    for m in &scenario.manual {
        assert!(chars(&m.message) <= 5000);
    }
    for list in [
        FRANCE.first_names,
        FRANCE.last_names,
        FRANCE.adult_names,
        REUNION.last_names,
        WEST_AFRICA.first_names,
        WEST_AFRICA.last_names,
        WEST_AFRICA.adult_names,
        QUEBEC.first_names,
        QUEBEC.last_names,
        QUEBEC.adult_names,
        ANGLO.first_names,
        ANGLO.last_names,
        ANGLO.adult_names,
        INDIA.first_names,
        INDIA.last_names,
        INDIA.adult_names,
    ] {
        for name in list {
            let part = email_part(name);
            // Every letter of the names has an ASCII form: nothing is silently lost.
            assert_eq!(
                part.chars().count(),
                name.chars()
                    .filter(|c| c.is_alphanumeric() || *c == '-')
                    .count(),
                "{name}"
            );
        }
    }
}

#[test]
fn counts_and_shares_look_like_a_school() {
    let n = 20_000;
    let scenario = school(n, 11).scenario();
    let n = n as usize;
    let share = |count: usize| count as f64 / n as f64;
    assert_eq!(scenario.students.len(), n);
    // About two sessions per student.
    let per_student = scenario.sessions.len() as f64 / n as f64;
    assert!((1.8..2.2).contains(&per_student), "{per_student}");
    let closed = scenario
        .students
        .iter()
        .filter(|s| !s.account_active)
        .count();
    assert!((0.01..0.03).contains(&share(closed)), "{closed}");
    let unsubscribed = scenario
        .students
        .iter()
        .filter(|s| !s.subscription_active)
        .count();
    assert!(
        (0.07..0.13).contains(&share(unsubscribed)),
        "{unsubscribed}"
    );
    let opted_out = scenario
        .students
        .iter()
        .filter(|s| !s.opt_out.is_empty())
        .count();
    assert!((0.07..0.13).contains(&share(opted_out)), "{opted_out}");
    for family in [Family::Session, Family::Inactivity, Family::Weekly] {
        assert!(scenario.students.iter().any(|s| s.opt_out.excludes(family)));
    }
    assert!(
        scenario
            .students
            .iter()
            .any(|s| s.opt_out.entries() == [OptOut::All])
    );
    let cancelled = scenario
        .sessions
        .iter()
        .filter(|s| s.status == SessionStatus::Cancelled)
        .count();
    let cancelled = cancelled as f64 / scenario.sessions.len() as f64;
    assert!((0.08..0.12).contains(&cancelled), "{cancelled}");
    let locales: HashSet<Locale> = scenario.students.iter().map(|s| s.locale).collect();
    assert_eq!(locales.len(), 2);
    let no_zone = scenario
        .students
        .iter()
        .filter(|s| s.timezone.is_none())
        .count();
    assert!((0.07..0.13).contains(&share(no_zone)), "{no_zone}");
    // Paris, with or without an explicit zone, is the largest share; the rest spans
    // several continents.
    let mut by_zone: HashMap<&str, usize> = HashMap::new();
    for s in &scenario.students {
        *by_zone
            .entry(s.zone(scenario.settings.timezone).name())
            .or_default() += 1;
    }
    let largest = by_zone.iter().max_by_key(|(_, count)| **count).unwrap();
    assert_eq!(*largest.0, "Europe/Paris");
    let continents: HashSet<&str> = by_zone
        .keys()
        .map(|zone| zone.split('/').next().unwrap())
        .collect();
    assert!(continents.len() >= 6, "{continents:?}");
    assert!(!scenario.manual.is_empty() && !scenario.study_plans.is_empty());
    assert!(!scenario.sent.is_empty());
    assert!(scenario.manual.len() < n / 20, "{}", scenario.manual.len());
    assert_eq!(scenario.settings, Settings::default());
}

#[test]
fn parents_have_one_to_three_children_and_children_one_parent_at_most() {
    let scenario = school(5000, 5).scenario();
    let mut parent_of = HashMap::new();
    for p in &scenario.parents {
        assert!((1..=3).contains(&p.children.len()), "{p:?}");
        for &child in &p.children {
            assert_eq!(
                parent_of.insert(child, p.id),
                None,
                "{child} has two parents"
            );
        }
    }
    let first_names: HashMap<StudentId, &str> = scenario
        .students
        .iter()
        .map(|s| (s.id, s.first_name.as_str()))
        .collect();
    for p in &scenario.parents {
        let names: HashSet<&str> = p.children.iter().map(|c| first_names[c]).collect();
        assert_eq!(
            names.len(),
            p.children.len(),
            "siblings share a name: {p:?}"
        );
    }
    let orphans = scenario.students.len() - parent_of.len();
    assert!(orphans > 0);
    for size in 1..=3 {
        assert!(scenario.parents.iter().any(|p| p.children.len() == size));
    }
}

#[test]
fn activity_and_sessions_fall_where_they_should() {
    let school = school(5000, 9);
    let scenario = school.scenario();
    let as_of = school.as_of();
    assert_eq!(as_of, at("2026-12-06T00:00:00Z"));
    let forty_days_before = as_of - TimeDelta::days(40);
    let mut without_activity = 0;
    for s in &scenario.students {
        match (s.created_at, s.last_activity_at) {
            (Some(created), Some(last)) => {
                assert!(created <= last, "{s:?}");
                assert!(forty_days_before <= last && last < as_of, "{s:?}");
            }
            (Some(created), None) => {
                without_activity += 1;
                assert!(forty_days_before <= created && created < as_of, "{s:?}");
            }
            (None, last) => assert_eq!(last, None),
        }
    }
    assert!(without_activity > 0);
    let students: HashMap<StudentId, &Student> =
        scenario.students.iter().map(|s| (s.id, s)).collect();
    let last_day = monday() + TimeDelta::days(13);
    let mut completed = 0;
    for session in &scenario.sessions {
        let zone = students[&session.student_id].zone(scenario.settings.timezone);
        let local = session.starts_at.with_timezone(&zone.tz());
        assert!(
            (monday()..=last_day).contains(&local.date_naive()),
            "{session:?}"
        );
        let hour = chrono::Timelike::hour(&local);
        assert!((8..21).contains(&hour), "{session:?} starts at {local}");
        if session.status == SessionStatus::Completed {
            completed += 1;
            assert!(session.starts_at < as_of);
        }
    }
    assert!(completed > 0);
    let ids: Vec<i64> = scenario.sessions.iter().map(|s| s.id.get()).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
}

#[test]
fn every_rule_shows_up_in_the_plans() {
    let school = school(2000, 42);
    let snapshot = Snapshot::new(school.scenario());
    let kinds = |raw: &str| -> HashMap<Kind, usize> {
        let mut kinds = HashMap::new();
        for due in snapshot.plan(at(raw)).due {
            *kinds.entry(due.kind()).or_default() += 1;
        }
        kinds
    };
    // Sunday 20:00 in Paris: the weekly digest, the eves of Monday's sessions, and the
    // manual requests of the week.
    assert_eq!(school.weekly_slot(), at("2026-12-06T19:00:00Z"));
    let sunday = kinds("2026-12-06T19:00:00Z");
    assert!(sunday[&Kind::Weekly] > 50, "{sunday:?}");
    assert!(sunday[&Kind::SessionEve] > 10, "{sunday:?}");
    assert!(sunday[&Kind::Manual] > 0, "{sunday:?}");
    // Monday 08:30 and 10:00 in Paris: the mornings of sessions, then inactivity.
    let monday_morning = kinds("2026-12-07T08:30:00+01:00");
    assert!(monday_morning[&Kind::SessionDay] > 10, "{monday_morning:?}");
    let monday_ten = kinds("2026-12-07T10:00:00+01:00");
    assert!(monday_ten[&Kind::Inactivity] > 10, "{monday_ten:?}");

    let rejected: HashSet<Rejection> = snapshot
        .plan(at("2026-12-06T19:00:00Z"))
        .rejected
        .iter()
        .map(|r| r.reason)
        .collect();
    for reason in [
        Rejection::NotYourChild,
        Rejection::InvalidTitle,
        Rejection::InvalidMessage,
        Rejection::UnknownStudent,
        Rejection::UnknownParent,
        Rejection::RateLimited,
    ] {
        assert!(rejected.contains(&reason), "{reason} missing: {rejected:?}");
    }
}

#[test]
fn history_holds_only_requests_before_the_first_monday() {
    let school = school(30_000, 4);
    let scenario = school.scenario();
    let requests: HashMap<ManualId, &ManualRequest> =
        scenario.manual.iter().map(|m| (m.id, m)).collect();
    assert!(!scenario.sent.is_empty());
    // A day of margin: "before" is judged at midnight in the child's zone.
    let monday = at("2026-11-30T00:00:00Z");
    for key in &scenario.sent {
        let ReminderKey::Manual(id) = key else {
            panic!("only manual history: {key}")
        };
        assert!(requests[id].requested_at < monday + TimeDelta::days(1));
    }
    // Some of the requests were refused because the child's account is closed.
    let plan = Snapshot::new(scenario).plan(at("2026-12-14T00:00:00Z"));
    assert!(
        plan.rejected
            .iter()
            .any(|r| r.reason == Rejection::StudentInactive)
    );
}

#[test]
fn an_empty_or_tiny_school_is_still_valid() {
    for n in 0..4 {
        let scenario = school(n, 1).scenario();
        assert_eq!(scenario.students.len(), n as usize);
        Scenario::from_json(&scenario.to_json()).unwrap();
    }
}
