//! A school in a fresh SQLite database, the app over it with a fixed clock and a recording
//! mailer, and what a test needs to speak to it: sign-in links, cookies, CSRF tokens.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use http_body_util::BodyExt as _;
use rappels_core::domain::parse_instant;
use rappels_core::login::{LINK_LIFETIME, LoginLink, Principal};
use rappels_core::message::Templates;
use rappels_core::scenario::Scenario;
use rappels_core::service::ServiceConfig;
use rappels_core::testing::{FixedClock, MailerMode, RecordingMailer};
use rappels_core::unsubscribe::UnsubscribeSecret;
use rappels_sqlx::{DatabaseUrl, SqlStore};
use tempfile::TempDir;
use tower::ServiceExt as _;

pub(crate) const SECRET: &str = "a test secret of thirty-two bytes";
pub(crate) const API_TOKEN: &str = "platform-feed-token";
pub(crate) const NOW: &str = "2026-11-26T18:45:00Z";

/// Two families: Mariam (10) with Awa (1) and Noah (3); Karim (11) with Lucas (2).
pub(crate) const SCHOOL: &str = r#"{
  "settings": { "timezone": "Europe/Paris" },
  "students": [
    { "id": 1, "first_name": "Awa", "last_name": "Koné", "email": "awa@example.org",
      "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-20T17:03:00Z" },
    { "id": 2, "first_name": "Lucas", "last_name": "Martin", "email": "lucas@example.org",
      "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-25T19:00:00Z" },
    { "id": 3, "first_name": "Noah", "last_name": "Koné", "email": "noah@example.org",
      "locale": "en", "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-26T08:00:00Z", "opt_out": ["weekly"] }
  ],
  "parents": [
    { "id": 10, "first_name": "Mariam", "last_name": "Koné", "email": "mariam@example.org", "children": [1, 3] },
    { "id": 11, "first_name": "Karim", "last_name": "Martin", "email": "karim@example.org", "children": [2] }
  ],
  "sessions": [
    { "id": 100, "student_id": 1, "subject": "Mathématiques", "objective": "Fractions",
      "starts_at": "2026-11-27T14:00:00Z" },
    { "id": 101, "student_id": 2, "subject": "Physique", "starts_at": "2026-11-27T15:00:00Z" },
    { "id": 102, "student_id": 1, "subject": "Anglais", "starts_at": "2026-11-24T16:00:00Z",
      "status": "completed" }
  ]
}"#;

pub(crate) fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

pub(crate) fn secret() -> UnsubscribeSecret {
    UnsubscribeSecret::new(SECRET).unwrap()
}

/// The app over a fresh database holding [`SCHOOL`], and what the tests look at.
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) store: SqlStore,
    pub(crate) mailer: Arc<RecordingMailer>,
    pub(crate) url: String,
    _dir: TempDir,
}

impl App {
    pub(crate) async fn new() -> App {
        Self::with_site("http://localhost:8080").await
    }

    pub(crate) async fn with_site(site_url: &str) -> App {
        Self::build(site_url, None).await
    }

    /// The app with a platform's own sign-in instead of the session cookie.
    pub(crate) async fn with_authentication(
        authenticate: Arc<dyn rappels_web::Authenticate>,
    ) -> App {
        Self::build("http://localhost:8080", Some(authenticate)).await
    }

    async fn build(
        site_url: &str,
        authenticate: Option<Arc<dyn rappels_web::Authenticate>>,
    ) -> App {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rappels.db").display());
        let store = SqlStore::connect(&DatabaseUrl::parse(&url).unwrap())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
            .import(&Scenario::from_json(SCHOOL).unwrap(), t(NOW), &|_| {})
            .await
            .unwrap();
        let mailer = Arc::new(RecordingMailer::new(MailerMode::Accept));
        let state = rappels_web::AppState::new(rappels_web::WebConfig {
            store: store.clone(),
            secret: secret(),
            site_url: site_url.to_owned(),
            mailer: mailer.clone(),
            templates: Templates::embedded(),
            service: ServiceConfig::default(),
            api_token: Some(API_TOKEN.to_owned()),
            clock: Arc::new(FixedClock::new(t(NOW))),
            authenticate,
        });
        App {
            router: rappels_web::router(state),
            store,
            mailer,
            url,
            _dir: dir,
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        Reply::read(response).await
    }

    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub(crate) async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Signs `principal` in through a fresh sign-in link; returns the session cookie.
    pub(crate) async fn sign_in(&self, principal: Principal) -> String {
        let link = LoginLink::new(principal, rand_nonce(), t(NOW), LINK_LIFETIME);
        let reply = self
            .get(&format!("/login?token={}", link.sign(&secret())), None)
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        reply.cookie.expect("a session cookie")
    }

    /// The CSRF token of the forms the home page shows to `cookie` (the sign-out form of
    /// every page carries it).
    pub(crate) async fn csrf(&self, cookie: &str) -> String {
        self.csrf_of_page(cookie, "/repetiteur/rappels/").await
    }

    /// The CSRF token of the forms of the page at `path`.
    pub(crate) async fn csrf_of_page(&self, cookie: &str, path: &str) -> String {
        let page = self.get(path, Some(cookie)).await;
        let marker = "name=\"csrf\" value=\"";
        let start = page.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = page.body[start..].find('"').unwrap() + start;
        page.body[start..end].to_owned()
    }

    /// Rows of a table, counted with SQL.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

/// Nonces of links made in tests: distinct within a process.
fn rand_nonce() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u128::from(NEXT.fetch_add(1, Ordering::SeqCst)) << 64 | 0xabc
}

/// A link that expired a minute before [`NOW`].
pub(crate) fn expired_link(principal: Principal) -> String {
    LoginLink::new(
        principal,
        rand_nonce(),
        t(NOW) - TimeDelta::minutes(31),
        LINK_LIFETIME,
    )
    .sign(&secret())
}

pub(crate) fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A response, read whole.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) location: Option<String>,
    /// The session cookie it sets (`name=value`), if any.
    pub(crate) cookie: Option<String>,
    pub(crate) set_cookie: Vec<String>,
}

impl Reply {
    async fn read(response: Response<Body>) -> Reply {
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookie: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let cookie = set_cookie
            .iter()
            .find(|c| c.starts_with("rappels_session="))
            .map(|c| c.split(';').next().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            location,
            cookie,
            set_cookie,
        }
    }
}
