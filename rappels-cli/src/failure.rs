//! How commands fail: invalid input or usage (exit 2) versus everything else (exit 1).

use std::fmt;
use std::process::ExitCode;

/// A command's failure, carrying the exit status RULES.md gives it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input or the usage is wrong: the user must change something (exit 2).
    Invalid(anyhow::Error),
    /// Anything else: IO, database, mail server (exit 1).
    Failed(anyhow::Error),
}

impl Failure {
    /// An invalid-input failure with this message.
    pub(crate) fn invalid(message: impl fmt::Display) -> Self {
        Failure::Invalid(anyhow::anyhow!("{message}"))
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Invalid(_) => ExitCode::from(2),
            Failure::Failed(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invalid(e) | Failure::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Failed(e)
    }
}
