//! A parent's and an admin's visit in headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven over WebDriver with fantoccini: the parent signs in with a
//! link, sends a manual reminder to their child, sees the refusal of a second one whose
//! title holds a line break, and finds the first on the child's page; the admin runs the
//! sending and opens the analytics page, whose chart is there. Screenshots are saved in
//! `target/tmp/screenshots/`.
//!
//! Without Chromium the test says in one line that it did not run; `.ci/run` installs it
//! and sets `RAPPELS_TEST_BROWSER`, under which a missing browser is a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use rappels_core::domain::ParentId;
use rappels_core::login::{AdminName, LINK_LIFETIME, LoginLink, Principal};
use serde_json::json;

use crate::support::{App, NOW, secret, t};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, stopped when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let path = screenshots().join(name);
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

/// The text of the element `css` selects, waiting (up to the default 30 s) for the page
/// that holds it: after a click, the browser navigates on its own time.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Clicks the element `css` selects, once the page holds it.
async fn click(client: &Client, css: &str) {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Types `text` into the field `css` selects.
async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

fn link(principal: Principal, nonce: u128) -> String {
    LoginLink::new(principal, nonce, t(NOW), LINK_LIFETIME).sign(&secret())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_and_an_admin_in_chromium() {
    let required = std::env::var_os("RAPPELS_TEST_BROWSER").is_some();
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            !required,
            "RAPPELS_TEST_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        println!(
            "browser test did not run: install Debian's chromium and chromium-driver to run it"
        );
        eprintln!(
            "browser test did not run: install Debian's chromium and chromium-driver to run it"
        );
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = App::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let port = free_port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900", "--lang=fr-FR"],
            "prefs": { "intl.accept_languages": "fr-FR,fr" },
        }),
    );
    let client = ClientBuilder::rustls()
        .expect("a WebDriver client")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");

    // The parent signs in with a link and lands on their children's reminders.
    let mariam = Principal::Parent(ParentId::new(10).unwrap());
    client
        .goto(&format!("{base}/login?token={}", link(mariam, 1)))
        .await
        .unwrap();
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/repetiteur/rappels/"
    );
    assert_eq!(text_of(&client, "h1").await, "Les rappels de mes enfants");
    shot(&client, "1-parent-home.png").await;

    // A manual reminder to Awa.
    click(&client, "#student option[value='1']").await;
    type_into(&client, "#title", "Révise tes fractions").await;
    type_into(&client, "#message", "Le contrôle est vendredi, courage !").await;
    click(&client, "#manual-form button[type=submit]").await;
    assert!(text_of(&client, "#notice").await.contains("enregistré"));
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/repetiteur/rappels/enfant/1/"
    );
    shot(&client, "2-sent-child-page.png").await;

    // A second one whose title holds a line break: refused in words, next to the title.
    client
        .goto(&format!("{base}/repetiteur/rappels/"))
        .await
        .unwrap();
    // A browser strips line breaks from a one-line field, so the field becomes a text area
    // (as a forged or older form would send): the server must refuse what it receives.
    client
        .execute(
            "const field = document.createElement('textarea'); \
             field.name = 'title'; field.id = 'title'; field.value = arguments[0]; \
             document.getElementById('title').replaceWith(field); \
             document.getElementById('message').value = arguments[1];",
            vec![json!("Révise\nce soir"), json!("Encore un effort")],
        )
        .await
        .unwrap();
    click(&client, "#manual-form button[type=submit]").await;
    let refusal = text_of(&client, "#title-error").await;
    assert!(refusal.contains("une seule ligne"), "{refusal}");
    shot(&client, "3-refused-line-break.png").await;
    assert_eq!(
        app.count("manual_requests").await,
        1,
        "the refusal wrote nothing"
    );

    // The first is on the child's page.
    click(&client, "a[href='/repetiteur/rappels/enfant/1/']").await;
    let requested = text_of(&client, "#requested").await;
    assert!(requested.contains("Révise tes fractions"), "{requested}");
    // As on a phone.
    client.set_window_size(390, 844).await.unwrap();
    shot(&client, "4-child-page-phone.png").await;
    client.set_window_size(1200, 900).await.unwrap();

    // The admin runs the sending, then reads the analytics: the chart is there.
    client.delete_all_cookies().await.unwrap();
    let admin = Principal::Admin(AdminName::new("Mme Diallo").unwrap());
    client
        .goto(&format!("{base}/login?token={}", link(admin, 2)))
        .await
        .unwrap();
    text_of(&client, "svg#chart").await;
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/repetiteur/rappels/stats/"
    );
    client
        .goto(&format!("{base}/repetiteur/rappels/test/"))
        .await
        .unwrap();
    click(
        &client,
        "form[action='/repetiteur/rappels/test/run/'] button",
    )
    .await;
    let report = text_of(&client, "#report").await;
    assert!(report.contains("Enregistrés"), "{report}");
    shot(&client, "5-run-now.png").await;
    assert!(
        app.mailer
            .messages()
            .iter()
            .any(|m| m.message.subject.contains("Révise tes fractions")),
        "the manual reminder went out"
    );
    client
        .goto(&format!("{base}/repetiteur/rappels/stats/"))
        .await
        .unwrap();
    text_of(&client, "svg#chart").await;
    let bars = client
        .find_all(Locator::Css("svg#chart rect"))
        .await
        .unwrap();
    assert!(!bars.is_empty(), "the chart has bars");
    shot(&client, "6-analytics.png").await;
    client.close().await.unwrap();
}
