//! The records of a tutoring platform that reminders are computed from, and the reminder
//! kinds and keys.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::limits;
use super::time::instant;
use super::{
    DomainError, EmailAddress, Locale, ManualId, ParentId, SessionId, StudentId, StudyPlanId,
    TimeOfDay, Weekday, Zone,
};

/// A student: the person who receives automatic reminders (French: élève).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Student {
    /// The student's id.
    pub id: StudentId,
    /// First name, used in greetings.
    #[serde(deserialize_with = "limits::name")]
    pub first_name: String,
    /// Last name (may be empty).
    #[serde(default, deserialize_with = "limits::name")]
    pub last_name: String,
    /// Where reminders go.
    pub email: EmailAddress,
    /// The student's own zone; `None` means the platform's default zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<Zone>,
    /// Language of the student's reminders.
    #[serde(default)]
    pub locale: Locale,
    /// False for a closed or suspended account: no reminder of any kind.
    pub account_active: bool,
    /// True while the student pays: needed for inactivity and weekly reminders.
    pub subscription_active: bool,
    /// When the account was created; the inactivity reference when there is no activity.
    #[serde(
        default,
        with = "instant::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// The student's last activity on the platform.
    #[serde(
        default,
        with = "instant::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Reminder families the student does not want.
    #[serde(default, skip_serializing_if = "OptOuts::is_empty")]
    pub opt_out: OptOuts,
}

impl Student {
    /// The zone of the student: their own, else the platform's default.
    pub fn zone(&self, default: Zone) -> Zone {
        self.timezone.unwrap_or(default)
    }

    /// The instant inactivity is counted from: last activity, else account creation.
    pub fn inactivity_reference(&self) -> Option<DateTime<Utc>> {
        self.last_activity_at.or(self.created_at)
    }

    /// "First Last", or just the first name when there is no last name.
    pub fn full_name(&self) -> String {
        if self.last_name.is_empty() {
            self.first_name.clone()
        } else {
            format!("{} {}", self.first_name, self.last_name)
        }
    }
}

/// A parent, who may read their children's reminders and send them manual ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parent {
    /// The parent's id.
    pub id: ParentId,
    /// First name, shown in manual reminders.
    #[serde(deserialize_with = "limits::name")]
    pub first_name: String,
    /// Last name (may be empty).
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "limits::name"
    )]
    pub last_name: String,
    /// The parent's address.
    pub email: EmailAddress,
    /// The parent's children.
    pub children: Vec<StudentId>,
}

impl Parent {
    /// True when `student` is one of this parent's children.
    pub fn is_parent_of(&self, student: StudentId) -> bool {
        self.children.contains(&student)
    }
}

/// Where a revision session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Planned and not yet held: the only status that gets reminders.
    #[default]
    Scheduled,
    /// Held.
    Completed,
    /// Called off.
    Cancelled,
}

impl SessionStatus {
    /// The status as written in scenarios and databases.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Completed => "completed",
            SessionStatus::Cancelled => "cancelled",
        }
    }
}

fn default_duration() -> u32 {
    60
}

/// A scheduled revision session of one student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// The session's id.
    pub id: SessionId,
    /// Whose session it is.
    pub student_id: StudentId,
    /// School subject (matière), e.g. "Mathématiques".
    #[serde(deserialize_with = "limits::subject")]
    pub subject: String,
    /// What the session is for (may be empty).
    #[serde(default, deserialize_with = "limits::objective")]
    pub objective: String,
    /// When it starts.
    #[serde(with = "instant")]
    pub starts_at: DateTime<Utc>,
    /// Planned length in minutes.
    #[serde(
        default = "default_duration",
        deserialize_with = "limits::duration_minutes"
    )]
    pub duration_minutes: u32,
    /// Scheduled, completed or cancelled.
    #[serde(default)]
    pub status: SessionStatus,
}

/// A weekly study plan, from which `schedule-sessions` creates sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyPlan {
    /// The plan's id.
    pub id: StudyPlanId,
    /// Whose plan it is.
    pub student_id: StudentId,
    /// The weekday sessions fall on.
    pub weekday: Weekday,
    /// Local start time of the sessions.
    pub time: TimeOfDay,
    /// School subject.
    #[serde(deserialize_with = "limits::subject")]
    pub subject: String,
    /// Objective copied into each session (may be empty).
    #[serde(default, deserialize_with = "limits::objective")]
    pub objective: String,
    /// Length of each session in minutes.
    #[serde(
        default = "default_duration",
        deserialize_with = "limits::duration_minutes"
    )]
    pub duration_minutes: u32,
}

/// A parent's request to send a reminder to a child, exactly as it was submitted.
///
/// Title and message stay raw text here: a refused title is a rejection the plan reports
/// (`invalid_title`), not an input error, so it is validated by the manual rule, which turns
/// it into a [`super::Title`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    /// The request's id.
    pub id: ManualId,
    /// Who asks.
    pub parent_id: ParentId,
    /// For whom.
    pub student_id: StudentId,
    /// Title as typed.
    pub title: String,
    /// Message as typed.
    pub message: String,
    /// When the parent asked.
    #[serde(with = "instant")]
    pub requested_at: DateTime<Utc>,
}

/// The five kinds of reminder, in the order RULES.md sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The evening before a session.
    SessionEve,
    /// The morning of a session.
    SessionDay,
    /// After days without activity.
    Inactivity,
    /// The weekly digest.
    Weekly,
    /// Sent by a parent.
    Manual,
}

impl Kind {
    /// Every kind, in the spec's order.
    pub const ALL: [Kind; 5] = [
        Kind::SessionEve,
        Kind::SessionDay,
        Kind::Inactivity,
        Kind::Weekly,
        Kind::Manual,
    ];

    /// The kind's name as written in scenarios, plans and databases.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SessionEve => "session_eve",
            Kind::SessionDay => "session_day",
            Kind::Inactivity => "inactivity",
            Kind::Weekly => "weekly",
            Kind::Manual => "manual",
        }
    }

    /// The opt-out family of an automatic kind; manual reminders have none.
    pub fn family(self) -> Option<Family> {
        match self {
            Kind::SessionEve | Kind::SessionDay => Some(Family::Session),
            Kind::Inactivity => Some(Family::Inactivity),
            Kind::Weekly => Some(Family::Weekly),
            Kind::Manual => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| DomainError::UnknownKind(s.to_owned()))
    }
}

/// A family of automatic reminders a student can opt out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `session_eve` and `session_day`.
    Session,
    /// `inactivity`.
    Inactivity,
    /// `weekly`.
    Weekly,
}

impl Family {
    /// Every family, in the order pages list them.
    pub const ALL: [Family; 3] = [Family::Session, Family::Inactivity, Family::Weekly];

    /// The family named `name` (`session`, `inactivity`, `weekly`).
    pub fn parse(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The family's name as written in `opt_out` lists and unsubscribe tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Session => "session",
            Family::Inactivity => "inactivity",
            Family::Weekly => "weekly",
        }
    }
}

/// One entry of a student's `opt_out` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptOut {
    /// Session reminders.
    Session,
    /// Inactivity reminders.
    Inactivity,
    /// Weekly digests.
    Weekly,
    /// Every automatic reminder.
    All,
}

/// The set of opt-outs of a student, kept in the order given so it serialises back as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OptOuts(Vec<OptOut>);

impl OptOuts {
    /// Builds a set from a list (duplicates are harmless).
    pub fn new(entries: Vec<OptOut>) -> Self {
        OptOuts(entries)
    }

    /// True when the student has opted out of nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries as given.
    pub fn entries(&self) -> &[OptOut] {
        &self.0
    }

    /// True when `family` is refused, directly or through `all`.
    pub fn excludes(&self, family: Family) -> bool {
        self.0.iter().any(|o| match o {
            OptOut::All => true,
            OptOut::Session => family == Family::Session,
            OptOut::Inactivity => family == Family::Inactivity,
            OptOut::Weekly => family == Family::Weekly,
        })
    }

    /// Adds `family` unless it is already excluded; returns whether anything changed.
    pub fn add(&mut self, family: Family) -> bool {
        if self.excludes(family) {
            return false;
        }
        self.0.push(OptOut::of(family));
        true
    }

    /// Takes `family` out of the set (an `all` becomes the other families); returns whether
    /// anything changed.
    pub fn remove(&mut self, family: Family) -> bool {
        if !self.excludes(family) {
            return false;
        }
        if self.0.contains(&OptOut::All) {
            let others = Family::ALL
                .into_iter()
                .filter(|f| *f != family)
                .map(OptOut::of);
            self.0.retain(|o| *o != OptOut::All);
            for other in others {
                if !self.0.contains(&other) {
                    self.0.push(other);
                }
            }
        }
        self.0.retain(|o| *o != OptOut::of(family));
        true
    }
}

impl OptOut {
    /// The entry that refuses `family`.
    pub fn of(family: Family) -> OptOut {
        match family {
            Family::Session => OptOut::Session,
            Family::Inactivity => OptOut::Inactivity,
            Family::Weekly => OptOut::Weekly,
        }
    }
}

/// What makes a reminder unique: RULES.md's key, under which it is sent at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReminderKey {
    /// `session_eve` / `session_day`: (student, kind, session, slot date).
    Session {
        /// The student.
        student: StudentId,
        /// Whether it is the eve or the morning reminder.
        day: SessionReminder,
        /// The session.
        session: SessionId,
        /// The local date the slot was evaluated for.
        slot_date: NaiveDate,
    },
    /// `inactivity` / `weekly`: (student, kind, slot date).
    Periodic {
        /// The student.
        student: StudentId,
        /// Inactivity or weekly.
        kind: PeriodicKind,
        /// The local date the slot was evaluated for.
        slot_date: NaiveDate,
    },
    /// `manual`: the request's id.
    Manual(ManualId),
}

/// The two session reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionReminder {
    /// The evening before.
    Eve,
    /// The morning of.
    Day,
}

/// The two date-based reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodicKind {
    /// Inactivity.
    Inactivity,
    /// Weekly digest.
    Weekly,
}

impl ReminderKey {
    /// The kind of reminder the key names.
    pub fn kind(&self) -> Kind {
        match self {
            ReminderKey::Session {
                day: SessionReminder::Eve,
                ..
            } => Kind::SessionEve,
            ReminderKey::Session {
                day: SessionReminder::Day,
                ..
            } => Kind::SessionDay,
            ReminderKey::Periodic {
                kind: PeriodicKind::Inactivity,
                ..
            } => Kind::Inactivity,
            ReminderKey::Periodic {
                kind: PeriodicKind::Weekly,
                ..
            } => Kind::Weekly,
            ReminderKey::Manual(_) => Kind::Manual,
        }
    }

    /// The student the key names, when it names one (manual keys name only the request).
    pub fn student(&self) -> Option<StudentId> {
        match *self {
            ReminderKey::Session { student, .. } | ReminderKey::Periodic { student, .. } => {
                Some(student)
            }
            ReminderKey::Manual(_) => None,
        }
    }

    /// The session of a session reminder.
    pub fn session(&self) -> Option<SessionId> {
        match *self {
            ReminderKey::Session { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The manual request of a manual reminder.
    pub fn manual(&self) -> Option<ManualId> {
        match *self {
            ReminderKey::Manual(id) => Some(id),
            _ => None,
        }
    }

    /// The slot date of an automatic reminder.
    pub fn slot_date(&self) -> Option<NaiveDate> {
        match *self {
            ReminderKey::Session { slot_date, .. } | ReminderKey::Periodic { slot_date, .. } => {
                Some(slot_date)
            }
            ReminderKey::Manual(_) => None,
        }
    }

    /// Builds a key from its parts, as a `sent` entry or a database row holds them.
    pub fn from_parts(
        kind: Kind,
        student: Option<StudentId>,
        session: Option<SessionId>,
        slot_date: Option<NaiveDate>,
        manual: Option<ManualId>,
    ) -> Result<Self, DomainError> {
        let missing = |field: &'static str| DomainError::IncompleteKey { kind, field };
        let extra = |field: &'static str| DomainError::ExtraKeyField { kind, field };
        match kind {
            Kind::SessionEve | Kind::SessionDay => {
                if manual.is_some() {
                    return Err(extra("manual_id"));
                }
                Ok(ReminderKey::Session {
                    student: student.ok_or_else(|| missing("student_id"))?,
                    day: if kind == Kind::SessionEve {
                        SessionReminder::Eve
                    } else {
                        SessionReminder::Day
                    },
                    session: session.ok_or_else(|| missing("session_id"))?,
                    slot_date: slot_date.ok_or_else(|| missing("slot_date"))?,
                })
            }
            Kind::Inactivity | Kind::Weekly => {
                if session.is_some() {
                    return Err(extra("session_id"));
                }
                if manual.is_some() {
                    return Err(extra("manual_id"));
                }
                Ok(ReminderKey::Periodic {
                    student: student.ok_or_else(|| missing("student_id"))?,
                    kind: if kind == Kind::Inactivity {
                        PeriodicKind::Inactivity
                    } else {
                        PeriodicKind::Weekly
                    },
                    slot_date: slot_date.ok_or_else(|| missing("slot_date"))?,
                })
            }
            Kind::Manual => {
                for (present, field) in [
                    (student.is_some(), "student_id"),
                    (session.is_some(), "session_id"),
                    (slot_date.is_some(), "slot_date"),
                ] {
                    if present {
                        return Err(extra(field));
                    }
                }
                Ok(ReminderKey::Manual(
                    manual.ok_or_else(|| missing("manual_id"))?,
                ))
            }
        }
    }
}

impl fmt::Display for ReminderKey {
    /// A stable text form, used as the unique column of the reminder log and inside
    /// Message-IDs: `session_eve:1:100:2026-11-26`, `weekly:1:2026-11-29`, `manual:500`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReminderKey::Session {
                student,
                session,
                slot_date,
                ..
            } => {
                write!(f, "{}:{student}:{session}:{slot_date}", self.kind())
            }
            ReminderKey::Periodic {
                student, slot_date, ..
            } => {
                write!(f, "{}:{student}:{slot_date}", self.kind())
            }
            ReminderKey::Manual(id) => write!(f, "manual:{id}"),
        }
    }
}

impl std::str::FromStr for ReminderKey {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::InvalidKey(s.to_owned());
        let parts: Vec<&str> = s.split(':').collect();
        let kind: Kind = parts.first().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let id = |i: usize| -> Result<i64, DomainError> {
            parts.get(i).and_then(|p| p.parse().ok()).ok_or_else(bad)
        };
        let date = |i: usize| -> Result<NaiveDate, DomainError> {
            parts.get(i).and_then(|p| p.parse().ok()).ok_or_else(bad)
        };
        let key = match (kind, parts.len()) {
            (Kind::SessionEve | Kind::SessionDay, 4) => ReminderKey::from_parts(
                kind,
                Some(StudentId::new(id(1)?)?),
                Some(SessionId::new(id(2)?)?),
                Some(date(3)?),
                None,
            )?,
            (Kind::Inactivity | Kind::Weekly, 3) => ReminderKey::from_parts(
                kind,
                Some(StudentId::new(id(1)?)?),
                None,
                Some(date(2)?),
                None,
            )?,
            (Kind::Manual, 2) => ReminderKey::Manual(ManualId::new(id(1)?)?),
            _ => return Err(bad()),
        };
        Ok(key)
    }
}

/// A `sent` entry as scenarios write it; converted to a [`ReminderKey`] on reading.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SentEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    student_id: Option<StudentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_id: Option<SessionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manual_id: Option<ManualId>,
}

impl TryFrom<SentEntry> for ReminderKey {
    type Error = DomainError;
    fn try_from(e: SentEntry) -> Result<Self, DomainError> {
        // `{ "manual_id": 499 }` is the spec's form for manual entries: no kind needed.
        let kind = match (e.kind, e.manual_id) {
            (Some(kind), _) => kind,
            (None, Some(_)) => Kind::Manual,
            (None, None) => return Err(DomainError::SentWithoutKind),
        };
        ReminderKey::from_parts(kind, e.student_id, e.session_id, e.slot_date, e.manual_id)
    }
}

impl From<ReminderKey> for SentEntry {
    fn from(key: ReminderKey) -> Self {
        match key {
            ReminderKey::Manual(id) => SentEntry {
                manual_id: Some(id),
                ..SentEntry::default()
            },
            other => SentEntry {
                student_id: other.student(),
                kind: Some(other.kind()),
                session_id: other.session(),
                slot_date: other.slot_date(),
                manual_id: None,
            },
        }
    }
}

impl Serialize for ReminderKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SentEntry::from(*self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for ReminderKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ReminderKey::try_from(SentEntry::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_family_removed_from_opt_outs_is_wanted_again_and_only_it() {
        let families = [Family::Session, Family::Inactivity, Family::Weekly];
        for family in families {
            let mut all = OptOuts::new(vec![OptOut::All]);
            assert!(all.remove(family));
            for other in families {
                assert_eq!(all.excludes(other), other != family, "{family:?} {other:?}");
            }
            assert!(!all.remove(family), "removed twice");
            let mut one = OptOuts::new(vec![OptOut::of(family), OptOut::of(family)]);
            assert!(one.remove(family));
            assert!(one.is_empty());
        }
    }

    #[test]
    fn keys_round_trip_through_text_and_json() {
        let keys = [
            ReminderKey::Session {
                student: StudentId::new(1).unwrap(),
                day: SessionReminder::Eve,
                session: SessionId::new(100).unwrap(),
                slot_date: date("2026-11-26"),
            },
            ReminderKey::Periodic {
                student: StudentId::new(2).unwrap(),
                kind: PeriodicKind::Weekly,
                slot_date: date("2026-11-22"),
            },
            ReminderKey::Manual(ManualId::new(499).unwrap()),
        ];
        let texts = [
            "session_eve:1:100:2026-11-26",
            "weekly:2:2026-11-22",
            "manual:499",
        ];
        for (key, text) in keys.iter().zip(texts) {
            assert_eq!(key.to_string(), text);
            assert_eq!(text.parse::<ReminderKey>().unwrap(), *key);
            let json = serde_json::to_string(key).unwrap();
            assert_eq!(serde_json::from_str::<ReminderKey>(&json).unwrap(), *key);
        }
        assert_eq!(
            serde_json::to_string(&keys[2]).unwrap(),
            r#"{"manual_id":499}"#
        );
    }

    #[test]
    fn sent_entries_must_be_complete() {
        let err = serde_json::from_str::<ReminderKey>(
            r#"{"student_id":1,"kind":"session_day","slot_date":"2026-11-26"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("session_id"), "{err}");
        assert!(
            serde_json::from_str::<ReminderKey>(r#"{"kind":"weekly","student_id":1}"#).is_err()
        );
        assert!(serde_json::from_str::<ReminderKey>(r#"{}"#).is_err());
        assert!(serde_json::from_str::<ReminderKey>(r#"{"manual_id":3,"student_id":1}"#).is_err());
        assert!("bogus:1".parse::<ReminderKey>().is_err());
        assert!("weekly:1:2026-13-01".parse::<ReminderKey>().is_err());
    }

    #[test]
    fn opt_outs() {
        let o = OptOuts::new(vec![OptOut::Weekly]);
        assert!(o.excludes(Family::Weekly));
        assert!(!o.excludes(Family::Session));
        let all = OptOuts::new(vec![OptOut::All]);
        assert!(all.excludes(Family::Session) && all.excludes(Family::Inactivity));
        let mut o = OptOuts::default();
        assert!(o.add(Family::Inactivity));
        assert!(!o.add(Family::Inactivity));
        assert_eq!(o.entries(), &[OptOut::Inactivity]);
    }
}
