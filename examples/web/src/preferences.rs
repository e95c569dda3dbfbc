//! A student's choice of reminders: the preference page, reached from the footer of every
//! automatic reminder (a signed token, no sign-in) or signed in; and `/unsubscribe`, the
//! RFC 8058 one-click endpoint of the `List-Unsubscribe` header.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rappels_core::domain::{Family, StudentId};
use rappels_core::permissions::{self, Actor};
use rappels_core::ports::Platform;
use rappels_core::service::ServiceError;
use rappels_core::unsubscribe::{self, UnsubscribeConfig};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Visitor;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views::{Chrome, FamilyChoice, PreferencesPage, UnsubscribePage, families, render};

#[derive(Deserialize, Default)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Who the page is for: the student a token names, or the signed-in visitor; the rules
/// decide whether they may change `student`'s preferences.
fn judged(actor: &Actor, student: StudentId) -> Result<(), AppError> {
    permissions::can_manage_preferences(actor, student).map_err(AppError::Denied)
}

fn bad_token(lang: Lang) -> AppError {
    AppError::BadRequest(lang.words().bad_link.to_owned())
}

/// The student a token names, if this platform's secret signed it.
fn student_of(state: &AppState, token: &str, lang: Lang) -> Result<(StudentId, Family), AppError> {
    unsubscribe::verify(&state.0.secret, token).map_err(|error| {
        tracing::warn!(%error, "preference token refused");
        bad_token(lang)
    })
}

/// `GET /preferences[?token=…]`.
pub(crate) async fn page(
    State(state): State<AppState>,
    lang: Lang,
    visitor: Result<Visitor, Response>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let result = async {
        let (student, chrome, csrf) = if query.token.is_empty() {
            let visitor = visitor.map_err(|_| AppError::SignedOut)?;
            let Actor::Student(student) = visitor.actor else {
                return Err(AppError::Denied(permissions::Denied::NotOwnPreferences));
            };
            let csrf = visitor.csrf(&state);
            let chrome = Chrome::new(lang, "/preferences").signed_in(visitor.name(), csrf.clone());
            (student, chrome, csrf)
        } else {
            let (student, _) = student_of(&state, &query.token, lang)?;
            (student, Chrome::new(lang, "/preferences"), String::new())
        };
        judged(&Actor::Student(student), student)?;
        let prefs = state
            .0
            .store
            .preferences(student)
            .await?
            .ok_or(AppError::NotFound)?;
        let t = lang.words();
        Ok(PreferencesPage {
            chrome,
            families: families(t)
                .map(|(family, label)| FamilyChoice {
                    value: family.as_str(),
                    label,
                    receives: prefs.receives(family),
                    by_school: prefs.platform.excludes(family),
                })
                .collect(),
            token: query.token.clone(),
            form_csrf: csrf,
        })
    }
    .await;
    match result {
        Ok(page) => render(StatusCode::OK, &page, lang),
        Err(error) => error.page(lang),
    }
}

#[derive(Deserialize)]
pub(crate) struct Change {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    receive: String,
}

/// `POST /preferences`: stop or resume a family, then the page again. With a token the
/// token is the credential (it comes from the student's own e-mail); signed in, the form's
/// CSRF token must be the session's.
pub(crate) async fn change(
    State(state): State<AppState>,
    lang: Lang,
    visitor: Result<Visitor, Response>,
    Form(change): Form<Change>,
) -> Response {
    let result = async {
        let (actor, student) = if change.token.is_empty() {
            let visitor = visitor.map_err(|_| AppError::SignedOut)?;
            visitor.check_csrf(&state, &change.csrf)?;
            let Actor::Student(student) = visitor.actor else {
                return Err(AppError::Denied(permissions::Denied::NotOwnPreferences));
            };
            (visitor.actor, student)
        } else {
            let (student, _) = student_of(&state, &change.token, lang)?;
            (Actor::Student(student), student)
        };
        judged(&actor, student)?;
        let family = Family::parse(&change.family)
            .ok_or_else(|| AppError::BadRequest(format!("unknown family {:?}", change.family)))?;
        let store = &state.0.store;
        let changed = match change.receive.as_str() {
            "no" => Platform::opt_out(store, student, family).await?,
            "yes" => store
                .opt_in(student, family)
                .await?
                .ok_or(AppError::NotFound)?,
            other => return Err(AppError::BadRequest(format!("receive must be yes or no, not {other:?}"))),
        };
        tracing::info!(%student, family = family.as_str(), receive = %change.receive, changed, "preferences changed");
        let back = if change.token.is_empty() {
            "/preferences".to_owned()
        } else {
            format!("/preferences?token={}", change.token)
        };
        Ok(Redirect::to(&back).into_response())
    }
    .await;
    result.unwrap_or_else(|error| error.page(lang))
}

fn unsubscribe_config(state: &AppState) -> UnsubscribeConfig {
    UnsubscribeConfig {
        secret: state.0.secret.clone(),
        base_url: state.0.site_url.clone(),
    }
}

/// `GET /unsubscribe?token=…`: says what the link would stop and asks to confirm (a GET
/// changes nothing: mail scanners follow links), and offers the preference page.
pub(crate) async fn unsubscribe_page(
    State(state): State<AppState>,
    lang: Lang,
    Query(query): Query<TokenQuery>,
) -> Response {
    match student_of(&state, &query.token, lang) {
        Ok((_, family)) => render(
            StatusCode::OK,
            &UnsubscribePage {
                chrome: Chrome::new(lang, "/unsubscribe"),
                family: lang.words().family(family),
                done: false,
                token: query.token,
            },
            lang,
        ),
        Err(error) => error.page(lang),
    }
}

/// `POST /unsubscribe?token=…`: RFC 8058 one-click (the mail client posts
/// `List-Unsubscribe=One-Click`), or the confirmation of the page: no sign-in, the token
/// verified by core; a second click changes nothing and says the same.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    lang: Lang,
    Query(query): Query<TokenQuery>,
) -> Response {
    let result = state
        .reminders()
        .unsubscribe(&unsubscribe_config(&state), &query.token)
        .await;
    match result {
        Ok((_, family, _)) => render(
            StatusCode::OK,
            &UnsubscribePage {
                chrome: Chrome::new(lang, "/unsubscribe"),
                family: lang.words().family(family),
                done: true,
                token: query.token,
            },
            lang,
        ),
        Err(ServiceError::Unsubscribe(error)) => {
            tracing::warn!(%error, "unsubscribe token refused");
            bad_token(lang).page(lang)
        }
        Err(error) => AppError::from(error).page(lang),
    }
}
