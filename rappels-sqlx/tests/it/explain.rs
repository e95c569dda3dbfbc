//! `explain_planner` shows every planner query of an instant, and the zones query finds
//! each zone once.

use rappels_core::domain::{Zone, parse_instant};
use rappels_core::plan::PlanWindow;
use rappels_core::ports::Store;
use rappels_core::scenario::Scenario;

use crate::harness::{backends, import};
use crate::parity::dense_scenario;

#[tokio::test]
async fn every_planner_query_of_a_busy_instant_is_explained() {
    // A Sunday evening in the dense scenario's week: sessions, inactivity and digests due.
    let scenario = dense_scenario("{}", 7);
    let at = parse_instant("2026-03-29T18:05:00Z").unwrap();
    for db in backends().await {
        import(&db.store, &scenario).await;
        let settings = scenario.settings.clone();
        let window = PlanWindow::new(at, &settings, db.store.zones(&settings).await.unwrap());
        let plans = db.store.explain_planner(&window, &settings).await.unwrap();
        for expected in [
            "zones of the students",
            "manual requests",
            "recorded keys by manual request",
            "sessions starting in range",
            "students by id",
            "recorded keys by session",
            "inactivity candidates less recorded (plan_parts)",
            "inactivity candidates (plan_input)",
            "weekly candidates less recorded (plan_parts)",
            "weekly candidates (plan_input)",
            "digest sessions by student",
            "recorded keys by slot (plan_input), weekly",
        ] {
            assert!(
                plans.iter().any(|p| p.query.starts_with(expected)),
                "{}: no plan for {expected:?} among {:?}",
                db.name,
                plans.iter().map(|p| &p.query).collect::<Vec<_>>()
            );
        }
        for plan in &plans {
            assert!(
                !plan.plan.is_empty(),
                "{}: {} has no plan",
                db.name,
                plan.query
            );
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn zones_are_those_of_the_students_each_once() {
    let scenario = Scenario::from_json(
        r#"{ "settings": { "timezone": "America/New_York" }, "students": [
            { "id": 1, "first_name": "A", "account_active": true, "subscription_active": true, "email": "a@example.org", "timezone": "Europe/Paris" },
            { "id": 2, "first_name": "B", "account_active": true, "subscription_active": true, "email": "b@example.org" },
            { "id": 3, "first_name": "C", "account_active": true, "subscription_active": true, "email": "c@example.org", "timezone": "Europe/Paris" },
            { "id": 4, "first_name": "D", "account_active": true, "subscription_active": true, "email": "d@example.org", "timezone": "Asia/Kolkata" },
            { "id": 5, "first_name": "E", "account_active": true, "subscription_active": true, "email": "e@example.org" } ] }"#,
    )
    .unwrap();
    for db in backends().await {
        let settings = scenario.settings.clone();
        assert!(
            db.store.zones(&settings).await.unwrap().is_empty(),
            "{}",
            db.name
        );
        import(&db.store, &scenario).await;
        let mut zones = db.store.zones(&settings).await.unwrap();
        zones.sort_by_key(|z| z.name());
        let expected: Vec<Zone> = ["America/New_York", "Asia/Kolkata", "Europe/Paris"]
            .iter()
            .map(|z| Zone::parse(z).unwrap())
            .collect();
        assert_eq!(zones, expected, "{}", db.name);
        db.finish().await;
    }
}
