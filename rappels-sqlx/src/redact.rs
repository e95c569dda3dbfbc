//! Database URLs as they may be shown: in errors, logs and `rappels doctor`.
//!
//! A URL is redacted by parsing it, never by searching its text: a password can sit in the
//! userinfo (`postgres://app:PW@host/db`, where the password may itself hold an `@`) or in
//! a query parameter (`?password=…`, `?sslpassword=…`, and `sslkey`, whose value names the
//! client's private key). A URL that cannot be parsed is shown as its scheme alone.

use url::Url;

/// The query parameters of a PostgreSQL URL whose values are secret, or point at one.
const SECRET_PARAMETERS: [&str; 3] = ["password", "sslpassword", "sslkey"];

/// What replaces a secret.
const MASK: &str = "***";

/// `url` with every secret replaced by `***`: the userinfo password and the values of the
/// secret query parameters. SQLite URLs name a file and hold no credentials: they are kept
/// as written, so that the file they name can be recognised. Anything that does not parse
/// as a URL is reduced to its scheme (`postgres://…`), or to `…` without one.
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let Ok(mut parsed) = Url::parse(url) else {
        return match url.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!("{scheme}://…")
            }
            _ => "…".to_owned(),
        };
    };
    if parsed.password().is_some() && parsed.set_password(Some(MASK)).is_err() {
        return format!("{}://…", parsed.scheme());
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret_parameter(&key) {
                    MASK.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// True when `url` holds a secret: a password in its userinfo or a secret query parameter
/// (for a configuration file, which must hold none). A URL that does not parse is taken to
/// hold one when it has an `@` before its path, since it cannot be told apart.
pub fn holds_secret(url: &str) -> bool {
    if url.starts_with("sqlite:") {
        return false;
    }
    match Url::parse(url) {
        Ok(parsed) => {
            parsed.password().is_some()
                || parsed
                    .query_pairs()
                    .any(|(key, _)| is_secret_parameter(&key))
        }
        Err(_) => url
            .split_once("://")
            .and_then(|(_, rest)| rest.split(['/', '?']).next())
            .is_some_and(|authority| authority.contains('@')),
    }
}

fn is_secret_parameter(key: &str) -> bool {
    SECRET_PARAMETERS
        .iter()
        .any(|secret| key.eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_userinfo_password_is_masked() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example.org:5432/rappels"),
            "postgres://app:***@db.example.org:5432/rappels"
        );
        assert_eq!(
            redact_url("postgres://app@db/rappels"),
            "postgres://app@db/rappels"
        );
    }

    #[test]
    fn a_password_holding_an_at_sign_is_masked_whole() {
        let shown = redact_url("postgres://app:PW@two@db/rappels");
        assert_eq!(shown, "postgres://app:***@db/rappels");
        assert!(!shown.contains("PW") && !shown.contains("two"), "{shown}");
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        let shown = redact_url(
            "postgres://app@db/rappels?sslmode=require&password=hunter2&SSLPASSWORD=k3y&sslkey=/home/a/key.pem",
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("k3y"), "{shown}");
        assert!(!shown.contains("key.pem"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert!(shown.contains("password=***"), "{shown}");
    }

    #[test]
    fn an_unparsable_url_shows_only_its_scheme() {
        assert_eq!(redact_url("postgres://app:pw@[bad/rappels"), "postgres://…");
        assert_eq!(redact_url("not a url with pw"), "…");
    }

    #[test]
    fn sqlite_urls_are_kept() {
        assert_eq!(
            redact_url("sqlite:///tmp/a b%3F/x.db"),
            "sqlite:///tmp/a b%3F/x.db"
        );
        assert!(!holds_secret("sqlite://rappels.db"));
    }

    #[test]
    fn secrets_are_found_in_either_place() {
        assert!(holds_secret("postgres://app:s3cret@db/rappels"));
        assert!(holds_secret("postgres://app@db/rappels?password=x"));
        assert!(holds_secret("postgres://db/rappels?sslpassword=x"));
        assert!(!holds_secret("postgres://app@db/rappels"));
        assert!(!holds_secret("postgres://db/rappels?user=a@b"));
        assert!(holds_secret("postgres://app:pw@[bad/rappels"));
    }
}
