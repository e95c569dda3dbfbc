//! `rappels plan`: what is due at an instant, computed from a scenario file or from the
//! database.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, ValueEnum};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::parse_instant;
use rappels_core::message::{MessageConfig, MessageSource, Templates};
use rappels_core::plan::Plan;
use rappels_core::scenario::Scenario;
use rappels_core::service::{Reminders, ServiceConfig};
use rappels_core::settings::Settings;
use rappels_core::snapshot::Snapshot;
use rappels_sqlx::redact_url;

use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail::NoMailer;
use crate::output::PlanOutput;

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

/// Parses `--at` values for every command that takes one.
pub(crate) fn parse_at(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(raw).map_err(|e| e.to_string())
}

/// Reads and validates a scenario file; every problem is invalid input (exit 2) and names
/// the file and the record.
pub(crate) fn load_scenario(path: &std::path::Path) -> Result<Scenario, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::invalid(format_args!("cannot read scenario {}: {e}", path.display()))
    })?;
    Scenario::from_json(&text)
        .map_err(|e| Failure::invalid(format_args!("invalid scenario {}: {e}", path.display())))
}

/// `config` names the configuration file (`--config`); only `--db` reads it: a scenario
/// file is the whole input of its plan, which is what the acceptance suites compare.
pub(crate) fn run(args: PlanArgs, config: Option<&std::path::Path>) -> Result<(), Failure> {
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    let output = match &args.scenario {
        Some(path) => plan_scenario(path, at)?,
        None => {
            let config = Config::load(config)?;
            plan_database(&args.database.url(&config)?, &config, at)?
        }
    };
    match args.format {
        PlanFormat::Json => crate::output::emit(&format!("{}\n", output.to_json()))?,
        PlanFormat::Table => crate::output::emit(&output.to_table())?,
    }
    Ok(())
}

fn plan_scenario(path: &std::path::Path, at: DateTime<Utc>) -> Result<PlanOutput, Failure> {
    let scenario = load_scenario(path)?;
    let started = std::time::Instant::now();
    let snapshot = Snapshot::new(scenario);
    let plan = snapshot.plan(at);
    log_planned(&plan, started);
    Ok(output(
        &plan,
        &snapshot,
        snapshot.settings(),
        &Templates::embedded(),
    ))
}

/// The same plan from the database: the service asks the store for the window's candidates
/// and decides them with the same rules as the snapshot, so both print the same thing.
fn plan_database(url: &str, config: &Config, at: DateTime<Utc>) -> Result<PlanOutput, Failure> {
    let templates = config.templates()?;
    database::block_on(async {
        // Planning only reads: a mistyped SQLite path must not create an empty database.
        let store = database::connect_existing(url).await?;
        let planned = async {
            let settings = database::settings_in_force(&store, config).await?;
            let started = std::time::Instant::now();
            let engine = Reminders::new(
                store.clone(),
                NoMailer,
                SystemClock,
                settings,
                templates.clone(),
                ServiceConfig::default(),
            );
            // Part by part, as a run reads it: a Sunday at a million students never
            // holds every candidate's records at once.
            let (plan, subjects) = engine.plan_with_subjects(at).await.map_err(|e| {
                Failure::Failed(anyhow::anyhow!(
                    "planning from {} failed: {e}",
                    redact_url(url)
                ))
            })?;
            log_planned(&plan, started);
            Ok(PlanOutput::new(&plan, subjects))
        }
        .await;
        store.close().await;
        planned
    })
}

fn log_planned(plan: &Plan, started: std::time::Instant) {
    tracing::debug!(
        due = plan.due.len(),
        rejected = plan.rejected.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "planned"
    );
}

/// The printed plan. Subjects are rendered from the embedded templates; a reminder whose
/// subject cannot be rendered is still listed (with a null subject) and the problem is
/// logged.
fn output(
    plan: &Plan,
    source: &impl MessageSource,
    settings: &Settings,
    templates: &Templates,
) -> PlanOutput {
    let config = MessageConfig::default();
    let subjects = plan
        .due
        .iter()
        .map(
            |due| match templates.subject(due, source, settings, &config) {
                Ok(subject) => Some(subject),
                Err(error) => {
                    tracing::warn!(key = %due.key, %error, "cannot render the subject");
                    None
                }
            },
        )
        .collect();
    PlanOutput::new(plan, subjects)
}
