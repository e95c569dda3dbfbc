//! `rappels ingest`: apply the platform's changes as they happen, one JSON object a line.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use clap::Args;
use rappels_core::changes::{ApplyReport, Change, ChangeError, parse_line};
use rappels_sqlx::{SqlError, SqlStore, check_change_storable};

use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::output::printable;

pub(crate) const LONG_ABOUT: &str = "\
Apply the platform's changes to the database as they happen: students, parents and their \
children, sessions and study plans added, changed or deleted, and students' activity. The \
input is JSON Lines, one change a line, its kind the only key (records in the scenario format \
of RULES.md):

  {\"student\": {\"id\": 1, \"first_name\": \"Awa\", …}}        add or replace a student
  {\"parent\": {\"id\": 10, …, \"children\": [1]}}            add or replace a parent and their children
  {\"session\": {\"id\": 100, \"student_id\": 1, …}}          add or replace (move, cancel) a session
  {\"study_plan\": {\"id\": 7, \"student_id\": 1, …}}         add or replace a study plan
  {\"link\": {\"parent_id\": 10, \"student_id\": 2}}          a parent gains a child
  {\"unlink\": {\"parent_id\": 10, \"student_id\": 2}}        a parent loses a child
  {\"delete\": {\"session\": 100}}                          or student, parent, study_plan
  {\"activity\": {\"student_id\": 1, \"at\": \"2026-11-26T17:02:00Z\"}}

Every line is checked first; a bad line is reported with its number and what is wrong. By \
default the good lines are applied and the bad ones reported (exit 2 if there is one); with \
--atomic any bad line means nothing is written. A line about a record the database does not \
hold (a session of an unknown student, a deletion of what is gone) is reported and skipped, \
not an error. Applying a feed again changes nothing: records are replaced by id, links are a \
set, and an activity only moves the last activity forward.

What changes reaches the next run: a reminder already recorded for a session since moved, \
cancelled or deleted, for a student who has been active since, or for a parent no longer \
linked to the child, is cancelled instead of sent.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels ingest changes.jsonl
  tail -n +1 changes.jsonl | rappels ingest -
  rappels ingest --atomic changes.jsonl      # all or nothing
  echo '{\"activity\": {\"student_id\": 1, \"at\": \"2026-11-26T17:02:00Z\"}}' | rappels ingest";

/// Lines applied per transaction without --atomic: a feed of any length is read, checked
/// and written a part at a time, so memory stays bounded and a long feed shows progress.
const PART: usize = 5_000;

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The changes, JSON Lines: a file, or `-` for standard input.
    #[arg(value_name = "FILE", default_value = "-")]
    file: PathBuf,
    /// All or nothing: if any line is bad, write nothing (the feed is held in memory).
    #[arg(long)]
    atomic: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: IngestArgs, config: &Config, quiet: bool) -> Result<(), Failure> {
    let name = if args.file.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        args.file.display().to_string()
    };
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| Failure::invalid(format_args!("cannot read {name}: {e}")))?,
        )
    };
    let mut lines = Lines::new(BufReader::new(input), &name);
    let url = args.database.url(config)?;
    let bar = crate::output::progress_bar(quiet, "ingesting {pos} lines");
    let started = std::time::Instant::now();
    let (report, bad) = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = async {
            let mut report = ApplyReport::default();
            let mut bad = Vec::new();
            if args.atomic {
                let mut all = Vec::new();
                while let Some(part) = lines.next_part(usize::MAX)? {
                    all.extend(part.good);
                    bad.extend(part.bad);
                }
                if bad.is_empty() {
                    report = apply(&store, &all).await?;
                }
                bar.set_position(lines.read as u64);
            } else {
                while let Some(part) = lines.next_part(PART)? {
                    report.extend(apply(&store, &part.good).await?);
                    bad.extend(part.bad);
                    bar.set_position(lines.read as u64);
                }
            }
            Ok::<_, Failure>((report, bad))
        }
        .await;
        store.close().await;
        result
    })?;
    bar.finish_and_clear();
    for (line, what) in &report.unknown {
        tracing::warn!(input = %name, line, "skipped: {}", printable(what));
    }
    tracing::info!(
        input = %name,
        %url,
        lines = lines.read,
        written = report.written,
        unchanged = report.unchanged,
        unknown = report.unknown.len(),
        bad = bad.len(),
        atomic = args.atomic,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ingested"
    );
    crate::output::emit(&summary(&report, bad.len(), args.atomic, &url.to_string()))?;
    if bad.is_empty() {
        return Ok(());
    }
    let mut message = String::new();
    for error in bad.iter().take(20) {
        let _ = writeln!(message, "{name}: {}", printable(&error.to_string()));
    }
    if bad.len() > 20 {
        let _ = writeln!(message, "… and {} more bad lines", bad.len() - 20);
    }
    let _ = write!(
        message,
        "{} bad line{} in {name}{}",
        bad.len(),
        if bad.len() == 1 { "" } else { "s" },
        if args.atomic {
            ": nothing was written (--atomic)"
        } else {
            ": the other lines were applied"
        }
    );
    Err(Failure::invalid(message))
}

async fn apply(store: &SqlStore, changes: &[(usize, Change)]) -> Result<ApplyReport, Failure> {
    if changes.is_empty() {
        return Ok(ApplyReport::default());
    }
    store
        .apply_changes(changes)
        .await
        .map_err(database::sql_failure)
}

/// `12 lines: 9 written, 2 unchanged, 1 about records not stored, 0 bad into URL`.
fn summary(report: &ApplyReport, bad: usize, atomic: bool, url: &str) -> String {
    let mut out = format!(
        "{} written, {} unchanged, {} about records not stored, {bad} bad",
        report.written,
        report.unchanged,
        report.unknown.len(),
    );
    if atomic && bad > 0 {
        out.push_str(" (nothing written: --atomic)");
    }
    let _ = writeln!(out, ", into {url}");
    for (line, what) in &report.unknown {
        let _ = writeln!(out, "  line {line}: skipped, {}", printable(what));
    }
    out
}

/// The lines of a feed, read a part at a time.
struct Lines<R> {
    reader: R,
    name: String,
    read: usize,
}

/// A part of a feed: its valid changes and its bad lines.
struct Part {
    good: Vec<(usize, Change)>,
    bad: Vec<ChangeError>,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R, name: &str) -> Self {
        Lines {
            reader,
            name: name.to_owned(),
            read: 0,
        }
    }

    /// Up to `size` lines, checked; `None` at the end of the feed.
    fn next_part(&mut self, size: usize) -> Result<Option<Part>, Failure> {
        let mut part = Part {
            good: Vec::new(),
            bad: Vec::new(),
        };
        let mut text = Vec::new();
        let mut taken = 0;
        while taken < size {
            text.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut text)
                .map_err(|e| Failure::invalid(format_args!("cannot read {}: {e}", self.name)))?;
            if n == 0 {
                break;
            }
            taken += 1;
            self.read += 1;
            let line = self.read;
            let checked = std::str::from_utf8(&text)
                .map_err(|_| ChangeError {
                    line,
                    path: String::new(),
                    message: "not UTF-8 text".to_owned(),
                })
                .and_then(|text| parse_line(text, line))
                .and_then(|change| match change {
                    Some(change) => match check_change_storable(&change) {
                        Ok(()) => Ok(Some(change)),
                        Err(SqlError::Unstorable { path, message }) => Err(ChangeError {
                            line,
                            path,
                            message,
                        }),
                        Err(other) => Err(ChangeError {
                            line,
                            path: String::new(),
                            message: other.to_string(),
                        }),
                    },
                    None => Ok(None),
                });
            match checked {
                Ok(Some(change)) => part.good.push((line, change)),
                Ok(None) => {}
                Err(error) => part.bad.push(error),
            }
        }
        Ok((taken > 0).then_some(part))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_is_read_in_parts_with_its_line_numbers() {
        let feed = "{\"delete\": {\"session\": 1}}\n\n{\"oops\": 1}\n{\"delete\": {\"parent\": 2}}";
        let mut lines = Lines::new(feed.as_bytes(), "feed");
        let first = lines.next_part(2).unwrap().unwrap();
        assert_eq!(first.good.len(), 1);
        assert_eq!(first.good[0].0, 1);
        assert!(first.bad.is_empty());
        let second = lines.next_part(2).unwrap().unwrap();
        assert_eq!(second.bad.len(), 1);
        assert_eq!(second.bad[0].line, 3);
        assert_eq!(second.good[0].0, 4);
        assert!(lines.next_part(2).unwrap().is_none());
        assert_eq!(lines.read, 4);
    }

    #[test]
    fn an_instant_finer_than_a_microsecond_is_a_bad_line_naming_its_field() {
        let feed = r#"{"activity": {"student_id": 1, "at": "2026-11-26T17:00:00.0000001Z"}}"#;
        let part = Lines::new(feed.as_bytes(), "feed")
            .next_part(10)
            .unwrap()
            .unwrap();
        assert!(part.good.is_empty());
        assert_eq!(
            part.bad[0].to_string(),
            "line 1: activity.at: fractions of a second finer than a microsecond cannot be stored"
        );
    }

    #[test]
    fn the_summary_lists_what_was_skipped() {
        let mut report = ApplyReport::default();
        report.add(1, rappels_core::changes::Applied::Written);
        report.add(
            2,
            rappels_core::changes::Applied::Unknown("no session 9".into()),
        );
        assert_eq!(
            summary(&report, 1, true, "sqlite://x.db"),
            "1 written, 0 unchanged, 1 about records not stored, 1 bad (nothing written: \
             --atomic), into sqlite://x.db\n  line 2: skipped, no session 9\n"
        );
    }
}
