//! `rappels migrate`: create or upgrade the database schema.

use clap::Args;

use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Create the database's tables, or upgrade them to this version of rappels. The migrations are \
built into the binary; applying them again changes nothing, so it is safe to run on every \
deployment. A SQLite file is created if it does not exist.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels migrate
  rappels migrate --database-url sqlite://var/rappels.db
  DATABASE_URL=postgres://rappels@db.internal/rappels rappels migrate";

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: MigrateArgs, config: &Config) -> Result<(), Failure> {
    let url = args.database.url(config)?;
    database::block_on(async {
        let store = database::connect(&url).await?;
        let result = store.migrate().await.map_err(database::sql_failure);
        store.close().await;
        result
    })?;
    let shown = url.to_string();
    tracing::info!(url = %shown, "migrations applied");
    crate::output::emit(&format!("migrated {shown}: schema up to date\n"))?;
    Ok(())
}
