//! `SqlStore::apply_changes`: a run of activities, applied together, leaves the database and
//! the report exactly as applying its lines one by one does; and what the feed names that
//! is not stored is reported, not written.

use rappels_core::changes::{Activity, ApplyReport, Change, Deletion};
use rappels_core::domain::{SessionId, StudentId, parse_instant};
use rappels_core::scenario::Scenario;

use crate::harness::{backends, dump, import};
use crate::service::SCHOOL;

fn activity(student: i64, at: &str) -> Change {
    Change::Activity(Activity {
        student_id: StudentId::new(student).unwrap(),
        at: parse_instant(at).unwrap(),
    })
}

/// Later, earlier and equal activities of one student, two students, an unknown one, and
/// a deletion in the middle of the run.
fn feed() -> Vec<(usize, Change)> {
    [
        activity(1, "2026-11-26T17:00:00Z"),
        activity(1, "2026-11-26T16:00:00Z"),
        activity(2, "2026-11-26T23:30:00Z"),
        activity(99, "2026-11-26T17:00:00Z"),
        activity(1, "2026-11-26T17:00:00Z"),
        Change::Delete(Deletion::Session(SessionId::new(100).unwrap())),
        activity(1, "2026-11-27T09:00:00Z"),
        activity(2, "2026-11-20T08:00:00Z"),
        activity(2, "2026-11-27T00:30:00Z"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, c)| (i + 1, c))
    .collect()
}

#[tokio::test]
async fn a_run_of_activities_applies_as_its_lines_one_by_one() {
    for together in backends().await {
        let one_by_one = match together.name {
            "sqlite" => crate::harness::sqlite().await,
            _ => crate::harness::postgres().await.expect("PostgreSQL"),
        };
        for db in [&together, &one_by_one] {
            import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        }
        let report = together.store.apply_changes(&feed()).await.unwrap();
        let mut alone = ApplyReport::default();
        for line in feed() {
            alone.extend(one_by_one.store.apply_changes(&[line]).await.unwrap());
        }
        assert_eq!(report, alone, "{}", together.name);
        assert_eq!(
            (report.written, report.unchanged),
            (5, 3),
            "{}: {report:?}",
            together.name
        );
        assert_eq!(
            report.unknown,
            [(4, "no student 99".to_owned())],
            "{}",
            together.name
        );
        assert_eq!(
            dump(&together.store).await,
            dump(&one_by_one.store).await,
            "{}",
            together.name
        );
        // Applied again, the feed writes nothing.
        let again = together.store.apply_changes(&feed()).await.unwrap();
        assert_eq!(again.written, 0, "{}: {again:?}", together.name);
        together.finish().await;
        one_by_one.finish().await;
    }
}
