//! The `Reminders` service: the thin layer that runs the pure rules against the ports —
//! plan, render, record, claim, send, record the outcome (the sending pipeline is in
//! `run`).

mod run;

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::domain::{Family, Kind, ManualId, ManualRequest, ParentId, StudentId};
use crate::explain::{self, Explanation};
use crate::message::{MessageConfig, MessageError, MessageSource, Templates};
use crate::permissions::{self, Actor, Denied};
use crate::plan::{self, DueReminder, Plan, PlanWindow};
use crate::ports::{
    LogEntry, MailError, Mailer, NewManualRequest, OutgoingReminder, PlanInput, Stats, Store,
    StoreError,
};
use crate::retry::RetryPolicy;
use crate::rules;
use crate::schedule;
use crate::settings::Settings;
use crate::unsubscribe::{self, UnsubscribeError};

pub use crate::unsubscribe::UnsubscribeConfig;

/// How a runner behaves.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// This runner's id, written in the leases it takes; unique per process.
    pub runner_id: String,
    /// How long a claim protects a reminder from other runners.
    pub lease: TimeDelta,
    /// Reminders claimed at a time.
    pub batch_size: usize,
    /// The right-hand side of Message-IDs (`rappels.example.org`).
    pub message_id_domain: String,
    /// Retries and expiry.
    pub retry: RetryPolicy,
    /// Links in messages.
    pub messages: MessageConfig,
    /// One-click unsubscribe links on automatic reminders; `None` sends no such link.
    pub unsubscribe: Option<UnsubscribeConfig>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            runner_id: "rappels".to_owned(),
            lease: TimeDelta::minutes(5),
            batch_size: 100,
            message_id_domain: "rappels.localhost".to_owned(),
            retry: RetryPolicy::default(),
            messages: MessageConfig::default(),
            unsubscribe: None,
        }
    }
}

/// What a run should do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Plan and send as if it were this instant (default: the clock's now).
    pub at: Option<DateTime<Utc>>,
    /// Plan and render only: record and send nothing.
    pub dry_run: bool,
    /// Only plan these kinds (empty: all). Reminders already recorded are sent whatever
    /// their kind.
    pub kinds: Vec<Kind>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The instant planned for.
    pub at: Option<DateTime<Utc>>,
    /// Due reminders found by the plan (after the kind filter).
    pub planned: usize,
    /// Of those, newly recorded in the log (others were recorded by an earlier run).
    pub recorded: usize,
    /// Accepted by the mail server.
    pub sent: usize,
    /// Failed transiently and rescheduled.
    pub retried: usize,
    /// Failed for good.
    pub failed: usize,
    /// Not sent because their moment had passed.
    pub expired: usize,
    /// Not handled: a message that could not be rendered, or a lease lost to another runner.
    pub skipped: usize,
    /// With `dry_run`, the reminders that would be recorded.
    pub would_record: Vec<OutgoingReminder>,
}

impl RunReport {
    /// Reminders whose attempt has ended so far, whatever its outcome.
    pub fn attempted(&self) -> usize {
        self.sent + self.retried + self.failed + self.expired
    }
}

/// A failure of the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A message could not be built.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The actor may not do this.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A manual request the rules refuse.
    #[error("manual reminder refused: {} ({})", .0.as_str(), .0.explain())]
    Refused(rules::Rejection),
    /// An unsubscribe was asked of a service that has no unsubscribe secret.
    #[error("unsubscribe links are not configured: no unsubscribe secret was given")]
    UnsubscribeNotConfigured,
    /// An unsubscribe token was refused (altered, foreign or malformed).
    #[error(transparent)]
    Unsubscribe(#[from] UnsubscribeError),
    /// The mail server refused the session (connection, TLS, credentials, sender): no
    /// reminder was at fault, and those not yet sent stay pending for the next run.
    #[error("{0}; the reminders not sent stay pending")]
    MailSession(MailError),
}

/// The reminder engine over a store, a mailer and a clock.
pub struct Reminders<S, M, C> {
    store: S,
    mailer: M,
    clock: C,
    settings: Settings,
    templates: Templates,
    config: ServiceConfig,
}

impl<S: Store, M: Mailer, C: Clock> Reminders<S, M, C> {
    /// Assembles the engine.
    pub fn new(
        store: S,
        mailer: M,
        clock: C,
        settings: Settings,
        templates: Templates,
        config: ServiceConfig,
    ) -> Self {
        Reminders {
            store,
            mailer,
            clock,
            settings,
            templates,
            config,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The mailer.
    pub fn mailer(&self) -> &M {
        &self.mailer
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The plan at `at`, with the input it was computed from (for rendering subjects).
    pub async fn plan(&self, at: DateTime<Utc>) -> Result<(Plan, PlanInput), ServiceError> {
        let zones = self.store.zones(&self.settings).await?;
        let window = PlanWindow::new(at, &self.settings, zones);
        let input = self.store.plan_input(&window, &self.settings).await?;
        let plan = plan::due_reminders(&window, &self.settings, &input.candidates(), &input);
        Ok((plan, input))
    }

    /// Builds the log entry of a due reminder: its message and its expiry.
    pub fn prepare(
        &self,
        due: &DueReminder,
        source: &impl MessageSource,
    ) -> Result<OutgoingReminder, ServiceError> {
        let student = source.student(due.student).ok_or(StoreError::NotFound {
            what: "student",
            id: due.student.get(),
        })?;
        let session_start = due
            .key
            .session()
            .and_then(|id| source.session(id))
            .map(|s| s.starts_at);
        Ok(OutgoingReminder {
            key: due.key,
            student: due.student,
            slot_date: due.slot_date,
            due_at: due.due_at,
            expires_at: self
                .config
                .retry
                .expires_at(due.kind(), due.due_at, session_start),
            to: due.to.clone(),
            to_name: student.full_name(),
            locale: student.locale,
            message: self
                .templates
                .render(due, source, &self.settings, &self.config.messages)?,
        })
    }

    /// The reminders `actor` may read, newest first; `student` narrows a parent's or an
    /// admin's view to one student.
    pub async fn history(
        &self,
        actor: &Actor,
        student: Option<StudentId>,
        limit: usize,
    ) -> Result<Vec<LogEntry>, ServiceError> {
        let scope = permissions::history_scope(actor, student)?;
        Ok(self.store.history(&scope, limit).await?)
    }

    /// Opts out the student and family that the token of an unsubscribe link names, once
    /// the token is verified against the configured secret; returns them and whether the
    /// opt-out is new (a second click changes nothing and is not an error).
    pub async fn unsubscribe(
        &self,
        token: &str,
    ) -> Result<(StudentId, Family, bool), ServiceError> {
        let config = self
            .config
            .unsubscribe
            .as_ref()
            .ok_or(ServiceError::UnsubscribeNotConfigured)?;
        let (student, family) = unsubscribe::verify(&config.secret, token)?;
        let changed = self.store.opt_out(student, family).await?;
        tracing::info!(%student, family = family.as_str(), changed, "unsubscribed");
        Ok((student, family, changed))
    }

    /// Why each reminder of `student` is or is not due at `at` (see [`crate::explain`]).
    pub async fn explain(
        &self,
        student: StudentId,
        at: DateTime<Utc>,
    ) -> Result<Vec<Explanation>, ServiceError> {
        let (before, after) = explain::SESSION_HORIZON;
        let input = self
            .store
            .explain_input(student, at - before, at + after + TimeDelta::seconds(1), at)
            .await?
            .ok_or(StoreError::NotFound {
                what: "student",
                id: student.get(),
            })?;
        let record = input.students.get(&student).ok_or(StoreError::NotFound {
            what: "student",
            id: student.get(),
        })?;
        let sessions: Vec<&crate::domain::Session> = input.sessions.values().collect();
        let manual: Vec<&crate::domain::ManualRequest> = input.manual.values().collect();
        Ok(explain::explain_student(
            record,
            &sessions,
            &manual,
            at,
            &self.settings,
            &input,
        ))
    }

    /// A parent's manual reminder to their child, made now: judged by RULES.md's rules
    /// (parent, student, family, active account, title, message, daily limit, in that order)
    /// and stored only when accepted. The next run sends it.
    pub async fn request_manual(
        &self,
        parent: ParentId,
        student: StudentId,
        title: &str,
        message: &str,
    ) -> Result<ManualId, ServiceError> {
        let now = self.clock.now();
        // The rate limit counts per local day; two days back covers every zone's today.
        let context = self
            .store
            .manual_context(parent, student, now - TimeDelta::days(2))
            .await?;
        // The new request is judged after the earlier ones, with an id that sorts last
        // among requests of the same instant.
        let candidate = ManualRequest {
            id: ManualId::new(i64::MAX).expect("a valid id"),
            parent_id: parent,
            student_id: student,
            title: title.to_owned(),
            message: message.to_owned(),
            requested_at: now,
        };
        let verdicts = rules::judge_manual_requests(
            context.requests.iter().chain([&candidate]),
            now,
            &self.settings,
            |id| context.parent.as_ref().filter(|p| p.id == id),
            |id| context.student.as_ref().filter(|s| s.id == id),
        );
        let (_, verdict) = verdicts
            .into_iter()
            .find(|(request, _)| std::ptr::eq(*request, &candidate))
            .expect("the new request is judged");
        let valid = verdict.map_err(ServiceError::Refused)?;
        let request = NewManualRequest {
            parent,
            student,
            title: valid.title,
            message: valid.message,
            requested_at: now,
        };
        let id = self.store.add_manual_request(&request).await?;
        tracing::info!(%id, %parent, %student, "manual reminder accepted");
        Ok(id)
    }

    /// Creates the sessions of the study plans for the next `days` local dates (the original
    /// `programmer_sessions`); running it again creates nothing new.
    pub async fn schedule_sessions(
        &self,
        days: u32,
    ) -> Result<Vec<crate::domain::Session>, ServiceError> {
        let now = self.clock.now();
        // A day of margin on each side covers every zone's local dates.
        let from = now - TimeDelta::days(1);
        let until = now + TimeDelta::days(i64::from(days) + 1);
        let input = self.store.schedule_input(from, until).await?;
        let new = schedule::sessions_to_create(
            &input.plans,
            &input.students,
            &input.existing,
            now,
            days,
            &self.settings,
        );
        let created = self.store.add_sessions(&new).await?;
        tracing::info!(
            created = created.len(),
            days,
            "sessions scheduled from study plans"
        );
        Ok(created)
    }

    /// When a daemon should run next after `after`: the next slot of any kind in any zone,
    /// or the next retry or lease end, whichever comes first.
    pub async fn next_wakeup(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
        let zones = self.store.zones(&self.settings).await?;
        let slot = schedule::next_slot_after(after, &self.settings, zones);
        let retry = self.store.next_attempt_at().await?;
        Ok(match retry {
            Some(retry) => slot.min(retry.max(after)),
            None => slot,
        })
    }

    /// Counts: sent today (local day of the platform's zone), sent over the last `days`
    /// local days including today, and the failed, pending and expired totals.
    pub async fn stats(&self, days: u32) -> Result<Stats, ServiceError> {
        let now = self.clock.now();
        let (today_from, period_from) = stats_bounds(now, days, &self.settings);
        Ok(self.store.stats(today_from, period_from).await?)
    }
}

/// The instants where "today" and "the last `days` days" start, in the platform's zone.
pub fn stats_bounds(
    now: DateTime<Utc>,
    days: u32,
    settings: &Settings,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let zone = settings.timezone;
    let today = rules::local_date(now, zone);
    let midnight = crate::domain::TimeOfDay::new(0, 0).expect("00:00 is a valid time");
    let first = today - TimeDelta::days(i64::from(days.max(1)) - 1);
    (
        rules::slot_at(today, midnight, zone),
        rules::slot_at(first, midnight, zone),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Family, ReminderKey, parse_instant};
    use crate::ports::{Delivery, MailError, Outcome, ReminderStatus};
    use crate::scenario::Scenario;
    use crate::testing::{FixedClock, MailerMode, MemoryStore, RecordingMailer};

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    use crate::testing::SMALL_SCHOOL as SCHOOL;

    type Engine = Reminders<MemoryStore, RecordingMailer, FixedClock>;

    fn engine(mode: MailerMode, now: &str) -> Engine {
        engine_with(mode, now, None)
    }

    fn engine_with(mode: MailerMode, now: &str, unsubscribe: Option<UnsubscribeConfig>) -> Engine {
        let scenario = Scenario::from_json(SCHOOL).unwrap();
        let settings = scenario.settings.clone();
        let config = ServiceConfig {
            retry: RetryPolicy {
                jitter: 0.0,
                ..RetryPolicy::default()
            },
            unsubscribe,
            ..ServiceConfig::default()
        };
        Reminders::new(
            MemoryStore::new(scenario),
            RecordingMailer::new(mode),
            FixedClock::new(t(now)),
            settings,
            Templates::embedded(),
            config,
        )
    }

    #[tokio::test]
    async fn a_run_sends_what_is_due_once() {
        let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
        let (plan, _) = engine.plan(t("2026-11-26T18:45:00Z")).await.unwrap();
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
        &engine.clock
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
        let (plan, input) = engine.plan(now).await.unwrap();
        let outgoing: Vec<_> = plan
            .due
            .iter()
            .map(|d| engine.prepare(d, &input).unwrap())
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

    #[tokio::test]
    async fn history_follows_permissions_and_stats_count_the_log() {
        let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
        engine.run(&RunOptions::default()).await.unwrap();
        let awa = StudentId::new(1).unwrap();
        let lucas = StudentId::new(2).unwrap();
        let own = engine
            .history(&Actor::Student(awa), None, 50)
            .await
            .unwrap();
        assert_eq!(own.len(), 3);
        assert!(own.iter().all(|e| e.student == awa));
        assert!(
            own.windows(2).all(|w| w[0].due_at >= w[1].due_at),
            "newest first"
        );
        assert!(matches!(
            engine.history(&Actor::Student(awa), Some(lucas), 50).await,
            Err(ServiceError::Denied(_))
        ));
        let mariam = Actor::Parent {
            id: crate::domain::ParentId::new(10).unwrap(),
            children: vec![awa],
        };
        assert_eq!(engine.history(&mariam, None, 50).await.unwrap().len(), 3);
        assert!(engine.history(&mariam, Some(lucas), 50).await.is_err());
        let admin = Actor::Admin { superuser: false };
        assert_eq!(engine.history(&admin, None, 50).await.unwrap().len(), 4);

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
        // Paris: the local day of 2026-11-26T18:45Z started at 23:00Z the day before.
        let (today, week) = stats_bounds(t("2026-11-26T18:45:00Z"), 7, engine.settings());
        assert_eq!(today, t("2026-11-25T23:00:00Z"));
        assert_eq!(week, t("2026-11-19T23:00:00Z"));
    }

    #[tokio::test]
    async fn an_opt_out_stops_the_family_only() {
        let engine = engine(MailerMode::Accept, "2026-11-26T18:45:00Z");
        let awa = StudentId::new(1).unwrap();
        assert!(engine.store().opt_out(awa, Family::Session).await.unwrap());
        assert!(!engine.store().opt_out(awa, Family::Session).await.unwrap());
        let (plan, _) = engine.plan(t("2026-11-26T18:45:00Z")).await.unwrap();
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

        let first = engine.unsubscribe(&token).await.unwrap();
        assert_eq!(first, (awa, Family::Inactivity, true));
        assert_eq!(
            opt_outs(&engine),
            [(1, vec![Family::Inactivity]), (2, vec![])]
        );
        let second = engine.unsubscribe(&token).await.unwrap();
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
                    engine.unsubscribe(token).await,
                    Err(ServiceError::Unsubscribe(UnsubscribeError::BadSignature))
                ),
                "{token}"
            );
        }
        assert!(matches!(
            engine.unsubscribe("not a token").await,
            Err(ServiceError::Unsubscribe(
                UnsubscribeError::Malformed { .. }
            ))
        ));
        // A service with no secret refuses even a genuine token.
        let unconfigured = engine_with(MailerMode::Accept, "2026-11-26T18:45:00Z", None);
        assert!(matches!(
            unconfigured.unsubscribe(&genuine).await,
            Err(ServiceError::UnsubscribeNotConfigured)
        ));
        assert_eq!(opt_outs(&engine), [(1, vec![]), (2, vec![])]);
        assert_eq!(opt_outs(&unconfigured), [(1, vec![]), (2, vec![])]);
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
        let (plan, input) = first.plan(now).await.unwrap();
        let eves: Vec<_> = plan
            .due
            .iter()
            .filter(|d| matches!(d.key, ReminderKey::Session { .. }))
            .map(|d| first.prepare(d, &input).unwrap())
            .collect();
        assert_eq!(eves.len(), 2);
        store.record_due(&eves, now).await.unwrap();
        let engine = Reminders::new(
            store,
            postman,
            FixedClock::new(t("2026-11-28T00:00:00Z")),
            Settings::default(),
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
}
