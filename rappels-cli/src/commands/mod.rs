//! One module per `rappels` subcommand.

pub(crate) mod import;
pub(crate) mod migrate;
pub(crate) mod plan;
