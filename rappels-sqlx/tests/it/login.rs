//! Sign-in links are single-use on both engines: a nonce is redeemed once, and forgotten once
//! its link has expired.

use chrono::TimeDelta;
use rappels_core::domain::{StudentId, parse_instant};
use rappels_core::login::{LINK_LIFETIME, LoginLink, Principal};

use crate::harness::backends;

#[tokio::test]
async fn a_login_link_is_redeemed_once() {
    let now = parse_instant("2026-12-07T10:00:00Z").unwrap();
    for db in backends().await {
        let student = Principal::Student(StudentId::new(1).unwrap());
        let link = LoginLink::new(student.clone(), 0xfeed, now, LINK_LIFETIME);
        let other = LoginLink::new(student, 0xbeef, now, LINK_LIFETIME);
        assert!(db.store.redeem_login_link(&link, now).await.unwrap());
        assert!(
            !db.store.redeem_login_link(&link, now).await.unwrap(),
            "used twice"
        );
        assert!(
            db.store.redeem_login_link(&other, now).await.unwrap(),
            "another link"
        );
        // Once expired, the nonce is forgotten: the link itself is refused by its expiry
        // (LoginLink::verify) before the store is asked.
        let later = now + LINK_LIFETIME + TimeDelta::seconds(1);
        let fresh = LoginLink::new(link.principal.clone(), 0xfeed, later, LINK_LIFETIME);
        assert!(db.store.redeem_login_link(&fresh, later).await.unwrap());
        db.finish().await;
    }
}
