//! A real SMTP server for tests (feature `testing`), listening on 127.0.0.1 on a port of its
//! own: mailin's parser and state machine behind a small blocking loop, one thread per
//! connection. A test chooses the replies, TLS (STARTTLS or implicit, with a self-signed
//! certificate made at start by rcgen), AUTH, whether PIPELINING is offered and whether the
//! server closes each connection after a message; then it reads what arrived and how the
//! client talked: connections, connections at once, reply batches (round trips).
//!
//! mailin-embedded runs the same state machine but writes each reply as soon as it is made
//! and cannot offer PIPELINING or implicit TLS. This loop, when it offers PIPELINING, holds
//! the replies to MAIL and RCPT until the DATA that ends the group arrives, as RFC 2920
//! lets a server do: a client that waited for them would hang, so only a pipelining client
//! gets a message through.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use mailin::AuthMechanism;
use mailin::{Action, Handler, Response, SessionBuilder};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The name the server gives in its greeting.
const NAME: &str = "rappels-test.local";

/// How the server answers a step (RCPT, or the end of the content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 250: accepted.
    Accept,
    /// 451: try again later.
    Busy,
    /// 550 (RCPT) or 554 (content): refused for good.
    Reject,
    /// 421: the server is closing the session, and closes the connection.
    Closing,
}

/// A fault the running server can be switched to ([`TestServer::set_fault`]), for tests of
/// outages: from the next step on, every connection suffers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer RCPT as this instead of the configured answer (451, 550, 421…).
    Answer(Answer),
    /// Close the connection at the end of the content, before replying: the message is not
    /// delivered and the client learns nothing of it.
    DropInData,
    /// Wait this long at the end of the content, then close without replying and without
    /// delivering: past the client's timeout, a server that stalled.
    StallInData(std::time::Duration),
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    /// Plain text, no STARTTLS offered.
    None,
    /// STARTTLS offered.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// How the server closes a connection after each message it accepted, as a server closes
/// an idle connection: the client's next message on it finds it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAfterMessage {
    /// It just closes.
    Silently,
    /// It says `421 4.4.2` first, as Postfix does on its idle timeout.
    With421,
}

/// The account the server accepts when AUTH is on (only offered over TLS).
#[derive(Debug, Clone)]
pub struct ServerAuth {
    /// The mechanisms offered.
    pub mechanisms: Vec<AuthMechanism>,
    /// The user.
    pub user: String,
    /// The password.
    pub password: String,
}

/// What the server does.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The reply to RCPT TO.
    pub answer: Answer,
    /// The reply to the end of the content.
    pub end_of_data: Answer,
    /// Refuse MAIL FROM with 553.
    pub refuse_sender: bool,
    /// TLS.
    pub tls: ServerTls,
    /// AUTH, required before MAIL when set.
    pub auth: Option<ServerAuth>,
    /// Offer PIPELINING, and hold the replies to MAIL and RCPT until DATA.
    pub pipelining: bool,
    /// Close each connection after a message.
    pub close_after_message: Option<CloseAfterMessage>,
}

impl Default for ServerOptions {
    /// Accepts everything, plain text, PIPELINING offered, as a typical relay.
    fn default() -> Self {
        ServerOptions {
            answer: Answer::Accept,
            end_of_data: Answer::Accept,
            refuse_sender: false,
            tls: ServerTls::None,
            auth: None,
            pipelining: true,
            close_after_message: None,
        }
    }
}

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (MAIL FROM).
    pub from: String,
    /// The envelope recipients (RCPT TO).
    pub to: Vec<String>,
    /// The message as received (headers and body).
    pub data: Vec<u8>,
    /// Whether MAIL FROM said `BODY=8BITMIME`.
    pub eight_bit: bool,
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    fault: Mutex<Option<Fault>>,
    connections: AtomicUsize,
    /// Messages a `StallInData` fault held.
    stalls: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
    reply_batches: AtomicUsize,
}

/// mailin's handler, one per connection: the message in progress is its own, what was
/// received is shared.
struct Recorder {
    shared: Arc<Shared>,
    options: Arc<ServerOptions>,
    /// Set when a message was accepted, for the loop to close the connection if told to.
    accepted: Arc<AtomicBool>,
    /// Set when a fault says to close the connection without replying.
    dropped: Arc<AtomicBool>,
    /// The refusal of a content, which the loop says instead of mailin's reply.
    refusal: Arc<Mutex<Option<Response>>>,
    from: String,
    to: Vec<String>,
    eight_bit: bool,
    data: Vec<u8>,
}

fn reply(answer: Answer, busy: &str, reject: (u16, &str)) -> Response {
    match answer {
        Answer::Accept => mailin::response::OK,
        Answer::Busy => Response::custom(451, busy.to_owned()),
        Answer::Reject => Response::custom(reject.0, reject.1.to_owned()),
        Answer::Closing => Response::custom(
            421,
            format!("4.3.2 {NAME} Service shutting down, closing connection"),
        ),
    }
}

impl Recorder {
    fn check(&self, user: &str, password: &str) -> Response {
        match &self.options.auth {
            Some(auth) if auth.user == user && auth.password == password => {
                mailin::response::AUTH_OK
            }
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        if self.options.refuse_sender {
            return Response::custom(553, "5.7.1 Sender address rejected".to_owned());
        }
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let answer = match *self.shared.fault.lock().unwrap() {
            Some(Fault::Answer(answer)) => answer,
            _ => self.options.answer,
        };
        let response = reply(
            answer,
            "4.3.2 Try again later",
            (550, "5.1.1 No such mailbox"),
        );
        if response.code == 250 {
            self.to.push(to.to_owned());
        }
        response
    }

    fn data_start(&mut self, _domain: &str, _from: &str, is8bit: bool, _to: &[String]) -> Response {
        self.eight_bit = is8bit;
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let data = std::mem::take(&mut self.data);
        match *self.shared.fault.lock().unwrap() {
            Some(Fault::DropInData) => {
                self.dropped.store(true, Ordering::SeqCst);
                return mailin::response::OK;
            }
            Some(Fault::StallInData(pause)) => {
                self.shared.stalls.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(pause);
                self.dropped.store(true, Ordering::SeqCst);
                return mailin::response::OK;
            }
            _ => {}
        }
        if self.options.end_of_data != Answer::Accept {
            // mailin stays in its DATA state after a negative reply here, and would take the
            // next commands for content; it is told OK, and the loop says the refusal.
            *self.refusal.lock().unwrap() = Some(reply(
                self.options.end_of_data,
                "4.3.0 Queue full, try again later",
                (554, "5.6.0 Message refused"),
            ));
            return mailin::response::OK;
        }
        self.shared.received.lock().unwrap().push(Received {
            from: self.from.clone(),
            to: self.to.clone(),
            data,
            eight_bit: self.eight_bit,
        });
        self.accepted.store(true, Ordering::SeqCst);
        mailin::response::OK
    }

    fn auth_plain(
        &mut self,
        _authorization_id: &str,
        authentication_id: &str,
        password: &str,
    ) -> Response {
        self.check(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.check(username, password)
    }
}

/// The bytes of a connection, plain or TLS.
enum Wire {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Wire {
    fn tcp(&self) -> &TcpStream {
        match self {
            Wire::Plain(tcp) => tcp,
            Wire::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(tcp) => tcp.read(buf),
            Wire::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(tcp) => tcp.write(buf),
            Wire::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(tcp) => tcp.flush(),
            Wire::Tls(tls) => tls.flush(),
        }
    }
}

/// True if `line` is the command `verb` (case-insensitive).
fn is_command(line: &[u8], verb: &[u8]) -> bool {
    line.get(..verb.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(verb))
}

/// mailin's EHLO reply with `PIPELINING` added as its second line.
fn offer_pipelining(reply: &[u8]) -> Vec<u8> {
    let first_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(reply.len(), |p| p + 2);
    let mut out = reply[..first_end].to_vec();
    let single_line = out.get(3) == Some(&b' ');
    if single_line {
        out[3] = b'-';
        out.extend_from_slice(b"250 PIPELINING\r\n");
    } else {
        out.extend_from_slice(b"250-PIPELINING\r\n");
    }
    out.extend_from_slice(&reply[first_end..]);
    out
}

/// Counts a connection open while it lives.
struct OpenGuard(Arc<Shared>);

impl OpenGuard {
    fn new(shared: &Arc<Shared>) -> OpenGuard {
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
        shared.most_open.fetch_max(open, Ordering::SeqCst);
        OpenGuard(Arc::clone(shared))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves one connection until the client leaves or the server closes it. The count of
/// open connections drops only once the socket is closed.
fn serve(
    tcp: TcpStream,
    options: Arc<ServerOptions>,
    shared: Arc<Shared>,
    tls: Option<Arc<ServerConfig>>,
) -> io::Result<()> {
    let accepted = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let refusal = Arc::new(Mutex::new(None));
    let recorder = Recorder {
        shared: Arc::clone(&shared),
        options: Arc::clone(&options),
        accepted: Arc::clone(&accepted),
        dropped: Arc::clone(&dropped),
        refusal: Arc::clone(&refusal),
        from: String::new(),
        to: Vec::new(),
        eight_bit: false,
        data: Vec::new(),
    };
    let mut builder = SessionBuilder::new(NAME);
    if options.tls != ServerTls::None {
        builder.enable_start_tls();
    }
    for mechanism in options.auth.iter().flat_map(|auth| &auth.mechanisms) {
        builder.enable_auth(mechanism.clone());
    }
    let mut session = builder.build(tcp.peer_addr()?.ip(), recorder);
    let tls_config = || {
        tls.clone()
            .ok_or_else(|| io::Error::other("TLS without a certificate"))
    };
    let mut wire = BufReader::new(if options.tls == ServerTls::Implicit {
        // Already encrypted: STARTTLS is not offered again, AUTH is.
        session.tls_active();
        Wire::Tls(Box::new(StreamOwned::new(
            ServerConnection::new(tls_config()?).map_err(io::Error::other)?,
            tcp,
        )))
    } else {
        Wire::Plain(tcp)
    });
    let greeting = session.greeting().buffer()?;
    wire.get_mut().write_all(&greeting)?;
    wire.get_mut().flush()?;

    let mut pending = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if wire.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        if dropped.load(Ordering::SeqCst) {
            return wire.get_ref().tcp().shutdown(Shutdown::Both);
        }
        let response = refusal.lock().unwrap().take().unwrap_or(response);
        if response.action == Action::NoReply {
            continue;
        }
        let text = response.buffer()?;
        if options.pipelining && is_command(&line, b"EHLO") && response.code == 250 {
            pending.extend(offer_pipelining(&text));
        } else {
            pending.extend(text);
        }
        let held = options.pipelining
            && response.action == Action::Reply
            && (is_command(&line, b"MAIL") || is_command(&line, b"RCPT"));
        if held {
            continue;
        }
        // Counted before the client can read it, so a client that got its answer sees it
        // counted.
        shared.reply_batches.fetch_add(1, Ordering::SeqCst);
        wire.get_mut().write_all(&pending)?;
        wire.get_mut().flush()?;
        pending.clear();
        match response.action {
            Action::Close => {
                return wire.get_ref().tcp().shutdown(Shutdown::Both);
            }
            Action::UpgradeTls => {
                let Wire::Plain(tcp) = wire.into_inner() else {
                    return Err(io::Error::other("STARTTLS twice"));
                };
                let connection = ServerConnection::new(tls_config()?).map_err(io::Error::other)?;
                wire = BufReader::new(Wire::Tls(Box::new(StreamOwned::new(connection, tcp))));
                session.tls_active();
            }
            Action::Reply | Action::NoReply => {}
        }
        if accepted.swap(false, Ordering::SeqCst)
            && let Some(close) = options.close_after_message
        {
            if close == CloseAfterMessage::With421 {
                let bye = format!("421 4.4.2 {NAME} Error: timeout exceeded\r\n");
                wire.get_mut().write_all(bye.as_bytes())?;
                wire.get_mut().flush()?;
            }
            return wire.get_ref().tcp().shutdown(Shutdown::Both);
        }
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost: the server's TLS set-up and the
/// certificate (PEM) for the client to trust.
fn certificate() -> (Arc<ServerConfig>, Vec<u8>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("rcgen makes a certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![made.cert.der().clone()];
    // The provider is named: with several compiled in, rustls will not pick one alone.
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("rustls takes the certificate");
    (Arc::new(config), made.cert.pem().into_bytes())
}

/// A running server.
pub struct TestServer {
    /// The loopback port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
    certificate: Option<Vec<u8>>,
}

impl TestServer {
    /// Starts a server answering `answer` to RCPT, otherwise as [`ServerOptions::default`].
    pub fn start(answer: Answer) -> TestServer {
        TestServer::with(ServerOptions {
            answer,
            ..ServerOptions::default()
        })
    }

    /// Starts a server as told; it listens before this returns, and its threads end with the
    /// test process.
    pub fn with(options: ServerOptions) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let (tls, certificate) = match options.tls {
            ServerTls::None => (None, None),
            ServerTls::StartTls | ServerTls::Implicit => {
                let (config, pem) = certificate();
                (Some(config), Some(pem))
            }
        };
        let options = Arc::new(options);
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                let (options, shared, tls) =
                    (Arc::clone(&options), Arc::clone(&accepting), tls.clone());
                std::thread::spawn(move || {
                    let _open = OpenGuard::new(&shared);
                    // A client that goes away mid-session is one of the things tests do.
                    let _ = serve(tcp, options, shared.clone(), tls);
                });
            }
        });
        TestServer {
            port,
            shared,
            certificate,
        }
    }

    /// The server's certificate (PEM), for the client to trust; `None` without TLS.
    pub fn certificate_pem(&self) -> Option<Vec<u8>> {
        self.certificate.clone()
    }

    /// Messages received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Switches the server to `fault` (or back to its options with `None`), from the next
    /// step of every connection on.
    pub fn set_fault(&self, fault: Option<Fault>) {
        *self.shared.fault.lock().unwrap() = fault;
    }

    /// Connections opened so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Messages a [`Fault::StallInData`] held so far (counted when the stall begins).
    pub fn stalls(&self) -> usize {
        self.shared.stalls.load(Ordering::SeqCst)
    }

    /// The most connections that were open at once.
    pub fn most_connections_at_once(&self) -> usize {
        self.shared.most_open.load(Ordering::SeqCst)
    }

    /// Batches of replies written so far, greetings aside: each is one round trip for the
    /// client, which waited for it.
    pub fn reply_batches(&self) -> usize {
        self.shared.reply_batches.load(Ordering::SeqCst)
    }
}
