//! SQLite and PostgreSQL stores for rappels.
//!
//! `rappels-core` plans from a window of candidates; this crate answers the candidate
//! questions with indexed SQL — sessions starting on the local days that can be due,
//! students whose stored local date of last activity hits the inactivity ladder, subscribed
//! students of a zone whose weekly digest is due — so planning a platform of a million
//! students reads what is due, not a million rows. It also keeps the reminder log, the
//! table that makes delivery exactly-once:
//!
//! - recording a due reminder is `INSERT … ON CONFLICT (reminder_key) DO NOTHING`, so two
//!   runners planning the same instant record it once;
//! - sending starts with a claim: one `UPDATE … RETURNING` that marks pending rows `sending`
//!   with a lease (owner, expiry), under `FOR UPDATE SKIP LOCKED` on PostgreSQL and SQLite's
//!   single writer, so no two runners hold the same row; a crashed runner's rows are taken
//!   over once its lease ends;
//! - every outcome is written only if the lease is still held by the same owner.
//!
//! SQLite is the embedded default (a file, WAL, a busy timeout); PostgreSQL serves
//! platforms that run several runners. Both share the SQL of every query; only the schema
//! files and the claim's lock clause differ.

#![deny(missing_docs)]

mod bulk;
mod convert;
mod database_url;
mod engine;
mod redact;
mod sql;

pub use database_url::DatabaseUrl;
pub use redact::{holds_secret, redact_url};
pub use sql::{check_change_storable, check_storable};

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::{Family, Kind, ManualId, Parent, ParentId, Session, StudentId, Zone};
use rappels_core::permissions::HistoryScope;
use rappels_core::plan::PlanWindow;
use rappels_core::ports::{
    Claim, History, LogEntry, ManualContext, NewManualRequest, NewReminder, Outcome, PlanInput,
    PlanParts, Platform, Recorded, ReminderLog, ScheduleInput, Stats, StoreError, WeeklyDue,
};
use rappels_core::scenario::Scenario;
use rappels_core::schedule::NewSession;
use rappels_core::settings::Settings;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

use crate::engine::Engine;
use crate::sql::Sql;

/// A reminder of the log with the message kept for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The history line.
    pub entry: rappels_core::ports::LogEntry,
    /// Its kind.
    pub kind: Kind,
    /// The text part as sent (empty before the first attempt).
    pub text: String,
    /// The HTML part as sent.
    pub html: String,
    /// The locale it was written in.
    pub locale: String,
}

/// A student's opt-outs, by who recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preferences {
    /// The platform's (`opt_out` of the imports and the feed).
    pub platform: rappels_core::domain::OptOuts,
    /// rappels' own (unsubscribe links, the preference page).
    pub own: rappels_core::domain::OptOuts,
}

impl Preferences {
    /// True when the student receives `family`.
    pub fn receives(&self, family: Family) -> bool {
        !self.platform.excludes(family) && !self.own.excludes(family)
    }
}

/// The figures of the analytics page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analytics {
    /// Reminders sent, per local day and kind.
    pub sent: std::collections::BTreeMap<(chrono::NaiveDate, Kind), u64>,
    /// Delivery errors of the reminders not sent, by the server's reply, most frequent
    /// first (at most 20).
    pub errors: Vec<(String, u64)>,
    /// Students who opted out, per family (session, inactivity, weekly).
    pub opt_outs: Vec<(Family, u64)>,
}

/// A failure of the SQL store. Each message already includes the driver's words, so the
/// driver's error is kept as data, not as a `source()` that would print it twice.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The URL names no backend this crate serves.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot connect to {url}: {cause}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// The driver's error.
        cause: sqlx::Error,
    },
    /// The database exists but its schema was never created.
    #[error(
        "the database has no rappels schema yet: run `rappels migrate` (or `rappels import FILE`)"
    )]
    NotMigrated,
    /// The migrations failed.
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(sqlx::Error),
    /// A stored row does not hold a valid value (edited by hand, or a bug).
    #[error("invalid data in the database: {0}")]
    Corrupt(String),
    /// A scenario value the database cannot store exactly.
    #[error("{path}: {message}")]
    Unstorable {
        /// The record, as in scenario errors (`students[3].last_activity_at`).
        path: String,
        /// Why.
        message: String,
    },
    /// The database holds no settings: nothing was imported yet.
    #[error("the database holds no settings yet: import a scenario first (rappels import FILE)")]
    NoSettings,
}

impl From<sqlx::Error> for SqlError {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL's undefined_table, SQLite's "no such table": the schema is missing.
        let missing_table = matches!(&e, sqlx::Error::Database(db)
            if db.code().as_deref() == Some("42P01") || db.message().starts_with("no such table"));
        if missing_table {
            SqlError::NotMigrated
        } else {
            SqlError::Query(e)
        }
    }
}

impl From<sqlx::migrate::MigrateError> for SqlError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        SqlError::Migrate(e)
    }
}

impl From<SqlError> for StoreError {
    /// Keeps what the caller can act on: a database not set up, one that is busy or out of
    /// reach (worth retrying), a refused write, invalid stored data; the rest is `Backend`.
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::NotMigrated | SqlError::NoSettings => StoreError::NotReady(e.to_string()),
            SqlError::Connect { .. } => StoreError::Unavailable(e.to_string()),
            SqlError::Corrupt(what) => StoreError::Corrupt(what),
            SqlError::Query(ref cause) => match cause {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    StoreError::Unavailable(e.to_string())
                }
                sqlx::Error::Database(db) if busy(db.as_ref()) => {
                    StoreError::Unavailable(e.to_string())
                }
                sqlx::Error::Database(db)
                    if db.constraint().is_some() || constraint(db.as_ref()) =>
                {
                    StoreError::Constraint(e.to_string())
                }
                _ => StoreError::Backend(e.to_string()),
            },
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// Takes the exclusive lock that serialises migrations on the SQLite file of `pool`
/// (released when the returned file is dropped); `None` for an in-memory database.
async fn migration_lock(pool: &SqlitePool) -> Result<Option<std::fs::File>, SqlError> {
    setup_lock(pool.connect_options().get_filename()).await
}

/// The exclusive lock on `<db>-migrate.lock` beside the SQLite file `db`, which serialises
/// what two processes must not do at once on a file: creating it and switching it to WAL
/// (SQLite answers "database is locked" to the second at once, without waiting), and
/// migrating it. `None` for an in-memory database.
async fn setup_lock(db: &std::path::Path) -> Result<Option<std::fs::File>, SqlError> {
    let db = db.to_owned();
    if db.as_os_str().is_empty() || db.as_os_str() == ":memory:" {
        return Ok(None);
    }
    let mut name = db.into_os_string();
    name.push("-migrate.lock");
    let path = std::path::PathBuf::from(name);
    // Waiting for the lock blocks a thread: a thread of its own, not the runtime's.
    let (send, receive) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        let locked = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .and_then(|file| file.lock().map(|()| file));
        let _ = send.send(locked);
    });
    let io = |e: std::io::Error| SqlError::Query(sqlx::Error::Io(e));
    let locked = receive.await.map_err(|e| io(std::io::Error::other(e)))?;
    locked.map(Some).map_err(io)
}

/// SQLite's SQLITE_BUSY (5) and SQLITE_LOCKED (6), PostgreSQL's lock_not_available,
/// serialization_failure and deadlock_detected: another writer held the database.
fn busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(
        db.code().as_deref(),
        Some("5" | "6" | "55P03" | "40001" | "40P01")
    )
}

/// A write the schema refused (unique, foreign key, not null, check).
fn constraint(db: &dyn sqlx::error::DatabaseError) -> bool {
    !matches!(db.kind(), sqlx::error::ErrorKind::Other)
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// What an import wrote: the records of the file per table, and what that changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Students in the file.
    pub students: usize,
    /// Parents in the file.
    pub parents: usize,
    /// Sessions in the file.
    pub sessions: usize,
    /// Study plans in the file.
    pub study_plans: usize,
    /// Manual requests in the file.
    pub manual: usize,
    /// `sent` keys newly recorded in the log.
    pub sent: usize,
    /// What the import added, changed and removed, per kind of record.
    pub changes: ImportChanges,
}

/// How an import treats the records the database holds and the file does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImportMode {
    /// Adds and updates the file's records; keeps every other record (the file may be a
    /// part of the school).
    #[default]
    Merge,
    /// The file is the whole school: students, parents, parent–child links, sessions and
    /// study plans it does not hold are removed, in the same transaction. Manual requests
    /// (which parents also make through rappels) and the reminder log (history) stay.
    Full,
}

/// What an import does besides writing the file's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Merge or full.
    pub mode: ImportMode,
    /// Count what the import would change, and write nothing.
    pub dry_run: bool,
}

/// Records of one kind an import added, changed (a stored record the file says otherwise)
/// and removed (full mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Records the database did not hold.
    pub added: usize,
    /// Records it held otherwise.
    pub changed: usize,
    /// Records it held and the file does not (full mode; for links, also the children a
    /// parent of the file no longer has).
    pub removed: usize,
}

/// [`Changes`] per kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportChanges {
    /// Students.
    pub students: Changes,
    /// Parents.
    pub parents: Changes,
    /// Parent–child links.
    pub links: Changes,
    /// Sessions.
    pub sessions: Changes,
    /// Study plans.
    pub study_plans: Changes,
    /// Manual requests (never removed).
    pub manual: Changes,
}

/// Progress of an import, reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    /// Records written so far, all tables together.
    pub done: usize,
    /// Records to write.
    pub total: usize,
}

/// How the database means to run one of the planner's queries (`SqlStore::explain_planner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// Which query, and for which zone or date.
    pub query: String,
    /// The database's plan, one step a line: SQLite's `EXPLAIN QUERY PLAN` (nested steps
    /// indented) or PostgreSQL's `EXPLAIN`.
    pub plan: Vec<String>,
}

impl QueryPlan {
    /// The steps that read a whole table or a whole index rather than a range of an
    /// index: SQLite's `SCAN table` (with or without `USING … INDEX`: SQLite says `SEARCH`
    /// for a range), PostgreSQL's `Seq Scan`. A planner query that costs what is due has
    /// none on the big tables.
    ///
    /// SQLite also says `SCAN name` for reading the rows of a `WITH` query it computed
    /// itself (its `CO-ROUTINE name` or `MATERIALIZE name`): those are not tables.
    pub fn full_scans(&self) -> Vec<&str> {
        let computed: Vec<&str> = self
            .plan
            .iter()
            .filter_map(|line| {
                let line = line.trim();
                line.strip_prefix("CO-ROUTINE ")
                    .or_else(|| line.strip_prefix("MATERIALIZE "))
            })
            .collect();
        self.plan
            .iter()
            .map(|line| line.trim())
            .filter(|line| {
                line.contains("Seq Scan")
                    || line.strip_prefix("SCAN ").is_some_and(|scanned| {
                        let name = scanned.split(' ').next().unwrap_or_default();
                        name != "CONSTANT" && !computed.contains(&name)
                    })
            })
            .collect()
    }
}

/// A store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub enum SqlStore {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match $self {
            SqlStore::Sqlite(pool) => Sql::<Sqlite>::$f(pool $(, $arg)*).await,
            SqlStore::Postgres(pool) => Sql::<Postgres>::$f(pool $(, $arg)*).await,
        }
    };
}

impl SqlStore {
    /// Opens the database named by `url`: `sqlite://path/to/rappels.db` (created if missing,
    /// in WAL mode with a busy timeout) or `postgres://user@host/db`.
    pub async fn connect(url: &DatabaseUrl) -> Result<SqlStore, SqlError> {
        Self::open(url, true).await
    }

    /// Opens an existing database only: a mistyped SQLite path is an error rather than a
    /// new empty file (for commands that only read).
    pub async fn connect_existing(url: &DatabaseUrl) -> Result<SqlStore, SqlError> {
        Self::open(url, false).await
    }

    async fn open(url: &DatabaseUrl, create: bool) -> Result<SqlStore, SqlError> {
        let failed = |cause| SqlError::Connect {
            url: url.to_string(),
            cause,
        };
        if url.backend() == Backend::Sqlite {
            let options = SqliteConnectOptions::from_str(url.expose())
                .map_err(failed)?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // A plan reads its candidates' rows through indexes spread over the whole
                // file: with SQLite's default 2 MiB page cache every page is read again with
                // a system call and a copy; 64 MiB keeps the index pages a plan revisits.
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                // SQLite runs on a thread of its own that hands rows over a bounded channel;
                // with the default 50 rows it stops and wakes the reader every few rows, and
                // those thread switches cost more than reading the rows.
                .row_buffer_size(4096);
            // One connection: SQLite has one writer, and writers of one process waiting on
            // each other through the busy timeout sleep in steps of up to 100 ms, which
            // stalls a run whose planner, senders and recorder all write. Queued on the
            // pool, they take turns without sleeping; other processes still wait on the
            // busy timeout. No query holds the connection across an await on another.
            // A file that may be created is opened under the setup lock: two first commands
            // on a new file would otherwise race to create it and switch it to WAL.
            let _lock = match create {
                true => setup_lock(options.get_filename()).await?,
                false => None,
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(failed)?;
            Ok(SqlStore::Sqlite(pool))
        } else {
            let options = PgConnectOptions::from_str(url.expose()).map_err(failed)?;
            // One direct attempt first: a pool would retry until its timeout and then report
            // only "timed out", hiding "connection refused" or "password authentication failed".
            PgConnection::connect_with(&options)
                .await
                .map_err(failed)?
                .close()
                .await
                .map_err(failed)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(failed)?;
            Ok(SqlStore::Postgres(pool))
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            SqlStore::Sqlite(_) => Backend::Sqlite,
            SqlStore::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the pending migrations (embedded in the binary).
    ///
    /// PostgreSQL's migrator serialises concurrent callers with an advisory lock; SQLite's
    /// has none, and two first imports on a new file both created the tables. On SQLite the
    /// migrations run under an exclusive lock on a file beside the database
    /// (`<file>-migrate.lock`), so a second caller waits, then finds them applied.
    pub async fn migrate(&self) -> Result<(), SqlError> {
        let _lock = match self {
            SqlStore::Sqlite(pool) => migration_lock(pool).await?,
            SqlStore::Postgres(_) => None,
        };
        match self {
            SqlStore::Sqlite(pool) => Sqlite::migrate(pool).await,
            SqlStore::Postgres(pool) => Postgres::migrate(pool).await,
        }
    }

    /// The stored settings: those of the last import or of the last `save_settings`,
    /// whichever came later; `None` before either.
    pub async fn stored_settings(&self) -> Result<Option<Settings>, SqlError> {
        dispatch!(self, load_settings())
    }

    /// Calls `each` with every stored address and its owner — `("student", id, email)` or
    /// `("parent", id, email)` — in the order of owner and id, streaming the rows so that a
    /// check such as `rappels doctor`'s holds one address at a time, whatever the school's
    /// size. Returns how many there were.
    pub async fn for_each_address(
        &self,
        mut each: impl FnMut(&'static str, i64, &str) + Send,
    ) -> Result<u64, SqlError> {
        use futures::TryStreamExt;
        const SQL: &str = "SELECT 0 AS kind, id, email FROM students \
                           UNION ALL SELECT 1 AS kind, id, email FROM parents ORDER BY 1, 2";
        let mut count = 0;
        let mut visit = |(kind, id, email): (i32, i64, String)| {
            count += 1;
            each(if kind == 0 { "student" } else { "parent" }, id, &email);
        };
        match self {
            SqlStore::Sqlite(pool) => {
                let mut rows = sqlx::query_as(SQL).fetch(pool);
                while let Some(row) = rows.try_next().await.map_err(SqlError::Query)? {
                    visit(row);
                }
            }
            SqlStore::Postgres(pool) => {
                let mut rows = sqlx::query_as(SQL).fetch(pool);
                while let Some(row) = rows.try_next().await.map_err(SqlError::Query)? {
                    visit(row);
                }
            }
        }
        Ok(count)
    }

    /// Makes `settings` the stored settings, in one transaction, and returns whether they
    /// changed: `false` when the stored ones were already equal, and then nothing is written.
    ///
    /// A caller may overlay its own settings (a configuration file, say) on those of the last
    /// import; saving the result keeps the database consistent with the settings in force.
    /// The plan queries select students by columns derived from the default zone — their
    /// zone and the local day of their last activity — so when `settings.timezone` moves,
    /// the students without a zone of their own are recomputed in the same transaction, as
    /// an import that changes it does; on any error nothing is written.
    pub async fn save_settings(&self, settings: &Settings) -> Result<bool, SqlError> {
        dispatch!(self, save_settings(settings))
    }

    /// Imports a validated scenario in one transaction, in merge mode: every record is
    /// upserted by id (so importing twice changes nothing), `sent` keys are recorded as
    /// already sent, the scenario's settings are stored as `save_settings` stores them, and
    /// on any error nothing is written. `progress` is called after each batch.
    pub async fn import(
        &self,
        scenario: &Scenario,
        now: DateTime<Utc>,
        progress: &(dyn Fn(ImportProgress) + Sync),
    ) -> Result<ImportReport, SqlError> {
        self.import_with(scenario, now, ImportOptions::default(), progress)
            .await
    }

    /// [`SqlStore::import`] with a mode (merge, or full: what the file does not hold
    /// leaves the plan) and, with `dry_run`, nothing written: the report says what the
    /// import would add, change and remove.
    pub async fn import_with(
        &self,
        scenario: &Scenario,
        now: DateTime<Utc>,
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Sync),
    ) -> Result<ImportReport, SqlError> {
        check_storable(scenario)?;
        dispatch!(self, import(scenario, now, options, progress))
    }

    /// Applies the platform's changes (`rappels_core::changes`, each with its line number)
    /// in one transaction: on an error of the database nothing is written. A change that
    /// names a record not stored (a session of an unknown student, a deletion of what is
    /// gone) writes nothing and is listed in the report; applying the same changes again
    /// writes nothing new. What changed reaches the next run: reminders recorded for data
    /// that no longer wants them are cancelled when they are about to be sent.
    pub async fn apply_changes(
        &self,
        changes: &[(usize, rappels_core::changes::Change)],
    ) -> Result<rappels_core::changes::ApplyReport, SqlError> {
        for (line, change) in changes {
            check_change_storable(change).map_err(|e| match e {
                SqlError::Unstorable { path, message } => SqlError::Unstorable {
                    path: format!("line {line}: {path}"),
                    message,
                },
                other => other,
            })?;
        }
        dispatch!(self, apply_changes(changes))
    }

    /// How the database runs every query of planning at `window` — those of
    /// [`Platform::plan_parts`] and of [`Platform::plan_input`] — with the window's real
    /// parameters, for benchmarks and for checking that each reads an index. Queries that
    /// take a list of ids are shown with the ids of the first part their candidates make.
    /// It reads the candidates of that first part, nothing more.
    pub async fn explain_planner(
        &self,
        window: &PlanWindow,
        settings: &Settings,
    ) -> Result<Vec<QueryPlan>, SqlError> {
        dispatch!(self, explain_planner(window, settings))
    }

    /// Redeems a sign-in link ([`rappels_core::login::LoginLink`]): true the first time its
    /// nonce is seen, false ever after (until the link has expired, when no one can use it
    /// anyway and the nonce is forgotten). Checking the link's signature and expiry is the
    /// caller's, before this.
    pub async fn redeem_login_link(
        &self,
        link: &rappels_core::login::LoginLink,
        now: DateTime<Utc>,
    ) -> Result<bool, SqlError> {
        let nonce = format!("{:032x}", link.nonce);
        let expires_at = link.expires_at.timestamp();
        dispatch!(
            self,
            redeem_login_nonce(&nonce, expires_at, now.timestamp())
        )
    }

    /// The reminder recorded under `key` (as `ReminderKey`'s text), with the message the log
    /// kept for it; `None` when there is none. Who may read it is for
    /// [`rappels_core::permissions::history_scope`] to say, with `entry.student`.
    pub async fn stored_message(&self, key: &str) -> Result<Option<StoredMessage>, SqlError> {
        dispatch!(self, stored_message(key))
    }

    /// The message of the last reminder of `kind` that was sent, for a test send.
    pub async fn latest_message(&self, kind: Kind) -> Result<Option<StoredMessage>, SqlError> {
        dispatch!(self, latest_message(kind))
    }

    /// A student's opt-outs: the platform's (from imports and the feed) and those recorded
    /// by rappels (unsubscribe links, the preference page); `None` for an unknown student.
    pub async fn preferences(&self, student: StudentId) -> Result<Option<Preferences>, SqlError> {
        dispatch!(self, preferences(student))
    }

    /// Takes `family` out of the opt-outs rappels recorded for `student` (the preference
    /// page's "receive again"); the platform's own opt-outs stay, as the platform owns them.
    /// `None` for an unknown student, else whether anything changed.
    pub async fn opt_in(
        &self,
        student: StudentId,
        family: Family,
    ) -> Result<Option<bool>, SqlError> {
        dispatch!(self, opt_in(student, family))
    }

    /// The figures of the analytics page since `since`: reminders sent per local day (days
    /// of the zone whose UTC offset is `offset_seconds`) and kind, delivery errors grouped by
    /// the server's reply, opt-outs by family.
    pub async fn analytics(
        &self,
        since: DateTime<Utc>,
        offset_seconds: i64,
    ) -> Result<Analytics, SqlError> {
        dispatch!(self, analytics(since, offset_seconds))
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match self {
            SqlStore::Sqlite(pool) => pool.close().await,
            SqlStore::Postgres(pool) => pool.close().await,
        }
    }
}

#[async_trait]
impl Platform for SqlStore {
    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(self.stored_settings().await?.ok_or(SqlError::NoSettings)?)
    }

    async fn zones(&self, _settings: &Settings) -> Result<Vec<Zone>, StoreError> {
        Ok(dispatch!(self, zones())?)
    }

    async fn plan_input(
        &self,
        window: &PlanWindow,
        settings: &Settings,
    ) -> Result<PlanInput, StoreError> {
        Ok(dispatch!(self, plan_input(window, settings))?)
    }

    async fn plan_parts(
        &self,
        window: &PlanWindow,
        settings: &Settings,
        part_size: usize,
        parts: PlanParts,
    ) -> Result<(), StoreError> {
        Ok(dispatch!(
            self,
            plan_parts(window, settings, part_size, parts)
        )?)
    }

    async fn message_input(&self, reminders: &[NewReminder]) -> Result<PlanInput, StoreError> {
        Ok(dispatch!(self, message_input(reminders))?)
    }

    async fn explain_input(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<PlanInput>, StoreError> {
        Ok(dispatch!(self, explain_input(student, from, until, at))?)
    }

    async fn parent(&self, id: ParentId) -> Result<Option<Parent>, StoreError> {
        Ok(dispatch!(self, parent(id))?)
    }

    async fn manual_context(
        &self,
        parent: ParentId,
        student: StudentId,
        since: DateTime<Utc>,
    ) -> Result<ManualContext, StoreError> {
        Ok(dispatch!(self, manual_context(parent, student, since))?)
    }

    async fn add_manual_request(&self, request: &NewManualRequest) -> Result<ManualId, StoreError> {
        dispatch!(self, add_manual_request(request))?.map_err(StoreError::Refused)
    }

    async fn schedule_input(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ScheduleInput, StoreError> {
        Ok(dispatch!(self, schedule_input(from, until))?)
    }

    async fn add_sessions(&self, sessions: &[NewSession]) -> Result<Vec<Session>, StoreError> {
        Ok(dispatch!(self, add_sessions(sessions))?)
    }

    async fn opt_out(&self, student: StudentId, family: Family) -> Result<bool, StoreError> {
        match dispatch!(self, opt_out(student, family))? {
            Some(changed) => Ok(changed),
            None => Err(StoreError::NotFound {
                what: "student",
                id: student.get(),
            }),
        }
    }
}

#[async_trait]
impl ReminderLog for SqlStore {
    async fn record_due(
        &self,
        reminders: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(dispatch!(self, record_due(reminders, now))?)
    }

    fn records_weekly(&self) -> bool {
        true
    }

    async fn record_weekly(
        &self,
        due: &WeeklyDue,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Recorded) -> bool + Sync),
    ) -> Result<(), StoreError> {
        Ok(dispatch!(self, record_weekly(due, now, progress))?)
    }

    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        Ok(dispatch!(self, claim(owner, now, lease, limit))?)
    }

    async fn complete(
        &self,
        claim: &Claim,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let held = dispatch!(self, complete(claim, outcome, now))?;
        if held {
            Ok(())
        } else {
            Err(StoreError::LeaseLost { id: claim.id })
        }
    }

    async fn complete_many(
        &self,
        outcomes: &[(Claim, Outcome)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        Ok(dispatch!(self, complete_many(outcomes, now))?)
    }

    async fn release(&self, claims: &[Claim], now: DateTime<Utc>) -> Result<(), StoreError> {
        Ok(dispatch!(self, release(claims, now))?)
    }

    async fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(dispatch!(self, next_attempt_at())?)
    }
}

#[async_trait]
impl History for SqlStore {
    async fn history(
        &self,
        scope: &HistoryScope,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        Ok(dispatch!(self, history(scope, limit))?)
    }

    async fn stats(
        &self,
        today_from: DateTime<Utc>,
        period_from: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        Ok(dispatch!(self, stats(today_from, period_from))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scans_are_table_scans_only() {
        let plan = |lines: &[&str]| QueryPlan {
            query: String::new(),
            plan: lines.iter().map(|l| (*l).to_owned()).collect(),
        };
        let zones = plan(&[
            "CO-ROUTINE z",
            "  SETUP",
            "    SEARCH students USING COVERING INDEX students_by_zone",
            "SCAN z",
        ]);
        assert!(zones.full_scans().is_empty());
        let sqlite = plan(&["SCAN s", "SEARCH st USING INTEGER PRIMARY KEY (rowid=?)"]);
        assert_eq!(sqlite.full_scans(), ["SCAN s"]);
        let whole_index = plan(&["SCAN students USING COVERING INDEX students_by_zone"]);
        assert_eq!(whole_index.full_scans().len(), 1);
        let range = plan(&["SEARCH students USING INDEX students_periodic (zone=?)"]);
        assert!(range.full_scans().is_empty());
        let postgres = plan(&[
            "Nested Loop Anti Join  (cost=1.0..2.0 rows=1 width=8)",
            "  ->  Seq Scan on reminders r  (cost=0.00..0.00 rows=1 width=8)",
        ]);
        assert_eq!(
            postgres.full_scans(),
            ["->  Seq Scan on reminders r  (cost=0.00..0.00 rows=1 width=8)"]
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal/rappels"),
            "postgres://app:***@db.internal/rappels"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(redact_url("sqlite://rappels.db"), "sqlite://rappels.db");
    }
}
