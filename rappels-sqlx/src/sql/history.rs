//! A scope's history and the statistics of the log.

use chrono::{DateTime, Utc};
use rappels_core::domain::Kind;
use rappels_core::permissions::HistoryScope;
use rappels_core::ports::{LogEntry, Stats};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, QueryBuilder, Row, Type};

use super::{HISTORY_COLUMNS, Sql, corrupt};
use crate::SqlError;
use crate::convert::{self, micros};
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
    pub(crate) async fn history(
        pool: &Pool<DB>,
        scope: &HistoryScope,
        limit: usize,
    ) -> Result<Vec<LogEntry>, SqlError> {
        let mut q = QueryBuilder::<DB>::new(format!(
            "SELECT {HISTORY_COLUMNS} FROM reminders WHERE NOT imported"
        ));
        match scope {
            HistoryScope::All => {}
            HistoryScope::Student(id) => {
                q.push(" AND student_id = ");
                q.push_bind(id.get());
            }
            HistoryScope::Students(ids) if ids.is_empty() => return Ok(Vec::new()),
            HistoryScope::Students(ids) => {
                q.push(" AND student_id IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(id.get());
                }
                q.push(")");
            }
        }
        q.push(" ORDER BY due_at DESC, id DESC LIMIT ");
        q.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        q.build()
            .fetch_all(pool)
            .await?
            .iter()
            .map(Self::log_entry)
            .collect()
    }

    /// A history line from a row holding [`HISTORY_COLUMNS`].
    pub(crate) fn log_entry(row: &DB::Row) -> Result<LogEntry, SqlError> {
        let reminder = Self::new_reminder(row)?;
        let what = format!("reminder {}", reminder.key);
        Ok(LogEntry {
            key: reminder.key,
            student: reminder.student,
            due_at: reminder.due_at,
            status: Self::status(&row.try_get::<String, _>("status")?)?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            subject: row.try_get("subject")?,
            sent_at: convert::opt_instant(row.try_get("sent_at")?, &what)?,
            last_error: row.try_get("last_error")?,
        })
    }

    pub(crate) async fn stats(
        pool: &Pool<DB>,
        today_from: DateTime<Utc>,
        period_from: DateTime<Utc>,
    ) -> Result<Stats, SqlError> {
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        let sent_since = "SELECT COUNT(*) FROM reminders WHERE status = 'sent' AND sent_at >= $1";
        let status = "SELECT COUNT(*) FROM reminders WHERE status = $1";
        let mut stats = Stats {
            sent_today: count(sent_since)
                .bind(micros(today_from))
                .fetch_one(pool)
                .await? as u64,
            sent_in_period: count(sent_since)
                .bind(micros(period_from))
                .fetch_one(pool)
                .await? as u64,
            failed: count(status).bind("failed").fetch_one(pool).await? as u64,
            pending: count("SELECT COUNT(*) FROM reminders WHERE status IN ('pending', 'sending')")
                .fetch_one(pool)
                .await? as u64,
            expired: count(status).bind("expired").fetch_one(pool).await? as u64,
            cancelled: count(status).bind("cancelled").fetch_one(pool).await? as u64,
            ..Stats::default()
        };
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM reminders WHERE status = 'sent' AND sent_at >= $1 GROUP BY kind",
        )
        .bind(micros(period_from))
        .fetch_all(pool)
        .await?;
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let kind = kind
                .parse::<Kind>()
                .map_err(|e| corrupt("reminders.kind", e))?;
            stats
                .sent_by_kind
                .insert(kind, row.try_get::<i64, _>("n")? as u64);
        }
        Ok(stats)
    }
}
