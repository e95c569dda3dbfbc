//! `rappels init`: a commented `rappels.toml` and a migrated database, the first step of a
//! real installation.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use rappels_core::settings::Settings;
use rappels_sqlx::DatabaseUrl;

use crate::config::{self, Config, DEFAULT_CONFIG};
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Start an installation: write a commented configuration file, then create and migrate the \
database it names and store the reminder rules' default settings in it.

The file is ./rappels.toml, or the path given by --config or RAPPELS_CONFIG. It holds every \
key with its default and a comment saying what it does: the database, the mailer, the \
sender, the site's address, the SMTP server, a templates folder and the reminder settings \
(hours, inactivity days, grace). Every key can be overridden by an environment variable \
named after it (mailer: RAPPELS_MAILER, smtp.host: RAPPELS_SMTP_HOST, \
settings.grace_minutes: RAPPELS_GRACE_MINUTES). Secrets never go in the file: the SMTP \
password, the unsubscribe secret and a database password are read from the environment \
only.

The database created is the one the next commands will use: --database-url (which is also \
written into the file), else RAPPELS_DATABASE_URL (which is not, as it may hold a password), \
else sqlite://rappels.db beside the file. An existing file is kept unless --force is given. \
The database is created and migrated first: if that fails, no file is written. A database \
that already holds settings keeps them.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels init                                     # ./rappels.toml and sqlite://rappels.db
  rappels --config /srv/school/rappels.toml init   # the database lands beside the file
  rappels init --database-url postgres://rappels@db.internal/rappels
  rappels init && rappels import school.json && rappels run";

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Replace an existing configuration file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: InitArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let path = config_path.map_or_else(|| PathBuf::from(DEFAULT_CONFIG), Path::to_owned);
    if path.exists() && !args.force {
        return Err(Failure::invalid(format_args!(
            "{} exists already: edit it, or give --force to replace it with a new one",
            path.display()
        )));
    }
    let environment = Config::environment_only()?;
    // What goes into the file is what the user chose, as written; only the environment
    // variable `RAPPELS_DATABASE_URL` is left out, since it may hold a password.
    let written_url = args
        .database
        .database_url
        .clone()
        .unwrap_or_else(|| crate::variables::DEFAULT_URL.to_owned());
    if rappels_sqlx::holds_secret(&written_url) {
        return Err(Failure::invalid(format_args!(
            "--database-url holds a password, which the configuration file must not: give the \
             URL without it and set PGPASSWORD (or use a .pgpass file), or set {}",
            crate::variables::DATABASE_URL
        )));
    }
    let folder = path.parent().unwrap_or(Path::new(""));
    if !folder.as_os_str().is_empty() && !folder.is_dir() {
        return Err(Failure::invalid(format_args!(
            "{}: the folder {} does not exist",
            path.display(),
            folder.display()
        )));
    }
    // The database the next commands will use: `RAPPELS_DATABASE_URL` wins over the file
    // (without `--database-url`), so that is the one to create; otherwise the file's, where
    // a relative SQLite path is relative to the file's folder.
    let url = match (
        &args.database.database_url,
        config::env_var(crate::variables::DATABASE_URL)?,
    ) {
        (None, Some(from_environment)) => from_environment.text,
        _ => crate::urls::relative_sqlite_url(folder, &written_url),
    };
    let url = DatabaseUrl::parse(&url).map_err(database::sql_failure)?;
    let shown = url.to_string();
    let settings = environment.settings().apply(&Settings::default())?;
    let kept = database::block_on(async {
        let store = database::connect(&url).await?;
        let result = async {
            store.migrate().await.map_err(database::sql_failure)?;
            match store
                .stored_settings()
                .await
                .map_err(database::sql_failure)?
            {
                Some(_) => Ok(true),
                None => {
                    store
                        .save_settings(&settings)
                        .await
                        .map_err(database::sql_failure)?;
                    Ok(false)
                }
            }
        }
        .await;
        store.close().await;
        result
    })?;
    write_atomically(&path, &config_text(&written_url))?;
    tracing::info!(file = %path.display(), url = %shown, "initialised");
    let settings_line = if kept {
        "it already held settings, which are kept"
    } else {
        "with the default settings"
    };
    crate::output::emit(&format!(
        "wrote {file}\n\
         created and migrated {shown}, {settings_line}\n\
         \n\
         Next:\n  \
         1. edit {file}: the sender, the site's address, the mailer (the SMTP password goes in \
         {password}, never in the file)\n  \
         2. rappels import school.json        # the platform's students, parents and sessions\n  \
         3. rappels doctor                    # checks the whole installation\n  \
         4. rappels run                       # then every 5 minutes: rappels cron prints the lines\n",
        file = path.display(),
        password = crate::variables::SMTP_PASSWORD,
    ))
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`, so that a
/// failure leaves either the old file or none, never half a file.
fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    let failed = |e: std::io::Error| {
        Failure::Failed(anyhow::anyhow!("cannot write {}: {e}", path.display()))
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| DEFAULT_CONFIG.to_owned());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(failed(error));
    }
    Ok(())
}

/// A TOML string: quoted and escaped by the TOML library.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The commented configuration, with every key at its default; the settings are commented
/// out so that the values of the platform's export apply until the admin chooses otherwise.
pub(crate) fn config_text(database_url: &str) -> String {
    let defaults = Settings::default();
    let setting = |key: &str, value: String, comment: &str| {
        format!("# {:<38} # {comment}\n", format!("{key} = {value}"))
    };
    let mut settings = String::new();
    settings.push_str(&setting(
        "timezone",
        toml_string(defaults.timezone.name()),
        "zone of students without their own (IANA name)",
    ));
    for (key, time, comment) in [
        (
            "session_eve_time",
            defaults.session_eve_time,
            "eve-of-session reminder, the day before",
        ),
        (
            "session_day_time",
            defaults.session_day_time,
            "reminder on the session's day",
        ),
        (
            "inactivity_time",
            defaults.inactivity_time,
            "inactivity reminders",
        ),
    ] {
        settings.push_str(&setting(key, toml_string(&time.to_string()), comment));
    }
    settings.push_str(&setting(
        "inactivity_days",
        format!("{:?}", defaults.inactivity_days),
        "days without activity that get a reminder",
    ));
    settings.push_str(&setting(
        "inactivity_repeat_days",
        "1".to_owned(),
        "then every N days (absent: never)",
    ));
    settings.push_str(&setting(
        "weekly_day",
        toml_string(defaults.weekly_day.name()),
        "weekly digest: day (lowercase English)",
    ));
    settings.push_str(&setting(
        "weekly_time",
        toml_string(&defaults.weekly_time.to_string()),
        "weekly digest: time",
    ));
    settings.push_str(&setting(
        "grace_minutes",
        defaults.grace_minutes.get().to_string(),
        "a slot missed by less is still sent (1-1440)",
    ));
    settings.push_str(&setting(
        "manual_max_per_day",
        defaults.manual_max_per_day.to_string(),
        "parents' reminders per child and day",
    ));
    format!(
        "\
# rappels configuration, written by `rappels init`.
#
# Every key can be overridden by an environment variable named after it: `mailer` by
# RAPPELS_MAILER, `smtp.host` by RAPPELS_SMTP_HOST, `settings.grace_minutes` by
# RAPPELS_GRACE_MINUTES. Relative paths are relative to this file's folder.
#
# Secrets are never read from this file (it gets copied and committed): the SMTP password
# comes from RAPPELS_SMTP_PASSWORD, the key of unsubscribe links from RAPPELS_SECRET (16
# bytes or more), a database password from PGPASSWORD, ~/.pgpass or RAPPELS_DATABASE_URL.
# `rappels doctor` checks the whole configuration.

{keys}
[settings]
# The reminder rules. A key set here replaces the value of the platform's export (rappels
# import) once applied with `rappels settings apply`; until then commands refuse to run
# with settings that differ from the database's. The defaults are shown.
{settings}",
        keys = crate::variables::file_text(database_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_file_reads_back_as_the_defaults() {
        let text = config_text("sqlite://rappels.db");
        let config = Config::parse(Path::new("rappels.toml"), &text).expect("the file parses");
        assert!(config.settings().is_empty(), "{text}");
        // Every setting is there, commented out, with its default; uncommenting them all
        // gives the defaults back.
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if config::settings_keys()
                        .iter()
                        .any(|k| rest.starts_with(&format!("{k} ="))) =>
                {
                    format!("{}\n", rest.split(" #").next().unwrap_or(rest))
                }
                _ => format!("{line}\n"),
            })
            .collect();
        let all = Config::parse(Path::new("rappels.toml"), &uncommented).unwrap();
        let applied = all.settings().apply(&Settings::default()).unwrap();
        assert_eq!(
            applied,
            Settings {
                inactivity_repeat_days: std::num::NonZeroU32::new(1),
                ..Settings::default()
            }
        );
    }
}
