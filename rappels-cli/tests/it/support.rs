//! What the command tests share: a database per test (a SQLite file in a temp dir, or a fresh
//! PostgreSQL database when `RAPPELS_TEST_POSTGRES` names a server), the binary with a clean
//! environment, and helpers to run it.

use std::io::Write as _;
use std::path::Path;
use std::process::Output;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection as _;
use tempfile::TempDir;

use crate::rappels;

/// Says once, on the terminal (libtest does not capture a direct write to stderr), that a
/// part of this suite did not run, so a green run cannot be mistaken for a full one.
pub(crate) fn note_once(once: &'static Once, line: &str) {
    once.call_once(|| {
        let _ = writeln!(std::io::stderr(), "{line}");
    });
}

/// A database for one test, removed when dropped (the fields only hold what to remove).
pub(crate) struct TestDb {
    pub(crate) url: String,
    _dir: Option<TempDir>,
    _postgres: Option<PostgresDb>,
}

impl TestDb {
    pub(crate) fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        TestDb {
            url: format!("sqlite://{}", dir.path().join("rappels.db").display()),
            _dir: Some(dir),
            _postgres: None,
        }
    }

    /// A fresh database on the server of `RAPPELS_TEST_POSTGRES`, or `None` (said once) when
    /// it is not set. A server that is set but unreachable fails the test.
    pub(crate) fn postgres() -> Option<TestDb> {
        let db = PostgresDb::create(&postgres_server()?);
        Some(TestDb {
            url: db.url.clone(),
            _dir: None,
            _postgres: Some(db),
        })
    }
}

/// The server of `RAPPELS_TEST_POSTGRES`, or `None` (said once) when it is not set.
pub(crate) fn postgres_server() -> Option<String> {
    static NOTE: Once = Once::new();
    let server = std::env::var("RAPPELS_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty());
    if server.is_none() {
        note_once(
            &NOTE,
            "PostgreSQL CLI tests did not run: set RAPPELS_TEST_POSTGRES=postgres://… to run them",
        );
    }
    server
}

/// A database created on a PostgreSQL server for one test and dropped after it.
struct PostgresDb {
    server: String,
    name: String,
    url: String,
}

impl PostgresDb {
    fn create(server: &str) -> PostgresDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // The process id keeps parallel test binaries apart; a database left by a killed run
        // with the same id is dropped first.
        let name = format!(
            "rappels_cli_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(
            server,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .and_then(|()| admin(server, &format!("CREATE DATABASE {name}")))
        .unwrap_or_else(|e| panic!("RAPPELS_TEST_POSTGRES={server}: {e}"));
        PostgresDb {
            url: with_database(server, &name),
            server: server.to_owned(),
            name,
        }
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin(&self.server, &drop) {
            // Never panic here: this may run while a failed test unwinds.
            let _ = writeln!(std::io::stderr(), "cannot drop {}: {e}", self.name);
        }
    }
}

/// Runs one statement on the server's own database.
fn admin(server: &str, sql: &str) -> Result<(), sqlx::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = sqlx::PgConnection::connect(server).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await?;
            conn.close().await
        })
}

/// `postgres://u@h:5432/test?x=y` with database `name`: `postgres://u@h:5432/name?x=y`.
pub(crate) fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// The configuration variables of rappels, which the environment of whoever runs the tests
/// must not set for them.
const VARIABLES: [&str; 26] = [
    "DATABASE_URL",
    "RAPPELS_CONFIG",
    "RAPPELS_TEMPLATES",
    "RAPPELS_SMTP_POOL_SIZE",
    "RAPPELS_SMTP_TIMEOUT",
    "RAPPELS_TIMEZONE",
    "RAPPELS_SESSION_EVE_TIME",
    "RAPPELS_SESSION_DAY_TIME",
    "RAPPELS_INACTIVITY_TIME",
    "RAPPELS_INACTIVITY_DAYS",
    "RAPPELS_INACTIVITY_REPEAT_DAYS",
    "RAPPELS_WEEKLY_DAY",
    "RAPPELS_WEEKLY_TIME",
    "RAPPELS_GRACE_MINUTES",
    "RAPPELS_MANUAL_MAX_PER_DAY",
    "RAPPELS_DATABASE_URL",
    "RAPPELS_LOG",
    "RAPPELS_MAILER",
    "RAPPELS_SMTP_HOST",
    "RAPPELS_SMTP_PORT",
    "RAPPELS_SMTP_TLS",
    "RAPPELS_SMTP_USER",
    "RAPPELS_SMTP_PASSWORD",
    "RAPPELS_FROM",
    "RAPPELS_SITE_URL",
    "RAPPELS_SECRET",
];

/// The binary, with no configuration from the environment of whoever runs the tests.
pub(crate) fn cli() -> assert_cmd::Command {
    let mut cmd = rappels();
    for name in VARIABLES {
        cmd.env_remove(name);
    }
    cmd
}

pub(crate) fn on(db: &TestDb, args: &[&str]) -> Output {
    cli()
        .args(args)
        .args(["--database-url", &db.url])
        .output()
        .unwrap()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

pub(crate) fn succeeded(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}, stderr: {}",
        out.status.code(),
        stderr(&out)
    );
    stdout(&out)
}

pub(crate) fn import(db: &TestDb, file: &Path) -> String {
    succeeded(
        on(db, &["import", file.to_str().unwrap()]),
        &format!("import {}", file.display()),
    )
}

pub(crate) fn plan_db(db: &TestDb, at: &str) -> String {
    succeeded(
        on(db, &["plan", "--db", "--at", at]),
        &format!("plan --db at {at}"),
    )
}

/// The subjects of a printed plan's due reminders, in order.
pub(crate) fn due_subjects(plan: &serde_json::Value) -> Vec<&str> {
    plan["due"]
        .as_array()
        .expect("a plan has a due list")
        .iter()
        .map(|d| {
            d["subject"]
                .as_str()
                .expect("every due reminder has a subject")
        })
        .collect()
}
