//! `Reminders::run`, the original `envoyer_rappels` as a pipeline: planning, rendering and
//! recording run beside the senders, which keep [`Mailer::concurrency`] messages in flight,
//! while a recorder writes their outcomes in batched transactions.
//!
//! ```text
//!  store.plan_parts ──parts──► decide + render ──► record_due (one transaction a part)
//!                                                       │ "more recorded"
//!                                                       ▼
//!  store.claim (a batch) ──► sender × concurrency ──outcomes──► complete_many (a batch)
//! ```
//!
//! Memory is bounded by the part size, the claim batch and the outcomes waiting for their
//! transaction, whatever the number due. Every guarantee of the claim protocol holds as
//! before: a reminder is sent only in the first half of its lease (a runner stalled past
//! that gives its claims back instead), and an outcome is recorded only while the lease is
//! held (`complete_many` checks it per claim and reports a lost one).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt, future, stream};

use super::{Reminders, RunOptions, RunReport, Sender, ServiceError};
use crate::clock::Clock;
use crate::domain::Kind;
use crate::message::{MessageConfig, Templates};
use crate::plan::{self, PlanWindow};
use crate::ports::{
    Claim, Email, MailError, Mailer, NewReminder, Outcome, OutgoingReminder, PlanParts, Platform,
    Recorded, Store, WeeklyDue,
};
use crate::recheck;
use crate::retry::AfterFailure;
use crate::settings::Settings;

/// Candidates a store hands over at a time: big enough that a part is a few queries, small
/// enough that its records and rendered messages stay a few megabytes.
const PART_SIZE: usize = 2_000;

/// Outcomes recorded in one transaction at most; fewer when the senders are slower than the
/// database (the recorder takes whatever is waiting).
const OUTCOMES_PER_TRANSACTION: usize = 512;

/// Outcomes that may wait for their transaction, per connection: enough that the senders
/// keep going while the recorder commits, few enough that a crash repeats only a handful of
/// messages (see `send_claimed`).
const OUTCOME_QUEUE_FACTOR: usize = 4;

/// The run's notion of now: the clock's, read afresh for every claim, attempt and outcome,
/// so that leases and expiry follow the real time a long run takes; or, for a run `--at` an
/// instant (a replay, a test, the demo), that instant throughout, so that what it records
/// is the same on every machine.
struct RunClock<'a, C> {
    at: Option<DateTime<Utc>>,
    clock: &'a C,
}

impl<C: Clock> RunClock<'_, C> {
    fn now(&self) -> DateTime<Utc> {
        self.at.unwrap_or_else(|| self.clock.now())
    }

    /// The monotonic clock, which runs on under `--at` too (see `lease_too_old`).
    fn monotonic(&self) -> Duration {
        self.clock.monotonic()
    }
}

/// What the planner, the senders and the recorder share.
#[derive(Default)]
struct Shared {
    /// The settings in force, read from the store once at the start of the run.
    settings: Settings,
    report: Mutex<RunReport>,
    /// Set when the run must stop early: no new claim is taken nor sent.
    stop: AtomicBool,
    /// Set when a store failure stopped the run: planning stops too. (A mail session
    /// failure lets planning finish, so that everything due is recorded for the next run
    /// even if the server stays away past the catch-up window.)
    stop_planning: AtomicBool,
    /// The first failure that stopped the run.
    failure: Mutex<Option<ServiceError>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn planning_stopped(&self) -> bool {
        self.stop_planning.load(Ordering::SeqCst)
    }

    /// Stops the run without a failure (a signal asked it to stop): no new claim is taken
    /// and planning stops; the sends in flight end and are recorded, the other claims are
    /// given back.
    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stop_planning.store(true, Ordering::SeqCst);
        self.update(|r| r.interrupted = true);
    }

    /// Stops the run, keeping the first failure.
    fn fail(&self, error: ServiceError) {
        self.stop.store(true, Ordering::SeqCst);
        if !matches!(error, ServiceError::MailSession(_)) {
            self.stop_planning.store(true, Ordering::SeqCst);
        }
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            *failure = Some(error);
        }
    }

    fn update(&self, change: impl FnOnce(&mut RunReport)) {
        change(&mut lock(&self.report));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How one claimed reminder ended in the senders' hands.
enum Attempt {
    /// An outcome to record.
    Done(Outcome),
    /// Not attempted (the run is stopping, or the mail session failed): give it back.
    Release,
}

impl<S: Platform, C: Clock> Reminders<S, C> {
    /// The plan at `at` with the subject of each due reminder (`None` where it cannot be
    /// rendered), read from the store part by part as a run does, so that only the plan and
    /// its subjects are held at the end, never every candidate's records: what `rappels plan
    /// --db` prints. The plan equals [`Reminders::plan`]'s.
    pub async fn plan_with_subjects(
        &self,
        at: DateTime<Utc>,
        templates: &Templates,
        messages: &MessageConfig,
    ) -> Result<(plan::Plan, Vec<Option<String>>), ServiceError> {
        let settings = &self.settings().await?;
        let zones = self.store.zones(settings).await?;
        let window = PlanWindow::new(at, settings, zones);
        let (parts, mut incoming) = PlanParts::channel(1);
        let window = &window;
        let read = self.store.plan_parts(window, settings, PART_SIZE, parts);
        let decide = async move {
            let mut lines = Vec::new();
            let mut rejected = Vec::new();
            while let Some(input) = incoming.next().await {
                let part = plan::due_reminders(window, settings, &input.candidates(), &input);
                rejected.extend(part.rejected);
                for due in part.due {
                    let subject = match templates.subject(&due, &input, settings, messages) {
                        Ok(subject) => Some(subject),
                        Err(error) => {
                            tracing::warn!(key = %due.key, %error, "cannot render the subject");
                            None
                        }
                    };
                    lines.push((due, subject));
                }
            }
            (lines, rejected)
        };
        let (read, (mut lines, mut rejected)) = future::join(read, decide).await;
        read?;
        lines.sort_by_key(|(due, _)| due.sort_key());
        lines.dedup_by(|a, b| a.0.key == b.0.key);
        rejected.sort_by_key(|r| r.manual_id);
        rejected.dedup();
        let (due, subjects) = lines.into_iter().unzip();
        Ok((plan::Plan { at, due, rejected }, subjects))
    }
}

impl<S: Store, M: Mailer, C: Clock> Sender<S, M, C> {
    /// One run of the original `envoyer_rappels`: plan, record what is due, then claim and
    /// send every pending reminder whose attempt time has come. Safe to overlap with other
    /// runs: the log's unique key and the leases make each reminder go out once.
    pub async fn run(&self, options: &RunOptions) -> Result<RunReport, ServiceError> {
        self.run_with_progress(options, &|_| {}).await
    }

    /// [`Reminders::run`], calling `progress` with the report so far as parts of the plan are
    /// recorded and outcomes are written, so that a caller can draw a progress bar over a
    /// long run (a Sunday digest to every student). The report's `recorded` grows as the
    /// plan is recorded; reminders rescheduled by earlier runs come on top of it.
    ///
    /// Sending starts as soon as the first part of the plan is recorded. A failure of the
    /// mail session ([`MailError::is_session`]) stops the sending: the messages in flight
    /// end and are recorded, the other claims are released, the rest of the plan is still
    /// recorded (so nothing due is missed if the server stays away past the catch-up
    /// window), and the run returns [`ServiceError::MailSession`].
    pub async fn run_with_progress(
        &self,
        options: &RunOptions,
        progress: &(dyn Fn(&RunReport) + Sync),
    ) -> Result<RunReport, ServiceError> {
        self.run_until(options, progress, future::pending()).await
    }

    /// [`Sender::run_with_progress`], stopping gracefully when `stop` completes (a SIGTERM):
    /// no new claim is taken and planning stops; the messages in flight are finished and
    /// their outcomes recorded; the claims not yet tried are given back at once
    /// ([`crate::ports::ReminderLog::release`]), so that another runner can take them
    /// without waiting for their lease to end. The run then returns its report, with
    /// `interrupted` set; what it did not record or send is left for the next run.
    pub async fn run_until(
        &self,
        options: &RunOptions,
        progress: &(dyn Fn(&RunReport) + Sync),
        stop: impl Future<Output = ()> + Send,
    ) -> Result<RunReport, ServiceError> {
        let at = options.at.unwrap_or_else(|| self.reminders.clock.now());
        if options.dry_run {
            return self.dry_run(at, options).await;
        }
        let clock = RunClock {
            at: options.at,
            clock: &self.reminders.clock,
        };
        let shared = Shared {
            settings: self.reminders.settings().await?,
            ..Shared::default()
        };
        shared.update(|r| r.at = Some(at));
        let (recorded_tx, recorded_rx) = mpsc::unbounded();
        let planning = async {
            if let Err(error) = self
                .plan_and_record(at, options, &shared, recorded_tx, progress)
                .await
            {
                shared.fail(error);
            }
        };
        let sending = self.send_claimed(&clock, &shared, recorded_rx, progress);
        let work = std::pin::pin!(future::join(planning, sending));
        let stop = std::pin::pin!(stop);
        if let future::Either::Right(((), work)) = future::select(work, stop).await {
            shared.halt();
            tracing::info!("stopping: finishing the messages in flight, giving back the rest");
            work.await;
        }
        if let Some(error) = lock(&shared.failure).take() {
            return Err(error);
        }
        let report = std::mem::take(&mut *lock(&shared.report));
        Ok(report)
    }

    /// The first half of a run: plans and records what is due at `options.at`
    /// (default: now), part by part, and sends nothing; a later [`Reminders::run`] (here or
    /// in another process) sends it. Also what the benchmarks time as "planning and
    /// recording".
    pub async fn record(&self, options: &RunOptions) -> Result<RunReport, ServiceError> {
        let at = options.at.unwrap_or_else(|| self.reminders.clock.now());
        if options.dry_run {
            return self.dry_run(at, options).await;
        }
        let shared = Shared {
            settings: self.reminders.settings().await?,
            ..Shared::default()
        };
        shared.update(|r| r.at = Some(at));
        let (recorded, _) = mpsc::unbounded();
        self.plan_and_record(at, options, &shared, recorded, &|_| {})
            .await?;
        let report = std::mem::take(&mut *lock(&shared.report));
        Ok(report)
    }

    /// Plans and renders everything due, recording nothing.
    async fn dry_run(
        &self,
        at: DateTime<Utc>,
        options: &RunOptions,
    ) -> Result<RunReport, ServiceError> {
        let (plan, input) = self.reminders.plan(at).await?;
        let settings = self.reminders.settings().await?;
        let mut report = RunReport {
            at: Some(at),
            ..RunReport::default()
        };
        for due in plan.due.iter().filter(|d| options.wants(d.kind())) {
            report.planned += 1;
            match self.prepare(due, &input, &settings) {
                Ok(reminder) => report.would_record.push(reminder),
                Err(error) => {
                    tracing::warn!(key = %due.key, %error, "its message could not be built");
                    report.skipped += 1;
                }
            }
        }
        Ok(report)
    }

    /// Reads the plan part by part, decides each part, and records it in one transaction
    /// (messages are built at send time); says "more recorded" to the senders after each part. Returns (dropping
    /// `recorded`) when the plan is recorded, or at the first failure, or when the run stops.
    async fn plan_and_record(
        &self,
        at: DateTime<Utc>,
        options: &RunOptions,
        shared: &Shared,
        recorded: mpsc::UnboundedSender<()>,
        progress: &(dyn Fn(&RunReport) + Sync),
    ) -> Result<(), ServiceError> {
        let settings = &shared.settings;
        let store = self.store();
        let zones = store.zones(settings).await?;
        let window = PlanWindow::new(at, settings, zones);
        // A store that records the weekly digests itself (one statement a step instead of
        // every student read, decided and written back) does so after the other kinds,
        // which are fewer and more pressing: an eve reminder before its session.
        let weekly_in_store = store.records_weekly();
        let (parts, mut incoming) = PlanParts::channel(1);
        let parts = if weekly_in_store {
            parts.without_weekly()
        } else {
            parts
        };
        let window = &window;
        let read = store.plan_parts(window, settings, PART_SIZE, parts);
        // The block owns `incoming`: when it ends, early or not, the store stops reading.
        let notify = &recorded;
        let record = async move {
            while let Some(input) = incoming.next().await {
                if shared.planning_stopped() {
                    break;
                }
                let plan = plan::due_reminders(window, settings, &input.candidates(), &input);
                let entries: Vec<NewReminder> = plan
                    .due
                    .iter()
                    .filter(|d| options.wants(d.kind()))
                    .map(|due| self.new_reminder(due, &input))
                    .collect();
                drop(input);
                let new = if entries.is_empty() {
                    0
                } else {
                    store.record_due(&entries, at).await?
                };
                shared.update(|r| {
                    r.planned += entries.len();
                    r.recorded += new;
                    progress(r);
                });
                if new > 0 {
                    // The senders may be gone (they stopped): nothing to tell then.
                    let _ = notify.unbounded_send(());
                }
            }
            Ok::<_, ServiceError>(())
        };
        let (read, record) = future::join(read, record).await;
        record?;
        read?;
        if weekly_in_store && options.wants(Kind::Weekly) {
            self.record_weekly_in_store(window, shared, &recorded, progress)
                .await?;
        }
        let report = lock(&shared.report);
        tracing::info!(planned = report.planned, recorded = report.recorded, at = %crate::domain::format_instant(at), "plan recorded");
        Ok(())
    }

    /// The weekly digests due at `window`, recorded by the store itself zone by zone
    /// ([`crate::ports::ReminderLog::record_weekly`]): core decides each zone's date, slot
    /// and expiry, the store applies the student's part of the rule.
    async fn record_weekly_in_store(
        &self,
        window: &PlanWindow,
        shared: &Shared,
        recorded: &mpsc::UnboundedSender<()>,
        progress: &(dyn Fn(&RunReport) + Sync),
    ) -> Result<(), ServiceError> {
        let after_step = |step: Recorded| {
            shared.update(|r| {
                r.planned += step.planned;
                r.recorded += step.recorded;
                progress(r);
            });
            if step.recorded > 0 {
                let _ = recorded.unbounded_send(());
            }
            !shared.planning_stopped()
        };
        for zone in window.zones() {
            for slot in &zone.weekly {
                if shared.planning_stopped() {
                    return Ok(());
                }
                let due = WeeklyDue {
                    zone: zone.zone,
                    slot_date: slot.date,
                    due_at: slot.slot,
                    expires_at: self.config.retry.expires_at(Kind::Weekly, slot.slot, None),
                };
                self.store()
                    .record_weekly(&due, window.at, &after_step)
                    .await?;
            }
        }
        Ok(())
    }

    /// Claims what can be sent, batch after batch, and keeps `concurrency` sends in flight;
    /// their outcomes go to a recorder that writes them in batched transactions. Ends when
    /// nothing is left to claim and the planner has finished, or when the run stops.
    async fn send_claimed(
        &self,
        clock: &RunClock<'_, C>,
        shared: &Shared,
        recorded: mpsc::UnboundedReceiver<()>,
        progress: &(dyn Fn(&RunReport) + Sync),
    ) {
        let concurrency = self.mailer.concurrency().max(1);
        let batch = self.config.batch_size.max(2 * concurrency);
        let feed = ClaimFeed {
            buffer: VecDeque::new(),
            recorded,
            planning_done: false,
        };
        let claims = stream::unfold(feed, move |mut feed| async move {
            let claim = self.next_claim(&mut feed, clock, shared, batch).await?;
            Some((claim, feed))
        });
        // Outcomes wait for their transaction in a bounded queue: when the recorder is
        // behind, the senders wait rather than send on. What a crash can repeat is what the
        // server accepted and the log does not say yet: the sends in flight (concurrency),
        // one more waiting to enter the queue, the outcomes queued and those being written
        // (each at most the queue's capacity, OUTCOME_QUEUE_FACTOR × concurrency + 1): at
        // most 9 × concurrency + 3 messages (39 for four connections), never the backlog.
        let (done_tx, done_rx) =
            mpsc::channel::<(Claim, Attempt)>(OUTCOME_QUEUE_FACTOR * concurrency);
        let send = claims
            .map(|ready| async move {
                let attempt = self.attempt(&ready, clock, shared).await;
                (ready.claim, attempt)
            })
            .buffer_unordered(concurrency)
            // One sending end, waited on when the queue is full (a clone per outcome would
            // bring a slot of its own, and no bound). It is closed when the senders are done,
            // which ends the recorder's stream; if the recorder failed and went, the run is
            // stopping and the sends end with it.
            .map(Ok)
            .forward(done_tx)
            .map(drop);
        let record = async {
            let mut batches = done_rx.ready_chunks(OUTCOMES_PER_TRANSACTION);
            while let Some(batch) = batches.next().await {
                if let Err(error) = self.record_outcomes(batch, clock, shared, progress).await {
                    shared.fail(error);
                    break;
                }
            }
        };
        future::join(send, record).await;
    }

    /// The next claim to send, with its e-mail: from the batch in hand, else a new batch
    /// whose messages are built from the platform's data as it is now; when nothing can be
    /// claimed, waits for the planner to record more, and ends once it has finished.
    async fn next_claim(
        &self,
        feed: &mut ClaimFeed,
        clock: &RunClock<'_, C>,
        shared: &Shared,
        batch: usize,
    ) -> Option<Ready> {
        loop {
            if shared.stopped() {
                let claims = feed.buffer.drain(..).map(|r| r.claim).collect();
                self.release_quietly(claims, clock).await;
                return None;
            }
            if let Some(claim) = feed.buffer.pop_front() {
                return Some(claim);
            }
            let claimed = clock.monotonic();
            let claims = self
                .store()
                .claim(
                    &self.config.runner_id,
                    clock.now(),
                    self.config.lease,
                    batch,
                )
                .await;
            match claims {
                Err(error) => {
                    shared.fail(error.into());
                    return None;
                }
                Ok(claims) if !claims.is_empty() => {
                    match self.build_messages(claims, claimed, shared).await {
                        Ok(ready) => feed.buffer.extend(ready),
                        Err((error, claims)) => {
                            self.release_quietly(claims, clock).await;
                            shared.fail(error.into());
                            return None;
                        }
                    }
                }
                Ok(_) if feed.planning_done => return None,
                Ok(_) => match feed.recorded.next().await {
                    // Several parts may have been recorded meanwhile: one claim serves all.
                    Some(()) => while let Ok(()) = feed.recorded.try_recv() {},
                    None => feed.planning_done = true,
                },
            }
        }
    }

    /// Builds the messages of a batch of claims from one read of the data they need. A
    /// message that cannot be built (its student or session is gone, a template fails) is
    /// an error of that reminder alone; a store failure gives the claims back with it.
    async fn build_messages(
        &self,
        claims: Vec<Claim>,
        claimed: Duration,
        shared: &Shared,
    ) -> Result<Vec<Ready>, (crate::ports::StoreError, Vec<Claim>)> {
        let reminders: Vec<NewReminder> = claims.iter().map(|c| c.reminder).collect();
        let source = match self.store().message_input(&reminders).await {
            Ok(source) => source,
            Err(error) => return Err((error, claims)),
        };
        Ok(claims
            .into_iter()
            .map(|mut claim| {
                if let Some(why) = recheck::cancellation(&claim.reminder, &source, &shared.settings)
                {
                    return Ready {
                        claim,
                        claimed,
                        email: Err(Unsent::Cancelled(why)),
                    };
                }
                let email = match self.envelope(&claim.reminder, &source, &shared.settings) {
                    Ok(envelope) => {
                        let outgoing = OutgoingReminder {
                            reminder: claim.reminder,
                            envelope,
                        };
                        let email = self.email(&outgoing);
                        claim.envelope = Some(Box::new(outgoing.envelope));
                        Ok(email)
                    }
                    Err(error) => Err(Unsent::Unbuildable(error.to_string())),
                };
                Ready {
                    claim,
                    claimed,
                    email,
                }
            })
            .collect())
    }

    /// Sends one claimed reminder, or says why it was not.
    async fn attempt(&self, ready: &Ready, clock: &RunClock<'_, C>, shared: &Shared) -> Attempt {
        let now = clock.now();
        if shared.stopped() {
            return Attempt::Release;
        }
        let reminder = &ready.claim.reminder;
        if self.lease_too_old(ready, now, clock.monotonic()) {
            tracing::warn!(key = %reminder.key, "claim held past half its lease (was the runner stalled?): given back, not sent");
            return Attempt::Release;
        }
        // Cancelled first: a reminder nobody wants is not "expired" either.
        let email = match &ready.email {
            Err(Unsent::Cancelled(why)) => {
                tracing::info!(key = %reminder.key, reason = %why, "cancelled: no longer wanted");
                return Attempt::Done(Outcome::Cancelled {
                    reason: why.to_string(),
                });
            }
            _ if now >= reminder.expires_at => return Attempt::Done(Outcome::Expired),
            Ok(email) => email,
            Err(Unsent::Unbuildable(error)) => {
                tracing::warn!(key = %reminder.key, %error, "failed: its message could not be built");
                return Attempt::Done(Outcome::Failed {
                    error: format!("the message could not be built: {error}"),
                });
            }
        };
        match self.mailer.send(email).await {
            Ok(delivery) => {
                // One line per message only at debug level: a Sunday digest would write a
                // line per student. The reminder log keeps every outcome, and the run's
                // summary line is logged at info.
                tracing::debug!(key = %reminder.key, to = %email.to, reply = %delivery.reply, "sent");
                Attempt::Done(Outcome::Sent {
                    message_id: email.message_id.clone(),
                    at: now,
                })
            }
            Err(error) if error.is_session() => {
                tracing::error!(key = %reminder.key, %error, "the mail session failed: stopping the run");
                shared.fail(ServiceError::MailSession(error));
                Attempt::Release
            }
            Err(error) => Attempt::Done(self.after_failure(&ready.claim, &error, now)),
        }
    }

    /// True when a claim must not be sent any more: half its lease is gone. A runner that
    /// was stalled (stopped, swapped out, a machine that slept) may have lost the claim to
    /// another runner meanwhile, and sending it would repeat the other's message; the log
    /// would refuse the outcome, but too late. The half left is a margin for the send
    /// itself, which is why the CLI wants the lease at least twice the SMTP timeout.
    ///
    /// Time is read twice: the monotonic clock since the claim, which counts the time a run
    /// `--at` a frozen instant spent stopped too, and the run's clock against the lease's
    /// end, which counts a machine's sleep (the monotonic clock does not).
    fn lease_too_old(&self, ready: &Ready, now: DateTime<Utc>, monotonic: Duration) -> bool {
        let half = self.config.lease / 2;
        let held =
            TimeDelta::from_std(monotonic.saturating_sub(ready.claimed)).unwrap_or(TimeDelta::MAX);
        held >= half || now + half > ready.claim.lease.until
    }

    fn email(&self, outgoing: &OutgoingReminder) -> Email {
        let mut email = Email::of(outgoing, &self.config.message_id_domain);
        let reminder = &outgoing.reminder;
        email.unsubscribe_url = self
            .config
            .unsubscribe
            .as_ref()
            .and_then(|u| u.url_for(reminder.key.kind(), reminder.student));
        email
    }

    fn after_failure(&self, claim: &Claim, error: &MailError, now: DateTime<Utc>) -> Outcome {
        let reminder = &claim.reminder;
        let attempt = claim.attempts + 1;
        let decision = self.config.retry.after_failure(
            &reminder.key,
            attempt,
            error.class(),
            reminder.expires_at,
            now,
        );
        tracing::warn!(key = %reminder.key, attempt, %error, ?decision, "delivery failed");
        match decision {
            AfterFailure::RetryAt(next_attempt_at) => Outcome::Retry {
                next_attempt_at,
                error: error.to_string(),
            },
            AfterFailure::Fail => Outcome::Failed {
                error: error.to_string(),
            },
            AfterFailure::Expire => Outcome::Expired,
        }
    }

    /// Writes a batch of outcomes in one transaction and gives back the claims not tried.
    async fn record_outcomes(
        &self,
        batch: Vec<(Claim, Attempt)>,
        clock: &RunClock<'_, C>,
        shared: &Shared,
        progress: &(dyn Fn(&RunReport) + Sync),
    ) -> Result<(), ServiceError> {
        let mut done = Vec::with_capacity(batch.len());
        let mut untried = Vec::new();
        for (claim, attempt) in batch {
            match attempt {
                Attempt::Done(outcome) => done.push((claim, outcome)),
                Attempt::Release => untried.push(claim),
            }
        }
        if !untried.is_empty() {
            self.store().release(&untried, clock.now()).await?;
        }
        if done.is_empty() {
            return Ok(());
        }
        let recorded = self.store().complete_many(&done, clock.now()).await?;
        shared.update(|report| {
            for ((claim, outcome), recorded) in done.iter().zip(recorded) {
                if !recorded {
                    tracing::warn!(id = claim.id, key = %claim.reminder.key, "lease lost before the outcome was recorded");
                    report.skipped += 1;
                    continue;
                }
                match outcome {
                    Outcome::Sent { .. } => report.sent += 1,
                    Outcome::Retry { .. } => report.retried += 1,
                    Outcome::Failed { .. } => report.failed += 1,
                    Outcome::Expired => report.expired += 1,
                    Outcome::Cancelled { .. } => report.cancelled += 1,
                }
            }
            progress(report);
        });
        Ok(())
    }

    /// Gives claims back on the way out; a failure only delays them to the end of their
    /// lease, so it is logged, not raised.
    async fn release_quietly(&self, claims: Vec<Claim>, clock: &RunClock<'_, C>) {
        if claims.is_empty() {
            return;
        }
        if let Err(error) = self.store().release(&claims, clock.now()).await {
            tracing::warn!(%error, claims = claims.len(), "claims not released: they return when their lease ends");
        }
    }
}

/// A claimed reminder with the e-mail built for it, or why none was.
struct Ready {
    claim: Claim,
    /// When it was claimed, on the monotonic clock (see `lease_too_old`).
    claimed: Duration,
    email: Result<Email, Unsent>,
}

/// Why a claimed reminder has no e-mail.
enum Unsent {
    /// The data no longer wants it: it is recorded as cancelled.
    Cancelled(recheck::Cancellation),
    /// Its message could not be built (a template failed): it is recorded as failed.
    Unbuildable(String),
}

/// The claims in hand and what the planner has said so far.
struct ClaimFeed {
    buffer: VecDeque<Ready>,
    recorded: mpsc::UnboundedReceiver<()>,
    planning_done: bool,
}

impl RunOptions {
    /// True when the run plans reminders of this kind.
    fn wants(&self, kind: crate::domain::Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}
