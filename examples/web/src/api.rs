//! The JSON API under `/api/v1/`, for platforms that build their own front end: the same
//! sessions and the same permission checks as the pages (a `POST` carries the session's
//! CSRF token in `X-CSRF-Token`), and the platform's feed of changes behind a bearer token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rappels_core::changes::parse_line;
use rappels_core::domain::StudentId;
use rappels_core::permissions::{self, Actor};
use rappels_core::ports::LogEntry;
use rappels_core::service::ServiceError;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use crate::AppState;
use crate::auth::Visitor;
use crate::error::AppError;

/// History lines an API call returns at most.
const LIMIT: usize = 500;

fn entry(entry: &LogEntry) -> Value {
    json!({
        "key": entry.key.to_string(),
        "kind": entry.key.kind().as_str(),
        "student_id": entry.student.get(),
        "due_at": entry.due_at,
        "status": entry.status.as_str(),
        "attempts": entry.attempts,
        "subject": entry.subject,
        "sent_at": entry.sent_at,
        "last_error": entry.last_error,
    })
}

fn signed_in(visitor: Result<Visitor, Response>) -> Result<Visitor, Response> {
    visitor.map_err(|_| AppError::SignedOut.json())
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    student: Option<i64>,
}

/// `GET /api/v1/history[?student=ID]`: the reminders the visitor may read.
pub(crate) async fn history(
    State(state): State<AppState>,
    visitor: Result<Visitor, Response>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, Response> {
    let visitor = signed_in(visitor)?;
    let student = match query.student {
        Some(id) => Some(StudentId::new(id).map_err(|_| AppError::NotFound.json())?),
        None => None,
    };
    history_json(&state, &visitor, student).await
}

/// `GET /api/v1/children/{id}/reminders`: a parent's child's reminders; 404 for anyone
/// else's child.
pub(crate) async fn child_reminders(
    State(state): State<AppState>,
    visitor: Result<Visitor, Response>,
    Path(id): Path<i64>,
) -> Result<Response, Response> {
    let visitor = signed_in(visitor)?;
    let student = StudentId::new(id).map_err(|_| AppError::NotFound.json())?;
    if !matches!(visitor.actor, Actor::Parent { .. }) {
        return Err(AppError::NotFound.json());
    }
    permissions::history_scope(&visitor.actor, Some(student))
        .map_err(|_| AppError::NotFound.json())?;
    history_json(&state, &visitor, Some(student)).await
}

/// The history `visitor` may read (narrowed to `student`), as JSON.
async fn history_json(
    state: &AppState,
    visitor: &Visitor,
    student: Option<StudentId>,
) -> Result<Response, Response> {
    let entries = state
        .reminders()
        .history(&visitor.actor, student, LIMIT)
        .await
        .map_err(|e| AppError::from(e).json())?;
    Ok(Json(entries.iter().map(entry).collect::<Vec<_>>()).into_response())
}

/// `GET /api/v1/stats`: the counts of the statistics page; admins only.
pub(crate) async fn stats(
    State(state): State<AppState>,
    visitor: Result<Visitor, Response>,
) -> Result<Response, Response> {
    let visitor = signed_in(visitor)?;
    permissions::can_read_stats(&visitor.actor).map_err(|d| AppError::from(d).json())?;
    let stats = state
        .reminders()
        .stats(30)
        .await
        .map_err(|e| AppError::from(e).json())?;
    let by_kind: serde_json::Map<String, Value> = stats
        .sent_by_kind
        .iter()
        .map(|(kind, n)| (kind.as_str().to_owned(), json!(n)))
        .collect();
    Ok(Json(json!({
        "days": 30,
        "sent_today": stats.sent_today,
        "sent_in_period": stats.sent_in_period,
        "sent_by_kind": by_kind,
        "failed": stats.failed,
        "pending": stats.pending,
        "expired": stats.expired,
        "cancelled": stats.cancelled,
    }))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct ManualBody {
    student_id: i64,
    title: String,
    message: String,
}

/// `POST /api/v1/manual`: a parent's manual reminder; 201 with its id, or the refusal of
/// RULES.md (`{"error": "…", "reason": "invalid_title"}`), nothing written.
pub(crate) async fn manual(
    State(state): State<AppState>,
    visitor: Result<Visitor, Response>,
    headers: HeaderMap,
    body: Result<Json<ManualBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    let visitor = signed_in(visitor)?;
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    visitor.check_csrf(&state, csrf).map_err(AppError::json)?;
    let Json(body) = body.map_err(|e| AppError::BadRequest(e.body_text()).json())?;
    let student =
        StudentId::new(body.student_id).map_err(|e| AppError::BadRequest(e.to_string()).json())?;
    let Actor::Parent { id: parent, .. } = visitor.actor else {
        let denied = permissions::can_send_manual(&visitor.actor, student)
            .expect_err("only a parent may send a manual reminder");
        return Err(AppError::from(denied).json());
    };
    permissions::can_send_manual(&visitor.actor, student).map_err(|d| AppError::from(d).json())?;
    match state
        .reminders()
        .request_manual(parent, student, &body.title, &body.message)
        .await
    {
        Ok(id) => Ok((StatusCode::CREATED, Json(json!({ "id": id.get() }))).into_response()),
        Err(ServiceError::Refused(rejection)) => {
            let status = match rejection {
                rappels_core::rules::Rejection::NotYourChild => StatusCode::FORBIDDEN,
                rappels_core::rules::Rejection::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Err((
                status,
                Json(json!({ "error": rejection.explain(), "reason": rejection.as_str() })),
            )
                .into_response())
        }
        Err(error) => Err(AppError::from(error).json()),
    }
}

/// True when `headers` carry `Authorization: Bearer {token}`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Lengths may differ: `ct_eq` of slices of different lengths is false, and the length of
    // a token is no secret worth hiding.
    bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

/// `POST /api/v1/changes`: the platform's changes as JSON Lines (those of `rappels
/// ingest`), applied through the same library function, in one transaction; all or nothing:
/// a bad line is a 400 naming it, and nothing is applied. 401 without the bearer token of
/// `RAPPELS_API_TOKEN`, 404 when it is not set, 413 past the size limit.
pub(crate) async fn changes(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let Some(token) = &state.0.api_token else {
        return Err(AppError::NotFound.json());
    };
    if !bearer_matches(&headers, token) {
        tracing::warn!("changes refused: missing or wrong bearer token");
        return Err(AppError::Unauthorized.json());
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::BadRequest("the body is not UTF-8".to_owned()).json())?;
    let mut changes = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line, i + 1) {
            Ok(Some(change)) => changes.push((i + 1, change)),
            Ok(None) => {}
            Err(error) => bad.push(json!({
                "line": error.line, "path": error.path, "error": error.message,
            })),
        }
    }
    if !bad.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "bad lines: nothing was applied", "lines": bad })),
        )
            .into_response());
    }
    let report = state
        .0
        .store
        .apply_changes(&changes)
        .await
        .map_err(|error| match error {
            rappels_sqlx::SqlError::Unstorable { .. } => {
                AppError::BadRequest(error.to_string()).json()
            }
            other => AppError::from(other).json(),
        })?;
    tracing::info!(
        lines = changes.len(),
        written = report.written,
        unchanged = report.unchanged,
        unknown = report.unknown.len(),
        "changes applied over HTTP"
    );
    let unknown: Vec<Value> = report
        .unknown
        .iter()
        .map(|(line, what)| json!({ "line": line, "record": what }))
        .collect();
    Ok(Json(json!({
        "written": report.written,
        "unchanged": report.unchanged,
        "unknown": unknown,
    }))
    .into_response())
}
