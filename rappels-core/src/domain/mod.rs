//! Domain types, parsed at the edge: once a value of one of these types exists it is valid,
//! so the rules never re-check input.

mod ids;
pub mod limits;
mod model;
mod text;
pub(crate) mod time;

pub(crate) use ids::IdIndex;
pub use ids::{ManualId, ParentId, SessionId, StudentId, StudyPlanId};
pub use model::{
    Family, Kind, ManualRequest, OptOut, OptOuts, Parent, PeriodicKind, ReminderKey, Session,
    SessionReminder, SessionStatus, Student, StudyPlan,
};
pub use text::{
    EMAIL_MAX_CHARS, EmailAddress, Locale, MESSAGE_MAX_CHARS, MessageText, TITLE_MAX_CHARS, Title,
    is_blank,
};
pub use time::{TimeOfDay, Weekday, Zone, format_instant, instant, parse_instant};

/// Why a raw value was refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// An id out of 1..=2^63 − 1.
    #[error("{what} id must be between 1 and 2^63 - 1, got {value}")]
    InvalidId {
        /// Which record the id is for.
        what: &'static str,
        /// The refused value.
        value: i64,
    },
    /// A malformed e-mail address.
    #[error("invalid e-mail address {value:?}: {reason}")]
    InvalidEmail {
        /// The refused address.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A zone name the tz database does not know.
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    /// Not `HH:MM`.
    #[error("invalid time of day {0:?}: expected HH:MM (24 h), e.g. \"18:30\"")]
    InvalidTimeOfDay(String),
    /// Not a lowercase English weekday.
    #[error("invalid weekday {0:?}: expected a lowercase English name such as \"sunday\"")]
    InvalidWeekday(String),
    /// Not an RFC 3339 instant with seconds and offset.
    #[error(
        "invalid instant {value:?}: {reason} (expected RFC 3339 with seconds and an offset, e.g. \"2026-11-27T14:00:00+01:00\")"
    )]
    InvalidInstant {
        /// The refused text.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A locale other than `fr` and `en`.
    #[error("unknown locale {0:?}: expected \"fr\" or \"en\"")]
    UnknownLocale(String),
    /// A kind name other than the five of RULES.md.
    #[error("unknown reminder kind {0:?}")]
    UnknownKind(String),
    /// A text longer than RULES.md allows.
    #[error("longer than {max} characters")]
    TooLong {
        /// The most characters (Unicode scalar values) allowed.
        max: usize,
    },
    /// A session or study plan lasting zero minutes.
    #[error("duration_minutes must be a positive integer, got 0")]
    ZeroDuration,
    /// A blank manual title.
    #[error("the title is empty or blank")]
    BlankTitle,
    /// A manual title over 200 characters.
    #[error("the title is longer than 200 characters")]
    TitleTooLong,
    /// A manual title with a control character (CR, LF, TAB…).
    #[error("the title holds a control character (line break, tab…)")]
    TitleControlCharacter,
    /// A blank manual message.
    #[error("the message is empty or blank")]
    BlankMessage,
    /// A manual message over 5000 characters.
    #[error("the message is longer than 5000 characters")]
    MessageTooLong,
    /// A reminder key lacking a field its kind needs.
    #[error("a {kind} entry needs {field}")]
    IncompleteKey {
        /// The kind of the entry.
        kind: Kind,
        /// The missing field.
        field: &'static str,
    },
    /// A reminder key with a field its kind does not have.
    #[error("a {kind} entry has no {field}")]
    ExtraKeyField {
        /// The kind of the entry.
        kind: Kind,
        /// The field that does not belong.
        field: &'static str,
    },
    /// A `sent` entry with neither a kind nor a manual request id.
    #[error("a sent entry needs a kind (or, for a manual reminder, a manual_id)")]
    SentWithoutKind,
    /// A reminder key text that does not parse.
    #[error("invalid reminder key {0:?}")]
    InvalidKey(String),
    /// A setting out of its range.
    #[error("{name} {message}")]
    InvalidSetting {
        /// The setting's name.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}
