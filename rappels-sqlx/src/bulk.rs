//! The import's writes, one upsert per batch of records and table: multi-row `VALUES` on
//! SQLite, whose cost is the rows themselves; `UNNEST` of one array per column on
//! PostgreSQL, where a statement of a thousand rows spends more on its thirteen thousand
//! parameters than on the rows, and one array per column makes a batch of many thousand rows
//! a statement of a dozen parameters, prepared once.
//!
//! Both upsert by id (importing twice changes nothing) and run inside the import's
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rappels_core::domain::{
    ManualId, ManualRequest, Parent, ReminderKey, Session, SessionId, Student, StudentId,
    StudyPlan, Zone,
};
use rappels_core::ports::NewReminder;
use rappels_core::rules;

use crate::SqlError;
use crate::convert::{self, micros};

/// The effective zone and the day inactivity is counted from, as stored.
pub(crate) fn derived(student: &Student, default_zone: Zone) -> (Zone, Option<i64>) {
    let zone = student.zone(default_zone);
    (
        zone,
        rules::inactivity_reference_date(student, zone).map(convert::day),
    )
}

/// Each parent's children, deduplicated, as (parent, child, position): positions grow in
/// the order of the children, which is all `position` is read for.
pub(crate) fn links(parents: &[Parent]) -> Vec<(i64, i64, i64)> {
    let mut links: Vec<(i64, i64, i64)> = Vec::new();
    for p in parents {
        let mut seen = std::collections::HashSet::new();
        for child in p.children.iter().filter(|c| seen.insert(**c)) {
            links.push((p.id.get(), child.get(), links.len() as i64));
        }
    }
    links
}

/// The columns an import replaces in an existing row, per table.
const STUDENT_SET: [&str; 12] = [
    "first_name",
    "last_name",
    "email",
    "timezone",
    "zone",
    "locale",
    "account_active",
    "subscription_active",
    "created_at",
    "last_activity_at",
    "reference_day",
    "opt_out",
];
const PARENT_SET: [&str; 3] = ["first_name", "last_name", "email"];
const SESSION_SET: [&str; 6] = [
    "student_id",
    "subject",
    "objective",
    "starts_at",
    "duration_minutes",
    "status",
];
const STUDY_PLAN_SET: [&str; 6] = [
    "student_id",
    "weekday",
    "time",
    "subject",
    "objective",
    "duration_minutes",
];
const MANUAL_SET: [&str; 5] = [
    "parent_id",
    "student_id",
    "title",
    "message",
    "requested_at",
];

/// ` ON CONFLICT (id) DO UPDATE SET …` replacing `columns` (and `also`) of an existing row,
/// only where one of `columns` differs (`differs`: the engine's null-safe "not equal" for
/// row values): a row already as the file says is not rewritten, so the statement's
/// count of changed rows is the records added or changed, which an import reports.
fn upsert(table: &str, columns: &[&str], also: &[&str], differs: &str) -> String {
    let set: Vec<String> = columns
        .iter()
        .chain(also)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let stored: Vec<String> = columns.iter().map(|c| format!("{table}.{c}")).collect();
    let given: Vec<String> = columns.iter().map(|c| format!("excluded.{c}")).collect();
    format!(
        " ON CONFLICT (id) DO UPDATE SET {} WHERE ({}) {differs} ({})",
        set.join(", "),
        stored.join(", "),
        given.join(", ")
    )
}

pub(crate) mod sqlite {
    //! Multi-row `VALUES`, under SQLite's 32,766 bound parameters for the widest table.

    use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

    use super::*;

    /// Records per statement.
    pub(crate) const ROWS: usize = 1000;

    /// Row values differ (null-safe).
    const DIFFERS: &str = "IS NOT";

    pub(crate) async fn students(
        conn: &mut SqliteConnection,
        chunk: &[Student],
        default_zone: Zone,
    ) -> Result<u64, SqlError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO students (id, first_name, last_name, email, timezone, zone, locale, \
             account_active, subscription_active, created_at, last_activity_at, reference_day, opt_out) ",
        );
        q.push_values(chunk, |mut b, s| {
            let (zone, reference_day) = derived(s, default_zone);
            b.push_bind(s.id.get())
                .push_bind(s.first_name.clone())
                .push_bind(s.last_name.clone())
                .push_bind(s.email.to_string())
                .push_bind(s.timezone.map(|z| z.name()))
                .push_bind(zone.name())
                .push_bind(s.locale.code())
                .push_bind(s.account_active)
                .push_bind(s.subscription_active)
                .push_bind(s.created_at.map(micros))
                .push_bind(s.last_activity_at.map(micros))
                .push_bind(reference_day)
                .push_bind(convert::opt_out_text(&s.opt_out));
        });
        q.push(upsert("students", &STUDENT_SET, &[], DIFFERS));
        Ok(q.build().execute(&mut *conn).await?.rows_affected())
    }

    /// Upserts the parents and replaces their children.
    pub(crate) async fn parents(
        conn: &mut SqliteConnection,
        chunk: &[Parent],
    ) -> Result<u64, SqlError> {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO parents (id, first_name, last_name, email) ");
        q.push_values(chunk, |mut b, p| {
            b.push_bind(p.id.get())
                .push_bind(p.first_name.clone())
                .push_bind(p.last_name.clone())
                .push_bind(p.email.to_string());
        });
        q.push(upsert("parents", &PARENT_SET, &[], DIFFERS));
        let written = q.build().execute(&mut *conn).await?.rows_affected();
        let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM parent_children WHERE parent_id IN (");
        let mut list = q.separated(", ");
        for p in chunk {
            list.push_bind(p.id.get());
        }
        q.push(")");
        q.build().execute(&mut *conn).await?;
        for links in links(chunk).chunks(ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO parent_children (parent_id, student_id, position) ",
            );
            q.push_values(links, |mut b, (parent, child, position)| {
                b.push_bind(*parent).push_bind(*child).push_bind(*position);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok(written)
    }

    /// Upserts sessions, each with its student's zone when `zones` knows the student (the
    /// students of the same import); the trigger of migration 0004 looks up the others.
    /// The zone is not looked up in the statement itself: a thousand subqueries in one
    /// statement make SQLite open a thousand cursors, each opening costlier than the last.
    pub(crate) async fn sessions(
        conn: &mut SqliteConnection,
        chunk: &[Session],
        zones: &HashMap<StudentId, &'static str>,
    ) -> Result<u64, SqlError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO sessions (id, student_id, subject, objective, starts_at, duration_minutes, status, zone) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(s.id.get())
                .push_bind(s.student_id.get())
                .push_bind(s.subject.clone())
                .push_bind(s.objective.clone())
                .push_bind(micros(s.starts_at))
                .push_bind(i64::from(s.duration_minutes))
                .push_bind(s.status.as_str())
                .push_bind(zones.get(&s.student_id).copied().unwrap_or_default());
        });
        q.push(upsert("sessions", &SESSION_SET, &["zone"], DIFFERS));
        Ok(q.build().execute(&mut *conn).await?.rows_affected())
    }

    pub(crate) async fn study_plans(
        conn: &mut SqliteConnection,
        chunk: &[StudyPlan],
    ) -> Result<u64, SqlError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO study_plans (id, student_id, weekday, time, subject, objective, duration_minutes) ",
        );
        q.push_values(chunk, |mut b, p| {
            b.push_bind(p.id.get())
                .push_bind(p.student_id.get())
                .push_bind(p.weekday.name())
                .push_bind(p.time.to_string())
                .push_bind(p.subject.clone())
                .push_bind(p.objective.clone())
                .push_bind(i64::from(p.duration_minutes));
        });
        q.push(upsert("study_plans", &STUDY_PLAN_SET, &[], DIFFERS));
        Ok(q.build().execute(&mut *conn).await?.rows_affected())
    }

    pub(crate) async fn manual(
        conn: &mut SqliteConnection,
        chunk: &[ManualRequest],
    ) -> Result<u64, SqlError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO manual_requests (id, parent_id, student_id, title, message, requested_at) ",
        );
        q.push_values(chunk, |mut b, m| {
            b.push_bind(m.id.get())
                .push_bind(m.parent_id.get())
                .push_bind(m.student_id.get())
                .push_bind(m.title.clone())
                .push_bind(m.message.clone())
                .push_bind(micros(m.requested_at));
        });
        q.push(upsert("manual_requests", &MANUAL_SET, &[], DIFFERS));
        Ok(q.build().execute(&mut *conn).await?.rows_affected())
    }

    /// Records `sent` keys as already sent; returns how many were new.
    pub(crate) async fn sent(
        conn: &mut SqliteConnection,
        chunk: &[ReminderKey],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO reminders (reminder_key, kind, student_id, session_id, manual_id, slot_date, \
             status, created_at, imported) ",
        );
        q.push_values(chunk, |mut b, key| {
            b.push_bind(key.to_string())
                .push_bind(key.kind().as_str())
                .push_bind(key.student().map(StudentId::get))
                .push_bind(key.session().map(SessionId::get))
                .push_bind(key.manual().map(ManualId::get))
                .push_bind(key.slot_date().map(convert::day))
                .push_bind("sent")
                .push_bind(micros(now))
                .push_bind(true);
        });
        q.push(" ON CONFLICT (reminder_key) DO NOTHING");
        Ok(q.build().execute(&mut *conn).await?.rows_affected())
    }

    /// Records due reminders as pending unless their key is in the log; returns how many
    /// were new.
    pub(crate) async fn due(
        conn: &mut SqliteConnection,
        chunk: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO reminders (reminder_key, kind, student_id, session_id, manual_id, \
             slot_date, due_at, expires_at, status, attempts, next_attempt_at, created_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.key.to_string())
                .push_bind(r.key.kind().as_str())
                .push_bind(r.student.get())
                .push_bind(r.key.session().map(SessionId::get))
                .push_bind(r.key.manual().map(ManualId::get))
                .push_bind(convert::day(r.slot_date))
                .push_bind(micros(r.due_at))
                .push_bind(micros(r.expires_at))
                .push_bind("pending")
                .push_bind(0i64)
                .push_bind(micros(now))
                .push_bind(micros(now));
        });
        q.push(" ON CONFLICT (reminder_key) DO NOTHING");
        Ok(q.build().execute(&mut *conn).await?.rows_affected())
    }

    /// Ids into a temporary table, `IDS` a statement.
    pub(crate) async fn ids(
        conn: &mut SqliteConnection,
        table: &str,
        ids: &[i64],
    ) -> Result<(), SqlError> {
        const IDS: usize = 10_000;
        for chunk in ids.chunks(IDS) {
            let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} (id) "));
            q.push_values(chunk, |mut b, id| {
                b.push_bind(*id);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Parent–child links into a temporary table.
    pub(crate) async fn link_pairs(
        conn: &mut SqliteConnection,
        table: &str,
        links: &[(i64, i64)],
    ) -> Result<(), SqlError> {
        const LINKS: usize = 10_000;
        for chunk in links.chunks(LINKS) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {table} (parent_id, student_id) "
            ));
            q.push_values(chunk, |mut b, (parent, child)| {
                b.push_bind(*parent).push_bind(*child);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

pub(crate) mod postgres {
    //! `INSERT … SELECT * FROM UNNEST($1::bigint[], …)`: one array per column.

    use sqlx::PgConnection;

    use super::*;

    /// Records per statement: the arrays of a batch stay a few megabytes.
    pub(crate) const ROWS: usize = 10_000;

    /// Row values differ (null-safe).
    const DIFFERS: &str = "IS DISTINCT FROM";

    pub(crate) async fn students(
        conn: &mut PgConnection,
        chunk: &[Student],
        default_zone: Zone,
    ) -> Result<u64, SqlError> {
        let n = chunk.len();
        let mut id = Vec::with_capacity(n);
        let mut first_name = Vec::with_capacity(n);
        let mut last_name = Vec::with_capacity(n);
        let mut email = Vec::with_capacity(n);
        let mut timezone = Vec::with_capacity(n);
        let mut zone = Vec::with_capacity(n);
        let mut locale = Vec::with_capacity(n);
        let mut account_active = Vec::with_capacity(n);
        let mut subscription_active = Vec::with_capacity(n);
        let mut created_at = Vec::with_capacity(n);
        let mut last_activity_at = Vec::with_capacity(n);
        let mut reference_day = Vec::with_capacity(n);
        let mut opt_out = Vec::with_capacity(n);
        for s in chunk {
            let (effective, reference) = derived(s, default_zone);
            id.push(s.id.get());
            first_name.push(s.first_name.as_str());
            last_name.push(s.last_name.as_str());
            email.push(s.email.to_string());
            timezone.push(s.timezone.map(|z| z.name()));
            zone.push(effective.name());
            locale.push(s.locale.code());
            account_active.push(s.account_active);
            subscription_active.push(s.subscription_active);
            created_at.push(s.created_at.map(micros));
            last_activity_at.push(s.last_activity_at.map(micros));
            reference_day.push(reference);
            opt_out.push(convert::opt_out_text(&s.opt_out));
        }
        let sql = format!(
            "INSERT INTO students (id, first_name, last_name, email, timezone, zone, locale, \
             account_active, subscription_active, created_at, last_activity_at, reference_day, opt_out) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::boolean[], $9::boolean[], $10::bigint[], $11::bigint[], \
             $12::bigint[], $13::text[]){}",
            upsert("students", &STUDENT_SET, &[], DIFFERS)
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(first_name)
            .bind(last_name)
            .bind(email)
            .bind(timezone)
            .bind(zone)
            .bind(locale)
            .bind(account_active)
            .bind(subscription_active)
            .bind(created_at)
            .bind(last_activity_at)
            .bind(reference_day)
            .bind(opt_out)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(written)
    }

    /// Upserts the parents and replaces their children.
    pub(crate) async fn parents(
        conn: &mut PgConnection,
        chunk: &[Parent],
    ) -> Result<u64, SqlError> {
        let id: Vec<i64> = chunk.iter().map(|p| p.id.get()).collect();
        let first_name: Vec<&str> = chunk.iter().map(|p| p.first_name.as_str()).collect();
        let last_name: Vec<&str> = chunk.iter().map(|p| p.last_name.as_str()).collect();
        let email: Vec<String> = chunk.iter().map(|p| p.email.to_string()).collect();
        let sql = format!(
            "INSERT INTO parents (id, first_name, last_name, email) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[]){}",
            upsert("parents", &PARENT_SET, &[], DIFFERS)
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .bind(first_name)
            .bind(last_name)
            .bind(email)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM parent_children WHERE parent_id = ANY($1)")
            .bind(&id)
            .execute(&mut *conn)
            .await?;
        let links = links(chunk);
        let parent: Vec<i64> = links.iter().map(|l| l.0).collect();
        let child: Vec<i64> = links.iter().map(|l| l.1).collect();
        let position: Vec<i64> = links.iter().map(|l| l.2).collect();
        sqlx::query(
            "INSERT INTO parent_children (parent_id, student_id, position) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[])",
        )
        .bind(parent)
        .bind(child)
        .bind(position)
        .execute(&mut *conn)
        .await?;
        Ok(written)
    }

    /// Upserts sessions; the trigger of migration 0004 gives each its student's zone.
    pub(crate) async fn sessions(
        conn: &mut PgConnection,
        chunk: &[Session],
        _zones: &HashMap<StudentId, &'static str>,
    ) -> Result<u64, SqlError> {
        let sql = format!(
            "INSERT INTO sessions (id, student_id, subject, objective, starts_at, duration_minutes, status) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], \
             $6::bigint[], $7::text[]){}",
            upsert("sessions", &SESSION_SET, &[], DIFFERS)
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(chunk.iter().map(|s| s.id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|s| s.student_id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|s| s.subject.as_str()).collect::<Vec<_>>())
            .bind(
                chunk
                    .iter()
                    .map(|s| s.objective.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|s| micros(s.starts_at))
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|s| i64::from(s.duration_minutes))
                    .collect::<Vec<_>>(),
            )
            .bind(chunk.iter().map(|s| s.status.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(written)
    }

    pub(crate) async fn study_plans(
        conn: &mut PgConnection,
        chunk: &[StudyPlan],
    ) -> Result<u64, SqlError> {
        let sql = format!(
            "INSERT INTO study_plans (id, student_id, weekday, time, subject, objective, duration_minutes) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::bigint[]){}",
            upsert("study_plans", &STUDY_PLAN_SET, &[], DIFFERS)
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(chunk.iter().map(|p| p.id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.student_id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.weekday.name()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.time.to_string()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|p| p.subject.as_str()).collect::<Vec<_>>())
            .bind(
                chunk
                    .iter()
                    .map(|p| p.objective.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|p| i64::from(p.duration_minutes))
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(written)
    }

    pub(crate) async fn manual(
        conn: &mut PgConnection,
        chunk: &[ManualRequest],
    ) -> Result<u64, SqlError> {
        let sql = format!(
            "INSERT INTO manual_requests (id, parent_id, student_id, title, message, requested_at) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], \
             $6::bigint[]){}",
            upsert("manual_requests", &MANUAL_SET, &[], DIFFERS)
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(chunk.iter().map(|m| m.id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.parent_id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.student_id.get()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.title.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|m| m.message.as_str()).collect::<Vec<_>>())
            .bind(
                chunk
                    .iter()
                    .map(|m| micros(m.requested_at))
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(written)
    }

    /// Records `sent` keys as already sent; returns how many were new.
    pub(crate) async fn sent(
        conn: &mut PgConnection,
        chunk: &[ReminderKey],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        let done = sqlx::query(
            "INSERT INTO reminders (reminder_key, kind, student_id, session_id, manual_id, slot_date, \
             status, created_at, imported) \
             SELECT key, kind, student, session, manual, slot, 'sent', $7, TRUE \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) \
                 AS k (key, kind, student, session, manual, slot) \
             ON CONFLICT (reminder_key) DO NOTHING",
        )
        .bind(chunk.iter().map(|k| k.to_string()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|k| k.kind().as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|k| k.student().map(StudentId::get)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|k| k.session().map(SessionId::get)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|k| k.manual().map(ManualId::get)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|k| k.slot_date().map(convert::day)).collect::<Vec<_>>())
        .bind(micros(now))
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }
    /// Records due reminders as pending unless their key is in the log; returns how many
    /// were new.
    pub(crate) async fn due(
        conn: &mut PgConnection,
        chunk: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<u64, SqlError> {
        let column = |f: fn(&NewReminder) -> Option<i64>| chunk.iter().map(f).collect::<Vec<_>>();
        let done = sqlx::query(
            "INSERT INTO reminders (reminder_key, kind, student_id, session_id, manual_id, \
             slot_date, due_at, expires_at, status, attempts, next_attempt_at, created_at) \
             SELECT key, kind, student, session, manual, slot, due_at, expires_at, 'pending', 0, \
                 $9, $9 \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], \
                 $6::bigint[], $7::bigint[], $8::bigint[]) \
                 AS r (key, kind, student, session, manual, slot, due_at, expires_at) \
             ON CONFLICT (reminder_key) DO NOTHING",
        )
        .bind(chunk.iter().map(|r| r.key.to_string()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.key.kind().as_str())
                .collect::<Vec<_>>(),
        )
        .bind(column(|r| Some(r.student.get())))
        .bind(column(|r| r.key.session().map(SessionId::get)))
        .bind(column(|r| r.key.manual().map(ManualId::get)))
        .bind(column(|r| Some(convert::day(r.slot_date))))
        .bind(column(|r| Some(micros(r.due_at))))
        .bind(column(|r| Some(micros(r.expires_at))))
        .bind(micros(now))
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    /// Ids into a temporary table, as one array.
    pub(crate) async fn ids(
        conn: &mut PgConnection,
        table: &str,
        ids: &[i64],
    ) -> Result<(), SqlError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (id) SELECT * FROM UNNEST($1::bigint[])"
        )))
        .bind(ids)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Parent–child links into a temporary table, as two arrays.
    pub(crate) async fn link_pairs(
        conn: &mut PgConnection,
        table: &str,
        links: &[(i64, i64)],
    ) -> Result<(), SqlError> {
        let parents: Vec<i64> = links.iter().map(|l| l.0).collect();
        let children: Vec<i64> = links.iter().map(|l| l.1).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (parent_id, student_id) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])"
        )))
        .bind(parents)
        .bind(children)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
