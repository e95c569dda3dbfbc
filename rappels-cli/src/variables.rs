//! Every variable rappels reads, in one table: its key in `rappels.toml`, what it means, its
//! default and a placeholder. The configuration file's keys, the secrets it refuses, the
//! variables `--help` lists, the ones `rappels cron` asks to fill in and the keys `rappels
//! init` writes are all read from [`VARIABLES`], so a new variable is added in one place.
//!
//! The settings of RULES.md (`[settings]`, `RAPPELS_GRACE_MINUTES`…) are not in the table:
//! their names come from the core's `Settings` itself (see `config::settings_keys`).

/// `RAPPELS_CONFIG`: the path of the configuration file.
pub(crate) const CONFIG: &str = "RAPPELS_CONFIG";
/// `RAPPELS_DATABASE_URL`: the database, for rappels only.
pub(crate) const DATABASE_URL: &str = "RAPPELS_DATABASE_URL";
/// `RAPPELS_MAILER`: `smtp`, `file:DIR` or `stdout`.
pub(crate) const MAILER: &str = "RAPPELS_MAILER";
/// `RAPPELS_FROM`: the sender mailbox.
pub(crate) const FROM: &str = "RAPPELS_FROM";
/// `RAPPELS_SITE_URL`: the platform's address, for links and unsubscribe addresses.
pub(crate) const SITE_URL: &str = "RAPPELS_SITE_URL";
/// `RAPPELS_PLATFORM_NAME`: the name messages are signed with.
pub(crate) const PLATFORM_NAME: &str = "RAPPELS_PLATFORM_NAME";
/// `RAPPELS_SESSION_LINK`: the pattern of a session's link in messages.
pub(crate) const SESSION_LINK: &str = "RAPPELS_SESSION_LINK";
/// `RAPPELS_TEMPLATES`: a folder of templates replacing the shipped ones.
pub(crate) const TEMPLATES: &str = "RAPPELS_TEMPLATES";
/// `RAPPELS_SMTP_HOST`: the SMTP server, required with `RAPPELS_MAILER=smtp`.
pub(crate) const SMTP_HOST: &str = "RAPPELS_SMTP_HOST";
/// `RAPPELS_SMTP_PORT`: the port, by default the TLS mode's usual one.
pub(crate) const SMTP_PORT: &str = "RAPPELS_SMTP_PORT";
/// `RAPPELS_SMTP_TLS`: `starttls` (default), `tls` or `none`.
pub(crate) const SMTP_TLS: &str = "RAPPELS_SMTP_TLS";
/// `RAPPELS_SMTP_USER`: the user to authenticate as.
pub(crate) const SMTP_USER: &str = "RAPPELS_SMTP_USER";
/// `RAPPELS_SMTP_PASSWORD`: the user's password.
pub(crate) const SMTP_PASSWORD: &str = "RAPPELS_SMTP_PASSWORD";
/// `RAPPELS_SMTP_POOL_SIZE`: connections kept to the server (default 4).
pub(crate) const SMTP_POOL_SIZE: &str = "RAPPELS_SMTP_POOL_SIZE";
/// `RAPPELS_SMTP_TIMEOUT`: seconds allowed to connect and for each command (default 30).
pub(crate) const SMTP_TIMEOUT: &str = "RAPPELS_SMTP_TIMEOUT";
/// `RAPPELS_LEASE`: seconds a runner holds the reminders it claims (default 300).
pub(crate) const LEASE: &str = "RAPPELS_LEASE";
/// `RAPPELS_SECRET`: the HMAC key of unsubscribe tokens.
pub(crate) const SECRET: &str = "RAPPELS_SECRET";

/// The embedded default: a SQLite file in the working directory, which needs no server.
pub(crate) const DEFAULT_URL: &str = "sqlite://rappels.db";

/// Where messages go when nothing is configured: `.eml` files in the working directory, so
/// that a first run needs no mail server and sends nothing to real people.
pub(crate) const DEFAULT_MAILER: &str = "file:rappels-outbox";
/// The sender when nothing is configured. lettre accepts a domain without a dot, and
/// `localhost` says plainly that it must be replaced before mail goes to real people.
pub(crate) const DEFAULT_FROM: &str = "rappels <noreply@localhost>";

/// How a value of the file is read relative to the file's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    /// Not a path.
    None,
    /// A folder or a file.
    Path,
    /// `file:DIR`: the folder after `file:`.
    FileMailer,
    /// A database URL: a relative SQLite path.
    DatabaseUrl,
}

/// One variable.
#[derive(Debug)]
pub(crate) struct Variable {
    /// The environment variable.
    pub(crate) name: &'static str,
    /// Its key in `rappels.toml` (`smtp.host`); `None` for a secret, which the file refuses.
    pub(crate) key: Option<&'static str>,
    /// For a secret: the keys the file refuses in its name, so that a secret written into
    /// the file is an error naming this variable rather than an unknown key.
    pub(crate) refused_keys: &'static [&'static str],
    /// One line for `--help` (with the default, if any, in words).
    pub(crate) help: &'static str,
    /// The value in force when none is given, as written in the file; empty when there is
    /// none or it depends on another value.
    pub(crate) default: &'static str,
    /// A placeholder for the lists to fill in (`rappels cron`, `rappels init`); never a
    /// real secret. Empty when it is not listed there.
    pub(crate) example: &'static str,
    /// Listed in the help of the commands that send.
    pub(crate) mail: bool,
    /// How a value from the file is made relative to the file's folder.
    pub(crate) location: Location,
}

impl Variable {
    const fn new(name: &'static str, key: &'static str, help: &'static str) -> Variable {
        Variable {
            name,
            key: Some(key),
            refused_keys: &[],
            help,
            default: "",
            example: "",
            mail: true,
            location: Location::None,
        }
    }

    const fn default(mut self, default: &'static str) -> Variable {
        self.default = default;
        self
    }

    const fn example(mut self, example: &'static str) -> Variable {
        self.example = example;
        self
    }

    const fn located(mut self, location: Location) -> Variable {
        self.location = location;
        self
    }

    const fn not_mail(mut self) -> Variable {
        self.mail = false;
        self
    }

    const fn secret(
        name: &'static str,
        refused: &'static [&'static str],
        help: &'static str,
    ) -> Variable {
        Variable {
            name,
            key: None,
            refused_keys: refused,
            help,
            default: "",
            example: "",
            mail: true,
            location: Location::None,
        }
    }
}

/// Every variable rappels reads, in the order help and files list them.
pub(crate) static VARIABLES: [Variable; 16] = [
    Variable::new(
        DATABASE_URL,
        "database_url",
        "sqlite://PATH (one file, nothing to install) or postgres://USER@HOST/DB",
    )
    .default(DEFAULT_URL)
    .located(Location::DatabaseUrl)
    .not_mail(),
    Variable::new(
        MAILER,
        "mailer",
        "smtp, file:DIR (one .eml file per reminder) or stdout",
    )
    .default(DEFAULT_MAILER)
    .example("smtp")
    .located(Location::FileMailer),
    Variable::new(FROM, "from", "the sender; its domain ends every Message-ID")
        .default(DEFAULT_FROM)
        .example("École Horizon <noreply@example.org>"),
    Variable::new(
        SITE_URL,
        "site_url",
        "the platform's address, for links and unsubscribe links",
    )
    .default("http://localhost:8000")
    .example("https://www.example.org"),
    Variable::new(
        PLATFORM_NAME,
        "platform_name",
        "the name messages are signed with",
    )
    .default("MyKarfour")
    .example("École Horizon"),
    Variable::new(
        SESSION_LINK,
        "session_link",
        "a session's link, from {{site_url}}, {{session_id}}, {{student_id}}",
    )
    .default("{{site_url}}/sessions/{{session_id}}/chat"),
    Variable::new(
        TEMPLATES,
        "templates",
        "a folder of .hbs templates replacing the shipped ones",
    )
    .example("templates")
    .located(Location::Path)
    .not_mail(),
    Variable::new(
        SMTP_HOST,
        "smtp.host",
        "the SMTP server (required with smtp)",
    )
    .example("smtp.example.org"),
    Variable::new(
        SMTP_PORT,
        "smtp.port",
        "default: 587 with starttls, 465 with tls, 25 with none",
    )
    .example("587"),
    Variable::new(
        SMTP_TLS,
        "smtp.tls",
        "starttls, tls, or none (only for a relay you trust)",
    )
    .default("starttls"),
    Variable::new(
        SMTP_USER,
        "smtp.user",
        "the user to authenticate as, if the server requires it",
    )
    .example("rappels@example.org"),
    Variable::secret(
        SMTP_PASSWORD,
        &["smtp.password", "password"],
        "its password (read only from the environment, never printed)",
    )
    .example("change-me"),
    Variable::new(
        SMTP_POOL_SIZE,
        "smtp.pool_size",
        "connections kept open to the server, and messages in flight",
    )
    .default("4"),
    Variable::new(
        SMTP_TIMEOUT,
        "smtp.timeout",
        "seconds to connect and for each command",
    )
    .default("30"),
    Variable::new(
        LEASE,
        "lease",
        "seconds a runner holds the reminders it claims before another may take them over; \
         it sends a claim only in the first half, so at least twice the SMTP timeout",
    )
    .default("300"),
    Variable::secret(
        SECRET,
        &["secret", "unsubscribe_secret"],
        "the key of one-click unsubscribe links, 16 bytes at least; without it reminders \
         carry no List-Unsubscribe header",
    )
    .example("change-me-to-32-random-characters"),
];

/// Every variable.
pub(crate) fn all() -> impl Iterator<Item = &'static Variable> {
    VARIABLES.iter()
}

/// The variable of the file's key `key`.
pub(crate) fn by_key(key: &str) -> Option<&'static Variable> {
    all().find(|variable| variable.key == Some(key))
}

/// The secret variable a file key would hold (`smtp.password` → `RAPPELS_SMTP_PASSWORD`).
pub(crate) fn secret_for_key(key: &str) -> Option<&'static str> {
    all()
        .find(|variable| variable.refused_keys.contains(&key))
        .map(|variable| variable.name)
}

/// The file's keys, for the message naming an unknown one.
pub(crate) fn file_keys() -> Vec<&'static str> {
    all().filter_map(|variable| variable.key).collect()
}

/// The variables to fill in on a server (`rappels cron`), with their placeholders.
pub(crate) fn placeholders() -> impl Iterator<Item = (&'static str, &'static str)> {
    all()
        .filter(|variable| variable.mail && !variable.example.is_empty())
        .map(|variable| (variable.name, variable.example))
}

/// The mail variables, as `--help` of the commands that send lists them.
pub(crate) fn mail_help() -> String {
    let mut out = String::from(
        "Mail configuration (environment, over the keys of rappels.toml; see `rappels init`):",
    );
    for variable in all().filter(|variable| variable.mail) {
        out.push_str(&format!("\n  {:<22} {}", variable.name, variable.help));
        if !variable.default.is_empty() {
            out.push_str(&format!(" (default: {})", variable.default));
        }
    }
    out
}

/// The keys of `rappels.toml` with their comments, for `rappels init`: the top-level keys
/// with a default written out (the database as `database_url` says), the others and the
/// `[smtp]` table commented out with their default or a placeholder.
pub(crate) fn file_text(database_url: &str) -> String {
    let line = |variable: &Variable| {
        let key = variable.key.unwrap_or_default();
        let key = key.strip_prefix("smtp.").unwrap_or(key);
        let value = match variable.name {
            DATABASE_URL => database_url,
            _ if !variable.default.is_empty() => variable.default,
            _ => variable.example,
        };
        let written = !value.is_empty()
            && !variable.name.starts_with("RAPPELS_SMTP_")
            && (variable.name == DATABASE_URL || !variable.default.is_empty());
        let value = if value.is_empty() { "…" } else { value };
        let toml = match value.parse::<u32>() {
            Ok(number) => number.to_string(),
            Err(_) => toml::Value::String(value.to_owned()).to_string(),
        };
        format!(
            "# {} ({}).\n{}{key} = {toml}\n",
            variable.help,
            variable.name,
            if written { "" } else { "# " }
        )
    };
    let in_file = || all().filter(|variable| variable.key.is_some());
    let mut out = String::new();
    for variable in in_file().filter(|v| !v.name.starts_with("RAPPELS_SMTP_")) {
        out.push_str(&line(variable));
        out.push('\n');
    }
    out.push_str("[smtp]\n# Used when mailer = \"smtp\".\n");
    for variable in in_file().filter(|v| v.name.starts_with("RAPPELS_SMTP_")) {
        out.push_str(&line(variable));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_ones_in_force() {
        let messages = rappels_core::message::MessageConfig::default();
        let default = |name| all().find(|v| v.name == name).unwrap().default;
        assert_eq!(default(SITE_URL), messages.site_url);
        assert_eq!(default(PLATFORM_NAME), messages.platform_name);
        assert_eq!(default(SESSION_LINK), messages.session_link);
    }

    #[test]
    fn names_follow_the_keys() {
        for variable in all() {
            if let Some(key) = variable.key {
                let expected = format!("RAPPELS_{}", key.replace('.', "_").to_ascii_uppercase());
                assert_eq!(variable.name, expected, "{variable:?}");
            }
        }
    }

    #[test]
    fn every_name_is_listed_once() {
        let mut names: Vec<&str> = all().map(|variable| variable.name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(!names.contains(&CONFIG));
    }

    #[test]
    fn secrets_have_no_key_and_are_refused_by_name() {
        assert_eq!(secret_for_key("smtp.password"), Some(SMTP_PASSWORD));
        assert_eq!(secret_for_key("unsubscribe_secret"), Some(SECRET));
        assert_eq!(secret_for_key("smtp.host"), None);
        assert!(
            all()
                .filter(|v| v.key.is_none())
                .all(|v| !v.refused_keys.is_empty())
        );
    }
}
