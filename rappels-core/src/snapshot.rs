//! An in-memory, indexed snapshot of a scenario: the planner's candidate queries answered
//! from indexes built once, so a plan costs what is due rather than what is stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    IdIndex, ManualId, ManualRequest, Parent, ParentId, ReminderKey, Session, SessionId, Student,
    StudentId, Zone,
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

/// The students of each zone that the periodic rules may accept, by the local date their
/// inactivity is counted from (the sessions are added by [`Snapshot::new`]).
fn students_by_zone(students: &[Student], zone_of_student: &[Zone]) -> HashMap<Zone, ZoneIndex> {
    let mut zones: HashMap<Zone, ZoneIndex> = HashMap::new();
    for (i, (student, &zone)) in students.iter().zip(zone_of_student).enumerate() {
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
    zones
}

/// The sessions by start in each zone, and the sessions of each student by start, as
/// [`Snapshot`] keeps them.
struct SessionIndex {
    by_zone: HashMap<Zone, Vec<u32>>,
    offsets: Vec<u32>,
    by_student: Vec<u32>,
}

impl SessionIndex {
    /// Sessions are read in the order they are stored, which is also how their owners are
    /// usually stored, and sorted by (start, position) per zone and per owner: a stable sort
    /// by start, without reaching into the records at random.
    fn new(scenario: &Scenario, student_pos: &IdIndex, zone_of_student: &[Zone]) -> Self {
        let students = &scenario.students;
        let sessions = &scenario.sessions;
        let mut by_zone: HashMap<Zone, Vec<(DateTime<Utc>, u32)>> = HashMap::new();
        let mut owners = Vec::with_capacity(sessions.len());
        let mut offsets = vec![0u32; students.len() + 1];
        for (i, session) in sessions.iter().enumerate() {
            let owner = student_pos.position(students, session.student_id.get(), |s| s.id.get());
            owners.push(owner.map(pos));
            let Some(owner) = owner else {
                continue;
            };
            offsets[owner + 1] += 1;
            by_zone
                .entry(zone_of_student[owner])
                .or_default()
                .push((session.starts_at, pos(i)));
        }
        let by_zone = by_zone
            .into_iter()
            .map(|(zone, mut starts)| {
                starts.sort_unstable();
                (zone, starts.into_iter().map(|(_, i)| i).collect())
            })
            .collect();
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut by_student = vec![0u32; offsets.last().map_or(0, |&n| n as usize)];
        for (i, owner) in owners.into_iter().enumerate() {
            if let Some(owner) = owner {
                let slot = &mut next[owner as usize];
                by_student[*slot as usize] = pos(i);
                *slot += 1;
            }
        }
        for owner in 0..students.len() {
            let own = offsets[owner] as usize..offsets[owner + 1] as usize;
            by_student[own].sort_unstable_by_key(|&i| (sessions[i as usize].starts_at, i));
        }
        SessionIndex {
            by_zone,
            offsets,
            by_student,
        }
    }
}

/// A scenario with the indexes planning needs. Positions are `u32` to keep the indexes of a
/// million students small.
#[derive(Debug)]
pub struct Snapshot {
    scenario: Scenario,
    student_pos: IdIndex,
    parent_pos: IdIndex,
    session_pos: IdIndex,
    manual_pos: IdIndex,
    /// The sessions of the student at position `i` are
    /// `sessions_by_student[session_offsets[i]..session_offsets[i + 1]]`, by start: one
    /// list for all students rather than one allocation each.
    session_offsets: Vec<u32>,
    sessions_by_student: Vec<u32>,
    manual_by_time: Vec<u32>,
    zones: HashMap<Zone, ZoneIndex>,
    sent: HashSet<ReminderKey>,
}

fn pos(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 records of a kind")
}

impl Snapshot {
    /// Indexes a scenario. One pass over each list; the only per-student zone conversion is
    /// the local date inactivity is counted from. Sessions of a student the scenario does not
    /// hold (which validation refuses) are left out of the per-student index.
    pub fn new(scenario: Scenario) -> Self {
        // Below some tens of thousands of records, starting a thread costs more than it saves.
        let parallel = scenario.students.len() + scenario.sessions.len() >= 65_536;
        Self::build(scenario, parallel)
    }

    /// [`Snapshot::new`], building the students' and the sessions' indexes side by side
    /// when `parallel` (they are independent).
    fn build(scenario: Scenario, parallel: bool) -> Self {
        let default_zone = scenario.settings.timezone;
        let student_pos = IdIndex::new(&scenario.students, |s| s.id.get());
        let parent_pos = IdIndex::new(&scenario.parents, |p| p.id.get());
        let session_pos = IdIndex::new(&scenario.sessions, |s| s.id.get());
        let manual_pos = IdIndex::new(&scenario.manual, |m| m.id.get());
        let mut manual_by_time: Vec<u32> = (0..scenario.manual.len()).map(pos).collect();
        manual_by_time.sort_by_key(|&i| {
            let m = &scenario.manual[i as usize];
            (m.requested_at, m.id)
        });
        let zone_of_student: Vec<Zone> = scenario
            .students
            .iter()
            .map(|s| s.zone(default_zone))
            .collect();
        let (mut zones, sessions) = if !parallel {
            (
                students_by_zone(&scenario.students, &zone_of_student),
                SessionIndex::new(&scenario, &student_pos, &zone_of_student),
            )
        } else {
            std::thread::scope(|scope| {
                let students =
                    scope.spawn(|| students_by_zone(&scenario.students, &zone_of_student));
                let sessions = SessionIndex::new(&scenario, &student_pos, &zone_of_student);
                let students = match students.join() {
                    Ok(students) => students,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                (students, sessions)
            })
        };
        for (zone, by_start) in sessions.by_zone {
            if let Some(index) = zones.get_mut(&zone) {
                index.sessions_by_start = by_start;
            }
        }
        let sent = scenario.sent.iter().copied().collect();
        Snapshot {
            scenario,
            student_pos,
            parent_pos,
            session_pos,
            manual_pos,
            session_offsets: sessions.offsets,
            sessions_by_student: sessions.by_student,
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
            // The ranges are sorted, so where they overlap, the sessions before the end of
            // the ranges already taken are the ones taken: each session is taken once.
            let mut taken = 0;
            for (from, until) in zone_window.session_start_ranges() {
                // A session that has started can no longer be due.
                let from = from.max(at);
                let first = index
                    .sessions_by_start
                    .partition_point(|i| session_at(i) <= from)
                    .max(taken);
                let last = index
                    .sessions_by_start
                    .partition_point(|i| session_at(i) < until);
                if first < last {
                    candidates.sessions.extend(
                        index.sessions_by_start[first..last]
                            .iter()
                            .map(|&i| &sc.sessions[i as usize]),
                    );
                    taken = last;
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
        let sc = &self.scenario;
        let Some(at) = self
            .student_pos
            .position(&sc.students, student.get(), |s| s.id.get())
        else {
            return Vec::new();
        };
        let own = &self.sessions_by_student
            [self.session_offsets[at] as usize..self.session_offsets[at + 1] as usize];
        let first = own.partition_point(|&i| sc.sessions[i as usize].starts_at < from);
        own[first..]
            .iter()
            .map(|&i| &sc.sessions[i as usize])
            .take_while(|s| s.starts_at < until)
            .collect()
    }

    /// The manual request with this id.
    pub fn manual_request(&self, id: ManualId) -> Option<&ManualRequest> {
        let manual = &self.scenario.manual;
        self.manual_pos
            .position(manual, id.get(), |m| m.id.get())
            .map(|i| &manual[i])
    }

    /// The session with this id.
    pub fn session(&self, id: SessionId) -> Option<&Session> {
        let sessions = &self.scenario.sessions;
        self.session_pos
            .position(sessions, id.get(), |s| s.id.get())
            .map(|i| &sessions[i])
    }
}

impl Directory for Snapshot {
    fn student(&self, id: StudentId) -> Option<&Student> {
        let students = &self.scenario.students;
        self.student_pos
            .position(students, id.get(), |s| s.id.get())
            .map(|i| &students[i])
    }

    fn parent(&self, id: ParentId) -> Option<&Parent> {
        let parents = &self.scenario.parents;
        self.parent_pos
            .position(parents, id.get(), |p| p.id.get())
            .map(|i| &parents[i])
    }

    fn was_sent(&self, key: &ReminderKey) -> bool {
        self.sent.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;
    use crate::testing::{SMALL_SCHOOL, synthetic_platform};

    /// A school with parents and manual requests, then a platform big enough to have many
    /// students per zone and date.
    fn schools() -> Vec<Scenario> {
        let base = parse_instant("2026-11-26T00:00:00Z").unwrap();
        vec![
            Scenario::from_json(SMALL_SCHOOL).unwrap(),
            synthetic_platform(600, base),
        ]
    }

    /// The same records, stored in other orders: ids decreasing (so looked up through a
    /// map) and increasing with gaps (looked up by binary search).
    fn reordered(scenario: &Scenario) -> Vec<Scenario> {
        let mut reversed = scenario.clone();
        reversed.students.reverse();
        reversed.parents.reverse();
        reversed.sessions.reverse();
        reversed.manual.reverse();
        let mut gapped = scenario.clone();
        let keep = |i: usize| i % 3 != 1;
        let dropped: HashSet<StudentId> = scenario
            .students
            .iter()
            .enumerate()
            .filter(|(i, _)| !keep(*i))
            .map(|(_, s)| s.id)
            .collect();
        gapped.students.retain(|s| !dropped.contains(&s.id));
        gapped.sessions.retain(|s| !dropped.contains(&s.student_id));
        vec![reversed, gapped]
    }

    fn instants() -> Vec<DateTime<Utc>> {
        [
            "2026-11-26T18:45:00Z",
            "2026-11-27T07:00:00Z",
            "2026-11-29T19:00:00Z",
            "2026-12-01T12:00:00Z",
        ]
        .into_iter()
        .map(|t| parse_instant(t).unwrap())
        .collect()
    }

    #[test]
    fn the_order_of_the_records_changes_no_plan() {
        for school in schools() {
            let original = Snapshot::new(school.clone());
            let reversed = Snapshot::new(reordered(&school).swap_remove(0));
            for at in instants() {
                assert_eq!(original.plan(at), reversed.plan(at), "at {at}");
            }
        }
    }

    #[test]
    fn indexes_built_side_by_side_are_the_same() {
        for school in schools() {
            let sequential = Snapshot::build(school.clone(), false);
            let parallel = Snapshot::build(school.clone(), true);
            for at in instants() {
                assert_eq!(sequential.plan(at), parallel.plan(at), "at {at}");
            }
            for student in &school.students {
                let (from, until) = rules::digest_span(instants()[2]);
                assert_eq!(
                    sequential.sessions_of(student.id, from, until),
                    parallel.sessions_of(student.id, from, until)
                );
            }
        }
    }

    #[test]
    fn lookups_find_every_record_whatever_the_order() {
        for school in schools() {
            for scenario in std::iter::once(school.clone()).chain(reordered(&school)) {
                let snapshot = Snapshot::new(scenario.clone());
                for student in &scenario.students {
                    assert_eq!(snapshot.student(student.id), Some(student));
                    let (from, until) = rules::digest_span(instants()[2]);
                    let mut expected: Vec<&Session> = scenario
                        .sessions
                        .iter()
                        .filter(|s| s.student_id == student.id)
                        .filter(|s| from <= s.starts_at && s.starts_at < until)
                        .collect();
                    expected.sort_by_key(|s| s.starts_at);
                    let found = snapshot.sessions_of(student.id, from, until);
                    let starts =
                        |list: &[&Session]| list.iter().map(|s| s.starts_at).collect::<Vec<_>>();
                    assert_eq!(starts(&found), starts(&expected));
                }
                for session in &scenario.sessions {
                    assert_eq!(snapshot.session(session.id), Some(session));
                }
                for parent in &scenario.parents {
                    assert_eq!(snapshot.parent(parent.id), Some(parent));
                }
                for request in &scenario.manual {
                    assert_eq!(snapshot.manual_request(request.id), Some(request));
                }
                let absent = StudentId::new(9_999_999).unwrap();
                assert_eq!(snapshot.student(absent), None);
                assert!(
                    snapshot
                        .sessions_of(absent, instants()[0], instants()[3])
                        .is_empty()
                );
            }
        }
    }
}
