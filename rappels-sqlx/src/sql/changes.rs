//! The platform's changes, applied as they come (`SqlStore::apply_changes`): each line's
//! record written, linked, deleted or touched, in the caller's one transaction.

use rappels_core::changes::{Applied, ApplyReport, Change, Deletion, Link};
use rappels_core::domain::{Parent, Session, StudyPlan, Zone};
use rappels_core::rules;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, QueryBuilder, Row, Type};

use super::Sql;
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
    /// Applies `changes` (each with its line number) in one transaction: all of them, or
    /// nothing on an error of the database. A change naming a record that is not stored
    /// is reported in the result and writes nothing.
    pub(crate) async fn apply_changes(
        pool: &Pool<DB>,
        changes: &[(usize, Change)],
    ) -> Result<ApplyReport, SqlError> {
        // Read before the transaction: the SQLite pool holds one connection.
        let settings = Self::load_settings(pool)
            .await?
            .ok_or(SqlError::NoSettings)?;
        let mut tx = pool.begin().await?;
        let mut report = ApplyReport::default();
        let mut rest = changes;
        while let Some((first, after)) = rest.split_first() {
            // A run of activities (most of a feed: every login) is applied together.
            let run = rest
                .iter()
                .take_while(|(_, c)| matches!(c, Change::Activity(_)))
                .count();
            if run > 0 {
                let (activities, after) = rest.split_at(run);
                Self::activities(&mut tx, activities, &mut report).await?;
                rest = after;
                continue;
            }
            Self::apply(&mut tx, first, settings.timezone, &mut report).await?;
            rest = after;
        }
        tx.commit().await?;
        Ok(report)
    }

    /// A run of activity changes, `ACTIVITY_STEP` at a time: one read of their students'
    /// zones and last activities, then one `UPDATE … FROM (VALUES …)` for the students
    /// whose last activity moves forward — the same end state and the same report as
    /// applying the lines one by one, in two statements rather than two per line.
    async fn activities(
        conn: &mut DB::Connection,
        activities: &[(usize, Change)],
        report: &mut ApplyReport,
    ) -> Result<(), SqlError> {
        for chunk in activities.chunks(ACTIVITY_STEP) {
            let mut ids: Vec<i64> = chunk
                .iter()
                .filter_map(|(_, c)| match c {
                    Change::Activity(a) => Some(a.student_id.get()),
                    _ => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let mut q = QueryBuilder::<DB>::new(
                "SELECT id, zone, last_activity_at FROM students WHERE id IN (",
            );
            Self::push_ids(&mut q, &ids);
            // Per student: the zone, the last activity stored, and the latest of the run.
            let mut known: HashMap<i64, Seen> = HashMap::new();
            for row in q.build().fetch_all(&mut *conn).await? {
                let id: i64 = row.try_get("id")?;
                let zone: String = row.try_get("zone")?;
                let zone =
                    Zone::parse(&zone).map_err(|e| super::corrupt(format!("student {id}"), e))?;
                known.insert(id, (zone, row.try_get("last_activity_at")?, None));
            }
            for (line, change) in chunk {
                let Change::Activity(activity) = change else {
                    continue;
                };
                let id = activity.student_id;
                let applied = match known.get_mut(&id.get()) {
                    None => Applied::Unknown(format!("no student {id}")),
                    Some((_, stored, latest)) => {
                        let current = latest.map(micros).or(*stored);
                        let later = current.is_none_or(|current| current < micros(activity.at));
                        if later {
                            *latest = Some(activity.at);
                        }
                        written_if(later)
                    }
                };
                report.add(*line, applied);
            }
            let moved: Vec<(i64, i64, i64)> = known
                .iter()
                .filter_map(|(id, (zone, _, latest))| {
                    latest.map(|at| {
                        let day = convert::day(rules::inactivity_reference_date_of(at, *zone));
                        (*id, micros(at), day)
                    })
                })
                .collect();
            if moved.is_empty() {
                continue;
            }
            let mut q = QueryBuilder::<DB>::new(
                "UPDATE students SET last_activity_at = v.column2, reference_day = v.column3 FROM (",
            );
            q.push_values(&moved, |mut row, (id, at, day)| {
                for value in [id, at, day] {
                    row.push("CAST(")
                        .push_bind_unseparated(*value)
                        .push_unseparated(" AS BIGINT)");
                }
            });
            // The list of ids as well: without it SQLite's planner may scan the students
            // (a million rows) against the values rather than look each one up by id.
            q.push(") AS v WHERE students.id = v.column1 AND students.id IN (");
            let moved_ids: Vec<i64> = moved.iter().map(|(id, _, _)| *id).collect();
            Self::push_ids(&mut q, &moved_ids);
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Applies one change and adds what it did to `report` (an activity goes through
    /// `activities`, as a run of one).
    async fn apply(
        conn: &mut DB::Connection,
        entry: &(usize, Change),
        default_zone: Zone,
        report: &mut ApplyReport,
    ) -> Result<(), SqlError> {
        let (line, change) = entry;
        let applied = match change {
            Change::Student(student) => {
                let written =
                    DB::bulk_students(conn, std::slice::from_ref(student), default_zone).await?;
                written_if(written > 0)
            }
            Change::Parent(parent) => Self::put_parent(conn, parent).await?,
            Change::Session(session) => Self::put_session(conn, session).await?,
            Change::StudyPlan(plan) => Self::put_study_plan(conn, plan).await?,
            Change::Link(link) => Self::link(conn, *link).await?,
            Change::Unlink(link) => Self::unlink(conn, *link).await?,
            Change::Delete(deletion) => Self::delete(conn, *deletion).await?,
            Change::Activity(_) => {
                return Self::activities(conn, std::slice::from_ref(entry), report).await;
            }
        };
        report.add(*line, applied);
        Ok(())
    }

    async fn exists(conn: &mut DB::Connection, table: &str, id: i64) -> Result<bool, SqlError> {
        let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {table} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(found.is_some())
    }

    async fn put_parent(conn: &mut DB::Connection, parent: &Parent) -> Result<Applied, SqlError> {
        for child in &parent.children {
            if !Self::exists(conn, "students", child.get()).await? {
                return Ok(Applied::Unknown(format!(
                    "parent {}: no student {child}",
                    parent.id
                )));
            }
        }
        let children: Vec<i64> = sqlx::query_scalar(
            "SELECT student_id FROM parent_children WHERE parent_id = $1 ORDER BY position",
        )
        .bind(parent.id.get())
        .fetch_all(&mut *conn)
        .await?;
        let mut wanted: Vec<i64> = Vec::new();
        for child in &parent.children {
            if !wanted.contains(&child.get()) {
                wanted.push(child.get());
            }
        }
        let written = DB::bulk_parents(conn, std::slice::from_ref(parent)).await?;
        Ok(written_if(written > 0 || children != wanted))
    }

    async fn put_session(
        conn: &mut DB::Connection,
        session: &Session,
    ) -> Result<Applied, SqlError> {
        if !Self::exists(conn, "students", session.student_id.get()).await? {
            return Ok(Applied::Unknown(format!(
                "session {}: no student {}",
                session.id, session.student_id
            )));
        }
        // The triggers of migration 0004 give the session its student's zone.
        let written =
            DB::bulk_sessions(conn, std::slice::from_ref(session), &Default::default()).await?;
        Ok(written_if(written > 0))
    }

    async fn put_study_plan(
        conn: &mut DB::Connection,
        plan: &StudyPlan,
    ) -> Result<Applied, SqlError> {
        if !Self::exists(conn, "students", plan.student_id.get()).await? {
            return Ok(Applied::Unknown(format!(
                "study plan {}: no student {}",
                plan.id, plan.student_id
            )));
        }
        let written = DB::bulk_study_plans(conn, std::slice::from_ref(plan)).await?;
        Ok(written_if(written > 0))
    }

    async fn link(conn: &mut DB::Connection, link: Link) -> Result<Applied, SqlError> {
        if let Some(unknown) = Self::unknown_link_end(conn, link).await? {
            return Ok(Applied::Unknown(unknown));
        }
        // After the parent's other children: `position` only orders them.
        let added = sqlx::query(
            "INSERT INTO parent_children (parent_id, student_id, position) \
             SELECT $1, $2, COALESCE(MAX(position), -1) + 1 FROM parent_children WHERE parent_id = $1 \
             ON CONFLICT (parent_id, student_id) DO NOTHING",
        )
        .bind(link.parent_id.get())
        .bind(link.student_id.get())
        .execute(&mut *conn)
        .await?;
        Ok(written_if(DB::rows_affected(&added) > 0))
    }

    async fn unlink(conn: &mut DB::Connection, link: Link) -> Result<Applied, SqlError> {
        if let Some(unknown) = Self::unknown_link_end(conn, link).await? {
            return Ok(Applied::Unknown(unknown));
        }
        let removed =
            sqlx::query("DELETE FROM parent_children WHERE parent_id = $1 AND student_id = $2")
                .bind(link.parent_id.get())
                .bind(link.student_id.get())
                .execute(&mut *conn)
                .await?;
        Ok(written_if(DB::rows_affected(&removed) > 0))
    }

    /// Which end of `link` is not stored, if one is not.
    async fn unknown_link_end(
        conn: &mut DB::Connection,
        link: Link,
    ) -> Result<Option<String>, SqlError> {
        if !Self::exists(conn, "parents", link.parent_id.get()).await? {
            return Ok(Some(format!("no parent {}", link.parent_id)));
        }
        if !Self::exists(conn, "students", link.student_id.get()).await? {
            return Ok(Some(format!("no student {}", link.student_id)));
        }
        Ok(None)
    }

    /// Deletes a record and what hangs on it (a student's sessions, study plans and links;
    /// a parent's links). Manual requests and the reminder log stay: they are history, and
    /// what they name being gone is what cancels their reminders at send time.
    async fn delete(conn: &mut DB::Connection, deletion: Deletion) -> Result<Applied, SqlError> {
        let (table, id, dependants): (&str, i64, &[&str]) = match deletion {
            Deletion::Student(id) => (
                "students",
                id.get(),
                &[
                    "DELETE FROM parent_children WHERE student_id = $1",
                    "DELETE FROM sessions WHERE student_id = $1",
                    "DELETE FROM study_plans WHERE student_id = $1",
                ],
            ),
            Deletion::Parent(id) => (
                "parents",
                id.get(),
                &["DELETE FROM parent_children WHERE parent_id = $1"],
            ),
            Deletion::Session(id) => ("sessions", id.get(), &[]),
            Deletion::StudyPlan(id) => ("study_plans", id.get(), &[]),
        };
        for statement in dependants {
            sqlx::query(*statement).bind(id).execute(&mut *conn).await?;
        }
        let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE id = $1"
        )))
        .bind(id)
        .execute(&mut *conn)
        .await?;
        Ok(if DB::rows_affected(&deleted) > 0 {
            Applied::Written
        } else {
            Applied::Unknown(format!("no {} {id}", singular(table)))
        })
    }
}

/// A student of a run of activities: their zone, the last activity stored, and the
/// latest of the run when it is later.
type Seen = (Zone, Option<i64>, Option<DateTime<Utc>>);

/// Students a statement of `activities`: three parameters each, under SQLite's bound.
const ACTIVITY_STEP: usize = 1_000;

fn written_if(written: bool) -> Applied {
    if written {
        Applied::Written
    } else {
        Applied::Unchanged
    }
}

fn singular(table: &str) -> &str {
    match table {
        "students" => "student",
        "parents" => "parent",
        "sessions" => "session",
        _ => "study plan",
    }
}
