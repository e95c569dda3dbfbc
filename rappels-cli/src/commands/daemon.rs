//! `rappels daemon`: a built-in scheduler. It runs, asks the core when anything can next
//! become due (the next slot of any zone, or the next retry), sleeps until then — never
//! longer than `--max-sleep` — and runs again; on SIGTERM or SIGINT it stops gracefully
//! and exits cleanly.
//!
//! A signal during a sleep ends it at once. During a run it stops the run as it stops
//! `rappels run` (`Sender::run_until`): the messages in flight are finished and recorded,
//! the claims not tried are given back, so no message is left half-sent and nothing waits
//! for a lease to end.

use std::future::pending;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use clap::Args;
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::format_instant;
use rappels_core::message::Templates;
use rappels_core::ports::ReminderLog;
use rappels_core::service::{RunOptions, Sender, ServiceConfig};
use rappels_sqlx::SqlStore;

use crate::args::parse_at;
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail::{self, ConfiguredMailer, MailConfig};
use crate::shutdown::Shutdown;

pub(crate) const LONG_ABOUT: &str = "\
Send reminders without cron: run (as `rappels run` does), then sleep until the next instant \
at which something can become due — the next reminder slot in any student's time zone, or \
the next retry of a failed delivery, as the rules compute it — and run again.

The sleep never exceeds --max-sleep (5 minutes by default), because a parent's manual \
reminder can be requested at any moment and no slot announces it: the cap is how long such \
a request may wait. Runs are safe to overlap with `rappels run` or other daemons on the same \
database.

On SIGTERM or SIGINT (Ctrl-C) the daemon stops: during a sleep at once; during a run it \
finishes the messages in flight, records their outcomes and gives back the reminders it had \
claimed but not tried (another runner can take them at once), so no message is left \
half-sent. It then logs `stopped` and exits 0.

A run that fails (the database unreachable for a moment) is logged and tried again after at \
most a minute; a database that was never migrated or has no settings stops the daemon with \
exit status 2. Messages go to the mailer of rappels.toml or the environment (below), as for \
`rappels run`. The configuration is read once, when the daemon starts: restart it after \
editing rappels.toml. Settings stored by a new import apply from the next run on.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels daemon                                   # in the foreground, logs on stderr
  rappels daemon --max-sleep 60                    # pick up manual requests within a minute
  rappels daemon --print-schedule                  # run once, print when it would wake next
  rappels daemon --print-schedule --once-at 2026-11-26T18:45:00Z

As a systemd service (Restart=on-failure; the default stop signal is SIGTERM):
  ExecStart=/usr/local/bin/rappels daemon
  EnvironmentFile=/etc/rappels/env";

/// The help text after the options: examples, then the mail variables.
pub(crate) fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", crate::variables::mail_help())
}

/// The longest wait after a failed run: the daemon keeps trying, without hammering a
/// database that is down.
const AFTER_FAILURE: TimeDelta = TimeDelta::seconds(60);

/// The shortest pause between two runs. The core says "now" when a retry is already due,
/// which is right; but should a reminder stay due without ever being claimable, this keeps
/// the daemon from spinning on it.
const MIN_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    /// Never sleep longer than this between two runs, in seconds (1 to 86400). Manual
    /// reminders requested by parents have no slot to wake up for: this is how long one may
    /// wait before it is sent.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    max_sleep: u32,
    /// Do not loop: run once as if it were INSTANT (RFC 3339 with an offset), which records
    /// and sends like `rappels run --at`, log the next wake-up computed from INSTANT, and exit.
    #[arg(long, value_name = "INSTANT", value_parser = parse_at)]
    once_at: Option<DateTime<Utc>>,
    /// Do not loop: run once (now, or at --once-at), print the next wake-up and why on
    /// standard output (`next wake-up: 2026-11-26T23:30:00Z (slot)`, or `(retry)`), and exit.
    #[arg(long)]
    print_schedule: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: DaemonArgs, file: &Config) -> Result<(), Failure> {
    // As with `run`: the configuration is checked before the database is opened.
    let mail = MailConfig::read(file)?;
    let config = mail::service_config(file, &mail)?;
    let templates = file.templates()?;
    let url = args.database.url(file)?;
    mail::log_configuration(&mail, &url, &config);
    let max_sleep = TimeDelta::seconds(i64::from(args.max_sleep));
    database::block_on(async {
        // Signals are caught from the start, so that one arriving during the first run
        // waits for it to finish instead of killing the process.
        let shutdown = if args.print_schedule || args.once_at.is_some() {
            None
        } else {
            Some(Shutdown::listen()?)
        };
        let store = database::connect_existing(&url).await?;
        let daemon = Daemon {
            store: store.clone(),
            mailer: mail.mailer()?,
            templates,
            config,
            file: file.clone(),
            url: url.to_string(),
        };
        let result = match (shutdown, args.once_at) {
            (Some(shutdown), _) => {
                tracing::info!(
                    mailer = %mail.destination(),
                    url = %daemon.url,
                    max_sleep_s = args.max_sleep,
                    "daemon started"
                );
                daemon.serve(shutdown, max_sleep).await
            }
            (None, Some(at)) => daemon.once(FixedClock(at), args.print_schedule).await,
            (None, None) => daemon.once(SystemClock, args.print_schedule).await,
        };
        // The SMTP pool's connections are closed on this runtime.
        drop(daemon);
        store.close().await;
        result
    })
}

/// Why the daemon wakes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// A reminder slot begins in some zone.
    Slot,
    /// A failed delivery is due for a retry (or a lease taken by a dead runner ends).
    Retry,
    /// `--max-sleep` is reached before either: a manual request may be waiting.
    MaxSleep,
    /// The run failed: try again.
    AfterFailure,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Slot => "slot",
            Reason::Retry => "retry",
            Reason::MaxSleep => "max sleep",
            Reason::AfterFailure => "after a failed run",
        }
    }
}

/// The next instant the daemon has work, and why.
#[derive(Debug, Clone, Copy)]
struct Wakeup {
    at: DateTime<Utc>,
    reason: Reason,
}

/// A clock stopped at one instant: `--once-at` runs and computes the next wake-up as if it
/// were that instant, which is how the schedule is checked without waiting for it.
#[derive(Debug, Clone, Copy)]
struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// What stays open across runs: the store's pool, the mailer (and its SMTP pool), the
/// parsed templates.
struct Daemon {
    store: SqlStore,
    mailer: ConfiguredMailer,
    templates: Templates,
    config: ServiceConfig,
    /// The configuration, whose settings are checked against the database's before each
    /// run.
    file: Config,
    /// The database URL, password removed.
    url: String,
}

impl Daemon {
    /// One run at `clock`'s instant, then the next wake-up computed by the core from the
    /// instant the run ended. The settings are read again each time, so a new import's
    /// settings apply from the next run on, as they would with cron.
    /// A signal (`stop`) stops the run gracefully, as it stops `rappels run`.
    async fn cycle<C: Clock + Copy>(
        &self,
        clock: C,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<Wakeup, Failure> {
        database::settings_in_force(&self.store, &self.file).await?;
        // The daemon's one mailer is lent to each run, so SMTP connections stay pooled
        // from one run to the next.
        let engine = Sender::new(
            self.store.clone(),
            &self.mailer,
            clock,
            self.templates.clone(),
            self.config.clone(),
        );
        let started = Instant::now();
        let report = engine
            .run_until(&RunOptions::default(), &|_| {}, stop)
            .await
            .map_err(|error| self.failed("run", &error))?;
        crate::commands::run::log_report(&report, false, started);
        let after = clock.now();
        let at = engine
            .reminders()
            .next_wakeup(after)
            .await
            .map_err(|error| self.failed("wake-up computation", &error))?;
        // The core gives the instant only; the earliest retry tells which of the two it is.
        let retry = self
            .store
            .next_attempt_at()
            .await
            .map_err(|error| self.failed("wake-up computation", &error))?;
        let reason = if retry.map(|r| r.max(after)) == Some(at) {
            Reason::Retry
        } else {
            Reason::Slot
        };
        Ok(Wakeup { at, reason })
    }

    fn failed(&self, what: &str, error: &dyn std::fmt::Display) -> Failure {
        Failure::Failed(anyhow::anyhow!(
            "the {what} on {} failed: {error}",
            self.url
        ))
    }

    /// `--once-at` and `--print-schedule`: one cycle, its wake-up logged and, if asked,
    /// printed.
    async fn once<C: Clock + Copy>(&self, clock: C, print: bool) -> Result<(), Failure> {
        let wake = self.cycle(clock, pending()).await?;
        let at = format_instant(wake.at);
        tracing::info!(next = %at, reason = wake.reason.as_str(), "next wake-up");
        if print {
            crate::output::emit(&format!("next wake-up: {at} ({})\n", wake.reason.as_str()))?;
        }
        Ok(())
    }

    /// The loop: run, sleep until the next wake-up or `max_sleep`, until a signal.
    async fn serve(&self, mut shutdown: Shutdown, max_sleep: TimeDelta) -> Result<(), Failure> {
        let signal = loop {
            let wake = match self.cycle(SystemClock, shutdown.stopped()).await {
                Ok(wake) => wake,
                // Nothing to retry for: the database must be migrated or imported first.
                Err(failure @ Failure::Invalid(_)) => return Err(failure),
                Err(failure) => {
                    tracing::error!(error = %failure, "run failed; the daemon carries on");
                    Wakeup {
                        at: SystemClock.now() + AFTER_FAILURE.min(max_sleep),
                        reason: Reason::AfterFailure,
                    }
                }
            };
            if let Some(signal) = shutdown.requested() {
                break signal;
            }
            let now = SystemClock.now();
            let next = wake.at;
            let wake = if next > now + max_sleep {
                Wakeup {
                    at: now + max_sleep,
                    reason: Reason::MaxSleep,
                }
            } else {
                wake
            };
            tracing::info!(
                next = %format_instant(next),
                "sleeping until {} ({})",
                format_instant(wake.at),
                wake.reason.as_str()
            );
            // A monotonic sleep: a wall clock set back or forward meanwhile is caught up
            // with at the next wake-up, at most `max_sleep` later.
            let duration = (wake.at - now).to_std().unwrap_or_default().max(MIN_PAUSE);
            tokio::select! {
                () = tokio::time::sleep(duration) => {}
                signal = shutdown.wait() => break signal,
            }
        };
        tracing::info!("stopped on {signal}");
        Ok(())
    }
}
