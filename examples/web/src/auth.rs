//! Who is asking: sign-in links turned into a signed session cookie, the [`Authenticate`]
//! trait a platform implements to use its own sign-in instead, and the CSRF token every
//! form carries.

use async_trait::async_trait;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Utc};
use rappels_core::login::{LoginLink, Principal, SESSION_LIFETIME, Session};
use rappels_core::permissions::Actor;
use rappels_core::ports::Platform;
use rappels_core::unsubscribe::UnsubscribeSecret;
use serde::Deserialize;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::{AppState, Inner};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "rappels_session";

/// Who sends a request: the one thing a platform with its own sign-in implements to use
/// these pages. It returns the session of the request — who, and an identity for the CSRF
/// tokens of their forms (a hash of the platform's own session id makes a good `nonce`) —
/// or `None` for nobody.
#[async_trait]
pub trait Authenticate: Send + Sync + 'static {
    /// The session of the request whose head is `parts`, at `now`.
    async fn session(&self, parts: &Parts, now: DateTime<Utc>) -> Option<Session>;
}

/// The default: the signed session cookie that `/login` sets from a sign-in link.
pub struct SessionCookie {
    secret: UnsubscribeSecret,
}

impl SessionCookie {
    /// Sessions signed with `secret`.
    pub fn new(secret: UnsubscribeSecret) -> Self {
        SessionCookie { secret }
    }
}

#[async_trait]
impl Authenticate for SessionCookie {
    async fn session(&self, parts: &Parts, now: DateTime<Utc>) -> Option<Session> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar.get(SESSION_COOKIE)?.value().to_owned();
        match Session::verify(&self.secret, &token, now) {
            Ok(session) => Some(session),
            Err(error) => {
                tracing::info!(%error, "session cookie refused");
                None
            }
        }
    }
}

/// A signed-in visitor: their session, the actor the rules judge, and the page language.
pub(crate) struct Visitor {
    pub(crate) session: Session,
    pub(crate) actor: Actor,
    pub(crate) name: String,
    pub(crate) lang: Lang,
}

impl Visitor {
    /// The CSRF token of this visitor's forms.
    pub(crate) fn csrf(&self, state: &AppState) -> String {
        self.session.csrf(&state.0.secret)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub(crate) fn check_csrf(&self, state: &AppState, token: &str) -> Result<(), AppError> {
        if self.session.check_csrf(&state.0.secret, token) {
            Ok(())
        } else {
            tracing::warn!(who = %self.session.principal, "form refused: missing or wrong CSRF token");
            Err(AppError::BadRequest(self.lang.words().bad_form.to_owned()))
        }
    }

    /// The name the pages greet.
    pub(crate) fn name(&self) -> String {
        self.name.clone()
    }
}

/// The actor of a principal, as the database knows them now — a parent with the children
/// the database lists (so a link issued before a child was unlinked reaches them no more),
/// a student who exists, an admin as the superuser a sign-in link makes — and the name
/// the pages greet them by.
async fn actor_of(
    inner: &Inner,
    principal: &Principal,
) -> Result<Option<(Actor, String)>, AppError> {
    Ok(match principal {
        Principal::Student(id) => {
            let now = inner.clock.now();
            Platform::explain_input(&inner.store, *id, now, now, now)
                .await?
                .and_then(|input| input.students.get(id).map(|s| s.full_name()))
                .map(|name| (Actor::Student(*id), name))
        }
        Principal::Parent(id) => Platform::parent(&inner.store, *id).await?.map(|parent| {
            let name = format!("{} {}", parent.first_name, parent.last_name);
            (Actor::from(&parent), name.trim().to_owned())
        }),
        Principal::Admin(name) => Some((Actor::Admin { superuser: true }, name.to_string())),
    })
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::of(parts);
        let inner = &state.0;
        let now = inner.clock.now();
        let session = inner.authenticate.session(parts, now).await;
        let Some(session) = session else {
            return Err(AppError::SignedOut.page(lang));
        };
        match actor_of(inner, &session.principal).await {
            Ok(Some((actor, name))) => Ok(Visitor {
                session,
                actor,
                name,
                lang,
            }),
            Ok(None) => Err(AppError::SignedOut.page(lang)),
            Err(error) => Err(error.page(lang)),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: a sign-in link, checked (signature, expiry) by core, redeemed once
/// by the store, turned into the session cookie; then the visitor's home page.
pub(crate) async fn login(
    State(state): State<AppState>,
    lang: Lang,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Result<Response, Response> {
    let inner = &state.0;
    let words = lang.words();
    let now = inner.clock.now();
    let bad = |why: &str| AppError::BadRequest(why.to_owned()).page(lang);
    let token = query.token.unwrap_or_default();
    let link = LoginLink::verify(&inner.secret, &token, now).map_err(|error| {
        tracing::warn!(%error, "sign-in link refused");
        bad(words.bad_link)
    })?;
    let first = inner
        .store
        .redeem_login_link(&link, now)
        .await
        .map_err(|e| AppError::from(e).page(lang))?;
    if !first {
        tracing::warn!(who = %link.principal, "sign-in link used twice: refused");
        return Err(bad(words.used_link));
    }
    if actor_of(inner, &link.principal)
        .await
        .map_err(|e| e.page(lang))?
        .is_none()
    {
        return Err(bad(words.bad_link));
    }
    let session = link.session(now, SESSION_LIFETIME);
    tracing::info!(who = %session.principal, "signed in");
    let cookie = Cookie::build((SESSION_COOKIE, session.sign(&inner.secret)))
        .path("/")
        .http_only(true)
        .secure(inner.secure_cookies)
        .same_site(SameSite::Lax);
    let home = match session.principal {
        Principal::Admin(_) => "/repetiteur/rappels/stats/",
        _ => "/repetiteur/rappels/",
    };
    Ok((jar.add(cookie), Redirect::to(home)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: forgets the session cookie.
pub(crate) async fn logout(
    State(state): State<AppState>,
    visitor: Visitor,
    jar: CookieJar,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Result<Response, Response> {
    visitor
        .check_csrf(&state, &form.csrf)
        .map_err(|e| e.page(visitor.lang))?;
    tracing::info!(who = %visitor.session.principal, "signed out");
    let gone = Cookie::build((SESSION_COOKIE, "")).path("/");
    Ok((jar.remove(gone), Redirect::to("/repetiteur/rappels/")).into_response())
}
