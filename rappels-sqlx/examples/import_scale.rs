//! Prints how long importing and planning take on a database of N generated students
//! (default 1,000,000):
//! `cargo run --release -p rappels-sqlx --example import_scale -- 1000000 [DATABASE_URL]`.
//! Without a URL it uses a SQLite file in a temporary folder. Figures, not assertions:
//! timings belong in benchmarks, never in tests.

use std::time::Instant;

use rappels_core::domain::parse_instant;
use rappels_core::plan::{self, PlanWindow};
use rappels_core::ports::Platform;
use rappels_core::testing::synthetic_platform;
use rappels_sqlx::SqlStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("scale.db").display()));
    let base = parse_instant("2026-11-26T00:00:00Z")?;
    let scenario = synthetic_platform(n, base);
    let store = SqlStore::connect(&url.parse()?).await?;
    store.migrate().await?;
    let started = Instant::now();
    let report = store.import(&scenario, base, &|_| {}).await?;
    println!(
        "imported {} students and {} sessions into {} in {:.2?}",
        report.students,
        report.sessions,
        rappels_sqlx::redact_url(&url),
        started.elapsed()
    );
    let settings = scenario.settings.clone();
    for at in [
        "2026-11-26T10:30:00+01:00",
        "2026-11-29T20:05:00+01:00",
        "2026-11-27T03:00:00+01:00",
    ] {
        let at = parse_instant(at)?;
        let started = Instant::now();
        let window = PlanWindow::new(at, &settings, store.zones(&settings).await?);
        let input = store.plan_input(&window, &settings).await?;
        let plan = plan::due_reminders(&window, &settings, &input.candidates(), &input);
        println!(
            "plan at {at} from the database: {} due in {:.2?}",
            plan.due.len(),
            started.elapsed()
        );
    }
    store.close().await;
    Ok(())
}
