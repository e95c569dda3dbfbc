//! What every chaos test needs: the `rappels` binary run as a user's cron would run it
//! (a clean environment, only the variables given), a database of either engine, a
//! generated school, the plan it says is due, and the Message-IDs a server received.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use rappels_smtp::testing::Received;
use sqlx::Connection as _;
use tempfile::TempDir;

/// The instant of the generated school's Sunday digest (gen-scenario --from 2026-11-23):
/// Sunday 29 November 2026, 20:00 in Paris.
pub(crate) const SUNDAY: &str = "2026-11-29T19:00:00Z";

/// The `rappels` binary: `RAPPELS_BIN`, else the one beside this test in the target
/// folder, brought up to date first (cargo builds rappels-cli's binary for the workspace's
/// own tests, but not for `cargo test -p rappels-chaos` alone, which would otherwise run
/// an old one).
pub(crate) fn binary() -> PathBuf {
    static BUILD: Once = Once::new();
    if let Some(path) = std::env::var_os("RAPPELS_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/chaos-… → target/<profile>/rappels
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from the target folder")
        .join(format!("rappels{}", std::env::consts::EXE_SUFFIX));
    BUILD.call_once(|| {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let mut build = Command::new(cargo);
        build.args(["build", "-q", "-p", "rappels-cli", "--bin", "rappels"]);
        if exe.to_string_lossy().contains("/release/") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo builds the rappels binary");
        assert!(status.success(), "cargo build -p rappels-cli failed");
    });
    path
}

/// `rappels ARGS` on `url` with only the variables `env` (and `RUST_BACKTRACE` unset),
/// its standard streams captured.
pub(crate) fn command(url: &str, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RAPPELS_DATABASE_URL", url)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

pub(crate) fn run(url: &str, env: &[(&str, String)], args: &[&str]) -> Output {
    command(url, env, args).output().expect("rappels starts")
}

pub(crate) fn spawn(url: &str, env: &[(&str, String)], args: &[&str]) -> Child {
    command(url, env, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rappels starts")
}

/// The output of a command that must succeed, as text.
pub(crate) fn succeeded(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The variables that send through the SMTP server on `port`, `pool` connections a run.
pub(crate) fn smtp(port: u16, pool: usize) -> Vec<(&'static str, String)> {
    vec![
        ("RAPPELS_MAILER", "smtp".to_owned()),
        ("RAPPELS_SMTP_HOST", "127.0.0.1".to_owned()),
        ("RAPPELS_SMTP_PORT", port.to_string()),
        ("RAPPELS_SMTP_TLS", "none".to_owned()),
        ("RAPPELS_SMTP_POOL_SIZE", pool.to_string()),
        ("RAPPELS_FROM", "École <noreply@example.org>".to_owned()),
    ]
}

/// A database for one test: a SQLite file in a folder of its own, or a database created on
/// the server of `RAPPELS_TEST_POSTGRES` and dropped afterwards.
pub(crate) struct Db {
    pub(crate) url: String,
    pub(crate) name: &'static str,
    _dir: Option<TempDir>,
    postgres: Option<(String, String)>,
}

impl Db {
    pub(crate) fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}", dir.path().join("rappels.db").display()),
            name: "sqlite",
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// `None` (said once on the terminal) when `RAPPELS_TEST_POSTGRES` is not set.
    pub(crate) fn postgres() -> Option<Db> {
        static NOTE: Once = Once::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let Some(server) = std::env::var("RAPPELS_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            NOTE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL chaos tests did not run: set RAPPELS_TEST_POSTGRES=postgres://… to run them"
                );
            });
            return None;
        };
        let name = format!(
            "rappels_chaos_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(
            &server,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
        admin(&server, &format!("CREATE DATABASE {name}"));
        Some(Db {
            url: with_database(&server, &name),
            name: "postgres",
            _dir: None,
            postgres: Some((server, name)),
        })
    }
}

impl Db {
    /// For a PostgreSQL database: its server's URL and its name.
    pub(crate) fn server_and_name(&self) -> Option<(String, String)> {
        self.postgres.clone()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres {
            admin(
                server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// One statement on the server's own database.
pub(crate) fn admin(server: &str, sql: &str) {
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
        .unwrap_or_else(|e| panic!("{sql} on RAPPELS_TEST_POSTGRES: {e}"));
}

/// `postgres://u@h:5432/test?x=y` with database `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let start = base.find("://").map_or(0, |i| i + 3);
    let end = base[start..].find('/').map_or(base.len(), |i| start + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{name}{query}", &base[..end])
}

/// A school of `students` generated by `rappels gen-scenario` (seeded, from Monday 23
/// November 2026), imported into `db`; returns the folder holding the file.
pub(crate) fn school(db: &Db, students: usize) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("school.json");
    let file = file.to_str().unwrap();
    let students = students.to_string();
    succeeded(
        run(
            &db.url,
            &[],
            &[
                "gen-scenario",
                "--students",
                &students,
                "--seed",
                "3",
                "--from",
                "2026-11-23",
                "--out",
                file,
            ],
        ),
        "gen-scenario",
    );
    succeeded(run(&db.url, &[], &["-q", "import", file]), "import");
    dir
}

/// The Message-IDs (without brackets and domain) of what `rappels plan --db` says is due
/// at `at`: the reminder key, colons as dots, as rappels writes them.
pub(crate) fn due(db: &Db, at: &str) -> BTreeSet<String> {
    let plan = succeeded(
        run(
            &db.url,
            &[],
            &["plan", "--db", "--at", at, "--format", "json"],
        ),
        "plan --db",
    );
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let text = |field: &str| match &d[field] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match text("kind").as_str() {
                "manual" => format!("manual.{}", text("manual_id")),
                "session_eve" | "session_day" => format!(
                    "{}.{}.{}.{}",
                    text("kind"),
                    text("student_id"),
                    text("session_id"),
                    text("slot_date")
                ),
                _ => format!(
                    "{}.{}.{}",
                    text("kind"),
                    text("student_id"),
                    text("slot_date")
                ),
            }
        })
        .collect()
}

/// The key part of the Message-ID of each message received, in order of arrival.
pub(crate) fn received_ids(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|m| {
            let mail = mailparse::parse_mail(&m.data).expect("a parsable message");
            let id =
                mailparse::MailHeaderMap::get_first_value(mail.headers.as_slice(), "Message-ID")
                    .expect("a Message-ID");
            id.trim_matches(['<', '>'])
                .split_once('@')
                .map_or(id.clone(), |(key, _)| key.to_owned())
        })
        .collect()
}

/// `rappels stats` as JSON, over all time.
pub(crate) fn stats(db: &Db) -> serde_json::Value {
    let out = succeeded(
        run(
            &db.url,
            &[],
            &["stats", "--days", "36500", "--format", "json"],
        ),
        "stats",
    );
    serde_json::from_str(&out).unwrap()
}

/// Checks the end state every scenario promises: the server received each key of
/// `expected` and nothing else, none more than twice and at most `repeats_at_most` of them
/// twice (what a crash may repeat; 0 where nothing crashed), and the log says sent for each
/// and holds nothing pending.
pub(crate) fn assert_delivered_once(
    db: &Db,
    received: &[Received],
    expected: &BTreeSet<String>,
    repeats_at_most: usize,
) {
    let received = received_ids(received);
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &received {
        *times.entry(id.as_str()).or_default() += 1;
    }
    let distinct: BTreeSet<String> = times.keys().map(|k| (*k).to_owned()).collect();
    assert_eq!(&distinct, expected, "{}: delivered ≠ due", db.name);
    let repeated: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.iter().all(|(_, n)| **n == 2) && repeated.len() <= repeats_at_most,
        "{}: {} delivered twice (at most {repeats_at_most} may be): {repeated:?}",
        db.name,
        repeated.len()
    );
    let stats = stats(db);
    assert_eq!(
        (stats["sent_in_period"].as_u64(), stats["pending"].as_u64()),
        (Some(expected.len() as u64), Some(0)),
        "{}: the log says sent for each: {stats}",
        db.name
    );
}
