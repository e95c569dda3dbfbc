//! The pages of each role. Every handler asks `rappels_core::permissions` (directly, or
//! through the service, which asks it) before it reads or writes anything.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use chrono_tz::Tz;
use rappels_core::clock::Clock;
use rappels_core::domain::{EmailAddress, Kind, Locale, StudentId};
use rappels_core::permissions::{self, Actor};
use rappels_core::ports::{Email, LogEntry, Platform};
use rappels_core::rules::{self, Rejection, SessionStanding};
use rappels_core::service::{Reminders, RunOptions, Sender, ServiceError};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Visitor;
use crate::error::AppError;
use crate::i18n::{Lang, Words};
use crate::views::{
    Bar, ChildChoice, ChildPage, Chrome, HomePage, KindChoice, Legend, ManualForm, ReminderPage,
    Requested, Row, StatsPage, TestPage, Tick, Upcoming, local, render,
};

/// Lines of history a page shows.
const HISTORY_LIMIT: usize = 200;

/// Days of the analytics chart.
const CHART_DAYS: i64 = 30;

type Service = Reminders<rappels_sqlx::SqlStore, Arc<dyn Clock>>;

impl AppState {
    pub(crate) fn reminders(&self) -> Service {
        Reminders::new(self.0.store.clone(), self.0.clock.clone())
    }

    /// The platform's zone, in which the pages show instants.
    pub(crate) async fn zone(&self) -> Result<Tz, AppError> {
        Ok(self.reminders().settings().await?.timezone.tz())
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }
}

fn chrome(visitor: &Visitor, state: &AppState, path: &str) -> Chrome {
    Chrome::new(visitor.lang, path).signed_in(visitor.name(), visitor.csrf(state))
}

/// `GET /`: the reminders page.
pub(crate) async fn root() -> Redirect {
    Redirect::to("/repetiteur/rappels/")
}

/// `GET /static/style.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
        .into_response()
}

/// Any other path: a page that says so.
pub(crate) async fn not_found(lang: Lang) -> Response {
    AppError::NotFound.page(lang)
}

/// The names of students, read from the database, for pages that show several.
async fn names(
    state: &AppState,
    students: Vec<StudentId>,
) -> Result<HashMap<StudentId, String>, AppError> {
    let now = state.now();
    let mut names = HashMap::new();
    for id in students {
        if names.contains_key(&id) {
            continue;
        }
        let input = Platform::explain_input(&state.0.store, id, now, now, now).await?;
        let name = input
            .and_then(|i| i.students.get(&id).map(|s| s.full_name()))
            .unwrap_or_else(|| format!("#{id}"));
        names.insert(id, name);
    }
    Ok(names)
}

async fn rows(
    state: &AppState,
    entries: &[LogEntry],
    t: &'static Words,
    zone: Tz,
    with_names: bool,
) -> Result<Vec<Row>, AppError> {
    let names = if with_names {
        names(state, entries.iter().map(|e| e.student).collect()).await?
    } else {
        HashMap::new()
    };
    Ok(entries
        .iter()
        .map(|e| {
            let name = names.get(&e.student).cloned().unwrap_or_default();
            Row::of(e, t, zone, name)
        })
        .collect())
}

#[derive(Deserialize, Default)]
pub(crate) struct HomeQuery {
    #[serde(default)]
    envoye: Option<String>,
}

/// The home page of a visitor, with the manual form as given (and its refusals).
async fn home_page(
    state: &AppState,
    visitor: &Visitor,
    form: ManualForm,
    notice: Option<&'static str>,
) -> Result<HomePage, AppError> {
    let t = visitor.lang.words();
    let zone = state.zone().await?;
    let entries = state
        .reminders()
        .history(&visitor.actor, None, HISTORY_LIMIT)
        .await?;
    let (heading, show_student, children, is_admin) = match &visitor.actor {
        Actor::Student(_) => (t.my_reminders, false, Vec::new(), false),
        Actor::Parent { children, .. } => {
            let names = names(state, children.clone()).await?;
            let mut choices: Vec<ChildChoice> = children
                .iter()
                .map(|id| ChildChoice {
                    id: id.get(),
                    name: names.get(id).cloned().unwrap_or_default(),
                })
                .collect();
            choices.sort_by(|a, b| a.name.cmp(&b.name));
            (t.children_reminders, true, choices, false)
        }
        Actor::Admin { .. } => (t.all_reminders, true, Vec::new(), true),
    };
    Ok(HomePage {
        chrome: chrome(visitor, state, "/repetiteur/rappels/"),
        heading,
        show_student,
        rows: rows(state, &entries, t, zone, show_student).await?,
        children,
        form,
        notice,
        is_admin,
    })
}

/// `GET /repetiteur/rappels/`: a student's reminders; a parent's children's, with the
/// manual-reminder form; everyone's for an admin.
pub(crate) async fn home(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<HomeQuery>,
) -> Response {
    let notice = query.envoye.map(|_| visitor.lang.words().manual_sent);
    match home_page(&state, &visitor, ManualForm::default(), notice).await {
        Ok(page) => render(StatusCode::OK, &page, visitor.lang),
        Err(error) => error.page(visitor.lang),
    }
}

#[derive(Deserialize)]
pub(crate) struct ManualInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
}

/// `POST /repetiteur/rappels/manuel/`: a parent's manual reminder to a child. A refusal of
/// the rules is shown in words next to its field, and nothing is written; accepted, it is
/// recorded for the next sending and the child's page shows it.
pub(crate) async fn send_manual(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(input): Form<ManualInput>,
) -> Response {
    let lang = visitor.lang;
    if let Err(error) = visitor.check_csrf(&state, &input.csrf) {
        return error.page(lang);
    }
    let t = lang.words();
    let student = input
        .student
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| StudentId::new(id).ok());
    let mut form = ManualForm {
        student: student.map_or(0, StudentId::get),
        title: input.title.clone(),
        message: input.message.clone(),
        ..ManualForm::default()
    };
    let Some(student) = student else {
        form.child_error = Some(t.rejection(Rejection::UnknownStudent));
        return refused(&state, &visitor, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let parent = match &visitor.actor {
        Actor::Parent { id, .. } => *id,
        other => {
            return AppError::from(
                permissions::can_send_manual(other, student)
                    .expect_err("only a parent may send a manual reminder"),
            )
            .page(lang);
        }
    };
    if let Err(denied) = permissions::can_send_manual(&visitor.actor, student) {
        tracing::warn!(%parent, %student, %denied, "manual reminder refused");
        form.child_error = Some(t.denied(denied));
        return refused(&state, &visitor, form, StatusCode::FORBIDDEN).await;
    }
    let result = state
        .reminders()
        .request_manual(parent, student, &input.title, &input.message)
        .await;
    match result {
        Ok(id) => {
            tracing::info!(%id, %parent, %student, "manual reminder recorded from the web");
            Redirect::to(&format!("/repetiteur/rappels/enfant/{student}/?envoye=1")).into_response()
        }
        Err(ServiceError::Refused(rejection)) => {
            let words = t.rejection(rejection);
            let status = match rejection {
                Rejection::NotYourChild => StatusCode::FORBIDDEN,
                Rejection::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            match rejection {
                Rejection::InvalidTitle => form.title_error = Some(words),
                Rejection::InvalidMessage => form.message_error = Some(words),
                _ => form.child_error = Some(words),
            }
            refused(&state, &visitor, form, status).await
        }
        Err(error) => AppError::from(error).page(lang),
    }
}

/// The home page again, with the form as typed and its refusal, under `status`.
async fn refused(
    state: &AppState,
    visitor: &Visitor,
    form: ManualForm,
    status: StatusCode,
) -> Response {
    match home_page(state, visitor, form, None).await {
        Ok(page) => render(status, &page, visitor.lang),
        Err(error) => error.page(visitor.lang),
    }
}

/// `GET /repetiteur/rappels/rappel/{key}/`: one reminder, its full message as it was sent;
/// 404 for anyone who may not read it (nothing says it exists).
pub(crate) async fn reminder(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(key): Path<String>,
) -> Response {
    let lang = visitor.lang;
    let result = async {
        let stored = state
            .0
            .store
            .stored_message(&key)
            .await?
            .ok_or(AppError::NotFound)?;
        permissions::history_scope(&visitor.actor, Some(stored.entry.student))
            .map_err(|_| AppError::NotFound)?;
        let zone = state.zone().await?;
        let name = names(&state, vec![stored.entry.student]).await?;
        let row = Row::of(
            &stored.entry,
            lang.words(),
            zone,
            name.get(&stored.entry.student).cloned().unwrap_or_default(),
        );
        Ok::<_, AppError>(ReminderPage {
            chrome: chrome(
                &visitor,
                &state,
                &format!("/repetiteur/rappels/rappel/{key}/"),
            ),
            row,
            text: stored.text,
            html: stored.html,
        })
    }
    .await;
    match result {
        Ok(page) => render(StatusCode::OK, &page, lang),
        Err(error) => error.page(lang),
    }
}

/// `GET /repetiteur/rappels/enfant/{id}/`: a parent's view of one child — sessions to
/// come, requested reminders, reminders, inactivity, this week's figures. 404 for anyone
/// else's child, and for a student or an admin (the page is a parent's).
pub(crate) async fn child(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(query): Query<HomeQuery>,
) -> Response {
    let lang = visitor.lang;
    let t = lang.words();
    let result = async {
        let student = id
            .parse::<i64>()
            .ok()
            .and_then(|id| StudentId::new(id).ok())
            .ok_or(AppError::NotFound)?;
        if !matches!(visitor.actor, Actor::Parent { .. }) {
            return Err(AppError::NotFound);
        }
        permissions::history_scope(&visitor.actor, Some(student))
            .map_err(|_| AppError::NotFound)?;
        let now = state.now();
        let zone = state.zone().await?;
        let week_start = {
            let local = now.with_timezone(&zone).date_naive();
            let monday = local - TimeDelta::days(i64::from(local.weekday().num_days_from_monday()));
            monday
                .and_hms_opt(0, 0, 0)
                .and_then(|m| m.and_local_timezone(zone).earliest())
                .map_or(now - TimeDelta::days(7), |m| m.with_timezone(&Utc))
        };
        let input = Platform::explain_input(
            &state.0.store,
            student,
            week_start,
            now + TimeDelta::days(14),
            now,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        let record = input.students.get(&student).ok_or(AppError::NotFound)?;
        let mut sessions: Vec<_> = input
            .sessions
            .values()
            .filter(|s| s.student_id == student)
            .collect();
        sessions.sort_by_key(|s| s.starts_at);
        // Where each session stands now, as the weekly digest counts it.
        let standing = |s: &rappels_core::domain::Session| rules::session_standing(s, now);
        let this_week = |s: &&&rappels_core::domain::Session| {
            s.starts_at >= week_start && s.starts_at < week_start + TimeDelta::days(7)
        };
        let count = |wanted: SessionStanding| {
            sessions
                .iter()
                .filter(this_week)
                .filter(|s| standing(s) == wanted)
                .count()
        };
        let (completed, missed, scheduled) = (
            count(SessionStanding::Completed),
            count(SessionStanding::Missed),
            count(SessionStanding::ToCome),
        );
        let upcoming = sessions
            .iter()
            .filter(|s| standing(s) == SessionStanding::ToCome)
            .map(|s| Upcoming {
                when: local(s.starts_at, zone),
                subject: s.subject.clone(),
                objective: s.objective.clone(),
            })
            .collect();
        let entries = state
            .reminders()
            .history(&visitor.actor, Some(student), HISTORY_LIMIT)
            .await?;
        let sent_this_week = entries
            .iter()
            .filter(|e| e.sent_at.is_some_and(|at| at >= week_start))
            .count();
        let logged: std::collections::HashSet<String> =
            entries.iter().map(|e| e.key.to_string()).collect();
        let mut requested: Vec<_> = input
            .manual
            .values()
            .filter(|m| m.student_id == student)
            .filter(|m| !logged.contains(&format!("manual:{}", m.id)))
            .collect();
        requested.sort_by_key(|m| std::cmp::Reverse(m.requested_at));
        Ok::<_, AppError>(ChildPage {
            chrome: chrome(
                &visitor,
                &state,
                &format!("/repetiteur/rappels/enfant/{student}/"),
            ),
            name: record.full_name(),
            upcoming,
            last_activity: record.last_activity_at.map(|at| local(at, zone)),
            inactive_days: record.last_activity_at.map(|at| (now - at).num_days()),
            completed,
            missed,
            scheduled,
            sent_this_week,
            requested: requested
                .into_iter()
                .map(|m| Requested {
                    when: local(m.requested_at, zone),
                    title: m.title.clone(),
                })
                .collect(),
            rows: rows(&state, &entries, t, zone, false).await?,
            notice: query.envoye.map(|_| t.manual_sent),
        })
    }
    .await;
    match result {
        Ok(page) => render(StatusCode::OK, &page, lang),
        Err(error) => error.page(lang),
    }
}

fn kinds(t: &'static Words) -> Vec<KindChoice> {
    Kind::ALL
        .into_iter()
        .map(|k| KindChoice {
            value: k.as_str(),
            label: t.kind(k),
        })
        .collect()
}

fn blank_test_page(visitor: &Visitor, state: &AppState) -> TestPage {
    TestPage {
        chrome: chrome(visitor, state, "/repetiteur/rappels/test/"),
        kinds: kinds(visitor.lang.words()),
        address: String::new(),
        reply: None,
        failure: None,
        report: None,
    }
}

/// `GET /repetiteur/rappels/test/`: superusers only.
pub(crate) async fn test_page(State(state): State<AppState>, visitor: Visitor) -> Response {
    if let Err(denied) = permissions::can_send_test(&visitor.actor) {
        return AppError::from(denied).page(visitor.lang);
    }
    render(
        StatusCode::OK,
        &blank_test_page(&visitor, &state),
        visitor.lang,
    )
}

/// The checks of the superusers' forms: the rules' (`can_send_test`), then the form's CSRF
/// token.
fn superusers_form(state: &AppState, visitor: &Visitor, csrf: &str) -> Result<(), Response> {
    permissions::can_send_test(&visitor.actor).map_err(|d| AppError::from(d).page(visitor.lang))?;
    visitor
        .check_csrf(state, csrf)
        .map_err(|e| e.page(visitor.lang))
}

#[derive(Deserialize)]
pub(crate) struct TestInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    locale: String,
}

/// `POST /repetiteur/rappels/test/`: sends the last reminder of a kind that went out (its
/// message as kept by the log, subject marked as a test), or the test message when none
/// has, to an address; shows what the server answered.
pub(crate) async fn send_test(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(input): Form<TestInput>,
) -> Response {
    let lang = visitor.lang;
    if let Err(refused) = superusers_form(&state, &visitor, &input.csrf) {
        return refused;
    }
    let mut page = blank_test_page(&visitor, &state);
    page.address = input.address.clone();
    let Ok(to) = EmailAddress::parse(input.address.trim()) else {
        page.failure = Some(format!("{}: {:?}", lang.words().address, input.address));
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page, lang);
    };
    let kind = input.kind.parse::<Kind>().unwrap_or(Kind::Manual);
    let locale = input.locale.parse::<Locale>().unwrap_or_default();
    let inner = &state.0;
    let message = match inner.store.latest_message(kind).await {
        Ok(Some(stored)) => rappels_core::message::RenderedMessage {
            subject: format!("[TEST] {}", stored.entry.subject),
            text: stored.text,
            html: stored.html,
        },
        Ok(None) => match inner
            .templates
            .test_message(locale, &inner.service.messages)
        {
            Ok(message) => message,
            Err(error) => return AppError::internal("building the test e-mail", error).page(lang),
        },
        Err(error) => return AppError::from(error).page(lang),
    };
    let now = state.now();
    let email = Email {
        message_id: format!(
            "<test.{}.{}@{}>",
            now.timestamp_micros(),
            kind.as_str(),
            inner.service.message_id_domain
        ),
        to,
        to_name: String::new(),
        kind,
        student: StudentId::new(1).expect("1 is a valid id"),
        message,
        unsubscribe_url: None,
    };
    tracing::info!(who = %visitor.session.principal, to = %email.to, kind = kind.as_str(), "test e-mail from the web");
    match inner.mailer.send(&email).await {
        Ok(delivery) => page.reply = Some(delivery.reply),
        Err(error) => page.failure = Some(error.to_string()),
    }
    render(StatusCode::OK, &page, lang)
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /repetiteur/rappels/test/run/`: the original "run now": plans, records and sends
/// what is due, through the same claims as every runner, and shows the report.
pub(crate) async fn run_now(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(input): Form<CsrfOnly>,
) -> Response {
    let lang = visitor.lang;
    if let Err(refused) = superusers_form(&state, &visitor, &input.csrf) {
        return refused;
    }
    let inner = state.0.clone();
    tracing::info!(who = %visitor.session.principal, "run started from the web");
    // The sending's future borrows the mailer across its awaits in a way the compiler
    // cannot prove `Send` for every lifetime (rust-lang/rust#64552); it runs on a blocking
    // thread of the same runtime instead, its connections and timers on the runtime's
    // drivers as any other.
    let handle = tokio::runtime::Handle::current();
    let run = tokio::task::spawn_blocking(move || {
        let sender = Sender::new(
            inner.store.clone(),
            &*inner.mailer,
            inner.clock.clone(),
            inner.templates.clone(),
            inner.service.clone(),
        );
        handle.block_on(sender.run(&RunOptions::default()))
    })
    .await;
    let report = match run {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => return AppError::from(error).page(lang),
        Err(error) => return AppError::internal("the sending", error).page(lang),
    };
    tracing::info!(
        sent = report.sent,
        recorded = report.recorded,
        "run from the web ended"
    );
    let t = lang.words();
    let mut page = blank_test_page(&visitor, &state);
    page.report = Some(vec![
        (t.planned, report.planned),
        (t.recorded, report.recorded),
        (t.sent, report.sent),
        (t.retried, report.retried),
        (t.failed, report.failed),
        (t.expired, report.expired),
        (t.cancelled, report.cancelled),
    ]);
    render(StatusCode::OK, &page, lang)
}

/// `GET /repetiteur/rappels/stats/`: the analytics of the admins.
pub(crate) async fn stats(State(state): State<AppState>, visitor: Visitor) -> Response {
    let lang = visitor.lang;
    if let Err(denied) = permissions::can_read_stats(&visitor.actor) {
        return AppError::from(denied).page(lang);
    }
    match stats_page(&state, &visitor).await {
        Ok(page) => render(StatusCode::OK, &page, lang),
        Err(error) => error.page(lang),
    }
}

async fn stats_page(state: &AppState, visitor: &Visitor) -> Result<StatsPage, AppError> {
    let t = visitor.lang.words();
    let now = state.now();
    let zone = state.zone().await?;
    let days = u32::try_from(CHART_DAYS).unwrap_or(30);
    let counts = state.reminders().stats(days).await?;
    let offset = {
        use chrono::Offset;
        i64::from(now.with_timezone(&zone).offset().fix().local_minus_utc())
    };
    let analytics = state
        .0
        .store
        .analytics(now - TimeDelta::days(CHART_DAYS), offset)
        .await?;
    let today = now.with_timezone(&zone).date_naive();
    let first = today - TimeDelta::days(CHART_DAYS - 1);
    let mut per_day: BTreeMap<chrono::NaiveDate, Vec<(Kind, u64)>> = BTreeMap::new();
    for ((day, kind), n) in &analytics.sent {
        if *day >= first {
            per_day.entry(*day).or_default().push((*kind, *n));
        }
    }
    let max = per_day
        .values()
        .map(|kinds| kinds.iter().map(|(_, n)| n).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, left, top, bottom) = (640u32, 240u32, 44u32, 14u32, 30u32);
    let plot = height - top - bottom;
    let slot = (width - left - 10) / u32::try_from(CHART_DAYS).unwrap_or(30);
    let mut bars = Vec::new();
    let mut ticks = Vec::new();
    for i in 0..CHART_DAYS {
        let day = first + TimeDelta::days(i);
        let x = left + u32::try_from(i).unwrap_or(0) * slot;
        if i % 5 == 0 || i == CHART_DAYS - 1 {
            ticks.push(Tick {
                x: x + slot / 2,
                label: day.format("%d/%m").to_string(),
            });
        }
        let mut base = height - bottom;
        for kind in Kind::ALL {
            let n = per_day
                .get(&day)
                .and_then(|kinds| kinds.iter().find(|(k, _)| *k == kind))
                .map_or(0, |(_, n)| *n);
            if n == 0 {
                continue;
            }
            let h = u32::try_from(u64::from(plot) * n / max)
                .unwrap_or(plot)
                .max(1);
            base -= h;
            bars.push(Bar {
                x: x + 1,
                y: base,
                width: slot.saturating_sub(2).max(1),
                height: h,
                class: kind_class(kind),
                title: format!("{} — {} : {n}", day.format("%Y-%m-%d"), t.kind(kind)),
            });
        }
    }
    Ok(StatsPage {
        chrome: chrome(visitor, state, "/repetiteur/rappels/stats/"),
        figures: vec![
            (t.sent_today, counts.sent_today),
            (t.sent_30_days, counts.sent_in_period),
            (t.pending, counts.pending),
            (t.failed, counts.failed),
            (t.expired, counts.expired),
            (t.cancelled, counts.cancelled),
        ],
        width,
        height,
        bars,
        ticks,
        max,
        legend: Kind::ALL
            .into_iter()
            .map(|k| Legend {
                class: kind_class(k),
                label: t.kind(k),
            })
            .collect(),
        errors: analytics.errors,
        opt_outs: analytics
            .opt_outs
            .into_iter()
            .map(|(family, n)| (t.family(family), n))
            .collect(),
    })
}

fn kind_class(kind: Kind) -> &'static str {
    match kind {
        Kind::SessionEve => "k-session_eve",
        Kind::SessionDay => "k-session_day",
        Kind::Inactivity => "k-inactivity",
        Kind::Weekly => "k-weekly",
        Kind::Manual => "k-manual",
    }
}
