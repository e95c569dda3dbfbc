//! The `Reminders` service end to end on each backend: plan, record, claim, send, retry,
//! history, stats and opt-outs.

use chrono::{DateTime, Utc};
use rappels_core::domain::{Family, Kind, ParentId, StudentId, parse_instant};
use rappels_core::message::Templates;
use rappels_core::permissions::Actor;
use rappels_core::ports::{ReminderStatus, Store};
use rappels_core::retry::RetryPolicy;
use rappels_core::scenario::Scenario;
use rappels_core::service::{Reminders, RunOptions, ServiceConfig};
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
) -> Reminders<SqlStore, RecordingMailer, FixedClock> {
    let scenario = Scenario::from_json(SCHOOL).unwrap();
    let config = ServiceConfig {
        retry: RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        },
        ..ServiceConfig::default()
    };
    Reminders::new(
        store,
        RecordingMailer::new(mode),
        FixedClock::new(t(now)),
        scenario.settings,
        Templates::embedded(),
        config,
    )
}

#[tokio::test]
async fn a_run_sends_each_due_reminder_once() {
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let engine = engine(db.store.clone(), MailerMode::Accept, "2026-11-26T18:45:00Z");
        let report = engine.run(&RunOptions::default()).await.unwrap();
        assert_eq!(
            (report.planned, report.recorded, report.sent),
            (4, 4, 4),
            "{}",
            db.name
        );
        let mails = engine.mailer().messages();
        let ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "<inactivity.1.2026-11-26@rappels.localhost>",
                "<session_eve.2.101.2026-11-26@rappels.localhost>",
                "<manual.500@rappels.localhost>",
                "<session_eve.1.100.2026-11-26@rappels.localhost>"
            ],
            "{}",
            db.name
        );
        assert!(mails[3].message.text.contains("Mathématiques"));
        // A second runner on the same database, at the same instant, finds nothing to do.
        let second = engine_on(&db.url, "2026-11-26T18:50:00Z").await;
        let again = second.run(&RunOptions::default()).await.unwrap();
        assert_eq!(
            (again.planned, again.recorded, again.sent),
            (0, 0, 0),
            "{}",
            db.name
        );

        let awa = StudentId::new(1).unwrap();
        let own = engine
            .history(&Actor::Student(awa), None, 10)
            .await
            .unwrap();
        assert_eq!(own.len(), 3);
        assert!(
            own.iter().all(|e| e.student == awa
                && e.status == ReminderStatus::Sent
                && e.sent_at.is_some())
        );
        assert!(
            own.windows(2).all(|w| w[0].due_at >= w[1].due_at),
            "newest first"
        );
        let mariam = Actor::Parent {
            id: ParentId::new(10).unwrap(),
            children: vec![awa],
        };
        assert_eq!(engine.history(&mariam, None, 10).await.unwrap().len(), 3);
        assert!(
            engine
                .history(&mariam, Some(StudentId::new(2).unwrap()), 10)
                .await
                .is_err()
        );
        assert_eq!(
            engine
                .history(&Actor::Admin { superuser: false }, None, 10)
                .await
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            engine
                .history(&Actor::Admin { superuser: false }, None, 2)
                .await
                .unwrap()
                .len(),
            2
        );

        let stats = engine.stats(7).await.unwrap();
        assert_eq!(
            (
                stats.sent_today,
                stats.sent_in_period,
                stats.pending,
                stats.failed
            ),
            (4, 4, 0, 0)
        );
        assert_eq!(stats.sent_by_kind.get(&Kind::SessionEve), Some(&2));
        db.finish().await;
    }
}

async fn engine_on(url: &str, now: &str) -> Reminders<SqlStore, RecordingMailer, FixedClock> {
    engine(
        SqlStore::connect(url).await.unwrap(),
        MailerMode::Accept,
        now,
    )
}

#[tokio::test]
async fn failures_are_retried_failed_or_expired() {
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let engine = engine(
            db.store.clone(),
            MailerMode::Transient,
            "2026-11-26T18:45:00Z",
        );
        let report = engine.run(&RunOptions::default()).await.unwrap();
        assert_eq!(report.retried, 4, "{}", db.name);
        let pending = engine.stats(1).await.unwrap().pending;
        assert_eq!(pending, 4);
        // One minute later (the first backoff), the server refuses for good.
        engine.mailer().set_mode(MailerMode::Permanent);
        let later = RunOptions {
            at: Some(t("2026-11-26T18:46:00Z")),
            ..RunOptions::default()
        };
        let report = engine.run(&later).await.unwrap();
        assert_eq!(report.failed, 4, "{}", db.name);
        let history = engine
            .history(&Actor::Admin { superuser: true }, None, 10)
            .await
            .unwrap();
        assert!(
            history
                .iter()
                .all(|e| e.status == ReminderStatus::Failed && e.attempts == 2)
        );
        assert_eq!(
            history[0].last_error.as_deref(),
            Some("550 5.1.1 mailbox unavailable")
        );
        let stats = engine.stats(1).await.unwrap();
        assert_eq!((stats.failed, stats.pending, stats.sent_today), (4, 0, 0));
        db.finish().await;
    }
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SCHOOL).unwrap()).await;
        let engine = engine(
            db.store.clone(),
            MailerMode::Transient,
            "2026-11-26T18:45:00Z",
        );
        engine.run(&RunOptions::default()).await.unwrap();
        // Lucas's session starts at 08:00Z: its eve reminder expires instead of going out late.
        engine.mailer().set_mode(MailerMode::Accept);
        let report = engine
            .run(&RunOptions {
                at: Some(t("2026-11-27T08:00:00Z")),
                ..RunOptions::default()
            })
            .await
            .unwrap();
        assert_eq!(report.expired, 1, "{}", db.name);
        assert_eq!(engine.stats(1).await.unwrap().expired, 1);
        db.finish().await;
    }
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
        let (plan, _) = engine.plan(t("2026-11-26T18:45:00Z")).await.unwrap();
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
        let (plan, _) = engine.plan(t("2026-11-26T18:45:00Z")).await.unwrap();
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
