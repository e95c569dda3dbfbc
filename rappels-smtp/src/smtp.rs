//! Delivery over SMTP with lettre's async transport: a connection pool, STARTTLS by default,
//! and every failure classified as transient or permanent for the retry policy.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{PoolConfig, client::Tls, client::TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rappels_core::ports::{Delivery, Email, MailError, Mailer};
use tokio::sync::Semaphore;

use crate::SmtpError;
use crate::message::build_message;

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network, and only when the
    /// configuration says so.
    None,
}

impl TlsMode {
    /// The usual port of the mode: 587, 465, or 25.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

impl FromStr for TlsMode {
    type Err = SmtpError;
    fn from_str(s: &str) -> Result<Self, SmtpError> {
        match s {
            "starttls" => Ok(TlsMode::StartTls),
            "tls" => Ok(TlsMode::Tls),
            "none" => Ok(TlsMode::None),
            other => Err(SmtpError::InvalidTlsMode(other.to_owned())),
        }
    }
}

/// A password that never prints: its `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password (read from `RAPPELS_SMTP_PASSWORD`, never from a file).
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// The port; `None` for the mode's usual one.
    pub port: Option<u16>,
    /// STARTTLS, implicit TLS, or none.
    pub tls: TlsMode,
    /// The user to authenticate as, if the server requires it.
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<Password>,
    /// The sender, e.g. `MyKarfour <noreply@example.org>`.
    pub from: Mailbox,
    /// Connections kept open at most.
    pub pool_size: u32,
    /// Limit for connecting and for each command.
    pub timeout: Duration,
    /// The name sent in EHLO (default: this machine's host name).
    pub hello_name: Option<String>,
}

impl SmtpSettings {
    /// Settings for `host` with the defaults: STARTTLS on 587, 4 connections, 30 s.
    pub fn new(host: impl Into<String>, from: Mailbox) -> Self {
        SmtpSettings {
            host: host.into(),
            port: None,
            tls: TlsMode::StartTls,
            user: None,
            password: None,
            from,
            pool_size: 4,
            timeout: Duration::from_secs(30),
            hello_name: None,
        }
    }

    /// The port in force.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }
}

/// A mailer over SMTP.
///
/// lettre's pool keeps at most `pool_size` idle connections but opens one per concurrent
/// send; the semaphore bounds sends in flight to the same number, so `pool_size` is the
/// number of connections the server sees, however many tasks share the mailer.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    in_flight: Arc<Semaphore>,
    from: Mailbox,
    server: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Prepares the transport; no connection is opened until the first message. Call it
    /// inside a Tokio runtime: the connection pool runs on it.
    pub fn new(settings: SmtpSettings) -> Result<Self, SmtpError> {
        let port = settings.port();
        let server = format!("{}:{port}", settings.host);
        let tls_parameters =
            || TlsParameters::new(settings.host.clone()).map_err(|e| SmtpError::Tls(e.to_string()));
        let tls = match settings.tls {
            TlsMode::StartTls => Tls::Required(tls_parameters()?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters()?),
            TlsMode::None => Tls::None,
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                .port(port)
                .tls(tls)
                .timeout(Some(settings.timeout))
                .pool_config(PoolConfig::new().max_size(settings.pool_size.max(1)));
        if let Some(name) = settings.hello_name {
            builder = builder.hello_name(ClientId::Domain(name));
        }
        match (settings.user, settings.password) {
            (Some(user), Some(Password(password))) => {
                builder = builder.credentials(Credentials::new(user, password));
            }
            (Some(_), None) => return Err(SmtpError::MissingPassword),
            _ => {}
        }
        let in_flight = Arc::new(Semaphore::new(settings.pool_size.max(1) as usize));
        Ok(SmtpMailer {
            transport: builder.build(),
            in_flight,
            from: settings.from,
            server,
        })
    }

    /// `host:port` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Opens a connection and says EHLO (and STARTTLS, and AUTH) without sending anything.
    pub async fn check_connection(&self) -> Result<(), MailError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::transient(format!(
                "{} did not answer NOOP",
                self.server
            ))),
            Err(e) => Err(classify(&self.server, &e)),
        }
    }
}

/// Transient: 4xx replies, refused connections, timeouts, TLS and network trouble (a retry
/// may succeed). Permanent: 5xx replies (it will not).
pub fn classify(server: &str, error: &lettre::transport::smtp::Error) -> MailError {
    if error.is_permanent() {
        MailError::permanent(format!("{server} refused the message: {error}"))
    } else {
        MailError::transient(format!("{server}: {error}"))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        let message = build_message(email, &self.from)?;
        let _slot = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| MailError::transient("the SMTP mailer is shutting down"))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(Delivery {
                reply: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Err(error) => Err(classify(&self.server, &error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::sender;

    #[test]
    fn modes_and_ports() {
        assert_eq!("starttls".parse::<TlsMode>().unwrap().default_port(), 587);
        assert_eq!("tls".parse::<TlsMode>().unwrap().default_port(), 465);
        assert_eq!("none".parse::<TlsMode>().unwrap(), TlsMode::None);
        assert!("ssl".parse::<TlsMode>().is_err());
        let settings = SmtpSettings::new("smtp.example.org", sender());
        assert_eq!((settings.tls, settings.port()), (TlsMode::StartTls, 587));
    }

    #[tokio::test]
    async fn passwords_never_print() {
        let mut settings = SmtpSettings::new("smtp.example.org", sender());
        settings.user = Some("school".into());
        settings.password = Some(Password::new("hunter2"));
        assert!(!format!("{settings:?}").contains("hunter2"));
        let mailer = SmtpMailer::new(settings).unwrap();
        assert_eq!(
            format!("{mailer:?}"),
            "SmtpMailer { server: \"smtp.example.org:587\", .. }"
        );
        let mut no_password = SmtpSettings::new("smtp.example.org", sender());
        no_password.user = Some("school".into());
        assert!(matches!(
            SmtpMailer::new(no_password),
            Err(SmtpError::MissingPassword)
        ));
    }
}
