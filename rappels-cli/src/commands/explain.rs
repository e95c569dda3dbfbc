//! `rappels explain`: why each reminder of a student is or is not due at an instant — the
//! answer to "why didn't my student get the reminder?".

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{ManualId, SessionId, Student, StudentId, format_instant};
use rappels_core::explain::{Explanation, Verdict};
use rappels_core::ports::{Platform, StoreError};
use rappels_core::service::{Reminders, ServiceError};
use rappels_core::settings::Settings;
use rappels_sqlx::{DatabaseUrl, SqlStore};
use serde::Serialize;

use crate::args::parse_at;
use crate::args::parse_student;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Say, for each kind of reminder of a student, whether it is due at an instant and if not, why: \
the account is inactive, no active subscription, the student opted out, already sent, not \
yet, its window has passed, not a day of the inactivity ladder (with the next one), not the \
digest's day, the session is cancelled or has started, a parent's request was refused (with \
the rule that refused it).

Session reminders are explained for the student's sessions starting from a day before the \
instant to three days after it. The rules are those of `rappels plan`: what this command \
calls due is what the plan lists for the student. Nothing is sent or written.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels explain --student 1
  rappels explain --student 1 --at 2026-11-26T18:45:00Z
  rappels explain --student 1 --at 2026-11-27T08:30:00+01:00 --format json";

/// Output formats of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    /// A header line, then one line per reminder.
    Text,
    /// A JSON array, one object per reminder.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The student whose reminders to explain.
    #[arg(long, value_name = "ID", value_parser = parse_student)]
    student: StudentId,
    /// Explain at this instant, RFC 3339 with an offset (default: now).
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    at: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: ExplainArgs, config: &Config) -> Result<(), Failure> {
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    let url = args.database.url(config)?;
    let (student, settings, explanations) = database::block_on(async {
        // Explaining only reads: a mistyped SQLite path must not create an empty database.
        let store = database::connect_existing(&url).await?;
        let result = explain_on(&store, config, args.student, at, &url).await;
        store.close().await;
        result
    })?;
    match args.format {
        ExplainFormat::Text => {
            crate::output::emit(&to_text(&student, &settings, at, &explanations))
        }
        ExplainFormat::Json => {
            let lines: Vec<JsonLine> = explanations.iter().map(JsonLine::new).collect();
            crate::output::emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&lines).expect("explanations serialise")
            ))
        }
    }
}

async fn explain_on(
    store: &SqlStore,
    config: &Config,
    id: StudentId,
    at: DateTime<Utc>,
    url: &DatabaseUrl,
) -> Result<(Student, Settings, Vec<Explanation>), Failure> {
    let settings = database::settings_in_force(store, config).await?;
    let failed = |error: ServiceError| {
        crate::failure::service_failure(error, format_args!("explaining student {id} on {url}"))
    };
    // The header needs the student's name and zone, which the explanations do not carry:
    // an empty session range keeps this read to the student's own records.
    let student = store
        .explain_input(id, at, at, at)
        .await
        .map_err(|e| failed(e.into()))?
        .and_then(|mut input| input.students.remove(&id))
        .ok_or_else(|| unknown_student(id))?;
    let engine = Reminders::new(store.clone(), SystemClock);
    let explanations = engine.explain(id, at).await.map_err(|error| match error {
        // Removed between the two reads.
        ServiceError::Store(StoreError::NotFound { .. }) => unknown_student(id),
        other => failed(other),
    })?;
    Ok((student, settings, explanations))
}

fn unknown_student(id: StudentId) -> Failure {
    Failure::invalid(format_args!(
        "unknown student {id}: no such student in the database"
    ))
}

/// The header — who, where, when in UTC and on the student's wall clock — then one line per
/// reminder.
fn to_text(
    student: &Student,
    settings: &Settings,
    at: DateTime<Utc>,
    explanations: &[Explanation],
) -> String {
    let zone = student.zone(settings.timezone);
    let local = at.with_timezone(&zone.tz()).format("%A %Y-%m-%d %H:%M");
    let mut out = format!(
        "Reminders of student {} ({}) at {} ({local} in {zone}):\n",
        student.id,
        crate::output::printable(&student.full_name()),
        format_instant(at),
    );
    for explanation in explanations {
        // Explanations quote subjects and titles typed by people: escaped like every table.
        let line = explanation.to_string();
        out.push_str(&format!("  {}\n", crate::output::printable(&line)));
    }
    out
}

/// One explanation in JSON.
#[derive(Debug, Serialize)]
struct JsonLine {
    kind: &'static str,
    session_id: Option<SessionId>,
    manual_id: Option<ManualId>,
    /// `due`, `already_sent` or `not_due`.
    verdict: &'static str,
    /// Why it is not due; null when it is.
    reason: Option<String>,
    /// Its slot, when it is due.
    due_at: Option<String>,
}

impl JsonLine {
    fn new(explanation: &Explanation) -> JsonLine {
        let (verdict, reason, due_at) = match &explanation.verdict {
            Verdict::Due { due_at, .. } => ("due", None, Some(format_instant(*due_at))),
            Verdict::AlreadySent { .. } => (
                "already_sent",
                Some("already sent or recorded for sending".to_owned()),
                None,
            ),
            Verdict::NotDue(reason) => ("not_due", Some(reason.to_string()), None),
        };
        JsonLine {
            kind: explanation.kind.as_str(),
            session_id: explanation.session,
            manual_id: explanation.manual,
            verdict,
            reason,
            due_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::{Kind, ReminderKey, parse_instant};
    use rappels_core::explain::Reason;

    #[test]
    fn json_lines_carry_the_verdict_and_its_reason() {
        let at = parse_instant("2026-11-26T18:00:00Z").unwrap();
        let manual = ManualId::new(500).unwrap();
        let due = Explanation {
            kind: Kind::Manual,
            session: None,
            manual: Some(manual),
            verdict: Verdict::Due {
                key: ReminderKey::Manual(manual),
                due_at: at,
            },
        };
        assert_eq!(
            serde_json::to_value(JsonLine::new(&due)).unwrap(),
            serde_json::json!({ "kind": "manual", "session_id": null, "manual_id": 500,
                                "verdict": "due", "reason": null,
                                "due_at": "2026-11-26T18:00:00Z" })
        );
        let not_yet = Explanation {
            kind: Kind::Weekly,
            session: None,
            manual: None,
            verdict: Verdict::NotDue(Reason::NotYet { slot: at }),
        };
        assert_eq!(
            serde_json::to_value(JsonLine::new(&not_yet)).unwrap(),
            serde_json::json!({ "kind": "weekly", "session_id": null, "manual_id": null,
                                "verdict": "not_due",
                                "reason": "not yet: due at 2026-11-26T18:00:00Z",
                                "due_at": null })
        );
    }
}
