//! The store contract: what every implementation of [`Platform`], [`ReminderLog`] and
//! [`History`] must do, as one suite that runs against any store. Core runs it against
//! [`super::MemoryStore`] and rappels-sqlx against SQLite and PostgreSQL, so the three
//! cannot drift apart; a platform embedding rappels over its own tables runs it against
//! theirs.
//!
//! Each check gets a fresh store holding [`super::SMALL_SCHOOL`] from the caller's factory
//! and panics, naming itself, when the store breaks the contract.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::{
    Kind, ManualId, PeriodicKind, ReminderKey, SessionId, SessionReminder, StudentId, parse_instant,
};
use crate::message::RenderedMessage;
use crate::permissions::HistoryScope;
use crate::ports::{Claim, Envelope, NewReminder, Outcome, ReminderStatus, Store};
use crate::scenario::Scenario;

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).expect("a valid instant")
}

fn student(id: i64) -> StudentId {
    StudentId::new(id).expect("a valid id")
}

/// The instant the checks run at: the evening of 26 November 2026.
fn now() -> DateTime<Utc> {
    t("2026-11-26T18:45:00Z")
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid date")
}

/// Reminders of each kind for the small school: the eve reminder of Awa's session 100, a
/// morning reminder of Lucas's session 101, Lucas's inactivity reminder, Awa's weekly
/// digest and Mariam's manual request 500 for Awa.
fn reminders() -> Vec<NewReminder> {
    let expires_at = now() + TimeDelta::hours(12);
    let entry = |key: ReminderKey, who: i64| NewReminder {
        key,
        student: student(who),
        slot_date: date(),
        due_at: now() - TimeDelta::minutes(15),
        expires_at,
    };
    let session = |who: i64, day: SessionReminder, id: i64| ReminderKey::Session {
        student: student(who),
        day,
        session: SessionId::new(id).expect("a valid id"),
        slot_date: date(),
    };
    let periodic = |who: i64, kind: PeriodicKind| ReminderKey::Periodic {
        student: student(who),
        kind,
        slot_date: date(),
    };
    vec![
        entry(session(1, SessionReminder::Eve, 100), 1),
        entry(session(2, SessionReminder::Day, 101), 2),
        entry(periodic(2, PeriodicKind::Inactivity), 2),
        entry(periodic(1, PeriodicKind::Weekly), 1),
        entry(
            ReminderKey::Manual(ManualId::new(500).expect("a valid id")),
            1,
        ),
    ]
}

fn envelope(subject: &str) -> Box<Envelope> {
    Box::new(Envelope {
        to: crate::domain::EmailAddress::parse("awa@example.org").expect("a valid address"),
        to_name: "Awa Koné".to_owned(),
        locale: crate::domain::Locale::Fr,
        message: RenderedMessage {
            subject: subject.to_owned(),
            text: "texte".to_owned(),
            html: "<p>texte</p>".to_owned(),
        },
    })
}

fn sent(at: DateTime<Utc>) -> Outcome {
    Outcome::Sent {
        message_id: "<contract@rappels.localhost>".to_owned(),
        at,
    }
}

async fn claim_all<S: Store>(store: &S, owner: &str, at: DateTime<Utc>) -> Vec<Claim> {
    store
        .claim(owner, at, TimeDelta::minutes(5), 100)
        .await
        .expect("claim")
}

/// Runs every check of the contract, each against a fresh store from `fresh`.
pub async fn store_contract<S: Store>(fresh: impl AsyncFn(Scenario) -> S) {
    let school = || Scenario::from_json(super::SMALL_SCHOOL).expect("the small school");
    settings_are_the_stores(fresh(school()).await, &school()).await;
    recording_is_insert_or_ignore(fresh(school()).await).await;
    a_claim_is_exclusive_until_its_lease_ends(fresh(school()).await).await;
    an_outcome_needs_the_lease(fresh(school()).await).await;
    a_released_claim_is_claimable_at_once(fresh(school()).await).await;
    a_retry_waits_for_its_attempt_time(fresh(school()).await).await;
    message_input_holds_what_messages_read(fresh(school()).await).await;
    message_input_leaves_out_what_is_gone(&fresh).await;
    history_follows_its_scope_and_shows_what_was_sent(fresh(school()).await).await;
}

async fn settings_are_the_stores<S: Store>(store: S, school: &Scenario) {
    assert_eq!(
        store.settings().await.expect("settings"),
        school.settings,
        "settings_are_the_stores: a store gives the settings it was given"
    );
}

async fn recording_is_insert_or_ignore<S: Store>(store: S) {
    let all = reminders();
    assert_eq!(
        store.record_due(&all, now()).await.expect("record"),
        all.len()
    );
    assert_eq!(
        store.record_due(&all, now()).await.expect("record again"),
        0,
        "recording_is_insert_or_ignore: a key is recorded once, ever"
    );
    assert_eq!(store.record_due(&all[..2], now()).await.expect("record"), 0);
}

async fn a_claim_is_exclusive_until_its_lease_ends<S: Store>(store: S) {
    store.record_due(&reminders(), now()).await.expect("record");
    let first = store
        .claim("a", now(), TimeDelta::minutes(5), 2)
        .await
        .expect("claim");
    assert_eq!(first.len(), 2, "a claim takes at most its limit");
    assert!(
        first
            .iter()
            .all(|c| c.envelope.is_none() && c.attempts == 0)
    );
    let rest = claim_all(&store, "b", now()).await;
    assert_eq!(rest.len(), 3, "the others are claimable");
    let ids: HashSet<i64> = first.iter().chain(&rest).map(|c| c.id).collect();
    assert_eq!(
        ids.len(),
        5,
        "a_claim_is_exclusive: no reminder is claimed twice"
    );
    assert!(
        claim_all(&store, "c", now() + TimeDelta::minutes(4))
            .await
            .is_empty(),
        "a_claim_is_exclusive: nothing is claimable while the leases hold"
    );
    let taken = claim_all(&store, "c", now() + TimeDelta::minutes(5)).await;
    assert_eq!(taken.len(), 5, "every lease ended: all can be taken over");
    let keys: HashSet<ReminderKey> = taken.iter().map(|c| c.reminder.key).collect();
    let recorded: HashSet<ReminderKey> = reminders().iter().map(|r| r.key).collect();
    assert_eq!(keys, recorded, "a claim gives the reminder as recorded");
    for claim in &taken {
        let original = reminders()
            .into_iter()
            .find(|r| r.key == claim.reminder.key)
            .expect("a recorded reminder");
        assert_eq!(
            claim.reminder, original,
            "a claim gives the reminder as recorded"
        );
    }
}

async fn an_outcome_needs_the_lease<S: Store>(store: S) {
    store
        .record_due(&reminders()[..1], now())
        .await
        .expect("record");
    let lost = claim_all(&store, "a", now()).await;
    let later = now() + TimeDelta::minutes(6);
    let held = claim_all(&store, "b", later).await;
    assert_eq!((lost.len(), held.len()), (1, 1));
    let recorded = store
        .complete_many(&[(lost[0].clone(), sent(later))], later)
        .await
        .expect("complete");
    assert_eq!(
        recorded,
        [false],
        "an_outcome_needs_the_lease: a lost lease records nothing"
    );
    let mut done = held[0].clone();
    done.envelope = Some(envelope("Rappel"));
    let recorded = store
        .complete_many(&[(done, sent(later))], later)
        .await
        .expect("complete");
    assert_eq!(recorded, [true]);
    assert!(
        claim_all(&store, "c", later + TimeDelta::days(1))
            .await
            .is_empty()
    );
    let next = store.next_attempt_at().await.expect("next attempt");
    assert_eq!(next, None, "a sent reminder never waits");
}

async fn a_released_claim_is_claimable_at_once<S: Store>(store: S) {
    store.record_due(&reminders(), now()).await.expect("record");
    let claims = claim_all(&store, "a", now()).await;
    store.release(&claims[..2], now()).await.expect("release");
    let again = claim_all(&store, "b", now()).await;
    assert_eq!(
        again.len(),
        2,
        "a_released_claim_is_claimable_at_once: released, not leased"
    );
    assert!(
        again.iter().all(|c| c.attempts == 0),
        "a release does not count an attempt"
    );
}

async fn a_retry_waits_for_its_attempt_time<S: Store>(store: S) {
    store
        .record_due(&reminders()[..1], now())
        .await
        .expect("record");
    let claims = claim_all(&store, "a", now()).await;
    let retry_at = now() + TimeDelta::minutes(10);
    let retry = Outcome::Retry {
        next_attempt_at: retry_at,
        error: "451 try later".to_owned(),
    };
    store
        .complete_many(&[(claims[0].clone(), retry)], now())
        .await
        .expect("complete");
    assert_eq!(store.next_attempt_at().await.expect("next"), Some(retry_at));
    assert!(
        claim_all(&store, "a", retry_at - TimeDelta::seconds(1))
            .await
            .is_empty(),
        "a_retry_waits_for_its_attempt_time"
    );
    let again = claim_all(&store, "a", retry_at).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1, "a failed attempt is counted");
}

async fn message_input_holds_what_messages_read<S: Store>(store: S) {
    let input = store
        .message_input(&reminders())
        .await
        .expect("message input");
    let what = "message_input_holds_what_messages_read";
    let students: HashSet<i64> = input.students.keys().map(|s| s.get()).collect();
    assert_eq!(students, HashSet::from([1, 2]), "{what}: the students");
    let sessions: HashSet<i64> = input.sessions.keys().map(|s| s.get()).collect();
    assert_eq!(sessions, HashSet::from([100, 101]), "{what}: the sessions");
    let manual: Vec<i64> = input.manual.keys().map(|m| m.get()).collect();
    assert_eq!(manual, [500], "{what}: the manual request");
    let parents: Vec<i64> = input.parents.keys().map(|p| p.get()).collect();
    assert_eq!(parents, [10], "{what}: the parent who asked");
    let digest: Vec<i64> = input
        .digest_sessions
        .get(&student(1))
        .map(|s| s.iter().map(|s| s.id.get()).collect())
        .unwrap_or_default();
    assert_eq!(digest, [100], "{what}: the digest's sessions, once each");
}

async fn message_input_leaves_out_what_is_gone<S: Store>(fresh: &impl AsyncFn(Scenario) -> S) {
    let mut school = Scenario::from_json(super::SMALL_SCHOOL).expect("the small school");
    school.sessions.retain(|s| s.id.get() != 100);
    let store = fresh(school).await;
    let input = store
        .message_input(&reminders())
        .await
        .expect("message input");
    assert!(
        !input
            .sessions
            .contains_key(&SessionId::new(100).expect("id")),
        "message_input_leaves_out_what_is_gone"
    );
}

async fn history_follows_its_scope_and_shows_what_was_sent<S: Store>(store: S) {
    store.record_due(&reminders(), now()).await.expect("record");
    let claims = claim_all(&store, "a", now()).await;
    let outcomes: Vec<(Claim, Outcome)> = claims
        .into_iter()
        .map(|mut claim| {
            claim.envelope = Some(envelope(&format!("Objet {}", claim.reminder.key)));
            (claim, sent(now()))
        })
        .collect();
    store
        .complete_many(&outcomes, now())
        .await
        .expect("complete");
    let what = "history_follows_its_scope";
    let own = store
        .history(&HistoryScope::Student(student(2)), 50)
        .await
        .expect("history");
    assert_eq!(own.len(), 2, "{what}: Lucas's two reminders");
    assert!(own.iter().all(|e| e.student == student(2)));
    for entry in &own {
        assert_eq!(entry.status, ReminderStatus::Sent);
        assert_eq!(
            entry.subject,
            format!("Objet {}", entry.key),
            "{what}: the subject it was sent with"
        );
    }
    let all = store.history(&HistoryScope::All, 3).await.expect("history");
    assert_eq!(all.len(), 3, "{what}: the limit");
    let stats = store
        .stats(now() - TimeDelta::hours(1), now() - TimeDelta::days(7))
        .await
        .expect("stats");
    assert_eq!((stats.sent_today, stats.pending), (5, 0));
    assert_eq!(stats.sent_by_kind.get(&Kind::Manual), Some(&1));
}
