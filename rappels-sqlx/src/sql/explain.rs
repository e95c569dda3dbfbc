//! How the database runs each planner query, for the benchmarks and the index checks.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rappels_core::domain::Kind;
use rappels_core::plan::{PlanWindow, ZoneWindow};
use rappels_core::rules;
use rappels_core::settings::Settings;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, QueryBuilder, Row, Type};

use super::{BATCH, SESSION_COLUMNS, STUDENT_COLUMNS, Sql};
use crate::engine::Engine;
use crate::{QueryPlan, SqlError};

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
    /// How the database runs each planner query at `window` (those of `plan_parts` and
    /// of `plan_input`), with the window's real parameters; the queries that take a
    /// list of ids get those of the first part their candidates would make.
    pub(crate) async fn explain_planner(
        pool: &Pool<DB>,
        window: &PlanWindow,
        settings: &Settings,
    ) -> Result<Vec<QueryPlan>, SqlError> {
        let x = DB::EXPLAIN;
        let at = window.at;
        let mut out = Vec::new();
        let ids_of = |rows: &[DB::Row], column: &str| -> Result<Vec<i64>, SqlError> {
            rows.iter()
                .map(|r| r.try_get::<i64, _>(column).map_err(SqlError::from))
                .collect()
        };
        out.push(
            Self::explain(pool, "zones of the students".to_owned(), Self::zones_sql(x)).await?,
        );
        out.push(
            Self::explain(
                pool,
                "manual requests".to_owned(),
                Self::manual_requests_sql(x, at),
            )
            .await?,
        );
        let mut sample = Self::manual_requests_sql("", at);
        sample.push(format!(" LIMIT {BATCH}"));
        let manual = sample.build().fetch_all(pool).await?;
        out.push(
            Self::explain(
                pool,
                "recorded keys by manual request".to_owned(),
                Self::keys_by_manual_sql(x, &ids_of(&manual, "id")?),
            )
            .await?,
        );
        out.push(
            Self::explain(
                pool,
                "parents by id".to_owned(),
                Self::parents_by_id_sql(x, &ids_of(&manual, "parent_id")?),
            )
            .await?,
        );
        out.push(
            Self::explain(
                pool,
                "children by parent".to_owned(),
                Self::children_by_parent_sql(x, &ids_of(&manual, "parent_id")?),
            )
            .await?,
        );

        let mut zones: Vec<&ZoneWindow> = window.zones().collect();
        zones.sort_by_key(|zw| zw.zone.name());
        let span = rules::digest_span(at);
        let mut key_dates: BTreeSet<(Kind, NaiveDate)> = BTreeSet::new();
        for zw in zones {
            let zone = zw.zone.name();
            key_dates.extend(zw.session_eve.iter().map(|s| (Kind::SessionEve, s.date)));
            key_dates.extend(zw.session_day.iter().map(|s| (Kind::SessionDay, s.date)));
            key_dates.extend(zw.inactivity.iter().map(|s| (Kind::Inactivity, s.date)));
            key_dates.extend(zw.weekly.iter().map(|s| (Kind::Weekly, s.date)));
            for (from, until) in zw.session_start_ranges() {
                let (from, until) = (from.max(at), until);
                let name = format!("sessions starting in range, {zone}");
                out.push(
                    Self::explain_streamed(
                        pool,
                        name,
                        Self::sessions_range_sql(x, "s.id", zone, from, until),
                    )
                    .await?,
                );
                let mut sample = Self::sessions_range_sql("", SESSION_COLUMNS, zone, from, until);
                sample.push(format!(" LIMIT {BATCH}"));
                let rows = sample.build().fetch_all(pool).await?;
                let name = format!("students by id (a sessions part), {zone}");
                out.push(
                    Self::explain(
                        pool,
                        name,
                        Self::students_by_id_sql(x, &ids_of(&rows, "student_id")?),
                    )
                    .await?,
                );
                let name = format!("recorded keys by session (a sessions part), {zone}");
                out.push(
                    Self::explain(
                        pool,
                        name,
                        Self::keys_by_session_sql(x, &ids_of(&rows, "id")?),
                    )
                    .await?,
                );
            }
            for dates in zw.activity_dates(settings) {
                let name = format!("inactivity candidates less recorded (plan_parts), {zone}");
                out.push(
                    Self::explain_streamed(
                        pool,
                        name,
                        Self::activity_sql(x, "id", zone, &dates, true),
                    )
                    .await?,
                );
                let name = format!("inactivity candidates (plan_input), {zone}");
                out.push(
                    Self::explain(
                        pool,
                        name,
                        Self::activity_sql(x, STUDENT_COLUMNS, zone, &dates, false),
                    )
                    .await?,
                );
            }
            if let Some(first) = zw.weekly.first() {
                let name = format!("weekly candidates less recorded (plan_parts), {zone}");
                out.push(
                    Self::explain_streamed(
                        pool,
                        name,
                        Self::weekly_sql(x, "id", zone, Some(first.date)),
                    )
                    .await?,
                );
                let name = format!(
                    "weekly digests due, less recorded and opted out (record_weekly), {zone}"
                );
                out.push(
                    Self::explain_streamed(
                        pool,
                        name,
                        Self::weekly_due_sql(x, "id", zone, first.date),
                    )
                    .await?,
                );
                let name = format!("weekly candidates (plan_input), {zone}");
                out.push(
                    Self::explain(pool, name, Self::weekly_sql(x, STUDENT_COLUMNS, zone, None))
                        .await?,
                );
                let mut sample = Self::weekly_sql("", STUDENT_COLUMNS, zone, None);
                sample.push(format!(" LIMIT {BATCH}"));
                let ids = ids_of(&sample.build().fetch_all(pool).await?, "id")?;
                let name = format!(
                    "digest sessions by student (a weekly part; plan_input by 1,000), {zone}"
                );
                out.push(
                    Self::explain(pool, name, Self::digest_by_student_sql(x, span, &ids)).await?,
                );
                let name =
                    format!("recorded digests by student (a weekly part, two due dates), {zone}");
                let dates: Vec<NaiveDate> = zw.weekly.iter().map(|s| s.date).collect();
                out.push(Self::explain(pool, name, Self::weekly_keys_sql(x, &dates, &ids)).await?);
            }
        }
        for (kind, date) in key_dates {
            let name = format!(
                "recorded keys by slot (plan_input), {} {date}",
                kind.as_str()
            );
            out.push(Self::explain(pool, name, Self::keys_by_slot_sql(x, kind, date)).await?);
        }
        Ok(out)
    }

    pub(super) async fn explain(
        pool: &Pool<DB>,
        query: String,
        mut q: QueryBuilder<DB>,
    ) -> Result<QueryPlan, SqlError> {
        let mut conn = pool.acquire().await?;
        let plan = DB::explain_lines(&mut conn, q.build()).await?;
        Ok(QueryPlan { query, plan })
    }

    /// `explain` for the candidate queries `plan_parts` streams, under their settings.
    pub(super) async fn explain_streamed(
        pool: &Pool<DB>,
        query: String,
        mut q: QueryBuilder<DB>,
    ) -> Result<QueryPlan, SqlError> {
        let mut tx = Self::streaming(pool).await?;
        let plan = DB::explain_lines(&mut tx, q.build()).await?;
        tx.rollback().await?;
        Ok(QueryPlan { query, plan })
    }
}
