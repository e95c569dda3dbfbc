//! Integration tests of the `rappels` binary: one test binary, one module per command.

mod db;
mod plan;

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
