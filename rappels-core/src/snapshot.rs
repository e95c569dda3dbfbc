//! An in-memory, indexed snapshot of a scenario: the planner's candidate queries answered
//! from indexes built once, so a plan costs what is due rather than what is stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::{
    ManualId, ManualRequest, Parent, ParentId, ReminderKey, Session, SessionId, Student, StudentId,
    Zone,
};
use crate::plan::{self, Candidates, Directory, Plan, PlanWindow};
use crate::rules;
use crate::scenario::Scenario;
use crate::settings::Settings;

/// The records of one zone: students who may get inactivity or weekly reminders, bucketed by
/// the local date inactivity is counted from, and the sessions of the zone's students
/// sorted by start.
#[derive(Debug, Default)]
struct ZoneIndex {
    periodic: Vec<u32>,
    by_reference_date: BTreeMap<NaiveDate, Vec<u32>>,
    sessions_by_start: Vec<u32>,
}

/// A scenario with the indexes planning needs. Positions are `u32` to keep the indexes of a
/// million students small.
#[derive(Debug)]
pub struct Snapshot {
    scenario: Scenario,
    student_pos: HashMap<StudentId, u32>,
    parent_pos: HashMap<ParentId, u32>,
    session_pos: HashMap<SessionId, u32>,
    manual_pos: HashMap<ManualId, u32>,
    sessions_by_student: HashMap<StudentId, Vec<u32>>,
    manual_by_time: Vec<u32>,
    zones: HashMap<Zone, ZoneIndex>,
    sent: HashSet<ReminderKey>,
}

fn pos(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 records of a kind")
}

impl Snapshot {
    /// Indexes a validated scenario. One pass over each list; the only per-student zone
    /// conversion is the local date inactivity is counted from.
    pub fn new(scenario: Scenario) -> Self {
        let default_zone = scenario.settings.timezone;
        let student_pos: HashMap<StudentId, u32> = scenario
            .students
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, pos(i)))
            .collect();
        let parent_pos = scenario
            .parents
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, pos(i)))
            .collect();
        let session_pos = scenario
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, pos(i)))
            .collect();
        let manual_pos = scenario
            .manual
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id, pos(i)))
            .collect();
        let mut sessions_by_start: Vec<u32> = (0..scenario.sessions.len()).map(pos).collect();
        sessions_by_start.sort_by_key(|&i| scenario.sessions[i as usize].starts_at);
        let mut manual_by_time: Vec<u32> = (0..scenario.manual.len()).map(pos).collect();
        manual_by_time.sort_by_key(|&i| {
            let m = &scenario.manual[i as usize];
            (m.requested_at, m.id)
        });

        let mut zones: HashMap<Zone, ZoneIndex> = HashMap::new();
        for (i, student) in scenario.students.iter().enumerate() {
            let zone = student.zone(default_zone);
            let index = zones.entry(zone).or_default();
            // Only students the periodic rules can accept are indexed for them; the rules
            // still decide, so this is an optimisation, not a second copy of the rule.
            if !(student.account_active && student.subscription_active) {
                continue;
            }
            index.periodic.push(pos(i));
            if let Some(date) = rules::inactivity_reference_date(student, zone) {
                index
                    .by_reference_date
                    .entry(date)
                    .or_default()
                    .push(pos(i));
            }
        }
        let mut sessions_by_student: HashMap<StudentId, Vec<u32>> = HashMap::new();
        for &i in &sessions_by_start {
            let owner = scenario.sessions[i as usize].student_id;
            sessions_by_student.entry(owner).or_default().push(i);
            let Some(&at) = student_pos.get(&owner) else {
                continue;
            };
            let zone = scenario.students[at as usize].zone(default_zone);
            if let Some(index) = zones.get_mut(&zone) {
                index.sessions_by_start.push(i);
            }
        }
        let sent = scenario.sent.iter().copied().collect();
        Snapshot {
            scenario,
            student_pos,
            parent_pos,
            session_pos,
            manual_pos,
            sessions_by_student,
            manual_by_time,
            zones,
            sent,
        }
    }

    /// The scenario behind the snapshot.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The settings of the scenario.
    pub fn settings(&self) -> &Settings {
        &self.scenario.settings
    }

    /// Records a reminder as sent, so later plans leave it out.
    pub fn mark_sent(&mut self, key: ReminderKey) {
        if self.sent.insert(key) {
            self.scenario.sent.push(key);
        }
    }

    /// The window at `at` for the zones of this snapshot's students.
    pub fn window(&self, at: DateTime<Utc>) -> PlanWindow {
        PlanWindow::new(at, self.settings(), self.zones.keys().copied())
    }

    /// The records that may be due in `window` (step 2 of planning), from the indexes: per
    /// zone, the sessions starting on the local days that can have a reminder due, the
    /// students whose last-activity date hits the ladder, and the subscribed students when a
    /// digest is due; then the manual requests made by `at`.
    pub fn candidates(&self, window: &PlanWindow) -> Candidates<'_> {
        let sc = &self.scenario;
        let at = window.at;
        let settings = self.settings();
        let session_at = |i: &u32| sc.sessions[*i as usize].starts_at;
        let student = |i: &u32| &sc.students[*i as usize];
        let mut candidates = Candidates::default();
        for zone_window in window.zones() {
            let Some(index) = self.zones.get(&zone_window.zone) else {
                continue;
            };
            let mut seen = HashSet::new();
            for (from, until) in zone_window.session_start_ranges() {
                // A session that has started can no longer be due.
                let from = from.max(at);
                let first = index
                    .sessions_by_start
                    .partition_point(|i| session_at(i) <= from);
                let last = index
                    .sessions_by_start
                    .partition_point(|i| session_at(i) < until);
                for &i in &index.sessions_by_start[first..last.max(first)] {
                    if seen.insert(i) {
                        candidates.sessions.push(&sc.sessions[i as usize]);
                    }
                }
            }
            if !zone_window.weekly.is_empty() {
                candidates.weekly.extend(index.periodic.iter().map(student));
            }
            for dates in zone_window.activity_dates(settings) {
                for date in &dates.exact {
                    if let Some(list) = index.by_reference_date.get(date) {
                        candidates.inactivity.extend(list.iter().map(student));
                    }
                }
                if let Some(repeat) = dates.repeat {
                    for (_, list) in index
                        .by_reference_date
                        .range(..repeat.anchor)
                        .filter(|(date, _)| repeat.matches(**date))
                    {
                        candidates.inactivity.extend(list.iter().map(student));
                    }
                }
            }
        }
        let made = self
            .manual_by_time
            .partition_point(|&i| sc.manual[i as usize].requested_at <= at);
        candidates.manual = self.manual_by_time[..made]
            .iter()
            .map(|&i| &sc.manual[i as usize])
            .collect();
        candidates
    }

    /// The plan at `at`: window, candidates, decision.
    pub fn plan(&self, at: DateTime<Utc>) -> Plan {
        let window = self.window(at);
        let candidates = self.candidates(&window);
        plan::due_reminders(&window, self.settings(), &candidates, self)
    }

    /// The sessions of a student starting in `[from, until)`, for the weekly digest: a
    /// range over the student's own sessions, sorted by start.
    pub fn sessions_of(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<&Session> {
        let sessions = &self.scenario.sessions;
        let Some(own) = self.sessions_by_student.get(&student) else {
            return Vec::new();
        };
        let first = own.partition_point(|&i| sessions[i as usize].starts_at < from);
        own[first..]
            .iter()
            .map(|&i| &sessions[i as usize])
            .take_while(|s| s.starts_at < until)
            .collect()
    }

    /// The manual request with this id.
    pub fn manual_request(&self, id: ManualId) -> Option<&ManualRequest> {
        self.manual_pos
            .get(&id)
            .map(|&i| &self.scenario.manual[i as usize])
    }

    /// The session with this id.
    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.session_pos
            .get(&id)
            .map(|&i| &self.scenario.sessions[i as usize])
    }

    /// A span of session starts that covers the week before and the week after any digest
    /// due at `at` (digests are due at most a day after their slot).
    pub fn digest_span(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (at - TimeDelta::days(9), at + TimeDelta::days(9))
    }
}

impl Directory for Snapshot {
    fn student(&self, id: StudentId) -> Option<&Student> {
        self.student_pos
            .get(&id)
            .map(|&i| &self.scenario.students[i as usize])
    }

    fn parent(&self, id: ParentId) -> Option<&Parent> {
        self.parent_pos
            .get(&id)
            .map(|&i| &self.scenario.parents[i as usize])
    }

    fn was_sent(&self, key: &ReminderKey) -> bool {
        self.sent.contains(key)
    }
}
