//! Errors as pages (or JSON under `/api/`): a status, a sentence for the reader, never a
//! stack trace; what went wrong on the server is logged, not shown.

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use rappels_core::permissions::Denied;
use rappels_core::service::ServiceError;

use crate::i18n::{Lang, Words};

/// Why a request did not succeed.
#[derive(Debug)]
pub enum AppError {
    /// Nobody is signed in (401): the page says how to get a link.
    SignedOut,
    /// Signed in, but the rules refuse (403), in their words.
    Denied(Denied),
    /// Nothing here, or nothing this reader may know exists (404).
    NotFound,
    /// The request itself is wrong: a tampered or expired link, a missing CSRF token (400).
    BadRequest(String),
    /// A bearer token missing or wrong (401, for the API).
    Unauthorized,
    /// The server failed (500); the cause is logged.
    Internal(String),
}

impl AppError {
    /// A failure of the server, logged with `what` it was doing.
    pub(crate) fn internal(what: &str, error: impl std::fmt::Display) -> AppError {
        tracing::error!(%error, "{what}");
        AppError::Internal(what.to_owned())
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::SignedOut | AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Denied(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self, words: &Words) -> String {
        match self {
            AppError::SignedOut => words.signed_out.to_owned(),
            AppError::Denied(denied) => words.denied(*denied).to_owned(),
            AppError::NotFound => words.not_found.to_owned(),
            AppError::BadRequest(why) => why.clone(),
            AppError::Unauthorized => "missing or wrong bearer token".to_owned(),
            AppError::Internal(_) => words.internal.to_owned(),
        }
    }

    /// The error as a page in `lang`.
    pub(crate) fn page(self, lang: Lang) -> Response {
        let words = lang.words();
        let page = ErrorPage {
            t: words,
            lang,
            status: self.status().as_u16(),
            message: self.message(words),
        };
        match page.render() {
            Ok(html) => (self.status(), Html(html)).into_response(),
            Err(_) => (self.status(), self.message(words)).into_response(),
        }
    }

    /// The error as JSON: `{"error": "…"}`.
    pub(crate) fn json(self) -> Response {
        let message = self.message(Lang::En.words());
        (self.status(), Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.page(Lang::Fr)
    }
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        AppError::Denied(denied)
    }
}

impl From<rappels_sqlx::SqlError> for AppError {
    fn from(error: rappels_sqlx::SqlError) -> Self {
        AppError::internal("database", error)
    }
}

impl From<rappels_core::ports::StoreError> for AppError {
    fn from(error: rappels_core::ports::StoreError) -> Self {
        AppError::internal("database", error)
    }
}

impl From<ServiceError> for AppError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Denied(denied) => AppError::Denied(denied),
            other => AppError::internal("service", other),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: &'static Words,
    lang: Lang,
    status: u16,
    message: String,
}
