//! Fresh databases for each test, on every backend the environment offers.

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use rappels_core::scenario::Scenario;
use rappels_sqlx::SqlStore;
use sqlx::{PgPool, Row};

/// The variable that names the PostgreSQL server of the tests.
pub(crate) const POSTGRES_VAR: &str = "RAPPELS_TEST_POSTGRES";

/// A fresh, migrated database for one test.
pub(crate) struct TestDb {
    pub(crate) store: SqlStore,
    pub(crate) url: String,
    pub(crate) name: &'static str,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(PgPool, String)>,
}

impl TestDb {
    /// Another store on the same database (its own pool, so its own connections).
    pub(crate) async fn connect_again(&self) -> SqlStore {
        SqlStore::connect(&self.url.parse().expect("a database URL"))
            .await
            .expect("reconnect to the test database")
    }

    /// Closes the store and drops a PostgreSQL database.
    pub(crate) async fn finish(self) {
        self.store.close().await;
        if let Some((admin, db)) = self.postgres {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .execute(&admin)
            .await
            .expect("drop the test database");
            admin.close().await;
        }
    }
}

fn say_once(once: &'static Once, line: &str) {
    once.call_once(|| {
        // Written to the terminal directly: libtest captures `eprintln!`, not this.
        let _ = writeln!(std::io::stderr(), "{line}");
    });
}

static SKIPPED: Once = Once::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh SQLite database in a temporary folder.
pub(crate) async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}", dir.path().join("rappels.db").display());
    let store = SqlStore::connect(&url.parse().expect("a database URL"))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    TestDb {
        store,
        url,
        name: "sqlite",
        _dir: Some(dir),
        postgres: None,
    }
}

/// A fresh PostgreSQL database on the server named by `RAPPELS_TEST_POSTGRES`, or `None`
/// when the variable is not set. A set variable with an unreachable server fails the test.
pub(crate) async fn postgres() -> Option<TestDb> {
    let Ok(server) = std::env::var(POSTGRES_VAR) else {
        say_once(
            &SKIPPED,
            "note: the PostgreSQL suite of rappels-sqlx did not run: set \
             RAPPELS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test to run it",
        );
        return None;
    };
    let admin = PgPool::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is set but the server cannot be reached: {e}"));
    let db = format!(
        "rappels_it_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    // A run that crashed with the same process id may have left it behind.
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("CREATE DATABASE {db}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .expect("create a test database");
    }
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    let url = format!("{base}/{db}");
    let store = SqlStore::connect(&url.parse().expect("a database URL"))
        .await
        .expect("open the test database");
    store.migrate().await.expect("migrate PostgreSQL");
    Some(TestDb {
        store,
        url,
        name: "postgres",
        _dir: None,
        postgres: Some((admin, db)),
    })
}

/// Every backend available: SQLite always, PostgreSQL when configured.
pub(crate) async fn backends() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    all.extend(postgres().await);
    all
}

/// Every row of every table, as text, in a stable order: to check that something changed
/// nothing.
pub(crate) async fn dump(store: &SqlStore) -> Vec<String> {
    const TABLES: [&str; 8] = [
        "settings",
        "students",
        "parents",
        "parent_children",
        "sessions",
        "study_plans",
        "manual_requests",
        "reminders",
    ];
    let mut out = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT * FROM {table} ORDER BY 1, 2");
        macro_rules! rows {
            ($pool:expr) => {{
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_all($pool)
                    .await
                    .unwrap();
                rows.iter()
                    .map(|row| {
                        let cells: Vec<String> = (0..row.len())
                            .map(|i| {
                                if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                    format!("{v:?}")
                                } else if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
                                    format!("{v:?}")
                                } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                    format!("{v:?}")
                                } else {
                                    format!("{:?}", row.try_get::<Option<bool>, _>(i).unwrap())
                                }
                            })
                            .collect();
                        format!("{table}: {}", cells.join(" | "))
                    })
                    .collect::<Vec<_>>()
            }};
        }
        out.extend(match store {
            SqlStore::Sqlite(pool) => rows!(pool),
            SqlStore::Postgres(pool) => rows!(pool),
        });
    }
    out
}

/// Imports a scenario at a fixed instant, without progress output.
pub(crate) async fn import(store: &SqlStore, scenario: &Scenario) {
    store
        .import(
            scenario,
            rappels_core::domain::parse_instant("2026-11-01T00:00:00Z").unwrap(),
            &|_| {},
        )
        .await
        .expect("import");
}
