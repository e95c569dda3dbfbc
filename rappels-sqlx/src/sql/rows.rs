//! Decoding stored rows into the domain's records; a value that does not decode is `SqlError::Corrupt`, naming the row.

use rappels_core::domain::{
    EmailAddress, Locale, ManualId, ManualRequest, ParentId, Session, SessionId, SessionStatus,
    Student, StudentId, Zone,
};
use rappels_core::ports::{NewReminder, ReminderStatus};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::{Sql, corrupt};
use crate::SqlError;
use crate::convert::{self};
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
    pub(super) fn student(row: &DB::Row) -> Result<Student, SqlError> {
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

    pub(super) fn session(row: &DB::Row) -> Result<Session, SqlError> {
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

    pub(super) fn manual_request(row: &DB::Row) -> Result<ManualRequest, SqlError> {
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

    pub(super) fn status(text: &str) -> Result<ReminderStatus, SqlError> {
        Ok(match text {
            "pending" => ReminderStatus::Pending,
            "sending" => ReminderStatus::Sending,
            "sent" => ReminderStatus::Sent,
            "failed" => ReminderStatus::Failed,
            "expired" => ReminderStatus::Expired,
            "cancelled" => ReminderStatus::Cancelled,
            other => {
                return Err(corrupt(
                    "reminders.status",
                    format!("unknown status {other:?}"),
                ));
            }
        })
    }

    pub(super) fn new_reminder(row: &DB::Row) -> Result<NewReminder, SqlError> {
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
}
