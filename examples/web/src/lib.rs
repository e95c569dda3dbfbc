//! The web pages of rappels, as an axum app a platform can mount into its own
//! [`axum::Router`]: what the original system's pages did for each role.
//!
//! - `/repetiteur/rappels/` — a student reads their reminders; a parent reads their
//!   children's and sends one of them a manual reminder; an admin reads everyone's;
//! - `/repetiteur/rappels/enfant/{id}/` — a parent's view of one child;
//! - `/repetiteur/rappels/test/` — a superuser sends a test reminder and runs the sending;
//! - `/repetiteur/rappels/stats/` — the analytics of the admins;
//! - `/preferences` and `/unsubscribe` — a student's choice of reminders, from a signed
//!   link of their e-mails (RFC 8058 one-click included);
//! - `/api/v1/…` — the same as JSON, and the platform's feed of changes.
//!
//! Who is asking is [`Authenticate`]'s to say: by default the signed session cookie that a
//! sign-in link (`rappels login-link`) opens; a platform with its own sign-in plugs it in
//! instead. What each one may do is always decided by `rappels_core::permissions`.

mod api;
mod auth;
mod error;
mod i18n;
mod pages;
mod preferences;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use rappels_core::clock::Clock;
use rappels_core::message::Templates;
use rappels_core::ports::Mailer;
use rappels_core::service::ServiceConfig;
use rappels_core::unsubscribe::UnsubscribeSecret;
use rappels_sqlx::SqlStore;

pub use auth::{Authenticate, SessionCookie};
pub use error::AppError;

/// The largest body `POST /api/v1/changes` takes (a batch of changes), in bytes; larger is
/// refused with 413.
pub const MAX_CHANGES_BODY: usize = 4 << 20;

/// The largest body of any other request (a form), in bytes.
const MAX_FORM_BODY: usize = 64 << 10;

/// What the app runs with.
pub struct WebConfig {
    /// The database the runners use.
    pub store: SqlStore,
    /// The key of sign-in links, sessions, CSRF tokens and unsubscribe links
    /// (`RAPPELS_SECRET`).
    pub secret: UnsubscribeSecret,
    /// The site's public address, without a trailing `/` (`RAPPELS_SITE_URL`): links in
    /// the pages, and whether cookies are `Secure` (when it is `https`).
    pub site_url: String,
    /// The mailer of test e-mails and of "run now".
    pub mailer: Arc<dyn Mailer>,
    /// The templates of the messages.
    pub templates: Templates,
    /// How "run now" sends.
    pub service: ServiceConfig,
    /// The bearer token of `POST /api/v1/changes` (`RAPPELS_API_TOKEN`); `None` turns the
    /// endpoint off.
    pub api_token: Option<String>,
    /// The clock (the system's, or a fixed one in tests).
    pub clock: Arc<dyn Clock>,
    /// Who is asking; `None` for the signed session cookie of sign-in links.
    pub authenticate: Option<Arc<dyn Authenticate>>,
}

/// The state every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: SqlStore,
    secret: UnsubscribeSecret,
    site_url: String,
    secure_cookies: bool,
    mailer: Arc<dyn Mailer>,
    templates: Templates,
    service: ServiceConfig,
    api_token: Option<String>,
    clock: Arc<dyn Clock>,
    authenticate: Arc<dyn Authenticate>,
}

impl AppState {
    /// The state of an app configured by `config`.
    pub fn new(config: WebConfig) -> AppState {
        let secure_cookies = config.site_url.starts_with("https://");
        let authenticate = config.authenticate.unwrap_or_else(|| {
            Arc::new(SessionCookie::new(config.secret.clone())) as Arc<dyn Authenticate>
        });
        AppState(Arc::new(Inner {
            store: config.store,
            secret: config.secret,
            site_url: config.site_url.trim_end_matches('/').to_owned(),
            secure_cookies,
            mailer: config.mailer,
            templates: config.templates,
            service: config.service,
            api_token: config.api_token.filter(|t| !t.is_empty()),
            clock: config.clock,
            authenticate,
        }))
    }
}

/// Every route of the app, to serve alone or to nest into a platform's router (its paths
/// are absolute: merge it, or nest it under a prefix and set `RAPPELS_SITE_URL` to match).
pub fn router(state: AppState) -> Router {
    let changes = Router::new()
        .route("/api/v1/changes", post(api::changes))
        .layer(DefaultBodyLimit::max(MAX_CHANGES_BODY));
    Router::new()
        .route("/", get(pages::root))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/login", get(auth::login))
        .route("/logout", post(auth::logout))
        .route("/repetiteur/rappels/", get(pages::home))
        .route("/repetiteur/rappels/manuel/", post(pages::send_manual))
        .route("/repetiteur/rappels/rappel/{key}/", get(pages::reminder))
        .route("/repetiteur/rappels/enfant/{id}/", get(pages::child))
        .route(
            "/repetiteur/rappels/test/",
            get(pages::test_page).post(pages::send_test),
        )
        .route("/repetiteur/rappels/test/run/", post(pages::run_now))
        .route("/repetiteur/rappels/stats/", get(pages::stats))
        .route(
            "/preferences",
            get(preferences::page).post(preferences::change),
        )
        .route(
            "/unsubscribe",
            get(preferences::unsubscribe_page).post(preferences::unsubscribe),
        )
        .route("/api/v1/history", get(api::history))
        .route("/api/v1/children/{id}/reminders", get(api::child_reminders))
        .route("/api/v1/stats", get(api::stats))
        .route("/api/v1/manual", post(api::manual))
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .merge(changes)
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(i18n::remember_language))
        .with_state(state)
}
