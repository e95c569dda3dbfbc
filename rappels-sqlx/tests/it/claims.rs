//! Exactly-once delivery: concurrent claimers, separate processes, and leases.

use std::collections::HashSet;
use std::process::Command;

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::{ManualId, ReminderKey, StudentId, parse_instant};
use rappels_core::ports::{History, NewReminder, Outcome, ReminderLog, StoreError};
use rappels_sqlx::SqlStore;

use crate::harness::{TestDb, backends, sqlite};

fn now() -> DateTime<Utc> {
    parse_instant("2026-11-26T18:30:00Z").unwrap()
}

fn reminder(id: i64) -> NewReminder {
    NewReminder {
        key: ReminderKey::Manual(ManualId::new(id).unwrap()),
        student: StudentId::new(1 + id % 50).unwrap(),
        slot_date: "2026-11-26".parse().unwrap(),
        due_at: now() - TimeDelta::seconds(id % 600),
        expires_at: now() + TimeDelta::days(7),
    }
}

async fn fill(store: &SqlStore, count: i64) {
    let all: Vec<_> = (1..=count).map(reminder).collect();
    assert_eq!(store.record_due(&all, now()).await.unwrap(), count as usize);
    // Recording again is a no-op: the key is unique.
    assert_eq!(store.record_due(&all[..10], now()).await.unwrap(), 0);
}

/// Claims until nothing is left, in batches, as a runner does; returns the ids claimed.
async fn drain(store: &SqlStore, owner: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    loop {
        let claims = store
            .claim(owner, now(), TimeDelta::minutes(5), 50)
            .await
            .unwrap();
        if claims.is_empty() {
            return ids;
        }
        for claim in &claims {
            let sent = Outcome::Sent {
                message_id: format!("<{}@test>", claim.id),
                at: now(),
            };
            store.complete(claim, &sent, now()).await.unwrap();
            ids.push(claim.id);
        }
    }
}

fn assert_exactly_once(claimed: &[Vec<i64>], total: usize, what: &str) {
    let all: Vec<i64> = claimed.iter().flatten().copied().collect();
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        distinct.len(),
        "{what}: a reminder was claimed twice"
    );
    assert_eq!(distinct.len(), total, "{what}: every reminder is claimed");
}

fn assert_shared(claimed: &[Vec<i64>], what: &str) {
    let busy = claimed.iter().filter(|c| !c.is_empty()).count();
    assert!(busy > 1, "{what}: only {busy} claimer got work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_claimers_claim_each_reminder_once() {
    for db in backends().await {
        fill(&db.store, 10_000).await;
        let mut tasks = Vec::new();
        for n in 0..8 {
            let store = db.connect_again().await;
            tasks.push(tokio::spawn(async move {
                let ids = drain(&store, &format!("runner-{n}")).await;
                store.close().await;
                ids
            }));
        }
        let mut claimed = Vec::new();
        for task in tasks {
            claimed.push(task.await.unwrap());
        }
        assert_exactly_once(&claimed, 10_000, db.name);
        assert_shared(&claimed, db.name);
        let stats = db
            .store
            .stats(now() - TimeDelta::days(1), now() - TimeDelta::days(7))
            .await
            .unwrap();
        assert_eq!(
            (stats.sent_today, stats.pending),
            (10_000, 0),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

/// The variables that turn this test binary into a claim worker for the test below.
const WORKER_URL: &str = "RAPPELS_CLAIM_WORKER_URL";
const WORKER_OWNER: &str = "RAPPELS_CLAIM_WORKER_OWNER";

/// Run alone, one worker drains a fresh database; run by the test below with the worker
/// variables set, it drains the database it is given and prints what it claimed.
#[tokio::test]
async fn claim_worker() {
    match (std::env::var(WORKER_URL), std::env::var(WORKER_OWNER)) {
        (Ok(url), Ok(owner)) => {
            let store = SqlStore::connect(&url.parse().expect("a database URL"))
                .await
                .unwrap();
            let ids = drain(&store, &owner).await;
            println!(
                "\nCLAIMED {}",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            );
        }
        _ => {
            let db = sqlite().await;
            fill(&db.store, 300).await;
            assert_exactly_once(&[drain(&db.store, "alone").await], 300, "one worker");
            db.finish().await;
        }
    }
}

async fn claim_in_processes(db: &TestDb, workers: usize) -> Vec<Vec<i64>> {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..workers)
        .map(|n| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "claims::claim_worker",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_URL, &db.url)
                .env(WORKER_OWNER, format!("process-{n}"))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "worker failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let line = text
                .lines()
                .find_map(|l| l.split_once("CLAIMED ").map(|(_, ids)| ids))
                .unwrap_or_else(|| panic!("the worker reports nothing: {text}"));
            line.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimers_in_separate_processes_claim_each_reminder_once() {
    for db in backends().await {
        fill(&db.store, 3_000).await;
        let claimed = claim_in_processes(&db, 4).await;
        assert_exactly_once(&claimed, 3_000, db.name);
        assert_shared(&claimed, db.name);
        db.finish().await;
    }
}

#[tokio::test]
async fn a_claimer_whose_lease_expired_cannot_record_an_outcome() {
    for db in backends().await {
        fill(&db.store, 20).await;
        let store = &db.store;
        let a = store
            .claim("runner-a", now(), TimeDelta::minutes(1), 5)
            .await
            .unwrap();
        assert_eq!(a.len(), 5);
        // Before the lease ends nobody else gets them.
        let early = store
            .claim(
                "runner-b",
                now() + TimeDelta::seconds(59),
                TimeDelta::minutes(1),
                100,
            )
            .await
            .unwrap();
        assert!(early.iter().all(|c| a.iter().all(|mine| mine.id != c.id)));
        let sent_late = Outcome::Sent {
            message_id: "<late@test>".into(),
            at: now() + TimeDelta::minutes(2),
        };
        // A's lease ended: even with nobody else on it, A cannot record.
        let late = store
            .complete(&a[0], &sent_late, now() + TimeDelta::minutes(2))
            .await;
        assert!(
            matches!(late, Err(StoreError::LeaseLost { .. })),
            "{}: {late:?}",
            db.name
        );
        // B takes the expired claims over and records them.
        let later = now() + TimeDelta::minutes(3);
        let b = store
            .claim("runner-b", later, TimeDelta::minutes(1), 100)
            .await
            .unwrap();
        let taken: Vec<_> = b
            .iter()
            .filter(|c| a.iter().any(|mine| mine.id == c.id))
            .collect();
        assert_eq!(taken.len(), 5, "{}", db.name);
        assert!(matches!(
            store.complete(&a[1], &sent_late, later).await,
            Err(StoreError::LeaseLost { .. })
        ));
        for claim in taken {
            store
                .complete(
                    claim,
                    &Outcome::Sent {
                        message_id: "<b@test>".into(),
                        at: later,
                    },
                    later,
                )
                .await
                .unwrap();
        }
        // A retry puts the reminder back in the queue only once its time has come.
        let retry_at = later + TimeDelta::minutes(5);
        let other = b
            .iter()
            .find(|c| a.iter().all(|mine| mine.id != c.id))
            .unwrap();
        store
            .complete(
                other,
                &Outcome::Retry {
                    next_attempt_at: retry_at,
                    error: "421 busy".into(),
                },
                later,
            )
            .await
            .unwrap();
        let before = store
            .claim(
                "runner-c",
                retry_at - TimeDelta::seconds(1),
                TimeDelta::minutes(1),
                100,
            )
            .await
            .unwrap();
        assert!(before.iter().all(|c| c.id != other.id));
        let again = store
            .claim("runner-c", retry_at, TimeDelta::minutes(1), 100)
            .await
            .unwrap();
        let retried = again
            .iter()
            .find(|c| c.id == other.id)
            .expect("the retry is claimable");
        assert_eq!(retried.attempts, 1);
        db.finish().await;
    }
}

/// A batch of outcomes recorded in one transaction: a claim whose lease another runner took
/// over meanwhile is reported lost and left as the new owner holds it; the others are
/// recorded. Released claims are pending again at once, their attempt not counted.
#[tokio::test]
async fn a_batch_of_outcomes_records_nothing_for_a_lost_lease_and_release_gives_claims_back() {
    for db in backends().await {
        let store = &db.store;
        fill(store, 10).await;
        let lease = TimeDelta::minutes(5);
        let mine = store.claim("runner-a", now(), lease, 6).await.unwrap();
        assert_eq!(mine.len(), 6);
        // Runner A stalls past its lease; runner B takes one reminder over.
        let later = now() + TimeDelta::minutes(6);
        let stolen = store.claim("runner-b", later, lease, 1).await.unwrap();
        assert_eq!(stolen.len(), 1);
        // A's other leases are renewed for the test by claiming them again as A (with the
        // four reminders never claimed yet).
        let renewed = store.claim("runner-a", later, lease, 10).await.unwrap();
        assert_eq!(renewed.len(), 9, "{}", db.name);
        let mut batch: Vec<_> = renewed
            .iter()
            .map(|c| {
                let sent = Outcome::Sent {
                    message_id: format!("<{}@test>", c.id),
                    at: later,
                };
                (c.clone(), sent)
            })
            .collect();
        let lost = mine.iter().find(|c| c.id == stolen[0].id).unwrap().clone();
        batch.insert(2, (lost, Outcome::Failed { error: "x".into() }));
        let recorded = store.complete_many(&batch, later).await.unwrap();
        let mut expected = vec![true; 10];
        expected[2] = false;
        assert_eq!(recorded, expected, "{}", db.name);
        // The stolen one is still B's to finish, untouched by A's batch.
        let sent = Outcome::Sent {
            message_id: "<b@test>".into(),
            at: later,
        };
        store.complete(&stolen[0], &sent, later).await.unwrap();

        // Release: claimed again at once by anyone, attempts unchanged.
        fill_more(store, 100, 3).await;
        let held = store.claim("runner-c", later, lease, 3).await.unwrap();
        assert_eq!(held.len(), 3);
        store.release(&held[..2], later).await.unwrap();
        let again = store.claim("runner-d", later, lease, 10).await.unwrap();
        let ids: HashSet<i64> = again.iter().map(|c| c.id).collect();
        assert_eq!(ids, held[..2].iter().map(|c| c.id).collect(), "{}", db.name);
        assert!(again.iter().all(|c| c.attempts == 0));
        // A release by one who no longer holds the lease changes nothing.
        store.release(&held[..1], later).await.unwrap();
        let none = store.claim("runner-e", later, lease, 10).await.unwrap();
        assert!(none.is_empty(), "{}", db.name);
        db.finish().await;
    }
}

async fn fill_more(store: &SqlStore, from: i64, count: i64) {
    let more: Vec<_> = (from..from + count).map(reminder).collect();
    assert_eq!(
        store.record_due(&more, now()).await.unwrap(),
        count as usize
    );
}

/// The weekly digests of a zone bigger than one step of `record_weekly` (5,000 students;
/// PostgreSQL runs two steps at once): each student's digest is recorded once, the progress
/// counts every row committed, a second call adds nothing, and a caller that says stop
/// after the first step gets no step begun after it.
#[tokio::test]
async fn weekly_digests_of_several_steps_are_recorded_once_and_counted() {
    use rappels_core::domain::Zone;
    use rappels_core::ports::{Recorded, WeeklyDue};
    use rappels_core::scenario::Scenario;
    use std::sync::Mutex;
    const STUDENTS: usize = 12_345;
    let students: Vec<String> = (1..=STUDENTS)
        .map(|id| {
            format!(
                r#"{{ "id": {id}, "first_name": "E{id}", "email": "e{id}@example.org",
                    "timezone": "Europe/Paris", "account_active": true,
                    "subscription_active": true, "locale": "fr",
                    "last_activity_at": "2026-11-28T10:00:00Z",
                    "created_at": "2025-09-01T08:00:00Z", "opt_out": [] }}"#
            )
        })
        .collect();
    let scenario = Scenario::from_json(&format!(
        r#"{{ "students": [{}], "parents": [], "sessions": [], "manual": [] }}"#,
        students.join(",")
    ))
    .unwrap();
    let due = WeeklyDue {
        zone: Zone::parse("Europe/Paris").unwrap(),
        slot_date: "2026-11-29".parse().unwrap(),
        due_at: parse_instant("2026-11-29T19:00:00Z").unwrap(),
        expires_at: parse_instant("2026-11-30T19:00:00Z").unwrap(),
    };
    let at = parse_instant("2026-11-29T19:00:00Z").unwrap();
    for db in backends().await {
        crate::harness::import(&db.store, &scenario).await;
        // Stopped after the first step: what was committed is what the progress said.
        let steps = Mutex::new(Vec::<Recorded>::new());
        db.store
            .record_weekly(&due, at, &|r| {
                steps.lock().unwrap().push(r);
                false
            })
            .await
            .unwrap();
        let told: usize = steps.lock().unwrap().iter().map(|r| r.recorded).sum();
        let rows = weekly_rows(&db.store).await;
        assert_eq!(rows, told, "{}: the progress counts every row", db.name);
        assert!(
            (5_000..STUDENTS).contains(&rows),
            "{}: {rows} recorded after a stop",
            db.name
        );
        // Carried on: every student once, and the rows of the first call are not added again.
        let added = Mutex::new(0);
        db.store
            .record_weekly(&due, at, &|r| {
                *added.lock().unwrap() += r.recorded;
                true
            })
            .await
            .unwrap();
        assert_eq!(rows + *added.lock().unwrap(), STUDENTS, "{}", db.name);
        assert_eq!(weekly_rows(&db.store).await, STUDENTS, "{}", db.name);
        db.store
            .record_weekly(&due, at, &|r| {
                assert_eq!(r.recorded, 0, "{}: recorded again", db.name);
                true
            })
            .await
            .unwrap();
        assert_eq!(weekly_rows(&db.store).await, STUDENTS, "{}", db.name);
        db.finish().await;
    }
}

/// Distinct weekly keys in the log.
async fn weekly_rows(store: &SqlStore) -> usize {
    const COUNT: &str = "SELECT COUNT(DISTINCT reminder_key) FROM reminders WHERE kind = 'weekly'";
    let count: i64 = match store {
        SqlStore::Sqlite(pool) => sqlx::query_scalar(COUNT).fetch_one(pool).await.unwrap(),
        SqlStore::Postgres(pool) => sqlx::query_scalar(COUNT).fetch_one(pool).await.unwrap(),
    };
    usize::try_from(count).unwrap()
}
