//! The service over any store: what a run sends, how it retries, fails and expires, how
//! history and statistics read the log, and what a send-time re-check cancels, as one
//! suite. Core runs it on [`super::MemoryStore`] and rappels-sqlx on SQLite and PostgreSQL,
//! so the service cannot behave differently on one of them; [`super::contract`] holds the
//! store's own contract, port by port.
//!
//! Each check gets a fresh store holding [`super::SMALL_SCHOOL`] from the caller's factory
//! and panics, naming itself, when the service misbehaves on it.

use chrono::{DateTime, Utc};

use crate::domain::{Family, Kind, ParentId, StudentId, parse_instant};
use crate::message::Templates;
use crate::permissions::Actor;
use crate::ports::{ReminderStatus, Store};
use crate::retry::RetryPolicy;
use crate::scenario::Scenario;
use crate::service::{RunOptions, Sender, ServiceConfig};
use crate::testing::{FixedClock, MailerMode, RecordingMailer};

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).expect("a valid instant")
}

fn awa() -> StudentId {
    StudentId::new(1).expect("a valid id")
}

fn lucas() -> StudentId {
    StudentId::new(2).expect("a valid id")
}

/// The instant the checks start at: the evening of 26 November 2026, when the small school
/// has four reminders due (two eve reminders, an inactivity reminder, a manual one).
const NOW: &str = "2026-11-26T18:45:00Z";

/// A sender over `store` whose mailer answers as `mode`, on a clock stopped at `now`, with
/// no retry jitter so that attempt times are exact: the sender of every check here, and of
/// the service tests of other stores.
pub fn sender<S: Store>(
    store: S,
    mode: MailerMode,
    now: DateTime<Utc>,
) -> Sender<S, RecordingMailer, FixedClock> {
    let config = ServiceConfig {
        retry: RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        },
        ..ServiceConfig::default()
    };
    Sender::new(
        store,
        RecordingMailer::new(mode),
        FixedClock::new(now),
        Templates::embedded(),
        config,
    )
}

fn at(instant: &str) -> RunOptions {
    RunOptions {
        at: Some(t(instant)),
        ..RunOptions::default()
    }
}

/// Runs every check, each against a fresh store from `fresh`.
pub async fn service_contract<S: Store>(fresh: impl AsyncFn(Scenario) -> S) {
    let school = || Scenario::from_json(super::SMALL_SCHOOL).expect("the small school");
    a_run_sends_what_is_due_once_and_reads_it_back(fresh(school()).await).await;
    failures_are_retried_then_failed(fresh(school()).await).await;
    a_reminder_past_its_moment_expires(fresh(school()).await).await;
    an_opt_out_cancels_what_was_recorded(fresh(school()).await).await;
}

async fn a_run_sends_what_is_due_once_and_reads_it_back<S: Store>(store: S) {
    let what = "a_run_sends_what_is_due_once_and_reads_it_back";
    let engine = sender(store, MailerMode::Accept, t(NOW));
    let report = engine.run(&RunOptions::default()).await.expect("run");
    assert_eq!(
        (report.planned, report.recorded, report.sent),
        (4, 4, 4),
        "{what}"
    );
    // Sending follows the parts of the plan as they are recorded: compare as a set.
    let mails = engine.mailer().messages();
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "<inactivity.1.2026-11-26@rappels.localhost>",
            "<manual.500@rappels.localhost>",
            "<session_eve.1.100.2026-11-26@rappels.localhost>",
            "<session_eve.2.101.2026-11-26@rappels.localhost>",
        ],
        "{what}"
    );
    let maths = mails
        .iter()
        .find(|m| m.message_id == "<session_eve.1.100.2026-11-26@rappels.localhost>")
        .expect("Awa's eve reminder");
    assert!(maths.message.text.contains("Mathématiques"), "{what}");
    // The same instant again, or a later one in the same windows, sends nothing new.
    for instant in [NOW, "2026-11-26T19:30:00Z"] {
        let again = engine.run(&at(instant)).await.expect("run again");
        assert_eq!(
            (again.planned, again.recorded, again.sent),
            (0, 0, 0),
            "{what}: {instant}"
        );
    }

    let reminders = engine.reminders();
    let own = reminders
        .history(&Actor::Student(awa()), None, 10)
        .await
        .expect("history");
    assert_eq!(own.len(), 3, "{what}");
    assert!(
        own.iter()
            .all(|e| e.student == awa() && e.status == ReminderStatus::Sent && e.sent_at.is_some()),
        "{what}: {own:?}"
    );
    assert!(
        own.windows(2).all(|w| w[0].due_at >= w[1].due_at),
        "{what}: newest first"
    );
    let mariam = Actor::Parent {
        id: ParentId::new(10).expect("a valid id"),
        children: vec![awa()],
    };
    let children = reminders.history(&mariam, None, 10).await.expect("history");
    assert_eq!(children.len(), 3, "{what}");
    assert!(
        reminders.history(&mariam, Some(lucas()), 10).await.is_err(),
        "{what}: a parent reads only their children's history"
    );
    let admin = Actor::Admin { superuser: false };
    let all = |limit| reminders.history(&admin, None, limit);
    assert_eq!(all(10).await.expect("history").len(), 4, "{what}");
    assert_eq!(all(2).await.expect("history").len(), 2, "{what}: the limit");

    let stats = reminders.stats(7).await.expect("stats");
    assert_eq!(
        (
            stats.sent_today,
            stats.sent_in_period,
            stats.pending,
            stats.failed
        ),
        (4, 4, 0, 0),
        "{what}"
    );
    assert_eq!(
        stats.sent_by_kind.get(&Kind::SessionEve),
        Some(&2),
        "{what}"
    );
}

async fn failures_are_retried_then_failed<S: Store>(store: S) {
    let what = "failures_are_retried_then_failed";
    let engine = sender(store, MailerMode::Transient, t(NOW));
    let report = engine.run(&RunOptions::default()).await.expect("run");
    assert_eq!(report.retried, 4, "{what}");
    assert_eq!(
        engine.reminders().stats(1).await.expect("stats").pending,
        4,
        "{what}"
    );
    // One minute later (the first backoff), the server refuses for good.
    engine.mailer().set_mode(MailerMode::Permanent);
    let report = engine.run(&at("2026-11-26T18:46:00Z")).await.expect("run");
    assert_eq!(report.failed, 4, "{what}");
    let history = engine
        .reminders()
        .history(&Actor::Admin { superuser: true }, None, 10)
        .await
        .expect("history");
    assert!(
        history
            .iter()
            .all(|e| e.status == ReminderStatus::Failed && e.attempts == 2),
        "{what}: {history:?}"
    );
    assert_eq!(
        history[0].last_error.as_deref(),
        Some("550 5.1.1 mailbox unavailable"),
        "{what}"
    );
    let stats = engine.reminders().stats(1).await.expect("stats");
    assert_eq!(
        (stats.failed, stats.pending, stats.sent_today),
        (4, 0, 0),
        "{what}"
    );
}

async fn a_reminder_past_its_moment_expires<S: Store>(store: S) {
    let what = "a_reminder_past_its_moment_expires";
    let engine = sender(store, MailerMode::Transient, t(NOW));
    engine.run(&RunOptions::default()).await.expect("run");
    // Lucas's session starts at 08:00Z: its eve reminder expires instead of going out late.
    engine.mailer().set_mode(MailerMode::Accept);
    let report = engine.run(&at("2026-11-27T08:00:00Z")).await.expect("run");
    assert_eq!(report.expired, 1, "{what}");
    assert_eq!(
        engine.reminders().stats(1).await.expect("stats").expired,
        1,
        "{what}"
    );
}

async fn an_opt_out_cancels_what_was_recorded<S: Store>(store: S) {
    let what = "an_opt_out_cancels_what_was_recorded";
    let engine = sender(store, MailerMode::Transient, t(NOW));
    assert_eq!(
        engine
            .run(&RunOptions::default())
            .await
            .expect("run")
            .retried,
        4
    );
    // Lucas unsubscribes from session reminders; his eve reminder is in the log.
    assert!(
        engine
            .store()
            .opt_out(lucas(), Family::Session)
            .await
            .expect("opt out"),
        "{what}"
    );
    engine.mailer().set_mode(MailerMode::Accept);
    let report = engine.run(&at("2026-11-26T19:00:00Z")).await.expect("run");
    assert_eq!((report.sent, report.cancelled), (3, 1), "{what}");
    assert!(
        engine
            .mailer()
            .messages()
            .iter()
            .all(|m| m.student != lucas()),
        "{what}"
    );
    let history = engine
        .reminders()
        .history(&Actor::Admin { superuser: true }, None, 10)
        .await
        .expect("history");
    let eve = history
        .iter()
        .find(|e| e.student == lucas())
        .expect("Lucas's eve reminder");
    assert_eq!(eve.status, ReminderStatus::Cancelled, "{what}");
    assert_eq!(
        eve.last_error.as_deref(),
        Some("the student opted out of session reminders"),
        "{what}"
    );
    let stats = engine.reminders().stats(1).await.expect("stats");
    assert_eq!((stats.cancelled, stats.pending), (1, 0), "{what}");
}
