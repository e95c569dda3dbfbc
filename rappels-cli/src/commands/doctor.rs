//! `rappels doctor`: checks what a run needs — the configuration, the database, the time
//! zones, the templates, the mail server or folder, the clock — one line per check, and
//! fails if any check does.
//!
//! Every check runs, even after one failed, so that one call lists everything to fix; a
//! check that depends on a failed one says `skip` and why. Nothing is sent and nothing is
//! written but a probe file in the outbox folder, removed at once.

use std::fmt;
use std::path::Path;

use chrono::{Datelike, SubsecRound};
use clap::Args;
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{Locale, format_instant};
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::ports::{Platform, ReminderLog};
use rappels_core::settings::Settings;
use rappels_smtp::{SmtpMailer, TlsMode};
use rappels_sqlx::{Backend, DatabaseUrl, SqlStore};

use crate::config::{Config, Values};
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail::{self, MailConfig, Transport};

pub(crate) const LONG_ABOUT: &str = "\
Check that rappels can run here, one line per check:

  configuration  rappels.toml (if any) and the variables of the environment (below) are valid
  unsubscribe    RAPPELS_SECRET is set and long enough (a warning when absent)
  database       the database is reachable, migrated, and holds imported settings
  settings       the settings in force, and whether the configuration changes the stored ones
  time zones     every zone in use is a known IANA zone
  addresses      every stored address is one the mailer accepts (a warning names the others)
  templates      the templates (shipped, or the configured folder's) parse and the test
                 message renders in every language
  smtp           the server answers EHLO, then STARTTLS or TLS and AUTH as configured
  mail folder    with RAPPELS_MAILER=file:DIR, DIR (or where it will be created) is writable
  clock          the system clock shows a plausible date

Each line starts with `ok`, `warn`, `skip` (not applicable, or depends on a check that \
failed) or `FAIL`, then the check's name and what was found. The exit status is 1 if any \
check fails, 0 otherwise. Nothing is sent, and nothing is written to the database.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels doctor
  rappels doctor --database-url postgres://rappels@db.internal/rappels
  set -a; . /etc/rappels/env; rappels doctor     # with the service's configuration";

/// The help text after the options: examples, then the mail variables.
pub(crate) fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", crate::variables::mail_help())
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    database: DatabaseArgs,
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// Works, but something is probably not what was meant.
    Warn,
    /// Not applicable, or cannot be checked because an earlier check failed.
    Skip,
    Fail,
}

/// One line of the report.
#[derive(Debug)]
struct Check {
    status: Status,
    name: &'static str,
    detail: String,
}

impl Check {
    fn new(status: Status, name: &'static str, detail: impl fmt::Display) -> Check {
        Check {
            status,
            name,
            detail: detail.to_string(),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Upper case for failures only, so they stand out in a column of `ok`.
        let status = match self.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Fail => "FAIL",
        };
        write!(f, "{status:<4} {}: {}", self.name, self.detail)
    }
}

/// Prints each check as soon as it is known (the SMTP check may take up to its timeout),
/// and counts the failures.
#[derive(Debug, Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn print(&mut self, check: Check) -> Result<(), Failure> {
        if check.status == Status::Fail {
            self.failed += 1;
        }
        crate::output::emit(&format!("{check}\n"))
    }
}

/// `config` names the configuration file; an invalid one is the first failed check rather
/// than the end of the report, so that everything else is still checked.
pub(crate) fn run(args: DoctorArgs, config: Option<&Path>) -> Result<(), Failure> {
    let mut report = Report::default();
    let (config, file) = match Config::load(config) {
        Ok(config) => {
            let file = match config.path() {
                Some(path) => format!("{} read", path.display()),
                None => "no configuration file".to_owned(),
            };
            (config, Ok(file))
        }
        Err(failure) => (Config::default(), Err(failure)),
    };
    // With an unreadable file, the database it names is unknown: only a URL given on the
    // command line is checked, rather than a default the user never meant.
    let url =
        (file.is_ok() || args.database.database_url.is_some()).then(|| args.database.url(&config));
    let mail = file.and_then(|file| MailConfig::read(&config).map(|mail| (file, mail)));
    report.print(match &mail {
        Ok((file, mail)) => Check::new(
            Status::Ok,
            "configuration",
            format_args!(
                "{file}; mail to {}, from {}, links to {}",
                mail.destination(),
                mail.from,
                mail.site_url
            ),
        ),
        Err(failure) => Check::new(Status::Fail, "configuration", failure),
    })?;
    let mail = mail.ok().map(|(_, mail)| mail);
    report.print(unsubscribe_check(&config, mail.as_ref()))?;
    let url = match url {
        Some(Ok(url)) => Some(url),
        Some(Err(failure)) => {
            report.print(Check::new(Status::Fail, "database", failure))?;
            None
        }
        None => {
            report.print(Check::new(
                Status::Skip,
                "database",
                "the configuration is invalid, so the database it names is unknown",
            ))?;
            None
        }
    };

    database::block_on(async {
        let store = match &url {
            Some(url) => database_check(url, &mut report).await?,
            None => None,
        };
        match &store {
            Some((store, stored)) => {
                report.print(settings_check(&config, stored))?;
                let settings = config
                    .settings()
                    .apply(stored)
                    .unwrap_or_else(|_| stored.clone());
                report.print(zones_check(store, &settings).await)?;
                report.print(addresses_check(store).await)?;
            }
            None => {
                for name in ["settings", "time zones", "addresses"] {
                    report.print(Check::new(Status::Skip, name, "no database was checked"))?;
                }
            }
        }
        if let Some((store, _)) = store {
            store.close().await;
        }
        report.print(templates_check(&config, mail.as_ref()))?;
        report.print(smtp_check(mail.as_ref()).await)?;
        report.print(folder_check(mail.as_ref()))?;
        report.print(clock_check(SystemClock.now()))
    })?;

    match report.failed {
        0 => Ok(()),
        1 => Err(Failure::Failed(anyhow::anyhow!("1 check failed"))),
        n => Err(Failure::Failed(anyhow::anyhow!("{n} checks failed"))),
    }
}

fn unsubscribe_check(config: &Config, mail: Option<&MailConfig>) -> Check {
    const NAME: &str = "unsubscribe";
    let site_url = mail.map_or_else(|| MessageConfig::default().site_url, |m| m.site_url.clone());
    match mail::unsubscribe_config(config, &site_url) {
        Ok(Some(config)) => Check::new(
            Status::Ok,
            NAME,
            format_args!(
                "{} is set: automatic reminders carry one-click unsubscribe links to {}/unsubscribe",
                crate::variables::SECRET,
                config.base_url
            ),
        ),
        Ok(None) => Check::new(
            Status::Warn,
            NAME,
            format_args!(
                "{} is not set: reminders carry no List-Unsubscribe header",
                crate::variables::SECRET
            ),
        ),
        Err(failure) => Check::new(Status::Fail, NAME, failure),
    }
}

/// Reachable (without creating a SQLite file), migrated (the tables exist: reading the
/// settings and the reminder log would say "no such table" otherwise), and imported.
async fn database_check(
    url: &DatabaseUrl,
    report: &mut Report,
) -> Result<Option<(SqlStore, Settings)>, Failure> {
    const NAME: &str = "database";
    let shown = url.to_string();
    let store = match database::connect_existing(url).await {
        Ok(store) => store,
        Err(failure) => {
            report.print(Check::new(Status::Fail, NAME, failure))?;
            return Ok(None);
        }
    };
    let backend = match store.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let settings = match store.stored_settings().await {
        Ok(Some(settings)) => store
            .next_attempt_at()
            .await
            .map(|_| settings)
            .map_err(|e| e.to_string()),
        Ok(None) => Err(rappels_sqlx::SqlError::NoSettings.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match settings {
        Ok(settings) => {
            report.print(Check::new(
                Status::Ok,
                NAME,
                format_args!("{shown} ({backend}) is reachable, migrated and imported"),
            ))?;
            Ok(Some((store, settings)))
        }
        Err(error) => {
            report.print(Check::new(
                Status::Fail,
                NAME,
                format_args!("{shown} ({backend}): {error}"),
            ))?;
            store.close().await;
            Ok(None)
        }
    }
}

/// The settings in force (the database's), and whether the configuration agrees with them:
/// commands refuse to run while it does not, until `rappels settings apply`.
fn settings_check(config: &Config, stored: &Settings) -> Check {
    const NAME: &str = "settings";
    let wanted = match config.settings().apply(stored) {
        Ok(wanted) => wanted,
        Err(failure) => return Check::new(Status::Fail, NAME, failure),
    };
    let settings = stored;
    let summary = format!(
        "sessions at {} (eve) and {}, inactivity at {} after {:?} days, weekly on {} at {}, grace {} min",
        settings.session_eve_time,
        settings.session_day_time,
        settings.inactivity_time,
        settings.inactivity_days,
        settings.weekly_day.name(),
        settings.weekly_time,
        settings.grace_minutes.get()
    );
    let changes = crate::config::settings_changes(stored, &wanted);
    if changes.is_empty() {
        Check::new(Status::Ok, NAME, summary)
    } else {
        Check::new(
            Status::Fail,
            NAME,
            format_args!(
                "{summary}; the configuration differs ({}): commands refuse to run until \
                 `rappels settings apply` makes it the database's",
                changes.join(", ")
            ),
        )
    }
}

/// Zones are parsed when imported, and again when read: this catches a row edited by hand
/// or written by an older version, and shows which zones the schedule follows.
async fn zones_check(store: &SqlStore, settings: &Settings) -> Check {
    const NAME: &str = "time zones";
    /// Zones named in the line; a platform with students everywhere gets a count only.
    const LISTED: usize = 5;
    match store.zones(settings).await {
        Ok(zones) => {
            let mut names: Vec<&str> = zones.iter().map(|z| z.name()).collect();
            names.sort_unstable();
            names.dedup();
            let listed = if names.is_empty() {
                "no student yet".to_owned()
            } else if names.len() <= LISTED {
                names.join(", ")
            } else {
                format!("{}, …", names[..LISTED].join(", "))
            };
            Check::new(
                Status::Ok,
                NAME,
                format_args!(
                    "{} in use, all known ({listed}); default {}",
                    names.len(),
                    settings.timezone.name()
                ),
            )
        }
        Err(error) => Check::new(Status::Fail, NAME, error),
    }
}

/// Every stored address is one the mailer accepts: RULES.md lets some through that lettre
/// refuses (`a"b<c>@example.org`), and their reminders would fail at send time.
async fn addresses_check(store: &SqlStore) -> Check {
    const NAME: &str = "addresses";
    /// Records named in the line.
    const LISTED: usize = 5;
    let mut refused = 0usize;
    let mut listed = Vec::new();
    let counted = store
        .for_each_address(|owner, id, email| {
            if rappels_smtp::recipient_address(email).is_err() {
                refused += 1;
                if listed.len() < LISTED {
                    listed.push(format!(
                        "{owner} {id} <{}>",
                        crate::output::printable(email)
                    ));
                }
            }
        })
        .await;
    match counted {
        Ok(count) if refused == 0 => Check::new(
            Status::Ok,
            NAME,
            format_args!("{count} stored, all accepted by the mailer"),
        ),
        Ok(_) => Check::new(
            Status::Warn,
            NAME,
            format_args!(
                "{refused} the mailer will refuse (their reminders will fail): {}{}",
                listed.join(", "),
                match refused.saturating_sub(LISTED) {
                    0 => String::new(),
                    more => format!(" and {more} more"),
                }
            ),
        ),
        Err(error) => Check::new(Status::Fail, NAME, error),
    }
}

/// Every template parses — the embedded ones (`Templates::embedded` would panic instead of
/// saying which) with the configured folder's over them — and the test message renders in
/// every language with the configured links.
fn templates_check(config: &Config, mail: Option<&MailConfig>) -> Check {
    const NAME: &str = "templates";
    let folder = match config.get(crate::variables::TEMPLATES) {
        Ok(folder) => folder,
        Err(failure) => return Check::new(Status::Fail, NAME, failure),
    };
    let templates = match &folder {
        Some(_) => match config.templates() {
            Ok(templates) => templates,
            Err(failure) => return Check::new(Status::Fail, NAME, failure),
        },
        None => match Templates::with_overrides(Vec::new()) {
            Ok(templates) => templates,
            Err(error) => return Check::new(Status::Fail, NAME, error_chain(&error)),
        },
    };
    let config = mail.map_or_else(MessageConfig::default, MailConfig::message_config);
    for locale in Locale::ALL {
        if let Err(error) = templates.test_message(locale, &config) {
            return Check::new(
                Status::Fail,
                NAME,
                format_args!(
                    "the {} test message: {}",
                    locale.code(),
                    error_chain(&error)
                ),
            );
        }
    }
    let locales: Vec<&str> = Locale::ALL.iter().map(|l| l.code()).collect();
    Check::new(
        Status::Ok,
        NAME,
        format_args!(
            "{} parse{}; the test message renders in {}",
            Templates::names().len(),
            folder.map_or_else(String::new, |f| format!(
                " (with the overrides of {})",
                f.text
            )),
            locales.join(", ")
        ),
    )
}

/// An error and its causes on one line: handlebars puts the line and column in the source.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Connects as a run would — EHLO, STARTTLS or TLS, AUTH — and sends nothing.
async fn smtp_check(mail: Option<&MailConfig>) -> Check {
    const NAME: &str = "smtp";
    let Some(mail) = mail else {
        return Check::new(Status::Skip, NAME, "the configuration is invalid");
    };
    let settings = match &mail.transport {
        Transport::Smtp(settings) => settings,
        Transport::File(_) | Transport::Stdout => {
            return Check::new(
                Status::Skip,
                NAME,
                format_args!("no mail server: mail goes to {}", mail.destination()),
            );
        }
    };
    let mailer = match SmtpMailer::new(settings.clone()) {
        Ok(mailer) => mailer,
        Err(error) => return Check::new(Status::Fail, NAME, error),
    };
    let destination = mail.destination();
    match mailer.check_connection().await {
        Ok(()) => {
            let mut steps = vec!["EHLO"];
            match settings.tls {
                TlsMode::StartTls => steps.push("STARTTLS"),
                TlsMode::Tls => steps.insert(0, "TLS"),
                TlsMode::None => {}
            }
            if settings.user.is_some() {
                steps.push("AUTH");
            }
            Check::new(
                Status::Ok,
                NAME,
                format_args!("{destination}: {} accepted", steps.join(", ")),
            )
        }
        Err(error) => {
            let class = if error.is_session() {
                "check the host, the port, the TLS mode and the credentials"
            } else {
                "the server refused"
            };
            Check::new(
                Status::Fail,
                NAME,
                format_args!("{destination}: {error} ({class})"),
            )
        }
    }
}

/// The outbox folder, or the nearest existing folder above it (a run creates the rest),
/// takes a new file.
fn folder_check(mail: Option<&MailConfig>) -> Check {
    const NAME: &str = "mail folder";
    let Some(mail) = mail else {
        return Check::new(Status::Skip, NAME, "the configuration is invalid");
    };
    let Transport::File(folder) = &mail.transport else {
        return Check::new(
            Status::Skip,
            NAME,
            format_args!("mail goes to {}", mail.destination()),
        );
    };
    let shown = folder.display();
    let mut existing: &Path = folder;
    while !existing.exists() {
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        return Check::new(
            Status::Fail,
            NAME,
            format_args!("{shown}: {} is not a folder", existing.display()),
        );
    }
    let probe = existing.join(format!(".rappels-doctor-{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|_| std::fs::remove_file(&probe));
    match written {
        Ok(()) if existing == folder.as_path() => {
            Check::new(Status::Ok, NAME, format_args!("{shown} is writable"))
        }
        Ok(()) => Check::new(
            Status::Ok,
            NAME,
            format_args!(
                "{shown} does not exist yet; the first run creates it in {} (writable)",
                existing.display()
            ),
        ),
        Err(error) => Check::new(
            Status::Fail,
            NAME,
            format_args!("{shown}: cannot write in {}: {error}", existing.display()),
        ),
    }
}

/// A clock far off would put every slot at the wrong instant: a year outside 2020–2099 is
/// surely a clock that was never set (a board without a battery starts in 1970).
fn clock_check(now: chrono::DateTime<chrono::Utc>) -> Check {
    const NAME: &str = "clock";
    if (2020..2100).contains(&now.year()) {
        Check::new(Status::Ok, NAME, format_instant(now.trunc_subsecs(0)))
    } else {
        Check::new(
            Status::Fail,
            NAME,
            format_args!(
                "the system clock says {}: set it (NTP) before any run",
                format_instant(now)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::parse_instant;

    #[test]
    fn lines_align_and_failures_stand_out() {
        assert_eq!(
            Check::new(Status::Ok, "clock", "x").to_string(),
            "ok   clock: x"
        );
        assert_eq!(
            Check::new(Status::Fail, "smtp", "y").to_string(),
            "FAIL smtp: y"
        );
        assert_eq!(
            Check::new(Status::Skip, "smtp", "z").to_string(),
            "skip smtp: z"
        );
    }

    #[test]
    fn a_clock_that_was_never_set_fails() {
        let at = |s| clock_check(parse_instant(s).unwrap()).status;
        assert_eq!(at("2026-11-26T18:45:00Z"), Status::Ok);
        assert_eq!(at("1970-01-01T00:00:00Z"), Status::Fail);
        assert_eq!(at("2100-01-01T00:00:00Z"), Status::Fail);
    }
}
