//! Times the selection of what is due on a big school, on SQLite or PostgreSQL: the import,
//! then at four instants of one week (Sunday 20:00, Monday 08:00 and 10:00, Tuesday 03:00,
//! Paris time) the `plan_parts` read alone, `Reminders::plan` (the whole input at once, as
//! `rappels plan --db` does) and `Reminders::record` (the planning and recording step of
//! `rappels run`), each repeated on an empty reminder log, and prints how the database runs
//! every planner query (`EXPLAIN QUERY PLAN` / `EXPLAIN`).
//!
//! ```text
//! cargo run --release -p rappels-sqlx --example select_scale -- --students 1000000 --backend sqlite
//! RAPPELS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p rappels-sqlx --example select_scale -- --backend postgres
//! ```
//!
//! The school is `rappels_core::testing::synthetic_platform` (students in eight zones, one
//! session for four students) unless `--scenario FILE` names a scenario JSON file (the output
//! of `gen_big.py` or of `rappels gen-scenario`). PostgreSQL runs in a database of its own,
//! `rappels_select_scale`, created on the server `RAPPELS_TEST_POSTGRES` names and dropped at
//! the end; SQLite in a file of a temporary folder. `--database URL --no-import` measures a
//! database imported before instead (kept as it is, but for its reminder log).
//!
//! Output is plain `key=value` lines: `import …`, `time …` (one per instant and step, with
//! the p50/p95 of the repetitions and the peak resident memory of the step), `explain …`
//! followed by the plan's lines, and a closing `explain-summary`. Figures, not assertions:
//! timings belong in benchmarks, never in tests.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use rappels_core::domain::{TimeOfDay, Zone, format_instant};
use rappels_core::message::Templates;
use rappels_core::plan::{self, PlanWindow};
use rappels_core::ports::{PlanParts, Platform, ReminderLog};
use rappels_core::rules::slot_at;
use rappels_core::scenario::Scenario;
use rappels_core::service::{RunOptions, Sender, ServiceConfig};
use rappels_core::settings::Settings;
use rappels_core::testing::{FixedClock, RecordingMailer, synthetic_platform};
use rappels_sqlx::{Backend, SqlStore, redact_url};

/// The part size `Reminders::run` asks the store for.
const PART_SIZE: usize = 2_000;

/// The database `--backend postgres` creates on the server for its run.
const POSTGRES_DB: &str = "rappels_select_scale";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

/// Times planning at the busy and quiet instants of a week on a big school.
#[derive(Debug, Parser)]
struct Args {
    /// Students of the synthetic school (ignored with --scenario or --no-import).
    #[arg(long, default_value_t = 1_000_000)]
    students: usize,
    /// The database engine.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// A scenario JSON file to import instead of the synthetic school.
    #[arg(long)]
    scenario: Option<std::path::PathBuf>,
    /// The Sunday of the instants: Sunday 20:00, Monday 08:00 and 10:00, Tuesday 03:00
    /// (Paris). The default is the week `gen_big.py` generates.
    #[arg(long, default_value = "2026-11-29")]
    sunday: NaiveDate,
    /// Repetitions at a busy instant.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Repetitions at the quiet instant (Tuesday 03:00), enough for a p95.
    #[arg(long, default_value_t = 20)]
    quiet_runs: usize,
    /// Measure this database instead of a fresh one (its reminder log is emptied, the rest
    /// is kept).
    #[arg(long)]
    database: Option<String>,
    /// With --database: measure the data already there instead of importing.
    #[arg(long, requires = "database")]
    no_import: bool,
    /// Only these instants (comma-separated names: sun-20:00,mon-08:00,mon-10:00,tue-03:00).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only these steps (comma-separated: plan_parts,plan,record,record_again; and
    /// breakdown, which runs only when named: record's phases one after the other).
    #[arg(long, value_delimiter = ',')]
    steps: Vec<String>,
    /// Skip the EXPLAIN output.
    #[arg(long)]
    no_explain: bool,
}

/// Where the run's database lives, and what to remove at the end.
enum Place {
    Given,
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (url, place) = database(&args).await?;
    let store = SqlStore::connect(&url.parse()?).await?;
    store.migrate().await?;
    // From the store, not the flag: --database may name either engine.
    let backend = match store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };

    let settings = if args.no_import {
        store
            .stored_settings()
            .await?
            .ok_or("the database holds no settings")?
    } else {
        let started = Instant::now();
        let scenario = scenario(&args)?;
        let made = started.elapsed();
        let started = Instant::now();
        reset_peak();
        let report = store
            .import(&scenario, slot(args.sunday, 0, 0, 0)?, &|_| {})
            .await?;
        println!(
            "import backend={backend} students={} parents={} sessions={} manual={} secs={:.2} peak_rss_mib={} generate_secs={:.2} url={}",
            report.students,
            report.parents,
            report.sessions,
            report.manual,
            started.elapsed().as_secs_f64(),
            peak_mib(),
            made.as_secs_f64(),
            redact_url(&url),
        );
        scenario.settings
    };

    let reminders = Sender::new(
        store.clone(),
        RecordingMailer::default(),
        FixedClock::new(slot(args.sunday, 0, 0, 0)?),
        Templates::embedded(),
        ServiceConfig::default(),
    );
    let instants = [
        ("sun-20:00", slot(args.sunday, 0, 20, 0)?, args.runs),
        ("mon-08:00", slot(args.sunday, 1, 8, 0)?, args.runs),
        ("mon-10:00", slot(args.sunday, 1, 10, 0)?, args.runs),
        ("tue-03:00", slot(args.sunday, 2, 3, 0)?, args.quiet_runs),
    ];
    for (name, at, runs) in instants {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let line = |step: &str| {
            format!(
                "time backend={backend} instant={name} at={} step={step}",
                format_instant(at)
            )
        };
        let runs = runs.max(1);
        let wanted = |step: &str| args.steps.is_empty() || args.steps.iter().any(|s| s == step);
        // The breakdown holds every rendered message at once, which leaves the process
        // larger for the steps after it: only when asked for.
        let asked = |step: &str| args.steps.iter().any(|s| s == step);
        clear_log(&store).await?;

        let mut read = Timings::default();
        let mut candidates = 0;
        for _ in 0..runs * usize::from(wanted("plan_parts")) {
            read.begin();
            let started = Instant::now();
            candidates = read_parts(&store, &settings, at).await?;
            read.add(started.elapsed());
        }
        if !read.runs.is_empty() {
            println!("{} candidates={candidates} {read}", line("plan_parts"));
        }

        let mut whole = Timings::default();
        let mut due = 0;
        for _ in 0..runs * usize::from(wanted("plan")) {
            whole.begin();
            let started = Instant::now();
            let (plan, input) = reminders.reminders().plan(at).await?;
            due = plan.due.len();
            drop(input);
            whole.add(started.elapsed());
        }
        if !whole.runs.is_empty() {
            println!("{} due={due} {whole}", line("plan"));
        }

        let mut record = Timings::default();
        let mut recorded = 0;
        for _ in 0..runs * usize::from(wanted("record")) {
            clear_log(&store).await?;
            record.begin();
            let started = Instant::now();
            let report = reminders
                .record(&RunOptions {
                    at: Some(at),
                    ..RunOptions::default()
                })
                .await?;
            record.add(started.elapsed());
            recorded = report.recorded;
        }
        if !record.runs.is_empty() {
            println!("{} recorded={recorded} {record}", line("record"));
        }

        // A run repeated within the grace window: everything is recorded already.
        let mut again = Timings::default();
        let mut recorded = 0;
        for _ in 0..runs * usize::from(wanted("record_again")) {
            again.begin();
            let started = Instant::now();
            let report = reminders
                .record(&RunOptions {
                    at: Some(at),
                    ..RunOptions::default()
                })
                .await?;
            again.add(started.elapsed());
            recorded = report.recorded;
        }
        if !again.runs.is_empty() {
            println!("{} recorded={recorded} {again}", line("record_again"));
        }

        // Where the time of `record` goes, one phase after the other on the whole input:
        // reading it, deciding, making the log's rows, and writing them in parts of
        // PART_SIZE. (Messages are built at send time, not here.)
        if asked("breakdown") {
            clear_log(&store).await?;
            let started = Instant::now();
            let cpu = cpu_time();
            let window = PlanWindow::new(at, &settings, store.zones(&settings).await?);
            let input = store.plan_input(&window, &settings).await?;
            let read = (started.elapsed(), cpu_time() - cpu);
            let (started, cpu) = (Instant::now(), cpu_time());
            let plan = plan::due_reminders(&window, &settings, &input.candidates(), &input);
            let decide = (started.elapsed(), cpu_time() - cpu);
            let (started, cpu) = (Instant::now(), cpu_time());
            let outgoing = plan
                .due
                .iter()
                .map(|due| reminders.new_reminder(due, &input))
                .collect::<Vec<_>>();
            let render = (started.elapsed(), cpu_time() - cpu);
            drop(input);
            let (started, cpu) = (Instant::now(), cpu_time());
            for part in outgoing.chunks(PART_SIZE) {
                store.record_due(part, at).await?;
            }
            let write = (started.elapsed(), cpu_time() - cpu);
            let ms = |(wall, cpu): (Duration, Duration)| {
                format!(
                    "{:.0}/{:.0}",
                    wall.as_secs_f64() * 1000.0,
                    cpu.as_secs_f64() * 1000.0
                )
            };
            println!(
                "{} due={} read_ms={} decide_ms={} rows_ms={} write_ms={} (wall/cpu of this process)",
                line("breakdown"),
                outgoing.len(),
                ms(read),
                ms(decide),
                ms(render),
                ms(write),
            );
        }
    }

    if !args.no_explain {
        let mut queries = 0;
        let mut scans = 0;
        for (name, at) in [
            ("sun-20:00", slot(args.sunday, 0, 20, 0)?),
            ("mon-08:00", slot(args.sunday, 1, 8, 0)?),
            ("mon-10:00", slot(args.sunday, 1, 10, 0)?),
        ] {
            // Explained on the log a run at that instant leaves, as a database that has
            // been running holds one: an empty log makes PostgreSQL plan a scan of it.
            clear_log(&store).await?;
            reminders
                .record(&RunOptions {
                    at: Some(at),
                    ..RunOptions::default()
                })
                .await?;
            if let SqlStore::Postgres(pool) = &store {
                sqlx::query("ANALYZE reminders").execute(pool).await?;
            }
            let window = PlanWindow::new(at, &settings, store.zones(&settings).await?);
            for plan in store.explain_planner(&window, &settings).await? {
                let full = plan.full_scans();
                queries += 1;
                scans += usize::from(!full.is_empty());
                println!(
                    "explain backend={backend} instant={name} full_scans={} query=\"{}\"",
                    full.len(),
                    plan.query
                );
                for step in &plan.plan {
                    println!("    {step}");
                }
            }
        }
        println!("explain-summary backend={backend} queries={queries} with_full_scan={scans}");
    }

    store.close().await;
    if let Place::Postgres = place {
        common::drop_postgres(POSTGRES_DB).await?;
    }
    Ok(())
}

/// The database to measure: the one given, a new SQLite file, or a new PostgreSQL database.
async fn database(args: &Args) -> Result<(String, Place), Box<dyn std::error::Error>> {
    if let Some(url) = &args.database {
        return Ok((url.clone(), Place::Given));
    }
    match args.backend {
        BackendArg::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("scale.db").display());
            Ok((url, Place::Sqlite(dir)))
        }
        BackendArg::Postgres => Ok((common::fresh_postgres(POSTGRES_DB).await?, Place::Postgres)),
    }
}

/// The school to import.
fn scenario(args: &Args) -> Result<Scenario, Box<dyn std::error::Error>> {
    match &args.scenario {
        Some(path) => Ok(Scenario::from_json(&std::fs::read_to_string(path)?)?),
        // Sessions over the two weeks from the Sunday, activity over the 60 days before it.
        None => Ok(synthetic_platform(
            args.students,
            slot(args.sunday, 0, 0, 0)?,
        )),
    }
}

/// `days` after `sunday`, at `hour:minute` in Paris.
fn slot(
    sunday: NaiveDate,
    days: i64,
    hour: u32,
    minute: u32,
) -> Result<DateTime<Utc>, Box<dyn std::error::Error>> {
    let time = TimeOfDay::new(hour, minute)?;
    Ok(slot_at(
        sunday + TimeDelta::days(days),
        time,
        Zone::parse("Europe/Paris")?,
    ))
}

/// Empties the reminder log but for the `sent` keys of the import, so that every
/// repetition records what is due afresh.
async fn clear_log(store: &SqlStore) -> Result<(), sqlx::Error> {
    let delete = "DELETE FROM reminders WHERE NOT imported";
    match store {
        SqlStore::Sqlite(pool) => {
            sqlx::query(delete).execute(pool).await?;
        }
        SqlStore::Postgres(pool) => {
            sqlx::query(delete).execute(pool).await?;
            // Dead rows would otherwise weigh on the next repetition's reads.
            sqlx::query("VACUUM ANALYZE reminders")
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Reads every part of the plan at `at` and drops it; returns the number of candidates.
async fn read_parts(
    store: &SqlStore,
    settings: &Settings,
    at: DateTime<Utc>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let window = PlanWindow::new(at, settings, store.zones(settings).await?);
    let (parts, incoming) = PlanParts::channel(1);
    let count = incoming.fold(0, |n, part| async move {
        n + part.sessions.len() + part.inactivity.len() + part.weekly.len() + part.manual.len()
    });
    let (read, candidates) =
        futures::future::join(store.plan_parts(&window, settings, PART_SIZE, parts), count).await;
    read?;
    Ok(candidates)
}

/// The durations of the repetitions of a step, and the peak memory over them.
#[derive(Default)]
struct Timings {
    runs: Vec<Duration>,
    cpu: Vec<Duration>,
    peak_mib: u64,
    before_mib: u64,
    cpu_at_start: Duration,
}

impl Timings {
    /// Before a repetition: notes the memory held before the first, and starts a new peak.
    fn begin(&mut self) {
        if self.runs.is_empty() {
            self.before_mib = rss_mib();
        }
        reset_peak();
        self.cpu_at_start = cpu_time();
    }

    fn add(&mut self, took: Duration) {
        self.runs.push(took);
        self.cpu.push(cpu_time().saturating_sub(self.cpu_at_start));
        self.peak_mib = self.peak_mib.max(peak_mib());
    }

    /// The nearest-rank percentile of the wall times, in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.runs, p)
    }
}

/// The nearest-rank percentile of `durations`, in milliseconds.
fn percentile(durations: &[Duration], p: f64) -> f64 {
    let mut sorted = durations.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl std::fmt::Display for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "runs={} p50_ms={:.1} p95_ms={:.1} max_ms={:.1} cpu_p50_ms={:.1} peak_rss_mib={} rss_before_mib={}",
            self.runs.len(),
            self.percentile(50.0),
            self.percentile(95.0),
            self.percentile(100.0),
            percentile(&self.cpu, 50.0),
            self.peak_mib,
            self.before_mib,
        )
    }
}

/// Starts a new peak-memory measurement: Linux resets VmHWM to the current resident size
/// when "5" is written to clear_refs. Where that is refused, peaks only grow.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_mib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or(0, |kib| kib / 1024)
}

/// The CPU time of this process so far, all threads (SQLite's included; PostgreSQL's
/// server is another process): `utime + stime` of /proc/self/stat, in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The command name may hold spaces: fields are counted after its closing ')'.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_millis(ticks * 10))
        })
        .unwrap_or_default()
}

/// The peak resident memory since the last reset, in MiB.
fn peak_mib() -> u64 {
    status_mib("VmHWM:")
}

/// The resident memory now, in MiB.
fn rss_mib() -> u64 {
    status_mib("VmRSS:")
}
