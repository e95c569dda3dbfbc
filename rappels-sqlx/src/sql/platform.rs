//! The platform's records one at a time: parents, a student's explanation, manual
//! requests, study plans and the sessions they create, unsubscribes.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::domain::{
    Family, ManualId, ManualRequest, Parent, ParentId, ReminderKey, Session, SessionId, StudentId,
    StudyPlan,
};
use rappels_core::ports::{ManualContext, NewManualRequest, PlanInput, ScheduleInput};
use rappels_core::schedule::NewSession;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, Row, Type};

use super::{SESSION_COLUMNS, Sql, corrupt};
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
    pub(crate) async fn parent(pool: &Pool<DB>, id: ParentId) -> Result<Option<Parent>, SqlError> {
        let mut found = HashMap::new();
        Self::parents_by_id(pool, &[id], &mut found).await?;
        Ok(found.remove(&id))
    }

    pub(crate) async fn explain_input(
        pool: &Pool<DB>,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<PlanInput>, SqlError> {
        let mut input = PlanInput::default();
        Self::students_by_id(pool, &[student], &mut input.students).await?;
        if input.students.is_empty() {
            return Ok(None);
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s \
             WHERE s.student_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3"
        )))
        .bind(student.get())
        .bind(micros(from))
        .bind(micros(until))
        .fetch_all(pool)
        .await?;
        for row in rows {
            let s = Self::session(&row)?;
            input.sessions.insert(s.id, s);
        }
        let rows = sqlx::query(
            "SELECT id, parent_id, student_id, title, message, requested_at \
             FROM manual_requests WHERE student_id = $1 AND requested_at <= $2",
        )
        .bind(student.get())
        .bind(micros(at))
        .fetch_all(pool)
        .await?;
        let mut parents = Vec::new();
        for row in rows {
            let m = Self::manual_request(&row)?;
            parents.push(m.parent_id);
            input.manual.insert(m.id, m);
        }
        parents.sort_unstable();
        parents.dedup();
        Self::parents_by_id(pool, &parents, &mut input.parents).await?;
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT reminder_key FROM reminders WHERE student_id = $1")
                .bind(student.get())
                .fetch_all(pool)
                .await?;
        for key in keys {
            input.sent.insert(
                key.parse::<ReminderKey>()
                    .map_err(|e| corrupt("reminders", e))?,
            );
        }
        Self::recorded_manual_keys(pool, &mut input).await?;
        Ok(Some(input))
    }

    pub(crate) async fn manual_context(
        pool: &Pool<DB>,
        parent: ParentId,
        student: StudentId,
        since: DateTime<Utc>,
    ) -> Result<ManualContext, SqlError> {
        let mut parents = HashMap::new();
        Self::parents_by_id(pool, &[parent], &mut parents).await?;
        let mut students = HashMap::new();
        Self::students_by_id(pool, &[student], &mut students).await?;
        let rows = sqlx::query(
            "SELECT id, parent_id, student_id, title, message, requested_at FROM manual_requests \
             WHERE parent_id = $1 AND student_id = $2 AND requested_at >= $3",
        )
        .bind(parent.get())
        .bind(student.get())
        .bind(micros(since))
        .fetch_all(pool)
        .await?;
        Ok(ManualContext {
            parent: parents.remove(&parent),
            student: students.remove(&student),
            requests: rows
                .iter()
                .map(Self::manual_request)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Inserts a row whose id is the next free one, in one statement (atomic on
    /// SQLite); two PostgreSQL writers may pick the same id, so a key conflict is
    /// retried.
    pub(super) async fn insert_with_next_id<F>(
        pool: &Pool<DB>,
        mut query: F,
    ) -> Result<i64, SqlError>
    where
        F: FnMut() -> sqlx::query::Query<'static, DB, <DB as sqlx::Database>::Arguments>,
    {
        for attempt in 0..5 {
            match query().fetch_one(pool).await {
                Ok(row) => return Ok(row.try_get::<i64, _>("id")?),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && attempt < 4 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Stores an accepted manual request, judging it again under a lock so that
    /// concurrent requests cannot exceed the daily limit: the service judged it on
    /// a read made before, which another writer may have outdated. The engine's
    /// `manual_begin`/`manual_lock` serialise the writers of manual requests (SQLite:
    /// the write lock from the start; PostgreSQL: a transaction-scoped advisory
    /// lock), so the requests counted are all those committed, and the new one is
    /// inserted before the next writer counts. `Ok(Err(_))` when refused now.
    pub(crate) async fn add_manual_request(
        pool: &Pool<DB>,
        request: &NewManualRequest,
    ) -> Result<Result<ManualId, rappels_core::rules::Rejection>, SqlError> {
        // Read before the transaction: the pool may hold one connection (SQLite).
        let settings = Self::load_settings(pool)
            .await?
            .ok_or(SqlError::NoSettings)?;
        let context = Self::manual_context(
            pool,
            request.parent,
            request.student,
            request.requested_at - TimeDelta::days(2),
        )
        .await?;
        let mut tx = pool.begin_with(DB::MANUAL_BEGIN).await?;
        for lock in DB::MANUAL_LOCK {
            sqlx::query(*lock).execute(&mut *tx).await?;
        }
        let rows = sqlx::query(
            "SELECT id, parent_id, student_id, title, message, requested_at FROM manual_requests \
             WHERE parent_id = $1 AND student_id = $2 AND requested_at >= $3",
        )
        .bind(request.parent.get())
        .bind(request.student.get())
        .bind(micros(request.requested_at - TimeDelta::days(2)))
        .fetch_all(&mut *tx)
        .await?;
        let earlier: Vec<ManualRequest> = rows
            .iter()
            .map(Self::manual_request)
            .collect::<Result<_, _>>()?;
        let draft = ManualRequest {
            // Not read by the judgement: a request being made has no id yet.
            id: ManualId::new(1).map_err(|e| corrupt("manual request", e))?,
            parent_id: request.parent,
            student_id: request.student,
            title: request.title.to_string(),
            message: request.message.to_string(),
            requested_at: request.requested_at,
        };
        let judged = rappels_core::rules::judge_new_manual_request(
            &earlier,
            &draft,
            &settings,
            |id| context.parent.as_ref().filter(|p| p.id == id),
            |id| context.student.as_ref().filter(|s| s.id == id),
        );
        if let Err(rejection) = judged {
            tx.rollback().await?;
            return Ok(Err(rejection));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO manual_requests (id, parent_id, student_id, title, message, requested_at) \
             SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5 FROM manual_requests RETURNING id",
        )
        .bind(request.parent.get())
        .bind(request.student.get())
        .bind(request.title.to_string())
        .bind(request.message.to_string())
        .bind(micros(request.requested_at))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(
            ManualId::new(id).map_err(|e| corrupt("manual_requests.id", e))?
        ))
    }

    pub(crate) async fn schedule_input(
        pool: &Pool<DB>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ScheduleInput, SqlError> {
        let rows = sqlx::query(
            "SELECT id, student_id, weekday, time, subject, objective, duration_minutes FROM study_plans",
        )
        .fetch_all(pool)
        .await?;
        let mut input = ScheduleInput::default();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let what = format!("study plan {id}");
            let bad = |e: rappels_core::domain::DomainError| corrupt(&what, e);
            let duration: i64 = row.try_get("duration_minutes")?;
            input.plans.push(StudyPlan {
                id: rappels_core::domain::StudyPlanId::new(id).map_err(bad)?,
                student_id: StudentId::new(row.try_get("student_id")?).map_err(bad)?,
                weekday: rappels_core::domain::Weekday::parse(
                    &row.try_get::<String, _>("weekday")?,
                )
                .map_err(bad)?,
                time: rappels_core::domain::TimeOfDay::parse(&row.try_get::<String, _>("time")?)
                    .map_err(bad)?,
                subject: row.try_get("subject")?,
                objective: row.try_get("objective")?,
                duration_minutes: u32::try_from(duration).map_err(|e| corrupt(&what, e))?,
            });
        }
        let mut ids: Vec<StudentId> = input.plans.iter().map(|p| p.student_id).collect();
        ids.sort_unstable();
        ids.dedup();
        Self::students_by_id(pool, &ids, &mut input.students).await?;
        let rows = sqlx::query(
            "SELECT student_id, starts_at FROM sessions WHERE starts_at >= $1 AND starts_at < $2",
        )
        .bind(micros(from))
        .bind(micros(until))
        .fetch_all(pool)
        .await?;
        for row in rows {
            let student =
                StudentId::new(row.try_get("student_id")?).map_err(|e| corrupt("sessions", e))?;
            input.existing.insert((
                student,
                convert::instant(row.try_get("starts_at")?, "sessions")?,
            ));
        }
        Ok(input)
    }

    pub(crate) async fn add_sessions(
        pool: &Pool<DB>,
        sessions: &[NewSession],
    ) -> Result<Vec<Session>, SqlError> {
        let mut added = Vec::with_capacity(sessions.len());
        for new in sessions {
            let id = Self::insert_with_next_id(pool, || {
                sqlx::query(
                    "INSERT INTO sessions (id, student_id, subject, objective, starts_at, duration_minutes, status) \
                     SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4, $5, 'scheduled' FROM sessions RETURNING id",
                )
                .bind(new.student.get())
                .bind(new.subject.clone())
                .bind(new.objective.clone())
                .bind(micros(new.starts_at))
                .bind(i64::from(new.duration_minutes))
            })
            .await?;
            added.push(new.with_id(SessionId::new(id).map_err(|e| corrupt("sessions.id", e))?));
        }
        Ok(added)
    }

    /// Records an opt-out from an unsubscribe link; `None` when the student does not
    /// exist. It goes to `unsubscribed`, which imports leave alone.
    pub(crate) async fn opt_out(
        pool: &Pool<DB>,
        student: StudentId,
        family: Family,
    ) -> Result<Option<bool>, SqlError> {
        let mut tx = pool.begin().await?;
        let row = sqlx::query("SELECT opt_out, unsubscribed FROM students WHERE id = $1")
            .bind(student.get())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let what = format!("student {student}");
        let platform = convert::opt_outs(&row.try_get::<String, _>("opt_out")?, &what)?;
        let mut recorded = convert::opt_outs(&row.try_get::<String, _>("unsubscribed")?, &what)?;
        let changed = !platform.excludes(family) && recorded.add(family);
        if changed {
            sqlx::query("UPDATE students SET unsubscribed = $1 WHERE id = $2")
                .bind(convert::opt_out_text(&recorded))
                .bind(student.get())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(changed))
    }
}
