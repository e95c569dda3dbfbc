//! The ports: what core needs from storage and mail delivery, as traits that adapters
//! (`rappels-sqlx`, `rappels-smtp`, the test doubles) implement.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use futures::SinkExt;
use futures::channel::mpsc;

use crate::domain::{
    EmailAddress, Family, Kind, Locale, ManualId, ManualRequest, Parent, ParentId, ReminderKey,
    Session, SessionId, Student, StudentId, StudyPlan, Zone,
};
use crate::message::{MessageSource, RenderedMessage};
use crate::permissions::HistoryScope;
use crate::plan::{Candidates, Directory, PlanWindow};
use crate::retry::FailureClass;
use crate::schedule::NewSession;
use crate::settings::Settings;

/// What a store loads for a plan at one instant: the candidates of the window and the
/// records needed to decide and render them. Owned, so a SQL store can fill it from rows.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// Every student the candidates name.
    pub students: HashMap<StudentId, Student>,
    /// Parents named by manual requests.
    pub parents: HashMap<ParentId, Parent>,
    /// Sessions starting in the window's session ranges, by id.
    pub sessions: HashMap<SessionId, Session>,
    /// Students that may be due an inactivity reminder.
    pub inactivity: Vec<StudentId>,
    /// Students that may be due a weekly digest.
    pub weekly: Vec<StudentId>,
    /// Manual requests to judge (requested at or before the instant), by id.
    pub manual: HashMap<ManualId, ManualRequest>,
    /// Keys among the candidates that are already recorded.
    pub sent: HashSet<ReminderKey>,
    /// Sessions of weekly candidates over the digest span (for rendering digests).
    pub digest_sessions: HashMap<StudentId, Vec<Session>>,
}

impl PlanInput {
    /// The candidates, borrowed, for [`crate::plan::due_reminders`].
    pub fn candidates(&self) -> Candidates<'_> {
        let students =
            |ids: &[StudentId]| ids.iter().filter_map(|id| self.students.get(id)).collect();
        Candidates {
            sessions: self.sessions.values().collect(),
            inactivity: students(&self.inactivity),
            weekly: students(&self.weekly),
            manual: self.manual.values().collect(),
        }
    }
}

impl Directory for PlanInput {
    fn student(&self, id: StudentId) -> Option<&Student> {
        self.students.get(&id)
    }
    fn parent(&self, id: ParentId) -> Option<&Parent> {
        self.parents.get(&id)
    }
    fn was_sent(&self, key: &ReminderKey) -> bool {
        self.sent.contains(key)
    }
}

impl MessageSource for PlanInput {
    fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id)
    }
    fn manual_request(&self, id: ManualId) -> Option<&ManualRequest> {
        self.manual.get(&id)
    }
    fn sessions_between(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<&Session> {
        self.digest_sessions
            .get(&student)
            .into_iter()
            .flatten()
            .filter(|s| from <= s.starts_at && s.starts_at < until)
            .collect()
    }
}

/// Where a store hands the parts of a plan's input, one after the other, to the planner
/// consuming them ([`Platform::plan_parts`]). The channel is bounded, so a store that reads
/// faster than the planner renders and records waits instead of piling parts up in memory.
#[derive(Debug)]
pub struct PlanParts {
    parts: mpsc::Sender<PlanInput>,
    weekly: bool,
}

impl PlanParts {
    /// A bounded channel of `capacity` parts waiting to be consumed: the sending end for the
    /// store, the receiving end for the planner.
    pub fn channel(capacity: usize) -> (PlanParts, mpsc::Receiver<PlanInput>) {
        let (parts, rx) = mpsc::channel(capacity);
        (
            PlanParts {
                parts,
                weekly: true,
            },
            rx,
        )
    }

    /// The same channel, for a consumer that has the weekly digests already
    /// ([`ReminderLog::record_weekly`]): the store leaves their candidates out.
    #[must_use]
    pub fn without_weekly(mut self) -> Self {
        self.weekly = false;
        self
    }

    /// Whether the consumer wants the weekly digests' candidates.
    pub fn wants_weekly(&self) -> bool {
        self.weekly
    }

    /// Hands a part over, waiting while the consumer is behind. False when the consumer has
    /// stopped (it failed, or has all it wants): the store should stop reading.
    pub async fn send(&mut self, part: PlanInput) -> bool {
        self.parts.send(part).await.is_ok()
    }
}

/// The weekly digests due in one zone for one local date: what
/// [`ReminderLog::record_weekly`] records for every eligible student of the zone. Core
/// decides the zone, the date, the slot and the expiry; the store applies the student's
/// part of the rule ([`crate::rules::weekly_is_eligible`]) and the log's unique key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyDue {
    /// The zone whose students are due.
    pub zone: Zone,
    /// The local date (a weekly day) the rule was evaluated for.
    pub slot_date: NaiveDate,
    /// The slot.
    pub due_at: DateTime<Utc>,
    /// After this instant a digest is expired rather than sent late.
    pub expires_at: DateTime<Utc>,
}

/// How many weekly digests a step of [`ReminderLog::record_weekly`] found due (not yet in
/// the log when it looked) and how many it added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Due and not in the log when the store looked.
    pub planned: usize,
    /// Added to the log (fewer than planned when another runner recorded some meanwhile).
    pub recorded: usize,
}

/// A due reminder as the reminder log records it: what identifies it and when it may go.
/// Its message is not part of it: the sender builds the message at send time from the
/// platform's data as it is then (so a planned Sunday digest costs a narrow row, not two
/// rendered bodies), and the log keeps the message it was sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewReminder {
    /// The unique key.
    pub key: ReminderKey,
    /// The recipient student.
    pub student: StudentId,
    /// The local date the rule was evaluated for.
    pub slot_date: NaiveDate,
    /// The slot.
    pub due_at: DateTime<Utc>,
    /// After this instant the reminder is expired rather than sent late.
    pub expires_at: DateTime<Utc>,
}

/// A message built for a reminder: to whom, in which language, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The recipient's address.
    pub to: EmailAddress,
    /// The recipient's name, for the To header.
    pub to_name: String,
    /// The recipient's language.
    pub locale: Locale,
    /// Subject and bodies.
    pub message: RenderedMessage,
}

/// A due reminder with its message: what a dry run shows and what a sender sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingReminder {
    /// The reminder as the log records it.
    pub reminder: NewReminder,
    /// Its message.
    pub envelope: Envelope,
}

/// Where a reminder of the log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReminderStatus {
    /// Recorded, waiting for (another) attempt.
    Pending,
    /// Claimed by a runner whose lease has not ended.
    Sending,
    /// Accepted by the mail server.
    Sent,
    /// Refused for good.
    Failed,
    /// Its moment passed before it could be sent.
    Expired,
    /// No longer wanted when it was to be sent (see [`crate::recheck`]): never sent.
    Cancelled,
}

impl ReminderStatus {
    /// The status as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderStatus::Pending => "pending",
            ReminderStatus::Sending => "sending",
            ReminderStatus::Sent => "sent",
            ReminderStatus::Failed => "failed",
            ReminderStatus::Expired => "expired",
            ReminderStatus::Cancelled => "cancelled",
        }
    }
}

/// A runner's hold on a claimed reminder: nobody else sends it before `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (a runner id, unique per process).
    pub owner: String,
    /// When it ends; after that another runner may take the reminder over.
    pub until: DateTime<Utc>,
}

/// A reminder claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The log row.
    pub id: i64,
    /// The reminder.
    pub reminder: NewReminder,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The claimer's lease.
    pub lease: Lease,
    /// The message built for this attempt, once the sender has built it (`None` from
    /// [`ReminderLog::claim`]): the log keeps it with the outcome, so history shows what was
    /// sent, not what the data says later.
    pub envelope: Option<Box<Envelope>>,
}

/// How an attempt ended, as recorded in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the server.
    Sent {
        /// The Message-ID it was sent with.
        message_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Failed transiently; try again at `next_attempt_at`.
    Retry {
        /// When to try again.
        next_attempt_at: DateTime<Utc>,
        /// The server's or the network's complaint.
        error: String,
    },
    /// Failed for good.
    Failed {
        /// The server's complaint.
        error: String,
    },
    /// Not sent because its moment passed.
    Expired,
    /// Not sent because the data no longer wants it ([`crate::recheck`]).
    Cancelled {
        /// Why, in words.
        reason: String,
    },
}

/// One line of a reminder history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The unique key.
    pub key: ReminderKey,
    /// The student.
    pub student: StudentId,
    /// The slot.
    pub due_at: DateTime<Utc>,
    /// The status.
    pub status: ReminderStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The subject sent.
    pub subject: String,
    /// When it was accepted by the server.
    pub sent_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Counts of the reminder log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sent since the start of the local day.
    pub sent_today: u64,
    /// Sent in the period asked for.
    pub sent_in_period: u64,
    /// Sent in the period, per kind.
    pub sent_by_kind: BTreeMap<Kind, u64>,
    /// Failed for good (all time).
    pub failed: u64,
    /// Waiting to be sent (pending or being sent).
    pub pending: u64,
    /// Expired (all time).
    pub expired: u64,
    /// Cancelled at send time because the data no longer wanted them (all time).
    pub cancelled: u64,
}

/// A storage failure, kept as what the caller can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The claim's lease ended or was taken over: the caller must not record anything for it.
    #[error("lease on reminder {id} lost: another runner owns it now")]
    LeaseLost {
        /// The log row.
        id: i64,
    },
    /// The record named does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// Its id.
        id: i64,
    },
    /// The storage is not set up for rappels yet (no schema, no settings): an operator must
    /// act (migrate, import); retrying changes nothing. The text says what to do.
    #[error("{0}")]
    NotReady(String),
    /// The storage is busy or out of reach (locked, connection lost, pool exhausted): worth
    /// retrying later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The storage refused a write (a unique key, a foreign key, a check).
    #[error("storage refused the write: {0}")]
    Constraint(String),
    /// A manual request the rules refuse when it is stored: judged again under the store's
    /// lock, it found requests committed meanwhile by concurrent callers (the daily limit).
    #[error("manual reminder refused: {} ({})", .0.as_str(), .0.explain())]
    Refused(crate::rules::Rejection),
    /// A stored value is invalid (edited by hand, or a bug): reading it again fails again.
    #[error("invalid data in storage: {0}")]
    Corrupt(String),
    /// Any other failure of the backend.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// The platform's data: students, parents and their children, sessions, study plans and
/// manual requests, as planning, message building, explanation and manual requests read
/// them. A platform that embeds rappels over its own tables implements this port.
#[async_trait]
pub trait Platform: Send + Sync {
    /// The settings in force. The store owns them: every planner and runner over the store
    /// reads them here, and the methods below that take settings are handed exactly these
    /// (a SQL store derives indexed columns from them). A change of settings is a write of
    /// the store's own (an import, `rappels settings apply`), never a side effect of
    /// reading.
    async fn settings(&self) -> Result<Settings, StoreError>;

    /// Zones the stored students use (each student's, or the default one).
    async fn zones(&self, settings: &Settings) -> Result<Vec<Zone>, StoreError>;

    /// Candidates of `window` and what deciding and rendering them needs.
    async fn plan_input(
        &self,
        window: &PlanWindow,
        settings: &Settings,
    ) -> Result<PlanInput, StoreError>;

    /// The input of the same plan as [`Platform::plan_input`], in parts of about `part_size`
    /// candidates, handed to `parts` one after the other, so that planning, rendering and
    /// recording a Sunday digest for a million students never holds every candidate at
    /// once and the first reminders can go out while the rest is still being planned. Each
    /// part is whole in itself: it holds the records deciding and rendering its own
    /// candidates needs and the recorded keys among them, and a candidate is in one part
    /// only. All manual requests come in one part, since the rate limit judges them
    /// together. Stops early, without error, when `parts` says the consumer has stopped.
    ///
    /// The default hands over the whole [`Platform::plan_input`] as one part.
    async fn plan_parts(
        &self,
        window: &PlanWindow,
        settings: &Settings,
        part_size: usize,
        mut parts: PlanParts,
    ) -> Result<(), StoreError> {
        let _ = part_size;
        let input = self.plan_input(window, settings).await?;
        parts.send(input).await;
        Ok(())
    }

    /// What building the messages of `reminders` at send time needs: their students,
    /// their sessions, their manual requests with the parents who made them, and the
    /// sessions of the weekly digests' students over the digests' weeks
    /// ([`crate::rules::digest_span`]). Records deleted since the reminders were recorded are
    /// simply absent.
    async fn message_input(&self, reminders: &[NewReminder]) -> Result<PlanInput, StoreError>;

    /// What explaining one student's reminders at `at` needs: the student, their sessions
    /// starting in `[from, until)`, their manual requests made by `at` with the parents who
    /// made them, and the recorded keys of their reminders. `None` for an unknown student.
    async fn explain_input(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<PlanInput>, StoreError>;

    /// The parent with this id, children included.
    async fn parent(&self, id: ParentId) -> Result<Option<Parent>, StoreError>;

    /// What judging a new manual request needs: the parent, the student, and the requests of
    /// this parent for this student made since `since`.
    async fn manual_context(
        &self,
        parent: ParentId,
        student: StudentId,
        since: DateTime<Utc>,
    ) -> Result<ManualContext, StoreError>;

    /// Stores an accepted manual request under a new id.
    async fn add_manual_request(&self, request: &NewManualRequest) -> Result<ManualId, StoreError>;

    /// What creating sessions from study plans needs: every plan, the students they name,
    /// and the (student, start) of the sessions starting in `[from, until)`.
    async fn schedule_input(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ScheduleInput, StoreError>;

    /// Stores new sessions under new ids; returns them as stored.
    async fn add_sessions(&self, sessions: &[NewSession]) -> Result<Vec<Session>, StoreError>;

    /// Records that `student` opted out of `family`; true if it changed anything.
    async fn opt_out(&self, student: StudentId, family: Family) -> Result<bool, StoreError>;
}

/// The reminder log and its claim protocol: one row per reminder key, ever; claims under
/// leases; outcomes recorded only while the lease is held. What a sender needs.
#[async_trait]
pub trait ReminderLog: Send + Sync {
    /// Records reminders as pending unless their key is already in the log (insert or
    /// ignore); returns how many were new.
    async fn record_due(
        &self,
        reminders: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// Whether the store records weekly digests itself ([`ReminderLog::record_weekly`]).
    /// The default is false: the planner reads the digests' candidates from
    /// [`Platform::plan_parts`] as for every other kind.
    fn records_weekly(&self) -> bool {
        false
    }

    /// Records the weekly digests of `due` as pending, for every student of its zone whose
    /// account and subscription are active and who has not opted out of the digest
    /// ([`crate::rules::weekly_is_eligible`]), unless their key is in the log, without
    /// handing the students over to core: a Sunday of a million students costs a few
    /// statements, not a million rows read, decided and written back. Calls `progress`
    /// after each step it commits, so that senders can start before the last one, and
    /// stops (without error) when `progress` returns false.
    ///
    /// Only for a store whose [`ReminderLog::records_weekly`] is true; such a store must
    /// also leave weekly candidates out of the parts of a [`PlanParts::without_weekly`]
    /// channel. The parity tests hold it to the planner's decisions. The default refuses.
    async fn record_weekly(
        &self,
        due: &WeeklyDue,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Recorded) -> bool + Sync),
    ) -> Result<(), StoreError> {
        let _ = (due, now, progress);
        Err(StoreError::Backend(
            "this store does not record weekly digests itself".into(),
        ))
    }

    /// Claims up to `limit` reminders that are pending with `next_attempt <= now`, or whose
    /// lease ended, for `owner` until `now + lease`.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Records the outcome of an attempt, if `claim`'s lease is still held at `now`;
    /// otherwise fails with [`StoreError::LeaseLost`] and changes nothing.
    async fn complete(
        &self,
        claim: &Claim,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records the outcomes of several attempts, in one transaction where the store has
    /// them, each only if its claim's lease is still held at `now` (as
    /// [`ReminderLog::complete`]). Returns, in order, whether each was recorded: false means the
    /// lease was lost and nothing was recorded for that claim.
    ///
    /// The default records them one by one.
    async fn complete_many(
        &self,
        outcomes: &[(Claim, Outcome)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut recorded = Vec::with_capacity(outcomes.len());
        for (claim, outcome) in outcomes {
            match self.complete(claim, outcome, now).await {
                Ok(()) => recorded.push(true),
                Err(StoreError::LeaseLost { .. }) => recorded.push(false),
                Err(other) => return Err(other),
            }
        }
        Ok(recorded)
    }

    /// Gives claims back untried: each becomes pending again, its attempt not counted, if
    /// its lease is still held at `now`, so that another runner can take it at once rather
    /// than after the lease (a run that stops early: a mail session failure, a signal).
    ///
    /// The default does nothing: the claims come back when their leases end.
    async fn release(&self, claims: &[Claim], now: DateTime<Utc>) -> Result<(), StoreError> {
        let _ = (claims, now);
        Ok(())
    }

    /// The earliest instant a recorded reminder can be claimed again: the next attempt of a
    /// pending one or the end of a lease. `None` when nothing waits.
    async fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Reading the reminder log: what a history page or a statistics report needs, and nothing
/// that writes.
#[async_trait]
pub trait History: Send + Sync {
    /// Log entries in `scope`, newest first.
    async fn history(
        &self,
        scope: &HistoryScope,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError>;

    /// Counts of the log: sent since `today_from`, sent since `period_from`, and the
    /// failed, pending and expired totals.
    async fn stats(
        &self,
        today_from: DateTime<Utc>,
        period_from: DateTime<Utc>,
    ) -> Result<Stats, StoreError>;
}

/// Everything a complete runner needs: the three ports together, as the SQL stores and
/// [`crate::testing::MemoryStore`] implement them over one database.
pub trait Store: Platform + ReminderLog + History {}

impl<T: Platform + ReminderLog + History + ?Sized> Store for T {}

/// What judging a new manual request needs.
#[derive(Debug, Clone, Default)]
pub struct ManualContext {
    /// The parent asking, if they exist.
    pub parent: Option<Parent>,
    /// The student, if they exist.
    pub student: Option<Student>,
    /// Earlier requests of the same parent for the same student (for the rate limit).
    pub requests: Vec<ManualRequest>,
}

/// A manual request a parent makes now, validated, before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewManualRequest {
    /// Who asks.
    pub parent: ParentId,
    /// For whom.
    pub student: StudentId,
    /// The title.
    pub title: crate::domain::Title,
    /// The message.
    pub message: crate::domain::MessageText,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// What creating sessions from study plans needs.
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    /// Every study plan.
    pub plans: Vec<StudyPlan>,
    /// The students the plans name.
    pub students: HashMap<StudentId, Student>,
    /// (student, start) of the sessions in the period.
    pub existing: HashSet<(StudentId, DateTime<Utc>)>,
}

/// An e-mail ready for a mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The Message-ID, derived from the reminder key so a resend after a crash carries the
    /// same id and receivers can drop the duplicate.
    pub message_id: String,
    /// The recipient.
    pub to: EmailAddress,
    /// The recipient's display name.
    pub to_name: String,
    /// The reminder's kind (mailers add unsubscribe headers to automatic kinds).
    pub kind: Kind,
    /// The student the reminder is for.
    pub student: StudentId,
    /// Subject and bodies.
    pub message: RenderedMessage,
    /// The one-click unsubscribe address (RFC 8058) of an automatic reminder; mailers send
    /// it as `List-Unsubscribe` with `List-Unsubscribe-Post`. `None` for manual reminders.
    pub unsubscribe_url: Option<String>,
}

impl Email {
    /// The e-mail of a reminder and its message, with no unsubscribe address.
    pub fn of(outgoing: &OutgoingReminder, message_id_domain: &str) -> Self {
        let OutgoingReminder { reminder, envelope } = outgoing;
        Email {
            message_id: message_id(&reminder.key, message_id_domain),
            to: envelope.to.clone(),
            to_name: envelope.to_name.clone(),
            kind: reminder.key.kind(),
            student: reminder.student,
            message: envelope.message.clone(),
            unsubscribe_url: None,
        }
    }
}

/// `<session_eve.1.100.2026-11-26@domain>`: the key with its colons (not allowed in a
/// Message-ID's left part, RFC 5322 §3.6.4) turned into dots. The domain is written in its
/// IDNA (punycode) form: a Message-ID is ASCII only, and lettre would otherwise turn a
/// non-ASCII domain into an encoded word, which is not a valid id. A domain IDNA refuses is
/// kept as given (lowercased ASCII input is already its own IDNA form).
pub fn message_id(key: &ReminderKey, domain: &str) -> String {
    let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_owned());
    format!("<{}@{domain}>", key.to_string().replace(':', "."))
}

/// What the server said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The server's reply, for logs and `test-email`.
    pub reply: String,
}

/// A delivery failure, classified so the retry policy can branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    class: FailureClass,
    session: bool,
    message: String,
}

impl MailError {
    /// A failure worth retrying (4xx, refused connection, timeout).
    pub fn transient(message: impl Into<String>) -> Self {
        MailError {
            class: FailureClass::Transient,
            session: false,
            message: message.into(),
        }
    }

    /// A failure never worth retrying (5xx).
    pub fn permanent(message: impl Into<String>) -> Self {
        MailError {
            class: FailureClass::Permanent,
            session: false,
            message: message.into(),
        }
    }

    /// A failure of the mail session itself, before any recipient was judged: the server
    /// cannot be reached, refuses the greeting, TLS or the credentials, or refuses the
    /// sender (MAIL FROM). No reminder is at fault, so none is failed or retried for it:
    /// the run stops and leaves them pending.
    pub fn session(message: impl Into<String>) -> Self {
        MailError {
            class: FailureClass::Transient,
            session: true,
            message: message.into(),
        }
    }

    /// True for a failure of the session rather than of this message (see
    /// [`MailError::session`]).
    pub fn is_session(&self) -> bool {
        self.session
    }

    /// The class of failure.
    pub fn class(&self) -> FailureClass {
        self.class
    }

    /// True for 4xx replies, refused connections and timeouts.
    pub fn is_transient(&self) -> bool {
        self.class == FailureClass::Transient
    }

    /// True for 5xx replies.
    pub fn is_permanent(&self) -> bool {
        self.class == FailureClass::Permanent
    }
}

/// Delivers e-mails.
///
/// `send` may be called concurrently: the service keeps [`Mailer::concurrency`] sends in
/// flight at once, so a mailer with several connections keeps each of them busy.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one e-mail.
    async fn send(&self, email: &Email) -> Result<Delivery, MailError>;

    /// How many sends this mailer carries at once (an SMTP mailer: its connections).
    fn concurrency(&self) -> usize {
        1
    }
}

/// A borrowed mailer sends as its owner does: a daemon lends its one mailer (and its pool of
/// connections) to the sender of each run.
#[async_trait]
impl<M: Mailer + ?Sized> Mailer for &M {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        (**self).send(email).await
    }

    fn concurrency(&self) -> usize {
        (**self).concurrency()
    }
}
