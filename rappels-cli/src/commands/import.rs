//! `rappels import`: load a scenario file into the database.

use std::path::PathBuf;

use clap::Args;
use rappels_core::clock::{Clock, SystemClock};
use rappels_sqlx::{ImportProgress, ImportReport, SqlError};

use crate::commands::plan::load_scenario;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Load a scenario file (the JSON format of RULES.md: settings, students, parents, sessions, \
study plans, manual requests and the keys of reminders already sent) into the database, \
migrating it first.

The whole file is validated before anything is written, and written in one transaction: an \
invalid record is named and nothing changes. Records are upserted by id: importing the same file \
twice changes nothing, a newer export updates the records it holds, and records it does not hold \
are kept. `sent` keys are recorded as already sent, so those reminders are never sent again.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels import school.json
  rappels import school.json --database-url postgres://rappels@db.internal/rappels
  rappels plan --db --at 2026-11-26T18:45:00Z      # then see what is due";

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Scenario file (JSON, the format of RULES.md).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: ImportArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    // Reading and validating come before connecting, so a bad file touches no database.
    let mut scenario = load_scenario(&args.file)?;
    // The keys the configuration sets win over the export's, as they do over the stored
    // settings in every other command: the platform exports its data, the school's admin
    // chooses the hours.
    scenario.settings = config.settings().apply(&scenario.settings)?;
    rappels_sqlx::check_storable(&scenario).map_err(|error| {
        Failure::invalid(format_args!(
            "invalid scenario {}: {error}",
            args.file.display()
        ))
    })?;
    warn_undeliverable(&scenario, &args.file);
    let url = args.database.url(config)?;
    let shown = url.to_string();
    let started = std::time::Instant::now();
    let bar =
        crate::output::progress_bar(quiet, "importing {wide_bar} {pos}/{len} records ({eta})");
    // The store reports the same total after each batch; knowing it now draws a true bar
    // while the database is opened and migrated.
    bar.set_length(
        (scenario.students.len()
            + scenario.parents.len()
            + scenario.sessions.len()
            + scenario.study_plans.len()
            + scenario.manual.len()
            + scenario.sent.len()) as u64,
    );
    let result = database::block_on(async {
        let store = database::connect(&url).await?;
        let imported = async {
            store.migrate().await?;
            let update = |p: ImportProgress| {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
            };
            store.import(&scenario, SystemClock.now(), &update).await
        }
        .await;
        store.close().await;
        imported.map_err(|error| match error {
            // The path names the record; say which file it is in, like the loader does.
            SqlError::Unstorable { .. } => Failure::invalid(format_args!(
                "invalid scenario {}: {error}",
                args.file.display()
            )),
            other => database::sql_failure(other),
        })
    });
    bar.finish_and_clear();
    let report = result?;
    tracing::info!(
        file = %args.file.display(),
        url = %shown,
        students = report.students,
        parents = report.parents,
        sessions = report.sessions,
        study_plans = report.study_plans,
        manual = report.manual,
        sent = scenario.sent.len(),
        sent_new = report.sent,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "imported"
    );
    crate::output::emit(&format!(
        "{}\n",
        summary(&report, scenario.sent.len(), &shown)
    ))?;
    Ok(())
}

/// `imported 5 students, 3 parents, … into URL`. `sent_keys` counts the file's keys; the
/// report counts those newly recorded (none on a second import of the same file).
fn summary(report: &ImportReport, sent_keys: usize, url: &str) -> String {
    format!(
        "imported {}, {}, {}, {}, {}, {} ({} new) into {url}",
        count(report.students, "student", "students"),
        count(report.parents, "parent", "parents"),
        count(report.sessions, "session", "sessions"),
        count(report.study_plans, "study plan", "study plans"),
        count(report.manual, "manual request", "manual requests"),
        count(sent_keys, "sent key", "sent keys"),
        report.sent,
    )
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Warns of each address RULES.md accepts but the mailer will refuse (`a"b<c>@example.org`):
/// the record imports, as the rules say, and the warning names it now rather than leaving a
/// `failed` reminder to find later.
fn warn_undeliverable(scenario: &rappels_core::scenario::Scenario, file: &std::path::Path) {
    let students = scenario
        .students
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("students[{i}].email"), s.email.as_ref()));
    let parents = scenario
        .parents
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("parents[{i}].email"), p.email.as_ref()));
    for (path, address) in students.chain(parents) {
        if let Err(error) = rappels_smtp::recipient_address(address) {
            tracing::warn!(
                file = %file.display(),
                record = %path,
                "the mailer will refuse this address ({}): reminders to it will fail",
                crate::output::printable(&error.to_string())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_in_words() {
        let report = ImportReport {
            students: 5,
            parents: 3,
            sessions: 6,
            study_plans: 1,
            manual: 3,
            sent: 0,
        };
        assert_eq!(
            summary(&report, 2, "sqlite://rappels.db"),
            "imported 5 students, 3 parents, 6 sessions, 1 study plan, 3 manual requests, \
             2 sent keys (0 new) into sqlite://rappels.db"
        );
    }
}
