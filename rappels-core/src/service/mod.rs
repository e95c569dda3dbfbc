//! The `Reminders` service: the thin layer that runs the pure rules against the ports —
//! plan, render, record, claim, send, record the outcome (the sending pipeline is in
//! `run`).

mod run;
mod send;

pub use send::Sender;

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::domain::{Family, Kind, ManualId, ManualRequest, ParentId, StudentId};
use crate::explain::{self, Explanation};
use crate::message::{MessageConfig, MessageError};
use crate::permissions::{self, Actor, Denied};
use crate::plan::{self, Plan, PlanWindow};
use crate::ports::{
    History, LogEntry, MailError, NewManualRequest, OutgoingReminder, PlanInput, Platform,
    ReminderLog, Stats, StoreError,
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
    /// One-click unsubscribe links on automatic reminders, whose token their footer's link to
    /// the preference page carries too; `None` sends no such link (and the footer links to
    /// the page without a token).
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
    /// Not sent because the data no longer wanted them ([`crate::recheck`]).
    pub cancelled: usize,
    /// The run was asked to stop ([`Sender::run_until`]) before it had planned and sent
    /// everything: the rest is left for the next run.
    pub interrupted: bool,
    /// Not handled: a message that could not be rendered, or a lease lost to another runner.
    pub skipped: usize,
    /// With `dry_run`, the reminders that would be recorded.
    pub would_record: Vec<OutgoingReminder>,
}

impl RunReport {
    /// Reminders whose attempt has ended so far, whatever its outcome.
    pub fn attempted(&self) -> usize {
        self.sent + self.retried + self.failed + self.expired + self.cancelled
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
    /// An unsubscribe token was refused (altered, foreign or malformed).
    #[error(transparent)]
    Unsubscribe(#[from] UnsubscribeError),
    /// The mail server refused the session (connection, TLS, credentials, sender): no
    /// reminder was at fault, and those not yet sent stay pending for the next run.
    #[error("{0}; the reminders not sent stay pending")]
    MailSession(MailError),
}

/// The reminder engine's reading and planning side over the platform's data and the
/// reminder log: plans, history, statistics, explanations, manual requests, unsubscribes and
/// sessions from study plans. It needs no mailer nor templates (a web page that reads
/// history builds this and nothing else); sending is [`Sender`]'s.
///
/// It keeps no settings of its own: the settings in force are the store's
/// ([`Platform::settings`]), read afresh by each operation, so that every planner, runner
/// and command sharing a store plans with the same settings.
pub struct Reminders<S, C> {
    store: S,
    clock: C,
}

impl<S, C> Reminders<S, C> {
    /// The engine over `store`, whose settings it plans with, and `clock`.
    pub fn new(store: S, clock: C) -> Self {
        Reminders { store, clock }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<S: Platform, C: Clock> Reminders<S, C> {
    /// The settings in force: the store's.
    pub async fn settings(&self) -> Result<Settings, ServiceError> {
        Ok(self.store.settings().await?)
    }

    /// The plan at `at`, with the input it was computed from (for rendering subjects).
    pub async fn plan(&self, at: DateTime<Utc>) -> Result<(Plan, PlanInput), ServiceError> {
        let settings = self.settings().await?;
        let zones = self.store.zones(&settings).await?;
        let window = PlanWindow::new(at, &settings, zones);
        let input = self.store.plan_input(&window, &settings).await?;
        let plan = plan::due_reminders(&window, &settings, &input.candidates(), &input);
        Ok((plan, input))
    }

    /// Opts out the student and family that the token of an unsubscribe link names, once
    /// the token is verified against the configured secret; returns them and whether the
    /// opt-out is new (a second click changes nothing and is not an error).
    pub async fn unsubscribe(
        &self,
        config: &UnsubscribeConfig,
        token: &str,
    ) -> Result<(StudentId, Family, bool), ServiceError> {
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
        let settings = self.settings().await?;
        Ok(explain::explain_student(
            record, &sessions, &manual, at, &settings, &input,
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
        let settings = self.settings().await?;
        // A request being made has no id yet; the judgement does not read it.
        let draft = ManualRequest {
            id: ManualId::new(1).expect("a valid id"),
            parent_id: parent,
            student_id: student,
            title: title.to_owned(),
            message: message.to_owned(),
            requested_at: now,
        };
        let valid = rules::judge_new_manual_request(
            &context.requests,
            &draft,
            &settings,
            |id| context.parent.as_ref().filter(|p| p.id == id),
            |id| context.student.as_ref().filter(|s| s.id == id),
        )
        .map_err(ServiceError::Refused)?;
        let request = NewManualRequest {
            parent,
            student,
            title: valid.title,
            message: valid.message,
            requested_at: now,
        };
        let id = match self.store.add_manual_request(&request).await {
            Ok(id) => id,
            Err(StoreError::Refused(rejection)) => return Err(ServiceError::Refused(rejection)),
            Err(error) => return Err(error.into()),
        };
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
        let settings = self.settings().await?;
        let new = schedule::sessions_to_create(
            &input.plans,
            &input.students,
            &input.existing,
            now,
            days,
            &settings,
        );
        let created = self.store.add_sessions(&new).await?;
        tracing::info!(
            created = created.len(),
            days,
            "sessions scheduled from study plans"
        );
        Ok(created)
    }
}

impl<S: History, C: Clock> Reminders<S, C> {
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
}

impl<S: Platform + History, C: Clock> Reminders<S, C> {
    /// Counts: sent today (local day of the platform's zone), sent over the last `days`
    /// local days including today, and the failed, pending and expired totals.
    pub async fn stats(&self, days: u32) -> Result<Stats, ServiceError> {
        let now = self.clock.now();
        let settings = self.settings().await?;
        let (today_from, period_from) = stats_bounds(now, days, &settings);
        Ok(self.store.stats(today_from, period_from).await?)
    }
}

impl<S: Platform + ReminderLog, C: Clock> Reminders<S, C> {
    /// When a daemon should run next after `after`: the next slot of any kind in any zone,
    /// or the next retry or lease end, whichever comes first.
    pub async fn next_wakeup(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
        let settings = self.settings().await?;
        let zones = self.store.zones(&settings).await?;
        let slot = schedule::next_slot_after(after, &settings, zones);
        let retry = self.store.next_attempt_at().await?;
        Ok(match retry {
            Some(retry) => slot.min(retry.max(after)),
            None => slot,
        })
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
mod tests;
