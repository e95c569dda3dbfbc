//! One SMTP connection of our own: a TCP socket with `TCP_NODELAY`, handed to lettre, which
//! speaks the protocol (replies, STARTTLS and TLS, AUTH, dot-stuffing), and the mail
//! transaction on it, pipelined (RFC 2920) when the server offers PIPELINING.
//!
//! Round trips per message — a write, then waiting for the server's answer:
//!
//! | step             | lettre's pool (before) | no PIPELINING    | PIPELINING                     |
//! |------------------|------------------------|------------------|--------------------------------|
//! | health check     | NOOP                   | —                | —                              |
//! | envelope         | MAIL, RCPT, DATA       | MAIL, RCPT, DATA | MAIL + RCPT + DATA in one write |
//! | content          | content and final dot  | the same         | the same                       |
//! | **round trips**  | **5**                  | **4**            | **2**                          |
//!
//! lettre also wrote the content and the final dot in two writes on a socket without
//! `TCP_NODELAY`, so Nagle's algorithm held the dot until the server's delayed ACK: about
//! 40 ms per message on loopback. Our sockets set `TCP_NODELAY`.
//!
//! Once per connection: the greeting, EHLO; with STARTTLS, STARTTLS, the TLS handshake and
//! EHLO again; one more EHLO whose reply we read ourselves (lettre keeps only the extensions
//! it knows, and PIPELINING is not one of them); and AUTH when credentials are configured.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use rappels_core::ports::MailError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How a connection is protected, with lettre's TLS parameters (trusted roots, host name).
#[derive(Clone)]
pub(crate) enum Security {
    /// A plain connection upgraded with STARTTLS, which the server must offer.
    StartTls(TlsParameters),
    /// TLS from the first byte.
    Tls(TlsParameters),
    /// No encryption.
    None,
}

/// Where and how to connect: what every connection of a mailer shares.
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host:port`, the server's name in every message.
    pub(crate) server: String,
    pub(crate) security: Security,
    pub(crate) hello: ClientId,
    pub(crate) credentials: Option<Credentials>,
    /// The limit for connecting and for each step of the conversation.
    pub(crate) timeout: Duration,
}

/// Why a step of the conversation failed.
enum Fault {
    /// The server answered with a negative reply.
    Reply { code: u16, text: String },
    /// No usable answer: an IO error, the connection closed, or a reply lettre cannot read.
    /// The connection is out of step and must be dropped.
    Broken(String),
    /// No answer in time. The connection is out of step and must be dropped.
    TimedOut(Duration),
}

impl Fault {
    fn from_lettre(error: lettre::transport::smtp::Error) -> Fault {
        match error.status() {
            Some(code) => {
                // lettre keeps the reply's text as the error's source.
                let text = std::error::Error::source(&error)
                    .map(|text| format!("{code} {text}"))
                    .unwrap_or_else(|| code.to_string());
                Fault::Reply {
                    code: code.into(),
                    text,
                }
            }
            None => Fault::Broken(error.to_string()),
        }
    }

    fn code(&self) -> Option<u16> {
        match self {
            Fault::Reply { code, .. } => Some(*code),
            Fault::Broken(_) | Fault::TimedOut(_) => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Reply { text, .. } => f.write_str(text),
            Fault::Broken(why) => f.write_str(why),
            Fault::TimedOut(limit) => write!(f, "no answer within {} s", limit.as_secs_f64()),
        }
    }
}

/// Runs one step under the timeout.
async fn within<T>(
    timeout: Duration,
    step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, Fault> {
    match tokio::time::timeout(timeout, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Fault::from_lettre(error)),
        Err(_) => Err(Fault::TimedOut(timeout)),
    }
}

/// How a send failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection failed before the first reply of the transaction, or that reply was
    /// 421: the server had closed the connection — typically while it sat idle in the pool — and took nothing of this
    /// message (its content was not written). On a reused connection the pool tries once
    /// more on a fresh one.
    Stale(MailError),
    /// Any other failure, final for this send.
    Final(MailError),
}

impl Failure {
    pub(crate) fn into_error(self) -> MailError {
        match self {
            Failure::Stale(error) | Failure::Final(error) => error,
        }
    }
}

/// The RFC 2920 group of a transaction: MAIL, every RCPT and DATA, written at once.
struct Pipelined<'a> {
    mail: &'a Mail,
    rcpts: &'a [Rcpt],
}

impl fmt::Display for Pipelined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mail)?;
        for rcpt in self.rcpts {
            write!(f, "{rcpt}")?;
        }
        write!(f, "{Data}")
    }
}

/// An open, greeted (and if configured, encrypted and authenticated) connection.
pub(crate) struct Connection {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
    eight_bit_mime: bool,
    smtp_utf8: bool,
    /// False once the connection must not carry another message.
    usable: bool,
}

impl Connection {
    /// Connects, then greeting, EHLO, STARTTLS or TLS, the capabilities, AUTH. Every failure
    /// here is a session failure: no message is at fault.
    pub(crate) async fn open(endpoint: &Endpoint) -> Result<Connection, MailError> {
        let server = &endpoint.server;
        let failed = |step: &str, fault: Fault| {
            MailError::session(format!("{server}: {step} failed: {fault}"))
        };
        let tcp = match tokio::time::timeout(
            endpoint.timeout,
            TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
        )
        .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(error)) => {
                return Err(MailError::session(format!(
                    "cannot connect to {server}: {error}"
                )));
            }
            Err(_) => {
                return Err(MailError::session(format!(
                    "cannot connect to {server}: no answer within {} s",
                    endpoint.timeout.as_secs_f64()
                )));
            }
        };
        // Without it, Nagle's algorithm holds a short write (a command, the final dot) while
        // an earlier one is unacknowledged, and the server delays its ACK: ~40 ms a message.
        tcp.set_nodelay(true).map_err(|error| {
            MailError::session(format!("cannot set TCP_NODELAY towards {server}: {error}"))
        })?;
        let stream: Box<dyn AsyncTokioStream> = match &endpoint.security {
            Security::Tls(parameters) => Box::new(
                within(endpoint.timeout, implicit_tls(tcp, parameters.clone()))
                    .await
                    .map_err(|fault| failed("TLS", fault))?,
            ),
            Security::StartTls(_) | Security::None => Box::new(tcp),
        };
        let mut smtp = within(
            endpoint.timeout,
            AsyncSmtpConnection::connect_with_transport(stream, &endpoint.hello),
        )
        .await
        .map_err(|fault| failed("greeting or EHLO", fault))?;
        if let Security::StartTls(parameters) = &endpoint.security {
            if !smtp.server_info().supports_feature(Extension::StartTls) {
                return Err(MailError::session(format!(
                    "{server} does not offer STARTTLS, which the TLS mode starttls requires"
                )));
            }
            within(
                endpoint.timeout,
                smtp.starttls(parameters.clone(), &endpoint.hello),
            )
            .await
            .map_err(|fault| failed("STARTTLS", fault))?;
        }
        // lettre read EHLO's reply but kept only the extensions it knows; PIPELINING is not
        // one of them, so ask once more and read this reply ourselves. Before AUTH: an EHLO
        // resets the session's state (RFC 5321 §4.1.4), and some servers count that as
        // forgetting the authentication.
        let ehlo = within(
            endpoint.timeout,
            smtp.command(Ehlo::new(endpoint.hello.clone())),
        )
        .await
        .map_err(|fault| failed("EHLO", fault))?;
        let pipelining = ehlo.message().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|keyword| keyword.eq_ignore_ascii_case("PIPELINING"))
        });
        if let Some(credentials) = &endpoint.credentials {
            within(
                endpoint.timeout,
                smtp.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(|fault| failed("authentication", fault))?;
        }
        let info = smtp.server_info();
        Ok(Connection {
            eight_bit_mime: info.supports_feature(Extension::EightBitMime),
            smtp_utf8: info.supports_feature(Extension::SmtpUtfEight),
            pipelining,
            smtp,
            usable: true,
        })
    }

    /// True while the connection may carry another message: it is in step with the server
    /// and no transaction is open.
    pub(crate) fn usable(&self) -> bool {
        self.usable
    }

    /// Whether the server offered PIPELINING.
    #[cfg(test)]
    pub(crate) fn pipelining(&self) -> bool {
        self.pipelining
    }

    /// Says QUIT and closes, within the timeout; a failure changes nothing.
    pub(crate) async fn quit(mut self, timeout: Duration) {
        let _ = within(timeout, self.smtp.quit()).await;
    }

    /// Sends one message: the envelope (one write with PIPELINING, else command by
    /// command), then the content, which lettre dot-stuffs and ends with the final dot.
    ///
    /// Replies are classified for the retry policy: 421 at any step, and a refused sender,
    /// are session failures (no recipient was judged); a 4xx to RCPT, DATA or the content
    /// is transient, a 5xx permanent. After a refusal the connection is brought back in step
    /// (the remaining replies of the group read, then RSET) or, when that cannot be done
    /// cleanly, marked unusable.
    pub(crate) async fn send(
        &mut self,
        endpoint: &Endpoint,
        envelope: &Envelope,
        content: &[u8],
    ) -> Result<Response, Failure> {
        let server = &endpoint.server;
        let timeout = endpoint.timeout;
        let parameters = self
            .mail_parameters(server, envelope, content)
            .map_err(Failure::Final)?;
        let mail = Mail::new(envelope.from().cloned(), parameters);
        let rcpts: Vec<Rcpt> = envelope
            .to()
            .iter()
            .map(|to| Rcpt::new(to.clone(), Vec::new()))
            .collect();

        // The first reply, MAIL's, tells whether the connection is alive at all.
        let first = if self.pipelining {
            let group = Pipelined {
                mail: &mail,
                rcpts: &rcpts,
            };
            within(timeout, self.smtp.command(group)).await
        } else {
            within(timeout, self.smtp.command(&mail)).await
        };
        let mut refusal = match first {
            Ok(_) => None,
            Err(Fault::Broken(why)) => {
                self.usable = false;
                return Err(Failure::Stale(MailError::transient(format!(
                    "{server} closed the connection or did not answer MAIL FROM: {why}"
                ))));
            }
            Err(fault) if fault.code() == Some(421) => {
                self.usable = false;
                return Err(Failure::Stale(closing(server, &fault)));
            }
            // A slow server is not a dead one: waiting as long again elsewhere would not help.
            Err(fault @ Fault::TimedOut(_)) => {
                self.usable = false;
                return Err(Failure::Final(MailError::transient(format!(
                    "{server} did not answer MAIL FROM: {fault}"
                ))));
            }
            Err(fault) => Some(MailError::session(format!(
                "{server} refused the sender {}: {fault}",
                sender(envelope)
            ))),
        };

        // Without PIPELINING each command waits for the previous one's acceptance; with it,
        // every reply of the group is read, whatever came before, to stay in step.
        for (rcpt, to) in rcpts.iter().zip(envelope.to()) {
            if !self.pipelining && refusal.is_some() {
                break;
            }
            let reply = if self.pipelining {
                within(timeout, self.smtp.read_response()).await
            } else {
                within(timeout, self.smtp.command(rcpt)).await
            };
            if let Err(fault) = reply {
                let error =
                    self.refusal(server, fault, format_args!("refused the recipient {to}"))?;
                refusal.get_or_insert(error);
            }
        }
        let mut in_data = false;
        if self.pipelining || refusal.is_none() {
            let reply = if self.pipelining {
                within(timeout, self.smtp.read_response()).await
            } else {
                within(timeout, self.smtp.command(Data)).await
            };
            match reply {
                Ok(_) => in_data = true,
                Err(fault) => {
                    let error = self.refusal(server, fault, format_args!("refused DATA"))?;
                    refusal.get_or_insert(error);
                }
            }
        }

        if let Some(error) = refusal {
            if in_data {
                // DATA accepted after a refusal: only content ends DATA, and there is none to
                // send. Closing is the clean way out.
                self.usable = false;
            } else if within(timeout, self.smtp.command(Rset)).await.is_err() {
                self.usable = false;
            }
            return Err(Failure::Final(error));
        }

        match within(timeout, self.smtp.message(content)).await {
            Ok(response) => Ok(response),
            Err(fault) if fault.code().is_none() => {
                self.usable = false;
                Err(Failure::Final(MailError::transient(format!(
                    "{server} did not confirm the message (it may have been delivered): {fault}"
                ))))
            }
            Err(fault) => {
                let error = self.refusal(server, fault, format_args!("refused the message"))?;
                Err(Failure::Final(error))
            }
        }
    }

    /// The error of a negative reply in a transaction: 421 closes the session; otherwise 4xx
    /// is transient and 5xx permanent. A broken connection is a final, transient failure.
    fn refusal(
        &mut self,
        server: &str,
        fault: Fault,
        what: fmt::Arguments<'_>,
    ) -> Result<MailError, Failure> {
        match fault.code() {
            None => {
                self.usable = false;
                Err(Failure::Final(MailError::transient(format!(
                    "{server} broke off the transaction: {fault}"
                ))))
            }
            Some(421) => {
                self.usable = false;
                Err(Failure::Final(closing(server, &fault)))
            }
            Some(code) if (400..500).contains(&code) => {
                Ok(MailError::transient(format!("{server} {what}: {fault}")))
            }
            Some(_) => Ok(MailError::permanent(format!("{server} {what}: {fault}"))),
        }
    }

    /// MAIL FROM's parameters, as lettre's own `send` sets them: SMTPUTF8 for non-ASCII
    /// addresses and BODY=8BITMIME for non-ASCII content, each only if the server offers it.
    fn mail_parameters(
        &self,
        server: &str,
        envelope: &Envelope,
        content: &[u8],
    ) -> Result<Vec<MailParameter>, MailError> {
        let mut parameters = Vec::new();
        if let Some(address) = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .find(|address| !AsRef::<str>::as_ref(address).is_ascii())
        {
            if !self.smtp_utf8 {
                return Err(MailError::permanent(format!(
                    "{server} does not offer SMTPUTF8, which the address {address} needs"
                )));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !content.is_ascii() {
            if !self.eight_bit_mime {
                return Err(MailError::session(format!(
                    "{server} does not offer 8BITMIME, which non-ASCII messages need"
                )));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        Ok(parameters)
    }
}

fn closing(server: &str, fault: &Fault) -> MailError {
    MailError::session(format!("{server} is closing the session: {fault}"))
}

fn sender(envelope: &Envelope) -> String {
    envelope
        .from()
        .map_or_else(|| "<>".to_owned(), |address| address.to_string())
}

/// Starts TLS on our socket before the greeting. lettre offers that only through its
/// `AsyncNetworkStream` (public but deprecated as "not meant to be made public"), which
/// speaks the `futures` IO traits; the wrapper hands it back to lettre as a Tokio stream, so
/// implicit TLS uses lettre's TLS set-up — the same trusted roots and host-name check as
/// STARTTLS.
#[allow(deprecated)]
async fn implicit_tls(
    tcp: TcpStream,
    parameters: TlsParameters,
) -> Result<ImplicitTls, lettre::transport::smtp::Error> {
    use tokio_util::compat::FuturesAsyncReadCompatExt;
    let mut stream =
        lettre::transport::smtp::client::AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
    stream.upgrade_tls(parameters).await?;
    Ok(ImplicitTls(stream.compat()))
}

/// A TLS stream from lettre, as the Tokio stream `connect_with_transport` takes.
#[allow(deprecated)]
#[derive(Debug)]
struct ImplicitTls(tokio_util::compat::Compat<lettre::transport::smtp::client::AsyncNetworkStream>);

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Answer, ServerOptions, TestServer};

    fn endpoint(port: u16) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port,
            server: format!("127.0.0.1:{port}"),
            security: Security::None,
            hello: ClientId::Domain("rappels.test".into()),
            credentials: None,
            timeout: Duration::from_secs(10),
        }
    }

    fn envelope() -> Envelope {
        Envelope::new(
            Some("noreply@example.org".parse().unwrap()),
            vec!["awa@example.org".parse().unwrap()],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn pipelining_is_read_from_the_capabilities() {
        for offered in [true, false] {
            let server = TestServer::with(ServerOptions {
                pipelining: offered,
                ..ServerOptions::default()
            });
            let endpoint = endpoint(server.port);
            let mut connection = Connection::open(&endpoint).await.unwrap();
            assert_eq!(connection.pipelining(), offered);
            connection
                .send(&endpoint, &envelope(), b"Subject: hi\r\n\r\nhello\r\n")
                .await
                .unwrap();
            assert!(connection.usable());
            assert_eq!(server.received().len(), 1);
        }
    }

    #[tokio::test]
    async fn non_ascii_content_goes_as_8bitmime() {
        let server = TestServer::start(Answer::Accept);
        let endpoint = endpoint(server.port);
        let mut connection = Connection::open(&endpoint).await.unwrap();
        for content in [
            "Subject: hi\r\n\r\nhello\r\n",
            "Subject: hi\r\n\r\nvoilà\r\n",
        ] {
            connection
                .send(&endpoint, &envelope(), content.as_bytes())
                .await
                .unwrap();
        }
        let received = server.received();
        assert_eq!(
            [received[0].eight_bit, received[1].eight_bit],
            [false, true]
        );
        assert!(
            received[1]
                .data
                .starts_with("Subject: hi\r\n\r\nvoilà\r\n".as_bytes())
        );
    }
}
