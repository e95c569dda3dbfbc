//! What the web pages read and write beyond the ports: one reminder's message, a student's
//! preferences, and the figures of the analytics page.

use chrono::{DateTime, NaiveDate, Utc};
use rappels_core::domain::{Family, Kind, StudentId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, Row, Type};

use super::{HISTORY_COLUMNS, Sql, corrupt};
use crate::convert::{self, micros};
use crate::engine::Engine;
use crate::{Analytics, Preferences, SqlError, StoredMessage};

const MICROS_PER_DAY: i64 = 86_400_000_000;

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
    pub(crate) async fn stored_message(
        pool: &Pool<DB>,
        key: &str,
    ) -> Result<Option<StoredMessage>, SqlError> {
        let sql = format!(
            "SELECT {HISTORY_COLUMNS}, kind, text_body, html_body, locale \
             FROM reminders WHERE reminder_key = $1 AND NOT imported"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(pool)
            .await?;
        row.map(|row| Self::stored(&row)).transpose()
    }

    pub(crate) async fn latest_message(
        pool: &Pool<DB>,
        kind: Kind,
    ) -> Result<Option<StoredMessage>, SqlError> {
        let sql = format!(
            "SELECT {HISTORY_COLUMNS}, kind, text_body, html_body, locale FROM reminders \
             WHERE kind = $1 AND status = 'sent' AND NOT imported AND text_body <> '' \
             ORDER BY sent_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?;
        row.map(|row| Self::stored(&row)).transpose()
    }

    fn stored(row: &DB::Row) -> Result<StoredMessage, SqlError> {
        let kind: String = row.try_get("kind")?;
        Ok(StoredMessage {
            entry: Self::log_entry(row)?,
            kind: kind.parse().map_err(|e| corrupt("reminders.kind", e))?,
            text: row.try_get("text_body")?,
            html: row.try_get("html_body")?,
            locale: row.try_get("locale")?,
        })
    }

    pub(crate) async fn preferences(
        pool: &Pool<DB>,
        student: StudentId,
    ) -> Result<Option<Preferences>, SqlError> {
        let row = sqlx::query("SELECT opt_out, unsubscribed FROM students WHERE id = $1")
            .bind(student.get())
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let what = format!("student {student}");
        Ok(Some(Preferences {
            platform: convert::opt_outs(&row.try_get::<String, _>("opt_out")?, &what)?,
            own: convert::opt_outs(&row.try_get::<String, _>("unsubscribed")?, &what)?,
        }))
    }

    pub(crate) async fn opt_in(
        pool: &Pool<DB>,
        student: StudentId,
        family: Family,
    ) -> Result<Option<bool>, SqlError> {
        let mut tx = pool.begin().await?;
        let row = sqlx::query("SELECT unsubscribed FROM students WHERE id = $1")
            .bind(student.get())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let what = format!("student {student}");
        let mut own = convert::opt_outs(&row.try_get::<String, _>("unsubscribed")?, &what)?;
        let changed = own.remove(family);
        if changed {
            sqlx::query("UPDATE students SET unsubscribed = $1 WHERE id = $2")
                .bind(convert::opt_out_text(&own))
                .bind(student.get())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(changed))
    }

    pub(crate) async fn analytics(
        pool: &Pool<DB>,
        since: DateTime<Utc>,
        offset_seconds: i64,
    ) -> Result<Analytics, SqlError> {
        let offset = offset_seconds * 1_000_000;
        let mut analytics = Analytics::default();
        let rows = sqlx::query(
            "SELECT (sent_at + $1) / $2 AS day, kind, COUNT(*) AS n FROM reminders \
             WHERE status = 'sent' AND sent_at >= $3 GROUP BY 1, 2",
        )
        .bind(offset)
        .bind(MICROS_PER_DAY)
        .bind(micros(since))
        .fetch_all(pool)
        .await?;
        for row in rows {
            let day = NaiveDate::from_epoch_days(
                i32::try_from(row.try_get::<i64, _>("day")?).unwrap_or(i32::MAX),
            )
            .ok_or_else(|| corrupt("reminders.sent_at", "out of range"))?;
            let kind: String = row.try_get("kind")?;
            let kind: Kind = kind.parse().map_err(|e| corrupt("reminders.kind", e))?;
            analytics
                .sent
                .insert((day, kind), row.try_get::<i64, _>("n")? as u64);
        }
        let rows = sqlx::query(
            "SELECT last_error, COUNT(*) AS n FROM reminders \
             WHERE last_error IS NOT NULL AND status IN ('pending', 'failed', 'expired') \
             GROUP BY last_error ORDER BY 2 DESC, 1 LIMIT 20",
        )
        .fetch_all(pool)
        .await?;
        for row in rows {
            analytics.errors.push((
                row.try_get("last_error")?,
                row.try_get::<i64, _>("n")? as u64,
            ));
        }
        let rows = sqlx::query(
            "SELECT opt_out, unsubscribed, COUNT(*) AS n FROM students \
             WHERE opt_out <> '' OR unsubscribed <> '' GROUP BY 1, 2",
        )
        .fetch_all(pool)
        .await?;
        let families = Family::ALL;
        let mut opted_out = [0u64; 3];
        for row in rows {
            let platform = convert::opt_outs(&row.try_get::<String, _>("opt_out")?, "students")?;
            let own = convert::opt_outs(&row.try_get::<String, _>("unsubscribed")?, "students")?;
            let n = row.try_get::<i64, _>("n")? as u64;
            for (family, count) in families.iter().zip(&mut opted_out) {
                if platform.excludes(*family) || own.excludes(*family) {
                    *count += n;
                }
            }
        }
        analytics.opt_outs = families.into_iter().zip(opted_out).collect();
        Ok(analytics)
    }
}
