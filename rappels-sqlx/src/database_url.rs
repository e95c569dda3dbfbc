//! A database URL, read once where it enters (a flag, a variable, a file) and passed on as
//! a value that knows its engine and cannot be printed with its secrets.

use std::fmt;
use std::str::FromStr;

use crate::redact::{holds_secret, redact_url};
use crate::{Backend, SqlError};

/// A database URL: `sqlite://PATH` or `postgres://USER@HOST/DB` (`postgresql://` too).
///
/// `Display` and `Debug` show it redacted (`redact_url`), so it can go into any log line or
/// error message as it is; only [`DatabaseUrl::expose`] gives the text with its password,
/// for connecting.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    text: String,
    backend: Backend,
}

impl DatabaseUrl {
    /// Reads `text`; an unknown scheme is `SqlError::UnsupportedUrl`, naming the redacted
    /// URL. The rest is checked by the driver when connecting.
    pub fn parse(text: &str) -> Result<DatabaseUrl, SqlError> {
        let backend = if text.starts_with("sqlite:") {
            Backend::Sqlite
        } else if text.starts_with("postgres:") || text.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(SqlError::UnsupportedUrl(redact_url(text)));
        };
        Ok(DatabaseUrl {
            text: text.to_owned(),
            backend,
        })
    }

    /// The engine it names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL as written, secrets included: for the driver, never for a message.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// Whether it holds a password or a secret parameter (a file must hold none).
    pub fn holds_secret(&self) -> bool {
        holds_secret(&self.text)
    }
}

impl FromStr for DatabaseUrl {
    type Err = SqlError;

    fn from_str(text: &str) -> Result<DatabaseUrl, SqlError> {
        DatabaseUrl::parse(text)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.text))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_comes_from_the_scheme() {
        let sqlite: DatabaseUrl = "sqlite://rappels.db".parse().unwrap();
        assert_eq!(sqlite.backend(), Backend::Sqlite);
        for pg in ["postgres://app@db/rappels", "postgresql://app@db/rappels"] {
            assert_eq!(DatabaseUrl::parse(pg).unwrap().backend(), Backend::Postgres);
        }
        let err = DatabaseUrl::parse("mysql://app:pw@db/x").unwrap_err();
        assert!(matches!(err, SqlError::UnsupportedUrl(ref shown) if !shown.contains("pw")));
    }

    #[test]
    fn a_password_is_never_displayed_or_debugged() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db/rappels?sslpassword=k3y").unwrap();
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(
                !shown.contains("s3cret") && !shown.contains("k3y"),
                "{shown}"
            );
            assert!(shown.contains("db/rappels"), "{shown}");
        }
        assert!(url.holds_secret());
        assert_eq!(
            url.expose(),
            "postgres://app:s3cret@db/rappels?sslpassword=k3y"
        );
    }
}
