//! Sign-in without passwords: the signed, expiring, single-use links that `rappels
//! login-link` prints, the session a web app keeps once a link was used, and the CSRF token
//! of that session's forms.
//!
//! All three are signed with the platform's secret (`RAPPELS_SECRET`, the key of the
//! unsubscribe links) in the same `base64url(payload).base64url(hmac)` form; each payload
//! starts with its own tag (`login-v1`, `session-v1`), so no token is ever read as another
//! kind. A link carries a nonce, which the store redeems once (see
//! `SqlStore::redeem_login_nonce`): the link is single-use because the app refuses a nonce
//! already redeemed, not because of anything in the token.
//!
//! Everything here is pure: the caller gives the instant and the nonce.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{ParentId, StudentId};
use crate::unsubscribe::{UnsubscribeError, UnsubscribeSecret, open, sign_payload};

/// How long a sign-in link stays valid by default.
pub const LINK_LIFETIME: TimeDelta = TimeDelta::minutes(30);

/// How long a session lasts by default.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(12);

/// The longest admin name, in characters.
pub const MAX_ADMIN_NAME: usize = 100;

const LINK_TAG: &str = "login-v1";
const SESSION_TAG: &str = "session-v1";
const CSRF_TAG: &str = "csrf-v1";

/// Who a link or a session signs in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A student.
    Student(StudentId),
    /// A parent.
    Parent(ParentId),
    /// A superuser, by the name the admin pages and the log show.
    Admin(AdminName),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Student(id) => write!(f, "student:{id}"),
            Principal::Parent(id) => write!(f, "parent:{id}"),
            Principal::Admin(name) => write!(f, "admin:{name}"),
        }
    }
}

impl Principal {
    fn parse(text: &str) -> Result<Principal, LoginError> {
        let (kind, rest) = text
            .split_once(':')
            .ok_or(LoginError::Malformed("no principal"))?;
        let id = || {
            rest.parse::<i64>()
                .map_err(|_| LoginError::Malformed("the principal's id is not a number"))
        };
        match kind {
            "student" => StudentId::new(id()?)
                .map(Principal::Student)
                .map_err(|_| LoginError::Malformed("invalid student id")),
            "parent" => ParentId::new(id()?)
                .map(Principal::Parent)
                .map_err(|_| LoginError::Malformed("invalid parent id")),
            "admin" => AdminName::new(rest)
                .map(Principal::Admin)
                .map_err(|_| LoginError::Malformed("invalid admin name")),
            _ => Err(LoginError::Malformed("unknown principal")),
        }
    }
}

/// An admin's name: 1 to [`MAX_ADMIN_NAME`] characters, not blank, no control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdminName(String);

impl AdminName {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<AdminName, LoginError> {
        let chars = name.chars().count();
        if name.trim().is_empty() || chars > MAX_ADMIN_NAME || name.chars().any(char::is_control) {
            return Err(LoginError::BadAdminName);
        }
        Ok(AdminName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdminName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a sign-in link says: who, until when, and the nonce that makes it single-use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLink {
    /// Who it signs in.
    pub principal: Principal,
    /// A random number, redeemed once.
    pub nonce: u128,
    /// When it stops working (whole seconds).
    pub expires_at: DateTime<Utc>,
}

/// A signed-in session: who, and until when. Its token is what the session cookie holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in.
    pub principal: Principal,
    /// The nonce of the link it came from: the session's identity, which its CSRF token
    /// is bound to.
    pub nonce: u128,
    /// When it ends (whole seconds).
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused. Messages never hold the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Not a token of this kind.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Altered, or signed with another secret.
    #[error("the token's signature does not match")]
    BadSignature,
    /// Authentic, but its time is over.
    #[error("the token expired at {0}")]
    Expired(DateTime<Utc>),
    /// An admin name that is blank, too long or holds a control character.
    #[error(
        "an admin name holds 1 to {MAX_ADMIN_NAME} characters, not blank, no control character"
    )]
    BadAdminName,
}

impl From<UnsubscribeError> for LoginError {
    fn from(error: UnsubscribeError) -> Self {
        match error {
            UnsubscribeError::BadSignature => LoginError::BadSignature,
            UnsubscribeError::Malformed { reason } => LoginError::Malformed(reason),
            _ => LoginError::Malformed("not a sign-in token"),
        }
    }
}

fn payload(tag: &str, expires_at: DateTime<Utc>, nonce: u128, principal: &Principal) -> String {
    format!("{tag}|{}|{nonce:032x}|{principal}", expires_at.timestamp())
}

/// Reads `tag|expires|nonce|principal`, refusing an expired one.
fn read(
    secret: &UnsubscribeSecret,
    token: &str,
    tag: &str,
    now: DateTime<Utc>,
) -> Result<(Principal, u128, DateTime<Utc>), LoginError> {
    let payload = open(secret, token)?;
    let mut parts = payload.splitn(4, '|');
    let (Some(found), Some(expires), Some(nonce), Some(principal)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LoginError::Malformed("not tag|expiry|nonce|principal"));
    };
    if found != tag {
        return Err(LoginError::Malformed("a token of another kind"));
    }
    let expires_at = expires
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(LoginError::Malformed("invalid expiry"))?;
    let nonce =
        u128::from_str_radix(nonce, 16).map_err(|_| LoginError::Malformed("invalid nonce"))?;
    let principal = Principal::parse(principal)?;
    if now >= expires_at {
        return Err(LoginError::Expired(expires_at));
    }
    Ok((principal, nonce, expires_at))
}

/// Whole seconds: what a token can say.
fn truncated(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

impl LoginLink {
    /// A link for `principal` issued at `now`, valid for `lifetime`.
    pub fn new(principal: Principal, nonce: u128, now: DateTime<Utc>, lifetime: TimeDelta) -> Self {
        LoginLink {
            principal,
            nonce,
            expires_at: truncated(now + lifetime),
        }
    }

    /// The token of the link.
    pub fn sign(&self, secret: &UnsubscribeSecret) -> String {
        sign_payload(
            secret,
            &payload(LINK_TAG, self.expires_at, self.nonce, &self.principal),
        )
    }

    /// The link a token says, if `secret` signed it and it has not expired at `now`. Whether
    /// its nonce was redeemed already is the store's to say.
    pub fn verify(
        secret: &UnsubscribeSecret,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginLink, LoginError> {
        let (principal, nonce, expires_at) = read(secret, token, LINK_TAG, now)?;
        Ok(LoginLink {
            principal,
            nonce,
            expires_at,
        })
    }

    /// `{base}/login?token={token}`.
    pub fn url(&self, secret: &UnsubscribeSecret, base: &str) -> String {
        format!(
            "{}/login?token={}",
            base.trim_end_matches('/'),
            self.sign(secret)
        )
    }

    /// The session this link opens at `now`, for `lifetime`.
    pub fn session(&self, now: DateTime<Utc>, lifetime: TimeDelta) -> Session {
        Session {
            principal: self.principal.clone(),
            nonce: self.nonce,
            expires_at: truncated(now + lifetime),
        }
    }
}

impl Session {
    /// The token the session cookie holds.
    pub fn sign(&self, secret: &UnsubscribeSecret) -> String {
        sign_payload(
            secret,
            &payload(SESSION_TAG, self.expires_at, self.nonce, &self.principal),
        )
    }

    /// The session a cookie's token says, if `secret` signed it and it has not ended.
    pub fn verify(
        secret: &UnsubscribeSecret,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Session, LoginError> {
        let (principal, nonce, expires_at) = read(secret, token, SESSION_TAG, now)?;
        Ok(Session {
            principal,
            nonce,
            expires_at,
        })
    }

    /// The CSRF token of this session's forms: bound to the session, so a token from another
    /// session (or none) is refused by [`Session::check_csrf`].
    pub fn csrf(&self, secret: &UnsubscribeSecret) -> String {
        sign_payload(secret, &format!("{CSRF_TAG}|{:032x}", self.nonce))
    }

    /// True when `token` is this session's CSRF token (compared in constant time, as part of
    /// the signature check).
    pub fn check_csrf(&self, secret: &UnsubscribeSecret, token: &str) -> bool {
        open(secret, token)
            .is_ok_and(|payload| payload == format!("{CSRF_TAG}|{:032x}", self.nonce))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    fn secret() -> UnsubscribeSecret {
        UnsubscribeSecret::new("correct horse battery staple").unwrap()
    }

    fn now() -> DateTime<Utc> {
        parse_instant("2026-12-07T10:00:00Z").unwrap()
    }

    fn principals() -> Vec<Principal> {
        vec![
            Principal::Student(StudentId::new(1).unwrap()),
            Principal::Parent(ParentId::new(10).unwrap()),
            Principal::Admin(AdminName::new("Mme Diallo | direction: 2").unwrap()),
        ]
    }

    #[test]
    fn a_link_names_its_principal_until_it_expires() {
        for principal in principals() {
            let link = LoginLink::new(principal.clone(), u128::MAX - 7, now(), LINK_LIFETIME);
            let token = link.sign(&secret());
            assert_eq!(
                LoginLink::verify(&secret(), &token, now()),
                Ok(link.clone())
            );
            let end = now() + LINK_LIFETIME;
            assert_eq!(
                LoginLink::verify(&secret(), &token, end),
                Err(LoginError::Expired(end))
            );
            assert!(
                link.url(&secret(), "https://ecole.example.org/")
                    .starts_with("https://ecole.example.org/login?token=")
            );
        }
    }

    #[test]
    fn a_tampered_or_foreign_token_is_refused() {
        let link = LoginLink::new(principals()[0].clone(), 1, now(), LINK_LIFETIME);
        let token = link.sign(&secret());
        let other = UnsubscribeSecret::new("another secret of some length").unwrap();
        assert_eq!(
            LoginLink::verify(&other, &token, now()),
            Err(LoginError::BadSignature)
        );
        // Another principal with the first one's signature.
        let (_, tag) = token.split_once('.').unwrap();
        let forged =
            LoginLink::new(principals()[1].clone(), 1, now(), LINK_LIFETIME).sign(&secret());
        let (payload, _) = forged.split_once('.').unwrap();
        assert_eq!(
            LoginLink::verify(&secret(), &format!("{payload}.{tag}"), now()),
            Err(LoginError::BadSignature)
        );
        // A session token is not a link, nor a link a session, nor an unsubscribe token either.
        let session = link.session(now(), SESSION_LIFETIME).sign(&secret());
        assert!(matches!(
            LoginLink::verify(&secret(), &session, now()),
            Err(LoginError::Malformed(_))
        ));
        assert!(matches!(
            Session::verify(&secret(), &token, now()),
            Err(LoginError::Malformed(_))
        ));
        let unsubscribe = crate::unsubscribe::sign(
            &secret(),
            StudentId::new(1).unwrap(),
            crate::domain::Family::Weekly,
        );
        assert!(matches!(
            LoginLink::verify(&secret(), &unsubscribe, now()),
            Err(LoginError::Malformed(_))
        ));
        for garbage in ["", ".", "abc", "a.b.c", &"x".repeat(10_000)] {
            assert!(
                LoginLink::verify(&secret(), garbage, now()).is_err(),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_session_carries_its_principal_and_its_csrf_token() {
        for principal in principals() {
            let link = LoginLink::new(principal, 42, now(), LINK_LIFETIME);
            let session = link.session(now(), SESSION_LIFETIME);
            let token = session.sign(&secret());
            assert_eq!(
                Session::verify(&secret(), &token, now()),
                Ok(session.clone())
            );
            let csrf = session.csrf(&secret());
            assert!(session.check_csrf(&secret(), &csrf));
            let other = LoginLink::new(link.principal.clone(), 43, now(), LINK_LIFETIME)
                .session(now(), SESSION_LIFETIME);
            assert!(
                !other.check_csrf(&secret(), &csrf),
                "another session's token"
            );
            assert!(!session.check_csrf(&secret(), ""));
            assert!(
                !session.check_csrf(&secret(), &token),
                "the session token itself"
            );
        }
    }

    #[test]
    fn the_longest_admin_name_signs_in() {
        let name = AdminName::new(&"𝄞".repeat(MAX_ADMIN_NAME)).unwrap();
        let link = LoginLink::new(Principal::Admin(name), u128::MAX, now(), LINK_LIFETIME);
        let token = link.sign(&secret());
        assert_eq!(
            LoginLink::verify(&secret(), &token, now()),
            Ok(link.clone())
        );
        let session = link.session(now(), SESSION_LIFETIME);
        assert_eq!(
            Session::verify(&secret(), &session.sign(&secret()), now()),
            Ok(session)
        );
    }

    #[test]
    fn admin_names_are_checked() {
        for bad in ["", "  ", "a\nb", "tab\there", &"é".repeat(101)] {
            assert_eq!(
                AdminName::new(bad),
                Err(LoginError::BadAdminName),
                "{bad:?}"
            );
        }
        assert_eq!(
            AdminName::new(&"é".repeat(100))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            100
        );
    }
}
