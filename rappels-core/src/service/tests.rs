//! Tests of the service over the in-memory store and the recording mailer.

use super::*;
use crate::domain::{Family, ReminderKey, parse_instant};
use crate::message::Templates;
use crate::ports::Mailer;
use crate::ports::{Delivery, MailError, Outcome, Platform, ReminderLog, ReminderStatus};
use crate::scenario::Scenario;
use crate::testing::{FixedClock, MailerMode, MemoryStore, RecordingMailer};

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

use crate::testing::SMALL_SCHOOL as SCHOOL;

type Engine = Sender<MemoryStore, RecordingMailer, FixedClock>;

fn engine(mode: MailerMode, now: &str) -> Engine {
    engine_with(mode, now, None)
}

fn engine_with(mode: MailerMode, now: &str, unsubscribe: Option<UnsubscribeConfig>) -> Engine {
    let scenario = Scenario::from_json(SCHOOL).unwrap();
    let config = ServiceConfig {
        retry: RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        },
        unsubscribe,
        ..ServiceConfig::default()
    };
    Sender::new(
        MemoryStore::new(scenario),
        RecordingMailer::new(mode),
        FixedClock::new(t(now)),
        Templates::embedded(),
        config,
    )
}

#[tokio::test]
async fn a_run_sends_what_is_due_once() {
    let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    let (plan, _) = engine
        .reminders()
        .plan(t("2026-11-26T18:45:00Z"))
        .await
        .unwrap();
    let keys: Vec<String> = plan.due.iter().map(|d| d.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "inactivity:1:2026-11-26",
            "session_eve:2:101:2026-11-26",
            "manual:500",
            "session_eve:1:100:2026-11-26"
        ]
    );

    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!((report.planned, report.recorded, report.sent), (4, 4, 4));
    let sent = engine.mailer().messages();
    assert_eq!(sent.len(), 4);
    // Sending starts with the first part of the plan recorded, so the order of the
    // messages follows the parts, not the plan's order.
    let inactivity = sent
        .iter()
        .find(|e| e.message_id == "<inactivity.1.2026-11-26@rappels.localhost>")
        .unwrap();
    assert_eq!(inactivity.to.as_ref(), "awa@example.org");
    assert_eq!(inactivity.to_name, "Awa Koné");
    let eve = sent
        .iter()
        .find(|e| e.kind == Kind::SessionEve && e.student.get() == 1)
        .unwrap();
    assert!(
        eve.message.text.contains("Mathématiques"),
        "{}",
        eve.message.text
    );
    assert!(
        engine
            .store()
            .log()
            .iter()
            .all(|r| r.status == ReminderStatus::Sent)
    );

    // The same run again, or a later one in the same windows, sends nothing new.
    let again = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!((again.planned, again.recorded, again.sent), (0, 0, 0));
    engine_clock(&engine).set(t("2026-11-26T19:30:00Z"));
    let later = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(later.sent, 0);
    assert_eq!(engine.mailer().messages().len(), 4);
}

fn engine_clock(engine: &Engine) -> &FixedClock {
    engine.reminders().clock()
}

#[tokio::test]
async fn progress_follows_the_plan_and_the_outcomes() {
    let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    let seen = std::sync::Mutex::new(Vec::new());
    let report = engine
        .run_with_progress(&RunOptions::default(), &|r| {
            seen.lock()
                .unwrap()
                .push((r.recorded, r.attempted(), r.sent));
        })
        .await
        .unwrap();
    // As parts of the plan are recorded and as outcomes are written: never backwards,
    // nothing attempted before something was recorded, and everything at the end.
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen[0].0 > 0 && seen[0].1 == 0, "{seen:?}");
    assert!(
        seen.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1 && w[0].2 <= w[1].2),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|&(recorded, attempted, _)| attempted <= recorded)
    );
    assert_eq!(seen.last(), Some(&(4, 4, 4)));
    assert_eq!(report.attempted(), 4);
    // A dry run sends nothing, and so reports no progress.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let dry = engine
        .run_with_progress(
            &RunOptions {
                dry_run: true,
                ..RunOptions::default()
            },
            &|_| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .await
        .unwrap();
    assert_eq!((dry.attempted(), calls.into_inner()), (0, 0));
}

#[tokio::test]
async fn dry_run_and_kind_filter_record_only_what_they_should() {
    let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    let dry = engine
        .run(&RunOptions {
            dry_run: true,
            ..RunOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(dry.would_record.len(), 4);
    assert!(engine.store().log().is_empty());
    assert_eq!(engine.mailer().attempts(), 0);
    let only_manual = RunOptions {
        kinds: vec![Kind::Manual],
        ..RunOptions::default()
    };
    let report = engine.run(&only_manual).await.unwrap();
    assert_eq!((report.planned, report.sent), (1, 1));
    assert_eq!(engine.mailer().messages()[0].kind, Kind::Manual);
}

#[tokio::test]
async fn transient_failures_are_retried_after_the_backoff() {
    let engine = engine(MailerMode::Transient, "2026-11-26T18:45:00Z");
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!((report.sent, report.retried), (0, 4));
    let log = engine.store().log();
    assert!(
        log.iter()
            .all(|r| r.status == ReminderStatus::Pending && r.attempts == 1)
    );
    assert!(
        log.iter()
            .all(|r| r.next_attempt_at == t("2026-11-26T18:46:00Z"))
    );
    assert_eq!(
        log[0].last_error.as_deref(),
        Some("421 4.3.0 try again later")
    );

    // Before the backoff ends nothing is attempted; after it, everything goes out.
    engine_clock(&engine).set(t("2026-11-26T18:45:59Z"));
    let early = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(early.retried + early.sent, 0);
    engine.mailer().set_mode(MailerMode::Accept);
    engine_clock(&engine).set(t("2026-11-26T18:46:00Z"));
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(report.sent, 4);
    assert!(
        engine
            .store()
            .log()
            .iter()
            .all(|r| r.status == ReminderStatus::Sent && r.attempts == 2)
    );
}

#[tokio::test]
async fn permanent_failures_are_never_retried() {
    let engine = engine(MailerMode::Permanent, "2026-11-26T18:45:00Z");
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(report.failed, 4);
    engine.mailer().set_mode(MailerMode::Accept);
    engine_clock(&engine).set(t("2026-11-26T20:00:00Z"));
    let later = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(later.sent, 0);
    assert!(
        engine
            .store()
            .log()
            .iter()
            .all(|r| r.status == ReminderStatus::Failed)
    );
}

#[tokio::test]
async fn a_session_reminder_expires_once_the_session_has_started() {
    let engine = engine(MailerMode::Transient, "2026-11-26T18:45:00Z");
    engine.run(&RunOptions::default()).await.unwrap();
    // Lucas's session 101 started at 08:00Z on the 27th: its eve reminder expires.
    engine.mailer().set_mode(MailerMode::Accept);
    engine_clock(&engine).set(t("2026-11-27T08:00:00Z"));
    let report = engine.run(&RunOptions::default()).await.unwrap();
    let log = engine.store().log();
    let eve = log
        .iter()
        .find(|r| r.reminder.key.to_string() == "session_eve:2:101:2026-11-26")
        .unwrap();
    assert_eq!(eve.status, ReminderStatus::Expired);
    assert!(report.expired >= 1);
    assert!(
        engine
            .mailer()
            .messages()
            .iter()
            .all(|e| e.message_id != "<session_eve.2.101.2026-11-26@rappels.localhost>")
    );
}

#[tokio::test]
async fn a_runner_whose_lease_ended_cannot_record_an_outcome() {
    let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    let store = engine.store();
    let now = t("2026-11-26T18:45:00Z");
    let (plan, input) = engine.reminders().plan(now).await.unwrap();
    let outgoing: Vec<_> = plan
        .due
        .iter()
        .map(|d| engine.new_reminder(d, &input))
        .collect();
    store.record_due(&outgoing, now).await.unwrap();
    let first = store
        .claim("runner-a", now, TimeDelta::minutes(5), 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // Runner B takes the reminder over once A's lease has ended.
    let later = now + TimeDelta::minutes(6);
    let taken = store
        .claim("runner-b", later, TimeDelta::minutes(5), 10)
        .await
        .unwrap();
    assert!(taken.iter().any(|c| c.id == first[0].id));
    let sent = Outcome::Sent {
        message_id: "<x@y>".into(),
        at: later,
    };
    assert!(matches!(
        store.complete(&first[0], &sent, later).await,
        Err(StoreError::LeaseLost { .. })
    ));
    let b_claim = taken.iter().find(|c| c.id == first[0].id).unwrap();
    store.complete(b_claim, &sent, later).await.unwrap();
}

/// The service contract every store keeps, on the in-memory store (rappels-sqlx runs it
/// on SQLite and PostgreSQL).
#[tokio::test]
async fn the_memory_store_keeps_the_service_contract() {
    crate::testing::service_contract::service_contract(async |scenario| MemoryStore::new(scenario))
        .await;
}

#[tokio::test]
async fn stats_count_from_the_local_midnight() {
    let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    // Paris: the local day of 2026-11-26T18:45Z started at 23:00Z the day before.
    let (today, week) = stats_bounds(
        t("2026-11-26T18:45:00Z"),
        7,
        &engine.reminders().settings().await.unwrap(),
    );
    assert_eq!(today, t("2026-11-25T23:00:00Z"));
    assert_eq!(week, t("2026-11-19T23:00:00Z"));
}

#[tokio::test]
async fn an_opt_out_stops_the_family_only() {
    let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    let awa = StudentId::new(1).unwrap();
    assert!(engine.store().opt_out(awa, Family::Session).await.unwrap());
    assert!(!engine.store().opt_out(awa, Family::Session).await.unwrap());
    let (plan, _) = engine
        .reminders()
        .plan(t("2026-11-26T18:45:00Z"))
        .await
        .unwrap();
    let kinds: Vec<_> = plan
        .due
        .iter()
        .filter(|d| d.student == awa)
        .map(|d| d.kind())
        .collect();
    assert_eq!(kinds, [Kind::Inactivity, Kind::Manual]);
}

const UNSUBSCRIBE_BASE: &str = "https://rappels.example.org/";

fn unsubscribe_secret() -> crate::unsubscribe::UnsubscribeSecret {
    crate::unsubscribe::UnsubscribeSecret::new("a test secret of the school").unwrap()
}

fn with_unsubscribe() -> Option<UnsubscribeConfig> {
    Some(UnsubscribeConfig {
        secret: unsubscribe_secret(),
        base_url: UNSUBSCRIBE_BASE.to_owned(),
    })
}

fn token_of(url: &str) -> &str {
    url.strip_prefix("https://rappels.example.org/unsubscribe?token=")
        .unwrap_or_else(|| panic!("not an unsubscribe link: {url}"))
}

/// Every student of the school, with the families each has opted out of.
fn opt_outs(engine: &Engine) -> Vec<(i64, Vec<Family>)> {
    [1, 2]
        .into_iter()
        .map(|id| {
            let student = StudentId::new(id).unwrap();
            let families = [Family::Session, Family::Inactivity, Family::Weekly]
                .into_iter()
                .filter(|&f| engine.store().student_opts_out(student, f))
                .collect();
            (id, families)
        })
        .collect()
}

#[tokio::test]
async fn automatic_reminders_carry_a_signed_unsubscribe_link_and_manual_ones_none() {
    let linked = engine_with(
        MailerMode::Accept,
        "2026-11-26T18:45:00Z",
        with_unsubscribe(),
    );
    linked.run(&RunOptions::default()).await.unwrap();
    let sent = linked.mailer().messages();
    assert_eq!(sent.len(), 4);
    for email in &sent {
        match email.kind.family() {
            None => assert_eq!(email.unsubscribe_url, None, "{}", email.message_id),
            Some(family) => {
                let url = email.unsubscribe_url.as_deref().unwrap();
                let named = crate::unsubscribe::verify(&unsubscribe_secret(), token_of(url));
                assert_eq!(named, Ok((email.student, family)), "{url}");
            }
        }
    }
    assert!(sent.iter().any(|e| e.kind == Kind::Manual));

    // Without an unsubscribe configuration no e-mail carries a link.
    let plain = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
    plain.run(&RunOptions::default()).await.unwrap();
    assert!(
        plain
            .mailer()
            .messages()
            .iter()
            .all(|e| e.unsubscribe_url.is_none())
    );
}

#[tokio::test]
async fn an_unsubscribe_link_opts_out_exactly_its_family() {
    let engine = engine_with(
        MailerMode::Accept,
        "2026-11-26T18:45:00Z",
        with_unsubscribe(),
    );
    engine.run(&RunOptions::default()).await.unwrap();
    let awa = StudentId::new(1).unwrap();
    let inactivity = engine
        .mailer()
        .messages()
        .into_iter()
        .find(|e| e.kind == Kind::Inactivity && e.student == awa)
        .unwrap();
    let token = token_of(inactivity.unsubscribe_url.as_deref().unwrap()).to_owned();

    let first = engine
        .reminders()
        .unsubscribe(&with_unsubscribe().unwrap(), &token)
        .await
        .unwrap();
    assert_eq!(first, (awa, Family::Inactivity, true));
    assert_eq!(
        opt_outs(&engine),
        [(1, vec![Family::Inactivity]), (2, vec![])]
    );
    let second = engine
        .reminders()
        .unsubscribe(&with_unsubscribe().unwrap(), &token)
        .await
        .unwrap();
    assert_eq!(second, (awa, Family::Inactivity, false));
    assert_eq!(
        opt_outs(&engine),
        [(1, vec![Family::Inactivity]), (2, vec![])]
    );
}

#[tokio::test]
async fn a_tampered_or_foreign_unsubscribe_token_changes_nothing() {
    let engine = engine_with(
        MailerMode::Accept,
        "2026-11-26T18:45:00Z",
        with_unsubscribe(),
    );
    let awa = StudentId::new(1).unwrap();
    let lucas = StudentId::new(2).unwrap();
    let genuine = crate::unsubscribe::sign(&unsubscribe_secret(), awa, Family::Session);

    // Awa's signature on a payload rewritten to name Lucas.
    let (_, tag) = genuine.split_once('.').unwrap();
    let lucas_payload = crate::unsubscribe::sign(&unsubscribe_secret(), lucas, Family::Session);
    let (payload, _) = lucas_payload.split_once('.').unwrap();
    let tampered = format!("{payload}.{tag}");
    let foreign_secret =
        crate::unsubscribe::UnsubscribeSecret::new("somebody else's secret").unwrap();
    let foreign = crate::unsubscribe::sign(&foreign_secret, awa, Family::Session);
    for token in [&tampered, &foreign] {
        assert!(
            matches!(
                engine
                    .reminders()
                    .unsubscribe(&with_unsubscribe().unwrap(), token)
                    .await,
                Err(ServiceError::Unsubscribe(UnsubscribeError::BadSignature))
            ),
            "{token}"
        );
    }
    assert!(matches!(
        engine
            .reminders()
            .unsubscribe(&with_unsubscribe().unwrap(), "not a token")
            .await,
        Err(ServiceError::Unsubscribe(
            UnsubscribeError::Malformed { .. }
        ))
    ));
    assert_eq!(opt_outs(&engine), [(1, vec![]), (2, vec![])]);
}

mockall::mock! {
    Postman {}
    #[async_trait::async_trait]
    impl Mailer for Postman {
        async fn send(&self, email: &crate::ports::Email) -> Result<Delivery, MailError>;
    }
}

#[tokio::test]
async fn an_expired_reminder_never_reaches_the_mailer() {
    // Record the eve reminders at 18:45, then run only once both sessions have started.
    let first = engine(MailerMode::Transient, "2026-11-26T18:45:00Z");
    let mut postman = MockPostman::new();
    postman.expect_send().never();
    let store = MemoryStore::new(Scenario::from_json(SCHOOL).unwrap());
    let now = t("2026-11-26T18:45:00Z");
    let (plan, input) = first.reminders().plan(now).await.unwrap();
    let eves: Vec<_> = plan
        .due
        .iter()
        .filter(|d| matches!(d.key, ReminderKey::Session { .. }))
        .map(|d| first.new_reminder(d, &input))
        .collect();
    assert_eq!(eves.len(), 2);
    store.record_due(&eves, now).await.unwrap();
    let engine = Sender::new(
        store,
        postman,
        FixedClock::new(t("2026-11-28T00:00:00Z")),
        Templates::embedded(),
        ServiceConfig::default(),
    );
    let report = engine
        .run(&RunOptions {
            kinds: vec![Kind::Weekly],
            ..RunOptions::default()
        })
        .await
        .unwrap();
    assert_eq!((report.expired, report.sent), (2, 0));
}

/// Records the four reminders of the small school at 18:45 with a server that answers
/// "try later", applies `change` to the platform's data, then runs again once the retry is
/// due with a server that accepts everything: returns the log's (key, status, last error)
/// and what was sent.
async fn retried_after(
    change: impl FnOnce(&mut Scenario),
    store_change: impl AsyncFnOnce(&MemoryStore),
) -> (Vec<(String, ReminderStatus, String)>, RunReport, usize) {
    let engine = engine(MailerMode::Transient, "2026-11-26T18:45:00Z");
    let first = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!((first.recorded, first.retried), (4, 4));
    let mut scenario = Scenario::from_json(SCHOOL).unwrap();
    change(&mut scenario);
    engine.store().replace_platform(scenario);
    store_change(engine.store()).await;
    engine.mailer().set_mode(MailerMode::Accept);
    engine_clock(&engine).set(t("2026-11-26T20:00:00Z"));
    let report = engine.run(&RunOptions::default()).await.unwrap();
    let mut log: Vec<_> = engine
        .store()
        .log()
        .iter()
        .map(|r| {
            (
                r.reminder.key.to_string(),
                r.status,
                r.last_error.clone().unwrap_or_default(),
            )
        })
        .collect();
    log.sort();
    (log, report, engine.mailer().messages().len())
}

#[tokio::test]
async fn reminders_the_data_no_longer_wants_are_cancelled_at_send_time() {
    let (log, report, sent) = retried_after(
        |school| {
            // Session 100 cancelled; session 101 moved two days later; Awa came back;
            // Mariam no longer linked to Awa.
            school.sessions[0].status = crate::domain::SessionStatus::Cancelled;
            school.sessions[1].starts_at += TimeDelta::days(2);
            school.students[0].last_activity_at = Some(t("2026-11-26T19:00:00Z"));
            school.parents[0].children.clear();
        },
        async |_| {},
    )
    .await;
    let cancelled = |key: &str, why: &str| {
        let row = log.iter().find(|r| r.0 == key).unwrap();
        assert_eq!(row.1, ReminderStatus::Cancelled, "{key}: {row:?}");
        assert!(row.2.contains(why), "{key}: {row:?}");
    };
    cancelled("session_eve:1:100:2026-11-26", "the session is cancelled");
    cancelled("session_eve:2:101:2026-11-26", "moved to another day");
    cancelled("inactivity:1:2026-11-26", "active since");
    cancelled("manual:500", "not_your_child");
    assert_eq!((report.cancelled, report.sent, sent), (4, 0, 0));
}

#[tokio::test]
async fn opted_out_or_deactivated_students_get_nothing_already_recorded() {
    let (log, report, sent) = retried_after(
        |school| school.students[0].account_active = false,
        async |store| {
            // Lucas opts out of session reminders through an unsubscribe link.
            assert!(
                store
                    .opt_out(StudentId::new(2).unwrap(), Family::Session)
                    .await
                    .unwrap()
            );
        },
    )
    .await;
    let reasons: Vec<(&str, ReminderStatus, &str)> = log
        .iter()
        .map(|(k, s, e)| (k.as_str(), *s, e.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "inactivity:1:2026-11-26",
                ReminderStatus::Cancelled,
                "the student's account is inactive"
            ),
            (
                "manual:500",
                ReminderStatus::Cancelled,
                "the manual request is refused now: student_inactive (the student's account is not active)"
            ),
            (
                "session_eve:1:100:2026-11-26",
                ReminderStatus::Cancelled,
                "the student's account is inactive"
            ),
            (
                "session_eve:2:101:2026-11-26",
                ReminderStatus::Cancelled,
                "the student opted out of session reminders"
            ),
        ]
    );
    assert_eq!((report.cancelled, sent), (4, 0));
}

#[tokio::test]
async fn unchanged_data_sends_what_was_recorded() {
    let (log, report, sent) = retried_after(|_| {}, async |_| {}).await;
    assert!(log.iter().all(|r| r.1 == ReminderStatus::Sent), "{log:?}");
    assert_eq!((report.sent, report.cancelled, sent), (4, 0, 4));
}

/// A mailer whose first send stalls until the test lets it go; it counts every send.
#[derive(Default)]
struct StallingMailer {
    sends: std::sync::atomic::AtomicUsize,
    stalled: tokio::sync::Notify,
    resume: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl Mailer for StallingMailer {
    async fn send(&self, _email: &crate::ports::Email) -> Result<Delivery, MailError> {
        if self.sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            self.stalled.notify_one();
            self.resume.notified().await;
        }
        Ok(Delivery {
            reply: "250 ok".into(),
        })
    }
}

/// The small school over `mailer`, with a lease of 200 ms.
fn short_lease_engine(
    mailer: &StallingMailer,
    now: DateTime<Utc>,
) -> Sender<MemoryStore, &StallingMailer, FixedClock> {
    let config = ServiceConfig {
        lease: TimeDelta::milliseconds(200),
        ..ServiceConfig::default()
    };
    Sender::new(
        MemoryStore::new(Scenario::from_json(SCHOOL).unwrap()),
        mailer,
        FixedClock::new(now),
        Templates::embedded(),
        config,
    )
}

/// A runner stalled past half its lease while another took its claims over sends none of
/// them when it comes back (the other runner does): only the one send it had in flight
/// goes out, and its outcome is refused by the log. Half the lease is the runner's own
/// margin: it never starts a send the other runner may start too.
#[tokio::test]
async fn a_runner_stalled_past_half_its_lease_sends_none_of_its_claims() {
    let now = t("2026-11-26T18:45:00Z");
    let mailer = StallingMailer::default();
    let engine = short_lease_engine(&mailer, now);
    let take_over = async {
        mailer.stalled.notified().await;
        // Runner B, a minute later by its clock: every lease of runner A has ended.
        let taken = engine
            .store()
            .claim(
                "runner-b",
                now + TimeDelta::minutes(1),
                TimeDelta::minutes(5),
                10,
            )
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        mailer.resume.notify_one();
        taken.len()
    };
    let options = RunOptions::default();
    let (report, taken) = tokio::join!(engine.run(&options), take_over);
    let report = report.unwrap();
    assert_eq!(taken, 4, "runner B takes the four reminders over");
    assert_eq!(
        mailer.sends.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "runner A sent a claim it had lost"
    );
    assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
}

/// Claims held past half the lease by a slow send are given back, not lost: they are
/// pending again at once, and the next run sends them.
#[tokio::test]
async fn claims_given_back_by_a_slow_runner_go_to_the_next_run() {
    let now = t("2026-11-26T18:45:00Z");
    let mailer = StallingMailer::default();
    let engine = short_lease_engine(&mailer, now);
    let slow = async {
        mailer.stalled.notified().await;
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        mailer.resume.notify_one();
    };
    let options = RunOptions::default();
    let (first, ()) = tokio::join!(engine.run(&options), slow);
    assert_eq!(first.unwrap().sent, 1);
    let next = engine.run(&options).await.unwrap();
    assert_eq!((next.recorded, next.sent), (0, 3), "{next:?}");
    assert_eq!(mailer.sends.load(std::sync::atomic::Ordering::SeqCst), 4);
}
