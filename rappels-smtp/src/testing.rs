//! A real SMTP server for tests (mailin-embedded, feature `testing`), listening on 127.0.0.1
//! on a port of its own, recording what it receives and answering RCPT as told. The tests of
//! this crate and of the CLI deliver to it over loopback.

use std::net::{IpAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mailin_embedded::{Handler, Response, Server};

/// How the server answers each recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 250: accepted.
    Accept,
    /// 451 4.3.2: try again later.
    Busy,
    /// 550 5.1.1: no such mailbox.
    Reject,
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
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    connections: AtomicUsize,
}

/// mailin clones the handler for each connection: the message in progress is per clone,
/// what was received is shared.
#[derive(Debug, Clone)]
struct Recorder {
    shared: Arc<Shared>,
    answer: Answer,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        self.shared.connections.fetch_add(1, Ordering::SeqCst);
        mailin_embedded::response::OK
    }

    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        match self.answer {
            Answer::Accept => {
                self.to.push(to.to_owned());
                mailin_embedded::response::OK
            }
            Answer::Busy => Response::custom(451, "4.3.2 Try again later".to_owned()),
            Answer::Reject => Response::custom(550, "5.1.1 No such mailbox".to_owned()),
        }
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = Received {
            from: self.from.clone(),
            to: self.to.clone(),
            data: std::mem::take(&mut self.data),
        };
        self.shared.received.lock().unwrap().push(message);
        mailin_embedded::response::OK
    }
}

/// A running server.
pub struct TestServer {
    /// The loopback port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Starts a server answering `answer`; it listens before this returns, and its thread
    /// ends with the test process.
    pub fn start(answer: Answer) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let recorder = Recorder {
            shared: Arc::clone(&shared),
            answer,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(recorder);
        server
            .with_name("rappels-test.local")
            .with_num_threads(8)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(error) = server.serve() {
                panic!("the test SMTP server stopped: {error}");
            }
        });
        TestServer { port, shared }
    }

    /// Messages received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Connections opened so far (one EHLO each).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}
