//! The scenario format of RULES.md: a snapshot of a platform's data, read by `rappels plan`
//! and `rappels import`. Reading one validates everything, and every error names the
//! offending record (`students[3].timezone: unknown time zone "Europe/Pari"`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::domain::{ManualRequest, Parent, ReminderKey, Session, Student, StudentId, StudyPlan};
use crate::settings::Settings;

/// A whole scenario: settings, records and the history of what was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Settings (every one has a default).
    #[serde(default)]
    pub settings: Settings,
    /// Students.
    pub students: Vec<Student>,
    /// Parents.
    #[serde(default)]
    pub parents: Vec<Parent>,
    /// Revision sessions.
    #[serde(default)]
    pub sessions: Vec<Session>,
    /// Manual reminder requests.
    #[serde(default)]
    pub manual: Vec<ManualRequest>,
    /// Keys of reminders already sent; they may name records that no longer exist.
    #[serde(default)]
    pub sent: Vec<ReminderKey>,
    /// Weekly study plans (ignored by `plan`, used by `schedule-sessions`).
    #[serde(default)]
    pub study_plans: Vec<StudyPlan>,
}

/// An invalid scenario: where (a record path such as `students[3].timezone`, or empty for
/// the document itself) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ScenarioError {
    /// The 0-based path of the offending record or field.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl ScenarioError {
    fn at(path: impl fmt::Display, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

impl Scenario {
    /// Reads and validates a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            // serde_path_to_error writes "." for the document root.
            let path = if path == "." { String::new() } else { path };
            ScenarioError::at(path, e.into_inner().to_string())
        })?;
        de.end().map_err(|e| ScenarioError::at("", e.to_string()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Writes the scenario as pretty JSON, in the format [`Scenario::from_json`] reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario always serialises")
    }

    /// Checks what field types cannot: ids unique per record kind, and references to
    /// students that exist. (`sent` entries and manual requests may name missing records:
    /// history outlives data, and unknown ids in requests are rejections, not input errors.)
    pub fn validate(&self) -> Result<(), ScenarioError> {
        unique_ids("students", "student", self.students.iter().map(|s| s.id))?;
        unique_ids("parents", "parent", self.parents.iter().map(|p| p.id))?;
        unique_ids("sessions", "session", self.sessions.iter().map(|s| s.id))?;
        unique_ids("manual", "manual request", self.manual.iter().map(|m| m.id))?;
        unique_ids(
            "study_plans",
            "study plan",
            self.study_plans.iter().map(|p| p.id),
        )?;
        let students: HashSet<StudentId> = self.students.iter().map(|s| s.id).collect();
        let known = |path: String, id: StudentId| {
            if students.contains(&id) {
                Ok(())
            } else {
                Err(ScenarioError::at(path, format!("no student has id {id}")))
            }
        };
        for (i, parent) in self.parents.iter().enumerate() {
            for (j, &child) in parent.children.iter().enumerate() {
                known(format!("parents[{i}].children[{j}]"), child)?;
            }
        }
        for (i, session) in self.sessions.iter().enumerate() {
            known(format!("sessions[{i}].student_id"), session.student_id)?;
        }
        for (i, plan) in self.study_plans.iter().enumerate() {
            known(format!("study_plans[{i}].student_id"), plan.student_id)?;
        }
        Ok(())
    }
}

fn unique_ids<I: Hash + Eq + Copy + fmt::Display>(
    list: &str,
    what: &str,
    ids: impl Iterator<Item = I>,
) -> Result<(), ScenarioError> {
    let mut first_seen = HashMap::new();
    for (i, id) in ids.enumerate() {
        if let Some(first) = first_seen.insert(id, i) {
            return Err(ScenarioError::at(
                format!("{list}[{i}].id"),
                format!("duplicate {what} id {id} (also {list}[{first}])"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{ "students": [
        { "id": 1, "first_name": "Awa", "email": "awa@example.org",
          "account_active": true, "subscription_active": true } ] }"#;

    fn error_of(json: &str) -> String {
        Scenario::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn minimal_scenario_gets_the_defaults() {
        let s = Scenario::from_json(MINIMAL).unwrap();
        assert_eq!(s.settings, Settings::default());
        let st = &s.students[0];
        assert_eq!(st.last_name, "");
        assert_eq!(st.timezone, None);
        assert_eq!(st.locale, crate::domain::Locale::Fr);
        assert!(st.opt_out.is_empty());
        assert!(s.parents.is_empty() && s.sessions.is_empty() && s.manual.is_empty());
    }

    #[test]
    fn students_are_required_and_unknown_fields_refused() {
        assert!(error_of("{}").contains("students"));
        let err = error_of(r#"{ "students": [], "extra": 1 }"#);
        assert!(err.contains("extra"), "{err}");
        let err = error_of(&MINIMAL.replace("\"id\": 1,", "\"id\": 1, \"emial\": \"x@y.z\","));
        assert!(err.starts_with("students[0]"), "{err}");
        assert!(err.contains("emial"), "{err}");
    }

    #[test]
    fn errors_name_the_record() {
        let bad_zone = MINIMAL.replace("\"id\": 1,", "\"id\": 1, \"timezone\": \"Europe/Pari\",");
        // serde_json adds where in the text the record is.
        let err = error_of(&bad_zone);
        assert!(
            err.starts_with("students[0].timezone: unknown time zone \"Europe/Pari\" at line 2"),
            "{err}"
        );
        let bad_locale = MINIMAL.replace("\"id\": 1,", "\"id\": 1, \"locale\": \"de\",");
        assert!(error_of(&bad_locale).starts_with("students[0].locale"));
        let bad_opt_out = MINIMAL.replace(
            "\"id\": 1,",
            "\"id\": 1, \"opt_out\": [\"weekly\", \"sms\"],",
        );
        assert!(error_of(&bad_opt_out).starts_with("students[0].opt_out[1]"));
        let bad_id = MINIMAL.replace("\"id\": 1,", "\"id\": 0,");
        assert!(error_of(&bad_id).starts_with("students[0].id"));
    }

    #[test]
    fn references_and_duplicates() {
        let two = r#"{ "students": [
            { "id": 1, "first_name": "A", "email": "a@example.org", "account_active": true, "subscription_active": true },
            { "id": 1, "first_name": "B", "email": "b@example.org", "account_active": true, "subscription_active": true } ] }"#;
        assert_eq!(
            error_of(two),
            "students[1].id: duplicate student id 1 (also students[0])"
        );
        let dangling = MINIMAL.replace(
            "] }",
            r#"], "sessions": [ { "id": 5, "student_id": 42, "subject": "SVT", "starts_at": "2026-11-27T10:00:00+01:00" } ] }"#,
        );
        assert_eq!(
            error_of(&dangling),
            "sessions[0].student_id: no student has id 42"
        );
        let child = MINIMAL.replace(
            "] }",
            r#"], "parents": [ { "id": 5, "first_name": "M", "email": "m@example.org", "children": [1, 77] } ] }"#,
        );
        assert_eq!(
            error_of(&child),
            "parents[0].children[1]: no student has id 77"
        );
    }

    #[test]
    fn sent_history_may_name_missing_records_but_must_be_well_formed() {
        let ok = MINIMAL.replace(
            "] }",
            r#"], "sent": [ { "student_id": 9, "kind": "weekly", "slot_date": "2026-11-22" }, { "manual_id": 499 } ] }"#,
        );
        assert_eq!(Scenario::from_json(&ok).unwrap().sent.len(), 2);
        let bad = MINIMAL.replace("] }", r#"], "sent": [ { "student_id": 9, "kind": "session_eve", "slot_date": "2026-11-22" } ] }"#);
        assert!(error_of(&bad).starts_with("sent[0]"), "{}", error_of(&bad));
    }

    #[test]
    fn not_json_and_trailing_garbage() {
        assert!(error_of("{\"students\": [ {\"id\": 1,").contains("line 1"));
        assert!(error_of(&format!("{MINIMAL} x")).contains("trailing"));
    }
}
