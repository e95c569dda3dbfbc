//! Delivery over SMTP: settings, and the mailer over a pool of our own connections (see
//! `connection` for the protocol and `pool` for sharing), STARTTLS by default, every
//! failure classified as session-level, transient or permanent.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rappels_core::ports::{Delivery, Email, MailError, Mailer};

use crate::SmtpError;
use crate::connection::{Connection, Endpoint, Security};
use crate::message::build_message;
use crate::pool::Pool;

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
    /// Connections open at most, and so messages in flight at once.
    pub pool_size: u32,
    /// Limit for connecting and for each step of the conversation.
    pub timeout: Duration,
    /// The name sent in EHLO (default: this machine's host name).
    pub hello_name: Option<String>,
    /// A certificate to trust besides the usual public authorities (PEM, one or more
    /// certificates, or DER): a school's own certificate authority, or a test server's.
    pub extra_root_certificate: Option<Vec<u8>>,
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
            extra_root_certificate: None,
        }
    }

    /// The port in force.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    /// lettre's TLS parameters: the public roots, plus the extra certificate if any.
    fn tls_parameters(&self) -> Result<TlsParameters, SmtpError> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(raw) = &self.extra_root_certificate {
            let pem = raw
                .windows(b"-----BEGIN CERTIFICATE-----".len())
                .any(|w| w == b"-----BEGIN CERTIFICATE-----");
            let certificate = if pem {
                Certificate::from_pem(raw)
            } else {
                Certificate::from_der(raw.clone())
            }
            .map_err(|e| SmtpError::Tls(format!("the extra root certificate: {e}")))?;
            builder = builder.add_root_certificate(certificate);
        }
        builder.build().map_err(|e| SmtpError::Tls(e.to_string()))
    }
}

/// A mailer over SMTP.
///
/// It keeps at most `pool_size` connections and sends that many messages at once (see
/// [`Mailer::concurrency`]); each send holds one connection. Sockets are opened here with
/// `TCP_NODELAY` and handed to lettre, which speaks the protocol. Connections are reused
/// without a health check, and the envelope is pipelined (RFC 2920) when the server offers
/// it: 2 round trips per message instead of lettre's 5 (see the `connection` module).
#[derive(Clone)]
pub struct SmtpMailer {
    pool: Arc<Pool>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Prepares the mailer; no connection is opened until the first message.
    pub fn new(settings: SmtpSettings) -> Result<Self, SmtpError> {
        let port = settings.port();
        let security = match settings.tls {
            TlsMode::StartTls => Security::StartTls(settings.tls_parameters()?),
            TlsMode::Tls => Security::Tls(settings.tls_parameters()?),
            TlsMode::None => Security::None,
        };
        let credentials = match (settings.user, settings.password) {
            (Some(user), Some(Password(password))) => Some(Credentials::new(user, password)),
            (Some(_), None) => return Err(SmtpError::MissingPassword),
            _ => None,
        };
        let endpoint = Endpoint {
            server: format!("{}:{port}", settings.host),
            host: settings.host,
            port,
            security,
            hello: settings
                .hello_name
                .map_or_else(ClientId::default, ClientId::Domain),
            credentials,
            timeout: settings.timeout,
        };
        Ok(SmtpMailer {
            pool: Arc::new(Pool::new(endpoint, settings.pool_size as usize)),
            from: settings.from,
        })
    }

    /// `host:port` of the server.
    pub fn server(&self) -> &str {
        &self.pool.endpoint().server
    }

    /// Opens a connection of its own and says EHLO (and STARTTLS or TLS, and AUTH) without
    /// sending anything, then QUIT. Failures are session failures.
    pub async fn check_connection(&self) -> Result<(), MailError> {
        let endpoint = self.pool.endpoint();
        Connection::open(endpoint)
            .await?
            .quit(endpoint.timeout)
            .await;
        Ok(())
    }

    /// Says QUIT on the idle connections and closes them; the next send opens new ones.
    pub async fn close(&self) {
        self.pool.close_idle().await;
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        let message = build_message(email, &self.from)?;
        let content = message.formatted();
        let response = self.pool.send(message.envelope(), &content).await?;
        Ok(Delivery {
            reply: format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            ),
        })
    }

    fn concurrency(&self) -> usize {
        self.pool.size()
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
