//! The SQL of every store operation, written once and generic over the [`Engine`]: plain
//! functions grouped by concern, as associated functions of [`Sql`].
//!
//! - `rows` — decoding the rows of students, sessions, manual requests and the log;
//! - `settings` — the stored settings and the zones in use;
//! - `queries` — the planner's queries, each built by one function, so that planning runs
//!   them and `explain` shows how the database runs the very same SQL;
//! - `planning` — the candidates of a window, whole or in parts, and a batch's messages;
//! - `explain` — `EXPLAIN` of every planner query;
//! - `log` — recording due reminders, the claim protocol and outcomes;
//! - `history` — a scope's history and the statistics;
//! - `platform` — parents, explanation, manual requests, study plans, unsubscribes;
//! - `import` — a scenario, in one transaction;
//! - `changes` — the platform's changes as they come (`rappels ingest`);
//! - `login` — the single use of sign-in links;
//! - `pages` — what the web pages read beyond the ports (a message, preferences, analytics).
//!
//! Every `impl` block states the same bounds (see [`Sql`]): Rust implies a trait's
//! supertraits at each use, but not the bounds it places on other types, such as
//! `i64: Encode<DB>`, so they cannot be said once on `Engine`.

mod changes;
mod explain;
mod history;
mod import;
mod log;
mod login;
mod pages;
mod planning;
mod platform;
mod queries;
mod rows;
mod settings;

use std::marker::PhantomData;

use rappels_core::changes::Change;
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
    let bad = unstorable;
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

/// The refusal of an instant at `path` that the database cannot store exactly.
fn unstorable(path: String) -> SqlError {
    SqlError::Unstorable {
        path,
        message: "fractions of a second finer than a microsecond cannot be stored".to_owned(),
    }
}

/// Refuses a change holding an instant the database cannot store exactly, as
/// [`check_storable`] does for a scenario; the path names the field (`activity.at`).
pub fn check_change_storable(change: &Change) -> Result<(), SqlError> {
    let instants: Vec<(&str, Option<chrono::DateTime<chrono::Utc>>)> = match change {
        Change::Student(s) => vec![
            ("student.created_at", s.created_at),
            ("student.last_activity_at", s.last_activity_at),
        ],
        Change::Session(s) => vec![("session.starts_at", Some(s.starts_at))],
        Change::Activity(a) => vec![("activity.at", Some(a.at))],
        _ => Vec::new(),
    };
    match instants
        .into_iter()
        .find(|(_, t)| t.is_some_and(|t| !convert::storable(t)))
    {
        Some((field, _)) => Err(unstorable(field.to_owned())),
        None => Ok(()),
    }
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

/// The operations of a store on the engine `DB`, called as `Sql::<Sqlite>::claim(pool, …)`.
///
/// Each `impl` block of the submodules holds these bounds, which both engines meet: the pool
/// and a connection run queries, and the column types rappels stores (64-bit integers,
/// booleans, text) are bound and read by name or position.
///
/// ```text
/// for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
/// for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
/// for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
/// for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
/// for<'q> &'q str: Encode<'q, DB> + Type<DB>,
/// for<'q> Option<i64>: Encode<'q, DB>, (and Option<String>, Option<&'q str>)
/// usize: ColumnIndex<DB::Row>,
/// for<'n> &'n str: ColumnIndex<DB::Row>,
/// ```
pub(crate) struct Sql<DB>(PhantomData<DB>);

/// A stored value that does not decode: the row named by `what`, and why.
fn corrupt(what: impl std::fmt::Display, e: impl std::fmt::Display) -> SqlError {
    SqlError::Corrupt(format!("{what}: {e}"))
}
