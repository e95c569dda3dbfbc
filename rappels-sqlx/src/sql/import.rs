//! A scenario, imported in one transaction: merged into what is stored, or (full mode)
//! replacing it, with what that adds, changes and removes counted on the way.
//!
//! The ids of the file go first into temporary tables: against them one statement per
//! table counts what the file adds and, in full mode, removes what it no longer holds.
//! The upserts leave a row already as the file says untouched, so what they write is what
//! the file adds or changes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rappels_core::domain::StudentId;
use rappels_core::scenario::Scenario;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, Type};

use super::Sql;
use crate::bulk;
use crate::engine::Engine;
use crate::{
    Changes, ImportChanges, ImportMode, ImportOptions, ImportProgress, ImportReport, SqlError,
};

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
    pub(crate) async fn import(
        pool: &Pool<DB>,
        scenario: &Scenario,
        now: DateTime<Utc>,
        options: ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Sync),
    ) -> Result<ImportReport, SqlError> {
        let total = scenario.students.len()
            + scenario.parents.len()
            + scenario.sessions.len()
            + scenario.study_plans.len()
            + scenario.manual.len()
            + scenario.sent.len();
        let mut done = 0;
        let mut step = |n: usize| {
            done += n;
            progress(ImportProgress { done, total });
        };
        let mut tx = pool.begin().await?;
        let default_zone = scenario.settings.timezone;
        // Before the students: the students of earlier imports who follow the default
        // zone move with it, and those of this scenario are written in it below.
        Self::write_settings(&mut tx, &scenario.settings).await?;

        let mut changes = ImportChanges::default();
        Self::fill_kept(&mut tx, scenario).await?;
        for (table, kind) in [
            ("students", &mut changes.students),
            ("parents", &mut changes.parents),
            ("sessions", &mut changes.sessions),
            ("study_plans", &mut changes.study_plans),
            ("manual_requests", &mut changes.manual),
        ] {
            kind.added = Self::count(
                &mut tx,
                &format!(
                    "SELECT COUNT(*) FROM {} k WHERE NOT EXISTS \
                     (SELECT 1 FROM {table} t WHERE t.id = k.id)",
                    kept::<DB>(table)
                ),
            )
            .await?;
        }
        changes.links = Self::link_changes(&mut tx).await?;

        let mut written = 0;
        for chunk in scenario.students.chunks(DB::BULK_ROWS) {
            written += DB::bulk_students(&mut tx, chunk, default_zone).await?;
            step(chunk.len());
        }
        changes.students.changed = changed(written, changes.students.added);
        let mut written = 0;
        for chunk in scenario.parents.chunks(DB::BULK_ROWS) {
            written += DB::bulk_parents(&mut tx, chunk).await?;
            step(chunk.len());
        }
        changes.parents.changed = changed(written, changes.parents.added);
        let zones: HashMap<StudentId, &'static str> = scenario
            .students
            .iter()
            .map(|s| (s.id, s.zone(default_zone).name()))
            .collect();
        let mut written = 0;
        for chunk in scenario.sessions.chunks(DB::BULK_ROWS) {
            written += DB::bulk_sessions(&mut tx, chunk, &zones).await?;
            step(chunk.len());
        }
        changes.sessions.changed = changed(written, changes.sessions.added);
        let mut written = 0;
        for chunk in scenario.study_plans.chunks(DB::BULK_ROWS) {
            written += DB::bulk_study_plans(&mut tx, chunk).await?;
            step(chunk.len());
        }
        changes.study_plans.changed = changed(written, changes.study_plans.added);
        let mut written = 0;
        for chunk in scenario.manual.chunks(DB::BULK_ROWS) {
            written += DB::bulk_manual(&mut tx, chunk).await?;
            step(chunk.len());
        }
        changes.manual.changed = changed(written, changes.manual.added);
        let mut sent = 0u64;
        for chunk in scenario.sent.chunks(DB::BULK_ROWS) {
            sent += DB::bulk_sent(&mut tx, chunk, now).await?;
            step(chunk.len());
        }
        if options.mode == ImportMode::Full {
            Self::remove_the_rest(&mut tx, &mut changes).await?;
        }
        Self::drop_kept(&mut tx).await?;
        if options.dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
            // Fresh statistics let both planners pick the indexes after a bulk load.
            sqlx::query("ANALYZE").execute(pool).await?;
        }
        Ok(ImportReport {
            students: scenario.students.len(),
            parents: scenario.parents.len(),
            sessions: scenario.sessions.len(),
            study_plans: scenario.study_plans.len(),
            manual: scenario.manual.len(),
            sent: sent as usize,
            changes,
        })
    }

    /// The file's ids, per table, and its parent–child links, into temporary tables.
    async fn fill_kept(conn: &mut DB::Connection, scenario: &Scenario) -> Result<(), SqlError> {
        Self::drop_kept(conn).await?;
        let lists: [(&str, Vec<i64>); 5] = [
            (
                "students",
                scenario.students.iter().map(|s| s.id.get()).collect(),
            ),
            (
                "parents",
                scenario.parents.iter().map(|p| p.id.get()).collect(),
            ),
            (
                "sessions",
                scenario.sessions.iter().map(|s| s.id.get()).collect(),
            ),
            (
                "study_plans",
                scenario.study_plans.iter().map(|p| p.id.get()).collect(),
            ),
            (
                "manual_requests",
                scenario.manual.iter().map(|m| m.id.get()).collect(),
            ),
        ];
        for (table, list) in lists {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TEMPORARY TABLE {} (id {} PRIMARY KEY){}",
                kept::<DB>(table),
                DB::TEMP_ID_TYPE,
                DB::TEMP_END
            )))
            .execute(&mut *conn)
            .await?;
            DB::insert_ids(conn, &kept::<DB>(table), &list).await?;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TEMPORARY TABLE {} (parent_id {id} NOT NULL, student_id {id} NOT NULL, \
             PRIMARY KEY (parent_id, student_id)){}",
            kept::<DB>("parent_children"),
            DB::TEMP_END,
            id = DB::TEMP_ID_TYPE,
        )))
        .execute(&mut *conn)
        .await?;
        let links: Vec<(i64, i64)> = bulk::links(&scenario.parents)
            .into_iter()
            .map(|(parent, child, _)| (parent, child))
            .collect();
        DB::insert_links(conn, &kept::<DB>("parent_children"), &links).await?;
        Ok(())
    }

    /// Drops the temporary tables (SQLite keeps them for the connection, which the pool
    /// lends again; PostgreSQL has dropped them by the end of the transaction).
    async fn drop_kept(conn: &mut DB::Connection) -> Result<(), SqlError> {
        for table in KEPT_TABLES {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP TABLE IF EXISTS {}",
                kept::<DB>(table)
            )))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    async fn count(conn: &mut DB::Connection, sql: &str) -> Result<usize, SqlError> {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut *conn)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The links the file adds, and those it removes because a parent of the file keeps
    /// only the children the file gives them (both modes; in full mode `remove_the_rest`
    /// adds the links of the parents the file no longer holds).
    async fn link_changes(conn: &mut DB::Connection) -> Result<Changes, SqlError> {
        let kept_links = kept::<DB>("parent_children");
        let added = Self::count(
            conn,
            &format!(
                "SELECT COUNT(*) FROM {kept_links} k WHERE NOT EXISTS (SELECT 1 FROM parent_children pc \
                 WHERE pc.parent_id = k.parent_id AND pc.student_id = k.student_id)"
            ),
        )
        .await?;
        let removed = Self::count(
            conn,
            &format!(
                "SELECT COUNT(*) FROM parent_children pc \
                 WHERE pc.parent_id IN (SELECT id FROM {}) AND NOT EXISTS (SELECT 1 FROM {kept_links} k \
                 WHERE k.parent_id = pc.parent_id AND k.student_id = pc.student_id)",
                kept::<DB>("parents")
            ),
        )
        .await?;
        Ok(Changes {
            added,
            changed: 0,
            removed,
        })
    }

    /// Full mode: removes what the file does not hold, links first (they reference both
    /// parents and students), then sessions and study plans, parents and students. Manual
    /// requests and the reminder log stay: they are history, and a reminder whose records
    /// are gone is cancelled when it is about to be sent.
    async fn remove_the_rest(
        conn: &mut DB::Connection,
        changes: &mut ImportChanges,
    ) -> Result<(), SqlError> {
        let links = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM parent_children WHERE NOT EXISTS (SELECT 1 FROM {} k \
             WHERE k.parent_id = parent_children.parent_id AND k.student_id = parent_children.student_id)",
            kept::<DB>("parent_children")
        )))
        .execute(&mut *conn)
        .await?;
        changes.links.removed += usize::try_from(DB::rows_affected(&links)).unwrap_or(0);
        for (table, kind) in [
            ("sessions", &mut changes.sessions),
            ("study_plans", &mut changes.study_plans),
            ("parents", &mut changes.parents),
            ("students", &mut changes.students),
        ] {
            let removed = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM {} k WHERE k.id = {table}.id)",
                kept::<DB>(table)
            )))
            .execute(&mut *conn)
            .await?;
            kind.removed = usize::try_from(DB::rows_affected(&removed)).unwrap_or(0);
        }
        Ok(())
    }
}

/// The tables whose file ids an import keeps in a temporary table.
const KEPT_TABLES: [&str; 6] = [
    "students",
    "parents",
    "sessions",
    "study_plans",
    "manual_requests",
    "parent_children",
];

/// The temporary table of the file's ids of `table`, schema-qualified.
fn kept<DB: Engine>(table: &str) -> String {
    format!("{}.import_{table}", DB::TEMP_SCHEMA)
}

/// Of the rows an upsert wrote, those that were there before (the rest it added).
fn changed(written: u64, added: usize) -> usize {
    usize::try_from(written)
        .unwrap_or(usize::MAX)
        .saturating_sub(added)
}
