//! Households (a parent with one to three children) and each student's profile: the
//! story that decides which rules of RULES.md the student exercises.

use super::*;

/// One family: consecutive students sharing a zone, a language and usually a last name,
/// with at most one parent.
pub(super) struct Household {
    pub(super) first: u32,
    pub(super) size: u32,
    pub(super) parent: Option<ParentId>,
    pub(super) zone: Option<Zone>,
    pub(super) culture: &'static Culture,
    pub(super) locale: Locale,
    pub(super) last_name: &'static str,
    /// Index of the first child's first name in the culture's list.
    pub(super) first_name: u32,
    /// How far apart in that list the children's first names are.
    pub(super) name_step: u32,
}

impl Household {
    /// The 0-based indexes of the family's students.
    pub(super) fn children(&self) -> std::ops::Range<u32> {
        self.first..self.first + self.size
    }
}

/// Splits the students into families, in order: the one walk that cannot be random access,
/// since where a family starts depends on the sizes before it.
pub(super) struct Households<'a> {
    pub(super) school: &'a SyntheticSchool,
    pub(super) sizes: fastrand::Rng,
    pub(super) next_student: u32,
    pub(super) next_index: u64,
    pub(super) next_parent: i64,
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
pub(super) struct Profile {
    pub(super) account_active: bool,
    pub(super) subscription_active: bool,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) last_activity_at: Option<DateTime<Utc>>,
    pub(super) opt_out: OptOuts,
}

/// How a parent uses manual reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Story {
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
pub(super) const SHOWCASE: [Story; 8] = [
    Story::Single,
    Story::NotYourChild,
    Story::BadTitle,
    Story::Burst,
    Story::BlankMessage,
    Story::UnknownStudent,
    Story::UnknownParent,
    Story::Pair,
];

pub(super) const STORIES: [Weighted<Story>; 8] = [
    w(70, Story::Single),
    w(10, Story::Pair),
    w(4, Story::Burst),
    w(5, Story::BadTitle),
    w(3, Story::BlankMessage),
    w(4, Story::NotYourChild),
    w(2, Story::UnknownStudent),
    w(2, Story::UnknownParent),
];

pub(super) const CHILDREN_PER_PARENT: [Weighted<u32>; 3] = [w(62, 1), w(28, 2), w(10, 3)];

pub(super) const SESSIONS_PER_STUDENT: [Weighted<u32>; 5] =
    [w(15, 0), w(20, 1), w(30, 2), w(20, 3), w(15, 4)];

pub(super) const DURATIONS: [Weighted<u32>; 4] = [w(10, 30), w(25, 45), w(50, 60), w(15, 90)];

pub(super) const PLAN_WEEKDAYS: [Weighted<chrono::Weekday>; 6] = [
    w(15, chrono::Weekday::Mon),
    w(15, chrono::Weekday::Tue),
    w(30, chrono::Weekday::Wed),
    w(15, chrono::Weekday::Thu),
    w(10, chrono::Weekday::Fri),
    w(15, chrono::Weekday::Sat),
];

pub(super) const STUDENT_DOMAINS: [&str; 4] = [
    "example.org",
    "example.com",
    "eleves.example.net",
    "mail.example.org",
];

pub(super) const PARENT_DOMAINS: [&str; 3] = ["example.com", "example.net", "famille.example.org"];

pub(super) fn other_locale(locale: Locale) -> Locale {
    match locale {
        Locale::Fr => Locale::En,
        Locale::En => Locale::Fr,
    }
}
