//! `rappels remind`: a parent's manual reminder to their child, judged by the rules of
//! RULES.md and stored for the next run, or sent at once with `--send-now`. Also the clock of
//! the commands whose `--at` stands for "now".

use chrono::{DateTime, Utc};
use clap::Args;
use rappels_core::domain::{Kind, ManualId, ParentId, StudentId};
use rappels_core::message::Templates;
use rappels_core::ports::Mailer;
use rappels_core::service::{
    Reminders, RunOptions, RunReport, Sender, ServiceConfig, ServiceError,
};
use rappels_sqlx::{DatabaseUrl, SqlStore};

use crate::args::{CommandClock, parse_at, parse_parent, parse_student};
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail::{self, MailConfig};

pub(crate) const LONG_ABOUT: &str = "\
Record a parent's manual reminder to their child, under the rules of RULES.md: the parent \
and the student must exist, the student must be one of the parent's children and have an \
active account, the title must be 1 to 200 characters on one line (no line break, tab or \
other control character), the message 1 to 5000 characters, and the parent may send at most \
`manual_max_per_day` reminders (5 by default) to the same child per local day of the child. A \
refusal names the rule, exits with status 2 and writes nothing.

An accepted reminder is stored and goes out with the next `rappels run`. With `--send-now` it \
goes out at once: a run of manual reminders follows (every due manual reminder, and any \
reminder a failed attempt rescheduled), through the mailer of the environment (see \
`rappels help run`), and its summary line is printed.

`--at` makes the request as if it were that instant, for tests and for replaying a request \
that reached you late; the daily limit is counted on that instant's local day.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels remind --parent 10 --student 1 --title 'Révise ce soir' --message 'Courage pour demain !'
  RAPPELS_MAILER=smtp RAPPELS_SMTP_HOST=smtp.example.org \\
    rappels remind --parent 10 --student 1 --title 'Bravo' --message 'Bonne séance' --send-now
  rappels remind --parent 10 --student 1 --title T --message M --at 2026-11-26T19:00:00Z";

#[derive(Debug, Args)]
pub(crate) struct RemindArgs {
    /// The parent who sends the reminder.
    #[arg(long, value_name = "ID", value_parser = parse_parent)]
    parent: ParentId,
    /// The student who receives it: one of the parent's children.
    #[arg(long, value_name = "ID", value_parser = parse_student)]
    student: StudentId,
    /// Its title, one line of at most 200 characters.
    #[arg(long, value_name = "TITLE")]
    title: String,
    /// Its message, at most 5000 characters.
    #[arg(long, value_name = "MESSAGE")]
    message: String,
    /// Send it at once instead of with the next run.
    #[arg(long)]
    send_now: bool,
    /// Make the request as if it were this instant, RFC 3339 with an offset (default: now);
    /// for tests and replays.
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    at: Option<DateTime<Utc>>,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The service configuration of a run, as `rappels run` builds it from the mail settings.
struct SendConfig {
    mail: MailConfig,
    service: ServiceConfig,
    templates: Templates,
}

impl SendConfig {
    /// Reads and checks the mail variables. It is done before the request is judged, so that
    /// a typo in a variable does not leave behind a request the user believes was refused.
    fn read(config: &Config) -> Result<SendConfig, Failure> {
        let mail = MailConfig::read(config)?;
        // Manual reminders carry no unsubscribe link, but the run may also retry automatic
        // reminders, which must carry theirs exactly as `rappels run` would send them.
        let service = mail::service_config(config, &mail)?;
        Ok(SendConfig {
            mail,
            service,
            templates: config.templates()?,
        })
    }
}

pub(crate) fn run(args: RemindArgs, config: &Config) -> Result<(), Failure> {
    let send = if args.send_now {
        Some(SendConfig::read(config)?)
    } else {
        None
    };
    let clock = CommandClock::new(args.at);
    let url = args.database.url(config)?;
    database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = remind_on(&store, config, &args, clock, send, &url).await;
        store.close().await;
        result
    })
}

/// The request, then with `--send-now` the run, on an open store. The acceptance is printed
/// before the run starts, so that the request's id is known whatever happens to the sending.
async fn remind_on(
    store: &SqlStore,
    config: &Config,
    args: &RemindArgs,
    clock: CommandClock,
    send: Option<SendConfig>,
    url: &DatabaseUrl,
) -> Result<(), Failure> {
    database::settings_in_force(store, config).await?;
    let engine = Reminders::new(store.clone(), clock);
    let id = engine
        .request_manual(args.parent, args.student, &args.title, &args.message)
        .await
        .map_err(|error| {
            crate::failure::service_failure(
                error,
                format_args!("recording the manual reminder on {url}"),
            )
        })?;
    let accepted = accepted_line(id, args.parent, args.student);
    let Some(send) = send else {
        return crate::output::emit(&format!("{accepted}; it goes out with the next run\n"));
    };
    crate::output::emit(&format!("{accepted}; sending it now\n"))?;
    let mailer = send.mail.mailer()?;
    tracing::debug!(mailer = %send.mail.destination(), "sending manual reminders now");
    let options = RunOptions {
        at: args.at,
        kinds: vec![Kind::Manual],
        ..RunOptions::default()
    };
    let report = send_with(store, mailer, clock, send, &options)
        .await
        .map_err(|error| {
            Failure::Failed(anyhow::anyhow!(
                "manual reminder {id} is recorded, but sending it now on {url} failed: {error}; \
                 it goes out with the next run"
            ))
        })?;
    crate::output::emit(&crate::commands::run::summary_line(&report))
}

/// A run of manual reminders over `mailer`, which is dropped before the runtime ends (the
/// SMTP pool's connections are closed on it).
async fn send_with<M: Mailer>(
    store: &SqlStore,
    mailer: M,
    clock: CommandClock,
    send: SendConfig,
    options: &RunOptions,
) -> Result<RunReport, ServiceError> {
    Sender::new(store.clone(), mailer, clock, send.templates, send.service)
        .run(options)
        .await
}

fn accepted_line(id: ManualId, parent: ParentId, student: StudentId) -> String {
    format!("manual reminder {id} from parent {parent} to student {student} accepted")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::parse_instant;

    #[test]
    fn the_summary_is_the_line_of_run() {
        let report = RunReport {
            at: Some(parse_instant("2026-11-26T19:00:00Z").unwrap()),
            planned: 2,
            recorded: 2,
            sent: 2,
            ..RunReport::default()
        };
        assert_eq!(
            crate::commands::run::summary_line(&report),
            "run at 2026-11-26T19:00:00Z: sent 2, retried 0, failed 0, expired 0, cancelled 0, skipped 0 \
             (planned 2, newly recorded 2)\n"
        );
    }
}
