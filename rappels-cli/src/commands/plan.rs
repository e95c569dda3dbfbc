//! `rappels plan`: what is due at an instant, computed from a scenario file or from the
//! database.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, ValueEnum};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::ParentId;
use rappels_core::message::{MessageConfig, MessageSource, Templates};
use rappels_core::plan::{DueReminder, Plan};
use rappels_core::scenario::{ReadError, Scenario, ScenarioError};
use rappels_core::service::Reminders;
use rappels_core::settings::Settings;
use rappels_core::snapshot::Snapshot;
use rappels_sqlx::DatabaseUrl;

use crate::args::parse_at;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::output::{PlanJson, plan_table};

pub(crate) const LONG_ABOUT: &str = "\
Print the reminders due at an instant and the manual requests the rules refuse, as \
RULES.md defines them. Nothing is sent and nothing is written: this is the command to check \
the rules against a snapshot of your data, or to see what the next run would do.

The data comes from a scenario file (`--scenario`, the JSON format of RULES.md) or from the \
database (`--db`, filled by `rappels import`); both print the same plan for the same data.

A reminder is due when its slot has come, it was not sent before (the scenario's `sent` \
list), and it is still inside its window: the grace period (`grace_minutes`, 6 h by \
default), and for session reminders no later than the session's start.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels plan --scenario school.json --at 2026-11-26T18:45:00Z
  rappels plan --scenario school.json --at 2026-11-27T08:30:00+01:00 --format table
  rappels plan --db --at 2026-11-26T18:45:00Z
  rappels plan --db --database-url postgres://rappels@db.internal/rappels --format table";

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    /// RULES.md's JSON object.
    Json,
    /// An aligned table for people.
    Table,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["scenario", "db"])))]
#[command(group(ArgGroup::new("database").args(["database_url"]).conflicts_with("scenario")))]
pub(crate) struct PlanArgs {
    /// Scenario file (JSON, the format of RULES.md).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Plan from the database (see `rappels import`) instead of a file.
    #[arg(long)]
    db: bool,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Instant to plan at, RFC 3339 with an offset (default: now).
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    at: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
    format: PlanFormat,
}

/// Scenario files up to this size are read whole and parsed from memory, about twice as
/// fast as parsing while reading; bigger ones are parsed while they are read, so that the
/// text and the records are never held together (for a school of a million students, the
/// text alone is some 800 MB). Text and records together stay under 1 GiB below this size.
const READ_WHOLE_MAX: u64 = 384 << 20;

/// Reads and validates a scenario file; every problem is invalid input (exit 2) and names
/// the file and the record.
pub(crate) fn load_scenario(path: &std::path::Path) -> Result<Scenario, Failure> {
    let cannot_read = |e: std::io::Error| {
        Failure::invalid(format_args!("cannot read scenario {}: {e}", path.display()))
    };
    let invalid = |e: ScenarioError| {
        Failure::invalid(format_args!("invalid scenario {}: {e}", path.display()))
    };
    if std::fs::metadata(path).map_err(cannot_read)?.len() <= READ_WHOLE_MAX {
        let text = read_whole(path).map_err(cannot_read)?;
        return Scenario::from_json(&text).map_err(invalid);
    }
    let open =
        || std::fs::File::open(path).map(|file| std::io::BufReader::with_capacity(1 << 16, file));
    Scenario::from_reader(open).map_err(|e| match e {
        ReadError::Io(e) => cannot_read(e),
        ReadError::Invalid(e) => invalid(e),
    })
}

/// Reads a whole text file.
#[cfg(not(unix))]
fn read_whole(path: &std::path::Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// Reads a whole text file. A big one is read by one thread per core, each filling its
/// share of the buffer: copying from the page cache and touching fresh memory are most of
/// the cost of reading, and both are shared that way.
#[cfg(unix)]
fn read_whole(path: &std::path::Path) -> std::io::Result<String> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Below a few megabytes, starting threads costs more than it saves.
    if threads < 2 || len < 4 << 20 {
        return std::fs::read_to_string(path);
    }
    let mut buffer = vec![0u8; len];
    let part = len.div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = buffer
            .chunks_mut(part)
            .enumerate()
            .map(|(k, chunk)| {
                let file = &file;
                scope.spawn(move || file.read_exact_at(chunk, (k * part) as u64))
            })
            .collect();
        for part in parts {
            part.join()
                .map_err(|_| std::io::Error::other("a thread reading the file failed"))??;
        }
        Ok::<_, std::io::Error>(())
    })?;
    // A file that grew while it was read is read again, plainly.
    if file.read_at(&mut [0], len as u64)? != 0 {
        return std::fs::read_to_string(path);
    }
    String::from_utf8(buffer).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// `config` names the configuration file (`--config`); only `--db` reads it: a scenario
/// file is the whole input of its plan, which is what the acceptance suites compare.
pub(crate) fn run(args: PlanArgs, config: Option<&std::path::Path>) -> Result<(), Failure> {
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    match &args.scenario {
        Some(path) => plan_scenario(path, at, args.format),
        None => {
            let config = Config::load(config)?;
            plan_database(&args.database.url(&config)?, &config, at, args.format)
        }
    }
}

fn plan_scenario(
    path: &std::path::Path,
    at: DateTime<Utc>,
    format: PlanFormat,
) -> Result<(), Failure> {
    let mut scenario = load_scenario(path)?;
    // A plan reads a parent only for a manual request, and never a study plan: the others
    // are let go (a school of a million students has some 100 MB of parents), which leaves
    // the plan the same.
    let asking: HashSet<ParentId> = scenario.manual.iter().map(|m| m.parent_id).collect();
    scenario.parents.retain(|p| asking.contains(&p.id));
    scenario.parents.shrink_to_fit();
    scenario.study_plans = Vec::new();
    let started = std::time::Instant::now();
    let snapshot = Snapshot::new(scenario);
    let plan = snapshot.plan(at);
    log_planned(&plan, started);
    let printed = print(
        &plan,
        &snapshot,
        snapshot.settings(),
        &Templates::embedded(),
        format,
    );
    // The process ends right after printing, and the system takes its memory back at once;
    // freeing a million records one by one first would only add time.
    std::mem::forget(snapshot);
    std::mem::forget(plan);
    printed
}

/// The same plan from the database: the service asks the store for the window's candidates
/// and decides them with the same rules as the snapshot, so both print the same thing.
fn plan_database(
    url: &DatabaseUrl,
    config: &Config,
    at: DateTime<Utc>,
    format: PlanFormat,
) -> Result<(), Failure> {
    let templates = config.templates()?;
    database::block_on(async {
        // Planning only reads: a mistyped SQLite path must not create an empty database.
        let store = database::connect_existing(url).await?;
        let planned = async {
            database::settings_in_force(&store, config).await?;
            let started = std::time::Instant::now();
            let engine = Reminders::new(store.clone(), SystemClock);
            // Part by part, as a run reads it: a Sunday at a million students never
            // holds every candidate's records at once.
            let (plan, subjects) = engine
                .plan_with_subjects(at, &templates, &MessageConfig::default())
                .await
                .map_err(|e| Failure::Failed(anyhow::anyhow!("planning from {url} failed: {e}")))?;
            log_planned(&plan, started);
            Ok::<_, Failure>((plan, subjects))
        }
        .await;
        store.close().await;
        let (plan, subjects) = planned?;
        print_rendered(&plan, subjects, format)
    })
}

/// Prints a plan whose subjects are already rendered (in the plan's order).
fn print_rendered(
    plan: &Plan,
    subjects: Vec<Option<String>>,
    format: PlanFormat,
) -> Result<(), Failure> {
    match format {
        PlanFormat::Json => {
            // The printer asks for the subjects of batches of `plan.due`, by reminder.
            let by_key: std::collections::HashMap<_, _> =
                plan.due.iter().map(|due| due.key).zip(subjects).collect();
            PlanJson::new(plan, |batch: &[DueReminder]| {
                batch
                    .iter()
                    .map(|due| by_key.get(&due.key).cloned().flatten())
                    .collect()
            })
            .emit()
        }
        PlanFormat::Table => crate::output::emit(&plan_table(plan, subjects)),
    }
}

fn log_planned(plan: &Plan, started: std::time::Instant) {
    tracing::debug!(
        due = plan.due.len(),
        rejected = plan.rejected.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "planned"
    );
}

/// Prints the plan. Subjects are rendered from `templates`; a reminder whose subject cannot
/// be rendered is still listed (with a null subject) and the problem is logged.
fn print(
    plan: &Plan,
    source: &(impl MessageSource + Sync),
    settings: &Settings,
    templates: &Templates,
    format: PlanFormat,
) -> Result<(), Failure> {
    let config = MessageConfig::default();
    let subjects = |batch: &[DueReminder]| subjects(batch, source, settings, templates, &config);
    match format {
        PlanFormat::Json => PlanJson::new(plan, subjects).emit(),
        PlanFormat::Table => crate::output::emit(&plan_table(plan, subjects(&plan.due))),
    }
}

/// The subjects of `batch`, in order.
fn subjects(
    batch: &[DueReminder],
    source: &impl MessageSource,
    settings: &Settings,
    templates: &Templates,
    config: &MessageConfig,
) -> Vec<Option<String>> {
    templates
        .subjects(batch, source, settings, config)
        .into_iter()
        .zip(batch)
        .map(|(subject, due)| match subject {
            Ok(subject) => Some(subject),
            Err(error) => {
                tracing::warn!(key = %due.key, %error, "cannot render the subject");
                None
            }
        })
        .collect()
}
