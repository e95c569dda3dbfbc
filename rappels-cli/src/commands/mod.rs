//! One module per `rappels` subcommand.

pub(crate) mod cron;
pub(crate) mod daemon;
pub(crate) mod demo;
pub(crate) mod doctor;
pub(crate) mod explain;
pub(crate) mod gen_scenario;
pub(crate) mod history;
pub(crate) mod import;
pub(crate) mod ingest;
pub(crate) mod init;
pub(crate) mod login_link;
pub(crate) mod migrate;
pub(crate) mod plan;
pub(crate) mod remind;
pub(crate) mod run;
pub(crate) mod schedule_sessions;
pub(crate) mod settings;
pub(crate) mod stats;
pub(crate) mod test_email;
pub(crate) mod unsubscribe;
