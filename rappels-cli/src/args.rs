//! Values of command-line flags shared by several commands: instants (`--at`), ids
//! (`--student`, `--parent`), the clock `--at` stands for, and report formats.

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{ParentId, StudentId, parse_instant};

/// The line that names the first argument that is not UTF-8, its position and the option
/// before it, added to clap's message (which says only that one is not).
pub(crate) fn not_utf8(args: impl IntoIterator<Item = std::ffi::OsString>) -> String {
    let args: Vec<_> = args.into_iter().collect();
    let Some(position) = args.iter().position(|arg| arg.to_str().is_none()) else {
        return "error: an argument is not valid UTF-8".to_owned();
    };
    let shown = args[position].to_string_lossy();
    match position.checked_sub(1).and_then(|p| args[p].to_str()) {
        Some(option) if position > 1 && option.starts_with('-') => format!(
            "error: the value of {option} (argument {position}) is not valid UTF-8: {shown:?}"
        ),
        _ => format!("error: argument {position} is not valid UTF-8: {shown:?}"),
    }
}

/// Parses `--at` values for every command that takes one.
pub(crate) fn parse_at(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(raw).map_err(|e| e.to_string())
}

/// Parses a parent id (1 to 2^63 − 1).
pub(crate) fn parse_parent(raw: &str) -> Result<ParentId, String> {
    ParentId::new(parse_number(raw)?).map_err(|e| e.to_string())
}

/// Parses a student id (1 to 2^63 − 1), for every command that takes `--student`.
pub(crate) fn parse_student(raw: &str) -> Result<StudentId, String> {
    StudentId::new(parse_number(raw)?).map_err(|e| e.to_string())
}

fn parse_number(raw: &str) -> Result<i64, String> {
    raw.parse::<i64>()
        .map_err(|_| format!("{raw:?} is not a number"))
}

/// A clock stopped at one instant: what `--at` gives the service, which otherwise reads the
/// system's clock for "now".
#[derive(Debug, Clone, Copy)]
pub(crate) struct AtClock(DateTime<Utc>);

impl Clock for AtClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The clock of a command that takes `--at`: stopped at that instant, else the system's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CommandClock {
    /// No `--at`: the wall clock.
    System(SystemClock),
    /// `--at INSTANT`.
    At(AtClock),
}

impl CommandClock {
    /// The clock for an optional `--at`.
    pub(crate) fn new(at: Option<DateTime<Utc>>) -> CommandClock {
        match at {
            Some(at) => CommandClock::At(AtClock(at)),
            None => CommandClock::System(SystemClock),
        }
    }
}

impl Clock for CommandClock {
    fn now(&self) -> DateTime<Utc> {
        match self {
            CommandClock::System(clock) => clock.now(),
            CommandClock::At(clock) => clock.now(),
        }
    }
}

/// Output formats of `history` and `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// An aligned table for people.
    Table,
    /// JSON, for scripts.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_argument_that_is_not_utf8_is_named() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt as _;
        let args = |last: &[u8]| {
            ["rappels", "plan", "--db", "--at"]
                .map(OsString::from)
                .into_iter()
                .chain([OsString::from_vec(last.to_vec())])
        };
        assert_eq!(
            not_utf8(args(b"2026\xff")),
            "error: the value of --at (argument 4) is not valid UTF-8: \"2026\u{fffd}\""
        );
        let positional = ["rappels", "import"]
            .map(OsString::from)
            .into_iter()
            .chain([OsString::from_vec(b"\x80.json".to_vec())]);
        assert_eq!(
            not_utf8(positional),
            "error: argument 2 is not valid UTF-8: \"\u{fffd}.json\""
        );
    }

    #[test]
    fn the_clock_stops_at_the_given_instant() {
        let at = parse_instant("2026-11-26T19:00:00Z").unwrap();
        assert_eq!(CommandClock::new(Some(at)).now(), at);
        assert!(matches!(CommandClock::new(None), CommandClock::System(_)));
    }

    #[test]
    fn ids_are_positive_numbers() {
        assert_eq!(parse_parent("10").unwrap().get(), 10);
        assert_eq!(parse_student("x").unwrap_err(), "\"x\" is not a number");
        assert!(parse_student("0").is_err());
    }
}
