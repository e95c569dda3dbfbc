//! Integration tests of the `rappels` binary: one test binary, one module per command.

/// Runs a test body on SQLite, and on PostgreSQL when it is configured. Defined before the
/// modules, so that every one of them sees it.
macro_rules! on_both {
    ($body:ident: $sqlite:ident, $postgres:ident) => {
        #[test]
        fn $sqlite() {
            $body(&$crate::support::TestDb::sqlite());
        }

        #[test]
        fn $postgres() {
            if let Some(db) = $crate::support::TestDb::postgres() {
                $body(&db);
            }
        }
    };
}

mod config;
mod cron;
mod daemon;
mod db;
mod demo;
mod gen_scenario;
mod history;
mod login;
mod mail;
mod plan;
mod remind;
mod run;
mod support;
mod sync;

use std::path::PathBuf;

/// A fixture file of this crate's tests.
pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The `rappels` binary built for these tests.
pub(crate) fn rappels() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("rappels").expect("the rappels binary is built")
}
