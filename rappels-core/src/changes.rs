//! The platform's changes as they happen, one JSON object a line: what `rappels ingest`
//! reads and a store's `apply_changes` applies, so a platform can keep rappels exact
//! without exporting the whole school.
//!
//! Each line is one change, named by its only key; records are those of the scenario
//! format (RULES.md), checked the same way:
//!
//! ```text
//! {"student": {"id": 1, "first_name": "Awa", …}}          add or replace a student
//! {"parent": {"id": 10, …, "children": [1]}}              add or replace a parent and their children
//! {"session": {"id": 100, "student_id": 1, …}}            add or replace (move, cancel) a session
//! {"study_plan": {"id": 7, "student_id": 1, …}}           add or replace a study plan
//! {"link": {"parent_id": 10, "student_id": 2}}            a parent gains a child
//! {"unlink": {"parent_id": 10, "student_id": 2}}          a parent loses a child
//! {"delete": {"session": 100}}                            also "student", "parent", "study_plan"
//! {"activity": {"student_id": 1, "at": "2026-11-26T17:02:00Z"}}   the student was active
//! ```
//!
//! Applying a change twice changes nothing the second time: records are replaced by id,
//! links are a set, a deletion of what is gone is reported as unknown, and an activity
//! only ever moves `last_activity_at` forward.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Parent, ParentId, Session, SessionId, Student, StudentId, StudyPlan, StudyPlanId, instant,
};

/// One change from the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Adds or replaces a student.
    Student(Student),
    /// Adds or replaces a parent, whose `children` replace their links.
    Parent(Parent),
    /// Adds or replaces a session (a move or a cancellation is a new version of it).
    Session(Session),
    /// Adds or replaces a study plan.
    StudyPlan(StudyPlan),
    /// A parent gains a child.
    Link(Link),
    /// A parent loses a child.
    Unlink(Link),
    /// A record deleted on the platform: it leaves the plan; the history of what was sent
    /// stays.
    Delete(Deletion),
    /// The student was active at an instant.
    Activity(Activity),
}

/// A parent–child link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The parent.
    pub parent_id: ParentId,
    /// The child.
    pub student_id: StudentId,
}

/// A deleted record, by kind and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Deletion {
    /// A student: with their sessions, study plans and links.
    Student(StudentId),
    /// A parent: with their links.
    Parent(ParentId),
    /// A session.
    Session(SessionId),
    /// A study plan.
    StudyPlan(StudyPlanId),
}

/// A student's activity (a login, a lesson opened): it resets their inactivity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Who.
    pub student_id: StudentId,
    /// When.
    #[serde(with = "instant")]
    pub at: DateTime<Utc>,
}

/// A line that is not a valid change: its number (from 1), where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ChangeError {
    /// The line, counted from 1.
    pub line: usize,
    /// The field at fault (`session.duration_minutes`), or empty for the line itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Reads line `line` (counted from 1) of a feed: `Ok(None)` for a blank line.
pub fn parse_line(text: &str, line: usize) -> Result<Option<Change>, ChangeError> {
    let text = text.trim();
    // A BOM on the first line of a file saved by a Windows editor.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.is_empty() {
        return Ok(None);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let change = serde_path_to_error::deserialize::<_, Change>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        ChangeError {
            line,
            path,
            message: without_position(&inner),
        }
    })?;
    de.end().map_err(|e| ChangeError {
        line,
        path: String::new(),
        message: format!("{}: one change a line", without_position(&e)),
    })?;
    Ok(Some(change))
}

/// serde_json's message without its " at line 1 column N": a feed line is one line, and
/// the caller names it.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// What applying one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The stored data was written: a record added or replaced, a link made or undone, a
    /// record deleted, an activity moved forward.
    Written,
    /// It was already so (a replayed line, an activity older than the one stored).
    Unchanged,
    /// It names a record that is not stored (a session of an unknown student, a deletion
    /// of what is gone): nothing was written. The text says which record.
    Unknown(String),
}

/// What applying a feed did, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Lines that wrote to the stored data.
    pub written: usize,
    /// Lines that found it already so.
    pub unchanged: usize,
    /// Lines naming records that are not stored: (line, which record).
    pub unknown: Vec<(usize, String)>,
}

impl ApplyReport {
    /// Counts what one line did.
    pub fn add(&mut self, line: usize, applied: Applied) {
        match applied {
            Applied::Written => self.written += 1,
            Applied::Unchanged => self.unchanged += 1,
            Applied::Unknown(what) => self.unknown.push((line, what)),
        }
    }

    /// Adds another report's counts (of later lines).
    pub fn extend(&mut self, other: ApplyReport) {
        self.written += other.written;
        self.unchanged += other.unchanged;
        self.unknown.extend(other.unknown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<Change>, ChangeError> {
        parse_line(text, 3)
    }

    #[test]
    fn each_kind_of_change_reads_from_its_key() {
        let activity = parse(r#"{"activity": {"student_id": 1, "at": "2026-11-26T17:02:00Z"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            activity,
            Change::Activity(Activity {
                student_id: StudentId::new(1).unwrap(),
                at: crate::domain::parse_instant("2026-11-26T17:02:00Z").unwrap(),
            })
        );
        assert_eq!(
            parse(r#"{"delete": {"session": 100}}"#).unwrap().unwrap(),
            Change::Delete(Deletion::Session(SessionId::new(100).unwrap()))
        );
        assert_eq!(
            parse(r#"{"unlink": {"parent_id": 10, "student_id": 2}}"#)
                .unwrap()
                .unwrap(),
            Change::Unlink(Link {
                parent_id: ParentId::new(10).unwrap(),
                student_id: StudentId::new(2).unwrap(),
            })
        );
        let session = r#"{"session": {"id": 100, "student_id": 1, "subject": "Maths",
            "objective": "Fractions", "starts_at": "2026-11-27T16:00:00Z",
            "duration_minutes": 60, "status": "cancelled"}}"#
            .replace('\n', " ");
        assert!(matches!(parse(&session), Ok(Some(Change::Session(_)))));
        assert_eq!(parse("   ").unwrap(), None);
    }

    #[test]
    fn a_bad_line_says_where_and_what() {
        let err = parse(r#"{"activity": {"student_id": 1, "at": "yesterday"}}"#).unwrap_err();
        assert_eq!((err.line, err.path.as_str()), (3, "activity.at"), "{err}");
        assert!(
            err.to_string().starts_with("line 3: activity.at: "),
            "{err}"
        );
        assert!(!err.to_string().contains("column"), "{err}");
        let err = parse(r#"{"session": {"id": 100, "student_id": 1, "subject": "Maths", "objective": "", "starts_at": "2026-11-27T16:00:00Z", "duration_minutes": 0, "status": "scheduled"}}"#).unwrap_err();
        assert_eq!(err.path, "session.duration_minutes", "{err}");
        let err = parse(r#"{"frobnicate": {}}"#).unwrap_err();
        assert!(err.message.contains("unknown variant"), "{err}");
        let err =
            parse(r#"{"delete": {"session": 100}} {"delete": {"session": 101}}"#).unwrap_err();
        assert!(err.message.contains("one change a line"), "{err}");
        let err = parse(r#"{"delete": {"session": -4}}"#).unwrap_err();
        assert_eq!(err.path, "delete.session", "{err}");
    }

    #[test]
    fn a_report_counts_each_line_once() {
        let mut report = ApplyReport::default();
        report.add(1, Applied::Written);
        report.add(2, Applied::Unchanged);
        report.add(3, Applied::Unknown("session 9".into()));
        let mut later = ApplyReport::default();
        later.add(4, Applied::Written);
        report.extend(later);
        assert_eq!((report.written, report.unchanged), (2, 1));
        assert_eq!(report.unknown, [(3, "session 9".to_owned())]);
    }
}
