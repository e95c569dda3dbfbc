//! The service end to end on each backend, beyond the contracts every store keeps
//! (`contract.rs`: sending, retries, failures, expiry, history, stats, cancellation):
//! opt-outs stored across imports, parents read back, explanation, manual requests under
//! concurrency, study plans and the daemon's next wake-up.

use chrono::{DateTime, Utc};
use rappels_core::domain::{Family, Kind, ParentId, StudentId, parse_instant};
use rappels_core::message::Templates;
use rappels_core::ports::Platform;
use rappels_core::scenario::Scenario;
use rappels_core::service::{RunOptions, Sender, ServiceConfig};
use rappels_core::testing::{FixedClock, MailerMode, RecordingMailer};
use rappels_sqlx::SqlStore;

use crate::harness::{backends, import};

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

pub(crate) use rappels_core::testing::SMALL_SCHOOL as SCHOOL;

fn engine(
    store: SqlStore,
    mode: MailerMode,
    now: &str,
) -> Sender<SqlStore, RecordingMailer, FixedClock> {
    rappels_core::testing::service_contract::sender(store, mode, t(now))
}

#[tokio::test]
async fn an_opt_out_is_stored_and_stops_the_family() {
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let awa = StudentId::new(1).unwrap();
        assert!(db.store.opt_out(awa, Family::Session).await.unwrap());
        assert!(!db.store.opt_out(awa, Family::Session).await.unwrap());
        assert!(
            db.store
                .opt_out(StudentId::new(99).unwrap(), Family::Weekly)
                .await
                .is_err()
        );
        let engine = engine(db.store.clone(), MailerMode::Accept, "2026-11-26T18:45:00Z");
        let (plan, _) = engine
            .reminders()
            .plan(t("2026-11-26T18:45:00Z"))
            .await
            .unwrap();
        let kinds: Vec<Kind> = plan
            .due
            .iter()
            .filter(|d| d.student == awa)
            .map(|d| d.kind())
            .collect();
        assert_eq!(kinds, [Kind::Inactivity, Kind::Manual], "{}", db.name);
        db.finish().await;
    }
}

#[tokio::test]
async fn an_unsubscribe_survives_the_next_import() {
    for db in backends().await {
        let school = Scenario::from_json(SCHOOL).unwrap();
        import(&db.store, &school).await;
        let awa = StudentId::new(1).unwrap();
        assert!(db.store.opt_out(awa, Family::Inactivity).await.unwrap());
        // The platform exports its data again, without the opt-out it never heard of.
        import(&db.store, &school).await;
        assert!(
            !db.store.opt_out(awa, Family::Inactivity).await.unwrap(),
            "{}: still recorded",
            db.name
        );
        let engine = engine(db.store.clone(), MailerMode::Accept, "2026-11-26T18:45:00Z");
        let (plan, _) = engine
            .reminders()
            .plan(t("2026-11-26T18:45:00Z"))
            .await
            .unwrap();
        assert!(
            plan.due
                .iter()
                .all(|d| !(d.student == awa && d.kind() == Kind::Inactivity)),
            "{}: the opt-out still applies after the import",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn parents_are_read_back_with_their_children_in_order() {
    for db in backends().await {
        let mut school = Scenario::from_json(SCHOOL).unwrap();
        school.parents[0].children = vec![StudentId::new(2).unwrap(), StudentId::new(1).unwrap()];
        import(&db.store, &school).await;
        let parent = db
            .store
            .parent(ParentId::new(10).unwrap())
            .await
            .unwrap()
            .expect("parent 10");
        assert_eq!(parent, school.parents[0], "{}", db.name);
        assert_eq!(
            db.store.parent(ParentId::new(11).unwrap()).await.unwrap(),
            None
        );
        db.finish().await;
    }
}

fn engine_at(store: SqlStore, now: &str) -> Sender<SqlStore, RecordingMailer, FixedClock> {
    engine(store, MailerMode::Accept, now)
}

#[tokio::test]
async fn explain_gives_the_same_answers_from_the_database_and_from_memory() {
    use rappels_core::testing::MemoryStore;
    for db in backends().await {
        let school = Scenario::from_json(SCHOOL).unwrap();
        import(&db.store, &school).await;
        let sql = engine_at(db.store.clone(), "2026-11-26T18:45:00Z");
        let memory = Sender::new(
            MemoryStore::new(school.clone()),
            RecordingMailer::default(),
            FixedClock::new(t("2026-11-26T18:45:00Z")),
            Templates::embedded(),
            ServiceConfig::default(),
        );
        sql.run(&RunOptions {
            kinds: vec![Kind::SessionEve],
            ..RunOptions::default()
        })
        .await
        .unwrap();
        memory
            .run(&RunOptions {
                kinds: vec![Kind::SessionEve],
                ..RunOptions::default()
            })
            .await
            .unwrap();
        for at in [
            "2026-11-26T18:50:00Z",
            "2026-11-27T08:30:00Z",
            "2026-11-29T19:30:00Z",
        ] {
            for student in [1, 2] {
                let student = StudentId::new(student).unwrap();
                let from_sql = sql.reminders().explain(student, t(at)).await.unwrap();
                let from_memory = memory.reminders().explain(student, t(at)).await.unwrap();
                assert_eq!(from_sql, from_memory, "{} at {at} for {student}", db.name);
                assert!(!from_sql.is_empty());
            }
        }
        let lines: Vec<String> = sql
            .reminders()
            .explain(StudentId::new(1).unwrap(), t("2026-11-26T18:50:00Z"))
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            lines.contains(&"session_eve (session 100): already sent".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"manual (request 500): due since 2026-11-26T18:00:00Z".to_owned()),
            "{lines:?}"
        );
        assert!(
            sql.reminders()
                .explain(StudentId::new(99).unwrap(), t("2026-11-26T18:50:00Z"))
                .await
                .is_err()
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn manual_requests_follow_the_rules_and_the_daily_limit() {
    use rappels_core::rules::Rejection;
    use rappels_core::service::ServiceError;
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let engine = engine_at(db.store.clone(), "2026-11-26T19:00:00Z");
        let (mariam, awa, lucas) = (
            ParentId::new(10).unwrap(),
            StudentId::new(1).unwrap(),
            StudentId::new(2).unwrap(),
        );
        let refused = |r: Result<_, ServiceError>| match r {
            Err(ServiceError::Refused(reason)) => reason,
            other => panic!("{}: expected a refusal, got {other:?}", db.name),
        };
        assert_eq!(
            refused(
                engine
                    .reminders()
                    .request_manual(mariam, lucas, "Coucou", "Tu as révisé ?")
                    .await
            ),
            Rejection::NotYourChild
        );
        assert_eq!(
            refused(
                engine
                    .reminders()
                    .request_manual(ParentId::new(99).unwrap(), awa, "a", "b")
                    .await
            ),
            Rejection::UnknownParent
        );
        assert_eq!(
            refused(
                engine
                    .reminders()
                    .request_manual(mariam, awa, "Bonne\r\nchance", "b")
                    .await
            ),
            Rejection::InvalidTitle
        );
        assert_eq!(
            refused(
                engine
                    .reminders()
                    .request_manual(mariam, awa, "Titre", "   ")
                    .await
            ),
            Rejection::InvalidMessage
        );
        // Request 500 of the scenario counts: four more today, then the limit of five.
        let mut accepted = Vec::new();
        for n in 0..4 {
            accepted.push(
                engine
                    .reminders()
                    .request_manual(mariam, awa, &format!("Rappel {n}"), "Courage !")
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            accepted.iter().map(|id| id.get()).collect::<Vec<_>>(),
            [501, 502, 503, 504],
            "{}",
            db.name
        );
        assert_eq!(
            refused(
                engine
                    .reminders()
                    .request_manual(mariam, awa, "Encore", "Courage !")
                    .await
            ),
            Rejection::RateLimited
        );
        // The accepted ones are planned for sending, the refused ones were never stored.
        let (plan, _) = engine
            .reminders()
            .plan(t("2026-11-26T19:00:00Z"))
            .await
            .unwrap();
        let manual: Vec<i64> = plan
            .due
            .iter()
            .filter_map(|d| d.key.manual())
            .map(|id| id.get())
            .collect();
        assert_eq!(manual, [500, 501, 502, 503, 504], "{}", db.name);
        assert!(plan.rejected.is_empty(), "{}: {:?}", db.name, plan.rejected);
        db.finish().await;
    }
}

#[tokio::test]
async fn study_plans_create_each_session_once_and_it_gets_reminders() {
    for db in backends().await {
        let mut school = Scenario::from_json(SCHOOL).unwrap();
        school.study_plans.push(rappels_core::domain::StudyPlan {
            id: rappels_core::domain::StudyPlanId::new(7).unwrap(),
            student_id: StudentId::new(2).unwrap(),
            weekday: rappels_core::domain::Weekday::parse("wednesday").unwrap(),
            time: rappels_core::domain::TimeOfDay::parse("17:00").unwrap(),
            subject: "Physique".into(),
            objective: "Exercices".into(),
            duration_minutes: 60,
        });
        import(&db.store, &school).await;
        let engine = engine_at(db.store.clone(), "2026-11-26T09:00:00Z");
        let created = engine.reminders().schedule_sessions(14).await.unwrap();
        let starts: Vec<_> = created.iter().map(|s| (s.id.get(), s.starts_at)).collect();
        assert_eq!(
            starts,
            [
                (102, t("2026-12-02T16:00:00Z")),
                (103, t("2026-12-09T16:00:00Z"))
            ],
            "{}",
            db.name
        );
        assert!(
            engine
                .reminders()
                .schedule_sessions(14)
                .await
                .unwrap()
                .is_empty(),
            "{}: a second run creates nothing",
            db.name
        );
        let (plan, _) = engine
            .reminders()
            .plan(t("2026-12-01T17:45:00Z"))
            .await
            .unwrap();
        assert!(
            plan.due
                .iter()
                .any(|d| d.key.to_string() == "session_eve:2:102:2026-12-01"),
            "{}: {:?}",
            db.name,
            plan.due
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn the_next_wakeup_is_the_next_slot_or_the_next_retry() {
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let engine = engine(
            db.store.clone(),
            MailerMode::Transient,
            "2026-11-26T18:45:00Z",
        );
        // Nothing waits: the next slot of either zone is 08:00 in Paris (07:00Z) tomorrow.
        assert_eq!(
            engine
                .reminders()
                .next_wakeup(t("2026-11-26T18:45:00Z"))
                .await
                .unwrap(),
            t("2026-11-27T07:00:00Z"),
            "{}",
            db.name
        );
        engine.run(&RunOptions::default()).await.unwrap();
        // Four reminders failed transiently: the first retry comes a minute later.
        assert_eq!(
            engine
                .reminders()
                .next_wakeup(t("2026-11-26T18:45:00Z"))
                .await
                .unwrap(),
            t("2026-11-26T18:46:00Z"),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

/// Issue 12 item 5: concurrent requests of one parent for one child, each through its own
/// store (its own pool, as separate `rappels remind` processes have), must not exceed the
/// daily limit: the store judges again under a lock before it inserts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_manual_requests_stop_at_the_daily_limit() {
    use rappels_core::ports::Platform;
    use rappels_core::service::ServiceError;
    const REQUESTS: usize = 16;
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let (mariam, awa) = (ParentId::new(10).unwrap(), StudentId::new(1).unwrap());
        let mut stores = Vec::new();
        for _ in 0..REQUESTS {
            stores.push(db.connect_again().await);
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(REQUESTS));
        let tasks: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, store)| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    let engine = engine_at(store, "2026-11-26T19:00:00Z");
                    barrier.wait().await;
                    engine
                        .reminders()
                        .request_manual(mariam, awa, &format!("Rappel {n}"), "Courage !")
                        .await
                })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => accepted += 1,
                // Refused whether the rules saw the limit before the write or under the
                // store's lock: the caller is told the rule either way.
                Err(ServiceError::Refused(r)) => assert_eq!(r.as_str(), "rate_limited"),
                Err(e) => panic!("{}: {e}", db.name),
            }
        }
        // Request 500 of the scenario was made the same local day: four more fit under five.
        assert_eq!(accepted, 4, "{}", db.name);
        let stored = db
            .store
            .manual_context(mariam, awa, t("2026-11-26T00:00:00Z"))
            .await
            .unwrap()
            .requests
            .len();
        assert_eq!(stored, 5, "{}", db.name);
        for store in stores {
            store.close().await;
        }
        db.finish().await;
    }
}
