//! The database the commands talk to: which URL, the runtime to reach it, and how its
//! failures map to exit statuses.

use std::future::Future;

use clap::Args;
use rappels_sqlx::{SqlError, SqlStore, redact_url};

use crate::failure::Failure;

/// The embedded default: a SQLite file in the working directory, which needs no server.
pub(crate) const DEFAULT_URL: &str = "sqlite://rappels.db";

/// The environment variables read when `--database-url` is absent, most specific first: a
/// `DATABASE_URL` set for another tool must not win over one set for rappels.
const URL_VARIABLES: [&str; 2] = ["RAPPELS_DATABASE_URL", "DATABASE_URL"];

/// `--database-url`, shared by the commands that use the database.
#[derive(Debug, Clone, Args)]
pub(crate) struct DatabaseArgs {
    /// Database URL: sqlite://PATH (created if missing) or postgres://USER@HOST/DB. When
    /// absent: $RAPPELS_DATABASE_URL, else $DATABASE_URL, else sqlite://rappels.db.
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

impl DatabaseArgs {
    /// The URL in force: the flag, then the environment, then the default.
    ///
    /// The variables are read here rather than with clap's `env` so that a URL holding a
    /// password is never shown by `--help`, two variables can be tried in order, and a URL
    /// from the environment does not trip `plan`'s "`--database-url` requires `--db`".
    pub(crate) fn url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| {
                URL_VARIABLES
                    .iter()
                    .filter_map(|name| std::env::var(name).ok())
                    .find(|url| !url.trim().is_empty())
            })
            .unwrap_or_else(|| DEFAULT_URL.to_owned())
    }
}

/// Runs one database command to completion on a Tokio runtime (multi-threaded: the SMTP pool
/// and the database pool run their connections on it).
pub(crate) fn block_on<T>(work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(anyhow::anyhow!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

/// Opens the database at `url`, creating a SQLite file if there is none.
pub(crate) async fn connect(url: &str) -> Result<SqlStore, Failure> {
    let store = SqlStore::connect(url).await.map_err(sql_failure)?;
    tracing::debug!(url = %redact_url(url), backend = ?store.backend(), "connected");
    Ok(store)
}

/// Opens an existing database at `url`, for commands that only read.
pub(crate) async fn connect_existing(url: &str) -> Result<SqlStore, Failure> {
    let store = SqlStore::connect_existing(url).await.map_err(sql_failure)?;
    tracing::debug!(url = %redact_url(url), backend = ?store.backend(), "connected");
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

/// The settings stored by the last import: a database never migrated or never imported is
/// named as such (exit 2) rather than reported as a failed query.
pub(crate) async fn stored_settings(
    store: &SqlStore,
) -> Result<rappels_core::settings::Settings, Failure> {
    store
        .settings()
        .await
        .map_err(sql_failure)?
        .ok_or_else(|| sql_failure(SqlError::NoSettings))
}
