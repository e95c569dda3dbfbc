//! An in-memory, indexed snapshot of a scenario: the planner's candidate queries answered
//! from indexes built once, so a plan costs what is due rather than what is stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{
    ManualRequest, Parent, ParentId, ReminderKey, Session, Student, StudentId, Zone,
};
use crate::plan::{self, Candidates, Directory, Plan, PlanWindow};
use crate::rules;
use crate::scenario::Scenario;
use crate::settings::Settings;

/// Students who may get inactivity or weekly reminders in one zone, bucketed by the local
/// date inactivity is counted from.
#[derive(Debug, Default)]
struct ZoneStudents {
    all: Vec<u32>,
    by_reference_date: BTreeMap<chrono::NaiveDate, Vec<u32>>,
}

/// A scenario with the indexes planning needs. Positions are `u32` to keep the indexes of a
/// million students small.
#[derive(Debug)]
pub struct Snapshot {
    scenario: Scenario,
    student_pos: HashMap<StudentId, u32>,
    parent_pos: HashMap<ParentId, u32>,
    sessions_by_start: Vec<u32>,
    manual_by_time: Vec<u32>,
    periodic: HashMap<Zone, ZoneStudents>,
    sent: HashSet<ReminderKey>,
}

impl Snapshot {
    /// Indexes a validated scenario. One pass over each list; the only per-student zone
    /// conversion is the local date inactivity is counted from.
    pub fn new(scenario: Scenario) -> Self {
        let pos = |i: usize| u32::try_from(i).expect("fewer than 2^32 records");
        let default_zone = scenario.settings.timezone;
        let student_pos = scenario
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
        let mut sessions_by_start: Vec<u32> = (0..scenario.sessions.len()).map(pos).collect();
        sessions_by_start.sort_by_key(|&i| scenario.sessions[i as usize].starts_at);
        let mut manual_by_time: Vec<u32> = (0..scenario.manual.len()).map(pos).collect();
        manual_by_time.sort_by_key(|&i| {
            let m = &scenario.manual[i as usize];
            (m.requested_at, m.id)
        });
        let mut periodic: HashMap<Zone, ZoneStudents> = HashMap::new();
        for (i, student) in scenario.students.iter().enumerate() {
            // Only students the periodic rules can accept are indexed; the rules still
            // decide, so this is an optimisation, not a second copy of the rule.
            if !(student.account_active && student.subscription_active) {
                continue;
            }
            let zone = student.zone(default_zone);
            let bucket = periodic.entry(zone).or_default();
            bucket.all.push(pos(i));
            if let Some(date) = rules::inactivity_reference_date(student, zone) {
                bucket
                    .by_reference_date
                    .entry(date)
                    .or_default()
                    .push(pos(i));
            }
        }
        let sent = scenario.sent.iter().copied().collect();
        Snapshot {
            scenario,
            student_pos,
            parent_pos,
            sessions_by_start,
            manual_by_time,
            periodic,
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
        PlanWindow::new(at, self.settings(), self.periodic.keys().copied())
    }

    /// The records that may be due in `window` (step 2 of planning), from the indexes.
    pub fn candidates(&self, window: &PlanWindow) -> Candidates<'_> {
        let sc = &self.scenario;
        let at = window.at;
        let settings = self.settings();
        let session_at = |i: &u32| sc.sessions[*i as usize].starts_at;
        let from = self
            .sessions_by_start
            .partition_point(|i| session_at(i) <= at);
        let to = self
            .sessions_by_start
            .partition_point(|i| session_at(i) <= window.session_starts_until);
        let sessions = self.sessions_by_start[from..to.max(from)]
            .iter()
            .map(|&i| &sc.sessions[i as usize])
            .collect();

        let mut inactivity = Vec::new();
        let mut weekly = Vec::new();
        let student = |i: &u32| &sc.students[*i as usize];
        for zone_window in window.zones() {
            let Some(bucket) = self.periodic.get(&zone_window.zone) else {
                continue;
            };
            if !zone_window.weekly.is_empty() {
                weekly.extend(bucket.all.iter().map(student));
            }
            for dates in zone_window.activity_dates(settings) {
                for date in &dates.exact {
                    if let Some(list) = bucket.by_reference_date.get(date) {
                        inactivity.extend(list.iter().map(student));
                    }
                }
                if let Some(repeat) = dates.repeat {
                    for (_, list) in bucket
                        .by_reference_date
                        .range(..repeat.anchor)
                        .filter(|(date, _)| repeat.matches(**date))
                    {
                        inactivity.extend(list.iter().map(student));
                    }
                }
            }
        }

        let until = self
            .manual_by_time
            .partition_point(|&i| sc.manual[i as usize].requested_at <= at);
        let manual = self.manual_by_time[..until]
            .iter()
            .map(|&i| &sc.manual[i as usize])
            .collect();
        Candidates {
            sessions,
            inactivity,
            weekly,
            manual,
        }
    }

    /// The plan at `at`: window, candidates, decision.
    pub fn plan(&self, at: DateTime<Utc>) -> Plan {
        let window = self.window(at);
        let candidates = self.candidates(&window);
        plan::due_reminders(&window, self.settings(), &candidates, self)
    }

    /// The sessions of a student starting in `[from, until)`, for the weekly digest.
    pub fn sessions_of(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<&Session> {
        let sc = &self.scenario;
        // Digest content is not on the planning hot path; a week's range over the sorted
        // index keeps it proportional to the sessions of that week.
        let start = self
            .sessions_by_start
            .partition_point(|&i| sc.sessions[i as usize].starts_at < from);
        self.sessions_by_start[start..]
            .iter()
            .map(|&i| &sc.sessions[i as usize])
            .take_while(|s| s.starts_at < until)
            .filter(|s| s.student_id == student)
            .collect()
    }

    /// The manual request with this id.
    pub fn manual_request(&self, id: crate::domain::ManualId) -> Option<&ManualRequest> {
        self.scenario.manual.iter().find(|m| m.id == id)
    }

    /// The session with this id.
    pub fn session(&self, id: crate::domain::SessionId) -> Option<&Session> {
        self.scenario.sessions.iter().find(|s| s.id == id)
    }

    /// The whole span sessions are looked up over for a digest dated `slot`: the week
    /// before and the week after.
    pub fn digest_span(slot: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (slot - TimeDelta::days(7), slot + TimeDelta::days(8))
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
