//! What the web pages read beyond the ports, on both engines: a reminder's stored message,
//! the last message of a kind, preferences and opting back in, the analytics figures.

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::{Family, Kind, StudentId, parse_instant};
use rappels_core::ports::Platform;
use rappels_core::scenario::Scenario;
use rappels_core::service::RunOptions;
use rappels_core::testing::{MailerMode, SMALL_SCHOOL};

use crate::harness::{backends, import};

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

#[tokio::test]
async fn the_pages_read_messages_preferences_and_figures() {
    for db in backends().await {
        import(&db.store, &Scenario::from_json(SMALL_SCHOOL).unwrap()).await;
        let now = t("2026-11-26T18:45:00Z");
        let sender = rappels_core::testing::service_contract::sender(
            db.store.clone(),
            MailerMode::Accept,
            now,
        );
        let report = sender.run(&RunOptions::default()).await.unwrap();
        assert_eq!(report.sent, 4, "{}", db.name);

        // The stored message of a reminder, by its key.
        let key = "session_eve:1:100:2026-11-26";
        let stored = db.store.stored_message(key).await.unwrap().unwrap();
        assert_eq!(stored.entry.key.to_string(), key);
        assert_eq!(stored.kind, Kind::SessionEve);
        assert!(stored.text.contains("Awa"), "{}", stored.text);
        assert!(stored.html.contains("<"), "{}", stored.html);
        assert!(
            db.store
                .stored_message("weekly:1:2026-11-29")
                .await
                .unwrap()
                .is_none()
        );
        let latest = db
            .store
            .latest_message(Kind::Manual)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.entry.key.to_string(), "manual:500");
        assert!(
            db.store
                .latest_message(Kind::Weekly)
                .await
                .unwrap()
                .is_none()
        );

        // Preferences: rappels' own opt-outs can be undone, the platform's cannot.
        let awa = StudentId::new(1).unwrap();
        let prefs = db.store.preferences(awa).await.unwrap().unwrap();
        assert!(Family::ALL.iter().all(|f| prefs.receives(*f)), "{prefs:?}");
        assert!(db.store.opt_out(awa, Family::Weekly).await.unwrap());
        assert!(
            !db.store
                .preferences(awa)
                .await
                .unwrap()
                .unwrap()
                .receives(Family::Weekly)
        );
        assert_eq!(
            db.store.opt_in(awa, Family::Weekly).await.unwrap(),
            Some(true)
        );
        assert_eq!(
            db.store.opt_in(awa, Family::Weekly).await.unwrap(),
            Some(false)
        );
        assert!(
            db.store
                .preferences(awa)
                .await
                .unwrap()
                .unwrap()
                .receives(Family::Weekly)
        );
        let nobody = StudentId::new(99).unwrap();
        assert_eq!(db.store.preferences(nobody).await.unwrap(), None);
        assert_eq!(db.store.opt_in(nobody, Family::Weekly).await.unwrap(), None);

        // Analytics: what was sent, by local day and kind; opt-outs by family.
        db.store.opt_out(awa, Family::Session).await.unwrap();
        let figures = db
            .store
            .analytics(now - TimeDelta::days(30), 3600)
            .await
            .unwrap();
        let day = t("2026-11-26T19:45:00Z").date_naive();
        let sent: u64 = figures.sent.values().sum();
        assert_eq!(sent, 4, "{:?}", figures.sent);
        assert_eq!(
            figures.sent.get(&(day, Kind::Manual)),
            Some(&1),
            "{:?}",
            figures.sent
        );
        assert_eq!(
            figures.opt_outs,
            [
                (Family::Session, 1),
                (Family::Inactivity, 0),
                (Family::Weekly, 0)
            ]
        );
        assert!(figures.errors.is_empty());
        db.finish().await;
    }
}
