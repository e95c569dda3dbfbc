//! How fast rappels stays in step with a big platform: a full import of N generated
//! students (default 1,000,000) over a database that already holds them (nothing changes,
//! then 1 % of the students and their sessions gone), and activity events applied as
//! `rappels ingest` applies them (parts of 5,000 lines a transaction), then replayed.
//!
//! `cargo run --release -p rappels-sqlx --example sync_scale -- --students 1000000 --backend sqlite`
//! (`--backend postgres` needs RAPPELS_TEST_POSTGRES). Prints `FIGURE name value` lines.
//! Figures, not assertions: timings belong in benchmarks, never in tests.

mod common;

use std::time::Instant;

use chrono::TimeDelta;
use clap::{Parser, ValueEnum};
use rappels_core::changes::{Activity, Change};
use rappels_core::domain::parse_instant;
use rappels_core::scenario::Scenario;
use rappels_core::testing::synthetic_platform;
use rappels_sqlx::{ImportMode, ImportOptions, SqlStore};

const POSTGRES_DB: &str = "rappels_sync_scale";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
struct Args {
    /// Students in the generated school.
    #[arg(long, default_value_t = 1_000_000)]
    students: usize,
    /// The database engine.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    backend: BackendArg,
    /// Activity events to apply.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Lines per transaction, as `rappels ingest` applies them.
    #[arg(long, default_value_t = 5_000)]
    part: usize,
    /// Import once and measure only the feed (for profiling it).
    #[arg(long)]
    only_ingest: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let (url, backend) = match args.backend {
        BackendArg::Sqlite => (
            format!("sqlite://{}", dir.path().join("sync.db").display()),
            "sqlite",
        ),
        BackendArg::Postgres => (common::fresh_postgres(POSTGRES_DB).await?, "postgres"),
    };
    let store = SqlStore::connect(&url.parse()?).await?;
    store.migrate().await?;
    let base = parse_instant("2026-11-26T00:00:00Z")?;
    let mut scenario = synthetic_platform(args.students, base);
    let n = scenario.students.len();

    timed(
        &store,
        backend,
        "import_new_merge",
        &scenario,
        ImportMode::Merge,
    )
    .await?;
    if !args.only_ingest {
        timed(
            &store,
            backend,
            "import_full_unchanged",
            &scenario,
            ImportMode::Full,
        )
        .await?;
    }
    // 1 % of the students leave, with their sessions, study plans and links.
    let gone: std::collections::HashSet<_> = scenario
        .students
        .iter()
        .step_by(100)
        .map(|s| s.id)
        .collect();
    scenario.students.retain(|s| !gone.contains(&s.id));
    scenario.sessions.retain(|s| !gone.contains(&s.student_id));
    scenario
        .study_plans
        .retain(|p| !gone.contains(&p.student_id));
    scenario.manual.retain(|m| !gone.contains(&m.student_id));
    for parent in &mut scenario.parents {
        parent.children.retain(|c| !gone.contains(c));
    }
    if !args.only_ingest {
        timed(
            &store,
            backend,
            "import_full_one_percent_gone",
            &scenario,
            ImportMode::Full,
        )
        .await?;
    }

    // Activity events spread over the school, each later than the one before.
    let ids: Vec<_> = scenario.students.iter().map(|s| s.id).collect();
    let events: Vec<(usize, Change)> = (0..args.events)
        .map(|i| {
            let student_id = ids[(i * 7_919) % ids.len()];
            let at = base + TimeDelta::milliseconds(i as i64);
            (i + 1, Change::Activity(Activity { student_id, at }))
        })
        .collect();
    for round in ["apply", "replay"] {
        let started = Instant::now();
        let mut written = 0;
        for part in events.chunks(args.part.max(1)) {
            written += store.apply_changes(part).await?.written;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "FIGURE {backend}_ingest_activity_{round}_per_s {:.0} ({} events, {written} written, {secs:.2} s, {n} students)",
            events.len() as f64 / secs,
            events.len(),
        );
    }
    store.close().await;
    if matches!(args.backend, BackendArg::Postgres) {
        common::drop_postgres(POSTGRES_DB).await?;
    }
    Ok(())
}

/// Imports `scenario` in `mode` and prints how long it took and what it changed.
async fn timed(
    store: &SqlStore,
    backend: &str,
    what: &str,
    scenario: &Scenario,
    mode: ImportMode,
) -> Result<(), Box<dyn std::error::Error>> {
    let base = parse_instant("2026-11-26T00:00:00Z")?;
    let options = ImportOptions {
        mode,
        dry_run: false,
    };
    let started = Instant::now();
    let report = store.import_with(scenario, base, options, &|_| {}).await?;
    let c = report.changes;
    println!(
        "FIGURE {backend}_{what}_secs {:.2} ({} students: +{} ~{} -{}; sessions +{} ~{} -{})",
        started.elapsed().as_secs_f64(),
        report.students,
        c.students.added,
        c.students.changed,
        c.students.removed,
        c.sessions.added,
        c.sessions.changed,
        c.sessions.removed,
    );
    Ok(())
}
