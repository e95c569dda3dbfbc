//! `rappels history`: the reminders recorded for a student, a parent's children or everyone,
//! read as a student, a parent or an admin under the core's permission checks.

use chrono::{DateTime, Utc};
use clap::Args;
use rappels_core::clock::SystemClock;
use rappels_core::domain::{ParentId, StudentId, format_instant};
use rappels_core::permissions::Actor;
use rappels_core::ports::{LogEntry, Platform};
use rappels_sqlx::SqlStore;
use serde::Serialize;

use crate::args::ReportFormat;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::output::table;

pub(crate) const LONG_ABOUT: &str = "\
Print the reminders recorded in the database, newest first (by due instant), with their \
status (pending, sending, sent, failed, expired), the attempts made, when they were sent and \
the last delivery error.

`--as` says who is asking, and the same permission rules as the platform apply: a student \
reads their own reminders, a parent their children's, an admin everyone's. `--child` narrows \
a parent's or an admin's view to one student; a student may only name themselves. A refusal \
exits with status 2 and says which rule refused. Reminders imported as already sent (the \
scenario's `sent` keys) are not part of the history.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels history --as student:1
  rappels history --as parent:10 --child 1 --format json
  rappels history --as admin --limit 200";

/// How many reminders are printed when `--limit` is absent.
const DEFAULT_LIMIT: u32 = 50;

/// Who `--as` says is asking. A parent is only an id here: their children are read from the
/// database before the permission check, so that the check sees the family as it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsActor {
    Student(StudentId),
    Parent(ParentId),
    Admin,
}

/// Parses `student:ID`, `parent:ID` or `admin`.
fn parse_actor(raw: &str) -> Result<AsActor, String> {
    let id = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| format!("{text:?} is not a number"))
    };
    match raw.split_once(':') {
        None if raw == "admin" => Ok(AsActor::Admin),
        Some(("student", text)) => StudentId::new(id(text)?)
            .map(AsActor::Student)
            .map_err(|e| e.to_string()),
        Some(("parent", text)) => ParentId::new(id(text)?)
            .map(AsActor::Parent)
            .map_err(|e| e.to_string()),
        _ => Err("expected student:ID, parent:ID or admin".to_owned()),
    }
}

fn parse_student(raw: &str) -> Result<StudentId, String> {
    let value = raw
        .parse::<i64>()
        .map_err(|_| format!("{raw:?} is not a number"))?;
    StudentId::new(value).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Who is asking: student:ID, parent:ID or admin.
    #[arg(long = "as", value_name = "ACTOR", value_parser = parse_actor)]
    actor: AsActor,
    /// Only this student's reminders: one of a parent's children, any student for an admin,
    /// and only themselves for a student.
    #[arg(long, value_name = "STUDENT_ID", value_parser = parse_student)]
    child: Option<StudentId>,
    /// At most this many reminders, the newest.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: HistoryArgs, config: &Config) -> Result<(), Failure> {
    let url = args.database.url(config)?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let entries = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = async {
            let actor = actor(&store, args.actor).await?;
            let engine = database::read_only_engine(&store, config, SystemClock).await?;
            engine
                .history(&actor, args.child, limit)
                .await
                .map_err(|error| database::log_failure(error, &url))
        }
        .await;
        store.close().await;
        result
    })?;
    let lines: Vec<HistoryLine> = entries.iter().map(HistoryLine::from).collect();
    match args.format {
        ReportFormat::Json => crate::output::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&lines).expect("the history serialises")
        )),
        ReportFormat::Table => {
            let whose = whose(args.actor, args.child);
            crate::output::emit(&history_table(&whose, &lines, limit))
        }
    }
}

/// The core's actor for `--as`; a parent comes with the children the database lists, and a
/// parent or student the database does not know is a usage error (exit 2), not an empty
/// history.
pub(crate) async fn actor(store: &SqlStore, asked: AsActor) -> Result<Actor, Failure> {
    match asked {
        // A student the database does not know is refused like an unknown parent, rather
        // than shown an empty history that reads as "nothing was sent to you". The window
        // is empty: only whether the student exists is asked.
        AsActor::Student(id) => {
            let epoch = DateTime::<Utc>::UNIX_EPOCH;
            match Platform::explain_input(store, id, epoch, epoch, epoch).await {
                Ok(Some(_)) => Ok(Actor::Student(id)),
                Ok(None) => Err(Failure::invalid(format_args!(
                    "student {id} is not in the database"
                ))),
                Err(error) => Err(Failure::Failed(anyhow::anyhow!(
                    "cannot read student {id}: {error}"
                ))),
            }
        }
        // Reading a history does not depend on `superuser`, which only gates test e-mails;
        // the least privileged admin is enough.
        AsActor::Admin => Ok(Actor::Admin { superuser: false }),
        AsActor::Parent(id) => match Platform::parent(store, id).await {
            Ok(Some(parent)) => Ok(Actor::from(&parent)),
            Ok(None) => Err(Failure::invalid(format_args!(
                "parent {id} is not in the database"
            ))),
            Err(error) => Err(Failure::Failed(anyhow::anyhow!(
                "cannot read parent {id}: {error}"
            ))),
        },
    }
}

/// One reminder of the history, as printed.
#[derive(Debug, Serialize)]
struct HistoryLine {
    key: String,
    kind: &'static str,
    student_id: StudentId,
    due_at: String,
    status: &'static str,
    attempts: u32,
    sent_at: Option<String>,
    last_error: Option<String>,
    subject: String,
}

impl From<&LogEntry> for HistoryLine {
    fn from(entry: &LogEntry) -> Self {
        HistoryLine {
            key: entry.key.to_string(),
            kind: entry.key.kind().as_str(),
            student_id: entry.student,
            due_at: format_instant(entry.due_at),
            status: entry.status.as_str(),
            attempts: entry.attempts,
            sent_at: entry.sent_at.map(format_instant),
            last_error: entry.last_error.clone(),
            subject: entry.subject.clone(),
        }
    }
}

/// Whose reminders the table shows, for its heading.
fn whose(actor: AsActor, child: Option<StudentId>) -> String {
    match (actor, child) {
        (AsActor::Student(id), _) => format!("student {id}"),
        (AsActor::Parent(parent), None) => format!("the children of parent {parent}"),
        (AsActor::Parent(parent), Some(child)) => {
            format!("student {child}, child of parent {parent}")
        }
        (AsActor::Admin, None) => "all students".to_owned(),
        (AsActor::Admin, Some(child)) => format!("student {child}"),
    }
}

/// A heading, then one line per reminder; the LAST ERROR column only when a reminder has one.
fn history_table(whose: &str, lines: &[HistoryLine], limit: usize) -> String {
    let count = match lines.len() {
        1 => "1 reminder".to_owned(),
        n => format!("{n} reminders"),
    };
    let mut out = format!("History of {whose}: {count}, newest first");
    if lines.len() >= limit {
        out.push_str(&format!(" (the {limit} newest: raise --limit to see more)"));
    }
    out.push_str("\n\n");
    if lines.is_empty() {
        out.push_str("No reminder recorded.\n");
        return out;
    }
    let header = [
        "DUE AT", "KIND", "STUDENT", "STATUS", "ATTEMPTS", "SENT AT", "SUBJECT",
    ]
    .map(str::to_owned);
    let cells = |l: &HistoryLine| {
        [
            l.due_at.clone(),
            l.kind.to_owned(),
            l.student_id.to_string(),
            l.status.to_owned(),
            l.attempts.to_string(),
            l.sent_at.clone().unwrap_or_else(|| "-".to_owned()),
            l.subject.clone(),
        ]
    };
    if lines.iter().any(|l| l.last_error.is_some()) {
        let widen = |row: [String; 7], last: String| {
            let [a, b, c, d, e, f, g] = row;
            [a, b, c, d, e, f, g, last]
        };
        let mut rows = vec![widen(header, "LAST ERROR".to_owned())];
        rows.extend(lines.iter().map(|l| {
            // An SMTP reply may span lines; the table keeps one line per reminder.
            let error = l.last_error.as_deref().unwrap_or("-");
            widen(
                cells(l),
                error.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        }));
        out.push_str(&table(&rows));
    } else {
        let mut rows = vec![header];
        rows.extend(lines.iter().map(cells));
        out.push_str(&table(&rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(due_at: &str, status: &'static str, error: Option<&str>) -> HistoryLine {
        HistoryLine {
            key: "manual:500".to_owned(),
            kind: "manual",
            student_id: StudentId::new(1).unwrap(),
            due_at: due_at.to_owned(),
            status,
            attempts: 1,
            sent_at: (status == "sent").then(|| "2026-11-26T18:45:00Z".to_owned()),
            last_error: error.map(str::to_owned),
            subject: "Message de Mariam : Révise ce soir".to_owned(),
        }
    }

    #[test]
    fn actors_are_parsed_at_the_edge() {
        let student = |id| AsActor::Student(StudentId::new(id).unwrap());
        assert_eq!(parse_actor("student:1"), Ok(student(1)));
        assert_eq!(
            parse_actor("parent:10"),
            Ok(AsActor::Parent(ParentId::new(10).unwrap()))
        );
        assert_eq!(parse_actor("admin"), Ok(AsActor::Admin));
        for bad in [
            "teacher:1",
            "student",
            "student:",
            "student:x",
            "admin:1",
            "",
        ] {
            assert!(parse_actor(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_actor("parent:0")
                .unwrap_err()
                .contains("between 1 and")
        );
    }

    #[test]
    fn the_error_column_appears_only_when_needed() {
        let sent = [line("2026-11-26T18:00:00Z", "sent", None)];
        assert_eq!(
            history_table("student 1", &sent, 50),
            "History of student 1: 1 reminder, newest first\n\
             \n\
             DUE AT                KIND    STUDENT  STATUS  ATTEMPTS  SENT AT               SUBJECT\n\
             2026-11-26T18:00:00Z  manual  1        sent    1         2026-11-26T18:45:00Z  Message de Mariam : Révise ce soir\n"
        );
        let failed = [
            line(
                "2026-11-26T18:30:00Z",
                "failed",
                Some("550 5.1.1\nno such user"),
            ),
            line("2026-11-26T18:00:00Z", "sent", None),
        ];
        let text = history_table("all students", &failed, 2);
        assert!(
            text.starts_with(
                "History of all students: 2 reminders, newest first \
                 (the 2 newest: raise --limit to see more)\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("SUBJECT                             LAST ERROR\n"),
            "{text}"
        );
        assert!(
            text.contains("Révise ce soir  550 5.1.1 no such user\n"),
            "{text}"
        );
        assert!(text.ends_with("Révise ce soir  -\n"), "{text}");
    }

    #[test]
    fn an_empty_history_says_so() {
        assert_eq!(
            history_table("the children of parent 10", &[], 50),
            "History of the children of parent 10: 0 reminders, newest first\n\n\
             No reminder recorded.\n"
        );
    }
}
