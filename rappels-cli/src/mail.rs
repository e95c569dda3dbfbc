//! Mail configuration — which mailer, the sender, the site's address and the unsubscribe
//! secret — and the mailer it builds.
//!
//! Every value is read through [`Values`]: the environment over `rappels.toml`. Values are
//! checked here, before any database or server is touched, and an invalid one is a usage
//! error (exit 2) that names its variable or the file's key. The SMTP password and the
//! unsubscribe secret are read from the environment only (the file refuses them); the
//! password is wrapped in `rappels_smtp::Password` at once and never printed or logged.

use std::io::Stdout;
use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::Mailbox;
use rappels_core::message::{MessageConfig, SiteUrl, Templates};
use rappels_core::ports::{Delivery, Email, MailError, Mailer};
use rappels_core::unsubscribe::{UnsubscribeConfig, UnsubscribeSecret};
use rappels_smtp::{
    FileMailer, Password, SmtpError, SmtpMailer, SmtpSettings, TlsMode, WriterMailer, parse_sender,
    stdout_mailer,
};

use crate::config::{Value, Values};
use crate::failure::Failure;
use crate::variables::{
    DEFAULT_FROM, DEFAULT_MAILER, FROM, LEASE, MAILER, PLATFORM_NAME, SECRET, SESSION_LINK,
    SITE_URL, SMTP_HOST, SMTP_PASSWORD, SMTP_POOL_SIZE, SMTP_PORT, SMTP_TIMEOUT, SMTP_TLS,
    SMTP_USER,
};

/// Where the configured mailer delivers.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    /// A mail server.
    Smtp(SmtpSettings),
    /// `.eml` files in a folder.
    File(PathBuf),
    /// Standard output.
    Stdout,
}

/// The mail configuration in force.
#[derive(Debug, Clone)]
pub(crate) struct MailConfig {
    /// Where messages go.
    pub(crate) transport: Transport,
    /// The sender.
    pub(crate) from: Mailbox,
    /// The platform's address (no trailing `/`).
    pub(crate) site_url: String,
    /// The name messages are signed with.
    pub(crate) platform_name: String,
    /// The pattern of a session's link, checked to render.
    pub(crate) session_link: String,
    /// Messages in flight at once: `smtp.pool_size` (`RAPPELS_SMTP_POOL_SIZE`), which sizes
    /// the SMTP pool and the file mailer's concurrent writes alike.
    pub(crate) concurrency: Option<u32>,
}

impl MailConfig {
    /// Reads and checks the mailer, the sender and the site's address. The SMTP variables
    /// are only read when `RAPPELS_MAILER=smtp`.
    pub(crate) fn read(values: &impl Values) -> Result<MailConfig, Failure> {
        let from = values
            .get(FROM)?
            .unwrap_or_else(|| Value::env(FROM, DEFAULT_FROM));
        let from = parse_sender(&from.text)
            .map_err(|e| Failure::invalid(format_args!("{}: {e}", from.origin)))?;
        let site_url = site_url(values)?;
        let mailer = values
            .get(MAILER)?
            .unwrap_or_else(|| Value::env(MAILER, DEFAULT_MAILER));
        let transport = match mailer.text.as_str() {
            "smtp" => Transport::Smtp(smtp_settings(values, from.clone())?),
            "stdout" => Transport::Stdout,
            other => match other.strip_prefix("file:") {
                Some(dir) if !dir.trim().is_empty() => Transport::File(PathBuf::from(dir)),
                Some(_) => {
                    return Err(Failure::invalid(format_args!(
                        "{}: file: needs a folder, as in file:rappels-outbox",
                        mailer.origin
                    )));
                }
                None => {
                    return Err(Failure::invalid(format_args!(
                        "{}: unknown mailer {other:?}: expected smtp, file:DIR or stdout",
                        mailer.origin
                    )));
                }
            },
        };
        let defaults = MessageConfig::default();
        let platform_name = match values.get(PLATFORM_NAME)? {
            Some(name) => platform_name(&name)?,
            None => defaults.platform_name,
        };
        let session_link = match values.get(SESSION_LINK)? {
            Some(link) => {
                let candidate = MessageConfig {
                    site_url: site_url.clone(),
                    session_link: link.text.trim().to_owned(),
                    ..MessageConfig::default()
                };
                Templates::embedded()
                    .check_config(&candidate)
                    .map_err(|e| Failure::invalid(format_args!("{}: {e:#}", link.origin)))?;
                candidate.session_link
            }
            None => defaults.session_link,
        };
        Ok(MailConfig {
            transport,
            from,
            site_url,
            platform_name,
            session_link,
            concurrency: pool_size(values)?,
        })
    }

    /// The links and the signature of messages.
    pub(crate) fn message_config(&self) -> MessageConfig {
        MessageConfig {
            site_url: self.site_url.clone(),
            session_link: self.session_link.clone(),
            platform_name: self.platform_name.clone(),
        }
    }

    /// The right-hand side of Message-IDs: the sender's domain, which the platform controls,
    /// so ids stay unique across platforms.
    pub(crate) fn message_id_domain(&self) -> String {
        self.from.email.domain().to_owned()
    }

    /// Where messages go, for people: `smtp 127.0.0.1:25 (no TLS)`, `folder rappels-outbox`,
    /// `standard output`.
    pub(crate) fn destination(&self) -> String {
        match &self.transport {
            Transport::Smtp(settings) => {
                let tls = match settings.tls {
                    TlsMode::StartTls => "STARTTLS",
                    TlsMode::Tls => "TLS",
                    TlsMode::None => "no TLS",
                };
                format!("smtp {}:{} ({tls})", settings.host, settings.port())
            }
            Transport::File(folder) => format!("folder {}", folder.display()),
            Transport::Stdout => "standard output".to_owned(),
        }
    }

    /// Builds the mailer. Call it inside the Tokio runtime (the SMTP pool runs on it), and
    /// only when something will be sent: the file mailer creates its folder.
    pub(crate) fn mailer(&self) -> Result<ConfiguredMailer, Failure> {
        Ok(match &self.transport {
            Transport::Smtp(settings) => {
                ConfiguredMailer::Smtp(SmtpMailer::new(settings.clone()).map_err(setup_failure)?)
            }
            Transport::File(folder) => {
                let files = FileMailer::new(folder, self.from.clone()).map_err(setup_failure)?;
                ConfiguredMailer::File(match self.concurrency {
                    Some(n) => files.with_concurrency(n as usize),
                    None => files,
                })
            }
            Transport::Stdout => ConfiguredMailer::Stdout(stdout_mailer(self.from.clone())),
        })
    }
}

/// A mailer's set-up error: configuration is the user's to fix (exit 2), a folder that
/// cannot be created is an IO failure (exit 1).
fn setup_failure(error: SmtpError) -> Failure {
    match error {
        SmtpError::Folder { .. } => Failure::Failed(anyhow::anyhow!("{MAILER}: {error}")),
        SmtpError::Tls(_) => Failure::invalid(format_args!("{SMTP_HOST}: {error}")),
        SmtpError::InvalidSender { .. } => Failure::invalid(format_args!("{FROM}: {error}")),
        SmtpError::InvalidTlsMode(_) => Failure::invalid(format_args!("{SMTP_TLS}: {error}")),
        SmtpError::MissingPassword => Failure::invalid(error),
    }
}

/// `RAPPELS_SMTP_POOL_SIZE` (`smtp.pool_size`), a positive whole number, when set.
fn pool_size(values: &impl Values) -> Result<Option<u32>, Failure> {
    values.get(SMTP_POOL_SIZE)?.map(positive).transpose()
}

/// A positive whole number, or an error naming where the value came from.
fn positive(raw: Value) -> Result<u32, Failure> {
    raw.text
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            Failure::invalid(format_args!(
                "{}: {:?} is not a positive whole number",
                raw.origin, raw.text
            ))
        })
}

fn smtp_settings(values: &impl Values, from: Mailbox) -> Result<SmtpSettings, Failure> {
    let host = values.get(SMTP_HOST)?.ok_or_else(|| {
        Failure::invalid(format_args!(
            "{SMTP_HOST} is required with {MAILER}=smtp: set it, or host in the [smtp] table of the configuration file"
        ))
    })?;
    let origin = &host.origin;
    let host = host.text.trim();
    if host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(Failure::invalid(format_args!(
            "{origin}: {host:?} is not a host name or address"
        )));
    }
    let mut settings = SmtpSettings::new(host, from);
    if let Some(tls) = values.get(SMTP_TLS)? {
        settings.tls = tls
            .text
            .parse::<TlsMode>()
            .map_err(|e| Failure::invalid(format_args!("{}: {e}", tls.origin)))?;
    }
    if let Some(port) = values.get(SMTP_PORT)? {
        settings.port = Some(
            port.text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| {
                    Failure::invalid(format_args!(
                        "{}: {:?} is not a port number (1 to 65535)",
                        port.origin, port.text
                    ))
                })?,
        );
    }
    if let Some(size) = pool_size(values)? {
        settings.pool_size = size;
    }
    if let Some(seconds) = values.get(SMTP_TIMEOUT)? {
        settings.timeout = std::time::Duration::from_secs(u64::from(positive(seconds)?));
    }
    settings.user = values.get(SMTP_USER)?.map(|user| user.text);
    // Only the environment can hold it: the configuration file refuses the key.
    settings.password = values
        .get(SMTP_PASSWORD)?
        .map(|password| Password::new(password.text));
    match (&settings.user, &settings.password) {
        (Some(_), None) => return Err(setup_failure(SmtpError::MissingPassword)),
        // Credentials that are silently not sent would show up as a puzzling refusal from
        // the server; saying so now is kinder.
        (None, Some(_)) => {
            return Err(Failure::invalid(format_args!(
                "{SMTP_PASSWORD} is set but {SMTP_USER} is not: set both, or neither"
            )));
        }
        _ => {}
    }
    Ok(settings)
}

/// The platform's address: `RAPPELS_SITE_URL`, else the original system's development
/// server.
pub(crate) fn site_url(values: &impl Values) -> Result<String, Failure> {
    match values.get(SITE_URL)? {
        Some(url) => parse_site_url(&url),
        None => Ok(MessageConfig::default().site_url),
    }
}

/// An absolute `http://` or `https://` address that is safe inside a header's `<…>` (see
/// [`SiteUrl`]); a trailing `/` is dropped.
fn parse_site_url(raw: &Value) -> Result<String, Failure> {
    SiteUrl::parse(&raw.text)
        .map(|url| url.as_str().to_owned())
        .map_err(|e| Failure::invalid(format_args!("{}: {e}", raw.origin)))
}

/// The platform's name: one line, no longer than a person's name may be (it ends every
/// message).
fn platform_name(raw: &Value) -> Result<String, Failure> {
    use rappels_core::domain::limits::NAME_MAX_CHARS;
    let name = raw.text.trim();
    if name.chars().any(char::is_control) || name.chars().count() > NAME_MAX_CHARS {
        return Err(Failure::invalid(format_args!(
            "{}: {:?} is not a name: one line of at most {NAME_MAX_CHARS} characters",
            raw.origin, raw.text
        )));
    }
    Ok(name.to_owned())
}

/// One-click unsubscribe links, when `RAPPELS_SECRET` is set. A secret too short to be a
/// safe key is a usage error with the core's message.
pub(crate) fn unsubscribe_config(
    values: &impl Values,
    site_url: &str,
) -> Result<Option<UnsubscribeConfig>, Failure> {
    let Some(secret) = values.get(SECRET)? else {
        return Ok(None);
    };
    let secret = UnsubscribeSecret::new(secret.text)
        .map_err(|e| Failure::invalid(format_args!("{SECRET}: {e}")))?;
    Ok(Some(UnsubscribeConfig {
        secret,
        base_url: site_url.to_owned(),
    }))
}

/// This runner's id in leases: `{host name}-{pid}`, unique among the processes that may
/// share a database. The host name is the one lettre says in EHLO.
pub(crate) fn runner_id() -> String {
    use lettre::transport::smtp::extension::ClientId;
    let host = match ClientId::default() {
        ClientId::Domain(name) if !name.is_empty() => name,
        _ => "rappels".to_owned(),
    };
    format!("{host}-{}", std::process::id())
}

/// The mailer the configuration chose.
#[derive(Debug)]
pub enum ConfiguredMailer {
    /// A mail server.
    Smtp(SmtpMailer),
    /// `.eml` files.
    File(FileMailer),
    /// Standard output.
    Stdout(WriterMailer<Stdout>),
}

#[async_trait]
impl Mailer for ConfiguredMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        match self {
            ConfiguredMailer::Smtp(mailer) => mailer.send(email).await,
            ConfiguredMailer::File(mailer) => mailer.send(email).await,
            ConfiguredMailer::Stdout(mailer) => mailer.send(email).await,
        }
    }

    fn concurrency(&self) -> usize {
        match self {
            ConfiguredMailer::Smtp(mailer) => mailer.concurrency(),
            ConfiguredMailer::File(mailer) => mailer.concurrency(),
            ConfiguredMailer::Stdout(mailer) => mailer.concurrency(),
        }
    }
}

/// The mailer of commands that never send (`plan`, `run --dry-run`, `unsubscribe`):
/// `Reminders` needs one, and this one refuses, should that ever change.
pub(crate) struct NoMailer;

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _email: &Email) -> Result<Delivery, MailError> {
        Err(MailError::permanent("this command sends nothing"))
    }
}

/// The service configuration of commands that send: runner id, Message-ID domain, links and,
/// when `RAPPELS_SECRET` is set, one-click unsubscribe (a warning says so when it is not).
pub(crate) fn service_config(
    values: &impl Values,
    mail: &MailConfig,
) -> Result<rappels_core::service::ServiceConfig, Failure> {
    let unsubscribe = unsubscribe_config(values, &mail.site_url)?;
    if unsubscribe.is_none() {
        tracing::warn!(
            "{SECRET} is not set: reminders carry no List-Unsubscribe header (one-click unsubscribe is off)"
        );
    }
    let lease = lease(values, mail)?;
    Ok(rappels_core::service::ServiceConfig {
        runner_id: runner_id(),
        lease,
        message_id_domain: mail.message_id_domain(),
        messages: mail.message_config(),
        unsubscribe,
        ..rappels_core::service::ServiceConfig::default()
    })
}

/// The lease of claims (`RAPPELS_LEASE`), at least twice the SMTP timeout: a runner sends
/// a claim only in the first half of its lease, and the other half must cover the send.
fn lease(values: &impl Values, mail: &MailConfig) -> Result<chrono::TimeDelta, Failure> {
    let default = rappels_core::service::ServiceConfig::default().lease;
    let Some(raw) = values.get(LEASE)? else {
        return Ok(default);
    };
    let origin = raw.origin.clone();
    let seconds = positive(raw)?;
    if let Transport::Smtp(smtp) = &mail.transport {
        let timeout = smtp.timeout.as_secs();
        if u64::from(seconds) < 2 * timeout {
            return Err(Failure::invalid(format_args!(
                "{origin}: a lease of {seconds} s is shorter than twice the SMTP timeout \
                 ({timeout} s, {SMTP_TIMEOUT}): a claim is sent only in the first half of its \
                 lease, and the other half must cover the send"
            )));
        }
    }
    Ok(chrono::TimeDelta::seconds(i64::from(seconds)))
}

/// Logs (at debug level) the configuration a sending command runs with; never the password.
pub(crate) fn log_configuration(
    mail: &MailConfig,
    url: &rappels_sqlx::DatabaseUrl,
    config: &rappels_core::service::ServiceConfig,
) {
    tracing::debug!(
        %url,
        mailer = %mail.destination(),
        from = %mail.from,
        site_url = %mail.site_url,
        runner = %config.runner_id,
        "configuration read"
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    impl Values for HashMap<&str, &str> {
        fn get(&self, name: &str) -> Result<Option<Value>, Failure> {
            Ok(HashMap::get(self, name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Value::env(name, *v)))
        }
    }

    fn read(pairs: &[(&'static str, &'static str)]) -> Result<MailConfig, String> {
        MailConfig::read(&pairs.iter().copied().collect::<HashMap<_, _>>()).map_err(|f| {
            assert!(matches!(f, Failure::Invalid(_)), "{f}");
            f.to_string()
        })
    }

    #[test]
    fn nothing_configured_writes_files_as_localhost() {
        let config = read(&[]).unwrap();
        assert!(
            matches!(&config.transport, Transport::File(dir) if dir.as_os_str() == "rappels-outbox")
        );
        assert_eq!(config.from.to_string(), DEFAULT_FROM);
        assert_eq!(config.message_id_domain(), "localhost");
        assert_eq!(config.site_url, "http://localhost:8000");
        assert_eq!(config.destination(), "folder rappels-outbox");
    }

    #[test]
    fn smtp_settings_come_from_their_variables() {
        let config = read(&[
            (MAILER, "smtp"),
            (SMTP_HOST, "smtp.example.org"),
            (SMTP_TLS, "tls"),
            (SMTP_USER, "school"),
            (SMTP_PASSWORD, "hunter2"),
            (FROM, "École <noreply@ecole.example.org>"),
            (SITE_URL, "https://ecole.example.org/"),
        ])
        .unwrap();
        let Transport::Smtp(settings) = &config.transport else {
            panic!("{config:?}")
        };
        assert_eq!((settings.port(), settings.tls), (465, TlsMode::Tls));
        assert_eq!(settings.user.as_deref(), Some("school"));
        assert_eq!(settings.password, Some(Password::new("hunter2")));
        assert_eq!(config.message_id_domain(), "ecole.example.org");
        assert_eq!(config.site_url, "https://ecole.example.org");
        assert_eq!(config.destination(), "smtp smtp.example.org:465 (TLS)");
        assert!(!format!("{config:?}").contains("hunter2"), "{config:?}");
        let plain = read(&[
            (MAILER, "smtp"),
            (SMTP_HOST, "127.0.0.1"),
            (SMTP_TLS, "none"),
            (SMTP_PORT, "2525"),
        ])
        .unwrap();
        assert_eq!(plain.destination(), "smtp 127.0.0.1:2525 (no TLS)");
        let tuned = read(&[
            (MAILER, "smtp"),
            (SMTP_HOST, "smtp.example.org"),
            (SMTP_POOL_SIZE, "8"),
            (SMTP_TIMEOUT, "5"),
        ])
        .unwrap();
        let Transport::Smtp(tuned) = &tuned.transport else {
            panic!("{tuned:?}")
        };
        assert_eq!((tuned.pool_size, tuned.timeout.as_secs()), (8, 5));
        for (name, bad) in [(SMTP_POOL_SIZE, "0"), (SMTP_TIMEOUT, "soon")] {
            let err = read(&[
                (MAILER, "smtp"),
                (SMTP_HOST, "smtp.example.org"),
                (name, bad),
            ])
            .unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
        let default = read(&[(MAILER, "smtp"), (SMTP_HOST, "smtp.example.org")]).unwrap();
        assert_eq!(
            default.destination(),
            "smtp smtp.example.org:587 (STARTTLS)"
        );
    }

    #[test]
    fn the_lease_is_at_least_twice_the_smtp_timeout() {
        let lease = |pairs: &[(&'static str, &'static str)]| {
            let values: HashMap<_, _> = pairs.iter().copied().collect();
            let mail = MailConfig::read(&values).unwrap();
            super::lease(&values, &mail).map_err(|f| f.to_string())
        };
        assert_eq!(lease(&[]).unwrap(), chrono::TimeDelta::minutes(5));
        assert_eq!(
            lease(&[(LEASE, "20")]).unwrap(),
            chrono::TimeDelta::seconds(20)
        );
        let smtp = [(MAILER, "smtp"), (SMTP_HOST, "smtp.example.org")];
        let err = lease(&[smtp[0], smtp[1], (LEASE, "59")]).unwrap_err();
        assert!(
            err.starts_with(
                "RAPPELS_LEASE: a lease of 59 s is shorter than twice the SMTP timeout (30 s"
            ),
            "{err}"
        );
        let fits = lease(&[smtp[0], smtp[1], (SMTP_TIMEOUT, "5"), (LEASE, "10")]);
        assert_eq!(fits.unwrap(), chrono::TimeDelta::seconds(10));
        for bad in ["0", "-3", "soon"] {
            let err = lease(&[(LEASE, bad)]).unwrap_err();
            assert!(err.starts_with("RAPPELS_LEASE: "), "{err}");
        }
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (pairs, expected) in [
            (
                vec![(MAILER, "carrier-pigeon")],
                "RAPPELS_MAILER: unknown mailer",
            ),
            (
                vec![(MAILER, "file:")],
                "RAPPELS_MAILER: file: needs a folder",
            ),
            (vec![(MAILER, "smtp")], "RAPPELS_SMTP_HOST is required"),
            (
                vec![(MAILER, "smtp"), (SMTP_HOST, "h"), (SMTP_TLS, "ssl")],
                "RAPPELS_SMTP_TLS: invalid TLS mode \"ssl\"",
            ),
            (
                vec![(MAILER, "smtp"), (SMTP_HOST, "h"), (SMTP_PORT, "0")],
                "RAPPELS_SMTP_PORT: \"0\" is not a port number",
            ),
            (
                vec![(MAILER, "smtp"), (SMTP_HOST, "h"), (SMTP_PORT, "smtp")],
                "RAPPELS_SMTP_PORT",
            ),
            (
                vec![(MAILER, "smtp"), (SMTP_HOST, "h"), (SMTP_USER, "u")],
                "set RAPPELS_SMTP_PASSWORD",
            ),
            (
                vec![(MAILER, "smtp"), (SMTP_HOST, "h"), (SMTP_PASSWORD, "p")],
                "RAPPELS_SMTP_PASSWORD is set but RAPPELS_SMTP_USER is not",
            ),
            (
                vec![(MAILER, "smtp"), (SMTP_HOST, "smtp://h")],
                "RAPPELS_SMTP_HOST: \"smtp://h\" is not a host name",
            ),
            (
                vec![(FROM, "rappels noreply")],
                "RAPPELS_FROM: invalid sender",
            ),
            (vec![(SITE_URL, "localhost:8000")], "RAPPELS_SITE_URL"),
            (vec![(SITE_URL, "https://")], "RAPPELS_SITE_URL"),
            (vec![(SITE_URL, "https://a b")], "RAPPELS_SITE_URL"),
        ] {
            let error = read(&pairs).unwrap_err();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn smtp_variables_are_ignored_by_the_other_mailers() {
        let config = read(&[(MAILER, "stdout"), (SMTP_TLS, "ssl"), (SMTP_USER, "u")]).unwrap();
        assert!(matches!(config.transport, Transport::Stdout));
    }

    #[test]
    fn the_secret_turns_unsubscribe_links_on() {
        let values = |secret: &'static str| HashMap::from([(SECRET, secret)]);
        let site = "https://ecole.example.org";
        assert!(unsubscribe_config(&values(""), site).unwrap().is_none());
        let config = unsubscribe_config(&values("0123456789abcdef"), site)
            .unwrap()
            .unwrap();
        assert_eq!(config.base_url, site);
        let error = unsubscribe_config(&values("short"), site).unwrap_err();
        assert_eq!(
            error.to_string(),
            "RAPPELS_SECRET: unsubscribe secret is too short: 5 bytes, at least 16 are needed"
        );
    }

    #[test]
    fn runner_ids_hold_the_process_id() {
        let id = runner_id();
        assert!(id.ends_with(&format!("-{}", std::process::id())), "{id}");
        assert!(id.len() > 2, "{id}");
    }
}
