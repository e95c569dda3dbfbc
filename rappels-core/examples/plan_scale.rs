//! Prints how long indexing and planning take for a generated platform of N students
//! (default 1,000,000): `cargo run --release -p rappels-core --example plan_scale -- 1000000`.
//!
//! A figure-printing script rather than a timed test: timings belong in benchmarks, never in
//! assertions.

use std::time::Instant;

use rappels_core::domain::parse_instant;
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::snapshot::Snapshot;
use rappels_core::testing::synthetic_platform;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let base = parse_instant("2026-11-26T00:00:00Z").expect("constant instant");
    let started = Instant::now();
    let scenario = synthetic_platform(n, base);
    println!(
        "generated {n} students, {} sessions in {:.2?}",
        scenario.sessions.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let snapshot = Snapshot::new(scenario);
    println!("indexed in {:.2?}", started.elapsed());
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    for at in [
        "2026-11-26T10:30:00+01:00",
        "2026-11-29T20:05:00+01:00",
        "2026-11-27T03:00:00+01:00",
    ] {
        let at = parse_instant(at).expect("constant instant");
        let started = Instant::now();
        let plan = snapshot.plan(at);
        let planned = started.elapsed();
        let started = Instant::now();
        let rendered = plan
            .due
            .iter()
            .filter(|due| {
                templates
                    .subject(due, &snapshot, snapshot.settings(), &config)
                    .is_ok()
            })
            .count();
        println!(
            "plan at {at}: {} due, {} rejected in {planned:.2?}; {rendered} subjects rendered in {:.2?}",
            plan.due.len(),
            plan.rejected.len(),
            started.elapsed()
        );
    }
}
