//! A realistic synthetic school for trying rappels at scale: students on several continents,
//! families, two weeks of sessions, manual requests (some of which the rules refuse) and
//! study plans, generated deterministically from a seed and a first Monday.
//!
//! # Why it is shaped this way
//!
//! `rappels gen-scenario` must write a million students in seconds without holding them in
//! memory, and benchmarks want the same school as a [`Scenario`]. So every record list is an
//! iterator that builds one record at a time, and every record is drawn from its own random
//! stream, seeded from (seed, kind of record, index): the tenth student is the same whether
//! or not the first nine were generated, any list can be walked again on its own (the
//! sessions pass recomputes each student's zone instead of remembering it), and the output
//! depends only on the seed, the number of students and the first Monday. The only state
//! that must be walked in order is the split of students into families, which costs one
//! draw per family.
//!
//! The school looks like a French-speaking tutoring platform with students abroad: about half
//! in Paris (a tenth of them without a zone of their own, so they follow
//! `settings.timezone`), the rest in West Africa, Réunion, the Caribbean, Québec, New York,
//! London, Kolkata, Sydney and Nouméa. It is built to exercise every rule of RULES.md:
//! closed accounts, students without subscription, opt-outs of every family, activity spread
//! over 40 days (so every rung of the inactivity ladder is hit every day), sessions between
//! 08:00 and 21:00 local time (some cancelled, past ones mostly completed), parents with one
//! to three children, and manual requests that are accepted, rate limited, or refused for
//! each reason the rules know.
//!
//! ```
//! use rappels_core::synthetic::SyntheticSchool;
//!
//! let school = SyntheticSchool::new(1000, 42, "2026-11-30".parse().unwrap()).unwrap();
//! let scenario = school.scenario();
//! assert_eq!(scenario.students.len(), 1000);
//! // Streamed, one record at a time: what `rappels gen-scenario` writes.
//! assert_eq!(school.sessions().count(), scenario.sessions.len());
//! ```

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::domain::{
    EmailAddress, Locale, ManualId, ManualRequest, OptOut, OptOuts, Parent, ParentId, ReminderKey,
    Session, SessionId, SessionStatus, Student, StudentId, StudyPlan, StudyPlanId, TimeOfDay,
    Weekday, Zone,
};
use crate::rules::slot_at;
use crate::scenario::Scenario;
use crate::settings::Settings;

mod draw;
mod families;
mod tables;
#[cfg(test)]
mod tests;

use draw::*;
use families::*;
use tables::*;

/// Why a school cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntheticError {
    /// The first day is not a Monday.
    #[error("{date} is a {weekday}, not a monday (the data starts on a Monday, e.g. {monday})")]
    NotAMonday {
        /// The date given.
        date: NaiveDate,
        /// Its weekday.
        weekday: Weekday,
        /// The Monday of its week.
        monday: NaiveDate,
    },
    /// The first day is too far in the past or future for the scenario's instants, which
    /// must have four-digit years.
    #[error("{0} is out of range: the first Monday must lie between 1900 and 9998")]
    OutOfRange(NaiveDate),
}

/// The Monday of the week (Monday to Sunday) holding `date`.
pub fn monday_of_week(date: NaiveDate) -> NaiveDate {
    date - TimeDelta::days(i64::from(date.weekday().num_days_from_monday()))
}

/// A synthetic school of `students` students, starting on a Monday: the generator.
///
/// The data describes two weeks from that Monday as seen on the first week's Sunday (the
/// [`SyntheticSchool::as_of`] instant): last activity lies in the 40 days before it, sessions
/// span the 14 days from the Monday, and sessions that started before it are mostly
/// completed.
#[derive(Debug, Clone)]
pub struct SyntheticSchool {
    students: u32,
    seed: u64,
    first_day: NaiveDate,
    as_of: DateTime<Utc>,
    settings: Settings,
}

impl SyntheticSchool {
    /// A school of `students` students drawn from `seed`, whose sessions start on the Monday
    /// `first_day`.
    pub fn new(students: u32, seed: u64, first_day: NaiveDate) -> Result<Self, SyntheticError> {
        let weekday = first_day.weekday();
        if weekday != chrono::Weekday::Mon {
            return Err(SyntheticError::NotAMonday {
                date: first_day,
                weekday: Weekday::from(weekday),
                monday: monday_of_week(first_day),
            });
        }
        // Creation dates go back two years and sessions forward three weeks: within these
        // bounds every instant has a four-digit year, as RFC 3339 requires.
        if !(1900..=9998).contains(&first_day.year()) {
            return Err(SyntheticError::OutOfRange(first_day));
        }
        let sunday = first_day + TimeDelta::days(6);
        Ok(SyntheticSchool {
            students,
            seed,
            first_day,
            as_of: sunday.and_time(chrono::NaiveTime::MIN).and_utc(),
            settings: Settings::default(),
        })
    }

    /// The number of students.
    pub fn student_count(&self) -> u32 {
        self.students
    }

    /// The seed the school is drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The Monday the sessions start on.
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// The instant the data is a snapshot of: the first week's Sunday at 00:00 UTC. Last
    /// activity lies in the 40 days before it; sessions before it are mostly completed.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// The settings of the school: RULES.md's defaults.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The first week's weekly digest slot in the default zone (Sunday 20:00 in Paris with
    /// the defaults): an instant at which many reminders of every automatic kind are due.
    pub fn weekly_slot(&self) -> DateTime<Utc> {
        slot_at(
            self.first_day + TimeDelta::days(6),
            self.settings.weekly_time,
            self.settings.timezone,
        )
    }

    /// The whole school in memory, for benchmarks and tests (the CLI streams the lists
    /// instead).
    pub fn scenario(&self) -> Scenario {
        Scenario {
            settings: self.settings.clone(),
            students: self.students().collect(),
            parents: self.parents().collect(),
            sessions: self.sessions().collect(),
            manual: self.manual().collect(),
            sent: self.sent().collect(),
            study_plans: self.study_plans().collect(),
        }
    }

    /// The students, by id from 1 to the number of students.
    pub fn students(&self) -> impl Iterator<Item = Student> + '_ {
        self.households()
            .flat_map(move |h| h.children().map(move |i| self.student(&h, i)))
    }

    /// The parents, by id from 1: one per family that has one, with one to three children.
    /// Every student has at most one parent, and some have none.
    pub fn parents(&self) -> impl Iterator<Item = Parent> + '_ {
        self.households().filter_map(move |h| self.parent(&h))
    }

    /// The sessions, by id from 1: about two per student over the 14 days from the first
    /// Monday, between 08:00 and 21:00 local time.
    pub fn sessions(&self) -> impl Iterator<Item = Session> + '_ {
        self.households()
            .flat_map(move |h| h.children().flat_map(move |i| self.sessions_of(&h, i)))
            .zip(1..)
            .map(|(draft, id)| Session {
                id: SessionId::new(id).expect("ids counted from 1 are valid"),
                ..draft
            })
    }

    /// The weekly study plans, by id from 1, of about a quarter of the students who can
    /// have sessions created (active and subscribed).
    pub fn study_plans(&self) -> impl Iterator<Item = StudyPlan> + '_ {
        self.households()
            .flat_map(move |h| h.children().flat_map(move |i| self.plans_of(&h, i)))
            .zip(1..)
            .map(|(draft, id)| StudyPlan {
                id: StudyPlanId::new(id).expect("ids counted from 1 are valid"),
                ..draft
            })
    }

    /// The manual requests, by id from 1: a few parents write to their children over the
    /// week before the first Monday and the two weeks after it. Most requests are accepted;
    /// others are rate limited or refused (`not_your_child`, `invalid_title`,
    /// `invalid_message`, `unknown_student`, `unknown_parent`, and `student_inactive` for
    /// closed accounts). The first parents cover every case, so even a small school shows
    /// them all in its first week.
    pub fn manual(&self) -> impl Iterator<Item = ManualRequest> + '_ {
        self.manual_drafts().map(|(request, _)| request)
    }

    /// The history: the requests made before the first Monday, recorded as sent.
    pub fn sent(&self) -> impl Iterator<Item = ReminderKey> + '_ {
        self.manual_drafts()
            .filter(|&(_, before_first_day)| before_first_day)
            .map(|(request, _)| ReminderKey::Manual(request.id))
    }

    fn households(&self) -> Households<'_> {
        Households {
            school: self,
            sizes: self.rng(Stream::FamilySizes, 0),
            next_student: 0,
            next_index: 0,
            next_parent: 1,
        }
    }

    /// The random stream of record `index` of kind `stream`.
    fn rng(&self, stream: Stream, index: u64) -> fastrand::Rng {
        let stream_seed = mix(self.seed ^ mix(stream as u64));
        fastrand::Rng::with_seed(mix(stream_seed ^ index))
    }

    fn household(&self, index: u64, first: u32, size: u32, parent: Option<ParentId>) -> Household {
        let mut rng = self.rng(Stream::Household, index);
        let region = pick(&mut rng, &REGIONS);
        let culture = region.culture;
        let locale = if rng.u32(0..100) < culture.native_percent {
            culture.locale
        } else {
            other_locale(culture.locale)
        };
        let last_name = choose(&mut rng, culture.last_names);
        // Siblings get distinct first names: the n-th child takes the name `n * step` places
        // after the first child's, and a step under half the list never wraps onto a
        // sibling's (families have at most three children).
        let names = culture.first_names.len() as u32;
        let first_name = rng.u32(0..names);
        let name_step = rng.u32(1..names / 2);
        Household {
            first,
            size,
            parent,
            zone: region.zone.map(Zone::from),
            culture,
            locale,
            last_name,
            first_name,
            name_step,
        }
    }

    fn effective_zone(&self, household: &Household) -> Zone {
        household.zone.unwrap_or(self.settings.timezone)
    }

    fn student(&self, household: &Household, index: u32) -> Student {
        let id = student_id(index);
        let profile = self.profile(index);
        let mut rng = self.rng(Stream::Name, u64::from(index));
        let culture = household.culture;
        let names = culture.first_names.len() as u32;
        let nth = index - household.first;
        let first_name = culture.first_names
            [((household.first_name + nth * household.name_step) % names) as usize];
        // A child of a blended family, or a student registered under another name.
        let last_name = if rng.u32(0..100) < 5 {
            choose(&mut rng, culture.last_names)
        } else {
            household.last_name
        };
        let domain = choose(&mut rng, &STUDENT_DOMAINS);
        let email = format!(
            "{}.{}{id}@{domain}",
            email_part(first_name),
            email_part(last_name)
        );
        Student {
            id,
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            email: address(email),
            timezone: household.zone,
            locale: household.locale,
            account_active: profile.account_active,
            subscription_active: profile.subscription_active,
            created_at: profile.created_at,
            last_activity_at: profile.last_activity_at,
            opt_out: profile.opt_out,
        }
    }

    /// What a student's reminders depend on besides the zone: account, subscription,
    /// activity and opt-outs.
    fn profile(&self, index: u32) -> Profile {
        let mut rng = self.rng(Stream::Profile, u64::from(index));
        let account_active = rng.u32(0..100) >= 2;
        let subscription_active = if account_active {
            rng.u32(0..100) >= 9
        } else {
            rng.bool()
        };
        let window = 40 * 24 * 3600;
        let (created_at, last_activity_at) = match rng.u32(0..1000) {
            // Accounts imported from an older system, with neither date: never inactive.
            0..5 => (None, None),
            // New accounts that have done nothing yet: inactivity counts from creation.
            5..55 => (Some(self.before_as_of(rng.i64(1..=window))), None),
            _ => {
                let last = rng.i64(1..=window);
                let age = rng.i64(3600..=540 * 24 * 3600);
                (
                    Some(self.before_as_of(last + age)),
                    Some(self.before_as_of(last)),
                )
            }
        };
        let opt_out = match rng.u32(0..1000) {
            0..30 => vec![OptOut::Weekly],
            30..60 => vec![OptOut::Inactivity],
            60..75 => vec![OptOut::Session],
            75..90 => vec![OptOut::Inactivity, OptOut::Weekly],
            90..100 => vec![OptOut::All],
            _ => Vec::new(),
        };
        Profile {
            account_active,
            subscription_active,
            created_at,
            last_activity_at,
            opt_out: OptOuts::new(opt_out),
        }
    }

    fn before_as_of(&self, seconds: i64) -> DateTime<Utc> {
        self.as_of - TimeDelta::seconds(seconds)
    }

    fn parent(&self, household: &Household) -> Option<Parent> {
        let id = household.parent?;
        let mut rng = self.rng(Stream::Parent, id.get() as u64);
        let culture = household.culture;
        let first_name = choose(&mut rng, culture.adult_names);
        let domain = choose(&mut rng, &PARENT_DOMAINS);
        let email = format!(
            "{}.{}.{id}@{domain}",
            email_part(first_name),
            email_part(household.last_name)
        );
        Some(Parent {
            id,
            first_name: first_name.to_owned(),
            last_name: household.last_name.to_owned(),
            email: address(email),
            children: household.children().map(student_id).collect(),
        })
    }

    /// A student's sessions, in order of start, with a placeholder id.
    fn sessions_of(&self, household: &Household, index: u32) -> Vec<Session> {
        let mut rng = self.rng(Stream::Sessions, u64::from(index));
        let count = pick(&mut rng, &SESSIONS_PER_STUDENT);
        let zone = self.effective_zone(household);
        let subjects = subjects(household.locale);
        let mut sessions: Vec<Session> = (0..count)
            .map(|_| {
                let date = self.first_day + TimeDelta::days(rng.i64(0..14));
                // Quarter hours from 08:00 to 20:45.
                let quarter = rng.u32(0..52);
                let time = TimeOfDay::new(8 + quarter / 4, (quarter % 4) * 15)
                    .expect("08:00 to 20:45 are times of day");
                let starts_at = slot_at(date, time, zone);
                let (subject, objective) = subject_and_objective(&mut rng, subjects);
                let past = starts_at < self.as_of;
                let status = match (past, rng.u32(0..100)) {
                    (_, 0..10) => SessionStatus::Cancelled,
                    // A fifth of past sessions were never closed by the tutor.
                    (true, 10..30) | (false, _) => SessionStatus::Scheduled,
                    (true, _) => SessionStatus::Completed,
                };
                Session {
                    id: placeholder(),
                    student_id: student_id(index),
                    subject: subject.to_owned(),
                    objective: objective.to_owned(),
                    starts_at,
                    duration_minutes: pick(&mut rng, &DURATIONS),
                    status,
                }
            })
            .collect();
        sessions.sort_by_key(|s| s.starts_at);
        sessions
    }

    /// A student's study plans, with a placeholder id.
    fn plans_of(&self, household: &Household, index: u32) -> Vec<StudyPlan> {
        let profile = self.profile(index);
        if !(profile.account_active && profile.subscription_active) {
            return Vec::new();
        }
        let mut rng = self.rng(Stream::StudyPlans, u64::from(index));
        let count = match rng.u32(0..100) {
            0..20 => 1,
            20..25 => 2,
            _ => 0,
        };
        let subjects = subjects(household.locale);
        (0..count)
            .map(|_| {
                let weekday = pick(&mut rng, &PLAN_WEEKDAYS);
                // Wednesday and Saturday afternoons are free in French schools; other days,
                // after school.
                let half_hour = match weekday {
                    chrono::Weekday::Wed | chrono::Weekday::Sat => rng.u32(28..38),
                    _ => rng.u32(33..40),
                };
                let (subject, objective) = subject_and_objective(&mut rng, subjects);
                StudyPlan {
                    id: placeholder(),
                    student_id: student_id(index),
                    weekday: Weekday::from(weekday),
                    time: TimeOfDay::new(half_hour / 2, (half_hour % 2) * 30)
                        .expect("14:00 to 19:30 are times of day"),
                    subject: subject.to_owned(),
                    objective: objective.to_owned(),
                    duration_minutes: pick(&mut rng, &DURATIONS),
                }
            })
            .collect()
    }

    /// The manual requests with their ids, each with whether it was made before the first
    /// Monday (and so belongs to the history).
    fn manual_drafts(&self) -> impl Iterator<Item = (ManualRequest, bool)> + '_ {
        self.households()
            .flat_map(move |h| self.requests_of(&h))
            .zip(1..)
            .map(|((request, before), id)| {
                let id = ManualId::new(id).expect("ids counted from 1 are valid");
                (ManualRequest { id, ..request }, before)
            })
    }

    /// The requests a family's parent makes (none for most families).
    fn requests_of(&self, household: &Household) -> Vec<(ManualRequest, bool)> {
        let Some(parent) = household.parent else {
            return Vec::new();
        };
        let mut rng = self.rng(Stream::Manual, parent.get() as u64);
        let showcase = usize::try_from(parent.get() - 1)
            .ok()
            .and_then(|i| SHOWCASE.get(i).copied());
        let story = match showcase {
            Some(story) => story,
            None if rng.u32(0..1000) < 12 => pick(&mut rng, &STORIES),
            None => return Vec::new(),
        };
        // The first week's Monday to Saturday for the showcase, so that a plan on its
        // Sunday evening sees them; otherwise from a week before the first Monday to the
        // end of the two weeks, the refused ones only from the first Monday on.
        let days = match (showcase, story) {
            (Some(_), _) => 0..6,
            (None, Story::Single | Story::Pair) => -7..14,
            (None, _) => 0..14,
        };
        let mut child = household.first + rng.u32(0..household.size);
        if !matches!(story, Story::Single | Story::Pair) {
            // The refusal the story is about must be the first reason that applies, so it
            // goes to an open account when the family has one (`student_inactive` comes
            // before the title and the rate limit). Plain requests to closed accounts stay:
            // they are the platform's `student_inactive` cases.
            if let Some(open) = household
                .children()
                .find(|&i| self.profile(i).account_active)
            {
                child = open;
            }
        }
        let zone = self.effective_zone(household);
        let texts = manual_texts(household.locale);
        let at = |rng: &mut fastrand::Rng, day: i64, hour: std::ops::Range<u32>| {
            let time =
                TimeOfDay::new(rng.u32(hour), rng.u32(0..60)).expect("hours and minutes in range");
            slot_at(self.first_day + TimeDelta::days(day), time, zone)
                + TimeDelta::seconds(rng.i64(0..60))
        };
        let request = |rng: &mut fastrand::Rng, requested_at: DateTime<Utc>| ManualRequest {
            id: placeholder(),
            parent_id: parent,
            student_id: student_id(child),
            title: choose(rng, texts.titles).to_owned(),
            message: choose(rng, texts.messages).to_owned(),
            requested_at,
        };
        let day = rng.i64(days.clone());
        let first = at(&mut rng, day, 7..22);
        let mut requests = vec![request(&mut rng, first)];
        match story {
            Story::Single => {}
            Story::Pair => {
                let later = (day + rng.i64(1..4)).min(days.end - 1).max(day);
                let second = at(&mut rng, later, 7..22).max(first + TimeDelta::hours(1));
                requests.push(request(&mut rng, second));
            }
            Story::Burst => {
                // One more than the default limit within the evening: the last one is
                // rate limited.
                let mut t = at(&mut rng, day, 17..19);
                for _ in 0..self.settings.manual_max_per_day {
                    t += TimeDelta::minutes(rng.i64(2..10));
                    requests.push(request(&mut rng, t));
                }
            }
            Story::BadTitle => requests[0].title = choose(&mut rng, &BAD_TITLES).to_owned(),
            Story::BlankMessage => {
                requests[0].message = choose(&mut rng, &BLANK_MESSAGES).to_owned();
            }
            Story::NotYourChild => {
                // Any student of another family (a school of one family has none).
                let others = self.students - household.size;
                if others > 0 {
                    let mut other = rng.u32(0..others);
                    if other >= household.first {
                        other += household.size;
                    }
                    requests[0].student_id = student_id(other);
                }
            }
            Story::UnknownStudent => {
                // A student whose account was deleted: an id past the school's.
                let gone = i64::from(self.students) + 1 + rng.i64(0..1000);
                requests[0].student_id = StudentId::new(gone).expect("positive id");
            }
            Story::UnknownParent => {
                // A parent account deleted since: an id no parent has (there are no more
                // parents than students).
                let gone = i64::from(self.students) + 1 + rng.i64(0..1000);
                for request in &mut requests {
                    request.parent_id = ParentId::new(gone).expect("positive id");
                }
            }
        }
        let midnight = TimeOfDay::new(0, 0).expect("00:00 is a time of day");
        let monday = slot_at(self.first_day, midnight, zone);
        requests
            .into_iter()
            .map(|request| {
                let before = request.requested_at < monday;
                (request, before)
            })
            .collect()
    }
}
