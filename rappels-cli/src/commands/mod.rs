//! One module per `rappels` subcommand.

pub(crate) mod plan;
