//! One-click unsubscribe tokens (RFC 8058): signing and verifying the token that an automatic
//! reminder's `List-Unsubscribe` address carries, and building that address.
//!
//! A token names a student and a reminder family and is signed with HMAC-SHA256, so whoever
//! holds it can opt that student out of that family, and nothing else: changing the student
//! or the family breaks the signature. Its form is
//! `base64url(payload) "." base64url(hmac_sha256(secret, payload))` (no padding), with the
//! payload `v1:{student}:{family}`; the version lets the format change later without old
//! links being misread. Tokens do not expire: an unsubscribe link must keep working in an old
//! e-mail, and using it twice does no harm. Rotating the secret invalidates every link sent.
//!
//! Everything here is pure: no IO and no clock. [`crate::service::Reminders::unsubscribe`]
//! verifies a token and records the opt-out through the store.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::{Family, Kind, StudentId};

/// The shortest secret accepted, in bytes: below this an HMAC key can be guessed.
pub const MIN_SECRET_LEN: usize = 16;

/// The version written in the payload of the tokens [`sign`] makes.
const VERSION: &str = "v1";

/// Tokens longer than this are refused before any decoding. A v1 unsubscribe token is under
/// 100 characters and the longest sign-in token (an admin name of 100 four-byte characters)
/// under 800, so the bound only keeps absurd input from being decoded.
const MAX_TOKEN_LEN: usize = 1024;

/// Every family, for reading the family name of a payload.
const FAMILIES: [Family; 3] = [Family::Session, Family::Inactivity, Family::Weekly];

/// The HMAC key unsubscribe tokens are signed with.
///
/// Its `Debug` form is `UnsubscribeSecret(***)`, so a configuration printed to a log never
/// shows the key.
#[derive(Clone)]
pub struct UnsubscribeSecret {
    /// The MAC already keyed with the secret; each token clones it.
    keyed: Hmac<Sha256>,
}

impl UnsubscribeSecret {
    /// A secret from raw bytes or a string (such as the value of `RAPPELS_SECRET`); refuses
    /// keys shorter than [`MIN_SECRET_LEN`] bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, UnsubscribeError> {
        let key = key.as_ref();
        if key.len() < MIN_SECRET_LEN {
            return Err(UnsubscribeError::SecretTooShort { len: key.len() });
        }
        let keyed =
            Hmac::<Sha256>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
        Ok(UnsubscribeSecret { keyed })
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(payload);
        mac
    }
}

impl fmt::Debug for UnsubscribeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnsubscribeSecret(***)")
    }
}

/// Where automatic reminders point their one-click unsubscribe links.
#[derive(Debug, Clone)]
pub struct UnsubscribeConfig {
    /// The key tokens are signed and verified with.
    pub secret: UnsubscribeSecret,
    /// The public address of the site that serves `/unsubscribe` (`https://rappels.example.org`).
    pub base_url: String,
}

impl UnsubscribeConfig {
    /// The unsubscribe address of a reminder of `kind` for `student`: a signed link for the
    /// automatic kinds, `None` for manual reminders, which a student cannot opt out of.
    pub fn url_for(&self, kind: Kind, student: StudentId) -> Option<String> {
        let family = kind.family()?;
        Some(unsubscribe_url(
            &self.base_url,
            &sign(&self.secret, student, family),
        ))
    }
}

/// Why a secret or a token was refused. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsubscribeError {
    /// The secret is too short to be a safe HMAC key.
    #[error("unsubscribe secret is too short: {len} bytes, at least {MIN_SECRET_LEN} are needed")]
    SecretTooShort {
        /// The length given, in bytes.
        len: usize,
    },
    /// The token is not of the form `payload.signature`, is not base64url, or its payload is
    /// not `version:student:family`.
    #[error("malformed unsubscribe token: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signature does not match the payload: the token was altered, or signed with
    /// another secret.
    #[error("unsubscribe token signature does not match")]
    BadSignature,
    /// The token is authentic but of a format this version of rappels does not read.
    #[error("unsupported unsubscribe token version {0:?}")]
    UnknownVersion(String),
    /// The token is authentic but names a family this version of rappels does not know.
    #[error("unknown reminder family {0:?} in unsubscribe token")]
    UnknownFamily(String),
}

fn malformed(reason: &'static str) -> UnsubscribeError {
    UnsubscribeError::Malformed { reason }
}

/// The token that opts `student` out of `family`.
pub fn sign(secret: &UnsubscribeSecret, student: StudentId, family: Family) -> String {
    sign_payload(secret, &format!("{VERSION}:{student}:{}", family.as_str()))
}

/// `base64url(payload) "." base64url(hmac)`: the form of every token signed with the
/// secret (unsubscribe and sign-in tokens alike; their payloads cannot be mistaken for
/// each other).
pub(crate) fn sign_payload(secret: &UnsubscribeSecret, payload: &str) -> String {
    let tag = secret.mac(payload.as_bytes()).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The student and family a token names, if `secret` signed it.
///
/// The signature is checked (in constant time) before the payload is read, so only tokens
/// this platform issued ever reach the payload parser.
pub fn verify(
    secret: &UnsubscribeSecret,
    token: &str,
) -> Result<(StudentId, Family), UnsubscribeError> {
    let payload = open(secret, token)?;
    read_payload(&payload)
}

/// The payload of a token `secret` signed, checked in constant time before it is read.
pub(crate) fn open(secret: &UnsubscribeSecret, token: &str) -> Result<String, UnsubscribeError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(malformed("token is too long"));
    }
    let (payload, tag) = token
        .split_once('.')
        .filter(|(payload, tag)| !payload.is_empty() && !tag.is_empty() && !tag.contains('.'))
        .ok_or_else(|| malformed("expected a payload and a signature separated by one dot"))?;
    // The no-padding engine refuses padding and non-zero trailing bits, so each byte string
    // has exactly one accepted encoding and an altered character never decodes to the same
    // bytes.
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("payload is not base64url"))?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| malformed("signature is not base64url"))?;
    secret
        .mac(&payload)
        .verify_slice(&tag)
        .map_err(|_| UnsubscribeError::BadSignature)?;
    String::from_utf8(payload).map_err(|_| malformed("payload is not utf-8"))
}

fn read_payload(payload: &str) -> Result<(StudentId, Family), UnsubscribeError> {
    let (version, rest) = payload
        .split_once(':')
        .ok_or_else(|| malformed("payload has no version"))?;
    if version != VERSION {
        return Err(UnsubscribeError::UnknownVersion(version.to_owned()));
    }
    let (student, family) = rest
        .split_once(':')
        .ok_or_else(|| malformed("payload is not version:student:family"))?;
    let student = student
        .parse::<i64>()
        .ok()
        .and_then(|id| StudentId::new(id).ok())
        .ok_or_else(|| malformed("payload names no valid student id"))?;
    let family = FAMILIES
        .into_iter()
        .find(|f| f.as_str() == family)
        .ok_or_else(|| UnsubscribeError::UnknownFamily(family.to_owned()))?;
    Ok((student, family))
}

/// `{base}/unsubscribe?token={token}`, with any trailing `/` of `base` dropped. Tokens are
/// base64url and a dot, which a query string carries unescaped.
pub fn unsubscribe_url(base: &str, token: &str) -> String {
    format!("{}/unsubscribe?token={token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret() -> UnsubscribeSecret {
        UnsubscribeSecret::new("correct horse battery staple").unwrap()
    }

    fn student(id: i64) -> StudentId {
        StudentId::new(id).unwrap()
    }

    fn parts(token: &str) -> (String, String) {
        let (payload, tag) = token.split_once('.').unwrap();
        (payload.to_owned(), tag.to_owned())
    }

    #[test]
    fn a_token_names_its_student_and_family() {
        for family in FAMILIES {
            for id in [1, 42, i64::MAX] {
                let token = sign(&secret(), student(id), family);
                assert_eq!(verify(&secret(), &token), Ok((student(id), family)));
            }
        }
        let token = sign(&secret(), student(7), Family::Weekly);
        let (payload, _) = parts(&token);
        assert_eq!(URL_SAFE_NO_PAD.decode(payload).unwrap(), b"v1:7:weekly");
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{token}"
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let (_, tag) = parts(&sign(&secret(), student(1), Family::Session));
        for forged in ["v1:2:session", "v1:1:weekly", "v1:1:session "] {
            let token = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged));
            assert_eq!(
                verify(&secret(), &token),
                Err(UnsubscribeError::BadSignature),
                "{forged}"
            );
        }
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let (payload, tag) = parts(&sign(&secret(), student(1), Family::Session));
        let mut bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
        bytes[0] ^= 1;
        let token = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            verify(&secret(), &token),
            Err(UnsubscribeError::BadSignature)
        );
        // A signature cut to a shorter, still valid base64url string.
        let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&bytes[..16]));
        assert_eq!(
            verify(&secret(), &short),
            Err(UnsubscribeError::BadSignature)
        );
        let empty = format!("{payload}.");
        assert!(matches!(
            verify(&secret(), &empty),
            Err(UnsubscribeError::Malformed { .. })
        ));
    }

    #[test]
    fn a_truncated_token_is_refused() {
        let token = sign(&secret(), student(1), Family::Inactivity);
        let (payload, _) = parts(&token);
        assert!(matches!(
            verify(&secret(), &payload),
            Err(UnsubscribeError::Malformed { .. })
        ));
        for len in 0..token.len() {
            assert!(verify(&secret(), &token[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn a_token_of_another_secret_is_refused() {
        let other = UnsubscribeSecret::new("another secret, also long").unwrap();
        let token = sign(&other, student(1), Family::Session);
        assert_eq!(
            verify(&secret(), &token),
            Err(UnsubscribeError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for garbage in [
            "",
            ".",
            "no-dot-at-all",
            "a.b.c",
            "!!!.abc",
            "abc.!!!",
            "djE6MTpzZXNzaW9u=.abc",
            "💥.💥",
        ] {
            assert!(
                matches!(
                    verify(&secret(), garbage),
                    Err(UnsubscribeError::Malformed { .. })
                ),
                "{garbage:?}: {:?}",
                verify(&secret(), garbage)
            );
        }
        let huge = "A".repeat(10_000);
        assert!(matches!(
            verify(&secret(), &format!("{huge}.{huge}")),
            Err(UnsubscribeError::Malformed { .. })
        ));
    }

    #[test]
    fn authentic_payloads_of_unknown_form_are_refused_by_name() {
        let s = secret();
        assert_eq!(
            verify(&s, &sign_payload(&s, "v2:1:session")),
            Err(UnsubscribeError::UnknownVersion("v2".into()))
        );
        assert_eq!(
            verify(&s, &sign_payload(&s, "v1:1:manual")),
            Err(UnsubscribeError::UnknownFamily("manual".into()))
        );
        for payload in ["v1", "v1:1", "v1:0:session", "v1:x:session", "v1:-3:weekly"] {
            assert!(
                matches!(
                    verify(&s, &sign_payload(&s, payload)),
                    Err(UnsubscribeError::Malformed { .. })
                ),
                "{payload}"
            );
        }
    }

    #[test]
    fn a_short_secret_is_refused_and_a_secret_never_shows() {
        let error = UnsubscribeSecret::new("short").unwrap_err();
        assert_eq!(error, UnsubscribeError::SecretTooShort { len: 5 });
        assert_eq!(
            error.to_string(),
            "unsubscribe secret is too short: 5 bytes, at least 16 are needed"
        );
        assert!(UnsubscribeSecret::new([0u8; MIN_SECRET_LEN]).is_ok());
        let config = UnsubscribeConfig {
            secret: secret(),
            base_url: "https://rappels.example.org".into(),
        };
        assert_eq!(format!("{:?}", secret()), "UnsubscribeSecret(***)");
        assert!(!format!("{config:?}").contains("horse"), "{config:?}");
        assert!(!format!("{config:#?}").contains("horse"), "{config:#?}");
    }

    #[test]
    fn urls_point_at_the_unsubscribe_page() {
        assert_eq!(
            unsubscribe_url("https://rappels.example.org/", "abc.def"),
            "https://rappels.example.org/unsubscribe?token=abc.def"
        );
        assert_eq!(
            unsubscribe_url("https://example.org/school", "abc.def"),
            "https://example.org/school/unsubscribe?token=abc.def"
        );
        let config = UnsubscribeConfig {
            secret: secret(),
            base_url: "https://rappels.example.org".into(),
        };
        assert_eq!(config.url_for(Kind::Manual, student(1)), None);
        for kind in [
            Kind::SessionEve,
            Kind::SessionDay,
            Kind::Inactivity,
            Kind::Weekly,
        ] {
            let url = config.url_for(kind, student(3)).unwrap();
            let token = url
                .strip_prefix("https://rappels.example.org/unsubscribe?token=")
                .unwrap();
            assert_eq!(
                verify(&secret(), token),
                Ok((student(3), kind.family().unwrap()))
            );
        }
    }

    #[test]
    fn every_change_of_one_character_to_a_base64url_one_is_refused() {
        // Exhaustive where the property test samples: in particular the last character of
        // each part, whose low bits are padding and would decode to the same bytes under a
        // lenient decoder.
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
        for family in FAMILIES {
            let token = sign(&secret(), student(12345), family);
            for at in 0..token.len() {
                for &c in ALPHABET.iter().filter(|&&c| c != token.as_bytes()[at]) {
                    let mut altered = token.clone().into_bytes();
                    altered[at] = c;
                    let altered = String::from_utf8(altered).unwrap();
                    assert!(verify(&secret(), &altered).is_err(), "{token} -> {altered}");
                }
            }
        }
    }

    fn families() -> impl Strategy<Value = Family> {
        prop::sample::select(FAMILIES.to_vec())
    }

    proptest! {
        /// Changing any one character of a token, to anything else, makes it invalid.
        #[test]
        fn any_altered_character_is_refused(
            id in 1..=i64::MAX,
            family in families(),
            position in any::<prop::sample::Index>(),
            replacement in any::<char>(),
        ) {
            let token = sign(&secret(), student(id), family);
            let chars: Vec<char> = token.chars().collect();
            let at = position.index(chars.len());
            prop_assume!(chars[at] != replacement);
            let mut altered = chars;
            altered[at] = replacement;
            let altered: String = altered.into_iter().collect();
            prop_assert!(verify(&secret(), &altered).is_err(), "{token} -> {altered}");
        }

        /// Replacing a character by another base64url one: the hard case, as it still decodes.
        #[test]
        fn any_altered_base64_character_is_refused(
            id in 1..=i64::MAX,
            family in families(),
            position in any::<prop::sample::Index>(),
            replacement in "[A-Za-z0-9_-]",
        ) {
            let token = sign(&secret(), student(id), family);
            let at = position.index(token.len());
            let replacement = replacement.chars().next().unwrap();
            prop_assume!(token.as_bytes()[at] != b'.' && token.as_bytes()[at] != replacement as u8);
            let mut altered = token.clone().into_bytes();
            altered[at] = replacement as u8;
            let altered = String::from_utf8(altered).unwrap();
            prop_assert!(verify(&secret(), &altered).is_err(), "{token} -> {altered}");
        }
    }
}
