//! Time values: IANA zones, wall-clock times of day, weekdays and the instant format of
//! scenarios.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::DomainError;

/// An IANA time zone known to chrono-tz (`Europe/Paris`, `Africa/Abidjan`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Zone(Tz);

impl<'de> Deserialize<'de> for Zone {
    /// Reads the name where the deserializer holds it: a scenario names a zone for each of
    /// its students, and a copy of each name would be thrown away at once.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ZoneName;
        impl Visitor<'_> for ZoneName {
            type Value = Zone;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Zone, E> {
                Zone::parse(name).map_err(E::custom)
            }
        }
        d.deserialize_str(ZoneName)
    }
}

impl Zone {
    /// Parses an IANA zone name; the match is exact, as in the tz database.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        Tz::from_str(name)
            .map(Zone)
            .map_err(|_| DomainError::UnknownTimeZone(name.to_owned()))
    }

    /// The chrono-tz zone, for date arithmetic.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// The zone's IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl From<Tz> for Zone {
    fn from(tz: Tz) -> Self {
        Zone(tz)
    }
}

impl Default for Zone {
    /// `Europe/Paris`, the original system's zone.
    fn default() -> Self {
        Zone(chrono_tz::Europe::Paris)
    }
}

impl TryFrom<String> for Zone {
    type Error = DomainError;
    fn try_from(name: String) -> Result<Self, DomainError> {
        Zone::parse(&name)
    }
}

impl From<Zone> for String {
    fn from(zone: Zone) -> String {
        zone.name().to_owned()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A wall-clock time of day written `HH:MM` (24 h), such as the `18:30` of eve reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay(NaiveTime);

impl TimeOfDay {
    /// Builds a time from hours (0–23) and minutes (0–59).
    pub fn new(hour: u32, minute: u32) -> Result<Self, DomainError> {
        NaiveTime::from_hms_opt(hour, minute, 0)
            .map(TimeOfDay)
            .ok_or_else(|| DomainError::InvalidTimeOfDay(format!("{hour:02}:{minute:02}")))
    }

    /// Parses exactly `HH:MM`: two digits, a colon, two digits.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = || DomainError::InvalidTimeOfDay(raw.to_owned());
        let bytes = raw.as_bytes();
        if bytes.len() != 5 || bytes[2] != b':' {
            return Err(invalid());
        }
        let digits = |s: &str| -> Option<u32> {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (Some(hour), Some(minute)) = (digits(&raw[..2]), digits(&raw[3..])) else {
            return Err(invalid());
        };
        Self::new(hour, minute).map_err(|_| invalid())
    }

    /// The time as chrono's `NaiveTime`.
    pub fn naive(self) -> NaiveTime {
        self.0
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        TimeOfDay::parse(&raw)
    }
}

impl From<TimeOfDay> for String {
    fn from(time: TimeOfDay) -> String {
        time.to_string()
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

/// A day of the week, written as its lowercase English name (`sunday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Weekday(chrono::Weekday);

impl Weekday {
    const NAMES: [(&'static str, chrono::Weekday); 7] = [
        ("monday", chrono::Weekday::Mon),
        ("tuesday", chrono::Weekday::Tue),
        ("wednesday", chrono::Weekday::Wed),
        ("thursday", chrono::Weekday::Thu),
        ("friday", chrono::Weekday::Fri),
        ("saturday", chrono::Weekday::Sat),
        ("sunday", chrono::Weekday::Sun),
    ];

    /// Parses a lowercase English weekday name.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|&(_, day)| Weekday(day))
            .ok_or_else(|| DomainError::InvalidWeekday(raw.to_owned()))
    }

    /// The chrono weekday.
    pub fn chrono(self) -> chrono::Weekday {
        self.0
    }

    /// The lowercase English name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self.0.num_days_from_monday() as usize].0
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        Weekday(day)
    }
}

impl TryFrom<String> for Weekday {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        Weekday::parse(&raw)
    }
}

impl From<Weekday> for String {
    fn from(day: Weekday) -> String {
        day.name().to_owned()
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses an instant as scenarios write it: RFC 3339 with seconds and an offset
/// (`2026-11-27T14:00:00+01:00`, `…Z`), fractions of a second allowed.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, DomainError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.to_utc())
        .map_err(|e| DomainError::InvalidInstant {
            value: raw.to_owned(),
            reason: e.to_string(),
        })
}

/// Formats an instant the way plans print it: UTC with a `Z`, fractions of a second only
/// when they are not zero.
pub fn format_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Serde adapters for instants in the scenario format (`#[serde(with = "…")]`).
pub mod instant {
    use std::fmt;

    use chrono::{DateTime, Utc};
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Writes the instant as RFC 3339 UTC.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_instant(*t))
    }

    /// Reads an RFC 3339 instant with seconds and an offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        d.deserialize_str(InstantText)
    }

    /// Parses the text where the deserializer holds it, without a copy: scenarios hold
    /// millions of instants.
    struct InstantText;

    impl Visitor<'_> for InstantText {
        type Value = DateTime<Utc>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, raw: &str) -> Result<DateTime<Utc>, E> {
            super::parse_instant(raw).map_err(E::custom)
        }
    }

    /// The same for optional instants (`null` or absent is `None`).
    pub mod option {
        use std::fmt;

        use chrono::{DateTime, Utc};
        use serde::de::{self, Visitor};
        use serde::{Deserializer, Serializer};

        /// Writes the instant, or `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// Reads an instant or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            d.deserialize_option(MaybeInstant)
        }

        struct MaybeInstant;

        impl<'de> Visitor<'de> for MaybeInstant {
            type Value = Option<DateTime<Utc>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("option")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                super::deserialize(d).map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        assert_eq!(Zone::parse("Europe/Paris").unwrap().name(), "Europe/Paris");
        assert_eq!(
            Zone::parse("America/New_Yrok").unwrap_err().to_string(),
            "unknown time zone \"America/New_Yrok\""
        );
        assert!(Zone::parse("europe/paris").is_err());
    }

    #[test]
    fn zones_and_instants_read_from_json() {
        assert_eq!(
            serde_json::from_str::<Zone>("\"Africa/Abidjan\"")
                .unwrap()
                .name(),
            "Africa/Abidjan"
        );
        let err = serde_json::from_str::<Zone>("\"Europe/Pari\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown time zone \"Europe/Pari\" at line 1 column 13"
        );
        let err = serde_json::from_str::<Zone>("5").unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");

        #[derive(Debug, serde::Deserialize)]
        struct At {
            #[serde(with = "instant")]
            at: DateTime<Utc>,
            #[serde(default, with = "instant::option")]
            maybe: Option<DateTime<Utc>>,
        }
        let read = |json: &str| serde_json::from_str::<At>(json);
        let both = read(r#"{"at": "2026-11-27T14:00:00+01:00", "maybe": "2026-11-27T13:00:00Z"}"#)
            .unwrap();
        assert_eq!(both.at, both.maybe.unwrap());
        assert_eq!(
            read(r#"{"at": "2026-11-27T13:00:00Z", "maybe": null}"#)
                .unwrap()
                .maybe,
            None
        );
        assert_eq!(
            read(r#"{"at": "2026-11-27T13:00:00Z"}"#).unwrap().maybe,
            None
        );
        let err = read(r#"{"at": "2026-11-27 13:00"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid instant \"2026-11-27 13:00\""),
            "{err}"
        );
        let err = read(r#"{"at": "2026-11-27T13:00:00Z", "maybe": 3}"#).unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn times_of_day() {
        assert_eq!(TimeOfDay::parse("18:30").unwrap().to_string(), "18:30");
        assert_eq!(TimeOfDay::parse("00:00").unwrap().to_string(), "00:00");
        assert_eq!(TimeOfDay::parse("23:59").unwrap().to_string(), "23:59");
        for bad in [
            "24:00",
            "8:00",
            "08:0",
            "08h00",
            "08:60",
            "+1:00",
            "08:00:00",
            "",
            "٠٨:٠٠",
        ] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn weekdays() {
        assert_eq!(
            Weekday::parse("sunday").unwrap().chrono(),
            chrono::Weekday::Sun
        );
        assert_eq!(Weekday::parse("wednesday").unwrap().name(), "wednesday");
        assert!(Weekday::parse("Sunday").is_err());
        assert!(Weekday::parse("dimanche").is_err());
    }

    #[test]
    fn instants() {
        let t = parse_instant("2026-11-27T14:00:00+01:00").unwrap();
        assert_eq!(format_instant(t), "2026-11-27T13:00:00Z");
        let t = parse_instant("2026-11-27T14:00:00.250Z").unwrap();
        assert_eq!(format_instant(t), "2026-11-27T14:00:00.250Z");
        for bad in [
            "2026-11-27 14:00",
            "2026-11-27T14:00Z",
            "2026-11-27T14:00:00",
            "yesterday",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
