//! The DST replay: a run every 5 minutes over a week around each 2026 transition of
//! Europe/Paris (29 March, 25 October), America/New_York (8 March, 1 November) and
//! Australia/Lord_Howe (5 April, half an hour back; 4 October, half an hour forward), with
//! students in those zones and the configured times inside each gap and each fold. At every
//! instant the run sends exactly the reminders that the plan of the same data (what
//! `rappels plan` says) shows due for the first time at that instant: no slot missed, none
//! doubled, none early or late.
//!
//! The runs are the service's own (`Sender::run` at each instant, over the SQL store), not
//! 12,000 processes of the binary: a debug build spends most of a process on starting, and
//! the process-level behaviour is the chaos suite's. What this replays is the planner, the
//! SQL candidate queries, the log and the claims, at every instant of those weeks.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rappels_core::domain::{TimeOfDay, Zone, parse_instant};
use rappels_core::message::Templates;
use rappels_core::ports::message_id;
use rappels_core::rules;
use rappels_core::scenario::Scenario;
use rappels_core::service::{RunOptions, Sender, ServiceConfig};
use rappels_core::snapshot::Snapshot;
use rappels_core::testing::{FixedClock, MailerMode, RecordingMailer};
use serde_json::{Value, json};

use crate::harness::{backends, import};

const DOMAIN: &str = "rappels.localhost";

/// The weeks replayed, in UTC: three days before each transition to four after, the two
/// transitions a week apart (Paris 29 March and Lord Howe 5 April; Paris 25 October and
/// New York 1 November) sharing a fortnight.
const WEEKS: [(&str, &str); 4] = [
    ("2026-03-05T00:00:00Z", "2026-03-12T00:00:00Z"),
    ("2026-03-26T00:00:00Z", "2026-04-09T00:00:00Z"),
    ("2026-10-01T00:00:00Z", "2026-10-08T00:00:00Z"),
    ("2026-10-22T00:00:00Z", "2026-11-05T00:00:00Z"),
];

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

/// Two students in each zone (one in Paris without a zone of their own, following the
/// settings), inactive since 1 March, each with a session at 09:00 local every day of the
/// weeks. The times: eve 02:15 (inside the spring gaps of Paris, New York and Lord Howe,
/// and the autumn fold of Paris), morning 01:45 and weekly Sunday 01:45 (inside the
/// autumn folds of New York and Lord Howe; every transition is on a Sunday), inactivity
/// 02:30 every day from the third day (the Paris and New York gaps and the Paris fold),
/// with a grace of 30 minutes, so that a slot placed on the wrong side of a change is
/// missed or doubled, not hidden by a long grace.
fn school() -> Scenario {
    let zones = [
        Some("Europe/Paris"),
        None,
        Some("America/New_York"),
        Some("America/New_York"),
        Some("Australia/Lord_Howe"),
        Some("Australia/Lord_Howe"),
    ];
    let mut students = Vec::new();
    let mut sessions = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        let id = i as i64 + 1;
        let mut student = json!({
            "id": id, "first_name": format!("Élève {id}"), "email": format!("e{id}@example.org"),
            "account_active": true, "subscription_active": true,
            "last_activity_at": "2026-03-01T12:00:00Z",
        });
        if let Some(zone) = zone {
            student["timezone"] = json!(zone);
        }
        students.push(student);
        let tz = Zone::parse(zone.unwrap_or("Europe/Paris")).unwrap();
        for (from, until) in WEEKS {
            let mut day = t(from).date_naive() - TimeDelta::days(1);
            while day <= t(until).date_naive() + TimeDelta::days(1) {
                let starts = local_nine(day, tz);
                sessions.push(json!({
                    "id": sessions.len() + 1, "student_id": id, "subject": "Révisions",
                    "starts_at": starts.to_rfc3339(),
                }));
                day += TimeDelta::days(1);
            }
        }
    }
    let scenario: Value = json!({
        "settings": {
            "timezone": "Europe/Paris",
            "session_eve_time": "02:15",
            "session_day_time": "01:45",
            "inactivity_time": "02:30",
            "inactivity_days": [3],
            "inactivity_repeat_days": 1,
            "weekly_time": "01:45",
            "grace_minutes": 30,
        },
        "students": students,
        "sessions": sessions,
    });
    Scenario::from_json(&scenario.to_string()).unwrap()
}

/// 09:00 local on `day` in `zone`, as an instant.
fn local_nine(day: NaiveDate, zone: Zone) -> DateTime<Utc> {
    rules::slot_at(day, TimeOfDay::new(9, 0).unwrap(), zone)
}

#[tokio::test]
async fn every_slot_around_each_2026_transition_is_sent_once_at_its_moment() {
    let scenario = school();
    let snapshot = Snapshot::new(scenario.clone());
    for db in backends().await {
        import(&db.store, &scenario).await;
        let sender = Sender::new(
            db.store.clone(),
            RecordingMailer::new(MailerMode::Accept),
            FixedClock::new(t(WEEKS[0].0)),
            Templates::embedded(),
            ServiceConfig::default(),
        );
        let mut ever_due: BTreeSet<String> = BTreeSet::new();
        let mut delivered = 0;
        let (mut instants, mut kinds) = (0, BTreeSet::new());
        for (from, until) in WEEKS {
            let mut at = t(from);
            while at < t(until) {
                let due: BTreeSet<String> = snapshot
                    .plan(at)
                    .due
                    .iter()
                    .map(|d| {
                        kinds.insert(d.key.kind());
                        message_id(&d.key, DOMAIN)
                    })
                    .collect();
                let expected: BTreeSet<String> = due.difference(&ever_due).cloned().collect();
                ever_due.extend(due);
                let report = sender
                    .run(&RunOptions {
                        at: Some(at),
                        ..RunOptions::default()
                    })
                    .await
                    .unwrap();
                // The mailer's messages are read only after a run that sent some.
                let sent: BTreeSet<String> = match report.sent {
                    0 => BTreeSet::new(),
                    _ => sender.mailer().messages()[delivered..]
                        .iter()
                        .map(|m| m.message_id.clone())
                        .collect(),
                };
                delivered += report.sent;
                assert_eq!(sent, expected, "{} at {at}: {report:?}", db.name);
                instants += 1;
                at += TimeDelta::minutes(5);
            }
        }
        let all = sender.mailer().messages();
        let distinct: BTreeSet<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(
            distinct.len(),
            all.len(),
            "{}: a reminder went out twice",
            db.name
        );
        assert_eq!(all.len(), ever_due.len(), "{}", db.name);
        // The data exercised what it meant to: every kind, around every change.
        assert_eq!(kinds.len(), 4, "{}: {kinds:?}", db.name);
        // And none of the slots is missing, whatever the plan says: on every day inside
        // each week, each student got one inactivity reminder, one morning reminder and one
        // eve reminder (a session every day), and a digest on Sundays.
        let got: BTreeSet<(String, String, String)> = all
            .iter()
            .map(|m| {
                let key = m.message_id.trim_start_matches('<');
                let key = key.split('@').next().unwrap();
                let parts: Vec<&str> = key.split('.').collect();
                let date = parts.last().unwrap().to_string();
                (parts[0].to_owned(), parts[1].to_owned(), date)
            })
            .collect();
        for student in &scenario.students {
            for (from, until) in WEEKS {
                let mut day = t(from).date_naive() + TimeDelta::days(2);
                while day <= t(until).date_naive() - TimeDelta::days(2) {
                    let mut kinds = vec!["inactivity", "session_day", "session_eve"];
                    if chrono::Datelike::weekday(&day) == chrono::Weekday::Sun {
                        kinds.push("weekly");
                    }
                    for kind in kinds {
                        let slot = (kind.to_owned(), student.id.to_string(), day.to_string());
                        assert!(got.contains(&slot), "{}: no {slot:?}", db.name);
                    }
                    day += TimeDelta::days(1);
                }
            }
        }
        assert_eq!(instants, 12_096, "{}", db.name);
        db.finish().await;
    }
}
