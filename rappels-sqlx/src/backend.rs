//! The queries, written once and expanded for each backend by `backend!`: both accept the
//! same SQL (`$n` parameters, `ON CONFLICT`, `RETURNING`, `FILTER`), so only the schema and
//! the claim's lock clause differ.

use rappels_core::scenario::Scenario;

use crate::SqlError;
use crate::convert;

/// Rows per multi-row statement: under SQLite's 32,766 bound parameters for the widest
/// table, and large enough that a million students import in a few hundred statements.
pub(crate) const BATCH: usize = 1000;

/// Students whose weekly digests `record_weekly` inserts in one statement and transaction:
/// a few milliseconds of the write lock each on SQLite.
const WEEKLY_STEP: usize = 5_000;

/// The part of `rules::automatic_ineligibility` that the inactivity and weekly kinds share,
/// over a `students` row: an active account and an active subscription. Written exactly as
/// the predicate of the partial index `students_periodic`, so that SQLite uses the index.
const PERIODIC_ELIGIBLE: &str = "account_active AND subscription_active";

/// The opt-out part of `rules::weekly_is_eligible` over a `students` row: neither the
/// platform's opt-outs nor those recorded by unsubscribe links (both comma-separated
/// lists) name the digest or everything.
const WEEKLY_NOT_OPTED_OUT: &str = "(',' || opt_out || ',' || unsubscribed || ',') NOT LIKE '%,weekly,%' \
     AND (',' || opt_out || ',' || unsubscribed || ',') NOT LIKE '%,all,%'";

/// Refuses, before anything is written (or even connected to), instants the database cannot
/// store exactly: fractions of a second finer than a microsecond.
pub fn check_storable(scenario: &Scenario) -> Result<(), SqlError> {
    let bad = |path: String| SqlError::Unstorable {
        path,
        message: "fractions of a second finer than a microsecond cannot be stored".to_owned(),
    };
    for (i, s) in scenario.students.iter().enumerate() {
        for (field, t) in [
            ("created_at", s.created_at),
            ("last_activity_at", s.last_activity_at),
        ] {
            if t.is_some_and(|t| !convert::storable(t)) {
                return Err(bad(format!("students[{i}].{field}")));
            }
        }
    }
    for (i, s) in scenario.sessions.iter().enumerate() {
        if !convert::storable(s.starts_at) {
            return Err(bad(format!("sessions[{i}].starts_at")));
        }
    }
    for (i, m) in scenario.manual.iter().enumerate() {
        if !convert::storable(m.requested_at) {
            return Err(bad(format!("manual[{i}].requested_at")));
        }
    }
    Ok(())
}

const STUDENT_COLUMNS: &str = "id, first_name, last_name, email, timezone, locale, account_active, \
     subscription_active, created_at, last_activity_at, opt_out, unsubscribed";
const SESSION_COLUMNS: &str =
    "s.id, s.student_id, s.subject, s.objective, s.starts_at, s.duration_minutes, s.status";
/// What a claim reads of a log row: the reminder, not the message (built at send time).
const CLAIM_COLUMNS: &str = "id, reminder_key, student_id, slot_date, due_at, expires_at, attempts";
/// What a history line reads of a log row.
const HISTORY_COLUMNS: &str = "id, reminder_key, student_id, slot_date, due_at, expires_at, subject, \
     attempts, status, sent_at, last_error";

macro_rules! backend {
    (
        $module:ident, $Db:ty, $Pool:ty, $migrations:literal,
        claim_lock = $lock:literal, explain = $explain:literal, explain_lines = $explain_lines:ident,
        sessions_by_student = $by_student:literal, bulk = $bulk:ident, stream_guard = [$($guard:literal),*],
        persistent = $persistent:literal,
        manual_begin = $manual_begin:literal, manual_lock = [$($manual_lock:literal),*]
    ) => {
        pub(crate) mod $module {
            use std::collections::{BTreeSet, HashMap, HashSet};

            use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
            use rappels_core::domain::{
                EmailAddress, Family, Kind, Locale, ManualId, ManualRequest, Parent, ParentId,
                ReminderKey, Session, SessionId, SessionStatus, Student, StudentId, StudyPlan,
                Zone,
            };
            use rappels_core::permissions::HistoryScope;
            use rappels_core::plan::{ActivityDates, PlanWindow, ZoneWindow};
            use rappels_core::ports::{
                Claim, Lease, LogEntry, ManualContext, NewManualRequest, NewReminder, Outcome,
                PlanInput, PlanParts, Recorded, ReminderStatus, ScheduleInput, Stats, WeeklyDue,
            };
            use rappels_core::schedule::NewSession;
            use rappels_core::scenario::Scenario;
            use rappels_core::settings::Settings;
            use rappels_core::snapshot::Snapshot;
            use futures::TryStreamExt;
            use sqlx::{QueryBuilder, Row};

            use super::{
                BATCH, CLAIM_COLUMNS, HISTORY_COLUMNS, SESSION_COLUMNS, STUDENT_COLUMNS,
                PERIODIC_ELIGIBLE, WEEKLY_NOT_OPTED_OUT, WEEKLY_STEP,
            };
            use crate::convert::{self, micros};
            use crate::{ImportProgress, ImportReport, QueryPlan, SqlError};

            type DbRow = <$Db as sqlx::Database>::Row;

            fn corrupt(what: impl std::fmt::Display, e: impl std::fmt::Display) -> SqlError {
                SqlError::Corrupt(format!("{what}: {e}"))
            }

            pub(crate) async fn migrate(pool: &$Pool) -> Result<(), SqlError> {
                sqlx::migrate!($migrations).run(pool).await?;
                Ok(())
            }

            pub(crate) async fn load_settings(pool: &$Pool) -> Result<Option<Settings>, SqlError> {
                let body: Option<String> = sqlx::query_scalar("SELECT body FROM settings WHERE id = 1")
                    .fetch_optional(pool)
                    .await?;
                body.map(|b| serde_json::from_str(&b).map_err(|e| corrupt("settings", e)))
                    .transpose()
            }

            pub(crate) async fn zones(pool: &$Pool) -> Result<Vec<Zone>, SqlError> {
                let names: Vec<String> = zones_sql("").build_query_scalar().fetch_all(pool).await?;
                names
                    .iter()
                    .map(|n| Zone::parse(n).map_err(|e| corrupt("students.zone", e)))
                    .collect()
            }

            /// The zones of the students, one index probe per zone: `SELECT DISTINCT zone`
            /// would read the index entry of every student, a million for a quiet instant.
            fn zones_sql(prefix: &str) -> QueryBuilder<$Db> {
                QueryBuilder::new(format!(
                    "{prefix}WITH RECURSIVE z (zone) AS ( \
                         SELECT MIN(zone) FROM students \
                         UNION ALL \
                         SELECT (SELECT MIN(s.zone) FROM students s WHERE s.zone > z.zone) FROM z \
                         WHERE z.zone IS NOT NULL) \
                     SELECT zone FROM z WHERE zone IS NOT NULL"
                ))
            }

            fn student(row: &DbRow) -> Result<Student, SqlError> {
                let id: i64 = row.try_get("id")?;
                let what = format!("student {id}");
                let bad = |e: rappels_core::domain::DomainError| corrupt(&what, e);
                let timezone: Option<String> = row.try_get("timezone")?;
                let locale: String = row.try_get("locale")?;
                // The platform's opt-outs and those recorded by unsubscribe links.
                let opt_out: String = row.try_get("opt_out")?;
                let unsubscribed: String = row.try_get("unsubscribed")?;
                let opt_out = [opt_out, unsubscribed].join(",");
                Ok(Student {
                    id: StudentId::new(id).map_err(bad)?,
                    first_name: row.try_get("first_name")?,
                    last_name: row.try_get("last_name")?,
                    email: EmailAddress::parse(row.try_get::<String, _>("email")?).map_err(bad)?,
                    timezone: timezone.map(|z| Zone::parse(&z)).transpose().map_err(bad)?,
                    locale: locale.parse::<Locale>().map_err(bad)?,
                    account_active: row.try_get("account_active")?,
                    subscription_active: row.try_get("subscription_active")?,
                    created_at: convert::opt_instant(row.try_get("created_at")?, &what)?,
                    last_activity_at: convert::opt_instant(row.try_get("last_activity_at")?, &what)?,
                    opt_out: convert::opt_outs(&opt_out, &what)?,
                })
            }

            fn session(row: &DbRow) -> Result<Session, SqlError> {
                let id: i64 = row.try_get("id")?;
                let what = format!("session {id}");
                let bad = |e: rappels_core::domain::DomainError| corrupt(&what, e);
                let status = match row.try_get::<String, _>("status")?.as_str() {
                    "scheduled" => SessionStatus::Scheduled,
                    "completed" => SessionStatus::Completed,
                    "cancelled" => SessionStatus::Cancelled,
                    other => return Err(corrupt(&what, format!("unknown status {other:?}"))),
                };
                let duration: i64 = row.try_get("duration_minutes")?;
                Ok(Session {
                    id: SessionId::new(id).map_err(bad)?,
                    student_id: StudentId::new(row.try_get("student_id")?).map_err(bad)?,
                    subject: row.try_get("subject")?,
                    objective: row.try_get("objective")?,
                    starts_at: convert::instant(row.try_get("starts_at")?, &what)?,
                    duration_minutes: u32::try_from(duration).map_err(|e| corrupt(&what, e))?,
                    status,
                })
            }

            fn manual_request(row: &DbRow) -> Result<ManualRequest, SqlError> {
                let id: i64 = row.try_get("id")?;
                let what = format!("manual request {id}");
                let bad = |e: rappels_core::domain::DomainError| corrupt(&what, e);
                Ok(ManualRequest {
                    id: ManualId::new(id).map_err(bad)?,
                    parent_id: ParentId::new(row.try_get("parent_id")?).map_err(bad)?,
                    student_id: StudentId::new(row.try_get("student_id")?).map_err(bad)?,
                    title: row.try_get("title")?,
                    message: row.try_get("message")?,
                    requested_at: convert::instant(row.try_get("requested_at")?, &what)?,
                })
            }

            /// Appends `ids` as the bound list of an `IN (…)`; an empty list still makes valid
            /// SQL (it matches nothing).
            fn push_ids(q: &mut QueryBuilder<$Db>, ids: &[i64]) {
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                if ids.is_empty() {
                    list.push("NULL");
                }
                q.push(")");
            }

            // The planner's queries, each built by one function so that planning runs them
            // and `explain_planner` shows how the database runs the very same SQL (`prefix`
            // is empty, or the backend's EXPLAIN).

            fn manual_requests_sql(prefix: &str, at: DateTime<Utc>) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!(
                    "{prefix}SELECT id, parent_id, student_id, title, message, requested_at \
                     FROM manual_requests WHERE requested_at <= "
                ));
                q.push_bind(micros(at));
                q
            }

            fn students_by_id_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!("{prefix}SELECT {STUDENT_COLUMNS} FROM students WHERE id IN ("));
                push_ids(&mut q, ids);
                q
            }

            fn parents_by_id_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!(
                    "{prefix}SELECT id, first_name, last_name, email FROM parents WHERE id IN ("
                ));
                push_ids(&mut q, ids);
                q
            }

            fn children_by_parent_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!(
                    "{prefix}SELECT parent_id, student_id FROM parent_children WHERE parent_id IN ("
                ));
                push_ids(&mut q, ids);
                q.push(" ORDER BY parent_id, position");
                q
            }

            fn keys_by_manual_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!("{prefix}SELECT reminder_key FROM reminders WHERE manual_id IN ("));
                push_ids(&mut q, ids);
                q
            }

            fn keys_by_session_sql(prefix: &str, ids: &[i64]) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!("{prefix}SELECT reminder_key FROM reminders WHERE session_id IN ("));
                push_ids(&mut q, ids);
                q
            }

            fn keys_by_slot_sql(prefix: &str, kind: Kind, date: NaiveDate) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!("{prefix}SELECT reminder_key FROM reminders WHERE kind = "));
                q.push_bind(kind.as_str());
                q.push(" AND slot_date = ");
                q.push_bind(convert::day(date));
                q
            }

            fn weekly_keys_sql(prefix: &str, dates: &[NaiveDate], ids: &[i64]) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!(
                    "{prefix}SELECT reminder_key FROM reminders WHERE kind = 'weekly' AND slot_date IN ("
                ));
                let days: Vec<i64> = dates.iter().map(|d| convert::day(*d)).collect();
                push_ids(&mut q, &days);
                q.push(" AND student_id IN (");
                push_ids(&mut q, ids);
                q
            }

            /// Sessions of `zone`'s students starting in `(from, until)`: one range of
            /// `sessions_by_zone`, the zone being kept on each session (migration 0004).
            fn sessions_range_sql(prefix: &str, columns: &str, zone: &'static str, from: DateTime<Utc>, until: DateTime<Utc>) -> QueryBuilder<$Db> {
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
            fn activity_sql(prefix: &str, columns: &str, zone: &'static str, dates: &ActivityDates, leave_out_recorded: bool) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!("{prefix}SELECT {columns} FROM students WHERE zone = "));
                q.push_bind(zone);
                q.push(" AND ");
                q.push(PERIODIC_ELIGIBLE);
                q.push(" AND (reference_day IN (");
                let exact: Vec<i64> = dates.exact.iter().map(|d| convert::day(*d)).collect();
                push_ids(&mut q, &exact);
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
                    q.push(" AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.student_id = students.id \
                            AND r.kind = 'inactivity' AND r.slot_date = ");
                    q.push_bind(convert::day(dates.slot_date));
                    q.push(")");
                }
                q
            }

            /// Subscribed students of `zone`; with `single`, less those whose digest for that
            /// date is already recorded.
            fn weekly_sql(prefix: &str, columns: &str, zone: &'static str, single: Option<NaiveDate>) -> QueryBuilder<$Db> {
                let mut q = QueryBuilder::new(format!(
                    "{prefix}SELECT {columns} FROM students WHERE zone = "
                ));
                q.push_bind(zone);
                q.push(" AND ");
                q.push(PERIODIC_ELIGIBLE);
                if let Some(date) = single {
                    q.push(" AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.student_id = students.id \
                            AND r.kind = 'weekly' AND r.slot_date = ");
                    q.push_bind(convert::day(date));
                    q.push(")");
                }
                q
            }

            /// The students of `zone` who are due the weekly digest of `date`: as
            /// `weekly_sql` with one date, less those who opted out of the digest
            /// (`rules::weekly_is_eligible` in SQL; the parity tests compare the two).
            fn weekly_due_sql(prefix: &str, columns: &str, zone: &'static str, date: NaiveDate) -> QueryBuilder<$Db> {
                let mut q = weekly_sql(prefix, columns, zone, Some(date));
                q.push(" AND ");
                q.push(WEEKLY_NOT_OPTED_OUT);
                q
            }

            /// Sessions over the digest span of the students `ids`.
            fn digest_by_student_sql(prefix: &str, (from, until): (DateTime<Utc>, DateTime<Utc>), ids: &[i64]) -> QueryBuilder<$Db> {
                // The span holds most sessions, so SQLite's planner, weighing a thousand
                // probes against one range, picks a scan of the whole table for every part;
                // the index by student reads only these students' sessions.
                let mut q = QueryBuilder::new(format!(
                    "{prefix}SELECT {SESSION_COLUMNS} FROM sessions s{} WHERE s.starts_at >= ",
                    $by_student
                ));
                q.push_bind(micros(from));
                q.push(" AND s.starts_at < ");
                q.push_bind(micros(until));
                q.push(" AND s.student_id IN (");
                push_ids(&mut q, ids);
                q
            }

            async fn students_by_id(
                pool: &$Pool,
                ids: &[StudentId],
                into: &mut HashMap<StudentId, Student>,
            ) -> Result<(), SqlError> {
                let missing: Vec<i64> =
                    ids.iter().filter(|id| !into.contains_key(id)).map(|id| id.get()).collect();
                for chunk in missing.chunks(BATCH) {
                    for row in students_by_id_sql("", chunk).build().persistent($persistent).fetch_all(pool).await? {
                        let s = student(&row)?;
                        into.insert(s.id, s);
                    }
                }
                Ok(())
            }

            async fn parents_by_id(
                pool: &$Pool,
                ids: &[ParentId],
                into: &mut HashMap<ParentId, Parent>,
            ) -> Result<(), SqlError> {
                let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
                for chunk in ids.chunks(BATCH) {
                    for row in parents_by_id_sql("", chunk).build().persistent($persistent).fetch_all(pool).await? {
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
                    for row in children_by_parent_sql("", chunk).build().persistent($persistent).fetch_all(pool).await? {
                        let parent = ParentId::new(row.try_get("parent_id")?).map_err(|e| corrupt("parent_children", e))?;
                        let child = StudentId::new(row.try_get("student_id")?).map_err(|e| corrupt("parent_children", e))?;
                        if let Some(p) = into.get_mut(&parent) {
                            p.children.push(child);
                        }
                    }
                }
                Ok(())
            }

            /// Adds the keys the query returns to `sent`.
            async fn read_keys(pool: &$Pool, mut q: QueryBuilder<$Db>, sent: &mut HashSet<ReminderKey>) -> Result<(), SqlError> {
                let keys: Vec<String> = q.build_query_scalar().persistent($persistent).fetch_all(pool).await?;
                for key in keys {
                    sent.insert(key.parse::<ReminderKey>().map_err(|e| corrupt("reminders", e))?);
                }
                Ok(())
            }

            /// Adds to `input.sent` the recorded keys of the manual requests it holds.
            async fn recorded_manual_keys(pool: &$Pool, input: &mut PlanInput) -> Result<(), SqlError> {
                let ids: Vec<i64> = input.manual.keys().map(|id| id.get()).collect();
                for chunk in ids.chunks(BATCH) {
                    read_keys(pool, keys_by_manual_sql("", chunk), &mut input.sent).await?;
                }
                Ok(())
            }

            /// The manual requests of a plan at `at`, their students and parents, and their
            /// recorded keys: the whole manual part of a plan.
            async fn manual_input(pool: &$Pool, at: DateTime<Utc>, input: &mut PlanInput) -> Result<Vec<StudentId>, SqlError> {
                let rows = manual_requests_sql("", at).build().persistent($persistent).fetch_all(pool).await?;
                let mut named = Vec::new();
                let mut parents = Vec::new();
                for row in rows {
                    let m = manual_request(&row)?;
                    named.push(m.student_id);
                    parents.push(m.parent_id);
                    input.manual.insert(m.id, m);
                }
                parents.sort_unstable();
                parents.dedup();
                parents_by_id(pool, &parents, &mut input.parents).await?;
                recorded_manual_keys(pool, input).await?;
                Ok(named)
            }

            /// Step 2 of planning in SQL: the candidates of `window`, by indexed queries per
            /// zone, and the records that deciding and rendering them need.
            pub(crate) async fn plan_input(
                pool: &$Pool,
                window: &PlanWindow,
                settings: &Settings,
            ) -> Result<PlanInput, SqlError> {
                let at = window.at;
                let mut input = PlanInput::default();
                let mut named: Vec<StudentId> = Vec::new();
                let mut key_dates: BTreeSet<(Kind, NaiveDate)> = BTreeSet::new();
                let span = Snapshot::digest_span(at);
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
                        let mut q = sessions_range_sql("", SESSION_COLUMNS, zone, from.max(at), until);
                        let mut rows = q.build().persistent($persistent).fetch(pool);
                        while let Some(row) = rows.try_next().await? {
                            let s = session(&row)?;
                            named.push(s.student_id);
                            input.sessions.insert(s.id, s);
                        }
                    }

                    for dates in zw.activity_dates(settings) {
                        let mut q = activity_sql("", STUDENT_COLUMNS, zone, &dates, false);
                        let mut rows = q.build().persistent($persistent).fetch(pool);
                        while let Some(row) = rows.try_next().await? {
                            let s = student(&row)?;
                            input.inactivity.push(s.id);
                            input.students.insert(s.id, s);
                        }
                    }

                    if !zw.weekly.is_empty() {
                        let mut ids = Vec::new();
                        let mut q = weekly_sql("", STUDENT_COLUMNS, zone, None);
                        let mut rows = q.build().persistent($persistent).fetch(pool);
                        while let Some(row) = rows.try_next().await? {
                            let s = student(&row)?;
                            ids.push(s.id.get());
                            input.weekly.push(s.id);
                            input.students.insert(s.id, s);
                        }
                        drop(rows);
                        // By student, as the parts read them: a join over the zone would
                        // read every session of the span, the zone's or not.
                        for chunk in ids.chunks(BATCH) {
                            for row in digest_by_student_sql("", span, chunk).build().persistent($persistent).fetch_all(pool).await? {
                                let s = session(&row)?;
                                input.digest_sessions.entry(s.student_id).or_default().push(s);
                            }
                        }
                    }
                }

                named.extend(manual_input(pool, at, &mut input).await?);
                named.sort_unstable();
                named.dedup();
                students_by_id(pool, &named, &mut input.students).await?;

                // Recorded keys among the candidates: by (kind, slot date) for the automatic
                // kinds (the manual ones were read with the requests).
                for (kind, date) in key_dates {
                    read_keys(pool, keys_by_slot_sql("", kind, date), &mut input.sent).await?;
                }
                Ok(input)
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
            /// The ids a candidate query returns, read in one short transaction under the
            /// settings the long candidate queries need (see `streaming`).
            async fn candidate_ids(pool: &$Pool, mut q: QueryBuilder<$Db>) -> Result<Vec<i64>, SqlError> {
                let mut tx = streaming(pool).await?;
                let ids: Vec<i64> = q.build_query_scalar().persistent($persistent).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(ids)
            }

            async fn streaming(pool: &$Pool) -> Result<sqlx::Transaction<'static, $Db>, SqlError> {
                let mut tx = pool.begin().await?;
                let guard: &[&str] = &[$($guard),*];
                for setting in guard {
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
                pool: &$Pool,
                window: &PlanWindow,
                settings: &Settings,
                part_size: usize,
                mut parts: PlanParts,
            ) -> Result<(), SqlError> {
                let at = window.at;
                let part_size = part_size.max(1);

                let mut first = PlanInput::default();
                let mut named = manual_input(pool, at, &mut first).await?;
                named.sort_unstable();
                named.dedup();
                students_by_id(pool, &named, &mut first.students).await?;
                if !parts.send(first).await {
                    return Ok(());
                }

                let span = Snapshot::digest_span(at);
                for zw in window.zones() {
                    let zone = zw.zone.name();
                    for (from, until) in zw.session_start_ranges() {
                        let ids = candidate_ids(pool, sessions_range_sql("", "s.id", zone, from.max(at), until)).await?;
                        for chunk in ids.chunks(part_size) {
                            if !parts.send(sessions_part(pool, chunk).await?).await {
                                return Ok(());
                            }
                        }
                    }

                    for dates in zw.activity_dates(settings) {
                        let ids = candidate_ids(pool, activity_sql("", "id", zone, &dates, true)).await?;
                        for chunk in ids.chunks(part_size) {
                            let mut part = PlanInput::default();
                            let chunk: Vec<StudentId> = chunk
                                .iter()
                                .map(|id| StudentId::new(*id).map_err(|e| corrupt("students.id", e)))
                                .collect::<Result<_, _>>()?;
                            students_by_id(pool, &chunk, &mut part.students).await?;
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
                        let ids = candidate_ids(pool, weekly_sql("", "id", zone, single)).await?;
                        for chunk in ids.chunks(part_size) {
                            if !parts.send(weekly_part(pool, chunk, span, keys_of).await?).await {
                                return Ok(());
                            }
                        }
                    }
                }
                Ok(())
            }

            /// A part of session candidates: the sessions with these ids, their students,
            /// and the recorded keys of their reminders.
            async fn sessions_part(pool: &$Pool, ids: &[i64]) -> Result<PlanInput, SqlError> {
                let mut part = PlanInput::default();
                for chunk in ids.chunks(BATCH) {
                    let mut q = QueryBuilder::<$Db>::new(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id IN ("
                    ));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    for row in q.build().fetch_all(pool).await? {
                        let s = session(&row)?;
                        part.sessions.insert(s.id, s);
                    }
                    let mut q = QueryBuilder::<$Db>::new("SELECT reminder_key FROM reminders WHERE session_id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    for row in q.build().fetch_all(pool).await? {
                        let key: String = row.try_get("reminder_key")?;
                        part.sent.insert(key.parse::<ReminderKey>().map_err(|e| corrupt("reminders", e))?);
                    }
                }
                let mut named: Vec<StudentId> = part.sessions.values().map(|s| s.student_id).collect();
                named.sort_unstable();
                named.dedup();
                students_by_id(pool, &named, &mut part.students).await?;
                Ok(part)
            }

            /// What building the messages of `reminders` needs, read as the data is now:
            /// their students, sessions, manual requests with their parents, and the
            /// sessions of the digests' students over the digests' spans.
            pub(crate) async fn message_input(pool: &$Pool, reminders: &[NewReminder]) -> Result<PlanInput, SqlError> {
                let mut input = PlanInput::default();
                let mut students: Vec<StudentId> = reminders.iter().map(|r| r.student).collect();
                students.sort_unstable();
                students.dedup();
                students_by_id(pool, &students, &mut input.students).await?;
                let ids = |f: fn(&ReminderKey) -> Option<i64>| {
                    let mut ids: Vec<i64> = reminders.iter().filter_map(|r| f(&r.key)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    ids
                };
                for chunk in ids(|k| k.session().map(SessionId::get)).chunks(BATCH) {
                    let mut q = QueryBuilder::<$Db>::new(format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id IN ("));
                    push_ids(&mut q, chunk);
                    for row in q.build().fetch_all(pool).await? {
                        let s = session(&row)?;
                        input.sessions.insert(s.id, s);
                    }
                }
                let mut parents = Vec::new();
                for chunk in ids(|k| k.manual().map(ManualId::get)).chunks(BATCH) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "SELECT id, parent_id, student_id, title, message, requested_at FROM manual_requests WHERE id IN (",
                    );
                    push_ids(&mut q, chunk);
                    for row in q.build().fetch_all(pool).await? {
                        let m = manual_request(&row)?;
                        parents.push(m.parent_id);
                        input.manual.insert(m.id, m);
                    }
                }
                parents.sort_unstable();
                parents.dedup();
                parents_by_id(pool, &parents, &mut input.parents).await?;
                // One read per student over the union of their digests' spans, so that two
                // digests of one student in a batch do not list a session twice.
                let mut spans: HashMap<i64, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
                for r in reminders.iter().filter(|r| r.key.kind() == Kind::Weekly) {
                    let (from, until) = Snapshot::digest_span(r.due_at);
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
                        for row in digest_by_student_sql("", span, chunk).build().persistent($persistent).fetch_all(pool).await? {
                            let s = session(&row)?;
                            if input.students.contains_key(&s.student_id) {
                                input.digest_sessions.entry(s.student_id).or_default().push(s);
                            }
                        }
                    }
                }
                Ok(input)
            }

            /// A part of weekly candidates: the students with these ids, their sessions over
            /// the digest's span, and (when the query could not leave them out) their
            /// recorded digests of the due dates `keys_of`.
            async fn weekly_part(
                pool: &$Pool,
                ids: &[i64],
                span: (DateTime<Utc>, DateTime<Utc>),
                keys_of: Option<&[NaiveDate]>,
            ) -> Result<PlanInput, SqlError> {
                let mut part = PlanInput::default();
                let students: Vec<StudentId> = ids
                    .iter()
                    .map(|id| StudentId::new(*id).map_err(|e| corrupt("students.id", e)))
                    .collect::<Result<_, _>>()?;
                students_by_id(pool, &students, &mut part.students).await?;
                for chunk in ids.chunks(BATCH) {
                    for row in digest_by_student_sql("", span, chunk).build().persistent($persistent).fetch_all(pool).await? {
                        let s = session(&row)?;
                        part.digest_sessions.entry(s.student_id).or_default().push(s);
                    }
                    if let Some(dates) = keys_of {
                        read_keys(pool, weekly_keys_sql("", dates, chunk), &mut part.sent).await?;
                    }
                }
                part.weekly = students;
                Ok(part)
            }

            /// How the database runs each planner query at `window` (those of `plan_parts` and
            /// of `plan_input`), with the window's real parameters; the queries that take a
            /// list of ids get those of the first part their candidates would make.
            pub(crate) async fn explain_planner(
                pool: &$Pool,
                window: &PlanWindow,
                settings: &Settings,
            ) -> Result<Vec<QueryPlan>, SqlError> {
                let x = $explain;
                let at = window.at;
                let mut out = Vec::new();
                let ids_of = |rows: &[DbRow], column: &str| -> Result<Vec<i64>, SqlError> {
                    rows.iter().map(|r| r.try_get::<i64, _>(column).map_err(SqlError::from)).collect()
                };
                out.push(explain(pool, "zones of the students".to_owned(), zones_sql(x)).await?);
                out.push(explain(pool, "manual requests".to_owned(), manual_requests_sql(x, at)).await?);
                let mut sample = manual_requests_sql("", at);
                sample.push(format!(" LIMIT {BATCH}"));
                let manual = sample.build().fetch_all(pool).await?;
                out.push(explain(pool, "recorded keys by manual request".to_owned(), keys_by_manual_sql(x, &ids_of(&manual, "id")?)).await?);
                out.push(explain(pool, "parents by id".to_owned(), parents_by_id_sql(x, &ids_of(&manual, "parent_id")?)).await?);
                out.push(explain(pool, "children by parent".to_owned(), children_by_parent_sql(x, &ids_of(&manual, "parent_id")?)).await?);

                let mut zones: Vec<&ZoneWindow> = window.zones().collect();
                zones.sort_by_key(|zw| zw.zone.name());
                let span = Snapshot::digest_span(at);
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
                        out.push(explain_streamed(pool, name, sessions_range_sql(x, "s.id", zone, from, until)).await?);
                        let mut sample = sessions_range_sql("", SESSION_COLUMNS, zone, from, until);
                        sample.push(format!(" LIMIT {BATCH}"));
                        let rows = sample.build().fetch_all(pool).await?;
                        let name = format!("students by id (a sessions part), {zone}");
                        out.push(explain(pool, name, students_by_id_sql(x, &ids_of(&rows, "student_id")?)).await?);
                        let name = format!("recorded keys by session (a sessions part), {zone}");
                        out.push(explain(pool, name, keys_by_session_sql(x, &ids_of(&rows, "id")?)).await?);
                    }
                    for dates in zw.activity_dates(settings) {
                        let name = format!("inactivity candidates less recorded (plan_parts), {zone}");
                        out.push(explain_streamed(pool, name, activity_sql(x, "id", zone, &dates, true)).await?);
                        let name = format!("inactivity candidates (plan_input), {zone}");
                        out.push(explain(pool, name, activity_sql(x, STUDENT_COLUMNS, zone, &dates, false)).await?);
                    }
                    if let Some(first) = zw.weekly.first() {
                        let name = format!("weekly candidates less recorded (plan_parts), {zone}");
                        out.push(explain_streamed(pool, name, weekly_sql(x, "id", zone, Some(first.date))).await?);
                        let name = format!("weekly digests due, less recorded and opted out (record_weekly), {zone}");
                        out.push(explain_streamed(pool, name, weekly_due_sql(x, "id", zone, first.date)).await?);
                        let name = format!("weekly candidates (plan_input), {zone}");
                        out.push(explain(pool, name, weekly_sql(x, STUDENT_COLUMNS, zone, None)).await?);
                        let mut sample = weekly_sql("", STUDENT_COLUMNS, zone, None);
                        sample.push(format!(" LIMIT {BATCH}"));
                        let ids = ids_of(&sample.build().fetch_all(pool).await?, "id")?;
                        let name = format!("digest sessions by student (a weekly part; plan_input by 1,000), {zone}");
                        out.push(explain(pool, name, digest_by_student_sql(x, span, &ids)).await?);
                        let name = format!("recorded digests by student (a weekly part, two due dates), {zone}");
                        let dates: Vec<NaiveDate> = zw.weekly.iter().map(|s| s.date).collect();
                        out.push(explain(pool, name, weekly_keys_sql(x, &dates, &ids)).await?);
                    }
                }
                for (kind, date) in key_dates {
                    let name = format!("recorded keys by slot (plan_input), {} {date}", kind.as_str());
                    out.push(explain(pool, name, keys_by_slot_sql(x, kind, date)).await?);
                }
                Ok(out)
            }

            async fn explain(pool: &$Pool, query: String, mut q: QueryBuilder<$Db>) -> Result<QueryPlan, SqlError> {
                let mut conn = pool.acquire().await?;
                let plan = super::$explain_lines(&mut conn, q.build()).await?;
                Ok(QueryPlan { query, plan })
            }

            /// `explain` for the candidate queries `plan_parts` streams, under their settings.
            async fn explain_streamed(pool: &$Pool, query: String, mut q: QueryBuilder<$Db>) -> Result<QueryPlan, SqlError> {
                let mut tx = streaming(pool).await?;
                let plan = super::$explain_lines(&mut tx, q.build()).await?;
                tx.rollback().await?;
                Ok(QueryPlan { query, plan })
            }

            /// Records outcomes in one transaction; for each, whether its lease was held.
            pub(crate) async fn complete_many(
                pool: &$Pool,
                outcomes: &[(Claim, Outcome)],
                now: DateTime<Utc>,
            ) -> Result<Vec<bool>, SqlError> {
                let mut tx = pool.begin().await?;
                let mut held = Vec::with_capacity(outcomes.len());
                for (claim, outcome) in outcomes {
                    held.push(complete_in(&mut *tx, claim, outcome, now).await?);
                }
                tx.commit().await?;
                Ok(held)
            }

            /// Gives claims back: pending again, the attempt not counted, where the lease is
            /// still held.
            pub(crate) async fn release(pool: &$Pool, claims: &[Claim], now: DateTime<Utc>) -> Result<(), SqlError> {
                let mut tx = pool.begin().await?;
                for claim in claims {
                    sqlx::query(
                        "UPDATE reminders SET status = 'pending', lease_owner = NULL, lease_until = NULL \
                         WHERE id = $1 AND status = 'sending' AND lease_owner = $2 AND lease_until > $3",
                    )
                    .bind(claim.id)
                    .bind(claim.lease.owner.as_str())
                    .bind(micros(now))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(crate) async fn record_due(
                pool: &$Pool,
                reminders: &[NewReminder],
                now: DateTime<Utc>,
            ) -> Result<usize, SqlError> {
                let mut tx = pool.begin().await?;
                let mut added = 0u64;
                for chunk in reminders.chunks(crate::bulk::$bulk::ROWS) {
                    added += crate::bulk::$bulk::due(&mut tx, chunk, now).await?;
                }
                tx.commit().await?;
                Ok(added as usize)
            }

            /// `ReminderLog::record_weekly`: reads the ids of the students due (one indexed
            /// query), then inserts their digests from the students table itself, a range
            /// of `WEEKLY_STEP` of those ids a transaction, so that no student row crosses
            /// the driver and senders can start after the first step.
            pub(crate) async fn record_weekly(
                pool: &$Pool,
                due: &WeeklyDue,
                now: DateTime<Utc>,
                progress: &(dyn Fn(Recorded) -> bool + Sync),
            ) -> Result<(), SqlError> {
                let zone = due.zone.name();
                let mut ids = candidate_ids(pool, weekly_due_sql("", "id", zone, due.slot_date)).await?;
                ids.sort_unstable();
                let key_suffix = format!(":{}", due.slot_date);
                for chunk in ids.chunks(WEEKLY_STEP) {
                    let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                        continue;
                    };
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO reminders (reminder_key, kind, student_id, slot_date, due_at, \
                         expires_at, status, attempts, next_attempt_at, created_at) \
                         SELECT 'weekly:' || CAST(id AS TEXT) || ",
                    );
                    q.push_bind(key_suffix.as_str());
                    q.push(", 'weekly', id, ");
                    q.push_bind(convert::day(due.slot_date));
                    q.push(", ");
                    q.push_bind(micros(due.due_at));
                    q.push(", ");
                    q.push_bind(micros(due.expires_at));
                    q.push(", 'pending', 0, ");
                    q.push_bind(micros(now));
                    q.push(", ");
                    q.push_bind(micros(now));
                    // Judged again on the rows as they are now: a student may have been
                    // deactivated or opted out since the ids were read.
                    q.push(" FROM students WHERE ");
                    q.push(PERIODIC_ELIGIBLE);
                    q.push(" AND ");
                    q.push(WEEKLY_NOT_OPTED_OUT);
                    // A range of the zone's index rather than a list of ids: the students
                    // of the range who are not candidates are inactive, opted out or
                    // recorded, which the conditions and the unique key leave out.
                    q.push(" AND zone = ");
                    q.push_bind(zone);
                    q.push(" AND id >= ");
                    q.push_bind(*first);
                    q.push(" AND id <= ");
                    q.push_bind(*last);
                    q.push(" ON CONFLICT (reminder_key) DO NOTHING");
                    let mut tx = pool.begin().await?;
                    let added = q.build().execute(&mut *tx).await?.rows_affected();
                    tx.commit().await?;
                    let carry_on = progress(Recorded {
                        planned: chunk.len(),
                        recorded: usize::try_from(added).unwrap_or(usize::MAX),
                    });
                    if !carry_on {
                        break;
                    }
                }
                Ok(())
            }

            fn status(text: &str) -> Result<ReminderStatus, SqlError> {
                Ok(match text {
                    "pending" => ReminderStatus::Pending,
                    "sending" => ReminderStatus::Sending,
                    "sent" => ReminderStatus::Sent,
                    "failed" => ReminderStatus::Failed,
                    "expired" => ReminderStatus::Expired,
                    "cancelled" => ReminderStatus::Cancelled,
                    other => return Err(corrupt("reminders.status", format!("unknown status {other:?}"))),
                })
            }

            fn new_reminder(row: &DbRow) -> Result<NewReminder, SqlError> {
                let id: i64 = row.try_get("id")?;
                let what = format!("reminder {id}");
                let bad = |e: rappels_core::domain::DomainError| corrupt(&what, e);
                let key: String = row.try_get("reminder_key")?;
                let student: Option<i64> = row.try_get("student_id")?;
                let slot_date: Option<i64> = row.try_get("slot_date")?;
                let due_at: Option<i64> = row.try_get("due_at")?;
                let expires_at: Option<i64> = row.try_get("expires_at")?;
                let missing = |field| corrupt(&what, format!("no {field}"));
                Ok(NewReminder {
                    key: key.parse().map_err(bad)?,
                    student: StudentId::new(student.ok_or_else(|| missing("student_id"))?).map_err(bad)?,
                    slot_date: convert::date(slot_date.ok_or_else(|| missing("slot_date"))?, &what)?,
                    due_at: convert::instant(due_at.ok_or_else(|| missing("due_at"))?, &what)?,
                    expires_at: convert::instant(expires_at.ok_or_else(|| missing("expires_at"))?, &what)?,
                })
            }

            /// Claims pending reminders whose attempt time has come, and reminders whose lease
            /// ended, in one statement. On PostgreSQL the subquery's `FOR UPDATE SKIP LOCKED`
            /// gives concurrent claimers disjoint rows without waiting. On SQLite a write
            /// statement takes the database's write lock before it reads (it is, in effect,
            /// an immediate transaction), so claimers run one after the other, waiting on the
            /// busy timeout, and each sees the rows the previous one left.
            pub(crate) async fn claim(
                pool: &$Pool,
                owner: &str,
                now: DateTime<Utc>,
                lease: TimeDelta,
                limit: usize,
            ) -> Result<Vec<Claim>, SqlError> {
                let until = now + lease;
                // Two statements, each walking its own index in order (reminders_leases,
                // reminders_pending) and stopping at the limit: with one statement over
                // "pending or lease ended" ordered by due date, every claim sorted the whole
                // backlog, and a Sunday of 600,000 pending reminders took seconds a batch.
                // Leases that ended come first: those reminders have waited longest.
                let mut rows = Vec::new();
                for (state, column) in [("sending", "lease_until"), ("pending", "next_attempt_at")] {
                    let left = limit.saturating_sub(rows.len());
                    if left == 0 {
                        break;
                    }
                    rows.extend(
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "UPDATE reminders SET status = 'sending', lease_owner = $1, lease_until = $2 \
                             WHERE id IN (SELECT id FROM reminders \
                                WHERE status = '{state}' AND {column} <= $3 \
                                ORDER BY {column} LIMIT $4{}) \
                             RETURNING {CLAIM_COLUMNS}",
                            $lock
                        )))
                        .bind(owner)
                        .bind(micros(until))
                        .bind(micros(now))
                        .bind(i64::try_from(left).unwrap_or(i64::MAX))
                        .fetch_all(pool)
                        .await?,
                    );
                }
                let mut claims = rows
                    .iter()
                    .map(|row| {
                        Ok(Claim {
                            id: row.try_get("id")?,
                            reminder: new_reminder(row)?,
                            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                            lease: Lease { owner: owner.to_owned(), until },
                            envelope: None,
                        })
                    })
                    .collect::<Result<Vec<_>, SqlError>>()?;
                claims.sort_by_key(|c| (c.reminder.due_at, c.id));
                Ok(claims)
            }

            /// Records an outcome if the lease is still held; false when it was lost.
            pub(crate) async fn complete(
                pool: &$Pool,
                claim: &Claim,
                outcome: &Outcome,
                now: DateTime<Utc>,
            ) -> Result<bool, SqlError> {
                let mut conn = pool.acquire().await?;
                complete_in(&mut *conn, claim, outcome, now).await
            }

            async fn complete_in(
                conn: &mut <$Db as sqlx::Database>::Connection,
                claim: &Claim,
                outcome: &Outcome,
                now: DateTime<Utc>,
            ) -> Result<bool, SqlError> {
                let (state, attempted, next, error, message_id, sent_at) = match outcome {
                    Outcome::Sent { message_id, at } => ("sent", 1i64, None, None, Some(message_id.clone()), Some(micros(*at))),
                    Outcome::Retry { next_attempt_at, error } => ("pending", 1, Some(micros(*next_attempt_at)), Some(error.clone()), None, None),
                    Outcome::Failed { error } => ("failed", 1, None, Some(error.clone()), None, None),
                    Outcome::Expired => ("expired", 0, None, None, None, None),
                    Outcome::Cancelled { reason } => ("cancelled", 0, None, Some(reason.clone()), None, None),
                };
                // The message the attempt was made with, kept for history (none when it
                // could not be built, or for an expired reminder).
                let envelope = claim.envelope.as_deref();
                let done = sqlx::query(
                    "UPDATE reminders SET status = $1, attempts = attempts + $2, \
                     next_attempt_at = COALESCE($3, next_attempt_at), last_error = COALESCE($4, last_error), \
                     message_id = COALESCE($5, message_id), sent_at = COALESCE($6, sent_at), \
                     lease_owner = NULL, lease_until = NULL, \
                     subject = COALESCE($10, subject), text_body = COALESCE($11, text_body), \
                     html_body = COALESCE($12, html_body), to_address = COALESCE($13, to_address), \
                     to_name = COALESCE($14, to_name), locale = COALESCE($15, locale) \
                     WHERE id = $7 AND status = 'sending' AND lease_owner = $8 AND lease_until > $9",
                )
                .bind(state)
                .bind(attempted)
                .bind(next)
                .bind(error)
                .bind(message_id)
                .bind(sent_at)
                .bind(claim.id)
                .bind(claim.lease.owner.as_str())
                .bind(micros(now))
                .bind(envelope.map(|e| e.message.subject.as_str()))
                .bind(envelope.map(|e| e.message.text.as_str()))
                .bind(envelope.map(|e| e.message.html.as_str()))
                .bind(envelope.map(|e| e.to.to_string()))
                .bind(envelope.map(|e| e.to_name.as_str()))
                .bind(envelope.map(|e| e.locale.code()))
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn history(
                pool: &$Pool,
                scope: &HistoryScope,
                limit: usize,
            ) -> Result<Vec<LogEntry>, SqlError> {
                let mut q = QueryBuilder::<$Db>::new(format!(
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
                    .map(|row| {
                        let reminder = new_reminder(row)?;
                        let what = format!("reminder {}", reminder.key);
                        Ok(LogEntry {
                            key: reminder.key,
                            student: reminder.student,
                            due_at: reminder.due_at,
                            status: status(&row.try_get::<String, _>("status")?)?,
                            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                            subject: row.try_get("subject")?,
                            sent_at: convert::opt_instant(row.try_get("sent_at")?, &what)?,
                            last_error: row.try_get("last_error")?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn stats(
                pool: &$Pool,
                today_from: DateTime<Utc>,
                period_from: DateTime<Utc>,
            ) -> Result<Stats, SqlError> {
                let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
                let sent_since = "SELECT COUNT(*) FROM reminders WHERE status = 'sent' AND sent_at >= $1";
                let status = "SELECT COUNT(*) FROM reminders WHERE status = $1";
                let mut stats = Stats {
                    sent_today: count(sent_since).bind(micros(today_from)).fetch_one(pool).await? as u64,
                    sent_in_period: count(sent_since).bind(micros(period_from)).fetch_one(pool).await? as u64,
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
                    let kind = kind.parse::<Kind>().map_err(|e| corrupt("reminders.kind", e))?;
                    stats.sent_by_kind.insert(kind, row.try_get::<i64, _>("n")? as u64);
                }
                Ok(stats)
            }

            pub(crate) async fn parent(pool: &$Pool, id: ParentId) -> Result<Option<Parent>, SqlError> {
                let mut found = HashMap::new();
                parents_by_id(pool, &[id], &mut found).await?;
                Ok(found.remove(&id))
            }

            pub(crate) async fn explain_input(
                pool: &$Pool,
                student: StudentId,
                from: DateTime<Utc>,
                until: DateTime<Utc>,
                at: DateTime<Utc>,
            ) -> Result<Option<PlanInput>, SqlError> {
                let mut input = PlanInput::default();
                students_by_id(pool, &[student], &mut input.students).await?;
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
                    let s = session(&row)?;
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
                    let m = manual_request(&row)?;
                    parents.push(m.parent_id);
                    input.manual.insert(m.id, m);
                }
                parents.sort_unstable();
                parents.dedup();
                parents_by_id(pool, &parents, &mut input.parents).await?;
                let keys: Vec<String> = sqlx::query_scalar("SELECT reminder_key FROM reminders WHERE student_id = $1")
                    .bind(student.get())
                    .fetch_all(pool)
                    .await?;
                for key in keys {
                    input.sent.insert(key.parse::<ReminderKey>().map_err(|e| corrupt("reminders", e))?);
                }
                recorded_manual_keys(pool, &mut input).await?;
                Ok(Some(input))
            }

            pub(crate) async fn manual_context(
                pool: &$Pool,
                parent: ParentId,
                student: StudentId,
                since: DateTime<Utc>,
            ) -> Result<ManualContext, SqlError> {
                let mut parents = HashMap::new();
                parents_by_id(pool, &[parent], &mut parents).await?;
                let mut students = HashMap::new();
                students_by_id(pool, &[student], &mut students).await?;
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
                    requests: rows.iter().map(manual_request).collect::<Result<_, _>>()?,
                })
            }

            /// Inserts a row whose id is the next free one, in one statement (atomic on
            /// SQLite); two PostgreSQL writers may pick the same id, so a key conflict is
            /// retried.
            async fn insert_with_next_id<F>(pool: &$Pool, mut query: F) -> Result<i64, SqlError>
            where
                F: FnMut() -> sqlx::query::Query<'static, $Db, <$Db as sqlx::Database>::Arguments>,
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
                pool: &$Pool,
                request: &NewManualRequest,
            ) -> Result<Result<ManualId, rappels_core::rules::Rejection>, SqlError> {
                // Read before the transaction: the pool may hold one connection (SQLite).
                let settings = load_settings(pool).await?.ok_or(SqlError::NoSettings)?;
                let context = manual_context(pool, request.parent, request.student, request.requested_at - TimeDelta::days(2)).await?;
                let mut tx = pool.begin_with($manual_begin).await?;
                $(sqlx::query($manual_lock).execute(&mut *tx).await?;)*
                let rows = sqlx::query(
                    "SELECT id, parent_id, student_id, title, message, requested_at FROM manual_requests \
                     WHERE parent_id = $1 AND student_id = $2 AND requested_at >= $3",
                )
                .bind(request.parent.get())
                .bind(request.student.get())
                .bind(micros(request.requested_at - TimeDelta::days(2)))
                .fetch_all(&mut *tx)
                .await?;
                let earlier: Vec<ManualRequest> = rows.iter().map(manual_request).collect::<Result<_, _>>()?;
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
                Ok(Ok(ManualId::new(id).map_err(|e| corrupt("manual_requests.id", e))?))
            }

            pub(crate) async fn schedule_input(
                pool: &$Pool,
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
                        weekday: rappels_core::domain::Weekday::parse(&row.try_get::<String, _>("weekday")?).map_err(bad)?,
                        time: rappels_core::domain::TimeOfDay::parse(&row.try_get::<String, _>("time")?).map_err(bad)?,
                        subject: row.try_get("subject")?,
                        objective: row.try_get("objective")?,
                        duration_minutes: u32::try_from(duration).map_err(|e| corrupt(&what, e))?,
                    });
                }
                let mut ids: Vec<StudentId> = input.plans.iter().map(|p| p.student_id).collect();
                ids.sort_unstable();
                ids.dedup();
                students_by_id(pool, &ids, &mut input.students).await?;
                let rows = sqlx::query("SELECT student_id, starts_at FROM sessions WHERE starts_at >= $1 AND starts_at < $2")
                    .bind(micros(from))
                    .bind(micros(until))
                    .fetch_all(pool)
                    .await?;
                for row in rows {
                    let student = StudentId::new(row.try_get("student_id")?).map_err(|e| corrupt("sessions", e))?;
                    input.existing.insert((student, convert::instant(row.try_get("starts_at")?, "sessions")?));
                }
                Ok(input)
            }

            pub(crate) async fn add_sessions(pool: &$Pool, sessions: &[NewSession]) -> Result<Vec<Session>, SqlError> {
                let mut added = Vec::with_capacity(sessions.len());
                for new in sessions {
                    let id = insert_with_next_id(pool, || {
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

            pub(crate) async fn next_attempt_at(pool: &$Pool) -> Result<Option<DateTime<Utc>>, SqlError> {
                let pending: Option<i64> =
                    sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM reminders WHERE status = 'pending'")
                        .fetch_one(pool)
                        .await?;
                let leases: Option<i64> =
                    sqlx::query_scalar("SELECT MIN(lease_until) FROM reminders WHERE status = 'sending'")
                        .fetch_one(pool)
                        .await?;
                convert::opt_instant(pending.into_iter().chain(leases).min(), "reminders")
            }

            /// Records an opt-out from an unsubscribe link; `None` when the student does not
            /// exist. It goes to `unsubscribed`, which imports leave alone.
            pub(crate) async fn opt_out(
                pool: &$Pool,
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

            use crate::bulk::derived;

            /// Makes `settings` the stored settings, inside the caller's transaction, and
            /// returns whether they changed; when the stored ones are already equal it writes
            /// nothing. Students without a zone of their own store `zone` and `reference_day`
            /// derived from the default zone, and the plan queries select on those columns, so
            /// a new default zone recomputes them here: every writer of the settings goes
            /// through this function and none can leave those students in the old zone.
            async fn write_settings(
                conn: &mut <$Db as sqlx::Database>::Connection,
                settings: &Settings,
            ) -> Result<bool, SqlError> {
                // Taking the row's write lock before reading it serialises concurrent writers:
                // each reads what the one before it committed, so it moves the students from
                // the zone they are really in. Reading first would let two writers start from
                // the same old zone (PostgreSQL), or fail the later one (SQLite's snapshot).
                sqlx::query("UPDATE settings SET body = body WHERE id = 1")
                    .execute(&mut *conn)
                    .await?;
                let previous: Option<String> = sqlx::query_scalar("SELECT body FROM settings WHERE id = 1")
                    .fetch_optional(&mut *conn)
                    .await?;
                // Settings that no longer parse are replaced like missing ones.
                let previous = previous
                    .as_deref()
                    .and_then(|b| serde_json::from_str::<Settings>(b).ok());
                if previous.as_ref() == Some(settings) {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO settings (id, body) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                )
                .bind(serde_json::to_string(settings).map_err(|e| corrupt("settings", e))?)
                .execute(&mut *conn)
                .await?;
                // Without readable settings the zone the students were derived in is unknown,
                // so they are all recomputed. Every import writes settings in the same
                // transaction as its students, so this finds students only in a database
                // edited by hand; otherwise it costs one query that returns nothing.
                let default_zone = settings.timezone;
                if previous.is_none_or(|p| p.timezone != default_zone) {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {STUDENT_COLUMNS} FROM students WHERE timezone IS NULL"
                    )))
                    .fetch_all(&mut *conn)
                    .await?;
                    for row in rows {
                        let s = student(&row)?;
                        let (zone, reference_day) = derived(&s, default_zone);
                        sqlx::query("UPDATE students SET zone = $1, reference_day = $2 WHERE id = $3")
                            .bind(zone.name())
                            .bind(reference_day)
                            .bind(s.id.get())
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(true)
            }

            /// Replaces the stored settings in one transaction; see `write_settings`.
            pub(crate) async fn save_settings(pool: &$Pool, settings: &Settings) -> Result<bool, SqlError> {
                let mut tx = pool.begin().await?;
                let changed = write_settings(&mut tx, settings).await?;
                // Unchanged settings leave the transaction to roll back: it holds only the
                // lock taken by `write_settings`.
                if changed {
                    tx.commit().await?;
                }
                Ok(changed)
            }

            pub(crate) async fn import(
                pool: &$Pool,
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
                write_settings(&mut tx, &scenario.settings).await?;

                for chunk in scenario.students.chunks(crate::bulk::$bulk::ROWS) {
                    crate::bulk::$bulk::students(&mut tx, chunk, default_zone).await?;
                    step(chunk.len());
                }
                for chunk in scenario.parents.chunks(crate::bulk::$bulk::ROWS) {
                    crate::bulk::$bulk::parents(&mut tx, chunk).await?;
                    step(chunk.len());
                }
                let zones: HashMap<StudentId, &'static str> = scenario
                    .students
                    .iter()
                    .map(|s| (s.id, s.zone(default_zone).name()))
                    .collect();
                for chunk in scenario.sessions.chunks(crate::bulk::$bulk::ROWS) {
                    crate::bulk::$bulk::sessions(&mut tx, chunk, &zones).await?;
                    step(chunk.len());
                }
                for chunk in scenario.study_plans.chunks(crate::bulk::$bulk::ROWS) {
                    crate::bulk::$bulk::study_plans(&mut tx, chunk).await?;
                    step(chunk.len());
                }
                for chunk in scenario.manual.chunks(crate::bulk::$bulk::ROWS) {
                    crate::bulk::$bulk::manual(&mut tx, chunk).await?;
                    step(chunk.len());
                }
                let mut sent = 0u64;
                for chunk in scenario.sent.chunks(crate::bulk::$bulk::ROWS) {
                    sent += crate::bulk::$bulk::sent(&mut tx, chunk, now).await?;
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
    };
}

backend!(
    sqlite,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    "./migrations/sqlite",
    claim_lock = "",
    explain = "EXPLAIN QUERY PLAN ",
    explain_lines = sqlite_explain_lines,
    sessions_by_student = " INDEXED BY sessions_by_student",
    bulk = sqlite,
    stream_guard = [],
    persistent = true,
    // The write lock from the first statement: a deferred transaction would read the
    // requests under a shared lock that another writer may already have outdated.
    manual_begin = "BEGIN IMMEDIATE",
    manual_lock = []
);
backend!(
    postgres,
    sqlx::Postgres,
    sqlx::PgPool,
    "./migrations/postgres",
    claim_lock = " FOR UPDATE SKIP LOCKED",
    explain = "EXPLAIN ",
    explain_lines = postgres_explain_lines,
    sessions_by_student = "",
    bulk = postgres,
    stream_guard = [
        "SET LOCAL enable_seqscan = off",
        "SET LOCAL enable_nestloop = off"
    ],
    // The planner's reads are planned afresh each time on PostgreSQL: a prepared statement
    // keeps, after a few runs, a generic plan made for the tables as they were, and a plan
    // made while the reminder log was empty scans it for every part once the run has filled
    // it. Planning a read costs well under a millisecond; a part's read is a thousand rows.
    persistent = false,
    // One advisory lock for every writer of manual requests, held to the commit: it covers
    // each (parent, student, local date) and also the next id the insert picks. Manual
    // requests are made by hand, so serialising them costs nothing.
    manual_begin = "BEGIN",
    manual_lock = ["SELECT pg_advisory_xact_lock(hashtextextended('rappels.manual_requests', 0))"]
);

/// SQLite's `EXPLAIN QUERY PLAN` rows as lines, each step indented under its parent.
async fn sqlite_explain_lines(
    conn: &mut sqlx::SqliteConnection,
    query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
) -> Result<Vec<String>, SqlError> {
    use sqlx::Row;
    let mut depth: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
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

/// PostgreSQL's `EXPLAIN` text, one line per row.
async fn postgres_explain_lines(
    conn: &mut sqlx::PgConnection,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<Vec<String>, SqlError> {
    use sqlx::Row;
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok(row.try_get::<String, _>(0)?))
        .collect()
}
