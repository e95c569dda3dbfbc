//! The sending pipeline of `Reminders::run`: several sends really in flight at once, each
//! reminder delivered once, a lease lost while a batch is in flight recorded as nothing, and a
//! failed mail session leaving every reminder pending.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::parse_instant;
use rappels_core::message::Templates;
use rappels_core::ports::{Delivery, Email, MailError, Mailer, ReminderStatus};
use rappels_core::scenario::Scenario;
use rappels_core::service::{RunOptions, Sender, ServiceConfig, ServiceError};
use rappels_core::testing::{
    FixedClock, MailerMode, MemoryStore, RecordingMailer, synthetic_platform,
};

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

/// A Sunday evening of the synthetic platform: weekly digests in the zones where it is 20:00
/// or a little later, inactivity reminders further east, session reminders, hundreds due.
const SUNDAY: &str = "2026-11-29T19:05:00Z";

fn school() -> Scenario {
    synthetic_platform(3_000, t("2026-11-25T12:00:00Z"))
}

/// A mailer of `width` connections whose first `width` sends wait for each other, so the run
/// can only get past them with `width` sends in flight at once; it records the most seen in
/// flight and every Message-ID it accepts.
struct Gated {
    width: usize,
    gate: tokio::sync::Barrier,
    in_flight: AtomicUsize,
    most: AtomicUsize,
    accepted: Mutex<Vec<String>>,
    /// Called after a given number of sends has started, once.
    on_send: Option<(usize, Box<dyn Fn() + Send + Sync>)>,
    started: AtomicUsize,
}

impl Gated {
    fn new(width: usize) -> Self {
        Gated {
            width,
            gate: tokio::sync::Barrier::new(width),
            in_flight: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            accepted: Mutex::new(Vec::new()),
            on_send: None,
            started: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Mailer for Gated {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let started = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        if started <= self.width {
            self.gate.wait().await;
        }
        if let Some((after, action)) = &self.on_send
            && started == *after
        {
            action();
        }
        tokio::task::yield_now().await;
        self.accepted.lock().unwrap().push(email.message_id.clone());
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(Delivery {
            reply: "250 ok".to_owned(),
        })
    }

    fn concurrency(&self) -> usize {
        self.width
    }
}

fn engine<M: Mailer, C: rappels_core::clock::Clock>(
    mailer: M,
    clock: C,
) -> Sender<MemoryStore, M, C> {
    Sender::new(
        MemoryStore::new(school()),
        mailer,
        clock,
        Templates::embedded(),
        ServiceConfig {
            batch_size: 16,
            ..ServiceConfig::default()
        },
    )
}

async fn bounded<T>(what: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), what)
        .await
        .expect("the run ended (a run that cannot reach its concurrency waits forever)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sends_are_in_flight_and_each_reminder_goes_out_once() {
    let engine = engine(Gated::new(4), FixedClock::new(t(SUNDAY)));
    let report = bounded(engine.run(&RunOptions::default())).await.unwrap();
    let accepted = engine.mailer().accepted.lock().unwrap().clone();
    assert!(report.recorded > 200, "{report:?}");
    assert_eq!(report.sent, report.recorded);
    assert_eq!(accepted.len(), report.sent);
    let distinct: HashSet<&String> = accepted.iter().collect();
    assert_eq!(distinct.len(), accepted.len(), "a reminder was sent twice");
    // The gate lets the first four through only together: four were in flight at once,
    // and never more than the mailer's concurrency.
    assert_eq!(engine.mailer().most.load(Ordering::SeqCst), 4);
    let log = engine.store().log();
    assert_eq!(log.len(), report.recorded);
    assert!(log.iter().all(|r| r.status == ReminderStatus::Sent));
    let by_key: HashMap<String, usize> = log
        .iter()
        .map(|r| (r.message_id.clone().unwrap(), 1))
        .collect();
    assert!(accepted.iter().all(|id| by_key.contains_key(id)));

    // Nothing is left: a second run plans and sends nothing.
    let again = bounded(engine.run(&RunOptions::default())).await.unwrap();
    assert_eq!((again.recorded, again.sent), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_connection_mailer_gets_one_send_at_a_time() {
    let engine = engine(Gated::new(1), FixedClock::new(t(SUNDAY)));
    let report = bounded(engine.run(&RunOptions::default())).await.unwrap();
    assert!(report.sent > 200);
    assert_eq!(engine.mailer().most.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_stalled_past_its_lease_records_nothing_for_the_claims_it_lost() {
    // While the run is sending, its clock jumps past the lease (a runner frozen for ten
    // minutes): the outcomes still in hand can no longer be recorded.
    let clock = std::sync::Arc::new(FixedClock::new(t(SUNDAY)));
    let jump = clock.clone();
    let mut mailer = Gated::new(4);
    mailer.on_send = Some((40, Box::new(move || jump.advance(TimeDelta::minutes(10)))));
    let engine = engine(mailer, clock);
    let report = bounded(engine.run(&RunOptions::default())).await.unwrap();
    // The outcomes in hand at the jump could not be recorded: nothing was written for them,
    // so their rows stayed claimed under the lost lease and, once it had ended, were claimed
    // and sent again (the same run did it here, as another runner would have): each such
    // message went out twice, with the same Message-ID. Every other reminder went out once.
    assert!(report.skipped > 0, "{report:?}");
    let accepted = engine.mailer().accepted.lock().unwrap().clone();
    let distinct: HashSet<&String> = accepted.iter().collect();
    assert_eq!(
        accepted.len() - distinct.len(),
        report.skipped,
        "{report:?}"
    );
    let log = engine.store().log();
    assert_eq!(distinct.len(), log.len());
    assert!(log.iter().all(|r| r.status == ReminderStatus::Sent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_finishes_its_sends_gives_back_its_claims_and_the_next_run_does_the_rest() {
    // A SIGTERM arrives once 40 sends have started.
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = stop.clone();
    let mut mailer = Gated::new(4);
    mailer.on_send = Some((40, Box::new(move || signal.notify_one())));
    let engine = engine(mailer, FixedClock::new(t(SUNDAY)));
    let (plan, _) = engine.reminders().plan(t(SUNDAY)).await.unwrap();
    let due = plan.due.len();
    let report = bounded(engine.run_until(&RunOptions::default(), &|_| {}, stop.notified()))
        .await
        .unwrap();
    assert!(report.interrupted, "{report:?}");
    let accepted = engine.mailer().accepted.lock().unwrap().clone();
    // Every send in flight at the signal was finished and its outcome recorded.
    assert!(
        report.sent >= 40 && report.sent < due,
        "{report:?} of {due}"
    );
    assert_eq!(accepted.len(), report.sent);
    let log = engine.store().log();
    let count = |status| log.iter().filter(|r| r.status == status).count();
    assert_eq!(count(ReminderStatus::Sent), report.sent);
    // The claims not tried were given back, not left leased: nothing is "sending".
    assert_eq!(count(ReminderStatus::Sending), 0);
    assert!(
        log.iter()
            .filter(|r| r.status == ReminderStatus::Pending)
            .all(|r| r.attempts == 0)
    );
    // So a run at the same instant (within any lease) takes them at once and, planning
    // again, records the rest: every reminder goes out exactly once.
    let again = bounded(engine.run(&RunOptions::default())).await.unwrap();
    assert!(!again.interrupted);
    let accepted = engine.mailer().accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), due);
    let distinct: HashSet<&String> = accepted.iter().collect();
    assert_eq!(distinct.len(), due, "a reminder was sent twice");
    assert!(
        engine
            .store()
            .log()
            .iter()
            .all(|r| r.status == ReminderStatus::Sent)
    );
}

#[tokio::test]
async fn a_failed_mail_session_stops_the_run_and_leaves_every_reminder_pending() {
    let engine = engine(
        RecordingMailer::new(MailerMode::Session),
        FixedClock::new(t(SUNDAY)),
    );
    let error = bounded(engine.run(&RunOptions::default()))
        .await
        .unwrap_err();
    assert!(matches!(error, ServiceError::MailSession(_)), "{error}");
    assert!(error.to_string().contains("535"), "{error}");
    // One attempt reached the server; no reminder is failed, retried or left claimed.
    assert_eq!(engine.mailer().attempts(), 1);
    let log = engine.store().log();
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|r| r.status == ReminderStatus::Pending && r.attempts == 0),
        "{:?}",
        log.iter()
            .map(|r| (r.status, r.attempts))
            .collect::<Vec<_>>()
    );
    // The whole plan was recorded all the same, and once the server takes mail again the
    // next run sends it all.
    assert!(log.len() > 200, "{}", log.len());
    engine.mailer().set_mode(MailerMode::Accept);
    let report = bounded(engine.run(&RunOptions::default())).await.unwrap();
    assert_eq!((report.recorded, report.sent), (0, log.len()));
    let log = engine.store().log();
    assert!(log.iter().all(|r| r.status == ReminderStatus::Sent));
}

#[tokio::test]
async fn record_plans_and_records_without_sending_and_run_sends_it_later() {
    let engine = engine(
        RecordingMailer::new(MailerMode::Accept),
        FixedClock::new(t(SUNDAY)),
    );
    let recorded = engine.record(&RunOptions::default()).await.unwrap();
    assert!(recorded.recorded > 200, "{recorded:?}");
    assert_eq!(engine.mailer().attempts(), 0);
    let log = engine.store().log();
    assert_eq!(log.len(), recorded.recorded);
    assert!(log.iter().all(|r| r.status == ReminderStatus::Pending));
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!((report.recorded, report.sent), (0, recorded.recorded));
}

/// Records Sunday's plan, then changes the platform's data as an import would before the
/// run that sends it.
async fn recorded_then_changed(
    change: impl FnOnce(&mut Scenario),
) -> Sender<MemoryStore, RecordingMailer, FixedClock> {
    let engine = engine(
        RecordingMailer::new(MailerMode::Accept),
        FixedClock::new(t(SUNDAY)),
    );
    engine.record(&RunOptions::default()).await.unwrap();
    let mut scenario = school();
    change(&mut scenario);
    engine.store().replace_platform(scenario);
    engine
}

#[tokio::test]
async fn a_message_is_built_at_send_time_from_the_data_as_it_is_then() {
    let engine = recorded_then_changed(|_| {}).await;
    let first = engine.store().log()[0].reminder;
    let engine = recorded_then_changed(|scenario| {
        let student = scenario
            .students
            .iter_mut()
            .find(|s| s.id == first.student)
            .unwrap();
        student.first_name = "Renamed".to_owned();
        student.email = rappels_core::domain::EmailAddress::parse("moved@example.org").unwrap();
    })
    .await;
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(report.failed, 0);
    let sent: Vec<_> = engine
        .mailer()
        .messages()
        .into_iter()
        .filter(|e| e.student == first.student)
        .collect();
    assert!(!sent.is_empty());
    for email in &sent {
        assert_eq!(email.to.as_ref(), "moved@example.org");
        assert!(
            email.message.text.contains("Renamed"),
            "{}",
            email.message.text
        );
    }
    // The log keeps what was sent: the subject of each message, in history.
    for row in engine.store().log() {
        let envelope = row.envelope.expect("a sent reminder keeps its message");
        let email = engine
            .mailer()
            .messages()
            .into_iter()
            .find(|e| {
                e.message_id
                    .contains(&row.reminder.key.to_string().replace(':', "."))
            })
            .unwrap();
        assert_eq!(envelope.message, email.message);
    }
}

#[tokio::test]
async fn a_reminder_whose_student_is_gone_is_cancelled_without_reaching_the_mailer() {
    let engine = recorded_then_changed(|_| {}).await;
    let gone = engine.store().log()[0].reminder.student;
    let engine = recorded_then_changed(|scenario| {
        scenario.students.retain(|s| s.id != gone);
        scenario.sessions.retain(|s| s.student_id != gone);
        scenario.manual.retain(|m| m.student_id != gone);
        scenario.study_plans.retain(|p| p.student_id != gone);
        for parent in &mut scenario.parents {
            parent.children.retain(|&c| c != gone);
        }
    })
    .await;
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert!(report.cancelled >= 1, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(engine.mailer().messages().iter().all(|e| e.student != gone));
    for row in engine.store().log() {
        if row.reminder.student == gone {
            // The send-time re-check finds the student (or their request) gone.
            assert_eq!(row.status, ReminderStatus::Cancelled);
            let error = row.last_error.unwrap();
            assert!(
                error == "the student was removed" || error == "the manual request was removed",
                "{error}"
            );
        } else {
            assert_eq!(row.status, ReminderStatus::Sent);
        }
    }
}

#[tokio::test]
async fn the_memory_store_keeps_the_store_contract() {
    rappels_core::testing::contract::store_contract(async |scenario| MemoryStore::new(scenario))
        .await;
}
