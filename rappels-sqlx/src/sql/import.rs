//! A scenario, imported in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rappels_core::domain::StudentId;
use rappels_core::scenario::Scenario;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, Type};

use super::Sql;
use crate::engine::Engine;
use crate::{ImportProgress, ImportReport, SqlError};

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

        for chunk in scenario.students.chunks(DB::BULK_ROWS) {
            DB::bulk_students(&mut tx, chunk, default_zone).await?;
            step(chunk.len());
        }
        for chunk in scenario.parents.chunks(DB::BULK_ROWS) {
            DB::bulk_parents(&mut tx, chunk).await?;
            step(chunk.len());
        }
        let zones: HashMap<StudentId, &'static str> = scenario
            .students
            .iter()
            .map(|s| (s.id, s.zone(default_zone).name()))
            .collect();
        for chunk in scenario.sessions.chunks(DB::BULK_ROWS) {
            DB::bulk_sessions(&mut tx, chunk, &zones).await?;
            step(chunk.len());
        }
        for chunk in scenario.study_plans.chunks(DB::BULK_ROWS) {
            DB::bulk_study_plans(&mut tx, chunk).await?;
            step(chunk.len());
        }
        for chunk in scenario.manual.chunks(DB::BULK_ROWS) {
            DB::bulk_manual(&mut tx, chunk).await?;
            step(chunk.len());
        }
        let mut sent = 0u64;
        for chunk in scenario.sent.chunks(DB::BULK_ROWS) {
            sent += DB::bulk_sent(&mut tx, chunk, now).await?;
            step(chunk.len());
        }
        tx.commit().await?;
        // Fresh statistics let both planners pick the indexes after a bulk load.
        sqlx::query("ANALYZE").execute(pool).await?;
        Ok(ImportReport {
            students: scenario.students.len(),
            parents: scenario.parents.len(),
            sessions: scenario.sessions.len(),
            study_plans: scenario.study_plans.len(),
            manual: scenario.manual.len(),
            sent: sent as usize,
        })
    }
}
