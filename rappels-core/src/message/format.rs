//! Dates, times and durations in the student's zone and language.

use super::*;

/// Dates, times and durations as the student reads them: in their zone and language.
pub(super) struct LocalFormat {
    pub(super) locale: Locale,
    pub(super) zone: Zone,
}

impl LocalFormat {
    pub(super) fn local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.zone.tz())
    }

    /// The first instant of a local day, with the DST rules of `rules::slot_at`.
    pub(super) fn midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = TimeOfDay::new(0, 0).expect("00:00 is a valid time");
        rules::slot_at(date, midnight, self.zone)
    }

    pub(super) fn chrono_locale(&self) -> chrono::Locale {
        match self.locale {
            Locale::Fr => chrono::Locale::fr_FR,
            Locale::En => chrono::Locale::en_US,
        }
    }

    /// "vendredi 27 novembre", "vendredi 1er janvier", "Friday 27 November".
    pub(super) fn day(&self, date: NaiveDate) -> String {
        let locale = self.chrono_locale();
        let weekday = date.format_localized("%A", locale);
        let month = date.format_localized("%B", locale);
        // French writes the first of the month as an ordinal: « le 1er janvier ».
        let ordinal = if self.locale == Locale::Fr && date.day() == 1 {
            "er"
        } else {
            ""
        };
        format!("{weekday} {}{ordinal} {month}", date.day())
    }

    pub(super) fn day_with_year(&self, date: NaiveDate) -> String {
        format!("{} {}", self.day(date), date.year())
    }

    /// The local date of an instant, as [`Self::day`] writes it.
    pub(super) fn date(&self, t: DateTime<Utc>) -> String {
        self.day(self.local(t).date_naive())
    }

    /// "15:00" in French, "3:00 PM" in English: digits and the English day halves, which no
    /// locale changes, so no localized formatting is needed.
    pub(super) fn time(&self, t: DateTime<Utc>) -> String {
        let local = self.local(t);
        match self.locale {
            Locale::Fr => format!("{:02}:{:02}", local.hour(), local.minute()),
            Locale::En => {
                let (pm, hour) = local.hour12();
                let half = if pm { "PM" } else { "AM" };
                format!("{hour}:{:02} {half}", local.minute())
            }
        }
    }

    /// "45 min", "1 h", "1 h 30" (French) or "1 h 30 min" (English).
    pub(super) fn duration(&self, minutes: u32) -> String {
        let (hours, rest) = (minutes / 60, minutes % 60);
        match (hours, rest, self.locale) {
            (0, m, _) => format!("{m} min"),
            (h, 0, _) => format!("{h} h"),
            (h, m, Locale::Fr) => format!("{h} h {m:02}"),
            (h, m, Locale::En) => format!("{h} h {m} min"),
        }
    }
}
