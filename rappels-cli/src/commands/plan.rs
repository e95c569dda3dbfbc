//! `rappels plan`: what is due at an instant, computed from a scenario file.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::parse_instant;
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::scenario::Scenario;
use rappels_core::snapshot::Snapshot;

use crate::failure::Failure;
use crate::output::PlanOutput;

pub(crate) const LONG_ABOUT: &str = "\
Print the reminders due at an instant and the manual requests the rules refuse, as \
RULES.md defines them. Nothing is sent and nothing is written: this is the command to check \
the rules against a snapshot of your data, or to see what the next run would do.

A reminder is due when its slot has come, it was not sent before (the scenario's `sent` \
list), and it is still inside its window: the grace period (`grace_minutes`, 6 h by \
default), and for session reminders no later than the session's start.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels plan --scenario school.json --at 2026-11-26T18:45:00Z
  rappels plan --scenario school.json --at 2026-11-27T08:30:00+01:00 --format table";

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    /// RULES.md's JSON object.
    Json,
    /// An aligned table for people.
    Table,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Scenario file (JSON, the format of RULES.md).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
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

pub(crate) fn run(args: PlanArgs) -> Result<(), Failure> {
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    let scenario = load_scenario(&args.scenario)?;
    let started = std::time::Instant::now();
    let snapshot = Snapshot::new(scenario);
    let plan = snapshot.plan(at);
    tracing::debug!(
        due = plan.due.len(),
        rejected = plan.rejected.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "planned"
    );
    // Subjects are rendered from the embedded templates; a reminder whose subject cannot be
    // rendered is still listed (with a null subject) and the problem is logged.
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    let subjects = plan
        .due
        .iter()
        .map(
            |due| match templates.subject(due, &snapshot, snapshot.settings(), &config) {
                Ok(subject) => Some(subject),
                Err(error) => {
                    tracing::warn!(key = %due.key, %error, "cannot render the subject");
                    None
                }
            },
        )
        .collect();
    let output = PlanOutput::new(&plan, subjects);
    match args.format {
        PlanFormat::Json => println!("{}", output.to_json()),
        PlanFormat::Table => print!("{}", output.to_table()),
    }
    Ok(())
}
