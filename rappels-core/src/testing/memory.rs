//! The in-memory store: the reference implementation of the ports over a scenario, which
//! the SQL stores are compared with.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{Family, StudentId, Zone};
use crate::permissions::HistoryScope;
use crate::plan::{Directory, PlanWindow};
use crate::ports::{
    Claim, Envelope, History, Lease, LogEntry, NewReminder, Outcome, PlanInput, PlanParts,
    Platform, ReminderLog, ReminderStatus, Stats, StoreError,
};
use crate::rules;
use crate::scenario::Scenario;
use crate::settings::Settings;
use crate::snapshot::Snapshot;

/// One row of the in-memory reminder log.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Row id (1, 2, …).
    pub id: i64,
    /// The reminder.
    pub reminder: NewReminder,
    /// The message of its last attempt, once one was built.
    pub envelope: Option<Envelope>,
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

    /// Replaces the platform's data, keeping the reminder log, as an import of a changed
    /// export does: what tests of send-time behaviour change between recording and sending.
    pub fn replace_platform(&self, scenario: Scenario) {
        let mut state = self.0.lock().expect("store lock");
        let mut snapshot = Snapshot::new(scenario);
        // The log's keys stay recorded, as in a SQL store whose log outlives imports.
        for row in &state.log {
            snapshot.mark_sent(row.reminder.key);
        }
        state.snapshot = snapshot;
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

/// What building the messages of `reminders` needs, from the scenario as it is now.
fn message_input(snapshot: &Snapshot, reminders: &[NewReminder]) -> PlanInput {
    let mut input = PlanInput::default();
    let mut spans = std::collections::HashMap::new();
    for reminder in reminders {
        let key = reminder.key;
        let Some(student) = snapshot.student(reminder.student) else {
            continue;
        };
        input.students.insert(student.id, student.clone());
        if let Some(session) = key.session().and_then(|id| snapshot.session(id)) {
            input.sessions.insert(session.id, session.clone());
        }
        if let Some(request) = key.manual().and_then(|id| snapshot.manual_request(id)) {
            if let Some(parent) = snapshot.parent(request.parent_id) {
                input.parents.insert(parent.id, parent.clone());
            }
            input.manual.insert(request.id, request.clone());
        }
        if key.kind() == crate::domain::Kind::Weekly {
            let (from, until) = rules::digest_span(reminder.due_at);
            let span = spans.entry(student.id).or_insert((from, until));
            *span = (span.0.min(from), span.1.max(until));
        }
    }
    // One read per student, over the union of their digests' spans, so that two digests of
    // one student in the same batch do not list a session twice.
    for (student, (from, until)) in spans {
        let sessions = snapshot.sessions_of(student, from, until);
        input
            .digest_sessions
            .insert(student, sessions.into_iter().cloned().collect());
    }
    input
}

fn entry(row: &LogRow) -> LogEntry {
    LogEntry {
        key: row.reminder.key,
        student: row.reminder.student,
        due_at: row.reminder.due_at,
        status: row.status,
        attempts: row.attempts,
        subject: row
            .envelope
            .as_ref()
            .map(|e| e.message.subject.clone())
            .unwrap_or_default(),
        sent_at: row.sent_at,
        last_error: row.last_error.clone(),
    }
}

#[async_trait]
impl Platform for MemoryStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(self
            .0
            .lock()
            .expect("store lock")
            .snapshot
            .settings()
            .clone())
    }

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
        let (from, until) = rules::digest_span(window.at);
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

    async fn parent(
        &self,
        id: crate::domain::ParentId,
    ) -> Result<Option<crate::domain::Parent>, StoreError> {
        let state = self.0.lock().expect("store lock");
        Ok(state.snapshot.parent(id).cloned())
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

    async fn message_input(&self, reminders: &[NewReminder]) -> Result<PlanInput, StoreError> {
        let state = self.0.lock().expect("store lock");
        Ok(message_input(&state.snapshot, reminders))
    }
}

#[async_trait]
impl ReminderLog for MemoryStore {
    async fn record_due(
        &self,
        reminders: &[NewReminder],
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
                reminder: *reminder,
                envelope: None,
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
                    reminder: row.reminder,
                    attempts: row.attempts,
                    lease: new_lease,
                    envelope: None,
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
        row.attempts += u32::from(!matches!(
            outcome,
            Outcome::Expired | Outcome::Cancelled { .. }
        ));
        if let Some(envelope) = &claim.envelope {
            row.envelope = Some(Envelope::clone(envelope));
        }
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
            Outcome::Cancelled { reason } => {
                row.status = ReminderStatus::Cancelled;
                row.last_error = Some(reason.clone());
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
}

#[async_trait]
impl History for MemoryStore {
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
                ReminderStatus::Cancelled => stats.cancelled += 1,
            }
        }
        Ok(stats)
    }
}
