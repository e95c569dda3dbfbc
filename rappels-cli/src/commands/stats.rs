//! `rappels stats`: counts of the reminder log — sent today, sent over the last days and by
//! kind, failed, pending and expired.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use clap::Args;
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{Kind, Zone};
use rappels_core::ports::Stats;
use rappels_core::rules;
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::args::ReportFormat;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::output::table;

pub(crate) const LONG_ABOUT: &str = "\
Print counts of the reminder log: the reminders sent today, those sent over the last N days \
(today included) in total and by kind, and the totals of failed (refused for good), pending \
(waiting for a first attempt or a retry, or being sent) and expired reminders (their moment \
passed before they could go out).

Days are local days in the zone of the settings (`timezone`, Europe/Paris by default): \
\"today\" starts at local midnight there, whatever the zone of the machine.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels stats
  rappels stats --days 30 --format json";

/// The longest period `--days` accepts: far beyond any log, and well inside the calendar's
/// range, so that counting back never leaves it.
const MAX_DAYS: u32 = 100_000;

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// Count the reminders sent over this many local days, today included.
    #[arg(long, value_name = "N", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
    days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// A clock stopped at one instant, so that the counts and the dates printed with them agree
/// even when the command runs across midnight.
struct Stopped(DateTime<Utc>);

impl Clock for Stopped {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

pub(crate) fn run(args: StatsArgs, config: &Config) -> Result<(), Failure> {
    let url = args.database.url(config)?;
    let now = SystemClock.now();
    let (stats, zone) = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = async {
            let engine = database::read_only_engine(&store, config, Stopped(now)).await?;
            let stats = engine
                .stats(args.days)
                .await
                .map_err(|error| database::log_failure(error, &url))?;
            let settings = engine
                .settings()
                .await
                .map_err(|error| database::log_failure(error, &url))?;
            Ok((stats, settings.timezone))
        }
        .await;
        store.close().await;
        result
    })?;
    let output = StatsOutput::new(&stats, zone, now, args.days);
    match args.format {
        ReportFormat::Json => crate::output::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&output).expect("the stats serialise")
        )),
        ReportFormat::Table => crate::output::emit(&output.to_table()),
    }
}

/// What `stats` prints.
#[derive(Debug, Serialize)]
struct StatsOutput {
    /// The zone whose local days are counted.
    timezone: &'static str,
    /// Today's local date there.
    today: NaiveDate,
    /// The period's length in days, today included.
    days: u32,
    /// The period's first local date.
    since: NaiveDate,
    sent_today: u64,
    sent_in_period: u64,
    sent_by_kind: ByKind,
    failed: u64,
    pending: u64,
    expired: u64,
    /// Cancelled at send time: the data no longer wanted them.
    cancelled: u64,
}

/// The period's count of every kind, zeros included, in the spec's order.
#[derive(Debug)]
struct ByKind([u64; Kind::ALL.len()]);

impl Serialize for ByKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Kind::ALL.len()))?;
        for (kind, count) in Kind::ALL.iter().zip(self.0) {
            map.serialize_entry(kind.as_str(), &count)?;
        }
        map.end()
    }
}

impl StatsOutput {
    fn new(stats: &Stats, zone: Zone, now: DateTime<Utc>, days: u32) -> StatsOutput {
        let today = rules::local_date(now, zone);
        StatsOutput {
            timezone: zone.name(),
            today,
            days,
            since: today - TimeDelta::days(i64::from(days.max(1)) - 1),
            sent_today: stats.sent_today,
            sent_in_period: stats.sent_in_period,
            sent_by_kind: ByKind(
                Kind::ALL.map(|kind| stats.sent_by_kind.get(&kind).copied().unwrap_or(0)),
            ),
            failed: stats.failed,
            pending: stats.pending,
            expired: stats.expired,
            cancelled: stats.cancelled,
        }
    }

    /// A heading naming the zone, then one count per line, the kinds indented under the
    /// period they belong to.
    fn to_table(&self) -> String {
        let period = if self.days == 1 {
            "sent in the last day (today)".to_owned()
        } else {
            format!("sent in the last {} days (since {})", self.days, self.since)
        };
        let mut rows = vec![
            ["sent today".to_owned(), self.sent_today.to_string()],
            [period, self.sent_in_period.to_string()],
        ];
        rows.extend(
            Kind::ALL
                .iter()
                .zip(self.sent_by_kind.0)
                .map(|(kind, count)| [format!("  {kind}"), count.to_string()]),
        );
        rows.extend([
            ["failed".to_owned(), self.failed.to_string()],
            ["pending".to_owned(), self.pending.to_string()],
            ["expired".to_owned(), self.expired.to_string()],
            ["cancelled".to_owned(), self.cancelled.to_string()],
        ]);
        format!(
            "Reminders on {} (local days in {})\n\n{}",
            self.today,
            self.timezone,
            table(&rows)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::parse_instant;

    fn stats() -> Stats {
        Stats {
            sent_today: 1,
            sent_in_period: 4,
            sent_by_kind: [(Kind::SessionEve, 2), (Kind::Manual, 2)].into(),
            failed: 1,
            pending: 3,
            expired: 0,
            cancelled: 2,
        }
    }

    #[test]
    fn today_is_the_local_day_of_the_settings_zone() {
        // 23:30Z on the 26th is already the 27th in Paris.
        let now = parse_instant("2026-11-26T23:30:00Z").unwrap();
        let output = StatsOutput::new(&stats(), Zone::parse("Europe/Paris").unwrap(), now, 7);
        assert_eq!(
            serde_json::to_value(&output).unwrap(),
            serde_json::json!({
                "timezone": "Europe/Paris", "today": "2026-11-27", "days": 7,
                "since": "2026-11-21", "sent_today": 1, "sent_in_period": 4,
                "sent_by_kind": { "session_eve": 2, "session_day": 0, "inactivity": 0,
                                  "weekly": 0, "manual": 2 },
                "failed": 1, "pending": 3, "expired": 0, "cancelled": 2
            })
        );
        let json = serde_json::to_string(&output.sent_by_kind).unwrap();
        assert_eq!(
            json, r#"{"session_eve":2,"session_day":0,"inactivity":0,"weekly":0,"manual":2}"#,
            "the kinds in the spec's order"
        );
    }

    #[test]
    fn the_table_names_the_zone_and_lists_every_kind() {
        let now = parse_instant("2026-11-26T10:00:00Z").unwrap();
        let zone = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            StatsOutput::new(&stats(), zone, now, 30).to_table(),
            "Reminders on 2026-11-26 (local days in America/New_York)\n\
             \n\
             sent today                                   1\n\
             sent in the last 30 days (since 2026-10-28)  4\n\
             \x20 session_eve                                2\n\
             \x20 session_day                                0\n\
             \x20 inactivity                                 0\n\
             \x20 weekly                                     0\n\
             \x20 manual                                     2\n\
             failed                                       1\n\
             pending                                      3\n\
             expired                                      0\n\
             cancelled                                    2\n"
        );
        let one_day = StatsOutput::new(&stats(), zone, now, 1).to_table();
        assert!(
            one_day.contains("sent in the last day (today)  4\n"),
            "{one_day}"
        );
    }
}
