//! What commands print: a plan as RULES.md's JSON or a table for people, tables, and
//! progress bars on a terminal.

use std::fmt::Write as _;
use std::io::{BufWriter, ErrorKind, Write};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rappels_core::domain::{ManualId, SessionId, StudentId, format_instant};
use rappels_core::plan::{DueReminder, Plan};
use serde::Serialize;
use serde_json::ser::Formatter;

/// One due reminder as RULES.md prints it, borrowing from the plan.
#[derive(Debug, Serialize)]
struct DueLine<'a> {
    kind: &'static str,
    student_id: StudentId,
    session_id: Option<SessionId>,
    manual_id: Option<ManualId>,
    slot_date: &'a str,
    due_at: &'a str,
    to: &'a str,
    subject: Option<String>,
}

/// One refused manual request.
#[derive(Debug, Serialize)]
struct RejectedLine {
    manual_id: ManualId,
    reason: &'static str,
}

/// How many due reminders are rendered and written at a time: enough to share the work
/// between threads, few enough that a million-reminder plan is never held as text.
const LINE_BATCH: usize = 4096;

/// The whole `rappels plan` output as RULES.md's JSON object, written exactly as
/// `serde_json::to_writer_pretty` writes a struct `{ at, due, rejected }`. `subjects`
/// renders the subjects of a batch of due reminders (in order). Batches of lines are
/// rendered and serialized on other threads while this one writes the earlier ones, so the
/// printed plan is never held in memory and the work, mostly rendering, is shared between
/// the cores.
pub(crate) struct PlanJson<'a, F> {
    plan: &'a Plan,
    subjects: F,
}

impl<'a, F: Fn(&[DueReminder]) -> Vec<Option<String>> + Sync> PlanJson<'a, F> {
    pub(crate) fn new(plan: &'a Plan, subjects: F) -> Self {
        PlanJson { plan, subjects }
    }

    /// Writes the plan, followed by a line break, on standard output.
    pub(crate) fn emit(&self) -> Result<(), crate::failure::Failure> {
        emit_with(|out| self.write(out))
    }

    /// Drives serde_json's pretty formatter by hand, as its serializer would for the
    /// struct, so that the `due` lines serialized elsewhere are copied in where they go.
    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut f = Pretty::default();
        f.begin_object(out)?;
        field(out, &mut f, true, "at", &format_instant(self.plan.at))?;
        f.begin_object_key(out, false)?;
        write_value(out, &f, "due")?;
        f.end_object_key(out)?;
        f.begin_object_value(out)?;
        f.begin_array(out)?;
        self.write_due_lines(out)?;
        if !self.plan.due.is_empty() {
            f.end_array_value(out)?;
        }
        f.end_array(out)?;
        f.end_object_value(out)?;
        let rejected: Vec<RejectedLine> = self
            .plan
            .rejected
            .iter()
            .map(|r| RejectedLine {
                manual_id: r.manual_id,
                reason: r.reason.as_str(),
            })
            .collect();
        field(out, &mut f, false, "rejected", &rejected)?;
        f.end_object(out)?;
        out.write_all(b"\n")
    }

    fn write_due_lines(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let batches: Vec<&[DueReminder]> = self.plan.due.chunks(LINE_BATCH).collect();
        let lines = |k: usize, texts: &mut LineTexts| {
            let batch = batches[k];
            texts.lines(batch, (self.subjects)(batch), k == 0)
        };
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(batches.len());
        if workers < 2 {
            let mut texts = LineTexts::default();
            for k in 0..batches.len() {
                out.write_all(&lines(k, &mut texts)?)?;
            }
            return Ok(());
        }
        // Worker `w` does batches `w`, `w + workers`… in order, one batch ahead at most, so
        // taking batch `k` from worker `k % workers` gives them all in order.
        std::thread::scope(|scope| {
            let done: Vec<_> = (0..workers)
                .map(|w| {
                    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
                    let lines = &lines;
                    let count = batches.len();
                    scope.spawn(move || {
                        let mut texts = LineTexts::default();
                        for k in (w..count).step_by(workers) {
                            // The writer has stopped (a failed write): so does the worker.
                            if sender.send(lines(k, &mut texts)).is_err() {
                                break;
                            }
                        }
                    });
                    receiver
                })
                .collect();
            for k in 0..batches.len() {
                let bytes = done[k % workers]
                    .recv()
                    .map_err(|_| std::io::Error::other("a thread writing the plan stopped"))??;
                out.write_all(&bytes)?;
            }
            Ok(())
        })
    }
}

/// serde_json's `PrettyFormatter` with its default two-space indentation, writing each line
/// break and its indentation at once rather than one level at a time: a big plan has
/// millions of them. The `due` lines are serialized starting from a copy of it.
#[derive(Debug, Clone, Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// A line break, then two spaces per level.
    fn new_line<W: ?Sized + Write>(&self, writer: &mut W, comma: bool) -> std::io::Result<()> {
        const BREAK: &[u8] = b",\n                                                                ";
        let start = if comma { 0 } else { 1 };
        let end = 2 + 2 * self.depth;
        match BREAK.get(start..end) {
            Some(line) => writer.write_all(line),
            None => {
                writer.write_all(&BREAK[start..2])?;
                (0..self.depth).try_for_each(|_| writer.write_all(b"  "))
            }
        }
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer, false)?;
        }
        writer.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.new_line(writer, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer, false)?;
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.new_line(writer, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// One field of an object, as serde_json's serializer writes it with the formatter `f`.
fn field(
    out: &mut dyn Write,
    f: &mut Pretty,
    first: bool,
    name: &str,
    value: &impl Serialize,
) -> std::io::Result<()> {
    f.begin_object_key(out, first)?;
    write_value(out, f, name)?;
    f.end_object_key(out)?;
    f.begin_object_value(out)?;
    write_value(out, f, value)?;
    f.end_object_value(out)
}

/// Serializes `value` where the formatter `f` stands: a copy of it carries the depth.
fn write_value(
    out: &mut dyn Write,
    f: &Pretty,
    value: &(impl Serialize + ?Sized),
) -> std::io::Result<()> {
    value
        .serialize(&mut serde_json::Serializer::with_formatter(out, f.clone()))
        .map_err(std::io::Error::from)
}

/// Serializes due lines as they stand in the document, and keeps the date and instant texts
/// of the last line: a plan is sorted by due time and most reminders share a few due times
/// and slot dates, so each is formatted once.
#[derive(Default)]
struct LineTexts {
    slot_date: Option<(NaiveDate, String)>,
    due_at: Option<(DateTime<Utc>, String)>,
}

impl LineTexts {
    /// The lines of `batch`, each preceded by its separator (`first`: the batch starts the
    /// list).
    fn lines(
        &mut self,
        batch: &[DueReminder],
        subjects: Vec<Option<String>>,
        first: bool,
    ) -> std::io::Result<Vec<u8>> {
        let mut f = Pretty::default();
        // The lines sit two levels deep: in the document's object, in its `due` list.
        f.begin_object(&mut std::io::sink())?;
        f.begin_array(&mut std::io::sink())?;
        let mut out = Vec::with_capacity(batch.len() * 320);
        for (k, (due, subject)) in batch.iter().zip(subjects).enumerate() {
            if self
                .slot_date
                .as_ref()
                .is_none_or(|(d, _)| *d != due.slot_date)
            {
                self.slot_date = Some((due.slot_date, due.slot_date.to_string()));
            }
            if self.due_at.as_ref().is_none_or(|(t, _)| *t != due.due_at) {
                self.due_at = Some((due.due_at, format_instant(due.due_at)));
            }
            f.begin_array_value(&mut out, first && k == 0)?;
            write_value(
                &mut out,
                &f,
                &DueLine {
                    kind: due.kind().as_str(),
                    student_id: due.student,
                    session_id: due.key.session(),
                    manual_id: due.key.manual(),
                    slot_date: cached_text(&self.slot_date),
                    due_at: cached_text(&self.due_at),
                    to: due.to.as_ref(),
                    subject,
                },
            )?;
            f.end_array_value(&mut out)?;
        }
        Ok(out)
    }
}

fn cached_text<T>(cached: &Option<(T, String)>) -> &str {
    cached.as_ref().map_or("", |(_, text)| text.as_str())
}

/// The plan as a table for people: one line per due reminder, then the refused requests.
/// Column widths depend on every line, so the lines are gathered first.
pub(crate) fn plan_table(plan: &Plan, subjects: Vec<Option<String>>) -> String {
    let mut rows = vec![[
        "DUE AT".to_owned(),
        "KIND".to_owned(),
        "STUDENT".to_owned(),
        "SESSION/REQUEST".to_owned(),
        "SLOT DATE".to_owned(),
        "TO".to_owned(),
        "SUBJECT".to_owned(),
    ]];
    for (due, subject) in plan.due.iter().zip(subjects) {
        let reference = match (due.key.session(), due.key.manual()) {
            (Some(s), _) => format!("session {s}"),
            (_, Some(m)) => format!("request {m}"),
            _ => "-".to_owned(),
        };
        rows.push([
            format_instant(due.due_at),
            due.kind().as_str().to_owned(),
            due.student.to_string(),
            reference,
            due.slot_date.to_string(),
            due.to.to_string(),
            subject.unwrap_or_default(),
        ]);
    }
    let mut out = format!(
        "Plan at {}: {} due\n\n",
        format_instant(plan.at),
        plan.due.len()
    );
    if plan.due.is_empty() {
        out.push_str("Nothing is due.\n");
    } else {
        out.push_str(&table(&rows));
    }
    if !plan.rejected.is_empty() {
        let _ = writeln!(out, "\nRefused manual requests:");
        for r in &plan.rejected {
            let _ = writeln!(out, "  request {}: {}", r.manual_id, r.reason.as_str());
        }
    }
    out
}

/// `text` with every control character (Unicode category Cc: ESC, CR, LF, TAB…) written as
/// a visible escape (`\u{1b}`), so that names and subjects from the database can neither
/// drive the terminal nor forge extra lines of output.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Left-aligned columns separated by two spaces, widths counted in characters; control
/// characters in cells are escaped ([`printable`]).
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.clone().map(|cell| printable(&cell).into_owned()))
        .collect();
    let mut widths = [0usize; N];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Prints `text` on standard output. A reader that went away (`rappels plan | head`) is not
/// an error: the rest is simply not printed, where `println!` would panic.
pub(crate) fn emit(text: &str) -> Result<(), crate::failure::Failure> {
    emit_with(|out| out.write_all(text.as_bytes()))
}

/// Lets `write` print on standard output through a buffer, with the same handling of a
/// reader that went away as [`emit`].
pub(crate) fn emit_with(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), crate::failure::Failure> {
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(crate::failure::Failure::Failed(
            anyhow::anyhow!("cannot write the output: {e}"),
        )),
        _ => Ok(()),
    }
}

/// A progress bar for long work (`import`, `run`), drawn with indicatif's `template`. It is
/// drawn on standard error, and only when that is a terminal (indicatif hides itself
/// otherwise), so pipes, cron mails and logs never see it; `--quiet` hides it too.
pub(crate) fn progress_bar(quiet: bool, template: &str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use rappels_core::domain::{
        EmailAddress, PeriodicKind, ReminderKey, SessionReminder, parse_instant,
    };
    use rappels_core::plan::RejectedRequest;
    use rappels_core::rules::Rejection;

    use super::*;

    /// The plan as it was printed before lines were written by hand: through serde.
    #[derive(Serialize)]
    struct Whole<'a> {
        at: String,
        due: Vec<DueLine<'a>>,
        rejected: Vec<RejectedLine>,
    }

    fn plan(due: usize, rejected: usize) -> Plan {
        let at = parse_instant("2026-11-29T19:00:00Z").unwrap();
        let due = (0..due)
            .map(|i| {
                let student = StudentId::new(i as i64 + 1).unwrap();
                let slot_date = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
                    - TimeDelta::days((i / 5000) as i64);
                let key = match i % 3 {
                    0 => ReminderKey::Periodic {
                        student,
                        kind: PeriodicKind::Weekly,
                        slot_date,
                    },
                    1 => ReminderKey::Session {
                        student,
                        day: SessionReminder::Eve,
                        session: SessionId::new(i as i64 + 100).unwrap(),
                        slot_date,
                    },
                    _ => ReminderKey::Manual(ManualId::new(i as i64 + 7).unwrap()),
                };
                DueReminder {
                    key,
                    student,
                    slot_date,
                    due_at: at + TimeDelta::milliseconds((i / 1000) as i64 * 250),
                    due_until: None,
                    to: EmailAddress::parse(format!("eleve{i}@example.org")).unwrap(),
                }
            })
            .collect();
        let rejected = (0..rejected)
            .map(|i| RejectedRequest {
                manual_id: ManualId::new(i as i64 + 1).unwrap(),
                reason: Rejection::NotYourChild,
            })
            .collect();
        Plan { at, due, rejected }
    }

    /// Some subjects are missing, some need escaping.
    fn subjects(batch: &[DueReminder]) -> Vec<Option<String>> {
        batch
            .iter()
            .map(|d| (d.student.get() % 4 != 0).then(|| format!("Sujet « {} » \"x\"\\", d.student)))
            .collect()
    }

    #[test]
    fn the_formatter_indents_as_serde_json_does_at_any_depth() {
        let mut value = serde_json::json!({ "a": [1, {}, [], "x"], "b": { "c": null } });
        for depth in 0..40 {
            value = serde_json::json!({ "depth": depth, "inner": [value, []] });
        }
        let mut ours = Vec::new();
        write_value(&mut ours, &Pretty::default(), &value).unwrap();
        let theirs = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), theirs);
    }

    #[test]
    fn the_plan_is_printed_as_serde_json_prints_it() {
        for (due, rejected) in [(0, 0), (0, 2), (1, 0), (4, 1), (2 * LINE_BATCH + 5, 3)] {
            let plan = plan(due, rejected);
            let mut printed = Vec::new();
            PlanJson::new(&plan, subjects).write(&mut printed).unwrap();
            let texts: Vec<(String, String)> = plan
                .due
                .iter()
                .map(|d| (d.slot_date.to_string(), format_instant(d.due_at)))
                .collect();
            let whole = Whole {
                at: format_instant(plan.at),
                due: plan
                    .due
                    .iter()
                    .zip(subjects(&plan.due))
                    .zip(&texts)
                    .map(|((d, subject), (slot_date, due_at))| DueLine {
                        kind: d.kind().as_str(),
                        student_id: d.student,
                        session_id: d.key.session(),
                        manual_id: d.key.manual(),
                        slot_date,
                        due_at,
                        to: d.to.as_ref(),
                        subject,
                    })
                    .collect(),
                rejected: plan
                    .rejected
                    .iter()
                    .map(|r| RejectedLine {
                        manual_id: r.manual_id,
                        reason: r.reason.as_str(),
                    })
                    .collect(),
            };
            let expected = format!("{}\n", serde_json::to_string_pretty(&whole).unwrap());
            assert_eq!(String::from_utf8(printed).unwrap(), expected, "{due} due");
        }
    }
}
