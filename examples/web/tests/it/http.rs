//! Every permission rule of the pages and the API, over HTTP: each refusal with its status,
//! and nothing written.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rappels_core::domain::{Family, ParentId, StudentId};
use rappels_core::login::{AdminName, Principal};
use rappels_core::unsubscribe;

use crate::support::{API_TOKEN, App, expired_link, secret};

fn student(id: i64) -> Principal {
    Principal::Student(StudentId::new(id).unwrap())
}

fn parent(id: i64) -> Principal {
    Principal::Parent(ParentId::new(id).unwrap())
}

fn admin() -> Principal {
    Principal::Admin(AdminName::new("Mme Diallo").unwrap())
}

#[tokio::test]
async fn a_sign_in_link_opens_a_session_once() {
    let app = App::new().await;
    let link = rappels_core::login::LoginLink::new(
        parent(10),
        7,
        crate::support::t(crate::support::NOW),
        rappels_core::login::LINK_LIFETIME,
    )
    .sign(&secret());
    let first = app.get(&format!("/login?token={link}"), None).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location.as_deref(), Some("/repetiteur/rappels/"));
    let cookie = &first.set_cookie[0];
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    // Single use.
    let again = app.get(&format!("/login?token={link}"), None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("déjà servi"), "{}", again.body);
    assert!(again.cookie.is_none());
    // Tampered, expired, of someone unknown, or no token at all.
    let mut tampered = link.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for token in [
        tampered,
        expired_link(parent(10)),
        rappels_core::login::LoginLink::new(
            parent(99),
            8,
            crate::support::t(crate::support::NOW),
            rappels_core::login::LINK_LIFETIME,
        )
        .sign(&secret()),
        String::new(),
    ] {
        let reply = app.get(&format!("/login?token={token}"), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{token}");
        assert!(reply.cookie.is_none());
        assert!(!reply.body.contains("panicked") && reply.body.contains("<html"));
    }
    // Over https, the cookie is Secure.
    let https = App::with_site("https://ecole.example.org").await;
    let link = rappels_core::login::LoginLink::new(
        admin(),
        9,
        crate::support::t(crate::support::NOW),
        rappels_core::login::LINK_LIFETIME,
    )
    .sign(&secret());
    let reply = https.get(&format!("/login?token={link}"), None).await;
    assert!(
        reply.set_cookie[0].contains("Secure"),
        "{:?}",
        reply.set_cookie
    );
    assert_eq!(
        reply.location.as_deref(),
        Some("/repetiteur/rappels/stats/")
    );
}

#[tokio::test]
async fn a_forged_or_missing_session_is_signed_out() {
    let app = App::new().await;
    let no_one = app.get("/repetiteur/rappels/", None).await;
    assert_eq!(no_one.status, StatusCode::UNAUTHORIZED);
    let cookie = app.sign_in(parent(10)).await;
    let (name, value) = cookie.split_once('=').unwrap();
    // The payload names another parent, the signature is the first one's.
    let (_, tag) = value.split_once('.').unwrap();
    let other = app.sign_in(parent(11)).await;
    let (other_payload, _) = other.split_once('=').unwrap().1.split_once('.').unwrap();
    let forged = format!("{name}={other_payload}.{tag}");
    let foreign = {
        let key =
            rappels_core::unsubscribe::UnsubscribeSecret::new("another secret, same length..")
                .unwrap();
        let session = rappels_core::login::LoginLink::new(
            parent(10),
            1,
            crate::support::t(crate::support::NOW),
            rappels_core::login::LINK_LIFETIME,
        )
        .session(
            crate::support::t(crate::support::NOW),
            rappels_core::login::SESSION_LIFETIME,
        );
        format!("{name}={}", session.sign(&key))
    };
    for bad in [forged, foreign, format!("{name}=garbage")] {
        let reply = app.get("/repetiteur/rappels/", Some(&bad)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bad}");
        let api = app.get("/api/v1/history", Some(&bad)).await;
        assert_eq!(api.status, StatusCode::UNAUTHORIZED);
        assert!(api.body.starts_with("{\"error\""), "{}", api.body);
    }
    let fine = app.get("/repetiteur/rappels/", Some(&cookie)).await;
    assert_eq!(fine.status, StatusCode::OK);
    assert!(fine.body.contains("Mariam Koné"), "greeted by name");
}

#[tokio::test]
async fn a_parent_reaches_only_their_own_children() {
    let app = App::new().await;
    let mariam = app.sign_in(parent(10)).await;
    let own = app
        .get("/repetiteur/rappels/enfant/1/", Some(&mariam))
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(
        own.body.contains("Awa Koné") && own.body.contains("Mathématiques"),
        "{}",
        own.body
    );
    // This week (Monday 23 to Sunday 29 November): English on Tuesday done, Mathematics on
    // Friday to come, nothing missed.
    for figure in [
        "<strong>1</strong> séances faites",
        "<strong>0</strong> séances manquées",
        "<strong>1</strong> séances prévues",
    ] {
        assert!(own.body.contains(figure), "{figure}: {}", own.body);
    }
    for path in [
        "/repetiteur/rappels/enfant/2/",
        "/repetiteur/rappels/enfant/99/",
        "/repetiteur/rappels/enfant/abc/",
        "/api/v1/children/2/reminders",
    ] {
        let reply = app.get(path, Some(&mariam)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let history = app.get("/api/v1/history?student=2", Some(&mariam)).await;
    assert_eq!(history.status, StatusCode::FORBIDDEN, "{}", history.body);
    // A student has no child page.
    let awa = app.sign_in(student(1)).await;
    let reply = app.get("/repetiteur/rappels/enfant/1/", Some(&awa)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_parent_cannot_write_for_another_family_nor_without_the_forms_token() {
    let app = App::new().await;
    let mariam = app.sign_in(parent(10)).await;
    let csrf = app.csrf(&mariam).await;
    let form = |student: &'static str, csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("student", student.to_owned()),
            ("title", "Révise".to_owned()),
            ("message", "Courage".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        let mariam = &mariam;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form("/repetiteur/rappels/manuel/", Some(mariam), &pairs)
                .await
        }
    };
    let other_family = post(form("2", &csrf)).await;
    assert_eq!(other_family.status, StatusCode::FORBIDDEN);
    assert!(
        other_family.body.contains("id=\"student-error\""),
        "{}",
        other_family.body
    );
    assert!(
        other_family
            .body
            .contains("n&#39;est pas l&#39;un de vos enfants"),
        "{}",
        other_family.body
    );
    let karim = app.sign_in(parent(11)).await;
    let karims_token = app.csrf(&karim).await;
    for bad in [String::new(), karims_token, "x.y".to_owned()] {
        let reply = post(form("1", &bad)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The API checks the same rules.
    let api = app
        .send(
            Request::post("/api/v1/manual")
                .header(header::COOKIE, &mariam)
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-csrf-token", &csrf)
                .body(Body::from(
                    r#"{"student_id": 2, "title": "t", "message": "m"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.body);
    let no_token = app
        .send(
            Request::post("/api/v1/manual")
                .header(header::COOKIE, &mariam)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"student_id": 1, "title": "t", "message": "m"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::BAD_REQUEST);
    // A student cannot send one at all.
    let awa = app.sign_in(student(1)).await;
    let awas_token = app.csrf_of_page(&awa, "/preferences").await;
    let reply = app
        .post_form(
            "/repetiteur/rappels/manuel/",
            Some(&awa),
            &[
                ("csrf", &awas_token),
                ("student", "1"),
                ("title", "t"),
                ("message", "m"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("manual_requests").await, 0, "nothing was written");
}

#[tokio::test]
async fn the_manual_form_shows_each_refusal_next_to_its_field() {
    let app = App::new().await;
    let mariam = app.sign_in(parent(10)).await;
    let csrf = app.csrf(&mariam).await;
    let send = |title: String, message: &'static str| {
        let app = &app;
        let mariam = &mariam;
        let csrf = &csrf;
        async move {
            app.post_form(
                "/repetiteur/rappels/manuel/",
                Some(mariam),
                &[
                    ("csrf", csrf),
                    ("student", "1"),
                    ("title", &title),
                    ("message", message),
                ],
            )
            .await
        }
    };
    for (title, message, field) in [
        ("Révise\nce soir".to_owned(), "ok", "title-error"),
        ("x".repeat(201), "ok", "title-error"),
        ("Révise".to_owned(), " ", "message-error"),
    ] {
        let reply = send(title.clone(), message).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{title:?}");
        assert!(
            reply.body.contains(&format!("id=\"{field}\"")),
            "{}",
            reply.body
        );
        assert!(reply.body.contains(&title), "the form keeps what was typed");
    }
    assert_eq!(app.count("manual_requests").await, 0);
    // Five a day per child (manual_max_per_day), then the limit, in words.
    for i in 0..5 {
        let reply = send(format!("Révise {i}"), "Courage").await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        assert_eq!(
            reply.location.as_deref(),
            Some("/repetiteur/rappels/enfant/1/?envoye=1")
        );
    }
    let limited = send("Encore".to_owned(), "Courage").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("nombre maximal"), "{}", limited.body);
    assert_eq!(app.count("manual_requests").await, 5);
    let child = app
        .get("/repetiteur/rappels/enfant/1/?envoye=1", Some(&mariam))
        .await;
    assert!(
        child.body.contains("Révise 4") && child.body.contains("id=\"notice\""),
        "{}",
        child.body
    );
}

#[tokio::test]
async fn a_student_reads_only_their_own_reminders() {
    let app = App::new().await;
    let boss = app.sign_in(admin()).await;
    let csrf = app.csrf(&boss).await;
    let run = app
        .post_form(
            "/repetiteur/rappels/test/run/",
            Some(&boss),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert!(!app.mailer.messages().is_empty(), "the run sent something");
    let page = "/repetiteur/rappels/rappel/session_eve:1:100:2026-11-26/";
    let awa = app.sign_in(student(1)).await;
    let own = app.get(page, Some(&awa)).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(
        own.body.contains("id=\"text-part\"") && own.body.contains("Awa"),
        "{}",
        own.body
    );
    assert!(
        own.body.contains("srcdoc=\"&#60;!DOCTYPE html&#62;"),
        "the HTML part is escaped into a sandboxed frame: {}",
        own.body
    );
    let lucas = app.sign_in(student(2)).await;
    let theirs = app.get(page, Some(&lucas)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let karim = app.sign_in(parent(11)).await;
    let theirs = app.get(page, Some(&karim)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let api = app.get("/api/v1/history?student=1", Some(&lucas)).await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    let mine = app.get("/api/v1/history", Some(&awa)).await;
    let lines: serde_json::Value = serde_json::from_str(&mine.body).unwrap();
    assert!(
        lines
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["student_id"] == 1),
        "{lines}"
    );
    assert!(!lines.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn only_a_superuser_tests_the_sending_and_only_staff_read_statistics() {
    let app = App::new().await;
    for who in [student(1), parent(10)] {
        let cookie = app.sign_in(who.clone()).await;
        for path in [
            "/repetiteur/rappels/test/",
            "/repetiteur/rappels/stats/",
            "/api/v1/stats",
        ] {
            let reply = app.get(path, Some(&cookie)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{who} {path}");
        }
        let csrf = app.csrf_of_page(&cookie, "/repetiteur/rappels/").await;
        let reply = app
            .post_form(
                "/repetiteur/rappels/test/run/",
                Some(&cookie),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    assert!(app.mailer.messages().is_empty(), "nothing was sent");
    let boss = app.sign_in(admin()).await;
    let csrf = app.csrf(&boss).await;
    let test = app
        .post_form(
            "/repetiteur/rappels/test/",
            Some(&boss),
            &[
                ("csrf", &csrf),
                ("kind", "weekly"),
                ("address", "boss@example.org"),
                ("locale", "fr"),
            ],
        )
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.body);
    assert!(test.body.contains("250 2.0.0 Ok"), "{}", test.body);
    let sent = app.mailer.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.to_string(), "boss@example.org");
    let run = app
        .post_form(
            "/repetiteur/rappels/test/run/",
            Some(&boss),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(run.body.contains("id=\"report\""), "{}", run.body);
    let stats = app.get("/repetiteur/rappels/stats/", Some(&boss)).await;
    assert_eq!(stats.status, StatusCode::OK);
    assert!(
        stats.body.contains("<svg") && stats.body.contains("<rect"),
        "{}",
        stats.body
    );
    let api = app.get("/api/v1/stats", Some(&boss)).await;
    let figures: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert!(figures["sent_in_period"].as_u64().unwrap() > 0, "{figures}");
}

/// Whether Awa (student 1) receives `family`, as the database says.
async fn receives(app: &App, family: Family) -> bool {
    let awa = StudentId::new(1).unwrap();
    let preferences = app.store.preferences(awa).await.unwrap().unwrap();
    preferences.receives(family)
}

#[tokio::test]
async fn one_click_unsubscribe_and_the_preference_page() {
    let app = App::new().await;
    let awa = StudentId::new(1).unwrap();
    let token = unsubscribe::sign(&secret(), awa, Family::Weekly);
    // A GET (a mail scanner following the link) changes nothing.
    let page = app.get(&format!("/unsubscribe?token={token}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"confirm\""));
    assert!(receives(&app, Family::Weekly).await);
    // RFC 8058: the mail client posts List-Unsubscribe=One-Click.
    let done = app
        .post_form(
            &format!("/unsubscribe?token={token}"),
            None,
            &[("List-Unsubscribe", "One-Click")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(!receives(&app, Family::Weekly).await);
    // The preference page, from the footer's link: back in.
    let prefs = app.get(&format!("/preferences?token={token}"), None).await;
    assert!(
        prefs.body.contains("id=\"resume-weekly\""),
        "{}",
        prefs.body
    );
    let back = app
        .post_form(
            "/preferences",
            None,
            &[("token", &token), ("family", "weekly"), ("receive", "yes")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert!(receives(&app, Family::Weekly).await);
    // What the school recorded is shown, not offered.
    let noah = unsubscribe::sign(&secret(), StudentId::new(3).unwrap(), Family::Session);
    let page = app
        .get(&format!("/preferences?token={noah}&lang=en"), None)
        .await;
    assert!(
        page.body.contains("recorded by your school"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"resume-weekly\""));
    // A tampered token changes nothing.
    let mut forged = token.clone().into_bytes();
    forged[0] = if forged[0] == b'd' { b'e' } else { b'd' };
    let forged = String::from_utf8(forged).unwrap();
    for reply in [
        app.post_form(&format!("/unsubscribe?token={forged}"), None, &[])
            .await,
        app.post_form(
            "/preferences",
            None,
            &[("token", &forged), ("family", "weekly"), ("receive", "no")],
        )
        .await,
    ] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
    assert!(receives(&app, Family::Weekly).await);
    // Signed in: only the student; the parent is refused, and a form needs its CSRF token.
    let mariam = app.sign_in(parent(10)).await;
    assert_eq!(
        app.get("/preferences", Some(&mariam)).await.status,
        StatusCode::FORBIDDEN
    );
    let signed = app.sign_in(student(1)).await;
    let no_csrf = app
        .post_form(
            "/preferences",
            Some(&signed),
            &[("family", "session"), ("receive", "no")],
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::BAD_REQUEST);
    let csrf = app.csrf_of_page(&signed, "/preferences").await;
    let stop = app
        .post_form(
            "/preferences",
            Some(&signed),
            &[("csrf", &csrf), ("family", "session"), ("receive", "no")],
        )
        .await;
    assert_eq!(stop.status, StatusCode::SEE_OTHER);
    assert!(!receives(&app, Family::Session).await);
}

#[tokio::test]
async fn the_feed_of_changes_needs_its_bearer_token_and_a_bounded_body() {
    let app = App::new().await;
    let line = r#"{"activity": {"student_id": 1, "at": "2026-11-26T18:00:00Z"}}"#;
    let post = |auth: Option<String>, body: String| {
        let mut request = Request::post("/api/v1/changes");
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        request.body(Body::from(body)).unwrap()
    };
    for auth in [
        None,
        Some("Bearer wrong".to_owned()),
        Some(API_TOKEN.to_owned()),
    ] {
        let reply = app.send(post(auth.clone(), line.to_owned())).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    let bearer = Some(format!("Bearer {API_TOKEN}"));
    let bad = app
        .send(post(
            bearer.clone(),
            format!("{line}\n{{\"student\": 3}}\n"),
        ))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("\"line\":2"), "{}", bad.body);
    let huge = "\n".repeat(rappels_web::MAX_CHANGES_BODY + 1);
    let reply = app.send(post(bearer.clone(), huge)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let ok = app.send(post(bearer, format!("{line}\n"))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let report: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(report["written"], 1, "{report}");
}

#[tokio::test]
async fn errors_are_pages_in_the_readers_language() {
    let app = App::new().await;
    let reply = app.get("/nowhere", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(
        reply.body.contains("Cette page n&#39;existe pas."),
        "{}",
        reply.body
    );
    let english = app
        .send(
            Request::get("/nowhere")
                .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.8")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        english.body.contains("This page does not exist."),
        "{}",
        english.body
    );
}

/// A platform's own sign-in: here, a header its proxy sets. The same pages, the same rules.
struct PlatformHeader;

#[async_trait::async_trait]
impl rappels_web::Authenticate for PlatformHeader {
    async fn session(
        &self,
        parts: &axum::http::request::Parts,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<rappels_core::login::Session> {
        let who = parts.headers.get("x-platform-user")?.to_str().ok()?;
        let id = who.strip_prefix("parent:")?.parse().ok()?;
        Some(rappels_core::login::Session {
            principal: parent(id),
            nonce: 42,
            expires_at: now + chrono::TimeDelta::hours(1),
        })
    }
}

#[tokio::test]
async fn a_platform_plugs_in_its_own_sign_in() {
    let app = App::with_authentication(std::sync::Arc::new(PlatformHeader)).await;
    let as_user = |path: &str, user: Option<&str>| {
        let mut request = Request::get(path);
        if let Some(user) = user {
            request = request.header("x-platform-user", user);
        }
        request.body(Body::empty()).unwrap()
    };
    let mariam = app
        .send(as_user("/repetiteur/rappels/enfant/1/", Some("parent:10")))
        .await;
    assert_eq!(mariam.status, StatusCode::OK, "{}", mariam.body);
    assert!(mariam.body.contains("Awa Koné"));
    let other = app
        .send(as_user("/repetiteur/rappels/enfant/2/", Some("parent:10")))
        .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "the rules still decide"
    );
    let nobody = app.send(as_user("/repetiteur/rappels/", None)).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    // The session cookie of sign-in links means nothing to this app.
    let cookie_app = App::new().await;
    let cookie = cookie_app.sign_in(parent(10)).await;
    let reply = app.get("/repetiteur/rappels/", Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
