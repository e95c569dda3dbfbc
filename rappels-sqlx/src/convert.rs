//! How domain values are stored: instants as microseconds, local dates as day numbers,
//! opt-outs as a comma-separated list, and the parsing back into domain types.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rappels_core::domain::{OptOut, OptOuts};

use crate::SqlError;

/// An instant as stored: microseconds since 1970-01-01 UTC. Both backends compare and index
/// integers the same way, and microseconds are PostgreSQL's own precision.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Checks that an instant survives storage unchanged (no sub-microsecond part).
pub(crate) fn storable(t: DateTime<Utc>) -> bool {
    t.timestamp_subsec_nanos().is_multiple_of(1_000)
}

/// An instant read back.
pub(crate) fn instant(value: i64, what: &str) -> Result<DateTime<Utc>, SqlError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| SqlError::Corrupt(format!("{what}: instant {value} out of range")))
}

/// An optional instant read back.
pub(crate) fn opt_instant(
    value: Option<i64>,
    what: &str,
) -> Result<Option<DateTime<Utc>>, SqlError> {
    value.map(|v| instant(v, what)).transpose()
}

/// A local date as stored: days from 0001-01-01 (so `a − b` in SQL is a number of days).
pub(crate) fn day(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// A local date read back.
pub(crate) fn date(value: i64, what: &str) -> Result<NaiveDate, SqlError> {
    i32::try_from(value)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| SqlError::Corrupt(format!("{what}: day {value} out of range")))
}

/// Opt-outs as stored.
pub(crate) fn opt_out_text(opt_out: &OptOuts) -> String {
    opt_out
        .entries()
        .iter()
        .map(|o| match o {
            OptOut::Session => "session",
            OptOut::Inactivity => "inactivity",
            OptOut::Weekly => "weekly",
            OptOut::All => "all",
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Opt-outs read back.
pub(crate) fn opt_outs(text: &str, what: &str) -> Result<OptOuts, SqlError> {
    let entries = text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "session" => Ok(OptOut::Session),
            "inactivity" => Ok(OptOut::Inactivity),
            "weekly" => Ok(OptOut::Weekly),
            "all" => Ok(OptOut::All),
            other => Err(SqlError::Corrupt(format!(
                "{what}: unknown opt-out {other:?}"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OptOuts::new(entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::parse_instant;

    #[test]
    fn instants_and_dates_round_trip() {
        let t = parse_instant("2026-03-29T01:30:00.123456Z").unwrap();
        assert!(storable(t));
        assert_eq!(instant(micros(t), "x").unwrap(), t);
        assert!(!storable(
            parse_instant("2026-03-29T01:30:00.123456789Z").unwrap()
        ));
        let d: NaiveDate = "2026-11-26".parse().unwrap();
        assert_eq!(date(day(d), "x").unwrap(), d);
        assert_eq!(day(d) - day("2026-11-23".parse().unwrap()), 3);
    }

    #[test]
    fn opt_outs_round_trip() {
        let o = OptOuts::new(vec![OptOut::Weekly, OptOut::All]);
        assert_eq!(opt_out_text(&o), "weekly,all");
        assert_eq!(opt_outs("weekly,all", "x").unwrap(), o);
        assert_eq!(opt_outs("", "x").unwrap(), OptOuts::default());
        assert!(opt_outs("sms", "x").is_err());
    }
}
