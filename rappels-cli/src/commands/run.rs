//! `rappels run`: plan what is due, record it and send it — the original system's
//! `envoyer_rappels`, meant to be started by cron or a timer.

use std::time::Instant;

use chrono::{DateTime, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use rappels_core::clock::SystemClock;
use rappels_core::domain::{Kind, format_instant};
use rappels_core::message::Templates;
use rappels_core::ports::Mailer;
use rappels_core::service::{RunOptions, RunReport, Sender, ServiceConfig, ServiceError};
use rappels_sqlx::SqlStore;
use serde::Serialize;

use crate::args::parse_at;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail::{self, MailConfig, NoMailer};
use crate::output::table;
use crate::shutdown::Shutdown;

pub(crate) const LONG_ABOUT: &str = "\
Plan the reminders due now, record them in the database, and send every recorded reminder \
whose time has come: the new ones, and those a failed attempt rescheduled. Then print one \
summary line.

Run it every few minutes. Each reminder goes out at most once, however often and however \
many runners run: a reminder is recorded once under its key, and sending goes through claims \
with a lease. A reminder whose moment has passed (the grace period, the session's start) \
expires instead of going out late.

A delivery that fails does not fail the run: a transient failure (4xx, server unreachable) \
is retried by later runs with a growing delay, a permanent one (5xx) is recorded as failed; \
both are counted in the summary and logged. The exit status is 1 only when the run itself \
fails, such as a database that cannot be reached.

On SIGTERM or SIGINT (Ctrl-C) the run stops gracefully: it takes no new reminder, finishes \
the messages in flight and records their outcomes, gives back the reminders it had claimed \
but not tried (another runner can take them at once), prints its summary, marked \
\"stopped early\", and exits 0. What it did not send is left for the next run.

The database must have been set up by `rappels init` or `rappels import`. Messages go to the \
mailer of rappels.toml or the environment (below); by default, .eml files in ./rappels-outbox.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels run
  rappels run --dry-run --at 2026-11-26T18:45:00Z      # what would be recorded, nothing written
  rappels run --kind session_eve --kind session_day    # session reminders only
  RAPPELS_MAILER=smtp RAPPELS_SMTP_HOST=smtp.example.org RAPPELS_SMTP_USER=school \\
    RAPPELS_SMTP_PASSWORD=… RAPPELS_FROM='École <noreply@example.org>' rappels run --format json

  # crontab: every five minutes (cron starts in $HOME, where the default database is)
  */5 * * * * rappels run
  # the variables (SMTP password included) in a file only this user can read
  */5 * * * * set -a; . ~/.config/rappels.env; rappels run";

/// The help text after the options: examples, then the mail variables.
pub(crate) fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", crate::variables::mail_help())
}

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunFormat {
    /// One line for people and logs.
    Text,
    /// One JSON object on one line, for scripts.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Plan and send as if it were this instant, RFC 3339 with an offset (default: now).
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    at: Option<DateTime<Utc>>,
    /// List what would be recorded, and record and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only plan this kind (repeat, or separate with commas; default: all). Reminders
    /// already recorded and due for a retry are sent whatever their kind.
    #[arg(long = "kind", value_name = "KIND", value_delimiter = ',', value_parser = kind_parser())]
    kinds: Vec<Kind>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    format: RunFormat,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The five kind names, as RULES.md writes them.
fn kind_parser() -> impl TypedValueParser<Value = Kind> {
    PossibleValuesParser::new(Kind::ALL.map(Kind::as_str)).map(|name| {
        name.parse::<Kind>()
            .expect("every possible value names a kind")
    })
}

pub(crate) fn run(args: RunArgs, file: &Config, quiet: bool) -> Result<(), Failure> {
    // The configuration is checked before the database is opened, so a typo in a variable
    // or a template is reported as such whatever the state of the database.
    let mail = MailConfig::read(file)?;
    let config = mail::service_config(file, &mail)?;
    let templates = file.templates()?;
    let options = RunOptions {
        at: args.at,
        dry_run: args.dry_run,
        kinds: args.kinds,
    };
    let url = args.database.url(file)?;
    mail::log_configuration(&mail, &url, &config);
    let started = Instant::now();
    let bar = crate::output::progress_bar(
        quiet || args.dry_run,
        "sending {wide_bar} {pos}/{len} reminders ({msg})",
    );
    bar.set_message("planning");
    let progress = |report: &RunReport| {
        let attempted = report.attempted() as u64;
        bar.set_length((report.recorded as u64).max(attempted));
        bar.set_position(attempted);
        bar.set_message(format!(
            "sent {}, retried {}, failed {}, expired {}, cancelled {}",
            report.sent, report.retried, report.failed, report.expired, report.cancelled
        ));
    };
    let report = database::block_on(async {
        // Listening from before the database is opened: a SIGTERM at any point stops the
        // run gracefully rather than killing it.
        let shutdown = Shutdown::listen()?;
        let store = database::connect_existing(&url).await?;
        let result = run_on(
            &store,
            file,
            &mail,
            (templates, config),
            &options,
            (&progress, shutdown.stopped()),
        )
        .await;
        store.close().await;
        result.map_err(|error| match error {
            RunError::Failure(failure) => failure,
            RunError::Service(error) => {
                Failure::Failed(anyhow::anyhow!("the run on {url} failed: {error}"))
            }
        })
    });
    bar.finish_and_clear();
    let report = report?;
    log_report(&report, options.dry_run, started);
    let summary = RunSummary::new(&report, options.dry_run);
    match args.format {
        RunFormat::Text => crate::output::emit(&summary.to_text())?,
        RunFormat::Json => crate::output::emit(&format!(
            "{}\n",
            serde_json::to_string(&summary).expect("the summary serialises")
        ))?,
    }
    Ok(())
}

/// The run itself, on an open store: settings, then the engine with the configured mailer
/// (none for a dry run, so that nothing, not even the outbox folder, is created).
async fn run_on(
    store: &SqlStore,
    file: &Config,
    mail: &MailConfig,
    engine: (Templates, ServiceConfig),
    options: &RunOptions,
    (progress, stop): (
        &(dyn Fn(&RunReport) + Sync),
        impl Future<Output = ()> + Send,
    ),
) -> Result<RunReport, RunError> {
    database::settings_in_force(store, file).await?;
    tracing::info!(
        at = %options.at.map_or_else(|| "now".to_owned(), format_instant),
        dry_run = options.dry_run,
        kinds = ?options.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        mailer = %mail.destination(),
        "run started"
    );
    let report = if options.dry_run {
        run_with(store, NoMailer, engine, options, (progress, stop)).await
    } else {
        let mailer = mail.mailer()?;
        run_with(store, mailer, engine, options, (progress, stop)).await
    };
    Ok(report?)
}

/// Why a run stopped: before the engine started (already a command failure), or in the
/// engine, whose store failures are the run's own (exit 1).
#[derive(Debug)]
enum RunError {
    Failure(Failure),
    Service(ServiceError),
}

impl From<Failure> for RunError {
    fn from(failure: Failure) -> Self {
        RunError::Failure(failure)
    }
}

impl From<ServiceError> for RunError {
    fn from(error: ServiceError) -> Self {
        RunError::Service(error)
    }
}

/// One run of the engine over `mailer`, which is dropped before the runtime ends (the SMTP
/// pool's connections are closed on it), stopping gracefully when `stop` completes.
async fn run_with<M: Mailer>(
    store: &SqlStore,
    mailer: M,
    (templates, config): (Templates, ServiceConfig),
    options: &RunOptions,
    (progress, stop): (
        &(dyn Fn(&RunReport) + Sync),
        impl Future<Output = ()> + Send,
    ),
) -> Result<RunReport, ServiceError> {
    Sender::new(store.clone(), mailer, SystemClock, templates, config)
        .run_until(options, progress, stop)
        .await
}

/// The one summary line of a run that sent (what `rappels run` prints, and `remind --send-now`).
pub(crate) fn summary_line(report: &RunReport) -> String {
    RunSummary::new(report, false).to_text()
}

/// Logs the end of a run with its counts (`rappels run`, `daemon`, `remind --send-now`).
pub(crate) fn log_report(report: &RunReport, dry_run: bool, started: Instant) {
    tracing::info!(
        at = %report.at.map(format_instant).unwrap_or_default(),
        dry_run,
        planned = report.planned,
        recorded = report.recorded,
        sent = report.sent,
        retried = report.retried,
        failed = report.failed,
        expired = report.expired,
        cancelled = report.cancelled,
        skipped = report.skipped,
        stopped_early = report.interrupted,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "run finished"
    );
}

/// What `run` prints: the report's counts, and with `--dry-run` what would be recorded.
#[derive(Debug, Serialize)]
struct RunSummary {
    at: String,
    dry_run: bool,
    planned: usize,
    recorded: usize,
    sent: usize,
    retried: usize,
    failed: usize,
    expired: usize,
    /// No longer wanted when they were to be sent: recorded as cancelled, not sent.
    cancelled: usize,
    skipped: usize,
    /// A signal stopped the run before it had planned and sent everything (only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stopped_early: bool,
    would_record: Vec<WouldRecord>,
}

/// A reminder a dry run would record.
#[derive(Debug, Serialize)]
struct WouldRecord {
    kind: &'static str,
    key: String,
    to: String,
    subject: String,
}

impl RunSummary {
    fn new(report: &RunReport, dry_run: bool) -> RunSummary {
        RunSummary {
            at: report.at.map(format_instant).unwrap_or_default(),
            dry_run,
            planned: report.planned,
            recorded: report.recorded,
            sent: report.sent,
            retried: report.retried,
            failed: report.failed,
            expired: report.expired,
            cancelled: report.cancelled,
            skipped: report.skipped,
            stopped_early: report.interrupted,
            would_record: report
                .would_record
                .iter()
                .map(|r| WouldRecord {
                    kind: r.reminder.key.kind().as_str(),
                    key: r.reminder.key.to_string(),
                    to: r.envelope.to.to_string(),
                    subject: r.envelope.message.subject.clone(),
                })
                .collect(),
        }
    }

    /// One summary line; a dry run adds what it would record.
    fn to_text(&self) -> String {
        if !self.dry_run {
            let stopped = match self.stopped_early {
                true => "; stopped early by a signal, the rest is left for the next run",
                false => "",
            };
            return format!(
                "run at {}: sent {}, retried {}, failed {}, expired {}, cancelled {}, \
                 skipped {} (planned {}, newly recorded {}){stopped}\n",
                self.at,
                self.sent,
                self.retried,
                self.failed,
                self.expired,
                self.cancelled,
                self.skipped,
                self.planned,
                self.recorded
            );
        }
        let mut out = format!(
            "dry run at {}: would record {}, skipped {} (planned {}); nothing was recorded or sent\n",
            self.at,
            self.would_record.len(),
            self.skipped,
            self.planned
        );
        if !self.would_record.is_empty() {
            let mut rows = vec![[
                "KIND".to_owned(),
                "KEY".to_owned(),
                "TO".to_owned(),
                "SUBJECT".to_owned(),
            ]];
            rows.extend(self.would_record.iter().map(|r| {
                [
                    r.kind.to_owned(),
                    r.key.clone(),
                    r.to.clone(),
                    r.subject.clone(),
                ]
            }));
            out.push('\n');
            out.push_str(&table(&rows));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(dry_run: bool) -> RunSummary {
        RunSummary {
            at: "2026-11-26T18:45:00Z".to_owned(),
            dry_run,
            planned: 4,
            recorded: if dry_run { 0 } else { 4 },
            sent: if dry_run { 0 } else { 3 },
            retried: if dry_run { 0 } else { 1 },
            failed: 0,
            expired: 0,
            cancelled: 0,
            skipped: 0,
            stopped_early: false,
            would_record: Vec::new(),
        }
    }

    #[test]
    fn the_summary_is_one_line() {
        assert_eq!(
            summary(false).to_text(),
            "run at 2026-11-26T18:45:00Z: sent 3, retried 1, failed 0, expired 0, cancelled 0, skipped 0 \
             (planned 4, newly recorded 4)\n"
        );
    }

    #[test]
    fn a_dry_run_lists_what_it_would_record() {
        let mut dry = summary(true);
        dry.would_record.push(WouldRecord {
            kind: "manual",
            key: "manual:500".to_owned(),
            to: "awa@example.org".to_owned(),
            subject: "Message de Mariam : Révise ce soir".to_owned(),
        });
        assert_eq!(
            dry.to_text(),
            "dry run at 2026-11-26T18:45:00Z: would record 1, skipped 0 (planned 4); \
             nothing was recorded or sent\n\
             \n\
             KIND    KEY         TO               SUBJECT\n\
             manual  manual:500  awa@example.org  Message de Mariam : Révise ce soir\n"
        );
    }
}
