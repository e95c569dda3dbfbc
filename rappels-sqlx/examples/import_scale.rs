//! Prints how long importing and planning take on a database of N generated students
//! (default 1,000,000):
//! `cargo run --release -p rappels-sqlx --example import_scale -- 1000000 [DATABASE_URL]`.
//! Without a URL it uses a SQLite file in a temporary folder. Figures, not assertions:
//! timings belong in benchmarks, never in tests.

use std::time::Instant;

use chrono::TimeDelta;
use rappels_core::domain::{
    EmailAddress, Locale, OptOuts, Session, SessionId, SessionStatus, Student, StudentId, Zone,
    parse_instant,
};
use rappels_core::plan::{self, PlanWindow};
use rappels_core::ports::Store;
use rappels_core::scenario::Scenario;
use rappels_sqlx::SqlStore;

const ZONES: [&str; 8] = [
    "Europe/Paris",
    "Africa/Abidjan",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Africa/Dakar",
    "America/Montreal",
    "Indian/Reunion",
];

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
    let zones: Vec<Zone> = ZONES
        .iter()
        .map(|z| Zone::parse(z))
        .collect::<Result<_, _>>()?;
    let mut scenario = Scenario::default();
    for i in 0..n {
        let id = i as i64 + 1;
        scenario.students.push(Student {
            id: StudentId::new(id)?,
            first_name: format!("Eleve{id}"),
            last_name: String::new(),
            email: EmailAddress::parse(format!("eleve{id}@example.org"))?,
            timezone: Some(zones[i % zones.len()]),
            locale: if i % 3 == 0 { Locale::En } else { Locale::Fr },
            account_active: i % 50 != 0,
            subscription_active: i % 7 != 0,
            created_at: None,
            last_activity_at: Some(base - TimeDelta::minutes((i as i64 * 7919) % (60 * 24 * 60))),
            opt_out: OptOuts::default(),
        });
        if i % 4 == 0 {
            scenario.sessions.push(Session {
                id: SessionId::new(id)?,
                student_id: StudentId::new(id)?,
                subject: "Mathématiques".to_owned(),
                objective: String::new(),
                starts_at: base + TimeDelta::minutes((i as i64 * 104_729) % (14 * 24 * 60)),
                duration_minutes: 60,
                status: SessionStatus::Scheduled,
            });
        }
    }
    let store = SqlStore::connect(&url).await?;
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
