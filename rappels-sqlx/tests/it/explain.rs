//! The planner's queries: `explain_planner` shows every one of an instant, the zones query
//! finds each zone once, and every session keeps its student's zone (migration 0004) through
//! imports, settings changes and new sessions.

use rappels_core::domain::{StudentId, StudyPlanId, Zone, parse_instant};
use rappels_core::plan::PlanWindow;
use rappels_core::ports::Platform;
use rappels_core::scenario::Scenario;
use rappels_core::schedule::NewSession;
use rappels_sqlx::SqlStore;

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

/// Sessions whose zone is not their student's, and all sessions.
async fn sessions_out_of_zone(store: &SqlStore) -> (i64, i64) {
    let wrong = "SELECT COUNT(*) FROM sessions s JOIN students st ON st.id = s.student_id \
                 WHERE s.zone <> st.zone";
    let all = "SELECT COUNT(*) FROM sessions";
    match store {
        SqlStore::Sqlite(pool) => (
            sqlx::query_scalar(wrong).fetch_one(pool).await.unwrap(),
            sqlx::query_scalar(all).fetch_one(pool).await.unwrap(),
        ),
        SqlStore::Postgres(pool) => (
            sqlx::query_scalar(wrong).fetch_one(pool).await.unwrap(),
            sqlx::query_scalar(all).fetch_one(pool).await.unwrap(),
        ),
    }
}

#[tokio::test]
async fn sessions_keep_their_students_zone() {
    let school = |timezone: &str, zone_of_2: &str| {
        Scenario::from_json(&format!(
            r#"{{ "settings": {{ "timezone": "{timezone}" }}, "students": [
                {{ "id": 1, "first_name": "A", "email": "a@example.org", "account_active": true,
                   "subscription_active": true, "timezone": "Asia/Kolkata" }},
                {{ "id": 2, "first_name": "B", "email": "b@example.org", "account_active": true,
                   "subscription_active": true {zone_of_2} }} ],
               "sessions": [
                {{ "id": 1, "student_id": 1, "subject": "Maths", "objective": "", "starts_at": "2026-11-30T09:00:00Z",
                   "duration_minutes": 60, "status": "scheduled" }},
                {{ "id": 2, "student_id": 2, "subject": "Maths", "objective": "", "starts_at": "2026-11-30T10:00:00Z",
                   "duration_minutes": 60, "status": "scheduled" }} ] }}"#
        ))
        .unwrap()
    };
    for db in backends().await {
        let first = school("Europe/Paris", "");
        import(&db.store, &first).await;
        assert_eq!(
            sessions_out_of_zone(&db.store).await,
            (0, 2),
            "{} import",
            db.name
        );

        // Student 2 follows the default zone: moving it moves the student's session.
        let mut settings = first.settings.clone();
        settings.timezone = Zone::parse("America/New_York").unwrap();
        assert!(db.store.save_settings(&settings).await.unwrap());
        assert_eq!(
            sessions_out_of_zone(&db.store).await,
            (0, 2),
            "{} settings",
            db.name
        );

        // A new import gives student 2 a zone of its own.
        import(
            &db.store,
            &school("America/New_York", r#", "timezone": "Africa/Dakar""#),
        )
        .await;
        assert_eq!(
            sessions_out_of_zone(&db.store).await,
            (0, 2),
            "{} re-import",
            db.name
        );

        // A session added by the scheduler takes its student's zone.
        let added = db
            .store
            .add_sessions(&[NewSession {
                plan: StudyPlanId::new(1).unwrap(),
                student: StudentId::new(2).unwrap(),
                subject: "Physique".to_owned(),
                objective: String::new(),
                starts_at: parse_instant("2026-12-01T10:00:00Z").unwrap(),
                duration_minutes: 45,
            }])
            .await
            .unwrap();
        assert_eq!(added.len(), 1);
        assert_eq!(
            sessions_out_of_zone(&db.store).await,
            (0, 3),
            "{} scheduled",
            db.name
        );
        db.finish().await;
    }
}
