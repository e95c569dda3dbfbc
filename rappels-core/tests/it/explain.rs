//! `explain` and the planner agree: what `explain` calls due for a student is exactly what
//! the plan lists for that student, and after recording it, exactly what it calls sent.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rappels_core::domain::ReminderKey;
use rappels_core::explain::{Verdict, explain_in_snapshot};
use rappels_core::snapshot::Snapshot;

use crate::strategies;

fn keys(
    snapshot: &Snapshot,
    at: chrono::DateTime<chrono::Utc>,
    want_sent: bool,
) -> BTreeSet<ReminderKey> {
    let mut out = BTreeSet::new();
    for student in &snapshot.scenario().students {
        for line in explain_in_snapshot(snapshot, student.id, at).unwrap() {
            match line.verdict {
                Verdict::Due { key, .. } if !want_sent => {
                    out.insert(key);
                }
                Verdict::AlreadySent { key } if want_sent => {
                    out.insert(key);
                }
                _ => {}
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn explain_calls_due_exactly_what_the_plan_lists((at, scenario) in strategies::planned_scenario()) {
        let mut snapshot = Snapshot::new(scenario);
        let plan = snapshot.plan(at);
        let planned: BTreeSet<ReminderKey> = plan.due.iter().map(|d| d.key).collect();
        prop_assert_eq!(keys(&snapshot, at, false), planned.clone());
        for key in &planned {
            snapshot.mark_sent(*key);
        }
        prop_assert!(keys(&snapshot, at, false).is_empty());
        let sent = keys(&snapshot, at, true);
        prop_assert!(planned.is_subset(&sent), "every recorded reminder is explained as sent");
    }
}
