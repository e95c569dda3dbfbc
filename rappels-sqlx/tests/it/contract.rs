//! The store contract of `rappels_core::testing::contract`, the one the in-memory store
//! keeps, run against SQLite and (when configured) PostgreSQL.

use std::sync::Mutex;

use rappels_core::scenario::Scenario;
use rappels_core::testing::contract::store_contract;
use rappels_sqlx::SqlStore;

use crate::harness::{POSTGRES_VAR, TestDb, import, postgres, sqlite};

/// Runs the contract on fresh databases made by `open`, each holding the scenario the
/// contract asks for; the databases are dropped at the end.
async fn keeps_the_contract<F: Future<Output = TestDb>>(open: impl Fn() -> F) {
    let opened: Mutex<Vec<TestDb>> = Mutex::new(Vec::new());
    store_contract(async |scenario: Scenario| -> SqlStore {
        let db = open().await;
        import(&db.store, &scenario).await;
        let store = db.store.clone();
        opened.lock().expect("databases").push(db);
        store
    })
    .await;
    for db in opened.into_inner().expect("databases") {
        db.finish().await;
    }
}

#[tokio::test]
async fn sqlite_keeps_the_store_contract() {
    keeps_the_contract(sqlite).await;
}

#[tokio::test]
async fn postgres_keeps_the_store_contract() {
    if std::env::var(POSTGRES_VAR).is_err() {
        // Says once that the PostgreSQL suite did not run.
        assert!(postgres().await.is_none());
        return;
    }
    keeps_the_contract(|| async { postgres().await.expect("PostgreSQL") }).await;
}
