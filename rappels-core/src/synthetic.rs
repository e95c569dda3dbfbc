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

/// Random streams: one per kind of record, so adding a draw to one kind changes no other.
#[derive(Debug, Clone, Copy)]
enum Stream {
    FamilySizes = 1,
    Household = 2,
    Profile = 3,
    Name = 4,
    Parent = 5,
    Sessions = 6,
    StudyPlans = 7,
    Manual = 8,
}

/// SplitMix64's finaliser: turns (seed, stream, index) into well-spread seeds, so that
/// neighbouring indexes get unrelated streams.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One entry of a weighted table.
struct Weighted<T> {
    weight: u32,
    value: T,
}

const fn w<T>(weight: u32, value: T) -> Weighted<T> {
    Weighted { weight, value }
}

/// Draws from a weighted table (weights are small, so their sum fits easily).
fn pick<T: Copy>(rng: &mut fastrand::Rng, table: &[Weighted<T>]) -> T {
    let total: u32 = table.iter().map(|e| e.weight).sum();
    let mut draw = rng.u32(0..total);
    for entry in table {
        if draw < entry.weight {
            return entry.value;
        }
        draw -= entry.weight;
    }
    table[table.len() - 1].value
}

/// Draws one item of a non-empty constant list.
fn choose<T: Copy>(rng: &mut fastrand::Rng, list: &[T]) -> T {
    // u32 rather than usize: the same draws on 32- and 64-bit targets.
    list[rng.u32(0..list.len() as u32) as usize]
}

fn student_id(index: u32) -> StudentId {
    StudentId::new(i64::from(index) + 1).expect("ids counted from 1 are valid")
}

/// An id for a record built before its place in the list is known; the list's walk gives
/// it its real id.
fn placeholder<T: TryFrom<i64, Error = crate::domain::DomainError>>() -> T {
    T::try_from(1).expect("1 is a valid id")
}

/// Generated addresses are valid by construction: ASCII letters, digits, dots and hyphens
/// before one `@`, and a constant dotted domain after it.
fn address(raw: String) -> EmailAddress {
    EmailAddress::parse(raw).expect("generated addresses are valid")
}

/// A name as it appears in an address: lowercase ASCII, accents dropped, apostrophes and
/// spaces removed (`N'Guessan` → `nguessan`, `Élodie` → `elodie`).
fn email_part(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = match c {
                'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
                'î' | 'ï' | 'Î' => 'i',
                'ô' | 'ö' | 'Ô' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' | 'Ç' => 'c',
                c => c.to_ascii_lowercase(),
            };
            (c.is_ascii_alphanumeric() || c == '-').then_some(c)
        })
        .collect()
}

/// One family: consecutive students sharing a zone, a language and usually a last name,
/// with at most one parent.
struct Household {
    first: u32,
    size: u32,
    parent: Option<ParentId>,
    zone: Option<Zone>,
    culture: &'static Culture,
    locale: Locale,
    last_name: &'static str,
    /// Index of the first child's first name in the culture's list.
    first_name: u32,
    /// How far apart in that list the children's first names are.
    name_step: u32,
}

impl Household {
    /// The 0-based indexes of the family's students.
    fn children(&self) -> std::ops::Range<u32> {
        self.first..self.first + self.size
    }
}

/// Splits the students into families, in order: the one walk that cannot be random access,
/// since where a family starts depends on the sizes before it.
struct Households<'a> {
    school: &'a SyntheticSchool,
    sizes: fastrand::Rng,
    next_student: u32,
    next_index: u64,
    next_parent: i64,
}

impl Iterator for Households<'_> {
    type Item = Household;

    fn next(&mut self) -> Option<Household> {
        let left = self.school.students - self.next_student;
        if left == 0 {
            return None;
        }
        // Four families in five have a parent on the platform; students on their own are
        // adults or teenagers who registered themselves.
        let has_parent = self.sizes.u32(0..100) < 80;
        let size = if has_parent {
            pick(&mut self.sizes, &CHILDREN_PER_PARENT).min(left)
        } else {
            1
        };
        let parent = has_parent.then(|| {
            let id = ParentId::new(self.next_parent).expect("ids counted from 1 are valid");
            self.next_parent += 1;
            id
        });
        let household = self
            .school
            .household(self.next_index, self.next_student, size, parent);
        self.next_student += size;
        self.next_index += 1;
        Some(household)
    }
}

/// What one student's reminders depend on besides the family's zone.
struct Profile {
    account_active: bool,
    subscription_active: bool,
    created_at: Option<DateTime<Utc>>,
    last_activity_at: Option<DateTime<Utc>>,
    opt_out: OptOuts,
}

/// How a parent uses manual reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    /// One request.
    Single,
    /// Two requests a few days apart.
    Pair,
    /// One more request in an evening than the daily limit allows.
    Burst,
    /// A title with a line break, a tab, only spaces, or too long.
    BadTitle,
    /// A blank message.
    BlankMessage,
    /// A request for another family's child.
    NotYourChild,
    /// A request for a student who no longer exists.
    UnknownStudent,
    /// A request from a parent who no longer exists.
    UnknownParent,
}

/// The stories of the first parents, so that every outcome shows in a small school.
const SHOWCASE: [Story; 8] = [
    Story::Single,
    Story::NotYourChild,
    Story::BadTitle,
    Story::Burst,
    Story::BlankMessage,
    Story::UnknownStudent,
    Story::UnknownParent,
    Story::Pair,
];

const STORIES: [Weighted<Story>; 8] = [
    w(70, Story::Single),
    w(10, Story::Pair),
    w(4, Story::Burst),
    w(5, Story::BadTitle),
    w(3, Story::BlankMessage),
    w(4, Story::NotYourChild),
    w(2, Story::UnknownStudent),
    w(2, Story::UnknownParent),
];

const CHILDREN_PER_PARENT: [Weighted<u32>; 3] = [w(62, 1), w(28, 2), w(10, 3)];

const SESSIONS_PER_STUDENT: [Weighted<u32>; 5] = [w(15, 0), w(20, 1), w(30, 2), w(20, 3), w(15, 4)];

const DURATIONS: [Weighted<u32>; 4] = [w(10, 30), w(25, 45), w(50, 60), w(15, 90)];

const PLAN_WEEKDAYS: [Weighted<chrono::Weekday>; 6] = [
    w(15, chrono::Weekday::Mon),
    w(15, chrono::Weekday::Tue),
    w(30, chrono::Weekday::Wed),
    w(15, chrono::Weekday::Thu),
    w(10, chrono::Weekday::Fri),
    w(15, chrono::Weekday::Sat),
];

const STUDENT_DOMAINS: [&str; 4] = [
    "example.org",
    "example.com",
    "eleves.example.net",
    "mail.example.org",
];

const PARENT_DOMAINS: [&str; 3] = ["example.com", "example.net", "famille.example.org"];

fn other_locale(locale: Locale) -> Locale {
    match locale {
        Locale::Fr => Locale::En,
        Locale::En => Locale::Fr,
    }
}

/// Where families live, and which names they carry.
#[derive(Clone, Copy)]
struct Region {
    /// `None`: no zone of their own (the settings' zone applies).
    zone: Option<Tz>,
    culture: &'static Culture,
}

const fn region(weight: u32, zone: Option<Tz>, culture: &'static Culture) -> Weighted<Region> {
    w(weight, Region { zone, culture })
}

/// Paris (with or without an explicit zone) is the largest share; the rest spans Africa,
/// the Indian Ocean, both Americas, Asia and Oceania, with and without DST, on both sides of
/// the date line's neighbourhood.
const REGIONS: [Weighted<Region>; 13] = [
    region(10, None, &FRANCE),
    region(38, Some(chrono_tz::Europe::Paris), &FRANCE),
    region(9, Some(chrono_tz::Africa::Abidjan), &WEST_AFRICA),
    region(6, Some(chrono_tz::Africa::Dakar), &WEST_AFRICA),
    region(6, Some(chrono_tz::Indian::Reunion), &REUNION),
    region(3, Some(chrono_tz::America::Martinique), &FRANCE),
    region(5, Some(chrono_tz::America::Montreal), &QUEBEC),
    region(1, Some(chrono_tz::America::Montreal), &ANGLO),
    region(7, Some(chrono_tz::America::New_York), &ANGLO),
    region(4, Some(chrono_tz::Europe::London), &ANGLO),
    region(5, Some(chrono_tz::Asia::Kolkata), &INDIA),
    region(4, Some(chrono_tz::Australia::Sydney), &ANGLO),
    region(2, Some(chrono_tz::Pacific::Noumea), &FRANCE),
];

/// Names and language of a region's families.
struct Culture {
    locale: Locale,
    /// Share of families speaking `locale`, in percent; the others read the other one.
    native_percent: u32,
    first_names: &'static [&'static str],
    adult_names: &'static [&'static str],
    last_names: &'static [&'static str],
}

#[rustfmt::skip]
const FRANCE: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 97,
    first_names: &[
        "Léa", "Emma", "Chloé", "Inès", "Jade", "Louise", "Manon", "Camille", "Zoé", "Lina",
        "Lucas", "Hugo", "Gabriel", "Louis", "Nathan", "Théo", "Raphaël", "Arthur", "Jules",
        "Adam", "Maël", "Noah", "Sacha", "Élodie", "Yasmine", "Rayan", "Sarah", "Clément",
        "Mathis", "Océane", "Anaïs", "Jean-Baptiste", "Ibrahim", "Maëlys",
    ],
    adult_names: &[
        "Nathalie", "Isabelle", "Sandrine", "Stéphanie", "Céline", "Christophe", "Stéphane",
        "Frédéric", "Laurent", "Sébastien", "Karim", "Nadia", "Sophie", "Valérie", "Olivier",
    ],
    last_names: &[
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
        "Dupont", "Lambert", "Bonnet", "François", "Le Gall", "Nguyen", "Benali", "Haddad",
    ],
};

#[rustfmt::skip]
const REUNION: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 98,
    first_names: FRANCE.first_names,
    adult_names: FRANCE.adult_names,
    last_names: &[
        "Payet", "Hoarau", "Grondin", "Fontaine", "Boyer", "Rivière", "Lebon", "Técher", "Turpin",
        "Maillot", "Nativel", "Hoareau",
    ],
};

#[rustfmt::skip]
const WEST_AFRICA: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 96,
    first_names: &[
        "Awa", "Aminata", "Fatou", "Mariam", "Aïcha", "Kadiatou", "Adjoua", "Ama", "Moussa",
        "Ibrahima", "Mamadou", "Cheikh", "Ousmane", "Koffi", "Yao", "Kouassi", "Serge",
        "Abdoulaye", "Fatoumata", "Seydou",
    ],
    adult_names: &[
        "Mariam", "Adama", "Fanta", "Salimata", "Aboubacar", "Souleymane", "Rokia", "Bintou",
        "Lassina", "Mamadou",
    ],
    last_names: &[
        "Koné", "Traoré", "Diallo", "Ouattara", "Coulibaly", "Kouamé", "N'Guessan", "Bamba",
        "Touré", "Ndiaye", "Diop", "Fall", "Sow", "Sy", "Cissé", "Gueye", "Faye", "Sarr",
    ],
};

#[rustfmt::skip]
const QUEBEC: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 90,
    first_names: &[
        "Léa", "Florence", "Alice", "Rosalie", "Juliette", "Olivia", "William", "Thomas", "Félix",
        "Samuel", "Logan", "Jacob", "Émile", "Charlie",
    ],
    adult_names: &[
        "Marie-Claude", "Isabelle", "Mélanie", "Patrick", "Martin", "Sylvain", "Julie", "Annie",
    ],
    last_names: &[
        "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie",
        "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque",
    ],
};

#[rustfmt::skip]
const ANGLO: Culture = Culture {
    locale: Locale::En,
    native_percent: 95,
    first_names: &[
        "Olivia", "Emma", "Ava", "Sophia", "Mia", "Charlotte", "Amelia", "Liam", "Noah",
        "Oliver", "James", "Elijah", "William", "Henry", "Jack", "Chloe", "Grace", "Isla",
        "Ethan", "Zoe", "Jayden", "Aaliyah", "Mateo", "Sofia",
    ],
    adult_names: &[
        "Jennifer", "Michael", "Sarah", "David", "Jessica", "Christopher", "Emily", "Daniel",
        "Laura", "Matthew",
    ],
    last_names: &[
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez",
        "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Lee", "Thompson", "White",
        "O'Brien", "Kelly", "Walker", "Patel",
    ],
};

#[rustfmt::skip]
const INDIA: Culture = Culture {
    locale: Locale::En,
    native_percent: 95,
    first_names: &[
        "Aarav", "Vivaan", "Aditya", "Arjun", "Sai", "Reyansh", "Ishaan", "Rohan", "Ananya",
        "Diya", "Aadhya", "Saanvi", "Priya", "Riya", "Kavya", "Meera", "Sourav", "Debjani",
        "Arnab", "Ritika",
    ],
    adult_names: &[
        "Sanjay", "Anjali", "Rajesh", "Sunita", "Amit", "Pooja", "Suman", "Arindam",
    ],
    last_names: &[
        "Banerjee", "Chatterjee", "Mukherjee", "Das", "Bose", "Ghosh", "Sen", "Roy", "Dutta",
        "Chakraborty", "Sharma", "Gupta", "Singh", "Iyer",
    ],
};

/// A school subject and what sessions of it work on.
struct Subject {
    name: &'static str,
    objectives: &'static [&'static str],
}

const fn subject(name: &'static str, objectives: &'static [&'static str]) -> Subject {
    Subject { name, objectives }
}

fn subjects(locale: Locale) -> &'static [Subject] {
    match locale {
        Locale::Fr => &SUBJECTS_FR,
        Locale::En => &SUBJECTS_EN,
    }
}

/// A subject, and one of its objectives or, for a third of sessions, none.
fn subject_and_objective(
    rng: &mut fastrand::Rng,
    subjects: &'static [Subject],
) -> (&'static str, &'static str) {
    let subject = &subjects[rng.u32(0..subjects.len() as u32) as usize];
    let objective = if rng.u32(0..3) == 0 {
        ""
    } else {
        choose(rng, subject.objectives)
    };
    (subject.name, objective)
}

const SUBJECTS_FR: [Subject; 10] = [
    subject(
        "Mathématiques",
        &[
            "Fractions",
            "Théorème de Pythagore",
            "Équations du second degré",
            "Fonctions affines",
            "Probabilités conditionnelles",
        ],
    ),
    subject(
        "Physique-Chimie",
        &[
            "Réactions d'oxydoréduction",
            "Lois de Newton",
            "Circuits électriques",
        ],
    ),
    subject(
        "SVT",
        &[
            "La cellule",
            "Génétique : les lois de Mendel",
            "Le système immunitaire",
        ],
    ),
    subject(
        "Français",
        &[
            "Commentaire de texte",
            "Conjugaison du subjonctif",
            "Préparer l'oral du bac de français",
        ],
    ),
    subject(
        "Anglais",
        &[
            "Irregular verbs",
            "Compréhension orale",
            "Préparer l'exposé",
        ],
    ),
    subject(
        "Histoire-Géographie",
        &[
            "La Révolution française",
            "La guerre froide",
            "Croquis de géographie",
        ],
    ),
    subject(
        "Philosophie",
        &[
            "Dissertation : introduction et plan",
            "La conscience",
            "Explication de texte",
        ],
    ),
    subject("Espagnol", &["Le passé simple", "Vocabulaire du voyage"]),
    subject(
        "Sciences économiques et sociales",
        &["La croissance économique", "Le marché du travail"],
    ),
    subject(
        "Numérique et sciences informatiques",
        &["Algorithmes de tri", "Programmer en Python : les listes"],
    ),
];

const SUBJECTS_EN: [Subject; 8] = [
    subject(
        "Mathematics",
        &[
            "Fractions",
            "Quadratic equations",
            "Trigonometry",
            "Probability",
        ],
    ),
    subject("Physics", &["Newton's laws", "Electric circuits"]),
    subject("Chemistry", &["Balancing equations", "Acids and bases"]),
    subject("Biology", &["The cell", "Photosynthesis"]),
    subject("English", &["Essay structure", "Reading Shakespeare"]),
    subject("History", &["The Cold War", "The Industrial Revolution"]),
    subject("French", &["Le passé composé", "Oral presentation"]),
    subject("Computer Science", &["Sorting algorithms", "Python lists"]),
];

/// Titles and messages parents write, in the family's language.
struct ManualTexts {
    titles: &'static [&'static str],
    messages: &'static [&'static str],
}

fn manual_texts(locale: Locale) -> &'static ManualTexts {
    match locale {
        Locale::Fr => &MANUAL_FR,
        Locale::En => &MANUAL_EN,
    }
}

const MANUAL_FR: ManualTexts = ManualTexts {
    titles: &[
        "Révise ce soir",
        "N'oublie pas ta séance",
        "Courage pour le contrôle",
        "Prépare tes affaires",
        "Fais tes exercices de maths",
        "On compte sur toi demain",
    ],
    messages: &[
        "Courage pour demain !",
        "Je suis fière de tes progrès. Garde le rythme.",
        "Pense à relire tes fiches avant la séance.",
        "Ta séance commence bientôt, prépare tes affaires.",
        "On en parle ce soir au dîner.\nBisous.",
    ],
};

const MANUAL_EN: ManualTexts = ManualTexts {
    titles: &[
        "Study tonight",
        "Don't forget your session",
        "Good luck on the test",
        "Finish your homework",
        "We're proud of you",
    ],
    messages: &[
        "Good luck tomorrow!",
        "Remember to go over your notes before the session.",
        "Your session starts soon, get your things ready.",
        "Let's talk about it at dinner.\nLove, Mum",
    ],
};

/// Titles the rules refuse (`invalid_title`): a line break, a tab, only spaces, or more
/// than 200 characters.
const BAD_TITLES: [&str; 4] = [
    "Révise ce soir\nMerci",
    "Urgent :\tséance demain",
    "   ",
    "Très important ! Très important ! Très important ! Très important ! Très important ! \
     Très important ! Très important ! Très important ! Très important ! Très important ! \
     Très important ! Très important !",
];

/// Messages the rules refuse (`invalid_message`).
const BLANK_MESSAGES: [&str; 2] = ["", " \n\t "];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::domain::{Family, Kind};
    use crate::rules::Rejection;
    use crate::snapshot::Snapshot;

    fn monday() -> NaiveDate {
        "2026-11-30".parse().unwrap()
    }

    fn school(students: u32, seed: u64) -> SyntheticSchool {
        SyntheticSchool::new(students, seed, monday()).unwrap()
    }

    fn at(raw: &str) -> DateTime<Utc> {
        crate::domain::parse_instant(raw).unwrap()
    }

    #[test]
    fn the_first_day_must_be_a_monday_in_range() {
        let err = SyntheticSchool::new(10, 1, "2026-12-01".parse().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2026-12-01 is a tuesday, not a monday (the data starts on a Monday, e.g. 2026-11-30)"
        );
        assert!(matches!(
            SyntheticSchool::new(10, 1, "1800-01-06".parse().unwrap()),
            Err(SyntheticError::OutOfRange(_))
        ));
        assert_eq!(
            monday_of_week("2026-12-06".parse().unwrap()),
            "2026-11-30".parse::<NaiveDate>().unwrap()
        );
        assert_eq!(monday_of_week(monday()), monday());
    }

    #[test]
    fn same_seed_and_monday_same_school_other_seed_other_school() {
        let a = school(300, 7).scenario();
        assert_eq!(a, school(300, 7).scenario());
        assert_ne!(a, school(300, 8).scenario());
        let later = SyntheticSchool::new(300, 7, "2026-12-07".parse().unwrap()).unwrap();
        assert_ne!(a, later.scenario());
        // A record does not depend on how many come after it.
        let bigger = school(600, 7).scenario();
        assert_eq!(a.students[..290], bigger.students[..290]);
    }

    #[test]
    fn the_school_round_trips_through_the_scenario_format() {
        let scenario = school(2000, 42).scenario();
        let json = scenario.to_json();
        let read = Scenario::from_json(&json).unwrap();
        assert_eq!(read, scenario);
    }

    #[test]
    fn text_fields_stay_within_the_limits() {
        let scenario = school(3000, 3).scenario();
        let chars = |s: &str| s.chars().count();
        for s in &scenario.students {
            assert!((1..=100).contains(&chars(&s.first_name)), "{s:?}");
            assert!(chars(&s.last_name) <= 100, "{s:?}");
            assert!(!s.first_name.chars().any(char::is_control));
        }
        for p in &scenario.parents {
            assert!((1..=100).contains(&chars(&p.first_name)), "{p:?}");
            assert!(chars(&p.last_name) <= 100, "{p:?}");
        }
        for (subject, objective) in scenario
            .sessions
            .iter()
            .map(|s| (&s.subject, &s.objective))
            .chain(
                scenario
                    .study_plans
                    .iter()
                    .map(|p| (&p.subject, &p.objective)),
            )
        {
            assert!((1..=200).contains(&chars(subject)), "{subject}");
            assert!(chars(objective) <= 1000, "{objective}");
        }
        for m in &scenario.manual {
            assert!(chars(&m.message) <= 5000);
        }
        for list in [
            FRANCE.first_names,
            FRANCE.last_names,
            FRANCE.adult_names,
            REUNION.last_names,
            WEST_AFRICA.first_names,
            WEST_AFRICA.last_names,
            WEST_AFRICA.adult_names,
            QUEBEC.first_names,
            QUEBEC.last_names,
            QUEBEC.adult_names,
            ANGLO.first_names,
            ANGLO.last_names,
            ANGLO.adult_names,
            INDIA.first_names,
            INDIA.last_names,
            INDIA.adult_names,
        ] {
            for name in list {
                let part = email_part(name);
                // Every letter of the names has an ASCII form: nothing is silently lost.
                assert_eq!(
                    part.chars().count(),
                    name.chars()
                        .filter(|c| c.is_alphanumeric() || *c == '-')
                        .count(),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn counts_and_shares_look_like_a_school() {
        let n = 20_000;
        let scenario = school(n, 11).scenario();
        let n = n as usize;
        let share = |count: usize| count as f64 / n as f64;
        assert_eq!(scenario.students.len(), n);
        // About two sessions per student.
        let per_student = scenario.sessions.len() as f64 / n as f64;
        assert!((1.8..2.2).contains(&per_student), "{per_student}");
        let closed = scenario
            .students
            .iter()
            .filter(|s| !s.account_active)
            .count();
        assert!((0.01..0.03).contains(&share(closed)), "{closed}");
        let unsubscribed = scenario
            .students
            .iter()
            .filter(|s| !s.subscription_active)
            .count();
        assert!(
            (0.07..0.13).contains(&share(unsubscribed)),
            "{unsubscribed}"
        );
        let opted_out = scenario
            .students
            .iter()
            .filter(|s| !s.opt_out.is_empty())
            .count();
        assert!((0.07..0.13).contains(&share(opted_out)), "{opted_out}");
        for family in [Family::Session, Family::Inactivity, Family::Weekly] {
            assert!(scenario.students.iter().any(|s| s.opt_out.excludes(family)));
        }
        assert!(
            scenario
                .students
                .iter()
                .any(|s| s.opt_out.entries() == [OptOut::All])
        );
        let cancelled = scenario
            .sessions
            .iter()
            .filter(|s| s.status == SessionStatus::Cancelled)
            .count();
        let cancelled = cancelled as f64 / scenario.sessions.len() as f64;
        assert!((0.08..0.12).contains(&cancelled), "{cancelled}");
        let locales: HashSet<Locale> = scenario.students.iter().map(|s| s.locale).collect();
        assert_eq!(locales.len(), 2);
        let no_zone = scenario
            .students
            .iter()
            .filter(|s| s.timezone.is_none())
            .count();
        assert!((0.07..0.13).contains(&share(no_zone)), "{no_zone}");
        // Paris, with or without an explicit zone, is the largest share; the rest spans
        // several continents.
        let mut by_zone: HashMap<&str, usize> = HashMap::new();
        for s in &scenario.students {
            *by_zone
                .entry(s.zone(scenario.settings.timezone).name())
                .or_default() += 1;
        }
        let largest = by_zone.iter().max_by_key(|(_, count)| **count).unwrap();
        assert_eq!(*largest.0, "Europe/Paris");
        let continents: HashSet<&str> = by_zone
            .keys()
            .map(|zone| zone.split('/').next().unwrap())
            .collect();
        assert!(continents.len() >= 6, "{continents:?}");
        assert!(!scenario.manual.is_empty() && !scenario.study_plans.is_empty());
        assert!(!scenario.sent.is_empty());
        assert!(scenario.manual.len() < n / 20, "{}", scenario.manual.len());
        assert_eq!(scenario.settings, Settings::default());
    }

    #[test]
    fn parents_have_one_to_three_children_and_children_one_parent_at_most() {
        let scenario = school(5000, 5).scenario();
        let mut parent_of = HashMap::new();
        for p in &scenario.parents {
            assert!((1..=3).contains(&p.children.len()), "{p:?}");
            for &child in &p.children {
                assert_eq!(
                    parent_of.insert(child, p.id),
                    None,
                    "{child} has two parents"
                );
            }
        }
        let first_names: HashMap<StudentId, &str> = scenario
            .students
            .iter()
            .map(|s| (s.id, s.first_name.as_str()))
            .collect();
        for p in &scenario.parents {
            let names: HashSet<&str> = p.children.iter().map(|c| first_names[c]).collect();
            assert_eq!(
                names.len(),
                p.children.len(),
                "siblings share a name: {p:?}"
            );
        }
        let orphans = scenario.students.len() - parent_of.len();
        assert!(orphans > 0);
        for size in 1..=3 {
            assert!(scenario.parents.iter().any(|p| p.children.len() == size));
        }
    }

    #[test]
    fn activity_and_sessions_fall_where_they_should() {
        let school = school(5000, 9);
        let scenario = school.scenario();
        let as_of = school.as_of();
        assert_eq!(as_of, at("2026-12-06T00:00:00Z"));
        let forty_days_before = as_of - TimeDelta::days(40);
        let mut without_activity = 0;
        for s in &scenario.students {
            match (s.created_at, s.last_activity_at) {
                (Some(created), Some(last)) => {
                    assert!(created <= last, "{s:?}");
                    assert!(forty_days_before <= last && last < as_of, "{s:?}");
                }
                (Some(created), None) => {
                    without_activity += 1;
                    assert!(forty_days_before <= created && created < as_of, "{s:?}");
                }
                (None, last) => assert_eq!(last, None),
            }
        }
        assert!(without_activity > 0);
        let students: HashMap<StudentId, &Student> =
            scenario.students.iter().map(|s| (s.id, s)).collect();
        let last_day = monday() + TimeDelta::days(13);
        let mut completed = 0;
        for session in &scenario.sessions {
            let zone = students[&session.student_id].zone(scenario.settings.timezone);
            let local = session.starts_at.with_timezone(&zone.tz());
            assert!(
                (monday()..=last_day).contains(&local.date_naive()),
                "{session:?}"
            );
            let hour = chrono::Timelike::hour(&local);
            assert!((8..21).contains(&hour), "{session:?} starts at {local}");
            if session.status == SessionStatus::Completed {
                completed += 1;
                assert!(session.starts_at < as_of);
            }
        }
        assert!(completed > 0);
        let ids: Vec<i64> = scenario.sessions.iter().map(|s| s.id.get()).collect();
        assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn every_rule_shows_up_in_the_plans() {
        let school = school(2000, 42);
        let snapshot = Snapshot::new(school.scenario());
        let kinds = |raw: &str| -> HashMap<Kind, usize> {
            let mut kinds = HashMap::new();
            for due in snapshot.plan(at(raw)).due {
                *kinds.entry(due.kind()).or_default() += 1;
            }
            kinds
        };
        // Sunday 20:00 in Paris: the weekly digest, the eves of Monday's sessions, and the
        // manual requests of the week.
        assert_eq!(school.weekly_slot(), at("2026-12-06T19:00:00Z"));
        let sunday = kinds("2026-12-06T19:00:00Z");
        assert!(sunday[&Kind::Weekly] > 50, "{sunday:?}");
        assert!(sunday[&Kind::SessionEve] > 10, "{sunday:?}");
        assert!(sunday[&Kind::Manual] > 0, "{sunday:?}");
        // Monday 08:30 and 10:00 in Paris: the mornings of sessions, then inactivity.
        let monday_morning = kinds("2026-12-07T08:30:00+01:00");
        assert!(monday_morning[&Kind::SessionDay] > 10, "{monday_morning:?}");
        let monday_ten = kinds("2026-12-07T10:00:00+01:00");
        assert!(monday_ten[&Kind::Inactivity] > 10, "{monday_ten:?}");

        let rejected: HashSet<Rejection> = snapshot
            .plan(at("2026-12-06T19:00:00Z"))
            .rejected
            .iter()
            .map(|r| r.reason)
            .collect();
        for reason in [
            Rejection::NotYourChild,
            Rejection::InvalidTitle,
            Rejection::InvalidMessage,
            Rejection::UnknownStudent,
            Rejection::UnknownParent,
            Rejection::RateLimited,
        ] {
            assert!(rejected.contains(&reason), "{reason} missing: {rejected:?}");
        }
    }

    #[test]
    fn history_holds_only_requests_before_the_first_monday() {
        let school = school(30_000, 4);
        let scenario = school.scenario();
        let requests: HashMap<ManualId, &ManualRequest> =
            scenario.manual.iter().map(|m| (m.id, m)).collect();
        assert!(!scenario.sent.is_empty());
        // A day of margin: "before" is judged at midnight in the child's zone.
        let monday = at("2026-11-30T00:00:00Z");
        for key in &scenario.sent {
            let ReminderKey::Manual(id) = key else {
                panic!("only manual history: {key}")
            };
            assert!(requests[id].requested_at < monday + TimeDelta::days(1));
        }
        // Some of the requests were refused because the child's account is closed.
        let plan = Snapshot::new(scenario).plan(at("2026-12-14T00:00:00Z"));
        assert!(
            plan.rejected
                .iter()
                .any(|r| r.reason == Rejection::StudentInactive)
        );
    }

    #[test]
    fn an_empty_or_tiny_school_is_still_valid() {
        for n in 0..4 {
            let scenario = school(n, 1).scenario();
            assert_eq!(scenario.students.len(), n as usize);
            Scenario::from_json(&scenario.to_json()).unwrap();
        }
    }
}
