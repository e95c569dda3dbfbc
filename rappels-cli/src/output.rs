//! What commands print: a plan as RULES.md's JSON or a table for people, tables, and
//! progress bars on a terminal.

use std::fmt::Write as _;
use std::io::{ErrorKind, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rappels_core::domain::{ManualId, SessionId, StudentId, format_instant};
use rappels_core::plan::Plan;
use serde::Serialize;

/// One due reminder as RULES.md prints it.
#[derive(Debug, Serialize)]
pub(crate) struct DueLine {
    kind: &'static str,
    student_id: StudentId,
    session_id: Option<SessionId>,
    manual_id: Option<ManualId>,
    slot_date: String,
    due_at: String,
    to: String,
    subject: Option<String>,
}

/// One refused manual request.
#[derive(Debug, Serialize)]
pub(crate) struct RejectedLine {
    manual_id: ManualId,
    reason: &'static str,
}

/// The whole `rappels plan` output.
#[derive(Debug, Serialize)]
pub(crate) struct PlanOutput {
    at: String,
    due: Vec<DueLine>,
    rejected: Vec<RejectedLine>,
}

impl PlanOutput {
    /// Builds the output of `plan`, with one subject per due reminder (in order).
    pub(crate) fn new(plan: &Plan, subjects: Vec<Option<String>>) -> Self {
        PlanOutput {
            at: format_instant(plan.at),
            due: plan
                .due
                .iter()
                .zip(subjects)
                .map(|(due, subject)| DueLine {
                    kind: due.kind().as_str(),
                    student_id: due.student,
                    session_id: due.key.session(),
                    manual_id: due.key.manual(),
                    slot_date: due.slot_date.to_string(),
                    due_at: format_instant(due.due_at),
                    to: due.to.to_string(),
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
        }
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plan output serialises")
    }

    /// A table for people: one line per due reminder, then the refused requests.
    pub(crate) fn to_table(&self) -> String {
        let mut rows = vec![[
            "DUE AT".to_owned(),
            "KIND".to_owned(),
            "STUDENT".to_owned(),
            "SESSION/REQUEST".to_owned(),
            "SLOT DATE".to_owned(),
            "TO".to_owned(),
            "SUBJECT".to_owned(),
        ]];
        for d in &self.due {
            let reference = match (d.session_id, d.manual_id) {
                (Some(s), _) => format!("session {s}"),
                (_, Some(m)) => format!("request {m}"),
                _ => "-".to_owned(),
            };
            rows.push([
                d.due_at.clone(),
                d.kind.to_owned(),
                d.student_id.to_string(),
                reference,
                d.slot_date.clone(),
                d.to.clone(),
                d.subject.clone().unwrap_or_default(),
            ]);
        }
        let mut out = format!("Plan at {}: {} due\n\n", self.at, self.due.len());
        if self.due.is_empty() {
            out.push_str("Nothing is due.\n");
        } else {
            out.push_str(&table(&rows));
        }
        if !self.rejected.is_empty() {
            let _ = writeln!(out, "\nRefused manual requests:");
            for r in &self.rejected {
                let _ = writeln!(out, "  request {}: {}", r.manual_id, r.reason);
            }
        }
        out
    }
}

/// Left-aligned columns separated by two spaces, widths counted in characters.
pub(crate) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
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
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
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
