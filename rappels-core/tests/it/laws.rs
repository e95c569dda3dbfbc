//! Laws of planning: a reminder is due on all of its window and nowhere else, re-planning
//! after recording what was due yields nothing, a title with a line break is never
//! accepted, and a valid scenario survives its JSON form.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use rappels_core::domain::{ManualId, ManualRequest};
use rappels_core::plan::DueReminder;
use rappels_core::rules::{self, Rejection};
use rappels_core::scenario::Scenario;
use rappels_core::snapshot::Snapshot;

use crate::strategies;

/// The instant a fraction `millionths / 1e6` of the way from `start` to `end`.
fn between(start: DateTime<Utc>, end: DateTime<Utc>, millionths: u32) -> DateTime<Utc> {
    let span = i128::from(
        (end - start)
            .num_nanoseconds()
            .expect("windows are at most a day"),
    );
    let part = span * i128::from(millionths) / 1_000_000;
    start + TimeDelta::nanoseconds(i64::try_from(part).expect("a part of a day"))
}

const NS: TimeDelta = TimeDelta::nanoseconds(1);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every reminder due at T is due, with the same key, slot and window, at the first and
    /// last instants of its window `[due_at, due_until)` and at a random instant inside;
    /// it is not due just before `due_at` nor at `due_until`. A manual reminder, which never
    /// expires, is still due at a random later instant up to 400 days on.
    #[test]
    fn a_reminder_is_due_on_all_of_its_window_and_nowhere_else(
        (at, scenario) in strategies::planned_scenario(),
        inside in 0u32..=1_000_000,
    ) {
        let snapshot = Snapshot::new(scenario);
        let plan = snapshot.plan(at);
        for due in &plan.due {
            let found = |t: DateTime<Utc>| -> Option<DueReminder> {
                snapshot.plan(t).due.into_iter().find(|d| d.key == due.key)
            };
            prop_assert!(due.due_at <= at, "{:?} is due at {} before its slot", due, at);
            prop_assert_eq!(found(due.due_at), Some(due.clone()), "due at its slot");
            prop_assert_eq!(found(due.due_at - NS), None, "not due just before its slot");
            prop_assert_eq!(found(due.due_at - TimeDelta::seconds(1)), None, "not due a second before its slot");
            match due.due_until {
                Some(end) => {
                    prop_assert!(at < end, "{:?} is due at {}, after its window", due, at);
                    prop_assert_eq!(found(end - NS), Some(due.clone()), "due at the last instant of its window");
                    let t = between(due.due_at, end, inside);
                    prop_assert_eq!(found(t), Some(due.clone()), "due at {} inside its window", t);
                    prop_assert_eq!(found(end), None, "not due at the end of its window");
                }
                None => {
                    let t = due.due_at + TimeDelta::seconds(i64::from(inside) * 35);
                    prop_assert_eq!(found(t), Some(due.clone()), "a manual reminder never expires ({})", t);
                }
            }
        }
    }

    /// Recording every due reminder as sent and planning again at the same instant yields
    /// nothing due (and the same rejections), whether the snapshot is updated in place or
    /// rebuilt from the recorded scenario.
    #[test]
    fn replanning_after_recording_the_due_set_yields_nothing((at, scenario) in strategies::planned_scenario()) {
        let mut snapshot = Snapshot::new(scenario);
        let first = snapshot.plan(at);
        for due in &first.due {
            snapshot.mark_sent(due.key);
        }
        let again = snapshot.plan(at);
        prop_assert_eq!(&again.due, &vec![], "due again after being sent");
        prop_assert_eq!(&again.rejected, &first.rejected);
        let rebuilt = Snapshot::new(snapshot.scenario().clone()).plan(at);
        prop_assert_eq!(rebuilt.due, vec![], "due again once the history is reloaded");
    }

    /// A valid scenario serialises and parses back to the same value.
    #[test]
    fn a_valid_scenario_survives_its_json_form((_, scenario) in strategies::planned_scenario()) {
        let json = scenario.to_json();
        prop_assert_eq!(Scenario::from_json(&json), Ok(scenario), "{}", json);
    }

    /// Given a known parent, their active child and a valid message, any title holding a CR
    /// or an LF is refused as `invalid_title`: by the rule, and in the plan.
    #[test]
    fn manual_validation_never_accepts_a_line_break_in_the_title(
        before in any::<String>(),
        line_break in prop::sample::select(vec!["\r", "\n", "\r\n", "\n\r"]),
        after in any::<String>(),
        message in "[a-zA-Z]\\PC{0,40}",
        at in strategies::plan_instant(),
    ) {
        let title = format!("{before}{line_break}{after}");
        let student = rappels_core::testing::student(1);
        let parent = rappels_core::testing::parent(10, &[1]);
        let request = ManualRequest {
            id: ManualId::new(500).unwrap(),
            parent_id: parent.id,
            student_id: student.id,
            title,
            message,
            requested_at: at,
        };
        prop_assert_eq!(
            rules::validate_manual(&request, Some(&parent), Some(&student)).map(|v| v.title),
            Err(Rejection::InvalidTitle)
        );
        let scenario = Scenario {
            students: vec![student],
            parents: vec![parent],
            manual: vec![request],
            ..Scenario::default()
        };
        let plan = Snapshot::new(scenario).plan(at);
        prop_assert!(plan.due.iter().all(|d| d.key.manual().is_none()), "{:?}", plan.due);
        let rejected: Vec<(i64, Rejection)> = plan.rejected.iter().map(|r| (r.manual_id.get(), r.reason)).collect();
        prop_assert_eq!(rejected, vec![(500, Rejection::InvalidTitle)]);
    }
}
