//! `rappels gen-scenario`: write a realistic synthetic school in the scenario format,
//! streamed record by record so that a million students need no more memory than ten.

use std::fs::File;
use std::io::{self, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::format_instant;
use rappels_core::rules::local_date;
use rappels_core::synthetic::{SyntheticSchool, monday_of_week};
use serde::Serialize;

use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Write a synthetic school in the scenario format of RULES.md, to try rappels at scale or to \
feed benchmarks: students in several zones on several continents (about half in Paris, some \
without a zone of their own), in French and English, some closed accounts, some without \
subscription, opt-outs of every kind, last activity spread over 40 days, about two sessions \
per student over the two weeks from the first Monday (between 08:00 and 21:00 local time, some \
cancelled, past ones mostly completed), parents with one to three children, study plans, and \
a few manual requests, some of which the rules refuse. Settings are the defaults.

The output is the same for the same --students, --seed and --from. It is written as it is \
generated, one record per line, so memory does not grow with --students: a million students \
take seconds and make a file of about 720 MB. With --out the file appears whole or not at all \
(it is written beside the target, then renamed).

The data is a snapshot taken on the first week's Sunday: plan it around that Sunday's weekly \
digest (20:00 in Paris) and the following Monday to see every kind of reminder.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels gen-scenario --students 1000 --from 2026-11-30 --out school.json
  rappels plan --scenario school.json --at 2026-12-06T20:00:00+01:00 --format table
  rappels gen-scenario --students 1000000 --seed 7 --out big.json
  rappels import big.json --database-url sqlite://big.db";

#[derive(Debug, Args)]
pub(crate) struct GenScenarioArgs {
    /// Number of students, at least 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    students: u32,
    /// Seed of the random draws: the same seed gives the same school.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// The Monday the sessions start on (default: this week's Monday in Paris).
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<NaiveDate>,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: GenScenarioArgs) -> Result<(), Failure> {
    let first_day = args.from.unwrap_or_else(|| {
        let today = local_date(SystemClock.now(), rappels_core::domain::Zone::default());
        monday_of_week(today)
    });
    let school = SyntheticSchool::new(args.students, args.seed, first_day)
        .map_err(|e| Failure::invalid(format_args!("--from: {e}")))?;
    let counts = match &args.out {
        Some(path) => write_file(&school, path)?,
        None => write_stdout(&school)?,
    };
    if let Some(counts) = counts {
        tracing::info!(
            students = counts.students,
            parents = counts.parents,
            sessions = counts.sessions,
            study_plans = counts.study_plans,
            manual = counts.manual,
            sent = counts.sent,
            "generated a school from {first_day}; its Sunday digest is at {}",
            format_instant(school.weekly_slot())
        );
    }
    Ok(())
}

/// Streams to standard output. A reader that went away (`| head`) is not an error: the rest
/// is simply not written, and nothing is counted.
fn write_stdout(school: &SyntheticSchool) -> Result<Option<Counts>, Failure> {
    let stdout = io::stdout().lock();
    // Standard output is line buffered; a large buffer in front of it makes one write per
    // megabyte instead of one per record.
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    match write_school(school, &mut out).and_then(|counts| out.flush().map(|()| counts)) {
        Ok(counts) => Ok(Some(counts)),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(None),
        Err(e) => Err(Failure::Failed(anyhow::anyhow!(
            "cannot write the output: {e}"
        ))),
    }
}

/// Writes to a temporary file beside `path`, then renames it over `path`, so that a failure
/// or an interruption never leaves half a school under that name.
fn write_file(school: &SyntheticSchool, path: &Path) -> Result<Option<Counts>, Failure> {
    let failed =
        |e: io::Error| Failure::Failed(anyhow::anyhow!("cannot write {}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| Failure::invalid(format_args!("--out {}: not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = File::create(&temporary).and_then(|file| {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let counts = write_school(school, &mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        Ok(counts)
    });
    match written {
        Ok(counts) => Ok(Some(counts)),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(failed(error))
        }
    }
}

/// How many records of each list were written.
#[derive(Debug, Default)]
struct Counts {
    students: u64,
    parents: u64,
    sessions: u64,
    study_plans: u64,
    manual: u64,
    sent: u64,
}

/// Writes the scenario as one JSON object, one record per line, each serialised on its own
/// by the domain types' serde implementations (so the format is exactly the one `plan` and
/// `import` read).
fn write_school(school: &SyntheticSchool, out: &mut impl Write) -> io::Result<Counts> {
    out.write_all(b"{\"settings\":")?;
    serde_json::to_writer(&mut *out, school.settings())?;
    Ok(Counts {
        students: write_list(out, "students", school.students())?,
        parents: write_list(out, "parents", school.parents())?,
        sessions: write_list(out, "sessions", school.sessions())?,
        study_plans: write_list(out, "study_plans", school.study_plans())?,
        manual: write_list(out, "manual", school.manual())?,
        sent: {
            let sent = write_list(out, "sent", school.sent())?;
            out.write_all(b"}\n")?;
            sent
        },
    })
}

/// Writes `,\n"name":[` then the records, one a line, then `]`; returns how many.
fn write_list<T: Serialize>(
    out: &mut impl Write,
    name: &str,
    records: impl Iterator<Item = T>,
) -> io::Result<u64> {
    write!(out, ",\n\"{name}\":[")?;
    let mut count = 0;
    for record in records {
        out.write_all(if count == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &record)?;
        count += 1;
    }
    out.write_all(if count == 0 { b"]" } else { b"\n]" })?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use rappels_core::scenario::Scenario;

    use super::*;

    #[test]
    fn the_streamed_text_is_the_schools_scenario() {
        let school = SyntheticSchool::new(150, 3, "2026-11-30".parse().unwrap()).unwrap();
        let mut text = Vec::new();
        let counts = write_school(&school, &mut text).unwrap();
        let read = Scenario::from_json(std::str::from_utf8(&text).unwrap()).unwrap();
        assert_eq!(read, school.scenario());
        assert_eq!(counts.students, 150);
        assert_eq!(counts.sessions, read.sessions.len() as u64);
        assert_eq!(counts.sent, read.sent.len() as u64);
    }

    #[test]
    fn an_empty_school_is_a_valid_scenario() {
        let school = SyntheticSchool::new(0, 3, "2026-11-30".parse().unwrap()).unwrap();
        let mut text = Vec::new();
        write_school(&school, &mut text).unwrap();
        let read = Scenario::from_json(std::str::from_utf8(&text).unwrap()).unwrap();
        assert!(read.students.is_empty());
    }
}
