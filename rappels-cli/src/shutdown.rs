//! SIGTERM and SIGINT (Ctrl-C elsewhere than Unix), for the commands that stop gracefully:
//! `run` finishes the messages in flight, records their outcomes and gives back the rest of
//! its claims; `daemon` does the same with the run in progress, then stops.

use std::future::pending;

use tokio::sync::watch;

use crate::failure::Failure;

/// The signals, caught from the moment [`Shutdown::listen`] returns: the first one is
/// recorded (and logged), and every clone sees it.
#[derive(Clone)]
pub(crate) struct Shutdown {
    signal: watch::Receiver<Option<&'static str>>,
}

impl Shutdown {
    /// Installs the handlers. `tokio::signal::ctrl_c()` would only install its handler when
    /// first awaited, and a Ctrl-C before that would kill the process.
    pub(crate) fn listen() -> Result<Shutdown, Failure> {
        let (sender, signal) = watch::channel(None);
        let wait = signals()?;
        tokio::spawn(async move {
            let name = wait.await;
            tracing::info!(
                "{name} received: finishing the messages in flight, then stopping \
                 (another {name} does not hurry it; SIGKILL does, at the cost of a lease)"
            );
            let _ = sender.send(Some(name));
        });
        Ok(Shutdown { signal })
    }

    /// The signal received so far, if any.
    pub(crate) fn requested(&self) -> Option<&'static str> {
        *self.signal.borrow()
    }

    /// Waits for a signal (at once if one was already received) and names it.
    pub(crate) async fn wait(&mut self) -> &'static str {
        let received = match self.signal.wait_for(Option::is_some).await {
            Ok(name) => *name,
            Err(_) => None,
        };
        match received {
            Some(name) => name,
            // The listening task cannot end without sending; should it ever, never stop.
            None => pending().await,
        }
    }

    /// A future that completes at the first signal: what `Sender::run_until` stops on.
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut this = self.clone();
        async move {
            this.wait().await;
        }
    }
}

/// A future that ends with the name of the first of SIGTERM and SIGINT received, its
/// handlers installed before this returns.
#[cfg(unix)]
fn signals() -> Result<impl Future<Output = &'static str> + Send + 'static, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Failure::Failed(anyhow::anyhow!("cannot listen for {name}: {e}")))
    };
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    })
}

/// Elsewhere, Ctrl-C only.
#[cfg(not(unix))]
fn signals() -> Result<impl Future<Output = &'static str> + Send + 'static, Failure> {
    Ok(async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => pending().await,
        }
    })
}
