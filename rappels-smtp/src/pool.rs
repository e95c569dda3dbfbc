//! At most `pool_size` connections to the server, shared by concurrent sends: each send
//! holds one connection from its first command to the server's last reply, then puts it
//! back for the next send, with no health check in between.
//!
//! A connection that sat idle may have been closed by the server in the meantime. That shows
//! on the first reply of the next transaction, before any of the message's content was
//! written, so that send is tried once more on a fresh connection: the server cannot have
//! taken the message. Nothing is ever retried after the content was written, which could
//! deliver it twice.

use std::sync::Mutex;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::response::Response;
use rappels_core::ports::MailError;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::connection::{Connection, Endpoint, Failure};

/// Connections idle for longer are closed rather than reused: servers close idle
/// connections after a while of their own (Postfix after 300 s, 10 s under stress), and a
/// connection the server closed costs a wasted attempt.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// A connection waiting for the next send.
struct Idle {
    connection: Connection,
    since: Instant,
}

/// The connections of one mailer.
pub(crate) struct Pool {
    endpoint: Endpoint,
    /// Most recently used last: sends take from the end, so under a light load the same
    /// few connections stay busy and the others age out.
    idle: Mutex<Vec<Idle>>,
    /// One permit per connection: a send holds one while it holds a connection, so open
    /// connections (busy or idle) never outnumber the permits.
    slots: Semaphore,
    size: usize,
}

impl Pool {
    /// A pool of `size` connections at most (at least one); none is opened yet.
    pub(crate) fn new(endpoint: Endpoint, size: usize) -> Pool {
        let size = size.max(1);
        Pool {
            endpoint,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(size),
            size,
        }
    }

    /// The most connections open at once.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one message over an idle connection or a new one.
    pub(crate) async fn send(
        &self,
        envelope: &Envelope,
        content: &[u8],
    ) -> Result<Response, MailError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| MailError::session("the SMTP mailer is closed"))?;
        if let Some(mut connection) = self.take_idle() {
            match connection.send(&self.endpoint, envelope, content).await {
                Err(Failure::Stale(error)) => {
                    tracing::debug!(
                        server = %self.endpoint.server,
                        %error,
                        "the server closed an idle connection: sending on a new one"
                    );
                }
                outcome => return self.settle(connection, outcome),
            }
        }
        let mut connection = Connection::open(&self.endpoint).await?;
        let outcome = connection.send(&self.endpoint, envelope, content).await;
        self.settle(connection, outcome)
    }

    /// Puts a connection back if it can carry another message; dropping it closes it.
    fn settle(
        &self,
        connection: Connection,
        outcome: Result<Response, Failure>,
    ) -> Result<Response, MailError> {
        if connection.usable() {
            self.lock().push(Idle {
                connection,
                since: Instant::now(),
            });
        }
        outcome.map_err(Failure::into_error)
    }

    /// The most recently used idle connection; those idle too long are dropped.
    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.lock();
        let now = Instant::now();
        idle.retain(|waiting| now.duration_since(waiting.since) <= IDLE_LIMIT);
        idle.pop().map(|waiting| waiting.connection)
    }

    /// Says QUIT on every idle connection and closes it.
    pub(crate) async fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.lock());
        for waiting in idle {
            waiting.connection.quit(self.endpoint.timeout).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The list stays consistent even if a holder panicked: pushes and pops are whole.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use lettre::transport::smtp::extension::ClientId;

    use super::*;
    use crate::connection::Security;
    use crate::testing::{Answer, TestServer};

    fn pool(port: u16) -> Pool {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port,
            server: format!("127.0.0.1:{port}"),
            security: Security::None,
            hello: ClientId::Domain("rappels.test".into()),
            credentials: None,
            timeout: Duration::from_secs(10),
        };
        Pool::new(endpoint, 2)
    }

    fn envelope() -> Envelope {
        Envelope::new(
            Some("noreply@example.org".parse().unwrap()),
            vec!["awa@example.org".parse().unwrap()],
        )
        .unwrap()
    }

    const CONTENT: &[u8] = b"Subject: hi\r\n\r\nhello\r\n";

    #[tokio::test]
    async fn connections_idle_too_long_are_not_reused() {
        let server = TestServer::start(Answer::Accept);
        let pool = pool(server.port);
        pool.send(&envelope(), CONTENT).await.unwrap();
        pool.send(&envelope(), CONTENT).await.unwrap();
        assert_eq!(server.connections(), 1);
        // Only the clock moves, while nothing waits on the server.
        tokio::time::pause();
        tokio::time::advance(IDLE_LIMIT + Duration::from_secs(1)).await;
        tokio::time::resume();
        pool.send(&envelope(), CONTENT).await.unwrap();
        assert_eq!(server.connections(), 2);
        assert_eq!(server.received().len(), 3);
    }

    #[tokio::test]
    async fn closing_says_quit_to_idle_connections() {
        let server = TestServer::start(Answer::Accept);
        let pool = pool(server.port);
        pool.send(&envelope(), CONTENT).await.unwrap();
        let batches = server.reply_batches();
        pool.close_idle().await;
        // QUIT was answered (one more batch), and the next send needs a new connection.
        assert_eq!(server.reply_batches(), batches + 1);
        pool.send(&envelope(), CONTENT).await.unwrap();
        assert_eq!(server.connections(), 2);
    }
}
