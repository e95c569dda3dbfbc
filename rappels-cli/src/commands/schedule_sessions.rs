//! `rappels schedule-sessions`: create the revision sessions of the weekly study plans for
//! the coming days — the original system's `programmer_sessions`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use clap::Args;
use rappels_core::domain::{Session, format_instant};
use rappels_core::service::Reminders;
use rappels_sqlx::{DatabaseUrl, SqlStore};

use crate::args::CommandClock;
use crate::args::parse_at;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::output::table;

pub(crate) const LONG_ABOUT: &str = "\
Create the sessions of the weekly study plans (the scenario's `study_plans`, loaded by \
`rappels import`) for the next N days: for each plan and each local date of its student \
falling on the plan's weekday, a scheduled session at the plan's local time, unless the \
student already has a session starting at that instant. Only students with an active account \
and an active subscription get sessions. Running it again creates nothing new, so it can run \
every day from cron; the new sessions get their eve and morning reminders from `rappels run`.

Prints one line per session created, then the total. `--at` computes the days from that \
instant instead of now, for tests and replays.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels schedule-sessions
  rappels schedule-sessions --days 28
  # crontab: every morning at 06:00
  0 6 * * * rappels schedule-sessions";

/// The days `--days` covers when absent: two weeks, as the original system did.
const DEFAULT_DAYS: u32 = 14;

#[derive(Debug, Args)]
pub(crate) struct ScheduleSessionsArgs {
    /// How many local days ahead to create sessions for (1 to 366).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Count the days from this instant, RFC 3339 with an offset (default: now); for tests
    /// and replays.
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    at: Option<DateTime<Utc>>,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: ScheduleSessionsArgs, config: &Config) -> Result<(), Failure> {
    let url = args.database.url(config)?;
    let clock = CommandClock::new(args.at);
    let created = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = schedule_on(&store, config, clock, args.days, &url).await;
        store.close().await;
        result
    })?;
    crate::output::emit(&to_text(&created, args.days))
}

async fn schedule_on(
    store: &SqlStore,
    config: &Config,
    clock: CommandClock,
    days: u32,
    url: &DatabaseUrl,
) -> Result<Vec<Session>, Failure> {
    database::settings_in_force(store, config).await?;
    Reminders::new(store.clone(), clock)
        .schedule_sessions(days)
        .await
        .map_err(|error| {
            Failure::Failed(anyhow::anyhow!(
                "scheduling sessions on {url} failed: {error}"
            ))
        })
}

/// A table of the sessions created, then the total. Starts are printed in UTC: the
/// sessions do not carry their student's zone.
fn to_text(created: &[Session], days: u32) -> String {
    let period = if days == 1 {
        "the next day".to_owned()
    } else {
        format!("the next {days} days")
    };
    if created.is_empty() {
        return format!(
            "no session created: the study plans' sessions for {period} already exist \
             (or no active student has a study plan)\n"
        );
    }
    let mut rows = vec![[
        "SESSION".to_owned(),
        "STUDENT".to_owned(),
        "SUBJECT".to_owned(),
        "STARTS AT (UTC)".to_owned(),
        "MINUTES".to_owned(),
    ]];
    rows.extend(created.iter().map(|s| {
        [
            s.id.to_string(),
            s.student_id.to_string(),
            s.subject.clone(),
            format_instant(s.starts_at),
            s.duration_minutes.to_string(),
        ]
    }));
    let mut out = table(&rows);
    let plural = if created.len() == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "\ncreated {} session{plural} from the study plans for {period}",
        created.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::{SessionId, SessionStatus, StudentId, parse_instant};

    #[test]
    fn lists_the_sessions_then_the_total() {
        let session = Session {
            id: SessionId::new(102).unwrap(),
            student_id: StudentId::new(2).unwrap(),
            subject: "Physique".to_owned(),
            objective: String::new(),
            starts_at: parse_instant("2026-12-02T16:00:00Z").unwrap(),
            duration_minutes: 45,
            status: SessionStatus::Scheduled,
        };
        assert_eq!(
            to_text(&[session], 14),
            "SESSION  STUDENT  SUBJECT   STARTS AT (UTC)       MINUTES\n\
             102      2        Physique  2026-12-02T16:00:00Z  45\n\
             \n\
             created 1 session from the study plans for the next 14 days\n"
        );
        assert_eq!(
            to_text(&[], 1),
            "no session created: the study plans' sessions for the next day already exist \
             (or no active student has a study plan)\n"
        );
    }
}
