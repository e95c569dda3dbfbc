//! The platform's address, validated once: links in messages and the `List-Unsubscribe`
//! header are built from it.

use std::fmt;

/// An absolute `http://` or `https://` address with a host, holding no character that would
/// need escaping inside a header's `<…>`: no `<`, `>`, `,`, quote, white space or control
/// character. Without that rule a `site_url` such as `https://a.org/>,<mailto:x@evil.org?`
/// would add a second address to `List-Unsubscribe`. A trailing `/` is dropped, so that
/// `{site_url}/sessions/…` never holds `//`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteUrl(String);

/// Why a site address was refused; the message quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a usable site address: {reason}")]
pub struct SiteUrlError {
    value: String,
    reason: &'static str,
}

impl SiteUrl {
    /// Parses `raw` (surrounding white space ignored) with the `url` crate's WHATWG parser.
    pub fn parse(raw: &str) -> Result<SiteUrl, SiteUrlError> {
        let text = raw.trim();
        let refuse = |reason| SiteUrlError {
            value: raw.to_owned(),
            reason,
        };
        // Checked on the text as written: the parser would percent-encode some of these
        // characters and silently drop others (tabs, line breaks), hiding what was typed.
        if text.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"' | '\'')
        }) {
            return Err(refuse(
                "it holds white space, a control character, a quote, `<`, `>` or `,`",
            ));
        }
        let url = url::Url::parse(text).map_err(|_| refuse("it is not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse("it must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refuse("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it holds a user name or password"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it holds a query (`?`) or a fragment (`#`)"));
        }
        Ok(SiteUrl(text.trim_end_matches('/').to_owned()))
    }

    /// The address as written, without its trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SiteUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SiteUrl {
    type Err = SiteUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SiteUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_addresses_are_kept_without_their_trailing_slash() {
        assert_eq!(
            SiteUrl::parse(" https://ecole.example.org/ ")
                .unwrap()
                .as_str(),
            "https://ecole.example.org"
        );
        assert_eq!(
            SiteUrl::parse("http://localhost:8000/app")
                .unwrap()
                .as_str(),
            "http://localhost:8000/app"
        );
    }

    #[test]
    fn header_injection_and_other_schemes_are_refused_naming_the_value() {
        for bad in [
            "https://a.org/>,<mailto:x@evil.org?",
            "https://a.org/a b",
            "https://a.org/\r\nBcc: x@evil.org",
            "https://a.org/\"x",
            "mailto:x@evil.org",
            "ftp://a.org",
            "//a.org",
            "a.org",
            "https://user:pw@a.org",
            "https://a.org/?x=1",
        ] {
            let err = SiteUrl::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{bad:?} is not")), "{err}");
        }
    }
}
