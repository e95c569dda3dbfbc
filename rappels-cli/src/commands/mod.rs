//! One module per `rappels` subcommand.

pub(crate) mod import;
pub(crate) mod migrate;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod test_email;
pub(crate) mod unsubscribe;
