//! The settings of RULES.md, with the original system's defaults and their validation.

use std::num::NonZeroU32;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, TimeOfDay, Weekday, Zone};

/// The catch-up window of automatic reminders, in minutes (1 to 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct GraceMinutes(u32);

impl GraceMinutes {
    /// Longest grace: one day, so that at most two slots of a kind can be due at once.
    pub const MAX: u32 = 1440;

    /// Checks the range 1..=1440.
    pub fn new(minutes: u32) -> Result<Self, DomainError> {
        if (1..=Self::MAX).contains(&minutes) {
            Ok(GraceMinutes(minutes))
        } else {
            Err(DomainError::InvalidSetting {
                name: "grace_minutes",
                message: format!("must be an integer from 1 to 1440, got {minutes}"),
            })
        }
    }

    /// The grace as a duration.
    pub fn duration(self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.0))
    }

    /// The grace in minutes.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for GraceMinutes {
    type Error = DomainError;
    fn try_from(minutes: u32) -> Result<Self, DomainError> {
        GraceMinutes::new(minutes)
    }
}

impl From<GraceMinutes> for u32 {
    fn from(g: GraceMinutes) -> u32 {
        g.0
    }
}

/// When and how reminders are due. Every field has the default of the original system, so
/// `Settings::default()` is a working configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Zone of students without their own.
    pub timezone: Zone,
    /// Local time of the eve-of-session reminder (day before the session).
    pub session_eve_time: TimeOfDay,
    /// Local time of the same-day session reminder.
    pub session_day_time: TimeOfDay,
    /// Local time of inactivity reminders.
    pub inactivity_time: TimeOfDay,
    /// Days of inactivity on which a reminder is due (empty: none).
    pub inactivity_days: Vec<u32>,
    /// After the last entry of `inactivity_days`, repeat every N days (`None`: never).
    pub inactivity_repeat_days: Option<NonZeroU32>,
    /// Weekday of the weekly digest.
    pub weekly_day: Weekday,
    /// Local time of the weekly digest.
    pub weekly_time: TimeOfDay,
    /// A slot missed by less than this is still sent.
    pub grace_minutes: GraceMinutes,
    /// Manual reminders accepted per (parent, student, local date).
    pub manual_max_per_day: u32,
}

impl Default for Settings {
    fn default() -> Self {
        let time = |h, m| TimeOfDay::new(h, m).expect("constant times are valid");
        Settings {
            timezone: Zone::default(),
            session_eve_time: time(18, 30),
            session_day_time: time(8, 0),
            inactivity_time: time(10, 0),
            inactivity_days: vec![3, 7, 14, 30],
            inactivity_repeat_days: None,
            weekly_day: Weekday::from(chrono::Weekday::Sun),
            weekly_time: time(20, 0),
            grace_minutes: GraceMinutes(360),
            manual_max_per_day: 5,
        }
    }
}

impl Settings {
    /// The grace as a duration.
    pub fn grace(&self) -> TimeDelta {
        self.grace_minutes.duration()
    }

    /// The last rung of the inactivity ladder, if there is a ladder.
    pub fn inactivity_last_rung(&self) -> Option<u32> {
        self.inactivity_days.iter().copied().max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_original_systems() {
        let s: Settings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.timezone.name(), "Europe/Paris");
        assert_eq!(s.session_eve_time.to_string(), "18:30");
        assert_eq!(s.session_day_time.to_string(), "08:00");
        assert_eq!(s.inactivity_time.to_string(), "10:00");
        assert_eq!(s.inactivity_days, [3, 7, 14, 30]);
        assert_eq!(s.inactivity_repeat_days, None);
        assert_eq!(s.weekly_day.name(), "sunday");
        assert_eq!(s.weekly_time.to_string(), "20:00");
        assert_eq!(s.grace_minutes.get(), 360);
        assert_eq!(s.manual_max_per_day, 5);
    }

    #[test]
    fn validation() {
        let parse = |json: &str| serde_json::from_str::<Settings>(json).map_err(|e| e.to_string());
        assert!(parse(r#"{"grace_minutes": 1440}"#).is_ok());
        assert!(parse(r#"{"grace_minutes": 1}"#).is_ok());
        let err = parse(r#"{"grace_minutes": 5000}"#).unwrap_err();
        assert!(
            err.contains("grace_minutes must be an integer from 1 to 1440, got 5000"),
            "{err}"
        );
        assert!(parse(r#"{"grace_minutes": 0}"#).is_err());
        assert!(parse(r#"{"grace_minutes": 1.5}"#).is_err());
        assert!(parse(r#"{"inactivity_days": [3, -1]}"#).is_err());
        assert!(parse(r#"{"inactivity_days": []}"#).is_ok());
        assert!(parse(r#"{"inactivity_repeat_days": 0}"#).is_err());
        assert!(parse(r#"{"inactivity_repeat_days": null}"#).is_ok());
        assert!(parse(r#"{"weekly_day": "Sunday"}"#).is_err());
        assert!(parse(r#"{"weekly_time": "24:00"}"#).is_err());
        assert!(parse(r#"{"manual_max_per_day": -1}"#).is_err());
        assert!(parse(r#"{"manual_max_per_day": 0}"#).is_ok());
        assert!(parse(r#"{"timezone": "Mars/Olympus"}"#).is_err());
        assert!(parse(r#"{"grace": 10}"#).is_err());
    }
}
