//! How commands fail: invalid input or usage (exit 2) versus everything else (exit 1).

use std::fmt;
use std::process::ExitCode;

use rappels_core::ports::StoreError;
use rappels_core::service::ServiceError;

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

/// A failure of the engine as a command failure, its exit status following from what the
/// user can do about it: a refusal by the rules, an unknown record or a database that is not
/// set up (migrate, import) is theirs to fix (exit 2); a busy or unreachable database is
/// worth retrying and says so; the rest — a mail server, corrupt data, a broken backend —
/// is a failure (exit 1). `doing` says what failed, with the redacted database URL.
pub(crate) fn service_failure(error: ServiceError, doing: impl fmt::Display) -> Failure {
    match &error {
        ServiceError::Denied(_) | ServiceError::Refused(_) | ServiceError::Unsubscribe(_) => {
            Failure::invalid(error)
        }
        ServiceError::Store(store) => match store {
            StoreError::NotFound { .. } | StoreError::NotReady(_) | StoreError::Refused(_) => {
                Failure::invalid(format_args!("{doing}: {error}"))
            }
            StoreError::Unavailable(_) => Failure::Failed(anyhow::anyhow!(
                "{doing}: {error} (the database is busy or out of reach: try again)"
            )),
            _ => Failure::Failed(anyhow::anyhow!("{doing}: {error}")),
        },
        _ => Failure::Failed(anyhow::anyhow!("{doing}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(error: ServiceError) -> u8 {
        match service_failure(error, "reading") {
            Failure::Invalid(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    #[test]
    fn exit_statuses_follow_the_kind_of_store_error() {
        let store = |e: StoreError| ServiceError::Store(e);
        assert_eq!(
            status(store(StoreError::NotReady("run rappels import".into()))),
            2
        );
        assert_eq!(
            status(store(StoreError::NotFound {
                what: "student",
                id: 9
            })),
            2
        );
        assert_eq!(
            status(store(StoreError::Unavailable("database is locked".into()))),
            1
        );
        assert_eq!(status(store(StoreError::Corrupt("bad zone".into()))), 1);
        assert_eq!(status(store(StoreError::Backend("io".into()))), 1);
        let busy = service_failure(store(StoreError::Unavailable("locked".into())), "x");
        assert!(busy.to_string().contains("try again"), "{busy}");
    }
}
