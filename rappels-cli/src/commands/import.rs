//! `rappels import`: load a scenario file into the database.

use std::path::PathBuf;

use clap::Args;
use rappels_core::clock::{Clock, SystemClock};
use rappels_sqlx::{Changes, ImportMode, ImportOptions, ImportProgress, ImportReport, SqlError};

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
twice changes nothing, and a newer export updates the records it holds. `sent` keys are recorded \
as already sent, so those reminders are never sent again.

What the database holds and the file does not depends on --mode:
  merge (the default)  kept: the file may be a part of the school (one class, a delta);
  full                 removed, in the same transaction: students, parents, parent-child links, \
sessions and study plans the file does not hold leave the plan. Manual requests and the \
history of reminders stay; reminders already recorded for what was removed are cancelled \
when they are about to be sent.

Merge is the default because it can only add: a truncated or filtered export imported as \
full would remove the rest of the school. Run a full import with --dry-run first: it says \
what would be added, changed and removed, and writes nothing.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels import school.json
  rappels import school.json --database-url postgres://rappels@db.internal/rappels
  rappels import --mode full --dry-run export.json    # what a full sync would change
  rappels import --mode full export.json              # the export is the whole school
  rappels plan --db --at 2026-11-26T18:45:00Z      # then see what is due";

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Scenario file (JSON, the format of RULES.md).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// merge: keep what the file does not hold; full: the file is the whole school, and
    /// what it does not hold is removed.
    #[arg(long, value_enum, default_value_t = Mode::Merge)]
    mode: Mode,
    /// Say what the import would add, change and remove, and write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Keep the records the file does not hold.
    Merge,
    /// Remove the records the file does not hold.
    Full,
}

impl Mode {
    fn import_mode(self) -> ImportMode {
        match self {
            Mode::Merge => ImportMode::Merge,
            Mode::Full => ImportMode::Full,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Merge => "merge",
            Mode::Full => "full",
        }
    }
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
            let options = ImportOptions {
                mode: args.mode.import_mode(),
                dry_run: args.dry_run,
            };
            store
                .import_with(&scenario, SystemClock.now(), options, &update)
                .await
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
    let c = &report.changes;
    tracing::info!(
        file = %args.file.display(),
        url = %shown,
        mode = args.mode.name(),
        dry_run = args.dry_run,
        students = report.students,
        students_added = c.students.added,
        students_changed = c.students.changed,
        students_removed = c.students.removed,
        parents = report.parents,
        links_added = c.links.added,
        links_removed = c.links.removed,
        sessions = report.sessions,
        sessions_added = c.sessions.added,
        sessions_changed = c.sessions.changed,
        sessions_removed = c.sessions.removed,
        study_plans = report.study_plans,
        manual = report.manual,
        sent = scenario.sent.len(),
        sent_new = report.sent,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "{}",
        if args.dry_run { "import checked (dry run)" } else { "imported" }
    );
    crate::output::emit(&summary(
        &report,
        scenario.sent.len(),
        &args.file.display().to_string(),
        &shown,
        args.mode,
        args.dry_run,
    ))?;
    Ok(())
}

/// What an import did, or would do: a line per kind of record.
fn summary(
    report: &ImportReport,
    sent_keys: usize,
    file: &str,
    url: &str,
    mode: Mode,
    dry_run: bool,
) -> String {
    let c = &report.changes;
    let mut out = if dry_run {
        format!(
            "dry run, nothing written: importing {file} into {url} ({} mode) would change\n",
            mode.name()
        )
    } else {
        format!("imported {file} into {url} ({} mode)\n", mode.name())
    };
    let rows: [(&str, Option<usize>, &Changes); 6] = [
        ("students", Some(report.students), &c.students),
        ("parents", Some(report.parents), &c.parents),
        ("links", None, &c.links),
        ("sessions", Some(report.sessions), &c.sessions),
        ("study plans", Some(report.study_plans), &c.study_plans),
        ("manual requests", Some(report.manual), &c.manual),
    ];
    for (kind, in_file, changes) in rows {
        let in_file = in_file.map_or_else(String::new, |n| format!(" ({n} in the file)"));
        out.push_str(&format!(
            "  {kind:<16} {} added, {} changed, {} removed{in_file}\n",
            changes.added, changes.changed, changes.removed
        ));
    }
    out.push_str(&format!(
        "  {:<16} {} ({} new)\n",
        "sent keys", sent_keys, report.sent
    ));
    out
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
    fn the_summary_has_a_line_per_kind() {
        let mut report = ImportReport {
            students: 5,
            parents: 3,
            sessions: 6,
            study_plans: 1,
            manual: 3,
            sent: 0,
            ..ImportReport::default()
        };
        report.changes.students = Changes {
            added: 1,
            changed: 2,
            removed: 3,
        };
        report.changes.links.removed = 4;
        let text = summary(
            &report,
            2,
            "school.json",
            "sqlite://rappels.db",
            Mode::Full,
            true,
        );
        assert_eq!(
            text,
            "dry run, nothing written: importing school.json into sqlite://rappels.db (full mode) would change\n\
             \x20 students         1 added, 2 changed, 3 removed (5 in the file)\n\
             \x20 parents          0 added, 0 changed, 0 removed (3 in the file)\n\
             \x20 links            0 added, 0 changed, 4 removed\n\
             \x20 sessions         0 added, 0 changed, 0 removed (6 in the file)\n\
             \x20 study plans      0 added, 0 changed, 0 removed (1 in the file)\n\
             \x20 manual requests  0 added, 0 changed, 0 removed (3 in the file)\n\
             \x20 sent keys        2 (0 new)\n"
        );
    }
}
