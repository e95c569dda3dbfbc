//! Plan parity: the SQL candidate queries and the in-memory indexes must give the same plan
//! for the same data, at every instant, on every backend.

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::parse_instant;
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::plan::{DueReminder, Plan};
use rappels_core::scenario::Scenario;
use rappels_core::service::Reminders;
use rappels_core::snapshot::Snapshot;
use rappels_core::testing::FixedClock;
use rappels_sqlx::SqlStore;

use crate::harness::{backends, import};

/// A small deterministic generator (a linear congruential one): the scenario must be the
/// same on every run so a failure can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

const ZONES: [&str; 8] = [
    "Europe/Paris",
    "America/New_York",
    "Africa/Abidjan",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Nuuk",
    "Africa/Cairo",
    "Australia/Lord_Howe",
];

/// A dense scenario around the 2026 European spring transition: students in eight zones,
/// sessions at all hours, manual requests with every rejection reason, some history.
pub(crate) fn dense_scenario(settings: &str, seed: u64) -> Scenario {
    let mut rng = Lcg(seed);
    let base = parse_instant("2026-03-27T00:00:00Z").unwrap();
    let mut students = Vec::new();
    for id in 1..=60 {
        let zone = if id % 9 == 0 {
            String::new()
        } else {
            format!(r#""timezone": "{}","#, ZONES[rng.next(8) as usize])
        };
        let activity = base - TimeDelta::minutes(rng.next(40 * 24 * 60) as i64);
        let opt_out = [
            "[]",
            r#"["weekly"]"#,
            r#"["session"]"#,
            r#"["all"]"#,
            "[]",
            "[]",
        ][rng.next(6) as usize];
        students.push(format!(
            r#"{{ "id": {id}, "first_name": "Eleve{id}", "email": "eleve{id}@example.org", {zone}
                "account_active": {}, "subscription_active": {}, "locale": "{}",
                "last_activity_at": "{}", "created_at": "2025-09-01T08:00:00Z", "opt_out": {opt_out} }}"#,
            rng.next(10) != 0,
            rng.next(5) != 0,
            if rng.next(2) == 0 { "fr" } else { "en" },
            activity.to_rfc3339()
        ));
    }
    let mut sessions = Vec::new();
    for id in 1..=150 {
        let start = base + TimeDelta::minutes(rng.next(5 * 24 * 60) as i64 - 24 * 60);
        let status = [
            "scheduled",
            "scheduled",
            "scheduled",
            "completed",
            "cancelled",
        ][rng.next(5) as usize];
        sessions.push(format!(
            r#"{{ "id": {id}, "student_id": {}, "subject": "Matière {id}", "starts_at": "{}", "status": "{status}" }}"#,
            1 + rng.next(60),
            start.to_rfc3339()
        ));
    }
    let parents: Vec<String> = (1..=20)
        .map(|id| format!(r#"{{ "id": {id}, "first_name": "Parent{id}", "email": "p{id}@example.org", "children": [{}, {}] }}"#, 3 * id - 2, 3 * id - 1))
        .collect();
    let mut manual = Vec::new();
    for id in 1..=40 {
        let title = ["Révise", "", "Bonne\nchance", "Courage"][rng.next(4) as usize];
        manual.push(format!(
            r#"{{ "id": {id}, "parent_id": {}, "student_id": {}, "title": {title:?}, "message": "Allez !", "requested_at": "{}" }}"#,
            1 + rng.next(21),
            1 + rng.next(62),
            (base + TimeDelta::minutes(rng.next(3 * 24 * 60) as i64)).to_rfc3339()
        ));
    }
    let sent = r#"[ { "student_id": 3, "kind": "weekly", "slot_date": "2026-03-29" }, { "manual_id": 7 },
        { "student_id": 5, "kind": "inactivity", "slot_date": "2026-03-28" } ]"#;
    let json = format!(
        r#"{{ "settings": {settings}, "students": [{}], "parents": [{}], "sessions": [{}], "manual": [{}], "sent": {sent} }}"#,
        students.join(","),
        parents.join(","),
        sessions.join(","),
        manual.join(",")
    );
    Scenario::from_json(&json).expect("the generated scenario is valid")
}

/// The instants to compare at: every 47 minutes over four days, plus the slots' edges.
fn instants() -> Vec<DateTime<Utc>> {
    let start = parse_instant("2026-03-27T00:00:00Z").unwrap();
    let mut all: Vec<_> = (0..4 * 24 * 60 / 47)
        .map(|i| start + TimeDelta::minutes(47 * i))
        .collect();
    for edge in [
        "2026-03-28T09:00:00Z",
        "2026-03-29T00:59:59Z",
        "2026-03-29T01:00:00Z",
        "2026-03-29T19:00:00Z",
    ] {
        all.push(parse_instant(edge).unwrap());
    }
    all
}

fn lines(plan: &Plan) -> Vec<String> {
    plan.due
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {} {}",
                d.key,
                d.due_at,
                d.slot_date,
                d.to,
                d.due_until.map_or("-".into(), |u| u.to_string())
            )
        })
        .chain(
            plan.rejected
                .iter()
                .map(|r| format!("rejected {} {}", r.manual_id, r.reason)),
        )
        .collect()
}

/// Asserts that the plans `store` makes with `scenario.settings` equal those of `scenario` in
/// memory at every instant, subjects included; returns the due reminders compared, so that
/// callers can check the data exercised what they meant to test.
pub(crate) async fn assert_same_plans(
    store: &SqlStore,
    scenario: &Scenario,
    name: &str,
) -> Vec<DueReminder> {
    let snapshot = Snapshot::new(scenario.clone());
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    let engine = Reminders::new(
        store.clone(),
        FixedClock::new(parse_instant("2026-03-27T00:00:00Z").unwrap()),
    );
    let mut due_seen = Vec::new();
    for at in instants() {
        let expected = snapshot.plan(at);
        let (actual, input) = engine.plan(at).await.expect("plan from the database");
        assert_eq!(lines(&actual), lines(&expected), "{name} at {at}");
        for due in &actual.due {
            assert_eq!(
                templates
                    .subject(due, &input, &scenario.settings, &config)
                    .unwrap(),
                templates
                    .subject(due, &snapshot, &scenario.settings, &config)
                    .unwrap(),
                "{name} subject of {}",
                due.key
            );
        }
        assert_eq!(
            lines(&plan_in_parts(store, &engine, at).await),
            lines(&expected),
            "{name} in parts at {at}"
        );
        assert_eq!(
            recorded_at(store, at).await,
            expected_log(scenario, &expected),
            "{name}: what a run records at {at}"
        );
        due_seen.extend(actual.due);
    }
    due_seen
}

/// What `Sender::record` writes to an emptied log (the imported `sent` keys stay) at `at`:
/// the weekly digests by the store itself (`record_weekly`), the rest part by part. One
/// line a reminder: key, slot, local date, expiry. Leaves the log as it found it.
async fn recorded_at(store: &SqlStore, at: DateTime<Utc>) -> Vec<String> {
    use rappels_core::service::{RunOptions, Sender, ServiceConfig};
    use rappels_core::testing::RecordingMailer;
    use sqlx::Row;
    const CLEAR: &str = "DELETE FROM reminders WHERE NOT imported";
    const READ: &str = "SELECT reminder_key, due_at, slot_date, expires_at FROM reminders \
                        WHERE NOT imported ORDER BY reminder_key";
    macro_rules! on {
        ($pool:expr, $query:expr) => {{
            sqlx::query($query)
                .fetch_all($pool)
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    let key: String = row.get(0);
                    let (due, day, expires): (i64, i64, i64) = (row.get(1), row.get(2), row.get(3));
                    format!("{key} {due} {day} {expires}")
                })
                .collect::<Vec<String>>()
        }};
    }
    match store {
        SqlStore::Sqlite(pool) => on!(pool, CLEAR),
        SqlStore::Postgres(pool) => on!(pool, CLEAR),
    };
    let sender = Sender::new(
        store.clone(),
        RecordingMailer::default(),
        FixedClock::new(at),
        Templates::embedded(),
        ServiceConfig::default(),
    );
    let report = sender
        .record(&RunOptions {
            at: Some(at),
            ..RunOptions::default()
        })
        .await
        .unwrap();
    let lines = match store {
        SqlStore::Sqlite(pool) => on!(pool, READ),
        SqlStore::Postgres(pool) => on!(pool, READ),
    };
    // The next instant's plans are compared with the scenario's, which knows nothing of
    // what this run recorded.
    match store {
        SqlStore::Sqlite(pool) => on!(pool, CLEAR),
        SqlStore::Postgres(pool) => on!(pool, CLEAR),
    };
    assert_eq!(
        report.recorded,
        lines.len(),
        "the report counts what was recorded"
    );
    assert_eq!(
        report.planned,
        lines.len(),
        "an empty log: everything planned is new"
    );
    lines
}

/// The lines `recorded_at` must read for the plan `expected`, with the expiry core's
/// default retry policy gives each reminder.
fn expected_log(scenario: &Scenario, expected: &Plan) -> Vec<String> {
    let retry = rappels_core::service::ServiceConfig::default().retry;
    let mut lines: Vec<String> = expected
        .due
        .iter()
        .map(|d| {
            let start = d.key.session().and_then(|id| {
                scenario
                    .sessions
                    .iter()
                    .find(|s| s.id == id)
                    .map(|s| s.starts_at)
            });
            let expires = retry.expires_at(d.kind(), d.due_at, start);
            let day = i64::from(chrono::Datelike::num_days_from_ce(&d.slot_date));
            format!(
                "{} {} {day} {}",
                d.key,
                d.due_at.timestamp_micros(),
                expires.timestamp_micros()
            )
        })
        .collect();
    lines.sort();
    lines
}

/// The plan at `at` made from the store's parts (three candidates a part, so that parts
/// really are cut), each decided on its own as a run does, then put in the plan's order.
async fn plan_in_parts(
    store: &SqlStore,
    engine: &Reminders<SqlStore, FixedClock>,
    at: DateTime<Utc>,
) -> Plan {
    use futures::StreamExt;
    use rappels_core::ports::{PlanParts, Platform};
    let settings = &engine.settings().await.unwrap();
    let zones = store.zones(settings).await.unwrap();
    let window = rappels_core::plan::PlanWindow::new(at, settings, zones);
    let (parts, incoming) = PlanParts::channel(1);
    let (read, inputs) = futures::join!(
        store.plan_parts(&window, settings, 3, parts),
        incoming.collect::<Vec<_>>()
    );
    read.unwrap();
    let mut plan = Plan {
        at,
        due: Vec::new(),
        rejected: Vec::new(),
    };
    for input in &inputs {
        let part = rappels_core::plan::due_reminders(&window, settings, &input.candidates(), input);
        plan.due.extend(part.due);
        plan.rejected.extend(part.rejected);
    }
    plan.due.sort_by_key(|d| {
        (
            d.due_at,
            d.student,
            d.kind(),
            d.key.session(),
            d.key.manual(),
        )
    });
    plan.rejected.sort_by_key(|r| r.manual_id);
    plan
}

async fn compare(settings: &str, seed: u64) {
    use rappels_core::domain::Family;
    use rappels_core::ports::Platform;
    let mut scenario = dense_scenario(settings, seed);
    // Opt-outs of both sources: the platform's (in the scenario) and unsubscribe links'
    // (stored apart, in `unsubscribed`): the weekly digests a store records itself must
    // leave out both.
    let unsubscribing: Vec<_> = scenario
        .students
        .iter_mut()
        .filter(|s| s.opt_out.is_empty())
        .step_by(5)
        .map(|s| {
            s.opt_out.add(Family::Weekly);
            s.id
        })
        .collect();
    assert!(unsubscribing.len() >= 3, "{unsubscribing:?}");
    for db in backends().await {
        let mut imported = scenario.clone();
        for s in &mut imported.students {
            if unsubscribing.contains(&s.id) {
                s.opt_out = Default::default();
            }
        }
        import(&db.store, &imported).await;
        for id in &unsubscribing {
            assert!(db.store.opt_out(*id, Family::Weekly).await.unwrap());
        }
        let due_seen = assert_same_plans(&db.store, &scenario, db.name).await.len();
        assert!(
            due_seen > 50,
            "the scenario must exercise the planner ({due_seen} due lines)"
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn plans_from_the_database_equal_plans_from_memory_with_default_settings() {
    compare("{}", 7).await;
}

#[tokio::test]
async fn plans_equal_with_a_repeating_ladder_times_in_gaps_and_a_short_grace() {
    let settings = r#"{ "timezone": "America/New_York", "inactivity_days": [2, 5], "inactivity_repeat_days": 3,
        "session_eve_time": "02:30", "session_day_time": "00:15", "inactivity_time": "02:15",
        "weekly_day": "sunday", "weekly_time": "02:45", "grace_minutes": 90, "manual_max_per_day": 1 }"#;
    compare(settings, 11).await;
}
