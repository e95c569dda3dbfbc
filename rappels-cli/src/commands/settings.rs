//! `rappels settings show|apply`: the settings in force, which the database owns, and the one
//! explicit way to change them from the configuration.

use clap::{Args, Subcommand};
use rappels_core::settings::Settings;

use crate::config::{self, Config};
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Show or apply the settings in force (RULES.md's hours, inactivity ladder, grace and manual \
limit).

The database owns them: every command and every runner sharing a database plans with the \
settings it holds, set by `import` (the export's, with the configuration's keys over them), by \
`init`, or by `settings apply`. No other command writes them. When the configuration \
([settings] in rappels.toml, or RAPPELS_* variables) says otherwise, the commands that plan, \
send or read refuse to run (exit 2) and name the keys that differ, so two runners with different \
files can never silently overwrite each other's hours: apply the configuration once, on \
purpose, and every runner follows.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels settings show                  # the database's settings, as [settings] lines
  RAPPELS_GRACE_MINUTES=90 rappels settings apply
  rappels settings show --database-url postgres://rappels@db.internal/rappels";

#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Print the database's settings as `key = value` lines (the form of [settings] in
    /// rappels.toml), then whether the configuration agrees with them.
    Show {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Make the configuration's settings keys the database's, in one logged transaction;
    /// the keys it does not set keep their stored values.
    Apply {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) fn run(args: SettingsArgs, config: &Config) -> Result<(), Failure> {
    match args.action {
        Action::Show { database } => show(&database, config),
        Action::Apply { database } => apply(&database, config),
    }
}

fn show(database: &DatabaseArgs, config: &Config) -> Result<(), Failure> {
    let url = database.url(config)?;
    let stored = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = database::stored_settings(&store).await;
        store.close().await;
        result
    })?;
    let wanted = config.settings().apply(&stored)?;
    let changes = config::settings_changes(&stored, &wanted);
    let mut out = format!("# settings of {url}\n");
    out.push_str(&as_lines(&stored));
    if changes.is_empty() {
        out.push_str("# the configuration agrees\n");
    } else {
        out.push_str(&format!(
            "# the configuration differs ({}): run `rappels settings apply`\n",
            changes.join(", ")
        ));
    }
    crate::output::emit(&out)
}

fn apply(database: &DatabaseArgs, config: &Config) -> Result<(), Failure> {
    let url = database.url(config)?;
    let shown = url.to_string();
    let changes = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = async {
            let stored = database::stored_settings(&store).await?;
            let wanted = config.settings().apply(&stored)?;
            store
                .save_settings(&wanted)
                .await
                .map_err(database::sql_failure)?;
            Ok::<_, Failure>(config::settings_changes(&stored, &wanted))
        }
        .await;
        store.close().await;
        result
    })?;
    if changes.is_empty() {
        crate::output::emit(&format!(
            "the settings of {shown} already match the configuration: nothing written\n"
        ))
    } else {
        tracing::info!(url = %shown, changes = %changes.join(", "), "settings applied");
        crate::output::emit(&format!(
            "settings of {shown} changed: {}\n",
            changes.join(", ")
        ))
    }
}

/// `key = value` lines, values as JSON (which TOML reads the same for these types); a key
/// without a value (TOML has no null) is a comment.
fn as_lines(settings: &Settings) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(settings) else {
        return String::new();
    };
    fields
        .iter()
        .map(|(key, value)| match value {
            serde_json::Value::Null => format!("# {key} is not set\n"),
            value => format!("{key} = {value}\n"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_print_as_toml_lines_that_read_back() {
        let settings = Settings::default();
        let lines = as_lines(&settings);
        let grace = format!("grace_minutes = {}\n", settings.grace_minutes.get());
        assert!(lines.contains(&grace), "{lines}");
        assert!(
            lines.contains("# inactivity_repeat_days is not set\n"),
            "{lines}"
        );
        assert!(lines.contains("timezone = \"Europe/Paris\"\n"), "{lines}");
        let table: toml::Table = toml::from_str(&lines).expect("valid TOML");
        let back: Settings =
            serde_json::from_value(serde_json::to_value(table).unwrap()).expect("settings");
        assert_eq!(back, settings);
    }
}
