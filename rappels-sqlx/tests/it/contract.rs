//! The contracts of `rappels_core::testing` that the in-memory store keeps — the store's
//! own (`contract`, port by port) and the service's over it (`service_contract`) — run
//! against SQLite and (when configured) PostgreSQL.

use std::sync::Mutex;

use rappels_core::scenario::Scenario;
use rappels_core::testing::contract::store_contract;
use rappels_core::testing::service_contract::service_contract;
use rappels_sqlx::SqlStore;

use crate::harness::{POSTGRES_VAR, TestDb, import, postgres, sqlite};

/// Fresh databases made by `open`, each holding the scenario a check asks for, kept until
/// `finish` drops them.
struct Fresh<O> {
    open: O,
    opened: Mutex<Vec<TestDb>>,
}

impl<O: Fn() -> F, F: Future<Output = TestDb>> Fresh<O> {
    fn new(open: O) -> Self {
        Fresh {
            open,
            opened: Mutex::new(Vec::new()),
        }
    }

    async fn store(&self, scenario: Scenario) -> SqlStore {
        let db = (self.open)().await;
        import(&db.store, &scenario).await;
        let store = db.store.clone();
        self.opened.lock().expect("databases").push(db);
        store
    }

    async fn finish(self) {
        for db in self.opened.into_inner().expect("databases") {
            db.finish().await;
        }
    }
}

/// Runs both contracts on fresh databases made by `open`.
async fn keeps_the_contracts<F: Future<Output = TestDb>>(open: impl Fn() -> F) {
    let fresh = Fresh::new(open);
    store_contract(async |scenario: Scenario| fresh.store(scenario).await).await;
    service_contract(async |scenario: Scenario| fresh.store(scenario).await).await;
    fresh.finish().await;
}

#[tokio::test]
async fn sqlite_keeps_the_store_and_service_contracts() {
    keeps_the_contracts(sqlite).await;
}

#[tokio::test]
async fn postgres_keeps_the_store_and_service_contracts() {
    if std::env::var(POSTGRES_VAR).is_err() {
        // Says once that the PostgreSQL suite did not run.
        assert!(postgres().await.is_none());
        return;
    }
    keeps_the_contracts(|| async { postgres().await.expect("PostgreSQL") }).await;
}
