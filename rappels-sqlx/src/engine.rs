//! What differs between SQLite and PostgreSQL, and nothing else: the schema (migrations),
//! a few clauses of the shared SQL, how `EXPLAIN` is read, and the import's bulk writes.
//!
//! The queries themselves are written once, in `sql`, generic over an `Engine`. Both
//! engines accept the same SQL (`$n` parameters, `ON CONFLICT`, `RETURNING`, `FILTER`), so
//! an engine is a handful of constants and the functions whose SQL cannot be shared.
//!
//! Why a trait over the two drivers rather than `sqlx::Any`: `Any` decodes every row into
//! its own value type first (a copy per column on the planner's hottest reads), cannot bind
//! PostgreSQL arrays (the import's `UNNEST` batches), and chooses the driver at run time
//! where the two engines' differences are known at compile time.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use rappels_core::domain::{
    ManualRequest, Parent, ReminderKey, Session, Student, StudentId, StudyPlan, Zone,
};
use rappels_core::ports::NewReminder;
use sqlx::database::HasStatementCache;
use sqlx::query::Query;
use sqlx::{Database, IntoArguments, Pool, Postgres, Sqlite};

use crate::SqlError;
use crate::bulk;

/// A database engine rappels runs on.
pub(crate) trait Engine:
    Database<Arguments: IntoArguments<Self>> + HasStatementCache
{
    /// Appended to the claim's subquery: PostgreSQL's `FOR UPDATE SKIP LOCKED` gives
    /// concurrent claimers disjoint rows; SQLite's single writer needs nothing.
    const CLAIM_LOCK: &'static str;
    /// The prefix that makes a query show its plan.
    const EXPLAIN: &'static str;
    /// Appended to `sessions s` in the digest's read by student (an index hint where the
    /// planner would otherwise pick a scan).
    const SESSIONS_BY_STUDENT: &'static str;
    /// Statements run at the start of the transaction of a long candidate query
    /// (`Sql::streaming`).
    const STREAM_GUARD: &'static [&'static str];
    /// Whether the planner's reads are prepared once and kept.
    const PERSISTENT: bool;
    /// How the transaction that stores a manual request begins, and the statements that
    /// then serialise the writers of manual requests.
    const MANUAL_BEGIN: &'static str;
    /// See `MANUAL_BEGIN`.
    const MANUAL_LOCK: &'static [&'static str];
    /// Refreshes the reminder log's statistics, after a run recorded many rows at once;
    /// `None` where the planner does not need it.
    const ANALYZE_LOG: Option<&'static str>;
    /// Records per bulk statement of the import.
    const BULK_ROWS: usize;
    /// Write transactions worth running at once on disjoint rows: 1 for SQLite's single
    /// writer; a few for PostgreSQL, whose backends insert on cores of their own.
    const WRITERS: usize;
    /// How the import's temporary tables of ids are made: their id type, and what ends
    /// the `CREATE TEMPORARY TABLE` (PostgreSQL drops them at the end of the transaction;
    /// SQLite keeps them for the connection, and the import drops them itself).
    const TEMP_ID_TYPE: &'static str;
    /// See `TEMP_ID_TYPE`.
    const TEMP_END: &'static str;
    /// The schema of temporary tables: naming it keeps a `DROP TABLE IF EXISTS` of the
    /// import's own tables from ever reaching a table of the same name in the database.
    const TEMP_SCHEMA: &'static str;

    /// The rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Applies the pending migrations of this engine's schema.
    fn migrate(pool: &Pool<Self>) -> impl Future<Output = Result<(), SqlError>> + Send;

    /// Runs `query` (an `EXPLAIN`) and returns its plan, one step a line.
    fn explain_lines<'a>(
        conn: &'a mut Self::Connection,
        query: Query<'a, Self, Self::Arguments>,
    ) -> impl Future<Output = Result<Vec<String>, SqlError>> + Send + 'a;

    /// Upserts students (their zone and reference day derived with `default_zone`). Each
    /// bulk upsert returns the rows it added or changed (a row already so is left alone).
    fn bulk_students(
        conn: &mut Self::Connection,
        chunk: &[Student],
        default_zone: Zone,
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
    /// Upserts parents and replaces their children.
    fn bulk_parents(
        conn: &mut Self::Connection,
        chunk: &[Parent],
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
    /// Upserts sessions, each stored with its student's zone.
    fn bulk_sessions(
        conn: &mut Self::Connection,
        chunk: &[Session],
        zones: &HashMap<StudentId, &'static str>,
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
    /// Upserts study plans.
    fn bulk_study_plans(
        conn: &mut Self::Connection,
        chunk: &[StudyPlan],
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
    /// Upserts manual requests.
    fn bulk_manual(
        conn: &mut Self::Connection,
        chunk: &[ManualRequest],
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
    /// Records keys as already sent; returns how many were new.
    fn bulk_sent(
        conn: &mut Self::Connection,
        chunk: &[ReminderKey],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
    /// Adds `ids` to the temporary table `table` (one column, `id`).
    fn insert_ids(
        conn: &mut Self::Connection,
        table: &str,
        ids: &[i64],
    ) -> impl Future<Output = Result<(), SqlError>> + Send;
    /// Adds parent–child `links` to the temporary table `table` (`parent_id`, `student_id`).
    fn insert_links(
        conn: &mut Self::Connection,
        table: &str,
        links: &[(i64, i64)],
    ) -> impl Future<Output = Result<(), SqlError>> + Send;
    /// Records due reminders as pending unless their key is in the log; returns how many
    /// were new.
    fn bulk_due(
        conn: &mut Self::Connection,
        chunk: &[NewReminder],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, SqlError>> + Send;
}

impl Engine for Sqlite {
    const CLAIM_LOCK: &'static str = "";
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN ";
    const SESSIONS_BY_STUDENT: &'static str = " INDEXED BY sessions_by_student";
    const STREAM_GUARD: &'static [&'static str] = &[];
    const PERSISTENT: bool = true;
    // The write lock from the first statement: a deferred transaction would read the
    // requests under a shared lock that another writer may already have outdated.
    const MANUAL_BEGIN: &'static str = "BEGIN IMMEDIATE";
    const MANUAL_LOCK: &'static [&'static str] = &[];
    // SQLite's planner keeps to the indexes it is given; it reads no statistics unless
    // ANALYZE was run once, which rappels never does.
    const ANALYZE_LOG: Option<&'static str> = None;
    const BULK_ROWS: usize = bulk::sqlite::ROWS;
    const WRITERS: usize = 1;

    const TEMP_ID_TYPE: &'static str = "INTEGER";
    const TEMP_END: &'static str = "";
    const TEMP_SCHEMA: &'static str = "temp";

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    async fn migrate(pool: &Pool<Self>) -> Result<(), SqlError> {
        sqlx::migrate!("./migrations/sqlite").run(pool).await?;
        Ok(())
    }

    /// SQLite's `EXPLAIN QUERY PLAN` rows as lines, each step indented under its parent.
    async fn explain_lines<'a>(
        conn: &'a mut Self::Connection,
        query: Query<'a, Self, Self::Arguments>,
    ) -> Result<Vec<String>, SqlError> {
        use sqlx::Row;
        let mut depth: HashMap<i64, usize> = HashMap::new();
        let mut lines = Vec::new();
        for row in query.fetch_all(conn).await? {
            let id: i64 = row.try_get(0)?;
            let parent: i64 = row.try_get(1)?;
            let detail: String = row.try_get(3)?;
            let level = depth.get(&parent).map_or(0, |d| d + 1);
            depth.insert(id, level);
            lines.push(format!("{}{detail}", "  ".repeat(level)));
        }
        Ok(lines)
    }

    async fn bulk_students(
        conn: &mut Self::Connection,
        chunk: &[Student],
        default_zone: Zone,
    ) -> Result<u64, SqlError> {
        bulk::sqlite::students(conn, chunk, default_zone).await
    }
    async fn bulk_parents(conn: &mut Self::Connection, chunk: &[Parent]) -> Result<u64, SqlError> {
        bulk::sqlite::parents(conn, chunk).await
    }
    async fn bulk_sessions(
        conn: &mut Self::Connection,
        chunk: &[Session],
        zones: &HashMap<StudentId, &'static str>,
    ) -> Result<u64, SqlError> {
        bulk::sqlite::sessions(conn, chunk, zones).await
    }
    async fn bulk_study_plans(
        conn: &mut Self::Connection,
        chunk: &[StudyPlan],
    ) -> Result<u64, SqlError> {
        bulk::sqlite::study_plans(conn, chunk).await
    }
    async fn bulk_manual(
        conn: &mut Self::Connection,
        chunk: &[ManualRequest],
    ) -> Result<u64, SqlError> {
        bulk::sqlite::manual(conn, chunk).await
    }
    async fn bulk_sent(
        conn: &mut Self::Connection,
        chunk: &[ReminderKey],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        bulk::sqlite::sent(conn, chunk, now).await
    }
    async fn insert_ids(
        conn: &mut Self::Connection,
        table: &str,
        ids: &[i64],
    ) -> Result<(), SqlError> {
        bulk::sqlite::ids(conn, table, ids).await
    }
    async fn insert_links(
        conn: &mut Self::Connection,
        table: &str,
        links: &[(i64, i64)],
    ) -> Result<(), SqlError> {
        bulk::sqlite::link_pairs(conn, table, links).await
    }
    async fn bulk_due(
        conn: &mut Self::Connection,
        chunk: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        bulk::sqlite::due(conn, chunk, now).await
    }
}

impl Engine for Postgres {
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const EXPLAIN: &'static str = "EXPLAIN ";
    const SESSIONS_BY_STUDENT: &'static str = "";
    // On PostgreSQL the plan of the candidate queries' anti-join follows the log's
    // statistics, and those lag (see `Sql::streaming`).
    const STREAM_GUARD: &'static [&'static str] = &[
        "SET LOCAL enable_seqscan = off",
        "SET LOCAL enable_nestloop = off",
    ];
    // The planner's reads are planned afresh each time on PostgreSQL: a prepared statement
    // keeps, after a few runs, a generic plan made for the tables as they were, and a plan
    // made while the reminder log was empty scans it for every part once the run has filled
    // it. Planning a read costs well under a millisecond; a part's read is a thousand rows.
    const PERSISTENT: bool = false;
    // One advisory lock for every writer of manual requests, held to the commit: it covers
    // each (parent, student, local date) and also the next id the insert picks. Manual
    // requests are made by hand, so serialising them costs nothing.
    const MANUAL_BEGIN: &'static str = "BEGIN";
    const MANUAL_LOCK: &'static [&'static str] =
        &["SELECT pg_advisory_xact_lock(hashtextextended('rappels.manual_requests', 0))"];
    // After a Sunday's digests (hundreds of thousands of rows), the log's statistics say it
    // is nearly empty until autovacuum gets to it, and the per-part reads of recorded keys
    // scan it: a run repeated at once took 33 s instead of 1 s (BENCHMARKS.md). ANALYZE
    // samples the table (a fraction of a second) and takes no lock that writers wait for.
    const ANALYZE_LOG: Option<&'static str> = Some("ANALYZE reminders");
    const BULK_ROWS: usize = bulk::postgres::ROWS;
    const WRITERS: usize = 2;

    const TEMP_ID_TYPE: &'static str = "BIGINT";
    const TEMP_END: &'static str = " ON COMMIT DROP";
    const TEMP_SCHEMA: &'static str = "pg_temp";

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    async fn migrate(pool: &Pool<Self>) -> Result<(), SqlError> {
        sqlx::migrate!("./migrations/postgres").run(pool).await?;
        Ok(())
    }

    /// PostgreSQL's `EXPLAIN` text, one line per row.
    async fn explain_lines<'a>(
        conn: &'a mut Self::Connection,
        query: Query<'a, Self, Self::Arguments>,
    ) -> Result<Vec<String>, SqlError> {
        use sqlx::Row;
        query
            .fetch_all(conn)
            .await?
            .iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?))
            .collect()
    }

    async fn bulk_students(
        conn: &mut Self::Connection,
        chunk: &[Student],
        default_zone: Zone,
    ) -> Result<u64, SqlError> {
        bulk::postgres::students(conn, chunk, default_zone).await
    }
    async fn bulk_parents(conn: &mut Self::Connection, chunk: &[Parent]) -> Result<u64, SqlError> {
        bulk::postgres::parents(conn, chunk).await
    }
    async fn bulk_sessions(
        conn: &mut Self::Connection,
        chunk: &[Session],
        zones: &HashMap<StudentId, &'static str>,
    ) -> Result<u64, SqlError> {
        bulk::postgres::sessions(conn, chunk, zones).await
    }
    async fn bulk_study_plans(
        conn: &mut Self::Connection,
        chunk: &[StudyPlan],
    ) -> Result<u64, SqlError> {
        bulk::postgres::study_plans(conn, chunk).await
    }
    async fn bulk_manual(
        conn: &mut Self::Connection,
        chunk: &[ManualRequest],
    ) -> Result<u64, SqlError> {
        bulk::postgres::manual(conn, chunk).await
    }
    async fn bulk_sent(
        conn: &mut Self::Connection,
        chunk: &[ReminderKey],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        bulk::postgres::sent(conn, chunk, now).await
    }
    async fn insert_ids(
        conn: &mut Self::Connection,
        table: &str,
        ids: &[i64],
    ) -> Result<(), SqlError> {
        bulk::postgres::ids(conn, table, ids).await
    }
    async fn insert_links(
        conn: &mut Self::Connection,
        table: &str,
        links: &[(i64, i64)],
    ) -> Result<(), SqlError> {
        bulk::postgres::link_pairs(conn, table, links).await
    }
    async fn bulk_due(
        conn: &mut Self::Connection,
        chunk: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        bulk::postgres::due(conn, chunk, now).await
    }
}
