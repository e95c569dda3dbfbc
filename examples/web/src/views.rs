//! What the templates show: one struct per page, checked against its template when the
//! crate compiles (askama), everything escaped unless a template says otherwise (none do).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rappels_core::domain::Family;
use rappels_core::ports::{LogEntry, ReminderStatus};

use crate::error::AppError;
use crate::i18n::{Lang, Words};

/// What every page's frame needs: the words, the language, who is signed in and the CSRF
/// token of the sign-out form.
pub(crate) struct Chrome {
    pub(crate) t: &'static Words,
    pub(crate) lang: Lang,
    pub(crate) name: Option<String>,
    pub(crate) csrf: String,
    /// This page's path, for the language switch.
    pub(crate) path: String,
}

impl Chrome {
    pub(crate) fn new(lang: Lang, path: &str) -> Chrome {
        Chrome {
            t: lang.words(),
            lang,
            name: None,
            csrf: String::new(),
            path: path.to_owned(),
        }
    }

    pub(crate) fn signed_in(mut self, name: String, csrf: String) -> Chrome {
        self.name = Some(name);
        self.csrf = csrf;
        self
    }
}

/// Renders a page with `status`; a template failure is a logged 500.
pub(crate) fn render(status: StatusCode, page: &impl Template, lang: Lang) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => AppError::internal("rendering a page", error).page(lang),
    }
}

/// An instant as the pages show it: the platform's local date and time.
pub(crate) fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// One line of a history.
pub(crate) struct Row {
    pub(crate) key: String,
    pub(crate) kind: &'static str,
    pub(crate) when: String,
    pub(crate) status: &'static str,
    pub(crate) status_class: &'static str,
    pub(crate) subject: String,
    pub(crate) student: String,
}

impl Row {
    pub(crate) fn of(entry: &LogEntry, t: &Words, zone: Tz, student: String) -> Row {
        Row {
            key: entry.key.to_string(),
            kind: t.kind(entry.key.kind()),
            when: local(entry.sent_at.unwrap_or(entry.due_at), zone),
            status: t.status(entry.status),
            status_class: match entry.status {
                ReminderStatus::Sent => "ok",
                ReminderStatus::Pending | ReminderStatus::Sending => "wait",
                ReminderStatus::Failed | ReminderStatus::Expired | ReminderStatus::Cancelled => {
                    "off"
                }
            },
            subject: entry.subject.clone(),
            student,
        }
    }
}

/// A child a parent can pick.
pub(crate) struct ChildChoice {
    pub(crate) id: i64,
    pub(crate) name: String,
}

/// The manual-reminder form, as typed, with a refusal next to the field it is about.
#[derive(Default)]
pub(crate) struct ManualForm {
    pub(crate) student: i64,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) child_error: Option<&'static str>,
    pub(crate) title_error: Option<&'static str>,
    pub(crate) message_error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    pub(crate) chrome: Chrome,
    pub(crate) heading: &'static str,
    pub(crate) show_student: bool,
    pub(crate) rows: Vec<Row>,
    pub(crate) children: Vec<ChildChoice>,
    pub(crate) form: ManualForm,
    pub(crate) notice: Option<&'static str>,
    pub(crate) is_admin: bool,
}

#[derive(Template)]
#[template(path = "reminder.html")]
pub(crate) struct ReminderPage {
    pub(crate) chrome: Chrome,
    pub(crate) row: Row,
    pub(crate) text: String,
    pub(crate) html: String,
}

/// A session to come.
pub(crate) struct Upcoming {
    pub(crate) when: String,
    pub(crate) subject: String,
    pub(crate) objective: String,
}

/// A manual reminder asked for and not sent yet.
pub(crate) struct Requested {
    pub(crate) when: String,
    pub(crate) title: String,
}

#[derive(Template)]
#[template(path = "child.html")]
pub(crate) struct ChildPage {
    pub(crate) chrome: Chrome,
    pub(crate) name: String,
    pub(crate) upcoming: Vec<Upcoming>,
    pub(crate) last_activity: Option<String>,
    pub(crate) inactive_days: Option<i64>,
    pub(crate) completed: usize,
    pub(crate) missed: usize,
    pub(crate) scheduled: usize,
    pub(crate) sent_this_week: usize,
    pub(crate) requested: Vec<Requested>,
    pub(crate) rows: Vec<Row>,
    pub(crate) notice: Option<&'static str>,
}

/// A kind of reminder in the test form.
pub(crate) struct KindChoice {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
}

#[derive(Template)]
#[template(path = "test.html")]
pub(crate) struct TestPage {
    pub(crate) chrome: Chrome,
    pub(crate) kinds: Vec<KindChoice>,
    pub(crate) address: String,
    pub(crate) reply: Option<String>,
    pub(crate) failure: Option<String>,
    pub(crate) report: Option<Vec<(&'static str, usize)>>,
}

/// A bar of the chart.
pub(crate) struct Bar {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) class: &'static str,
    pub(crate) title: String,
}

/// A label under the chart.
pub(crate) struct Tick {
    pub(crate) x: u32,
    pub(crate) label: String,
}

/// A kind in the chart's legend.
pub(crate) struct Legend {
    pub(crate) class: &'static str,
    pub(crate) label: &'static str,
}

#[derive(Template)]
#[template(path = "stats.html")]
pub(crate) struct StatsPage {
    pub(crate) chrome: Chrome,
    pub(crate) figures: Vec<(&'static str, u64)>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bars: Vec<Bar>,
    pub(crate) ticks: Vec<Tick>,
    pub(crate) max: u64,
    pub(crate) legend: Vec<Legend>,
    pub(crate) errors: Vec<(String, u64)>,
    pub(crate) opt_outs: Vec<(&'static str, u64)>,
}

/// A family on the preference page.
pub(crate) struct FamilyChoice {
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) receives: bool,
    pub(crate) by_school: bool,
}

#[derive(Template)]
#[template(path = "preferences.html")]
pub(crate) struct PreferencesPage {
    pub(crate) chrome: Chrome,
    pub(crate) families: Vec<FamilyChoice>,
    /// The signed token of the link the student came with (empty when signed in).
    pub(crate) token: String,
    /// The CSRF token of a signed-in student (empty with a token).
    pub(crate) form_csrf: String,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
pub(crate) struct UnsubscribePage {
    pub(crate) chrome: Chrome,
    pub(crate) family: &'static str,
    pub(crate) done: bool,
    pub(crate) token: String,
}

/// The families a page lists.
pub(crate) fn families(t: &'static Words) -> impl Iterator<Item = (Family, &'static str)> {
    Family::ALL.into_iter().map(move |f| (f, t.family(f)))
}
