//! Sessions created from weekly study plans (the original `programmer_sessions`), and the
//! next instant anything can become due (what a daemon sleeps until).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, TimeDelta, Utc};

use crate::domain::{Session, SessionStatus, Student, StudentId, StudyPlan, StudyPlanId, Zone};
use crate::rules;
use crate::settings::Settings;

/// A session to create from a study plan; the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The plan it comes from.
    pub plan: StudyPlanId,
    /// The student.
    pub student: StudentId,
    /// The subject.
    pub subject: String,
    /// The objective.
    pub objective: String,
    /// When it starts: `at(date, plan.time, student's zone)`.
    pub starts_at: DateTime<Utc>,
    /// Its length.
    pub duration_minutes: u32,
}

impl NewSession {
    /// The session once the store has given it `id`.
    pub fn with_id(&self, id: crate::domain::SessionId) -> Session {
        Session {
            id,
            student_id: self.student,
            subject: self.subject.clone(),
            objective: self.objective.clone(),
            starts_at: self.starts_at,
            duration_minutes: self.duration_minutes,
            status: SessionStatus::Scheduled,
        }
    }
}

/// The sessions RULES.md's study-plan rule creates at `now` for the next `days` local dates
/// (today included, in each student's zone): one per plan and matching weekday, starting at
/// `at(date, plan.time, zone)`, for students with an active account and subscription, unless
/// the student already has a session starting at that instant or it has already started.
/// Running it again with the created sessions in `existing` creates nothing.
pub fn sessions_to_create(
    plans: &[StudyPlan],
    students: &HashMap<StudentId, Student>,
    existing: &HashSet<(StudentId, DateTime<Utc>)>,
    now: DateTime<Utc>,
    days: u32,
    settings: &Settings,
) -> Vec<NewSession> {
    let mut planned: HashSet<(StudentId, DateTime<Utc>)> = HashSet::new();
    let mut out = Vec::new();
    for plan in plans {
        let Some(student) = students.get(&plan.student_id) else {
            continue;
        };
        if !(student.account_active && student.subscription_active) {
            continue;
        }
        let zone = student.zone(settings.timezone);
        let today = rules::local_date(now, zone);
        for offset in 0..i64::from(days) {
            let date = today + TimeDelta::days(offset);
            if date.weekday() != plan.weekday.chrono() {
                continue;
            }
            let starts_at = rules::slot_at(date, plan.time, zone);
            let slot = (plan.student_id, starts_at);
            if starts_at <= now || existing.contains(&slot) || !planned.insert(slot) {
                continue;
            }
            out.push(NewSession {
                plan: plan.id,
                student: plan.student_id,
                subject: plan.subject.clone(),
                objective: plan.objective.clone(),
                starts_at,
                duration_minutes: plan.duration_minutes,
            });
        }
    }
    out.sort_by_key(|s| (s.starts_at, s.student, s.plan));
    out
}

/// The first instant strictly after `after` at which a slot of any kind begins in any of
/// `zones`: the eve, morning and inactivity times every day, the digest on its weekday.
/// Between two such instants nothing new can become due (manual requests and retries
/// aside), so a daemon can sleep until then.
pub fn next_slot_after(
    after: DateTime<Utc>,
    settings: &Settings,
    zones: impl IntoIterator<Item = Zone>,
) -> DateTime<Utc> {
    let mut next: Option<DateTime<Utc>> = None;
    for zone in zones {
        let today = rules::local_date(after, zone);
        // Yesterday too: a slot in a gap may land on the next local day.
        for offset in -1..=8 {
            let date = today + TimeDelta::days(offset);
            let mut times = vec![
                settings.session_eve_time,
                settings.session_day_time,
                settings.inactivity_time,
            ];
            if rules::is_weekly_date(date, settings) {
                times.push(settings.weekly_time);
            }
            for time in times {
                let slot = rules::slot_at(date, time, zone);
                if slot > after && next.is_none_or(|n| slot < n) {
                    next = Some(slot);
                }
            }
        }
    }
    // With no zone at all (an empty store), check again in an hour.
    next.unwrap_or(after + TimeDelta::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TimeOfDay, Weekday, parse_instant};
    use crate::testing::student;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    fn plan(id: i64, student: i64, weekday: &str, time: &str) -> StudyPlan {
        StudyPlan {
            id: StudyPlanId::new(id).unwrap(),
            student_id: StudentId::new(student).unwrap(),
            weekday: Weekday::parse(weekday).unwrap(),
            time: TimeOfDay::parse(time).unwrap(),
            subject: "Physique".into(),
            objective: "Exercices".into(),
            duration_minutes: 60,
        }
    }

    #[test]
    fn plans_create_the_next_weekdays_once() {
        let settings = Settings::default();
        let students: HashMap<_, _> = [(StudentId::new(2).unwrap(), student(2))]
            .into_iter()
            .collect();
        let plans = [plan(7, 2, "wednesday", "17:00")];
        // Thursday 2026-11-26: the next 14 days hold two Wednesdays (Dec 2 and Dec 9).
        let now = t("2026-11-26T09:00:00Z");
        let created = sessions_to_create(&plans, &students, &HashSet::new(), now, 14, &settings);
        let starts: Vec<_> = created.iter().map(|s| s.starts_at).collect();
        assert_eq!(
            starts,
            [t("2026-12-02T16:00:00Z"), t("2026-12-09T16:00:00Z")]
        );
        let existing: HashSet<_> = created.iter().map(|s| (s.student, s.starts_at)).collect();
        assert!(sessions_to_create(&plans, &students, &existing, now, 14, &settings).is_empty());
        // Today's plan is created while it has not started, not after.
        let wednesday = t("2026-12-02T15:00:00Z");
        assert_eq!(
            sessions_to_create(&plans, &students, &HashSet::new(), wednesday, 1, &settings).len(),
            1
        );
        let late = t("2026-12-02T16:00:00Z");
        assert!(
            sessions_to_create(&plans, &students, &HashSet::new(), late, 1, &settings).is_empty()
        );
    }

    #[test]
    fn only_active_subscribed_students_get_sessions() {
        let settings = Settings::default();
        let mut lapsed = student(2);
        lapsed.subscription_active = false;
        let students: HashMap<_, _> = [(lapsed.id, lapsed)].into_iter().collect();
        let created = sessions_to_create(
            &[plan(7, 2, "wednesday", "17:00")],
            &students,
            &HashSet::new(),
            t("2026-11-26T09:00:00Z"),
            14,
            &settings,
        );
        assert!(created.is_empty());
        let unknown = sessions_to_create(
            &[plan(7, 9, "wednesday", "17:00")],
            &HashMap::new(),
            &HashSet::new(),
            t("2026-11-26T09:00:00Z"),
            14,
            &settings,
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn the_next_slot_is_the_earliest_time_of_any_zone() {
        let settings = Settings::default();
        let paris = Zone::parse("Europe/Paris").unwrap();
        let new_york = Zone::parse("America/New_York").unwrap();
        // Thursday 09:30Z: Paris's 10:00 (09:00Z) is past; the next is New York's 08:00 (13:00Z).
        assert_eq!(
            next_slot_after(t("2026-11-26T09:30:00Z"), &settings, [paris, new_york]),
            t("2026-11-26T13:00:00Z")
        );
        assert_eq!(
            next_slot_after(t("2026-11-26T09:30:00Z"), &settings, [paris]),
            t("2026-11-26T17:30:00Z")
        );
        // Sunday after the eve slot: the digest at 20:00 Paris (19:00Z) comes next.
        assert_eq!(
            next_slot_after(t("2026-11-29T17:30:00Z"), &settings, [paris]),
            t("2026-11-29T19:00:00Z")
        );
        // Strictly after: at a slot, the next one.
        assert_eq!(
            next_slot_after(t("2026-11-26T07:00:00Z"), &settings, [paris]),
            t("2026-11-26T09:00:00Z")
        );
        assert_eq!(
            next_slot_after(t("2026-11-26T07:00:00Z"), &settings, []),
            t("2026-11-26T08:00:00Z")
        );
    }
}
