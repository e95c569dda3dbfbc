//! `rappels-web`: the pages of rappels over the database and configuration of the `rappels`
//! command (`rappels.toml` or `$RAPPELS_CONFIG`, the `RAPPELS_*` variables, `DATABASE_URL`),
//! listening on `RAPPELS_WEB_ADDR` (default 127.0.0.1:8080). A thin wrapper of
//! `rappels_web::router`, which a platform can mount into its own server instead.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use rappels_cli::embed::Embedding;
use rappels_core::clock::SystemClock;
use rappels_web::{AppState, WebConfig, router};

/// The address when `RAPPELS_WEB_ADDR` is not set: this machine only.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAPPELS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::var("RAPPELS_WEB_ADDR")
        .ok()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
        .parse()
        .map_err(|e| {
            anyhow::anyhow!("RAPPELS_WEB_ADDR: {e} (expected HOST:PORT, e.g. {DEFAULT_ADDR})")
        })?;
    let embedding = Embedding::load(None)?;
    let Some(signing) = embedding.signing.clone() else {
        anyhow::bail!(
            "RAPPELS_SECRET is not set: sign-in links, sessions and forms are signed with it \
             (the same secret as `rappels login-link` and the unsubscribe links)"
        );
    };
    let store = embedding.connect().await?;
    let mailer = embedding.mailer()?;
    let api_token = std::env::var("RAPPELS_API_TOKEN").ok();
    let state = AppState::new(WebConfig {
        store,
        secret: signing.secret,
        site_url: embedding.site_url.clone(),
        mailer: Arc::new(mailer),
        templates: embedding.templates.clone(),
        service: embedding.service.clone(),
        api_token,
        clock: Arc::new(SystemClock),
        authenticate: None,
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, site = %embedding.site_url, database = %embedding.database_url, "rappels-web listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
