//! The reminder log: recording due reminders, the claim protocol and the outcomes.

use chrono::{DateTime, TimeDelta, Utc};
use futures::{StreamExt, stream};
use rappels_core::ports::{Claim, Lease, NewReminder, Outcome, Recorded, WeeklyDue};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, QueryBuilder, Row, Type};

use super::{CLAIM_COLUMNS, PERIODIC_ELIGIBLE, Sql, WEEKLY_NOT_OPTED_OUT, WEEKLY_STEP};
use crate::SqlError;
use crate::convert::{self, micros};
use crate::engine::Engine;

/// Digests recorded in one call past which the log's statistics are refreshed
/// (`Engine::ANALYZE_LOG`): one range of candidates.
const ANALYZE_AFTER: usize = WEEKLY_STEP;

/// Outcomes written by one statement: 14 values each, well under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters.
const OUTCOME_ROWS: usize = 512;

/// What an outcome writes to its reminder's row.
struct OutcomeRow<'a> {
    state: &'static str,
    attempted: i64,
    next: Option<i64>,
    error: Option<&'a str>,
    message_id: Option<&'a str>,
    sent_at: Option<i64>,
    // The message the attempt was made with, kept for history (none when it could not
    // be built, or for an expired reminder).
    subject: Option<&'a str>,
    text: Option<&'a str>,
    html: Option<&'a str>,
    to_address: Option<String>,
    to_name: Option<&'a str>,
    locale: Option<&'static str>,
}

impl<'a> OutcomeRow<'a> {
    fn of(claim: &'a Claim, outcome: &'a Outcome) -> Self {
        let (state, attempted, next, error, message_id, sent_at) = match outcome {
            Outcome::Sent { message_id, at } => (
                "sent",
                1,
                None,
                None,
                Some(message_id.as_str()),
                Some(micros(*at)),
            ),
            Outcome::Retry {
                next_attempt_at,
                error,
            } => (
                "pending",
                1,
                Some(micros(*next_attempt_at)),
                Some(error.as_str()),
                None,
                None,
            ),
            Outcome::Failed { error } => ("failed", 1, None, Some(error.as_str()), None, None),
            Outcome::Expired => ("expired", 0, None, None, None, None),
            Outcome::Cancelled { reason } => {
                ("cancelled", 0, None, Some(reason.as_str()), None, None)
            }
        };
        let envelope = claim.envelope.as_deref();
        OutcomeRow {
            state,
            attempted,
            next,
            error,
            message_id,
            sent_at,
            subject: envelope.map(|e| e.message.subject.as_str()),
            text: envelope.map(|e| e.message.text.as_str()),
            html: envelope.map(|e| e.message.html.as_str()),
            to_address: envelope.map(|e| e.to.to_string()),
            to_name: envelope.map(|e| e.to_name.as_str()),
            locale: envelope.map(|e| e.locale.code()),
        }
    }
}

/// Runs `step` on each of `items`, `at_once` at a time, and gives each result to `report`,
/// which says whether to carry on. Once it says stop, the items not yet begun are not run,
/// and the steps in flight still end and are reported: a step may have committed before its
/// result was read (two can end in the same poll), and the caller counts what is written.
/// The first error ends it (the steps still in flight are dropped, their transactions
/// rolled back).
async fn run_steps<I, T, E, Fut>(
    items: Vec<I>,
    at_once: usize,
    step: impl Fn(I) -> Fut,
    mut report: impl FnMut(T) -> bool,
) -> Result<(), E>
where
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let stopped = &std::sync::atomic::AtomicBool::new(false);
    let step = &step;
    let mut steps = stream::iter(items)
        .map(|item| async move {
            if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(None);
            }
            step(item).await.map(Some)
        })
        .buffer_unordered(at_once.max(1));
    while let Some(done) = steps.next().await {
        if let Some(result) = done?
            && !report(result)
        {
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    Ok(())
}

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
    pub(crate) async fn record_due(
        pool: &Pool<DB>,
        reminders: &[NewReminder],
        now: DateTime<Utc>,
    ) -> Result<usize, SqlError> {
        let mut tx = pool.begin().await?;
        let mut added = 0u64;
        for chunk in reminders.chunks(DB::BULK_ROWS) {
            added += DB::bulk_due(&mut tx, chunk, now).await?;
        }
        tx.commit().await?;
        Ok(added as usize)
    }

    /// `ReminderLog::record_weekly`: reads the ids of the students due (one indexed
    /// query), then inserts their digests from the students table itself, a range
    /// of `WEEKLY_STEP` of those ids a transaction, so that no student row crosses
    /// the driver and senders can start after the first step. On PostgreSQL two steps
    /// run at once (`Engine::WRITERS`): 4.8 s -> 3.7 s for a 1M-student Sunday.
    pub(crate) async fn record_weekly(
        pool: &Pool<DB>,
        due: &WeeklyDue,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Recorded) -> bool + Sync),
    ) -> Result<(), SqlError> {
        let zone = due.zone.name();
        let mut ids =
            Self::candidate_ids(pool, Self::weekly_due_sql("", "id", zone, due.slot_date)).await?;
        ids.sort_unstable();
        let key_suffix = format!(":{}", due.slot_date);
        let key_suffix = key_suffix.as_str();
        let step = |(planned, first, last): (usize, i64, i64)| async move {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO reminders (reminder_key, kind, student_id, slot_date, due_at, \
                 expires_at, status, attempts, next_attempt_at, created_at) \
                 SELECT 'weekly:' || CAST(id AS TEXT) || ",
            );
            q.push_bind(key_suffix);
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
            q.push_bind(first);
            q.push(" AND id <= ");
            q.push_bind(last);
            q.push(" ON CONFLICT (reminder_key) DO NOTHING");
            let mut tx = pool.begin().await?;
            let added = DB::rows_affected(&q.build().execute(&mut *tx).await?);
            tx.commit().await?;
            Ok::<_, SqlError>((planned, added))
        };
        // The steps are disjoint ranges of ids, each its own transaction: an engine with
        // several writers runs `DB::WRITERS` of them at once (the inserts are the server's
        // work, and one at a time leave its other cores idle).
        let ranges: Vec<(usize, i64, i64)> = ids
            .chunks(WEEKLY_STEP)
            .filter_map(|chunk| Some((chunk.len(), *chunk.first()?, *chunk.last()?)))
            .collect();
        let mut total = 0;
        run_steps(ranges, DB::WRITERS, step, |(planned, added)| {
            total += added;
            progress(Recorded {
                planned,
                recorded: usize::try_from(added).unwrap_or(usize::MAX),
            })
        })
        .await?;
        if total >= ANALYZE_AFTER as u64
            && let Some(analyze) = DB::ANALYZE_LOG
        {
            sqlx::query(analyze).execute(pool).await?;
        }
        Ok(())
    }

    /// Claims pending reminders whose attempt time has come, and reminders whose lease
    /// ended, in one statement. On PostgreSQL the subquery's `FOR UPDATE SKIP LOCKED`
    /// gives concurrent claimers disjoint rows without waiting. On SQLite a write
    /// statement takes the database's write lock before it reads (it is, in effect,
    /// an immediate transaction), so claimers run one after the other, waiting on the
    /// busy timeout, and each sees the rows the previous one left.
    pub(crate) async fn claim(
        pool: &Pool<DB>,
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
                    DB::CLAIM_LOCK
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
                    reminder: Self::new_reminder(row)?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    lease: Lease {
                        owner: owner.to_owned(),
                        until,
                    },
                    envelope: None,
                })
            })
            .collect::<Result<Vec<_>, SqlError>>()?;
        claims.sort_by_key(|c| (c.reminder.due_at, c.id));
        Ok(claims)
    }

    /// Records an outcome if the lease is still held; false when it was lost.
    pub(crate) async fn complete(
        pool: &Pool<DB>,
        claim: &Claim,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool, SqlError> {
        let mut conn = pool.acquire().await?;
        Self::complete_in(&mut *conn, claim, outcome, now).await
    }

    pub(super) async fn complete_in(
        conn: &mut DB::Connection,
        claim: &Claim,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool, SqlError> {
        let row = OutcomeRow::of(claim, outcome);
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
        .bind(row.state)
        .bind(row.attempted)
        .bind(row.next)
        .bind(row.error)
        .bind(row.message_id)
        .bind(row.sent_at)
        .bind(claim.id)
        .bind(claim.lease.owner.as_str())
        .bind(micros(now))
        .bind(row.subject)
        .bind(row.text)
        .bind(row.html)
        .bind(row.to_address)
        .bind(row.to_name)
        .bind(row.locale)
        .execute(&mut *conn)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    /// Records outcomes in one transaction; for each, whether its lease was held.
    ///
    /// One statement per `OUTCOME_ROWS` outcomes (an `UPDATE … FROM` a list of values, on
    /// both engines), not one per outcome: each statement is a round trip to the database
    /// (on SQLite, a hand-off to its thread and back), and a run records an outcome per
    /// message. The lease is checked per row exactly as `complete_in` checks it; the rows
    /// the statement returns are those whose lease was held.
    pub(crate) async fn complete_many(
        pool: &Pool<DB>,
        outcomes: &[(Claim, Outcome)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, SqlError> {
        let mut tx = pool.begin().await?;
        let mut held_ids = std::collections::HashSet::with_capacity(outcomes.len());
        for chunk in outcomes.chunks(OUTCOME_ROWS) {
            let mut q = QueryBuilder::<DB>::new(
                "WITH o (id, lease_owner, state, attempted, next_at, error, message_id, sent_at, \
                 subject, text_body, html_body, to_address, to_name, locale) AS (",
            );
            q.push_values(chunk, |mut values, (claim, outcome)| {
                let row = OutcomeRow::of(claim, outcome);
                values
                    .push_bind(claim.id)
                    .push_bind(claim.lease.owner.as_str())
                    .push_bind(row.state)
                    .push_bind(row.attempted)
                    .push_bind(row.next)
                    .push_bind(row.error)
                    .push_bind(row.message_id)
                    .push_bind(row.sent_at)
                    .push_bind(row.subject)
                    .push_bind(row.text)
                    .push_bind(row.html)
                    .push_bind(row.to_address)
                    .push_bind(row.to_name)
                    .push_bind(row.locale);
            });
            q.push(
                ") UPDATE reminders SET status = o.state, attempts = reminders.attempts + o.attempted, \
                 next_attempt_at = COALESCE(o.next_at, reminders.next_attempt_at), \
                 last_error = COALESCE(o.error, reminders.last_error), \
                 message_id = COALESCE(o.message_id, reminders.message_id), \
                 sent_at = COALESCE(o.sent_at, reminders.sent_at), \
                 lease_owner = NULL, lease_until = NULL, \
                 subject = COALESCE(o.subject, reminders.subject), \
                 text_body = COALESCE(o.text_body, reminders.text_body), \
                 html_body = COALESCE(o.html_body, reminders.html_body), \
                 to_address = COALESCE(o.to_address, reminders.to_address), \
                 to_name = COALESCE(o.to_name, reminders.to_name), \
                 locale = COALESCE(o.locale, reminders.locale) \
                 FROM o WHERE reminders.id = o.id AND reminders.status = 'sending' \
                 AND reminders.lease_owner = o.lease_owner AND reminders.lease_until > ",
            );
            q.push_bind(micros(now));
            q.push(" RETURNING reminders.id");
            for row in q.build().fetch_all(&mut *tx).await? {
                held_ids.insert(row.try_get::<i64, _>(0)?);
            }
        }
        tx.commit().await?;
        Ok(outcomes
            .iter()
            .map(|(claim, _)| held_ids.contains(&claim.id))
            .collect())
    }

    /// Gives claims back: pending again, the attempt not counted, where the lease is
    /// still held.
    pub(crate) async fn release(
        pool: &Pool<DB>,
        claims: &[Claim],
        now: DateTime<Utc>,
    ) -> Result<(), SqlError> {
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

    pub(crate) async fn next_attempt_at(
        pool: &Pool<DB>,
    ) -> Result<Option<DateTime<Utc>>, SqlError> {
        let pending: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM reminders WHERE status = 'pending'",
        )
        .fetch_one(pool)
        .await?;
        let leases: Option<i64> =
            sqlx::query_scalar("SELECT MIN(lease_until) FROM reminders WHERE status = 'sending'")
                .fetch_one(pool)
                .await?;
        convert::opt_instant(pending.into_iter().chain(leases).min(), "reminders")
    }
}

#[cfg(test)]
mod tests {
    use super::run_steps;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A step that "commits" when first polled and hands its result back only at a later
    /// poll, as a transaction whose COMMIT was answered before the caller read it.
    async fn committing_step(committed: &AtomicUsize, item: usize) -> Result<usize, ()> {
        committed.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        Ok(item)
    }

    /// Runs ten committing steps three at a time, `report` saying whether to carry on:
    /// what was reported, and how many steps committed.
    async fn ten_steps(carry_on: bool) -> (Vec<usize>, usize) {
        let committed = AtomicUsize::new(0);
        let mut reported = Vec::new();
        run_steps(
            (0..10).collect(),
            3,
            |item| committing_step(&committed, item),
            |item| {
                reported.push(item);
                carry_on
            },
        )
        .await
        .unwrap();
        (reported, committed.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_stop_reports_every_step_in_flight_and_begins_no_other() {
        let (reported, committed) = ten_steps(false).await;
        assert_eq!(reported.len(), committed, "reported {reported:?}");
        assert!(
            (2..10).contains(&committed),
            "{committed} steps after a stop"
        );
    }

    #[tokio::test]
    async fn steps_run_to_the_end_unless_stopped_and_an_error_ends_them() {
        let (mut reported, committed) = ten_steps(true).await;
        reported.sort_unstable();
        assert_eq!(reported, (0..10).collect::<Vec<_>>());
        assert_eq!(committed, 10);
        let failed = run_steps(
            (0..10).collect(),
            1,
            |item: usize| async move { if item == 4 { Err(item) } else { Ok(item) } },
            |_| true,
        )
        .await;
        assert_eq!(failed, Err(4));
    }
}
