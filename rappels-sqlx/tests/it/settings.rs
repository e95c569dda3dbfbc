//! Saving settings: written only when they change, in one transaction, and a new default zone
//! moves the students who follow it so that plans from the database stay those of memory.

use rappels_core::domain::{Kind, TimeOfDay, Zone};
use rappels_core::ports::Platform;
use rappels_core::rules::inactivity_reference_date;
use rappels_core::scenario::Scenario;
use rappels_sqlx::{SqlError, SqlStore};

use crate::harness::{backends, dump, import, postgres};
use crate::parity::{assert_same_plans, dense_scenario};
use crate::service::SCHOOL;

/// Runs one statement outside the store, as someone editing the database by hand would.
async fn execute(store: &SqlStore, sql: &'static str) {
    match store {
        SqlStore::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        SqlStore::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .expect("run a statement by hand");
}

/// The rows of `dump` that are students, split into those who follow the default zone (of
/// `followers`) and the others.
fn students(rows: &[String], followers: &[i64]) -> (Vec<String>, Vec<String>) {
    rows.iter()
        .filter(|row| row.starts_with("students: "))
        .cloned()
        .partition(|row| {
            followers
                .iter()
                .any(|id| row.starts_with(&format!("students: Some({id}) |")))
        })
}

async fn zone_names(store: &SqlStore, scenario: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = store
        .zones(&scenario.settings)
        .await
        .unwrap()
        .iter()
        .map(|z| z.name().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn saving_the_stored_settings_again_changes_nothing() {
    let school = Scenario::from_json(SCHOOL).unwrap();
    for db in backends().await {
        import(&db.store, &school).await;
        let before = dump(&db.store).await;
        let changed = db.store.save_settings(&school.settings).await.unwrap();
        assert!(!changed, "{}: equal settings reported as changed", db.name);
        assert_eq!(dump(&db.store).await, before, "{}", db.name);
        db.finish().await;
    }
}

#[tokio::test]
async fn a_new_default_zone_moves_only_the_students_who_follow_it() {
    let paris = dense_scenario("{}", 7);
    let followers: Vec<i64> = paris
        .students
        .iter()
        .filter(|s| s.timezone.is_none())
        .map(|s| s.id.get())
        .collect();
    assert!(!followers.is_empty(), "the scenario must have followers");
    // Kiritimati (UTC+14) is the zone of no student of the scenario, so the followers alone
    // bring it in, and is far enough from Paris that many local days of activity differ.
    let mut kiritimati = paris.clone();
    kiritimati.settings.timezone = Zone::parse("Pacific/Kiritimati").unwrap();
    for db in backends().await {
        import(&db.store, &paris).await;
        let (followers_before, others_before) = students(&dump(&db.store).await, &followers);

        assert!(db.store.save_settings(&kiritimati.settings).await.unwrap());
        assert_eq!(
            db.store.stored_settings().await.unwrap(),
            Some(kiritimati.settings.clone())
        );
        let (followers_after, others_after) = students(&dump(&db.store).await, &followers);
        assert_eq!(
            others_after, others_before,
            "{}: a student with a zone of their own was touched",
            db.name
        );
        assert_eq!(followers_after.len(), followers.len(), "{}", db.name);
        for (before, after) in followers_before.iter().zip(&followers_after) {
            assert!(
                !before.contains("\"Pacific/Kiritimati\"")
                    && after.contains("\"Pacific/Kiritimati\""),
                "{}: a follower did not move: {after}",
                db.name
            );
        }
        assert!(
            zone_names(&db.store, &kiritimati)
                .await
                .contains(&"Pacific/Kiritimati".to_owned())
        );

        // The plans of the database are those of memory with the new settings, and the
        // followers have reminders of every automatic kind in them, among which inactivity
        // reminders that a local day of last activity left in Paris would have lost.
        let due = assert_same_plans(&db.store, &kiritimati, db.name).await;
        let moved_day = due.iter().any(|d| {
            let s = paris.students.iter().find(|s| s.id == d.student).unwrap();
            d.kind() == Kind::Inactivity
                && s.timezone.is_none()
                && inactivity_reference_date(s, paris.settings.timezone)
                    != inactivity_reference_date(s, kiritimati.settings.timezone)
        });
        assert!(
            moved_day,
            "{}: no inactivity reminder depends on the move",
            db.name
        );
        let mut kinds: Vec<&str> = due
            .iter()
            .filter(|d| followers.contains(&d.student.get()))
            .map(|d| d.kind().as_str())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(
            kinds,
            ["inactivity", "session_day", "session_eve", "weekly"],
            "{}: the scenario must exercise the followers",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn a_new_time_is_saved_and_read_back_and_moves_no_student() {
    let school = Scenario::from_json(SCHOOL).unwrap();
    let mut later = school.settings.clone();
    later.session_eve_time = TimeOfDay::parse("19:15").unwrap();
    for db in backends().await {
        // On a database that holds no settings yet, saving stores them.
        assert!(db.store.save_settings(&school.settings).await.unwrap());
        assert_eq!(
            db.store.stored_settings().await.unwrap(),
            Some(school.settings.clone())
        );

        import(&db.store, &school).await;
        let before = dump(&db.store).await;
        assert!(db.store.save_settings(&later).await.unwrap(), "{}", db.name);
        assert_eq!(
            db.store.stored_settings().await.unwrap(),
            Some(later.clone())
        );
        let after = dump(&db.store).await;
        let not_settings = |rows: &[String]| -> Vec<String> {
            rows.iter()
                .filter(|row| !row.starts_with("settings: "))
                .cloned()
                .collect()
        };
        assert_eq!(not_settings(&after), not_settings(&before), "{}", db.name);
        assert_ne!(
            after, before,
            "{}: the settings row was not written",
            db.name
        );
        assert!(
            !db.store.save_settings(&later).await.unwrap(),
            "{}",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn a_save_that_fails_writes_nothing() {
    let school = Scenario::from_json(SCHOOL).unwrap();
    let mut new_york = school.settings.clone();
    new_york.timezone = Zone::parse("America/New_York").unwrap();
    for db in backends().await {
        import(&db.store, &school).await;
        // Lucas follows the default zone; a row that no longer reads back fails the move,
        // after the settings row was already written in the transaction.
        execute(&db.store, "UPDATE students SET locale = 'xx' WHERE id = 2").await;
        let before = dump(&db.store).await;
        let err = db.store.save_settings(&new_york).await.unwrap_err();
        assert!(matches!(err, SqlError::Corrupt(_)), "{}: {err}", db.name);
        assert_eq!(
            dump(&db.store).await,
            before,
            "{}: a failed save left rows behind",
            db.name
        );
        db.finish().await;
    }
}

/// Only on PostgreSQL: there a test can see that a save is waiting for another one's lock,
/// where on SQLite it could only hope so.
#[tokio::test]
async fn a_save_waiting_for_another_moves_the_students_from_the_zone_it_committed() {
    let Some(db) = postgres().await else { return };
    let SqlStore::Postgres(pool) = &db.store else {
        unreachable!("postgres() opens PostgreSQL")
    };
    let school = Scenario::from_json(SCHOOL).unwrap();
    import(&db.store, &school).await;
    // Another writer has moved the default zone to London and not committed yet.
    let mut london = school.settings.clone();
    london.timezone = Zone::parse("Europe/London").unwrap();
    let mut other = pool.begin().await.unwrap();
    sqlx::query("UPDATE settings SET body = $1 WHERE id = 1")
        .bind(serde_json::to_string(&london).unwrap())
        .execute(&mut *other)
        .await
        .unwrap();
    sqlx::query("UPDATE students SET zone = 'Europe/London' WHERE timezone IS NULL")
        .execute(&mut *other)
        .await
        .unwrap();

    // Back to Paris, with another time: the zone equals the one stored before London.
    let mut paris = school.settings.clone();
    paris.session_eve_time = TimeOfDay::parse("19:00").unwrap();
    let save = tokio::spawn({
        let store = db.store.clone();
        let paris = paris.clone();
        async move { store.save_settings(&paris).await }
    });
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            !save.is_finished(),
            "the save did not wait for the other writer"
        );
        tokio::task::yield_now().await;
    }
    other.commit().await.unwrap();

    assert!(save.await.unwrap().unwrap());
    let mut expected = school.clone();
    expected.settings = paris;
    assert_eq!(
        db.store.stored_settings().await.unwrap(),
        Some(expected.settings.clone())
    );
    assert_eq!(
        zone_names(&db.store, &expected).await,
        ["Africa/Abidjan", "Europe/Paris"],
        "Lucas stayed in the zone of the other writer"
    );
    db.finish().await;
}
