//! The planner's queries, each built by one function so that planning runs them and
//! `explain` shows how the database runs the very same SQL (`prefix` is empty, or the
//! engine's `EXPLAIN`).

use chrono::{DateTime, NaiveDate, Utc};
use rappels_core::domain::Kind;
use rappels_core::plan::ActivityDates;
use sqlx::{ColumnIndex, Decode, Encode, Executor, QueryBuilder, Type};

use super::{PERIODIC_ELIGIBLE, SESSION_COLUMNS, STUDENT_COLUMNS, Sql, WEEKLY_NOT_OPTED_OUT};
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
    /// Appends `ids` as the bound list of an `IN (…)`; an empty list still makes valid
    /// SQL (it matches nothing).
    pub(super) fn push_ids(q: &mut QueryBuilder<DB>, ids: &[i64]) {
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        if ids.is_empty() {
            list.push("NULL");
        }
        q.push(")");
    }

    /// The zones of the students, one index probe per zone: `SELECT DISTINCT zone`
    /// would read the index entry of every student, a million for a quiet instant.
    pub(super) fn zones_sql(prefix: &str) -> QueryBuilder<DB> {
        QueryBuilder::new(format!(
            "{prefix}WITH RECURSIVE z (zone) AS ( \
                 SELECT MIN(zone) FROM students \
                 UNION ALL \
                 SELECT (SELECT MIN(s.zone) FROM students s WHERE s.zone > z.zone) FROM z \
                 WHERE z.zone IS NOT NULL) \
             SELECT zone FROM z WHERE zone IS NOT NULL"
        ))
    }

    pub(super) fn manual_requests_sql(prefix: &str, at: DateTime<Utc>) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT id, parent_id, student_id, title, message, requested_at \
             FROM manual_requests WHERE requested_at <= "
        ));
        q.push_bind(micros(at));
        q
    }

    pub(super) fn students_by_id_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT {STUDENT_COLUMNS} FROM students WHERE id IN ("
        ));
        Self::push_ids(&mut q, ids);
        q
    }

    pub(super) fn parents_by_id_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT id, first_name, last_name, email FROM parents WHERE id IN ("
        ));
        Self::push_ids(&mut q, ids);
        q
    }

    pub(super) fn children_by_parent_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT parent_id, student_id FROM parent_children WHERE parent_id IN ("
        ));
        Self::push_ids(&mut q, ids);
        q.push(" ORDER BY parent_id, position");
        q
    }

    pub(super) fn keys_by_manual_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT reminder_key FROM reminders WHERE manual_id IN ("
        ));
        Self::push_ids(&mut q, ids);
        q
    }

    pub(super) fn keys_by_session_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT reminder_key FROM reminders WHERE session_id IN ("
        ));
        Self::push_ids(&mut q, ids);
        q
    }

    pub(super) fn keys_by_slot_sql(prefix: &str, kind: Kind, date: NaiveDate) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT reminder_key FROM reminders WHERE kind = "
        ));
        q.push_bind(kind.as_str());
        q.push(" AND slot_date = ");
        q.push_bind(convert::day(date));
        q
    }

    pub(super) fn weekly_keys_sql(
        prefix: &str,
        dates: &[NaiveDate],
        ids: &[i64],
    ) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT reminder_key FROM reminders WHERE kind = 'weekly' AND slot_date IN ("
        ));
        let days: Vec<i64> = dates.iter().map(|d| convert::day(*d)).collect();
        Self::push_ids(&mut q, &days);
        q.push(" AND student_id IN (");
        Self::push_ids(&mut q, ids);
        q
    }

    /// Sessions of `zone`'s students starting in `(from, until)`: one range of
    /// `sessions_by_zone`, the zone being kept on each session (migration 0004).
    pub(super) fn sessions_range_sql(
        prefix: &str,
        columns: &str,
        zone: &'static str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT {columns} FROM sessions s WHERE s.zone = "
        ));
        q.push_bind(zone);
        q.push(" AND s.starts_at > ");
        q.push_bind(micros(from));
        q.push(" AND s.starts_at < ");
        q.push_bind(micros(until));
        q
    }

    /// Students of `zone` whose reference day hits the inactivity ladder on
    /// `dates.slot_date`; with `leave_out_recorded`, less those whose reminder for that
    /// date is already recorded.
    pub(super) fn activity_sql(
        prefix: &str,
        columns: &str,
        zone: &'static str,
        dates: &ActivityDates,
        leave_out_recorded: bool,
    ) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT {columns} FROM students WHERE zone = "
        ));
        q.push_bind(zone);
        q.push(" AND ");
        q.push(PERIODIC_ELIGIBLE);
        q.push(" AND (reference_day IN (");
        let exact: Vec<i64> = dates.exact.iter().map(|d| convert::day(*d)).collect();
        Self::push_ids(&mut q, &exact);
        if let Some(repeat) = dates.repeat {
            let anchor = convert::day(repeat.anchor);
            q.push(" OR (reference_day < ");
            q.push_bind(anchor);
            q.push(" AND (");
            q.push_bind(anchor);
            q.push(" - reference_day) % ");
            q.push_bind(i64::from(repeat.every));
            q.push(" = 0)");
        }
        q.push(")");
        if leave_out_recorded {
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.student_id = students.id \
                    AND r.kind = 'inactivity' AND r.slot_date = ",
            );
            q.push_bind(convert::day(dates.slot_date));
            q.push(")");
        }
        q
    }

    /// Subscribed students of `zone`; with `single`, less those whose digest for that
    /// date is already recorded.
    pub(super) fn weekly_sql(
        prefix: &str,
        columns: &str,
        zone: &'static str,
        single: Option<NaiveDate>,
    ) -> QueryBuilder<DB> {
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT {columns} FROM students WHERE zone = "
        ));
        q.push_bind(zone);
        q.push(" AND ");
        q.push(PERIODIC_ELIGIBLE);
        if let Some(date) = single {
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.student_id = students.id \
                    AND r.kind = 'weekly' AND r.slot_date = ",
            );
            q.push_bind(convert::day(date));
            q.push(")");
        }
        q
    }

    /// The students of `zone` who are due the weekly digest of `date`: as
    /// `weekly_sql` with one date, less those who opted out of the digest
    /// (`rules::weekly_is_eligible` in SQL; the parity tests compare the two).
    pub(super) fn weekly_due_sql(
        prefix: &str,
        columns: &str,
        zone: &'static str,
        date: NaiveDate,
    ) -> QueryBuilder<DB> {
        let mut q = Self::weekly_sql(prefix, columns, zone, Some(date));
        q.push(" AND ");
        q.push(WEEKLY_NOT_OPTED_OUT);
        q
    }

    /// Sessions over the digest span of the students `ids`.
    pub(super) fn digest_by_student_sql(
        prefix: &str,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
        ids: &[i64],
    ) -> QueryBuilder<DB> {
        // The span holds most sessions, so SQLite's planner, weighing a thousand
        // probes against one range, picks a scan of the whole table for every part;
        // the index by student reads only these students' sessions.
        let mut q = QueryBuilder::new(format!(
            "{prefix}SELECT {SESSION_COLUMNS} FROM sessions s{} WHERE s.starts_at >= ",
            DB::SESSIONS_BY_STUDENT
        ));
        q.push_bind(micros(from));
        q.push(" AND s.starts_at < ");
        q.push_bind(micros(until));
        q.push(" AND s.student_id IN (");
        Self::push_ids(&mut q, ids);
        q
    }
}
