//! `rappels login-link`: a signed, expiring link for someone the database knows.

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::login::LoginLink;
use rappels_core::unsubscribe::UnsubscribeSecret;

use crate::fixture;
use crate::support::{TestDb, cli, import, stderr, succeeded};

const SECRET: &str = "a secret of thirty-two characters";

fn login_link(db: &TestDb, args: &[&str], secret: Option<&str>) -> std::process::Output {
    let mut cmd = cli();
    cmd.args(["login-link", "--database-url", &db.url])
        .args(args)
        .env("RAPPELS_SITE_URL", "https://ecole.example.org/");
    if let Some(secret) = secret {
        cmd.env("RAPPELS_SECRET", secret);
    }
    cmd.output().unwrap()
}

fn token(url: &str) -> &str {
    url.trim()
        .strip_prefix("https://ecole.example.org/login?token=")
        .unwrap_or_else(|| panic!("{url}"))
}

#[test]
fn a_login_link_signs_in_whom_it_names_until_it_expires() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let secret = UnsubscribeSecret::new(SECRET).unwrap();
    // The links are checked at the epoch, long before they expire; their lifetimes are
    // compared with each other, which needs no clock here.
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let mut expiries = Vec::new();
    for (args, expected) in [
        (&["--parent", "10"][..], "parent:10"),
        (&["--student", "3", "--minutes", "5"], "student:3"),
        (&["--admin", "Mme Diallo"], "admin:Mme Diallo"),
    ] {
        let out = succeeded(login_link(&db, args, Some(SECRET)), "login-link");
        let link = LoginLink::verify(&secret, token(&out), epoch).unwrap();
        assert_eq!(link.principal.to_string(), expected);
        assert!(
            LoginLink::verify(&secret, token(&out), link.expires_at).is_err(),
            "expired"
        );
        expiries.push(link.expires_at);
    }
    let five_then_thirty = expiries[2] - expiries[1];
    assert!(
        five_then_thirty >= TimeDelta::minutes(25) && five_then_thirty < TimeDelta::minutes(26),
        "{five_then_thirty}"
    );
    // Two links for one person are two links (their nonces differ).
    let first = succeeded(login_link(&db, &["--parent", "10"], Some(SECRET)), "first");
    let second = succeeded(login_link(&db, &["--parent", "10"], Some(SECRET)), "second");
    assert_ne!(first, second);
}

#[test]
fn a_login_link_needs_the_secret_and_someone_the_database_knows() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    for (args, secret, says) in [
        (&["--parent", "10"][..], None, "RAPPELS_SECRET is not set"),
        (
            &["--parent", "11"],
            Some(SECRET),
            "parent 11 is not in the database",
        ),
        (
            &["--student", "9"],
            Some(SECRET),
            "student 9 is not in the database",
        ),
        (&["--admin", " "], Some(SECRET), "--admin: an admin name"),
        (
            &["--parent", "10", "--student", "1"],
            Some(SECRET),
            "cannot be used with",
        ),
        (&[], Some(SECRET), "required"),
    ] {
        let out = login_link(&db, args, secret);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}
