//! Step 2 of planning in SQL: the candidates of a window, whole (`plan_input`) or in parts
//! (`plan_parts`), and what building a batch's messages reads (`message_input`).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use rappels_core::domain::{
    EmailAddress, Kind, ManualId, Parent, ParentId, ReminderKey, SessionId, Student, StudentId,
};
use rappels_core::plan::PlanWindow;
use rappels_core::ports::{NewReminder, PlanInput, PlanParts};
use rappels_core::rules;
use rappels_core::settings::Settings;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, QueryBuilder, Row, Type};

use super::{BATCH, SESSION_COLUMNS, STUDENT_COLUMNS, Sql, corrupt};
use crate::SqlError;
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
    pub(super) async fn students_by_id(
        pool: &Pool<DB>,
        ids: &[StudentId],
        into: &mut HashMap<StudentId, Student>,
    ) -> Result<(), SqlError> {
        let missing: Vec<i64> = ids
            .iter()
            .filter(|id| !into.contains_key(id))
            .map(|id| id.get())
            .collect();
        for chunk in missing.chunks(BATCH) {
            for row in Self::students_by_id_sql("", chunk)
                .build()
                .persistent(DB::PERSISTENT)
                .fetch_all(pool)
                .await?
            {
                let s = Self::student(&row)?;
                into.insert(s.id, s);
            }
        }
        Ok(())
    }

    pub(super) async fn parents_by_id(
        pool: &Pool<DB>,
        ids: &[ParentId],
        into: &mut HashMap<ParentId, Parent>,
    ) -> Result<(), SqlError> {
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        for chunk in ids.chunks(BATCH) {
            for row in Self::parents_by_id_sql("", chunk)
                .build()
                .persistent(DB::PERSISTENT)
                .fetch_all(pool)
                .await?
            {
                let id: i64 = row.try_get("id")?;
                let what = format!("parent {id}");
                let bad = |e: rappels_core::domain::DomainError| corrupt(&what, e);
                let parent = Parent {
                    id: ParentId::new(id).map_err(bad)?,
                    first_name: row.try_get("first_name")?,
                    last_name: row.try_get("last_name")?,
                    email: EmailAddress::parse(row.try_get::<String, _>("email")?).map_err(bad)?,
                    children: Vec::new(),
                };
                into.insert(parent.id, parent);
            }
            for row in Self::children_by_parent_sql("", chunk)
                .build()
                .persistent(DB::PERSISTENT)
                .fetch_all(pool)
                .await?
            {
                let parent = ParentId::new(row.try_get("parent_id")?)
                    .map_err(|e| corrupt("parent_children", e))?;
                let child = StudentId::new(row.try_get("student_id")?)
                    .map_err(|e| corrupt("parent_children", e))?;
                if let Some(p) = into.get_mut(&parent) {
                    p.children.push(child);
                }
            }
        }
        Ok(())
    }

    /// Adds the keys the query returns to `sent`.
    pub(super) async fn read_keys(
        pool: &Pool<DB>,
        mut q: QueryBuilder<DB>,
        sent: &mut HashSet<ReminderKey>,
    ) -> Result<(), SqlError> {
        let keys: Vec<String> = q
            .build_query_scalar()
            .persistent(DB::PERSISTENT)
            .fetch_all(pool)
            .await?;
        for key in keys {
            sent.insert(
                key.parse::<ReminderKey>()
                    .map_err(|e| corrupt("reminders", e))?,
            );
        }
        Ok(())
    }

    /// Adds to `input.sent` the recorded keys of the manual requests it holds.
    pub(super) async fn recorded_manual_keys(
        pool: &Pool<DB>,
        input: &mut PlanInput,
    ) -> Result<(), SqlError> {
        let ids: Vec<i64> = input.manual.keys().map(|id| id.get()).collect();
        for chunk in ids.chunks(BATCH) {
            Self::read_keys(pool, Self::keys_by_manual_sql("", chunk), &mut input.sent).await?;
        }
        Ok(())
    }

    /// The manual requests of a plan at `at`, their students and parents, and their
    /// recorded keys: the whole manual part of a plan.
    pub(super) async fn manual_input(
        pool: &Pool<DB>,
        at: DateTime<Utc>,
        input: &mut PlanInput,
    ) -> Result<Vec<StudentId>, SqlError> {
        let rows = Self::manual_requests_sql("", at)
            .build()
            .persistent(DB::PERSISTENT)
            .fetch_all(pool)
            .await?;
        let mut named = Vec::new();
        let mut parents = Vec::new();
        for row in rows {
            let m = Self::manual_request(&row)?;
            named.push(m.student_id);
            parents.push(m.parent_id);
            input.manual.insert(m.id, m);
        }
        parents.sort_unstable();
        parents.dedup();
        Self::parents_by_id(pool, &parents, &mut input.parents).await?;
        Self::recorded_manual_keys(pool, input).await?;
        Ok(named)
    }

    /// Step 2 of planning in SQL: the candidates of `window`, by indexed queries per
    /// zone, and the records that deciding and rendering them need.
    pub(crate) async fn plan_input(
        pool: &Pool<DB>,
        window: &PlanWindow,
        settings: &Settings,
    ) -> Result<PlanInput, SqlError> {
        let at = window.at;
        let mut input = PlanInput::default();
        let mut named: Vec<StudentId> = Vec::new();
        let mut key_dates: BTreeSet<(Kind, NaiveDate)> = BTreeSet::new();
        let span = rules::digest_span(at);
        for zw in window.zones() {
            let zone = zw.zone.name();
            key_dates.extend(zw.session_eve.iter().map(|s| (Kind::SessionEve, s.date)));
            key_dates.extend(zw.session_day.iter().map(|s| (Kind::SessionDay, s.date)));
            key_dates.extend(zw.inactivity.iter().map(|s| (Kind::Inactivity, s.date)));
            key_dates.extend(zw.weekly.iter().map(|s| (Kind::Weekly, s.date)));

            // Rows are decoded as they come rather than fetched all first: a zone's
            // digest candidates are a hundred thousand rows, which would otherwise be
            // held twice, raw and decoded.
            for (from, until) in zw.session_start_ranges() {
                let mut q =
                    Self::sessions_range_sql("", SESSION_COLUMNS, zone, from.max(at), until);
                let mut rows = q.build().persistent(DB::PERSISTENT).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let s = Self::session(&row)?;
                    named.push(s.student_id);
                    input.sessions.insert(s.id, s);
                }
            }

            for dates in zw.activity_dates(settings) {
                let mut q = Self::activity_sql("", STUDENT_COLUMNS, zone, &dates, false);
                let mut rows = q.build().persistent(DB::PERSISTENT).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let s = Self::student(&row)?;
                    input.inactivity.push(s.id);
                    input.students.insert(s.id, s);
                }
            }

            if !zw.weekly.is_empty() {
                let mut ids = Vec::new();
                let mut q = Self::weekly_sql("", STUDENT_COLUMNS, zone, None);
                let mut rows = q.build().persistent(DB::PERSISTENT).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let s = Self::student(&row)?;
                    ids.push(s.id.get());
                    input.weekly.push(s.id);
                    input.students.insert(s.id, s);
                }
                drop(rows);
                // By student, as the parts read them: a join over the zone would
                // read every session of the span, the zone's or not.
                for chunk in ids.chunks(BATCH) {
                    for row in Self::digest_by_student_sql("", span, chunk)
                        .build()
                        .persistent(DB::PERSISTENT)
                        .fetch_all(pool)
                        .await?
                    {
                        let s = Self::session(&row)?;
                        input
                            .digest_sessions
                            .entry(s.student_id)
                            .or_default()
                            .push(s);
                    }
                }
            }
        }

        named.extend(Self::manual_input(pool, at, &mut input).await?);
        named.sort_unstable();
        named.dedup();
        Self::students_by_id(pool, &named, &mut input.students).await?;

        // Recorded keys among the candidates: by (kind, slot date) for the automatic
        // kinds (the manual ones were read with the requests).
        for (kind, date) in key_dates {
            Self::read_keys(
                pool,
                Self::keys_by_slot_sql("", kind, date),
                &mut input.sent,
            )
            .await?;
        }
        Ok(input)
    }

    /// The ids a candidate query returns, read in one short transaction under the
    /// settings the long candidate queries need (see `streaming`).
    pub(super) async fn candidate_ids(
        pool: &Pool<DB>,
        mut q: QueryBuilder<DB>,
    ) -> Result<Vec<i64>, SqlError> {
        let mut tx = Self::streaming(pool).await?;
        let ids: Vec<i64> = q
            .build_query_scalar()
            .persistent(DB::PERSISTENT)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// A transaction for one of the long candidate queries of `plan_parts`, which
    /// leave out the candidates whose reminder is recorded. On PostgreSQL the plan of
    /// that anti-join follows the log's statistics, and those lag: right after an
    /// import, or after a run recorded a Sunday's digests, they say the log is empty,
    /// and the planner then scans the log, or the recorded keys, once per candidate
    /// (seconds for a few thousand, and growing with the log while the same run
    /// fills it). Within this transaction only, sequential scans and nested loops
    /// are switched off, which leaves a hash anti-join over the keys recorded for the
    /// slot, read by index: one pass over each side, whatever the statistics say.
    pub(super) async fn streaming(
        pool: &Pool<DB>,
    ) -> Result<sqlx::Transaction<'static, DB>, SqlError> {
        let mut tx = pool.begin().await?;
        for setting in DB::STREAM_GUARD {
            sqlx::query(*setting).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Step 2 of planning in parts (`Store::plan_parts`): the manual requests whole,
    /// then, per zone, the ids of the session, inactivity and weekly candidates (one
    /// short indexed query each), handed over `part_size` at a time with the records
    /// they need, read by id. Reading ids first keeps every read short: a read held
    /// open for a whole Sunday would keep SQLite from checkpointing its log while the
    /// run writes, and hold a connection the writers need. The inactivity and weekly
    /// queries leave out students whose reminder for the slot date is already
    /// recorded, so a run repeated within the grace window reads next to nothing.
    pub(crate) async fn plan_parts(
        pool: &Pool<DB>,
        window: &PlanWindow,
        settings: &Settings,
        part_size: usize,
        mut parts: PlanParts,
    ) -> Result<(), SqlError> {
        let at = window.at;
        let part_size = part_size.max(1);

        let mut first = PlanInput::default();
        let mut named = Self::manual_input(pool, at, &mut first).await?;
        named.sort_unstable();
        named.dedup();
        Self::students_by_id(pool, &named, &mut first.students).await?;
        if !parts.send(first).await {
            return Ok(());
        }

        let span = rules::digest_span(at);
        for zw in window.zones() {
            let zone = zw.zone.name();
            for (from, until) in zw.session_start_ranges() {
                let ids = Self::candidate_ids(
                    pool,
                    Self::sessions_range_sql("", "s.id", zone, from.max(at), until),
                )
                .await?;
                for chunk in ids.chunks(part_size) {
                    if !parts.send(Self::sessions_part(pool, chunk).await?).await {
                        return Ok(());
                    }
                }
            }

            for dates in zw.activity_dates(settings) {
                let ids =
                    Self::candidate_ids(pool, Self::activity_sql("", "id", zone, &dates, true))
                        .await?;
                for chunk in ids.chunks(part_size) {
                    let mut part = PlanInput::default();
                    let chunk: Vec<StudentId> = chunk
                        .iter()
                        .map(|id| StudentId::new(*id).map_err(|e| corrupt("students.id", e)))
                        .collect::<Result<_, _>>()?;
                    Self::students_by_id(pool, &chunk, &mut part.students).await?;
                    part.inactivity = chunk;
                    if !parts.send(part).await {
                        return Ok(());
                    }
                }
            }

            if !zw.weekly.is_empty() && parts.wants_weekly() {
                // One due date (the usual case): leave out who already has it. Two
                // (a grace wider than a week's turn): read the keys per part.
                let single = match zw.weekly.as_slice() {
                    [only] => Some(only.date),
                    _ => None,
                };
                let dates: Vec<NaiveDate> = zw.weekly.iter().map(|s| s.date).collect();
                let keys_of = match single {
                    Some(_) => None,
                    None => Some(dates.as_slice()),
                };
                let ids =
                    Self::candidate_ids(pool, Self::weekly_sql("", "id", zone, single)).await?;
                for chunk in ids.chunks(part_size) {
                    if !parts
                        .send(Self::weekly_part(pool, chunk, span, keys_of).await?)
                        .await
                    {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// A part of session candidates: the sessions with these ids, their students,
    /// and the recorded keys of their reminders.
    pub(super) async fn sessions_part(pool: &Pool<DB>, ids: &[i64]) -> Result<PlanInput, SqlError> {
        let mut part = PlanInput::default();
        for chunk in ids.chunks(BATCH) {
            let mut q = QueryBuilder::<DB>::new(format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id IN ("
            ));
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(pool).await? {
                let s = Self::session(&row)?;
                part.sessions.insert(s.id, s);
            }
            let mut q =
                QueryBuilder::<DB>::new("SELECT reminder_key FROM reminders WHERE session_id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(pool).await? {
                let key: String = row.try_get("reminder_key")?;
                part.sent.insert(
                    key.parse::<ReminderKey>()
                        .map_err(|e| corrupt("reminders", e))?,
                );
            }
        }
        let mut named: Vec<StudentId> = part.sessions.values().map(|s| s.student_id).collect();
        named.sort_unstable();
        named.dedup();
        Self::students_by_id(pool, &named, &mut part.students).await?;
        Ok(part)
    }

    /// What building the messages of `reminders` needs, read as the data is now:
    /// their students, sessions, manual requests with their parents, and the
    /// sessions of the digests' students over the digests' spans.
    pub(crate) async fn message_input(
        pool: &Pool<DB>,
        reminders: &[NewReminder],
    ) -> Result<PlanInput, SqlError> {
        let mut input = PlanInput::default();
        let mut students: Vec<StudentId> = reminders.iter().map(|r| r.student).collect();
        students.sort_unstable();
        students.dedup();
        Self::students_by_id(pool, &students, &mut input.students).await?;
        let ids = |f: fn(&ReminderKey) -> Option<i64>| {
            let mut ids: Vec<i64> = reminders.iter().filter_map(|r| f(&r.key)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        for chunk in ids(|k| k.session().map(SessionId::get)).chunks(BATCH) {
            let mut q = QueryBuilder::<DB>::new(format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id IN ("
            ));
            Self::push_ids(&mut q, chunk);
            for row in q.build().fetch_all(pool).await? {
                let s = Self::session(&row)?;
                input.sessions.insert(s.id, s);
            }
        }
        let mut parents = Vec::new();
        for chunk in ids(|k| k.manual().map(ManualId::get)).chunks(BATCH) {
            let mut q = QueryBuilder::<DB>::new(
                "SELECT id, parent_id, student_id, title, message, requested_at FROM manual_requests WHERE id IN (",
            );
            Self::push_ids(&mut q, chunk);
            for row in q.build().fetch_all(pool).await? {
                let m = Self::manual_request(&row)?;
                parents.push(m.parent_id);
                input.manual.insert(m.id, m);
            }
        }
        parents.sort_unstable();
        parents.dedup();
        Self::parents_by_id(pool, &parents, &mut input.parents).await?;
        // One read per student over the union of their digests' spans, so that two
        // digests of one student in a batch do not list a session twice.
        let mut spans: HashMap<i64, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
        for r in reminders.iter().filter(|r| r.key.kind() == Kind::Weekly) {
            let (from, until) = rules::digest_span(r.due_at);
            let span = spans.entry(r.student.get()).or_insert((from, until));
            *span = (span.0.min(from), span.1.max(until));
        }
        let mut by_span: HashMap<(DateTime<Utc>, DateTime<Utc>), Vec<i64>> = HashMap::new();
        for (student, span) in spans {
            by_span.entry(span).or_default().push(student);
        }
        for (span, mut ids) in by_span {
            ids.sort_unstable();
            for chunk in ids.chunks(BATCH) {
                for row in Self::digest_by_student_sql("", span, chunk)
                    .build()
                    .persistent(DB::PERSISTENT)
                    .fetch_all(pool)
                    .await?
                {
                    let s = Self::session(&row)?;
                    if input.students.contains_key(&s.student_id) {
                        input
                            .digest_sessions
                            .entry(s.student_id)
                            .or_default()
                            .push(s);
                    }
                }
            }
        }
        Ok(input)
    }

    /// A part of weekly candidates: the students with these ids, their sessions over
    /// the digest's span, and (when the query could not leave them out) their
    /// recorded digests of the due dates `keys_of`.
    pub(super) async fn weekly_part(
        pool: &Pool<DB>,
        ids: &[i64],
        span: (DateTime<Utc>, DateTime<Utc>),
        keys_of: Option<&[NaiveDate]>,
    ) -> Result<PlanInput, SqlError> {
        let mut part = PlanInput::default();
        let students: Vec<StudentId> = ids
            .iter()
            .map(|id| StudentId::new(*id).map_err(|e| corrupt("students.id", e)))
            .collect::<Result<_, _>>()?;
        Self::students_by_id(pool, &students, &mut part.students).await?;
        for chunk in ids.chunks(BATCH) {
            for row in Self::digest_by_student_sql("", span, chunk)
                .build()
                .persistent(DB::PERSISTENT)
                .fetch_all(pool)
                .await?
            {
                let s = Self::session(&row)?;
                part.digest_sessions
                    .entry(s.student_id)
                    .or_default()
                    .push(s);
            }
            if let Some(dates) = keys_of {
                Self::read_keys(
                    pool,
                    Self::weekly_keys_sql("", dates, chunk),
                    &mut part.sent,
                )
                .await?;
            }
        }
        part.weekly = students;
        Ok(part)
    }
}
