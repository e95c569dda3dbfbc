//! Prints how long indexing and planning take for a generated platform of N students
//! (default 1,000,000): `cargo run --release -p rappels-core --example plan_scale -- 1000000`.
//!
//! A figure-printing script rather than a timed test: timings belong in benchmarks, never in
//! assertions.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::{
    EmailAddress, Locale, OptOuts, Session, SessionId, SessionStatus, Student, StudentId, Zone,
    parse_instant,
};
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::scenario::Scenario;
use rappels_core::snapshot::Snapshot;

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

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let base = parse_instant("2026-11-26T00:00:00Z").expect("constant instant");
    let zones: Vec<Zone> = ZONES
        .iter()
        .map(|z| Zone::parse(z).expect("known zone"))
        .collect();
    let started = Instant::now();
    let mut scenario = Scenario::default();
    for i in 0..n {
        let id = i as i64 + 1;
        // Activity spread over the last 60 days, so each ladder day holds ~1/60 of them.
        let last: DateTime<Utc> = base - TimeDelta::minutes((i as i64 * 7919) % (60 * 24 * 60));
        scenario.students.push(Student {
            id: StudentId::new(id).expect("positive id"),
            first_name: format!("Eleve{id}"),
            last_name: String::new(),
            email: EmailAddress::parse(format!("eleve{id}@example.org")).expect("valid address"),
            timezone: Some(zones[i % zones.len()]),
            locale: if i % 3 == 0 { Locale::En } else { Locale::Fr },
            account_active: i % 50 != 0,
            subscription_active: i % 7 != 0,
            created_at: None,
            last_activity_at: Some(last),
            opt_out: OptOuts::default(),
        });
        if i % 4 == 0 {
            scenario.sessions.push(Session {
                id: SessionId::new(id).expect("positive id"),
                student_id: StudentId::new(id).expect("positive id"),
                subject: "Mathématiques".to_owned(),
                objective: String::new(),
                starts_at: base + TimeDelta::minutes((i as i64 * 104_729) % (14 * 24 * 60)),
                duration_minutes: 60,
                status: SessionStatus::Scheduled,
            });
        }
    }
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
