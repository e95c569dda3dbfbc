//! Test doubles of the ports, for tests of code built on rappels-core (enabled by the
//! `testing` feature): an in-memory [`MemoryStore`], a [`RecordingMailer`] that can be told
//! to fail, and a [`FixedClock`].

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::domain::{Family, StudentId, Zone};
use crate::permissions::HistoryScope;
use crate::plan::{Directory, PlanWindow};
use crate::ports::{
    Claim, Delivery, Email, Lease, LogEntry, MailError, Mailer, Outcome, OutgoingReminder,
    PlanInput, PlanParts, ReminderStatus, Stats, Store, StoreError,
};
use crate::scenario::Scenario;
use crate::settings::Settings;
use crate::snapshot::Snapshot;

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = now;
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: TimeDelta) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// How a [`RecordingMailer`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailerMode {
    /// Accept every message.
    Accept,
    /// Fail every message transiently (as a 4xx reply would).
    Transient,
    /// Fail every message permanently (as a 5xx reply would).
    Permanent,
    /// Fail the mail session (as a refused connection or a wrong password would).
    Session,
}

/// A mailer that records what it accepts.
#[derive(Debug)]
pub struct RecordingMailer {
    mode: Mutex<MailerMode>,
    accepted: Mutex<Vec<Email>>,
    attempts: Mutex<usize>,
}

impl Default for RecordingMailer {
    fn default() -> Self {
        RecordingMailer::new(MailerMode::Accept)
    }
}

impl RecordingMailer {
    /// A mailer answering in `mode`.
    pub fn new(mode: MailerMode) -> Self {
        RecordingMailer {
            mode: Mutex::new(mode),
            accepted: Mutex::new(Vec::new()),
            attempts: Mutex::new(0),
        }
    }

    /// Changes how it answers from now on.
    pub fn set_mode(&self, mode: MailerMode) {
        *self.mode.lock().expect("mailer lock") = mode;
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Email> {
        self.accepted.lock().expect("mailer lock").clone()
    }

    /// Every attempt so far, accepted or not.
    pub fn attempts(&self) -> usize {
        *self.attempts.lock().expect("mailer lock")
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        *self.attempts.lock().expect("mailer lock") += 1;
        match *self.mode.lock().expect("mailer lock") {
            MailerMode::Accept => {
                self.accepted
                    .lock()
                    .expect("mailer lock")
                    .push(email.clone());
                Ok(Delivery {
                    reply: "250 2.0.0 Ok: queued".to_owned(),
                })
            }
            MailerMode::Transient => Err(MailError::transient("421 4.3.0 try again later")),
            MailerMode::Permanent => Err(MailError::permanent("550 5.1.1 mailbox unavailable")),
            MailerMode::Session => Err(MailError::session(
                "535 5.7.8 authentication credentials invalid",
            )),
        }
    }
}

/// One row of the in-memory reminder log.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Row id (1, 2, …).
    pub id: i64,
    /// The reminder.
    pub reminder: OutgoingReminder,
    /// Its status.
    pub status: ReminderStatus,
    /// Attempts made.
    pub attempts: u32,
    /// Earliest next attempt.
    pub next_attempt_at: DateTime<Utc>,
    /// Current lease, while sending.
    pub lease: Option<Lease>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Message-ID once sent.
    pub message_id: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct MemoryState {
    snapshot: Snapshot,
    log: Vec<LogRow>,
}

/// A store in memory, over a scenario: the reference implementation of [`Store`] that the
/// SQL stores are compared with.
#[derive(Debug)]
pub struct MemoryStore(Mutex<MemoryState>);

impl MemoryStore {
    /// A store holding `scenario`; its `sent` list counts as already recorded.
    pub fn new(scenario: Scenario) -> Self {
        MemoryStore(Mutex::new(MemoryState {
            snapshot: Snapshot::new(scenario),
            log: Vec::new(),
        }))
    }

    /// A copy of the reminder log.
    pub fn log(&self) -> Vec<LogRow> {
        self.0.lock().expect("store lock").log.clone()
    }

    /// The opt-outs of a student (to check unsubscribes).
    pub fn student_opts_out(&self, student: StudentId, family: Family) -> bool {
        let state = self.0.lock().expect("store lock");
        state
            .snapshot
            .student(student)
            .is_some_and(|s| s.opt_out.excludes(family))
    }
}

/// Cuts a plan input into parts: one with the sessions and manual requests, then the
/// inactivity and the weekly candidates `size` at a time, each part carrying the students,
/// parents, digest sessions and recorded keys it needs.
fn split_plan_input(whole: PlanInput, size: usize) -> Vec<PlanInput> {
    let part = |inactivity: &[StudentId], weekly: &[StudentId], timely: bool| {
        let mut input = PlanInput {
            inactivity: inactivity.to_vec(),
            weekly: weekly.to_vec(),
            sent: whole.sent.clone(),
            ..PlanInput::default()
        };
        if timely {
            input.sessions = whole.sessions.clone();
            input.manual = whole.manual.clone();
            input.parents = whole.parents.clone();
        }
        let named = input
            .sessions
            .values()
            .map(|s| s.student_id)
            .chain(input.manual.values().map(|m| m.student_id))
            .chain(inactivity.iter().copied())
            .chain(weekly.iter().copied());
        for id in named {
            if let Some(student) = whole.students.get(&id) {
                input.students.insert(id, student.clone());
            }
        }
        for id in weekly {
            if let Some(sessions) = whole.digest_sessions.get(id) {
                input.digest_sessions.insert(*id, sessions.clone());
            }
        }
        input
    };
    let mut parts = vec![part(&[], &[], true)];
    parts.extend(whole.inactivity.chunks(size).map(|c| part(c, &[], false)));
    parts.extend(whole.weekly.chunks(size).map(|c| part(&[], c, false)));
    parts
}

fn entry(row: &LogRow) -> LogEntry {
    LogEntry {
        key: row.reminder.key,
        student: row.reminder.student,
        due_at: row.reminder.due_at,
        status: row.status,
        attempts: row.attempts,
        subject: row.reminder.message.subject.clone(),
        sent_at: row.sent_at,
        last_error: row.last_error.clone(),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn zones(&self, settings: &Settings) -> Result<Vec<Zone>, StoreError> {
        let state = self.0.lock().expect("store lock");
        let zones: HashSet<Zone> = state
            .snapshot
            .scenario()
            .students
            .iter()
            .map(|s| s.zone(settings.timezone))
            .collect();
        Ok(zones.into_iter().collect())
    }

    async fn plan_input(
        &self,
        window: &PlanWindow,
        _settings: &Settings,
    ) -> Result<PlanInput, StoreError> {
        let state = self.0.lock().expect("store lock");
        let snapshot = &state.snapshot;
        let candidates = snapshot.candidates(window);
        let mut input = PlanInput {
            sessions: candidates
                .sessions
                .iter()
                .map(|s| (s.id, (*s).clone()))
                .collect(),
            inactivity: candidates.inactivity.iter().map(|s| s.id).collect(),
            weekly: candidates.weekly.iter().map(|s| s.id).collect(),
            manual: candidates
                .manual
                .iter()
                .map(|m| (m.id, (*m).clone()))
                .collect(),
            sent: snapshot.scenario().sent.iter().copied().collect(),
            ..PlanInput::default()
        };
        let named = input
            .sessions
            .values()
            .map(|s| s.student_id)
            .chain(input.inactivity.iter().copied())
            .chain(input.weekly.iter().copied())
            .chain(input.manual.values().map(|m| m.student_id))
            .collect::<Vec<_>>();
        for id in named {
            if let Some(student) = snapshot.student(id) {
                input.students.insert(id, student.clone());
            }
        }
        for request in input.manual.values() {
            if let Some(parent) = snapshot.parent(request.parent_id) {
                input.parents.insert(parent.id, parent.clone());
            }
        }
        let (from, until) = Snapshot::digest_span(window.at);
        for &id in &input.weekly {
            let sessions = snapshot
                .sessions_of(id, from, until)
                .into_iter()
                .cloned()
                .collect();
            input.digest_sessions.insert(id, sessions);
        }
        Ok(input)
    }

    async fn record_due(
        &self,
        reminders: &[OutgoingReminder],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut state = self.0.lock().expect("store lock");
        let mut known: HashSet<_> = state.log.iter().map(|r| r.reminder.key).collect();
        known.extend(state.snapshot.scenario().sent.iter().copied());
        let mut added = 0;
        for reminder in reminders {
            if !known.insert(reminder.key) {
                continue;
            }
            let id = state.log.len() as i64 + 1;
            state.snapshot.mark_sent(reminder.key);
            state.log.push(LogRow {
                id,
                reminder: reminder.clone(),
                status: ReminderStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                lease: None,
                last_error: None,
                message_id: None,
                sent_at: None,
            });
            added += 1;
        }
        Ok(added)
    }

    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut state = self.0.lock().expect("store lock");
        let mut claims = Vec::new();
        for row in state.log.iter_mut() {
            if claims.len() == limit {
                break;
            }
            let claimable = match row.status {
                ReminderStatus::Pending => row.next_attempt_at <= now,
                ReminderStatus::Sending => row.lease.as_ref().is_some_and(|l| l.until <= now),
                _ => false,
            };
            if claimable {
                let new_lease = Lease {
                    owner: owner.to_owned(),
                    until: now + lease,
                };
                row.status = ReminderStatus::Sending;
                row.lease = Some(new_lease.clone());
                claims.push(Claim {
                    id: row.id,
                    reminder: row.reminder.clone(),
                    attempts: row.attempts,
                    lease: new_lease,
                });
            }
        }
        Ok(claims)
    }

    async fn complete(
        &self,
        claim: &Claim,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.0.lock().expect("store lock");
        let row = state
            .log
            .iter_mut()
            .find(|r| r.id == claim.id)
            .ok_or(StoreError::NotFound {
                what: "reminder",
                id: claim.id,
            })?;
        let held = row.status == ReminderStatus::Sending
            && row
                .lease
                .as_ref()
                .is_some_and(|l| l.owner == claim.lease.owner && now < l.until);
        if !held {
            return Err(StoreError::LeaseLost { id: claim.id });
        }
        row.lease = None;
        row.attempts += u32::from(!matches!(outcome, Outcome::Expired));
        match outcome {
            Outcome::Sent { message_id, at } => {
                row.status = ReminderStatus::Sent;
                row.message_id = Some(message_id.clone());
                row.sent_at = Some(*at);
            }
            Outcome::Retry {
                next_attempt_at,
                error,
            } => {
                row.status = ReminderStatus::Pending;
                row.next_attempt_at = *next_attempt_at;
                row.last_error = Some(error.clone());
            }
            Outcome::Failed { error } => {
                row.status = ReminderStatus::Failed;
                row.last_error = Some(error.clone());
            }
            Outcome::Expired => row.status = ReminderStatus::Expired,
        }
        Ok(())
    }

    async fn history(
        &self,
        scope: &HistoryScope,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let state = self.0.lock().expect("store lock");
        let mut rows: Vec<&LogRow> = state
            .log
            .iter()
            .filter(|r| scope.permits(r.reminder.student))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse((r.reminder.due_at, r.id)));
        Ok(rows.into_iter().take(limit).map(entry).collect())
    }

    async fn stats(
        &self,
        today_from: DateTime<Utc>,
        period_from: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        let state = self.0.lock().expect("store lock");
        let mut stats = Stats::default();
        for row in &state.log {
            match row.status {
                ReminderStatus::Sent => {
                    let at = row.sent_at.unwrap_or(row.reminder.due_at);
                    if at >= today_from {
                        stats.sent_today += 1;
                    }
                    if at >= period_from {
                        stats.sent_in_period += 1;
                        *stats
                            .sent_by_kind
                            .entry(row.reminder.key.kind())
                            .or_insert(0) += 1;
                    }
                }
                ReminderStatus::Failed => stats.failed += 1,
                ReminderStatus::Pending | ReminderStatus::Sending => stats.pending += 1,
                ReminderStatus::Expired => stats.expired += 1,
            }
        }
        Ok(stats)
    }

    async fn parent(
        &self,
        id: crate::domain::ParentId,
    ) -> Result<Option<crate::domain::Parent>, StoreError> {
        let state = self.0.lock().expect("store lock");
        Ok(state.snapshot.parent(id).cloned())
    }

    async fn explain_input(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<PlanInput>, StoreError> {
        let state = self.0.lock().expect("store lock");
        let snapshot = &state.snapshot;
        let Some(record) = snapshot.student(student) else {
            return Ok(None);
        };
        let mut input = PlanInput::default();
        input.students.insert(student, record.clone());
        for s in snapshot.sessions_of(student, from, until) {
            input.sessions.insert(s.id, s.clone());
        }
        for m in snapshot
            .scenario()
            .manual
            .iter()
            .filter(|m| m.student_id == student && m.requested_at <= at)
        {
            if let Some(parent) = snapshot.parent(m.parent_id) {
                input.parents.insert(parent.id, parent.clone());
            }
            input.manual.insert(m.id, m.clone());
        }
        input.sent = snapshot
            .scenario()
            .sent
            .iter()
            .filter(|k| {
                k.student() == Some(student)
                    || k.manual().is_some_and(|id| input.manual.contains_key(&id))
            })
            .copied()
            .collect();
        Ok(Some(input))
    }

    async fn manual_context(
        &self,
        parent: crate::domain::ParentId,
        student: StudentId,
        since: DateTime<Utc>,
    ) -> Result<crate::ports::ManualContext, StoreError> {
        let state = self.0.lock().expect("store lock");
        let snapshot = &state.snapshot;
        Ok(crate::ports::ManualContext {
            parent: snapshot.parent(parent).cloned(),
            student: snapshot.student(student).cloned(),
            requests: snapshot
                .scenario()
                .manual
                .iter()
                .filter(|m| {
                    m.parent_id == parent && m.student_id == student && m.requested_at >= since
                })
                .cloned()
                .collect(),
        })
    }

    async fn add_manual_request(
        &self,
        request: &crate::ports::NewManualRequest,
    ) -> Result<crate::domain::ManualId, StoreError> {
        let mut state = self.0.lock().expect("store lock");
        let mut scenario = state.snapshot.scenario().clone();
        let next = scenario
            .manual
            .iter()
            .map(|m| m.id.get())
            .max()
            .unwrap_or(0)
            + 1;
        let id =
            crate::domain::ManualId::new(next).map_err(|e| StoreError::Backend(e.to_string()))?;
        scenario.manual.push(crate::domain::ManualRequest {
            id,
            parent_id: request.parent,
            student_id: request.student,
            title: request.title.to_string(),
            message: request.message.to_string(),
            requested_at: request.requested_at,
        });
        state.snapshot = Snapshot::new(scenario);
        Ok(id)
    }

    async fn schedule_input(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<crate::ports::ScheduleInput, StoreError> {
        let state = self.0.lock().expect("store lock");
        let scenario = state.snapshot.scenario();
        Ok(crate::ports::ScheduleInput {
            plans: scenario.study_plans.clone(),
            students: scenario
                .study_plans
                .iter()
                .filter_map(|p| state.snapshot.student(p.student_id))
                .map(|s| (s.id, s.clone()))
                .collect(),
            existing: scenario
                .sessions
                .iter()
                .filter(|s| from <= s.starts_at && s.starts_at < until)
                .map(|s| (s.student_id, s.starts_at))
                .collect(),
        })
    }

    async fn add_sessions(
        &self,
        sessions: &[crate::schedule::NewSession],
    ) -> Result<Vec<crate::domain::Session>, StoreError> {
        let mut state = self.0.lock().expect("store lock");
        let mut scenario = state.snapshot.scenario().clone();
        let mut next = scenario
            .sessions
            .iter()
            .map(|s| s.id.get())
            .max()
            .unwrap_or(0);
        let mut added = Vec::new();
        for new in sessions {
            next += 1;
            let id = crate::domain::SessionId::new(next)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            added.push(new.with_id(id));
        }
        scenario.sessions.extend(added.iter().cloned());
        state.snapshot = Snapshot::new(scenario);
        Ok(added)
    }

    /// The whole input cut into parts as a SQL store does: sessions and manual requests
    /// first, then inactivity and weekly candidates `part_size` at a time, so the service's
    /// part-by-part planning is exercised in memory too.
    async fn plan_parts(
        &self,
        window: &PlanWindow,
        settings: &Settings,
        part_size: usize,
        mut parts: PlanParts,
    ) -> Result<(), StoreError> {
        let whole = self.plan_input(window, settings).await?;
        for part in split_plan_input(whole, part_size.max(1)) {
            if !parts.send(part).await {
                break;
            }
        }
        Ok(())
    }

    async fn release(&self, claims: &[Claim], now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut state = self.0.lock().expect("store lock");
        for claim in claims {
            if let Some(row) = state.log.iter_mut().find(|r| r.id == claim.id)
                && row.status == ReminderStatus::Sending
                && row
                    .lease
                    .as_ref()
                    .is_some_and(|l| l.owner == claim.lease.owner && now < l.until)
            {
                row.status = ReminderStatus::Pending;
                row.lease = None;
            }
        }
        Ok(())
    }

    async fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let state = self.0.lock().expect("store lock");
        Ok(state
            .log
            .iter()
            .filter_map(|r| match r.status {
                ReminderStatus::Pending => Some(r.next_attempt_at),
                ReminderStatus::Sending => r.lease.as_ref().map(|l| l.until),
                _ => None,
            })
            .min())
    }

    async fn opt_out(&self, student: StudentId, family: Family) -> Result<bool, StoreError> {
        let mut state = self.0.lock().expect("store lock");
        let mut scenario = state.snapshot.scenario().clone();
        let target = scenario
            .students
            .iter_mut()
            .find(|s| s.id == student)
            .ok_or(StoreError::NotFound {
                what: "student",
                id: student.get(),
            })?;
        let changed = target.opt_out.add(family);
        if changed {
            state.snapshot = Snapshot::new(scenario);
        }
        Ok(changed)
    }
}

/// A student for tests: active, subscribed, French, in the platform's zone, no activity
/// recorded, e-mail `s{id}@example.org`.
pub fn student(id: i64) -> crate::domain::Student {
    crate::domain::Student {
        id: StudentId::new(id).expect("test ids are positive"),
        first_name: "Awa".into(),
        last_name: String::new(),
        email: crate::domain::EmailAddress::parse(format!("s{id}@example.org"))
            .expect("a valid address"),
        timezone: None,
        locale: crate::domain::Locale::Fr,
        account_active: true,
        subscription_active: true,
        created_at: None,
        last_activity_at: None,
        opt_out: crate::domain::OptOuts::default(),
    }
}

/// A parent for tests, of the given children, e-mail `p{id}@example.org`.
pub fn parent(id: i64, children: &[i64]) -> crate::domain::Parent {
    crate::domain::Parent {
        id: crate::domain::ParentId::new(id).expect("test ids are positive"),
        first_name: "Mariam".into(),
        last_name: String::new(),
        email: crate::domain::EmailAddress::parse(format!("p{id}@example.org"))
            .expect("a valid address"),
        children: children
            .iter()
            .map(|&c| StudentId::new(c).expect("test ids are positive"))
            .collect(),
    }
}

/// A small school used by the service tests of every store: two students (Abidjan and the
/// default Paris zone), one parent, two sessions on 2026-11-27 and one manual request; at
/// 2026-11-26T18:45Z four reminders are due (with its 12-hour grace).
pub const SMALL_SCHOOL: &str = r#"{
  "settings": { "grace_minutes": 720 },
  "students": [
    { "id": 1, "first_name": "Awa", "last_name": "Koné", "email": "awa@example.org",
      "timezone": "Africa/Abidjan", "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-23T17:03:00Z" },
    { "id": 2, "first_name": "Lucas", "email": "lucas@example.org",
      "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-25T19:00:00Z" }
  ],
  "parents": [ { "id": 10, "first_name": "Mariam", "email": "m@example.org", "children": [1] } ],
  "sessions": [
    { "id": 100, "student_id": 1, "subject": "Mathématiques", "objective": "Fractions",
      "starts_at": "2026-11-27T14:00:00Z" },
    { "id": 101, "student_id": 2, "subject": "Physique", "starts_at": "2026-11-27T09:00:00+01:00" }
  ],
  "manual": [ { "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise ce soir",
                "message": "Courage !", "requested_at": "2026-11-26T18:00:00Z" } ]
}"#;

/// A synthetic platform of `students` students for scale measurements: spread over eight
/// zones, activity over the 60 days before `base`, one session in four students over the
/// 14 days after it; 2 % closed accounts, one in seven without subscription.
pub fn synthetic_platform(students: usize, base: DateTime<Utc>) -> Scenario {
    const ZONES: [&str; 8] = [
        "Europe/Paris",
        "Africa/Abidjan",
        "America/New_York",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "Africa/Dakar",
        "America/Montreal",
        "Indian/Reunion",
    ];
    let zones: Vec<Zone> = ZONES
        .iter()
        .map(|z| Zone::parse(z).expect("known zone"))
        .collect();
    let mut scenario = Scenario::default();
    for i in 0..students {
        let id = i as i64 + 1;
        let mut s = student(id);
        s.first_name = format!("Eleve{id}");
        s.timezone = Some(zones[i % zones.len()]);
        s.locale = if i % 3 == 0 {
            crate::domain::Locale::En
        } else {
            crate::domain::Locale::Fr
        };
        s.account_active = i % 50 != 0;
        s.subscription_active = i % 7 != 0;
        s.last_activity_at = Some(base - TimeDelta::minutes((i as i64 * 7919) % (60 * 24 * 60)));
        scenario.students.push(s);
        if i % 4 == 0 {
            scenario.sessions.push(crate::domain::Session {
                id: crate::domain::SessionId::new(id).expect("positive id"),
                student_id: StudentId::new(id).expect("positive id"),
                subject: "Mathématiques".to_owned(),
                objective: String::new(),
                starts_at: base + TimeDelta::minutes((i as i64 * 104_729) % (14 * 24 * 60)),
                duration_minutes: 60,
                status: crate::domain::SessionStatus::Scheduled,
            });
        }
    }
    scenario
}
