//! Import: all or nothing, idempotent, and what it stores reads back the same.

use rappels_core::domain::Session;
use rappels_core::domain::{SessionId, StudentId, parse_instant};
use rappels_core::scenario::Scenario;
use rappels_sqlx::{SqlError, SqlStore};

use crate::harness::{backends, dump, import};
use crate::parity::dense_scenario;
use crate::service::SCHOOL;

#[tokio::test]
async fn importing_twice_changes_nothing() {
    let scenario = dense_scenario("{}", 3);
    for db in backends().await {
        import(&db.store, &scenario).await;
        let first = dump(&db.store).await;
        assert!(
            first
                .iter()
                .filter(|row| row.starts_with("students:"))
                .count()
                == 60
        );
        assert!(
            first.iter().any(|row| row.starts_with("reminders:")),
            "sent keys are recorded"
        );
        let report = db
            .store
            .import(
                &scenario,
                parse_instant("2026-11-02T00:00:00Z").unwrap(),
                &|_| {},
            )
            .await
            .unwrap();
        assert_eq!(
            (report.students, report.sessions, report.sent),
            (60, 150, 0),
            "{}",
            db.name
        );
        assert_eq!(
            dump(&db.store).await,
            first,
            "{}: a second import changed the database",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn an_import_that_fails_writes_nothing() {
    let good = Scenario::from_json(SCHOOL).unwrap();
    for db in backends().await {
        import(&db.store, &good).await;
        let before = dump(&db.store).await;

        // A value the database cannot hold exactly is refused before anything is written.
        let mut fine = good.clone();
        fine.students[0].first_name = "Changed".into();
        fine.sessions[0].starts_at = parse_instant("2026-11-27T14:00:00.123456789Z").unwrap();
        let err = db
            .store
            .import(
                &fine,
                parse_instant("2026-11-02T00:00:00Z").unwrap(),
                &|_| {},
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SqlError::Unstorable { path, .. } if path == "sessions[0].starts_at"),
            "{err}"
        );
        assert_eq!(dump(&db.store).await, before, "{}", db.name);

        // A failure in the middle of the transaction (a session of a student the database
        // does not hold, past validation) rolls the students already written back.
        let mut broken = good.clone();
        broken.students[0].first_name = "Changed".into();
        broken.sessions.push(Session {
            id: SessionId::new(999).unwrap(),
            student_id: StudentId::new(4242).unwrap(),
            ..good.sessions[0].clone()
        });
        let err = db
            .store
            .import(
                &broken,
                parse_instant("2026-11-02T00:00:00Z").unwrap(),
                &|_| {},
            )
            .await;
        assert!(
            matches!(err, Err(SqlError::Query(_))),
            "{}: {err:?}",
            db.name
        );
        assert_eq!(
            dump(&db.store).await,
            before,
            "{}: a failed import left rows behind",
            db.name
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn progress_is_reported_up_to_the_total() {
    let scenario = dense_scenario("{}", 5);
    let db = crate::harness::sqlite().await;
    let seen = std::sync::Mutex::new(Vec::new());
    db.store
        .import(
            &scenario,
            parse_instant("2026-11-02T00:00:00Z").unwrap(),
            &|p| seen.lock().unwrap().push(p),
        )
        .await
        .unwrap();
    let seen = seen.into_inner().unwrap();
    let total = 60 + 20 + 150 + 40 + 3;
    assert_eq!(seen.last().map(|p| (p.done, p.total)), Some((total, total)));
    assert!(seen.windows(2).all(|w| w[0].done < w[1].done));
    db.finish().await;
}

#[tokio::test]
async fn settings_are_stored_and_a_new_default_zone_moves_the_students_who_follow_it() {
    for db in backends().await {
        assert!(db.store.stored_settings().await.unwrap().is_none());
        let paris = Scenario::from_json(SCHOOL).unwrap();
        import(&db.store, &paris).await;
        assert_eq!(
            db.store.stored_settings().await.unwrap(),
            Some(paris.settings.clone())
        );
        // Lucas has no zone of his own: with New York as the default, his inactivity day
        // and his slots move to New York.
        let mut new_york = paris.clone();
        new_york.settings.timezone = rappels_core::domain::Zone::parse("America/New_York").unwrap();
        new_york.students.retain(|s| s.id.get() == 1);
        import(&db.store, &new_york).await;
        let rows = dump(&db.store).await;
        let lucas = rows
            .iter()
            .find(|r| r.starts_with("students: Some(2) "))
            .unwrap();
        assert!(
            lucas.contains("\"America/New_York\""),
            "{}: {lucas}",
            db.name
        );
        db.finish().await;
    }
}

/// Issue 12 item 11: callers opening and migrating one new SQLite file at once (two first
/// imports) all succeed: the second waits for the first's migrations, then finds them applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations_of_a_new_sqlite_file_all_succeed() {
    const CALLERS: usize = 8;
    for trial in 0..5 {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("rappels.db").display());
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CALLERS));
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let store = rappels_sqlx::SqlStore::connect(&url.parse()?).await?;
                    let migrated = store.migrate().await;
                    store.close().await;
                    migrated
                })
            })
            .collect();
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                panic!("trial {trial}: {e}");
            }
        }
    }
}

/// The import's temporary tables are its own: a table of the platform that happens to bear
/// one of their names (`import_students`) survives a full import and its dry run.
#[tokio::test]
async fn a_table_named_like_the_imports_temporary_ones_survives() {
    use rappels_sqlx::{ImportMode, ImportOptions};
    for db in backends().await {
        let execute = async |sql: &'static str| match &db.store {
            SqlStore::Sqlite(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
            SqlStore::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        };
        execute("CREATE TABLE import_students (id BIGINT)").await;
        execute("INSERT INTO import_students (id) VALUES (42)").await;
        let scenario = Scenario::from_json(SCHOOL).unwrap();
        for dry_run in [true, false] {
            let options = ImportOptions {
                mode: ImportMode::Full,
                dry_run,
            };
            db.store
                .import_with(
                    &scenario,
                    parse_instant("2026-11-26T00:00:00Z").unwrap(),
                    options,
                    &|_| {},
                )
                .await
                .unwrap();
        }
        let kept: i64 = match &db.store {
            SqlStore::Sqlite(pool) => sqlx::query_scalar("SELECT id FROM import_students")
                .fetch_one(pool)
                .await
                .unwrap(),
            SqlStore::Postgres(pool) => sqlx::query_scalar("SELECT id FROM import_students")
                .fetch_one(pool)
                .await
                .unwrap(),
        };
        assert_eq!(kept, 42, "{}", db.name);
        db.finish().await;
    }
}
