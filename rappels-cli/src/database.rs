//! The database the commands talk to: which URL, the runtime to reach it, and how its
//! failures map to exit statuses.

use std::future::Future;

use clap::Args;
use rappels_core::clock::Clock;
use rappels_core::service::Reminders;
use rappels_core::settings::Settings;
use rappels_sqlx::{DatabaseUrl, SqlError, SqlStore};

use crate::config::{self, Config, Values, env_var};
use crate::failure::Failure;
use crate::variables::DEFAULT_URL;

/// The generic variable many tools read, taken after every place that names a database
/// for rappels itself: a `DATABASE_URL` set for another program on the same host must not
/// win over `database_url` in rappels.toml.
const GENERIC_URL_VARIABLE: &str = "DATABASE_URL";

/// `--database-url`, shared by the commands that use the database.
#[derive(Debug, Clone, Args)]
pub(crate) struct DatabaseArgs {
    /// Database URL: sqlite://PATH (created if missing) or postgres://USER@HOST/DB. When
    /// absent: $RAPPELS_DATABASE_URL, else database_url in rappels.toml, else $DATABASE_URL,
    /// else sqlite://rappels.db.
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

impl DatabaseArgs {
    /// The URL in force: the flag, then `RAPPELS_DATABASE_URL`, then the configuration
    /// file, then `DATABASE_URL`, then the default.
    ///
    /// The variables are read here rather than with clap's `env` so that a URL holding a
    /// password is never shown by `--help`, several places can be tried in order, and a URL
    /// from the environment does not trip `plan`'s "`--database-url` requires `--db`".
    pub(crate) fn url(&self, config: &Config) -> Result<DatabaseUrl, Failure> {
        let (text, origin) = match &self.database_url {
            Some(url) => (url.clone(), "--database-url".to_owned()),
            None => match config.get(crate::variables::DATABASE_URL)? {
                Some(url) => (url.text, url.origin.to_string()),
                None => match env_var(GENERIC_URL_VARIABLE)? {
                    Some(url) => (url.text, url.origin.to_string()),
                    None => (DEFAULT_URL.to_owned(), "the default".to_owned()),
                },
            },
        };
        // The message names where the URL came from: an unparsable one is not shown, as it
        // may hold a password.
        DatabaseUrl::parse(&text).map_err(|error| match error {
            SqlError::UnsupportedUrl(_) => Failure::invalid(format_args!("{origin}: {error}")),
            other => sql_failure(other),
        })
    }
}

/// Runs one database command to completion on a Tokio runtime of the current thread.
///
/// A command is one future (a run's planner, senders and recorder are joined in it, not
/// spawned), so worker threads would only add hand-offs: on a multi-threaded runtime every
/// socket event was seen by a worker, which then woke this thread to poll the future, two
/// thread switches per SMTP reply. On the current thread the future polls its own sockets;
/// SQLite still runs on sqlx's thread, and the file mailer writes on the blocking pool.
/// Measured: 3,521 → 5,033 e-mails/s at 10 connections (BENCHMARKS.md).
pub(crate) fn block_on<T>(work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(anyhow::anyhow!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

/// Opens the database at `url`, creating a SQLite file if there is none.
pub(crate) async fn connect(url: &DatabaseUrl) -> Result<SqlStore, Failure> {
    let store = SqlStore::connect(url).await.map_err(sql_failure)?;
    tracing::debug!(%url, backend = ?store.backend(), "connected");
    Ok(store)
}

/// Opens an existing database at `url`, for commands that only read.
pub(crate) async fn connect_existing(url: &DatabaseUrl) -> Result<SqlStore, Failure> {
    let store = SqlStore::connect_existing(url).await.map_err(sql_failure)?;
    tracing::debug!(%url, backend = ?store.backend(), "connected");
    Ok(store)
}

/// A store failure as a command failure: what the user must fix (an unsupported URL, a
/// value the database cannot hold, nothing imported yet) exits 2, the rest exits 1. Every
/// message of `SqlError` already names the record or the redacted URL.
pub(crate) fn sql_failure(error: SqlError) -> Failure {
    match error {
        SqlError::UnsupportedUrl(_)
        | SqlError::Unstorable { .. }
        | SqlError::NoSettings
        | SqlError::NotMigrated => Failure::invalid(error),
        SqlError::Connect { .. }
        | SqlError::Migrate(_)
        | SqlError::Query(_)
        | SqlError::Corrupt(_) => Failure::Failed(message_only(&error)),
    }
}

/// The error's own message, which already carries the driver's words.
fn message_only(error: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

/// The settings in force: the database's, which every command and every runner sharing the
/// database plan with. They change only by an explicit write — `import`, `init` or
/// `rappels settings apply`, each logged — never as a side effect of another command, so
/// reading commands write nothing and two runners cannot silently overwrite each other's.
///
/// A configuration (file or `RAPPELS_*` variables) whose settings keys differ from the
/// database's is refused (exit 2), naming the keys and how to apply them: a runner never
/// plans with hours other than the ones it was configured with. A database never migrated
/// or never imported is named as such (exit 2) rather than reported as a failed query.
pub(crate) async fn settings_in_force(
    store: &SqlStore,
    config: &Config,
) -> Result<Settings, Failure> {
    let stored = stored_settings(store).await?;
    let wanted = config.settings().apply(&stored)?;
    if wanted != stored {
        return Err(Failure::invalid(format_args!(
            "the configuration's settings differ from the database's ({}): run `rappels \
             settings apply` to make them the database's (every runner of this database will \
             use them), or remove them from the configuration",
            config::settings_changes(&stored, &wanted).join(", ")
        )));
    }
    Ok(stored)
}

/// The settings the database holds; a database never imported is an error (exit 2).
pub(crate) async fn stored_settings(store: &SqlStore) -> Result<Settings, Failure> {
    store
        .stored_settings()
        .await
        .map_err(sql_failure)?
        .ok_or_else(|| sql_failure(SqlError::NoSettings))
}

/// An engine over `store` for the commands that only read the log. The settings are read
/// first so that a database never migrated or never imported is named as such rather than
/// as a failed query, and a configuration at odds with the database is refused.
pub(crate) async fn read_only_engine<C: Clock>(
    store: &SqlStore,
    config: &Config,
    clock: C,
) -> Result<Reminders<SqlStore, C>, Failure> {
    settings_in_force(store, config).await?;
    Ok(Reminders::new(store.clone(), clock))
}

/// A failure of the engine reading the reminder log of the database at `url`.
pub(crate) fn log_failure(
    error: rappels_core::service::ServiceError,
    url: &DatabaseUrl,
) -> Failure {
    crate::failure::service_failure(error, format_args!("cannot read the reminder log of {url}"))
}
