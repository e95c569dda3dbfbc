//! The scenario format of RULES.md: a snapshot of a platform's data, read by `rappels plan`
//! and `rappels import`. Reading one validates everything, and every error names the
//! offending record (`students[3].timezone: unknown time zone "Europe/Pari"`).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::thread::{Scope, ScopedJoinHandle};

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer as _, Serialize};
use serde_json::value::RawValue;

use crate::domain::{
    IdIndex, ManualRequest, Parent, ReminderKey, Session, Student, StudentId, StudyPlan,
};
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

/// Why [`Scenario::from_reader`] gave no scenario: the reader failed, or what it gave is not
/// a valid scenario.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading failed.
    #[error(transparent)]
    Io(std::io::Error),
    /// The text is not a valid scenario.
    #[error(transparent)]
    Invalid(#[from] ScenarioError),
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
        // Editors on Windows often save UTF-8 with a byte order mark; it is no JSON value,
        // so it is skipped rather than reported as "expected value at line 1 column 1".
        let text = text.strip_prefix(BOM).unwrap_or(text);
        // The records of a big school are read on several cores; when that is not done or
        // fails, the document is read plainly, and an invalid one a second time, tracking the
        // path of every value (which costs a good part of the reading), to say which record
        // is at fault.
        let scenario = match read_in_parallel(text) {
            Some(scenario) => scenario,
            None => read_document(serde_json::Deserializer::from_str(text))
                .map_err(|_| locate_error(serde_json::Deserializer::from_str(text)))?,
        };
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads and validates a scenario from the JSON text of a reader, without holding the
    /// text: a school of a million students is several hundred megabytes of text, more than
    /// its records take once read. `open` gives the reader (buffered: it is read in small
    /// pieces); it is called a second time only for an invalid document, which is read again
    /// to say which record is at fault, as [`Scenario::from_json`] does (serde_json's reader
    /// may place the column of an error one character further, where it looked ahead).
    pub fn from_reader<R: io::Read>(
        mut open: impl FnMut() -> io::Result<R>,
    ) -> Result<Scenario, ReadError> {
        let mut open = || open().and_then(skip_bom);
        let first = serde_json::Deserializer::from_reader(open().map_err(ReadError::Io)?);
        let scenario = match read_document(first) {
            Ok(scenario) => scenario,
            Err(e) if e.is_io() => return Err(ReadError::Io(e.into())),
            Err(_) => {
                let again = open().map_err(ReadError::Io)?;
                return Err(locate_error(serde_json::Deserializer::from_reader(again)).into());
            }
        };
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
        let students = unique_ids("students", "student", &self.students, |s| s.id.get())?;
        unique_ids("parents", "parent", &self.parents, |p| p.id.get())?;
        unique_ids("sessions", "session", &self.sessions, |s| s.id.get())?;
        unique_ids("manual", "manual request", &self.manual, |m| m.id.get())?;
        unique_ids("study_plans", "study plan", &self.study_plans, |p| {
            p.id.get()
        })?;
        // The path is only written for the record at fault.
        let known = |path: &dyn Fn() -> String, id: StudentId| {
            if students
                .position(&self.students, id.get(), |s| s.id.get())
                .is_some()
            {
                Ok(())
            } else {
                Err(ScenarioError::at(path(), format!("no student has id {id}")))
            }
        };
        for (i, parent) in self.parents.iter().enumerate() {
            for (j, &child) in parent.children.iter().enumerate() {
                known(&|| format!("parents[{i}].children[{j}]"), child)?;
            }
        }
        for (i, session) in self.sessions.iter().enumerate() {
            known(&|| format!("sessions[{i}].student_id"), session.student_id)?;
        }
        for (i, plan) in self.study_plans.iter().enumerate() {
            known(&|| format!("study_plans[{i}].student_id"), plan.student_id)?;
        }
        Ok(())
    }
}

/// The UTF-8 byte order mark, which some editors write at the start of a file.
const BOM: char = '\u{feff}';

/// Reads past a leading UTF-8 byte order mark, giving back whatever else was read first.
fn skip_bom<R: io::Read>(mut reader: R) -> io::Result<impl io::Read> {
    let mut start = [0u8; 3];
    let mut read = 0;
    while read < start.len() {
        match reader.read(&mut start[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let kept = if start[..read] == *"\u{feff}".as_bytes() {
        0
    } else {
        read
    };
    Ok(io::Read::chain(
        io::Cursor::new(start[..kept].to_vec()),
        reader,
    ))
}

/// Reads a scenario with the other cores' help: the students, parents and sessions lists
/// met while another thread is free are kept as the text of each record and read on that
/// thread, while this one goes on through the document and reads the other lists itself.
/// `None` when anything is wrong: the caller reads the document again to say what.
fn read_in_parallel(text: &str) -> Option<Scenario> {
    let spare = std::thread::available_parallelism().map_or(0, |n| n.get() - 1);
    // Below a megabyte of text, starting a thread costs more than it saves.
    if spare == 0 || text.len() < 1 << 20 {
        return None;
    }
    std::thread::scope(|scope| {
        let mut de = serde_json::Deserializer::from_str(text);
        let parts = de.deserialize_map(Parts::outline(scope, spare)).ok()?;
        de.end().ok()?;
        Some(Scenario {
            settings: parts.settings.unwrap_or_default(),
            students: parts.students?.finish()?,
            parents: List::finish_or_empty(parts.parents)?,
            sessions: List::finish_or_empty(parts.sessions)?,
            manual: parts.manual.unwrap_or_default(),
            sent: parts.sent.unwrap_or_default(),
            study_plans: parts.study_plans.unwrap_or_default(),
        })
    })
}

/// A list of records: read, or being read on another thread.
enum List<'scope, T> {
    Read(Vec<T>),
    Reading(ScopedJoinHandle<'scope, Option<Vec<T>>>),
}

impl<T> List<'_, T> {
    fn finish(self) -> Option<Vec<T>> {
        match self {
            List::Read(records) => Some(records),
            List::Reading(thread) => thread.join().ok()?,
        }
    }

    fn finish_or_empty(list: Option<Self>) -> Option<Vec<T>> {
        list.map_or(Some(Vec::new()), List::finish)
    }

    fn is_being_read(&self) -> bool {
        matches!(self, List::Reading(thread) if !thread.is_finished())
    }
}

/// The fields of a scenario document as [`read_in_parallel`] reads them: those of
/// [`Scenario`], each at most once, and no other (what it refuses is read again plainly).
struct Parts<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    spare_threads: usize,
    settings: Option<Settings>,
    students: Option<List<'scope, Student>>,
    parents: Option<List<'scope, Parent>>,
    sessions: Option<List<'scope, Session>>,
    manual: Option<Vec<ManualRequest>>,
    sent: Option<Vec<ReminderKey>>,
    study_plans: Option<Vec<StudyPlan>>,
}

impl<'scope, 'env> Parts<'scope, 'env> {
    fn outline(scope: &'scope Scope<'scope, 'env>, spare_threads: usize) -> Self {
        Parts {
            scope,
            spare_threads,
            settings: None,
            students: None,
            parents: None,
            sessions: None,
            manual: None,
            sent: None,
            study_plans: None,
        }
    }

    /// True when a thread is free to read a list.
    fn has_a_free_thread(&self) -> bool {
        let busy = [
            self.students.as_ref().is_some_and(List::is_being_read),
            self.parents.as_ref().is_some_and(List::is_being_read),
            self.sessions.as_ref().is_some_and(List::is_being_read),
        ];
        busy.iter().filter(|&&b| b).count() < self.spare_threads
    }

    /// The next value of `map`, a list of records: read here, or kept as text and read on
    /// a free thread.
    fn list<'de: 'scope, T, A>(&self, map: &mut A) -> Result<List<'scope, T>, A::Error>
    where
        T: DeserializeOwned + Send + 'scope,
        A: MapAccess<'de>,
    {
        if !self.has_a_free_thread() {
            return map.next_value().map(List::Read);
        }
        let raw: Vec<&'de RawValue> = map.next_value()?;
        Ok(List::Reading(self.scope.spawn(move || {
            // Allocated at its final size: growing a vector copies it.
            let mut records = Vec::with_capacity(raw.len());
            for record in raw {
                records.push(serde_json::from_str(record.get()).ok()?);
            }
            Some(records)
        })))
    }
}

/// Stores a field's value, refusing a second one.
fn once<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

impl<'de: 'scope, 'scope, 'env> Visitor<'de> for Parts<'scope, 'env> {
    type Value = Self;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scenario")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "settings" => once(&mut self.settings, "settings", map.next_value()?)?,
                "students" => {
                    let list = self.list(&mut map)?;
                    once(&mut self.students, "students", list)?;
                }
                "parents" => {
                    let list = self.list(&mut map)?;
                    once(&mut self.parents, "parents", list)?;
                }
                "sessions" => {
                    let list = self.list(&mut map)?;
                    once(&mut self.sessions, "sessions", list)?;
                }
                "manual" => once(&mut self.manual, "manual", map.next_value()?)?,
                "sent" => once(&mut self.sent, "sent", map.next_value()?)?,
                "study_plans" => once(&mut self.study_plans, "study_plans", map.next_value()?)?,
                other => return Err(de::Error::unknown_field(other, &[])),
            }
        }
        Ok(self)
    }
}

/// One scenario document, and nothing after it but white space.
fn read_document<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> serde_json::Result<Scenario> {
    let scenario = Scenario::deserialize(&mut de)?;
    de.end()?;
    Ok(scenario)
}

/// Reads an invalid document again, tracking the path of every value, and returns its first
/// error with the path of the record where it lies.
fn locate_error<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> ScenarioError {
    match serde_path_to_error::deserialize::<_, Scenario>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            // serde_path_to_error writes "." for the document root.
            let path = if path == "." { String::new() } else { path };
            ScenarioError::at(path, e.into_inner().to_string())
        }
        Ok(_) => match de.end() {
            Err(e) => ScenarioError::at("", e.to_string()),
            // Both readings run the same code on the same text, so this is unreachable
            // short of a bug; it still says something true.
            Ok(()) => ScenarioError::at("", "the document could not be read"),
        },
    }
}

/// Checks that no two records of `list` share an id, and returns the index of their ids.
/// Increasing ids (the usual export order) are unique by construction; only other orders
/// are checked with a map, which finds the first repeated id in list order.
fn unique_ids<T>(
    list: &str,
    what: &str,
    records: &[T],
    key: impl Fn(&T) -> i64,
) -> Result<IdIndex, ScenarioError> {
    let index = IdIndex::new(records, &key);
    if index.is_increasing() {
        return Ok(index);
    }
    let mut first_seen = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        let id = key(record);
        if let Some(first) = first_seen.insert(id, i) {
            return Err(ScenarioError::at(
                format!("{list}[{i}].id"),
                format!("duplicate {what} id {id} (also {list}[{first}])"),
            ));
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{ "students": [
        { "id": 1, "first_name": "Awa", "email": "awa@example.org",
          "account_active": true, "subscription_active": true } ] }"#;

    /// The error of an invalid scenario, which reading from text and from a reader agree on
    /// (but for the column: serde_json's reader counts the character it looked ahead at).
    fn error_of(json: &str) -> String {
        let from_text = Scenario::from_json(json).unwrap_err().to_string();
        let from_reader = Scenario::from_reader(|| Ok(json.as_bytes())).unwrap_err();
        assert!(matches!(from_reader, ReadError::Invalid(_)));
        let before_column = |e: &str| e.split(" column ").next().unwrap_or_default().to_owned();
        assert_eq!(
            before_column(&from_reader.to_string()),
            before_column(&from_text)
        );
        from_text
    }

    /// A scenario big enough to be read on several threads.
    fn big() -> Scenario {
        let base = crate::domain::parse_instant("2026-11-26T00:00:00Z").unwrap();
        crate::testing::synthetic_platform(9000, base)
    }

    #[test]
    fn a_big_scenario_reads_the_same_in_every_way() {
        let scenario = big();
        let json = scenario.to_json();
        assert_eq!(Scenario::from_json(&json).unwrap(), scenario);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores > 1 {
            assert_eq!(read_in_parallel(&json), Some(scenario.clone()));
        }
        let read = Scenario::from_reader(|| Ok(json.as_bytes())).unwrap();
        assert_eq!(read, scenario);
    }

    #[test]
    fn the_order_of_the_fields_does_not_matter() {
        let scenario = big();
        let json = serde_json::json!({
            "sessions": scenario.sessions,
            "sent": [],
            "students": scenario.students,
            "settings": scenario.settings,
            "parents": [],
        });
        let read = Scenario::from_json(&json.to_string()).unwrap();
        assert_eq!(read, scenario);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores > 1 {
            assert_eq!(read_in_parallel(&json.to_string()), Some(scenario));
        }
        let twice = r#"{ "students": [], "parents": [], "students": [] }"#;
        assert!(
            error_of(twice).contains("duplicate field `students`"),
            "{}",
            error_of(twice)
        );
    }

    #[test]
    fn errors_in_a_big_scenario_name_the_record() {
        let json = big().to_json();
        let at = json.find("\"id\": 4321,").unwrap();
        let mut bad = json.clone();
        bad.insert_str(at, "\"timezone\": \"Europe/Pari\", ");
        let err = error_of(&bad);
        assert!(
            err.starts_with("students[4320].timezone: unknown time zone \"Europe/Pari\" at line"),
            "{err}"
        );
        let mut bad = json.clone();
        bad.insert_str(at, "\"emial\": 1, ");
        assert!(
            error_of(&bad).starts_with("students[4320]"),
            "{}",
            error_of(&bad)
        );
        let truncated = &json[..json.len() / 2];
        assert!(
            error_of(truncated).contains("EOF"),
            "{}",
            error_of(truncated)
        );
    }

    #[test]
    fn a_reader_that_fails_is_not_an_invalid_scenario() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = Scenario::from_reader(|| Ok(Broken)).unwrap_err();
        assert!(matches!(err, ReadError::Io(_)), "{err:?}");
        assert_eq!(err.to_string(), "disk on fire");
        let err =
            Scenario::from_reader(|| Err::<&[u8], _>(io::Error::other("no file"))).unwrap_err();
        assert!(matches!(err, ReadError::Io(_)), "{err:?}");
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
    fn text_limits_and_durations_name_the_field() {
        let long_name = MINIMAL.replace(
            "\"id\": 1,",
            &format!("\"id\": 1, \"last_name\": \"{}\",", "é".repeat(101)),
        );
        let err = error_of(&long_name);
        assert!(
            err.starts_with("students[0].last_name: longer than 100 characters"),
            "{err}"
        );
        // 100 characters of two bytes each are within the limit: characters are counted.
        let ok = MINIMAL.replace(
            "\"id\": 1,",
            &format!("\"id\": 1, \"last_name\": \"{}\",", "é".repeat(100)),
        );
        assert!(Scenario::from_json(&ok).is_ok());
        let with_session = |session: &str| {
            MINIMAL.trim_end().trim_end_matches('}').to_string()
                + &format!(", \"sessions\": [{session}] }}")
        };
        let session = |extra: &str| {
            format!(
                r#"{{ "id": 100, "student_id": 1, "subject": "Maths", "starts_at": "2026-11-27T14:00:00Z"{extra} }}"#
            )
        };
        assert!(Scenario::from_json(&with_session(&session(""))).is_ok());
        let err = error_of(&with_session(&session(r#", "duration_minutes": 0"#)));
        assert!(err.starts_with("sessions[0].duration_minutes: "), "{err}");
        assert!(err.contains("positive"), "{err}");
        let long_subject = format!(r#", "objective": "{}""#, "x".repeat(1001));
        let err = error_of(&with_session(&session(&long_subject)));
        assert!(
            err.starts_with("sessions[0].objective: longer than 1000 characters"),
            "{err}"
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        let with_bom = format!("\u{feff}{MINIMAL}");
        assert_eq!(
            Scenario::from_json(&with_bom).unwrap(),
            Scenario::from_json(MINIMAL).unwrap()
        );
        let read = Scenario::from_reader(|| Ok(with_bom.as_bytes())).unwrap();
        assert_eq!(read, Scenario::from_json(MINIMAL).unwrap());
        // Short documents and ones without a mark are read whole.
        assert!(Scenario::from_reader(|| Ok(&b"{"[..])).is_err());
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
