//! The stored settings, and the zones the students are in.

use rappels_core::domain::Zone;
use rappels_core::settings::Settings;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, Type};

use super::{STUDENT_COLUMNS, Sql, corrupt};
use crate::SqlError;
use crate::bulk::derived;
use crate::engine::Engine;

impl<DB> Sql<DB>
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'n> &'n str: ColumnIndex<DB::Row>,
{
    pub(crate) async fn load_settings(pool: &Pool<DB>) -> Result<Option<Settings>, SqlError> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM settings WHERE id = 1")
            .fetch_optional(pool)
            .await?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| corrupt("settings", e)))
            .transpose()
    }

    pub(crate) async fn zones(pool: &Pool<DB>) -> Result<Vec<Zone>, SqlError> {
        let names: Vec<String> = Self::zones_sql("")
            .build_query_scalar()
            .fetch_all(pool)
            .await?;
        names
            .iter()
            .map(|n| Zone::parse(n).map_err(|e| corrupt("students.zone", e)))
            .collect()
    }

    /// Makes `settings` the stored settings, inside the caller's transaction, and
    /// returns whether they changed; when the stored ones are already equal it writes
    /// nothing. Students without a zone of their own store `zone` and `reference_day`
    /// derived from the default zone, and the plan queries select on those columns, so
    /// a new default zone recomputes them here: every writer of the settings goes
    /// through this function and none can leave those students in the old zone.
    pub(super) async fn write_settings(
        conn: &mut DB::Connection,
        settings: &Settings,
    ) -> Result<bool, SqlError> {
        // Taking the row's write lock before reading it serialises concurrent writers:
        // each reads what the one before it committed, so it moves the students from
        // the zone they are really in. Reading first would let two writers start from
        // the same old zone (PostgreSQL), or fail the later one (SQLite's snapshot).
        sqlx::query("UPDATE settings SET body = body WHERE id = 1")
            .execute(&mut *conn)
            .await?;
        let previous: Option<String> = sqlx::query_scalar("SELECT body FROM settings WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
        // Settings that no longer parse are replaced like missing ones.
        let previous = previous
            .as_deref()
            .and_then(|b| serde_json::from_str::<Settings>(b).ok());
        if previous.as_ref() == Some(settings) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO settings (id, body) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )
        .bind(serde_json::to_string(settings).map_err(|e| corrupt("settings", e))?)
        .execute(&mut *conn)
        .await?;
        // Without readable settings the zone the students were derived in is unknown,
        // so they are all recomputed. Every import writes settings in the same
        // transaction as its students, so this finds students only in a database
        // edited by hand; otherwise it costs one query that returns nothing.
        let default_zone = settings.timezone;
        if previous.is_none_or(|p| p.timezone != default_zone) {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {STUDENT_COLUMNS} FROM students WHERE timezone IS NULL"
            )))
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                let s = Self::student(&row)?;
                let (zone, reference_day) = derived(&s, default_zone);
                sqlx::query("UPDATE students SET zone = $1, reference_day = $2 WHERE id = $3")
                    .bind(zone.name())
                    .bind(reference_day)
                    .bind(s.id.get())
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(true)
    }

    /// Replaces the stored settings in one transaction; see `write_settings`.
    pub(crate) async fn save_settings(
        pool: &Pool<DB>,
        settings: &Settings,
    ) -> Result<bool, SqlError> {
        let mut tx = pool.begin().await?;
        let changed = Self::write_settings(&mut tx, settings).await?;
        // Unchanged settings leave the transaction to roll back: it holds only the
        // lock taken by `write_settings`.
        if changed {
            tx.commit().await?;
        }
        Ok(changed)
    }
}
