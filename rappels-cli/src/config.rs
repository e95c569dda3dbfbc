//! The configuration: `rappels.toml`, with the environment over it.
//!
//! Every key of the file has an environment variable named after it (`mailer` and
//! `RAPPELS_MAILER`, `smtp.host` and `RAPPELS_SMTP_HOST`, `settings.grace_minutes` and
//! `RAPPELS_GRACE_MINUTES`), and the variable wins, so a crontab or a systemd unit can change
//! one value without another file. The commands read values through [`Values`], which says
//! where each one came from, so an invalid value is reported under the name the user wrote
//! (`RAPPELS_SMTP_PORT: …` or `/etc/rappels/rappels.toml: smtp.port: …`).
//!
//! Secrets are never read from the file: the SMTP password, the unsubscribe secret and a
//! password inside the database URL are refused with the variable to use instead, since a
//! configuration file gets copied, committed and shown around in a way the environment of a
//! service does not.
//!
//! The `[settings]` table holds RULES.md's settings. Each key set there replaces the value
//! stored by the last `rappels import`; [`SettingsOverrides::apply`] does the overlay with
//! the core's own validation, so the rules' defaults and checks live in one place.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rappels_core::message::Templates;
use rappels_core::settings::Settings;
use serde_json::Value as Json;

use crate::failure::Failure;
use crate::variables::{self, CONFIG, DATABASE_URL, Location, TEMPLATES};

/// The file read when neither `--config` nor `RAPPELS_CONFIG` names one, if it exists.
pub(crate) const DEFAULT_CONFIG: &str = "rappels.toml";

/// Where a value came from, as the user would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An environment variable.
    Env(String),
    /// A key of the configuration file.
    File { path: PathBuf, key: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(name) => f.write_str(name),
            Origin::File { path, key } => write!(f, "{}: {key}", path.display()),
        }
    }
}

/// A configuration value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    /// The value as written.
    pub(crate) text: String,
    /// Its variable or key, for error messages.
    pub(crate) origin: Origin,
}

impl Value {
    /// A value read from the environment.
    pub(crate) fn env(name: &str, text: impl Into<String>) -> Value {
        Value {
            text: text.into(),
            origin: Origin::Env(name.to_owned()),
        }
    }
}

/// Where configuration values come from.
pub(crate) trait Values {
    /// The value known as the environment variable `name`; `None` when it is unset or
    /// blank, so that `VAR=` in a crontab means "the default" rather than an invalid empty
    /// value.
    fn get(&self, name: &str) -> Result<Option<Value>, Failure>;
}

/// Reads one environment variable: blank is unset, non-UTF-8 is an error naming it.
pub(crate) fn env_var(name: &str) -> Result<Option<Value>, Failure> {
    match std::env::var(name) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(Value::env(name, text))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::invalid(format_args!("{name}: not valid UTF-8")))
        }
    }
}

/// The configuration in force: the file (if any) under the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    /// The file read, if one was.
    path: Option<PathBuf>,
    /// The file's values, by the name of their environment variable.
    file: BTreeMap<&'static str, Value>,
    /// `[settings]` of the file, with the `RAPPELS_*` settings variables over it.
    settings: SettingsOverrides,
}

impl Values for Config {
    fn get(&self, name: &str) -> Result<Option<Value>, Failure> {
        match env_var(name)? {
            Some(value) => Ok(Some(value)),
            None => Ok(self.file.get(name).cloned()),
        }
    }
}

impl Config {
    /// Loads the configuration: the file named by `explicit` (see [`named_file`]) must
    /// exist; without it, `./rappels.toml` is read if it exists. Then the settings variables
    /// of the environment. Every error is a usage error (exit 2) naming the file, and the key
    /// or the variable.
    pub(crate) fn load(explicit: Option<&Path>) -> Result<Config, Failure> {
        let mut config = match file_in_use(explicit) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Failure::invalid(format_args!(
                        "cannot read the configuration {}: {e}",
                        path.display()
                    ))
                })?;
                Config::parse(&path, &text)?
            }
            None => Config::default(),
        };
        config.settings.read_environment(&EnvSettings)?;
        match &config.path {
            Some(path) => tracing::debug!(file = %path.display(), "configuration file read"),
            None => tracing::debug!("no configuration file: environment and defaults only"),
        }
        Ok(config)
    }

    /// The environment alone, for `rappels init`, which writes the file.
    pub(crate) fn environment_only() -> Result<Config, Failure> {
        let mut config = Config::default();
        config.settings.read_environment(&EnvSettings)?;
        Ok(config)
    }

    /// The configuration held by `text`, the contents of the file at `path`.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Config, Failure> {
        let at = |key: &str, message: &dyn fmt::Display| {
            Failure::invalid(format_args!("{}: {key}: {message}", path.display()))
        };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            Failure::invalid(format_args!(
                "invalid configuration {}: {}",
                path.display(),
                e.to_string().trim_end()
            ))
        })?;
        let smtp = match table.remove("smtp") {
            None => toml::Table::new(),
            Some(toml::Value::Table(smtp)) => smtp,
            Some(_) => return Err(at("smtp", &"expected a table ([smtp])")),
        };
        let settings = match table.remove("settings") {
            None => toml::Table::new(),
            Some(toml::Value::Table(settings)) => settings,
            Some(_) => return Err(at("settings", &"expected a table ([settings])")),
        };
        let entries = table.into_iter().chain(
            smtp.into_iter()
                .map(|(key, value)| (format!("smtp.{key}"), value)),
        );
        let folder = path.parent().unwrap_or(Path::new(""));
        let mut file = BTreeMap::new();
        for (key, value) in entries {
            if let Some(variable) = variables::secret_for_key(&key) {
                return Err(at(
                    &key,
                    &format_args!(
                        "secrets are not read from the configuration file: set {variable} in the environment"
                    ),
                ));
            }
            let Some(variable) = variables::by_key(&key) else {
                return Err(at(
                    &key,
                    &format_args!(
                        "unknown key; the keys are {}, and [settings]",
                        variables::file_keys().join(", ")
                    ),
                ));
            };
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(n) => n.to_string(),
                _ => return Err(at(&key, &"expected a string or a number")),
            };
            let text = match variable.location {
                Location::DatabaseUrl => {
                    if rappels_sqlx::holds_secret(&text) {
                        return Err(at(
                            &key,
                            &format_args!(
                                "the URL holds a password, and secrets are not read from the configuration \
                                 file: put it in {DATABASE_URL}, or use PGPASSWORD or a .pgpass file"
                            ),
                        ));
                    }
                    crate::urls::relative_sqlite_url(folder, &text)
                }
                Location::FileMailer => match text.strip_prefix("file:") {
                    Some(dir) if !dir.trim().is_empty() => {
                        format!("file:{}", folder.join(dir).display())
                    }
                    _ => text,
                },
                Location::Path => folder.join(&text).display().to_string(),
                Location::None => text,
            };
            if text.trim().is_empty() {
                continue;
            }
            let origin = Origin::File {
                path: path.to_owned(),
                key: key.clone(),
            };
            file.insert(variable.name, Value { text, origin });
        }
        let mut overrides = SettingsOverrides::default();
        for (key, value) in settings {
            let json =
                serde_json::to_value(&value).map_err(|e| at(&format!("settings.{key}"), &e))?;
            overrides.set(
                &key,
                json,
                Origin::File {
                    path: path.to_owned(),
                    key: format!("settings.{key}"),
                },
            )?;
        }
        Ok(Config {
            path: Some(path.to_owned()),
            file,
            settings: overrides,
        })
    }

    /// The file read, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The settings keys set by the file or the environment.
    pub(crate) fn settings(&self) -> &SettingsOverrides {
        &self.settings
    }

    /// The templates: the shipped ones, with those of the `templates` folder over them. Every
    /// `.hbs` file of the folder must name a shipped template (`weekly.fr.subject.hbs`…), so
    /// that a typo is an error rather than a template silently not used; other files (a
    /// README) are left alone.
    pub(crate) fn templates(&self) -> Result<Templates, Failure> {
        let Some(folder) = self.get(TEMPLATES)? else {
            return Ok(Templates::embedded());
        };
        let invalid = |message: &dyn fmt::Display| {
            Failure::invalid(format_args!("{}: {message}", folder.origin))
        };
        let entries = std::fs::read_dir(&folder.text)
            .map_err(|e| invalid(&format_args!("cannot read the folder {}: {e}", folder.text)))?;
        let mut sources = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| invalid(&format_args!("cannot read the folder {}: {e}", folder.text)))?
                .path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".hbs") {
                continue;
            }
            let source = std::fs::read_to_string(&path)
                .map_err(|e| invalid(&format_args!("cannot read {}: {e}", path.display())))?;
            sources.push((name.to_owned(), source));
        }
        sources.sort();
        let count = sources.len();
        let templates = Templates::with_overrides(sources).map_err(|e| {
            invalid(&format_args!(
                "{e} (in {}; the names are {{kind}}.{{fr|en}}.{{subject|text|html}}.hbs and footer.{{fr|en}}.{{text|html}}.hbs)",
                folder.text
            ))
        })?;
        tracing::debug!(folder = %folder.text, replaced = count, "templates read");
        Ok(templates)
    }
}

/// The configuration file in force: the one named (`explicit`, which must then exist), else
/// `./rappels.toml` when there is one.
pub(crate) fn file_in_use(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_owned()),
        None => Path::new(DEFAULT_CONFIG)
            .is_file()
            .then(|| PathBuf::from(DEFAULT_CONFIG)),
    }
}

/// The file the user names: `--config`, else `RAPPELS_CONFIG`. The variable is read here
/// rather than with clap's `env`, so that `RAPPELS_CONFIG=` (blank, as a crontab may say)
/// names no file, as a blank value means "unset" for every other variable.
pub(crate) fn named_file(flag: Option<PathBuf>) -> Result<Option<PathBuf>, Failure> {
    match flag {
        Some(path) => Ok(Some(path)),
        None => Ok(env_var(CONFIG)?.map(|value| PathBuf::from(value.text))),
    }
}

/// Reads the settings variables from the environment (a trait so tests can give values).
pub(crate) trait SettingsEnvironment {
    /// The value of `RAPPELS_{KEY}` for the settings key `key`.
    fn setting(&self, key: &str) -> Result<Option<Value>, Failure>;
}

/// The process environment.
struct EnvSettings;

impl SettingsEnvironment for EnvSettings {
    fn setting(&self, key: &str) -> Result<Option<Value>, Failure> {
        env_var(&settings_variable(key))
    }
}

/// `grace_minutes` → `RAPPELS_GRACE_MINUTES`.
pub(crate) fn settings_variable(key: &str) -> String {
    format!("RAPPELS_{}", key.to_ascii_uppercase())
}

/// The settings keys, in alphabetical order: the fields of [`Settings`] as they serialise,
/// so the list cannot drift from the core.
pub(crate) fn settings_keys() -> Vec<String> {
    match serde_json::to_value(Settings::default()) {
        Ok(Json::Object(fields)) => fields.into_iter().map(|(key, _)| key).collect(),
        _ => Vec::new(),
    }
}

/// The settings keys set by the configuration, each checked by the core on its own so that
/// an error names the one at fault.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SettingsOverrides {
    values: BTreeMap<String, (Json, Origin)>,
}

impl SettingsOverrides {
    /// Sets `key`, checking it against the core's settings (an unknown key or an invalid
    /// value is an error naming `origin`).
    fn set(&mut self, key: &str, value: Json, origin: Origin) -> Result<(), Failure> {
        if !settings_keys().iter().any(|k| k == key) {
            return Err(Failure::invalid(format_args!(
                "{origin}: unknown setting; the settings are {}",
                settings_keys().join(", ")
            )));
        }
        let alone = Json::Object([(key.to_owned(), value.clone())].into_iter().collect());
        serde_json::from_value::<Settings>(alone)
            .map_err(|e| Failure::invalid(format_args!("{origin}: {e}")))?;
        self.values.insert(key.to_owned(), (value, origin));
        Ok(())
    }

    /// The `RAPPELS_{KEY}` variables over the file's values. A variable's text is read as
    /// JSON when it is JSON (`120`, `[3, 7]`, `null`), as a comma-separated list of numbers
    /// for a list setting (`3,7,14`), and as text otherwise (`Europe/Paris`, `18:30`).
    fn read_environment(&mut self, env: &impl SettingsEnvironment) -> Result<(), Failure> {
        let defaults = serde_json::to_value(Settings::default()).unwrap_or(Json::Null);
        for key in settings_keys() {
            let Some(value) = env.setting(&key)? else {
                continue;
            };
            let text = value.text.trim();
            let json = serde_json::from_str::<Json>(text).unwrap_or_else(|_| {
                if defaults.get(&key).is_some_and(Json::is_array) {
                    Json::Array(
                        text.split(',')
                            .map(|item| {
                                let item = item.trim();
                                item.parse::<u64>()
                                    .map_or_else(|_| Json::String(item.to_owned()), Json::from)
                            })
                            .collect(),
                    )
                } else {
                    Json::String(text.to_owned())
                }
            });
            self.set(&key, json, value.origin)?;
        }
        Ok(())
    }

    /// True when no key is set.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `base` with every key set here replacing its own.
    pub(crate) fn apply(&self, base: &Settings) -> Result<Settings, Failure> {
        if self.values.is_empty() {
            return Ok(base.clone());
        }
        let mut fields = match serde_json::to_value(base) {
            Ok(Json::Object(fields)) => fields,
            _ => {
                return Err(Failure::invalid(
                    "the settings cannot be represented as JSON",
                ));
            }
        };
        for (key, (value, _)) in &self.values {
            fields.insert(key.clone(), value.clone());
        }
        serde_json::from_value(Json::Object(fields)).map_err(|e| {
            let origins: Vec<String> = self.values.values().map(|(_, o)| o.to_string()).collect();
            Failure::invalid(format_args!("{}: {e}", origins.join(", ")))
        })
    }
}

/// The keys whose values differ between two settings, as `key: old → new`, for the log line
/// that says what the configuration changed.
pub(crate) fn settings_changes(before: &Settings, after: &Settings) -> Vec<String> {
    let (Ok(Json::Object(before)), Ok(Json::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, value)| {
            let old = before.get(key).map_or_else(String::new, Json::to_string);
            format!("{key}: {old} → {value}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("conf/rappels.toml"), text).map_err(|f| {
            assert!(matches!(f, Failure::Invalid(_)), "{f}");
            f.to_string()
        })
    }

    fn file_value(config: &Config, name: &'static str) -> Option<String> {
        config.file.get(name).map(|v| v.text.clone())
    }

    #[test]
    fn keys_map_to_their_variables_and_paths_follow_the_file() {
        let config = parse(
            r#"
            database_url = "sqlite://rappels.db"
            mailer = "file:outbox"
            from = "École <noreply@ecole.example.org>"
            site_url = "https://ecole.example.org"
            templates = "templates"
            [smtp]
            host = "smtp.example.org"
            port = 2525
            tls = "none"
            user = "school"
            pool_size = 2
            timeout = 10
            "#,
        )
        .unwrap();
        assert_eq!(
            file_value(&config, DATABASE_URL).as_deref(),
            Some("sqlite://conf/rappels.db")
        );
        assert_eq!(
            file_value(&config, crate::variables::MAILER).as_deref(),
            Some("file:conf/outbox")
        );
        assert_eq!(
            file_value(&config, TEMPLATES).as_deref(),
            Some("conf/templates")
        );
        assert_eq!(
            file_value(&config, crate::variables::SMTP_PORT).as_deref(),
            Some("2525")
        );
        let origin = &config.file[crate::variables::SMTP_PORT].origin;
        assert_eq!(origin.to_string(), "conf/rappels.toml: smtp.port");
        assert_eq!(config.path(), Some(Path::new("conf/rappels.toml")));
        // Absolute and in-memory SQLite URLs and PostgreSQL URLs are left as written.
        for url in [
            "sqlite:///var/lib/rappels.db",
            "sqlite::memory:",
            "postgres://rappels@db/rappels",
        ] {
            let config = parse(&format!("database_url = {url:?}")).unwrap();
            assert_eq!(file_value(&config, DATABASE_URL).as_deref(), Some(url));
        }
    }

    #[test]
    fn secrets_are_refused_with_the_variable_to_use() {
        for (text, expected) in [
            (
                "[smtp]\npassword = \"hunter2\"",
                "conf/rappels.toml: smtp.password: secrets are not read from the configuration file: set RAPPELS_SMTP_PASSWORD",
            ),
            (
                "secret = \"0123456789abcdef\"",
                "conf/rappels.toml: secret: secrets are not read from the configuration file: set RAPPELS_SECRET",
            ),
            (
                "database_url = \"postgres://app:s3cret@db/rappels\"",
                "conf/rappels.toml: database_url: the URL holds a password",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.starts_with(expected), "{text}: {error}");
            assert!(
                !error.contains("hunter2") && !error.contains("s3cret"),
                "{error}"
            );
        }
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        for (text, expected) in [
            (
                "mailer = ",
                "invalid configuration conf/rappels.toml: TOML parse error at line 1",
            ),
            (
                "mailr = \"stdout\"",
                "conf/rappels.toml: mailr: unknown key; the keys are database_url, mailer",
            ),
            (
                "[smtp]\nhots = \"h\"",
                "conf/rappels.toml: smtp.hots: unknown key",
            ),
            ("smtp = 3", "conf/rappels.toml: smtp: expected a table"),
            (
                "[smtp]\nport = true",
                "conf/rappels.toml: smtp.port: expected a string or a number",
            ),
            (
                "[settings]\ngrace_minutes = 5000",
                "conf/rappels.toml: settings.grace_minutes: grace_minutes must be an integer from 1 to 1440, got 5000",
            ),
            (
                "[settings]\ntimezone = \"Europe/Pari\"",
                "conf/rappels.toml: settings.timezone: unknown time zone",
            ),
            (
                "[settings]\ngrace = 10",
                "conf/rappels.toml: settings.grace: unknown setting; the settings are grace_minutes, inactivity_days",
            ),
            (
                "[settings]\nweekly_day = \"Sunday\"",
                "conf/rappels.toml: settings.weekly_day",
            ),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        // Through the same lookup the commands use, with a variable no other test sets.
        let config = parse("[smtp]\ntimeout = 10").unwrap();
        let value = config.get(crate::variables::SMTP_TIMEOUT).unwrap().unwrap();
        assert_eq!(
            (value.text.as_str(), value.origin.to_string().as_str()),
            ("10", "conf/rappels.toml: smtp.timeout")
        );
        assert_eq!(config.get(crate::variables::SMTP_USER).unwrap(), None);
    }

    impl SettingsEnvironment for HashMap<&str, &str> {
        fn setting(&self, key: &str) -> Result<Option<Value>, Failure> {
            let name = settings_variable(key);
            Ok(self.get(name.as_str()).map(|text| Value::env(&name, *text)))
        }
    }

    #[test]
    fn settings_overlay_the_stored_ones_key_by_key() {
        let mut config = parse(
            "[settings]\nsession_eve_time = \"19:00\"\ninactivity_days = [3]\ninactivity_repeat_days = 2\ngrace_minutes = 60",
        )
        .unwrap();
        config
            .settings
            .read_environment(&HashMap::from([
                ("RAPPELS_GRACE_MINUTES", "120"),
                ("RAPPELS_TIMEZONE", "Africa/Abidjan"),
                ("RAPPELS_INACTIVITY_DAYS", "2, 5"),
            ]))
            .unwrap();
        let stored = Settings {
            weekly_time: rappels_core::domain::TimeOfDay::parse("21:00").unwrap(),
            ..Settings::default()
        };
        let settings = config.settings().apply(&stored).unwrap();
        assert_eq!(settings.session_eve_time.to_string(), "19:00");
        assert_eq!(settings.grace_minutes.get(), 120);
        assert_eq!(settings.timezone.name(), "Africa/Abidjan");
        assert_eq!(settings.inactivity_days, [2, 5]);
        assert_eq!(settings.inactivity_repeat_days.map(|n| n.get()), Some(2));
        // Keys the configuration does not set keep the stored value.
        assert_eq!(settings.weekly_time.to_string(), "21:00");
        assert_eq!(settings.session_day_time.to_string(), "08:00");
        assert_eq!(
            settings_changes(&stored, &settings),
            [
                "grace_minutes: 360 → 120",
                "inactivity_days: [3,7,14,30] → [2,5]",
                "inactivity_repeat_days: null → 2",
                "session_eve_time: \"18:30\" → \"19:00\"",
                "timezone: \"Europe/Paris\" → \"Africa/Abidjan\"",
            ]
        );
        assert!(SettingsOverrides::default().apply(&stored).unwrap() == stored);
    }

    #[test]
    fn settings_variables_are_checked_and_named() {
        for (name, text, expected) in [
            (
                "RAPPELS_GRACE_MINUTES",
                "0",
                "RAPPELS_GRACE_MINUTES: grace_minutes must be an integer from 1 to 1440, got 0",
            ),
            (
                "RAPPELS_INACTIVITY_DAYS",
                "3,x",
                "RAPPELS_INACTIVITY_DAYS: ",
            ),
            ("RAPPELS_WEEKLY_TIME", "25:00", "RAPPELS_WEEKLY_TIME: "),
        ] {
            let mut overrides = SettingsOverrides::default();
            let error = overrides
                .read_environment(&HashMap::from([(name, text)]))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(expected), "{name}={text}: {error}");
        }
        let mut overrides = SettingsOverrides::default();
        overrides
            .read_environment(&HashMap::from([("RAPPELS_INACTIVITY_REPEAT_DAYS", "null")]))
            .unwrap();
        let stored = Settings {
            inactivity_repeat_days: std::num::NonZeroU32::new(1),
            ..Settings::default()
        };
        assert_eq!(
            overrides.apply(&stored).unwrap().inactivity_repeat_days,
            None
        );
    }

    #[test]
    fn the_settings_keys_are_rules_md_s() {
        assert_eq!(
            settings_keys(),
            [
                "grace_minutes",
                "inactivity_days",
                "inactivity_repeat_days",
                "inactivity_time",
                "manual_max_per_day",
                "session_day_time",
                "session_eve_time",
                "timezone",
                "weekly_day",
                "weekly_time",
            ]
        );
    }
}
