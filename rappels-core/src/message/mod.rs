//! Message building: the subject, plain-text body and HTML body of every reminder, rendered
//! from handlebars templates in French (the default) and English.
//!
//! The templates ship inside the crate (`templates/*.hbs`) so that a binary works with no file
//! around it, and an operator may replace any of them; the CLI reads the override folder, core
//! does no IO. Two registries render them. The HTML one escapes every value; the other does
//! not, because escaping a subject or a plain-text body would show `&amp;` to the reader.
//! Both run in strict mode, so an override naming a field that does not exist fails loudly
//! instead of sending a message with a hole in it.
//!
//! Everything a message shows is derived from the due reminder and the records it names, in
//! the student's zone and language: building a message never reads a clock, so the same
//! reminder always gives the same message, and a catch-up sent hours late reads the same as
//! one sent on time.
//!
//! Every automatic reminder ends with a footer linking to the student's preference page
//! (`footer.{fr|en}.{text|html}.hbs`). It is rendered with the reminder's data and added to
//! the bodies here rather than written into each body template, so that a platform's own
//! body templates, written before the footer existed or without it in mind, still show it;
//! a platform that wants another footer replaces the footer templates.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, Path, PathSeg, RenderContext, RenderError,
    RenderErrorReason, Renderable, Template, TemplateError,
};
use serde::Serialize;

use crate::domain::{
    DomainError, Kind, Locale, ManualId, ManualRequest, MessageText, ParentId, PeriodicKind,
    ReminderKey, Session, SessionId, Student, StudentId, TimeOfDay, Title, Zone,
};
use crate::plan::{Directory, DueReminder};
use crate::rules::{self, SessionStanding};
use crate::settings::Settings;
use crate::snapshot::Snapshot;
use crate::unsubscribe::{self, UnsubscribeSecret};

pub use crate::site_url::{SiteUrl, SiteUrlError};

/// Where links in messages point and how the platform signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageConfig {
    /// The platform's address, e.g. `https://www.example.org`. A trailing `/` is ignored so
    /// that `{{site_url}}/sessions/…` never holds `//`.
    pub site_url: String,
    /// Handlebars pattern of a session's chat link; it can use `site_url`, `session_id` and
    /// `student_id`. Rendered without escaping: the HTML templates escape the result.
    pub session_link: String,
    /// The platform's name, used in signatures ("L'équipe MyKarfour").
    pub platform_name: String,
}

impl Default for MessageConfig {
    /// The original system's values: a development server and its chat route.
    fn default() -> Self {
        MessageConfig {
            site_url: "http://localhost:8000".to_owned(),
            session_link: "{{site_url}}/sessions/{{session_id}}/chat".to_owned(),
            platform_name: "MyKarfour".to_owned(),
        }
    }
}

/// A message ready to be sent: one line of subject and two bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    /// One line: no control character (so no CR or LF), no run of spaces, trimmed.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, every value in it escaped.
    pub html: String,
}

/// Why a message could not be built. Every variant is permanent for the reminder concerned:
/// retrying without changing a template, the configuration or the data gives the same error.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// An override whose file name is not one of [`Templates::names`].
    #[error(
        "unknown template {file:?}: expected a name of the form kind.locale.part.hbs, such as \"weekly.fr.html.hbs\""
    )]
    UnknownTemplate {
        /// The file name as given.
        file: String,
    },
    /// A template with a handlebars syntax error.
    #[error("template {file} does not parse")]
    Parse {
        /// The template's file name, e.g. `weekly.en.html.hbs`.
        file: String,
        /// What handlebars found wrong, with the line and column.
        #[source]
        source: Box<TemplateError>,
    },
    /// A template that parses but fails on the data, such as a field that does not exist.
    #[error("cannot render template {file}")]
    Render {
        /// The template's file name.
        file: String,
        /// What handlebars found wrong.
        #[source]
        source: Box<RenderError>,
    },
    /// The `session_link` pattern of the configuration does not render.
    #[error("cannot render the session link pattern {pattern:?}")]
    SessionLink {
        /// The pattern.
        pattern: String,
        /// What handlebars found wrong.
        #[source]
        source: Box<RenderError>,
    },
    /// The reminder's student is not in the source.
    #[error("student {0} not found")]
    StudentNotFound(StudentId),
    /// The reminder's session is not in the source.
    #[error("session {0} not found")]
    SessionNotFound(SessionId),
    /// The reminder's manual request is not in the source.
    #[error("manual request {0} not found")]
    ManualRequestNotFound(ManualId),
    /// The parent of the reminder's manual request is not in the source.
    #[error("parent {0} not found")]
    ParentNotFound(ParentId),
    /// The session or request belongs to another student than the reminder's: refusing it
    /// keeps one family's data out of another family's mailbox.
    #[error("{record} belongs to student {owner}, not to student {student}")]
    WrongStudent {
        /// The record, e.g. `session 100`.
        record: String,
        /// Whose record it is.
        owner: StudentId,
        /// The student the reminder goes to.
        student: StudentId,
    },
    /// An inactivity reminder for a student with neither last activity nor creation date.
    #[error("student {0} has neither last_activity_at nor created_at")]
    NoActivityReference(StudentId),
    /// A manual request whose title or message the rules would refuse.
    #[error("manual request {id} is invalid")]
    InvalidManual {
        /// The request.
        id: ManualId,
        /// What is wrong with it.
        #[source]
        source: DomainError,
    },
}

/// The data a message reads besides the due reminder.
pub trait MessageSource: Directory {
    /// The session with this id.
    fn session(&self, id: SessionId) -> Option<&Session>;
    /// The manual request with this id.
    fn manual_request(&self, id: ManualId) -> Option<&ManualRequest>;
    /// Sessions of `student` starting in `[from, until)`, any status.
    fn sessions_between(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<&Session>;
}

impl MessageSource for Snapshot {
    fn session(&self, id: SessionId) -> Option<&Session> {
        Snapshot::session(self, id)
    }

    fn manual_request(&self, id: ManualId) -> Option<&ManualRequest> {
        Snapshot::manual_request(self, id)
    }

    fn sessions_between(
        &self,
        student: StudentId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<&Session> {
        self.sessions_of(student, from, until)
    }
}

/// Inlines a template file of `templates/` under its own name.
macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../../templates/", $file)))),*]
    };
}

/// The shipped templates: every kind × locale × part, by file name, then the footer of the
/// automatic kinds (text and HTML per locale). The test e-mail of the admin (`test`) is a
/// kind of its own here.
const EMBEDDED: &[(&str, &str)] = embedded![
    "session_eve.fr.subject.hbs",
    "session_eve.fr.text.hbs",
    "session_eve.fr.html.hbs",
    "session_eve.en.subject.hbs",
    "session_eve.en.text.hbs",
    "session_eve.en.html.hbs",
    "session_day.fr.subject.hbs",
    "session_day.fr.text.hbs",
    "session_day.fr.html.hbs",
    "session_day.en.subject.hbs",
    "session_day.en.text.hbs",
    "session_day.en.html.hbs",
    "inactivity.fr.subject.hbs",
    "inactivity.fr.text.hbs",
    "inactivity.fr.html.hbs",
    "inactivity.en.subject.hbs",
    "inactivity.en.text.hbs",
    "inactivity.en.html.hbs",
    "weekly.fr.subject.hbs",
    "weekly.fr.text.hbs",
    "weekly.fr.html.hbs",
    "weekly.en.subject.hbs",
    "weekly.en.text.hbs",
    "weekly.en.html.hbs",
    "manual.fr.subject.hbs",
    "manual.fr.text.hbs",
    "manual.fr.html.hbs",
    "manual.en.subject.hbs",
    "manual.en.text.hbs",
    "manual.en.html.hbs",
    "test.fr.subject.hbs",
    "test.fr.text.hbs",
    "test.fr.html.hbs",
    "test.en.subject.hbs",
    "test.en.text.hbs",
    "test.en.html.hbs",
    "footer.fr.text.hbs",
    "footer.fr.html.hbs",
    "footer.en.text.hbs",
    "footer.en.html.hbs",
];

/// The name of the footer of automatic reminders in template file names; it has a text and
/// an HTML part per locale, and no subject.
const FOOTER: &str = "footer";

/// The name of the admin's test e-mail in template file names.
const TEST_KIND: &str = "test";

/// Every kind of message in template file names, in the order of [`Templates`]' table.
const KINDS: [&str; 6] = [
    "session_eve",
    "session_day",
    "inactivity",
    "weekly",
    "manual",
    TEST_KIND,
];

/// The three parts of a message, as named in template file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    fn as_str(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "text",
            Part::Html => "html",
        }
    }
}

/// The message templates, parsed once and rendered for any number of reminders.
#[derive(Debug, Clone)]
pub struct Templates {
    /// Subjects and plain-text bodies: no escaping.
    plain: Handlebars<'static>,
    /// HTML bodies: every value escaped.
    html: Handlebars<'static>,
    /// One entry per kind × locale, at `kind * 2 + locale` (see [`Templates::entry`]).
    entries: Vec<Entry>,
    /// The session link pattern, compiled once for every session of every message.
    link: LinkCache,
}

/// The registered names of the three templates of one kind and locale, and what its
/// subject reads: names are built once rather than for every message, and a subject that
/// does not show, say, the week's sessions does not make `rappels plan` gather them.
#[derive(Debug, Clone)]
struct Entry {
    subject: String,
    text: String,
    html: String,
    subject_reads: Reads,
    /// The footer templates (text, HTML) of an automatic kind; `None` for parents' manual
    /// reminders, which a student cannot opt out of, and for the admin's test e-mail.
    footer: Option<(String, String)>,
}

/// The session link pattern last compiled, shared by every message rendered with the same
/// configuration: compiling it for each session of each message dominated the time of a
/// plan with many reminders.
#[derive(Default)]
struct LinkCache(Mutex<Option<(String, Arc<Template>)>>);

impl LinkCache {
    fn get(&self, pattern: &str) -> Result<Arc<Template>, TemplateError> {
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((compiled_from, template)) = cached.as_ref()
            && compiled_from == pattern
        {
            return Ok(Arc::clone(template));
        }
        let template = Arc::new(Template::compile(pattern)?);
        *cached = Some((pattern.to_owned(), Arc::clone(&template)));
        Ok(template)
    }
}

impl Clone for LinkCache {
    /// A copy starts empty: the cache is only a saving, never state.
    fn clone(&self) -> Self {
        LinkCache::default()
    }
}

impl fmt::Debug for LinkCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkCache")
    }
}

/// Handlebars output into a string that grows as needed (the registry's own string output
/// reserves 8 KiB for each rendering, a lot for a one-line subject).
struct StringSink(String);

impl Output for StringSink {
    fn write(&mut self, segment: &str) -> Result<(), std::io::Error> {
        self.0.push_str(segment);
        Ok(())
    }
}

impl Templates {
    /// The templates shipped in the crate, for every kind, locale (`fr`, `en`) and part
    /// (subject, text, HTML).
    pub fn embedded() -> Templates {
        Self::from_sources(
            EMBEDDED
                .iter()
                .map(|&(file, source)| (file, Cow::Borrowed(source))),
        )
        .expect("the embedded templates parse (checked by the tests)")
    }

    /// The embedded templates with some replaced. `sources` are (file name, template
    /// source) pairs, with names such as `session_eve.fr.subject.hbs` or `weekly.en.html.hbs`
    /// (see [`Templates::names`]). An unknown name is an error naming the file, so that a
    /// typo in an override folder is caught instead of silently ignored; so is a syntax
    /// error.
    pub fn with_overrides(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Templates, MessageError> {
        let mut chosen: Vec<(&'static str, Cow<'static, str>)> = EMBEDDED
            .iter()
            .map(|&(file, source)| (file, Cow::Borrowed(source)))
            .collect();
        for (file, source) in sources {
            let Some(slot) = chosen.iter_mut().find(|(name, _)| *name == file) else {
                return Err(MessageError::UnknownTemplate { file });
            };
            slot.1 = Cow::Owned(source);
        }
        Self::from_sources(chosen)
    }

    /// Every template file name that can be overridden, in a stable order.
    pub fn names() -> Vec<String> {
        EMBEDDED
            .iter()
            .map(|(file, _)| (*file).to_owned())
            .collect()
    }

    fn from_sources<'s>(
        sources: impl IntoIterator<Item = (&'s str, Cow<'s, str>)>,
    ) -> Result<Templates, MessageError> {
        let mut templates = Templates {
            plain: registry(handlebars::no_escape),
            html: registry(handlebars::html_escape),
            entries: Vec::new(),
            link: LinkCache::default(),
        };
        templates.html.register_helper("nl2br", Box::new(nl2br));
        for (file, source) in sources {
            let name = file.strip_suffix(".hbs").unwrap_or(file);
            let registry = if name.ends_with(".html") {
                &mut templates.html
            } else {
                &mut templates.plain
            };
            registry
                .register_template_string(name, source.as_ref())
                .map_err(|e| MessageError::Parse {
                    file: file.to_owned(),
                    source: Box::new(e),
                })?;
        }
        for kind in KINDS {
            let automatic = kind.parse::<Kind>().ok().and_then(Kind::family).is_some();
            for locale in Locale::ALL {
                let name = |part: Part| {
                    format!("{kind}.{locale}.{}", part.as_str(), locale = locale.code())
                };
                let footer = automatic.then(|| {
                    let footer = |part: Part| {
                        format!(
                            "{FOOTER}.{locale}.{}",
                            part.as_str(),
                            locale = locale.code()
                        )
                    };
                    (footer(Part::Text), footer(Part::Html))
                });
                let subject = name(Part::Subject);
                // Every kind × locale × part is embedded and overrides only replace, so the
                // subject is always registered; a missing one would only mean reading all.
                let subject_reads = templates
                    .plain
                    .get_template(&subject)
                    .map_or(Reads::ALL, Reads::of);
                templates.entries.push(Entry {
                    subject,
                    text: name(Part::Text),
                    html: name(Part::Html),
                    subject_reads,
                    footer,
                });
            }
        }
        Ok(templates)
    }

    /// Subject, text and HTML of one due reminder, in the student's language and zone. The
    /// footer of an automatic reminder links to `{site_url}/preferences`, where the student
    /// signs in; [`Templates::render_signed`] adds the token that opens the page directly.
    pub fn render(
        &self,
        due: &DueReminder,
        source: &impl MessageSource,
        settings: &Settings,
        config: &MessageConfig,
    ) -> Result<RenderedMessage, MessageError> {
        self.render_signed(due, source, settings, config, None)
    }

    /// As [`Templates::render`], with the footer of an automatic reminder linking to
    /// `{site_url}/preferences?token={token}` when `secret` is given: `token` is the one
    /// [`unsubscribe::sign`] makes for the student and the kind's family, the very token of
    /// the reminder's `List-Unsubscribe` address, so the page knows whose preferences to show.
    /// Subjects ([`Templates::subject`]) never sign one: a subject naming `preferences_url`
    /// shows the link without a token.
    pub fn render_signed(
        &self,
        due: &DueReminder,
        source: &impl MessageSource,
        settings: &Settings,
        config: &MessageConfig,
        secret: Option<&UnsubscribeSecret>,
    ) -> Result<RenderedMessage, MessageError> {
        let data = self.reminder_data(due, source, settings, config, secret, false)?;
        self.render_all(&data)
    }

    /// Only the subject of one due reminder. The records are looked up and checked as for
    /// [`Templates::render`], but only the data the subject template reads is built.
    pub fn subject(
        &self,
        due: &DueReminder,
        source: &impl MessageSource,
        settings: &Settings,
        config: &MessageConfig,
    ) -> Result<String, MessageError> {
        let data = self.reminder_data(due, source, settings, config, None, true)?;
        let context = data.context()?;
        self.render_part(&data, &context, Part::Subject)
            .map(|s| header_line(&s))
    }

    /// The subjects of many due reminders (what `rappels plan` prints), in order, each as
    /// [`Templates::subject`] gives it. A subject is a function of the data its template
    /// reads, which is often shared (every weekly digest of a language has the same subject,
    /// every eve reminder for a subject and time too): each distinct data is rendered once.
    pub fn subjects(
        &self,
        dues: &[DueReminder],
        source: &impl MessageSource,
        settings: &Settings,
        config: &MessageConfig,
    ) -> Vec<Result<String, MessageError>> {
        let mut rendered: HashMap<(usize, String), String> = HashMap::new();
        dues.iter()
            .map(|due| {
                let data = self.reminder_data(due, source, settings, config, None, true)?;
                // The data holds only what the template reads, so equal texts render alike.
                let key = serde_json::to_string(&data)
                    .map_err(|e| data.unrenderable(RenderErrorReason::SerdeError(e)))?;
                let key = (self.entry_index(data.kind, data.locale), key);
                if let Some(subject) = rendered.get(&key) {
                    return Ok(subject.clone());
                }
                let context = data.context()?;
                let subject = header_line(&self.render_part(&data, &context, Part::Subject)?);
                rendered.insert(key, subject.clone());
                Ok(subject)
            })
            .collect()
    }

    /// The admin's test e-mail, which checks that mail goes out and shows the configured
    /// site and platform name.
    pub fn test_message(
        &self,
        locale: Locale,
        config: &MessageConfig,
    ) -> Result<RenderedMessage, MessageError> {
        self.render_all(&MessageData::new(TEST_KIND, locale, config))
    }

    fn render_all(&self, data: &MessageData<'_>) -> Result<RenderedMessage, MessageError> {
        let context = data.context()?;
        let subject = header_line(&self.render_part(data, &context, Part::Subject)?);
        let mut text = self.render_part(data, &context, Part::Text)?;
        let mut html = self.render_part(data, &context, Part::Html)?;
        if let Some((text_footer, html_footer)) = &self.entry(data.kind, data.locale).footer {
            text = with_text_footer(
                text,
                &self.render_named(&self.plain, text_footer, &context)?,
            );
            html = with_html_footer(html, &self.render_named(&self.html, html_footer, &context)?);
        }
        Ok(RenderedMessage {
            subject,
            text,
            html,
        })
    }

    /// The names and subject reads of one kind and locale (both as template file names
    /// write them).
    fn entry(&self, kind: &str, locale: &str) -> &Entry {
        &self.entries[self.entry_index(kind, locale)]
    }

    fn entry_index(&self, kind: &str, locale: &str) -> usize {
        let kind = KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        let locale = Locale::ALL
            .iter()
            .position(|l| l.code() == locale)
            .unwrap_or(0);
        kind * Locale::ALL.len() + locale
    }

    fn render_part(
        &self,
        data: &MessageData<'_>,
        context: &Context,
        part: Part,
    ) -> Result<String, MessageError> {
        let entry = self.entry(data.kind, data.locale);
        let (registry, name) = match part {
            Part::Subject => (&self.plain, &entry.subject),
            Part::Text => (&self.plain, &entry.text),
            Part::Html => (&self.html, &entry.html),
        };
        self.render_named(registry, name, context)
    }

    /// Renders the template registered as `name` in `registry`.
    fn render_named(
        &self,
        registry: &Handlebars<'static>,
        name: &String,
        context: &Context,
    ) -> Result<String, MessageError> {
        let failed = |e: RenderError| MessageError::Render {
            file: format!("{name}.hbs"),
            source: Box::new(e),
        };
        let template = registry
            .get_template(name)
            .ok_or_else(|| failed(RenderErrorReason::TemplateNotFound(name.clone()).into()))?;
        render_compiled(registry, template, Some(name), context).map_err(failed)
    }

    /// Gathers what the reminder's templates show, checking that the records it names exist
    /// and belong to its student. With `subject_only`, the sections the subject template
    /// does not read are left out; the checks are the same.
    fn reminder_data<'a>(
        &self,
        due: &DueReminder,
        source: &'a impl MessageSource,
        settings: &Settings,
        config: &'a MessageConfig,
        secret: Option<&UnsubscribeSecret>,
        subject_only: bool,
    ) -> Result<MessageData<'a>, MessageError> {
        let student = source
            .student(due.student)
            .ok_or(MessageError::StudentNotFound(due.student))?;
        let local = LocalFormat {
            locale: student.locale,
            zone: student.zone(settings.timezone),
        };
        let mut data = MessageData::new(due.kind().as_str(), student.locale, config);
        if subject_only {
            data.reads = self.entry(data.kind, data.locale).subject_reads;
        }
        let reads = data.reads;
        if let Some(want) = reads.student {
            data.student = Some(StudentData {
                id: want.id.then(|| student.id.get()),
                first_name: want.first_name.then_some(student.first_name.as_str()),
                last_name: want.last_name.then_some(student.last_name.as_str()),
                full_name: want.full_name.then(|| student.full_name()),
                zone: want.zone.then(|| local.zone.name()),
            });
        }
        if reads.preferences_url
            && let Some(family) = due.kind().family()
        {
            let token = secret.map(|secret| unsubscribe::sign(secret, student.id, family));
            data.preferences_url = Some(preferences_url(data.site_url, token.as_deref()));
        }
        match due.key {
            ReminderKey::Session { session, .. } => {
                let session = source
                    .session(session)
                    .ok_or(MessageError::SessionNotFound(session))?;
                check_owner("session", session.id.get(), session.student_id, student)?;
                if let Some(want) = reads.session {
                    data.session = Some(self.session_data(session, &local, &data, want)?);
                }
            }
            ReminderKey::Periodic {
                kind: PeriodicKind::Inactivity,
                ..
            } => {
                let reference = student
                    .inactivity_reference()
                    .ok_or(MessageError::NoActivityReference(student.id))?;
                if let Some(want) = reads.inactivity {
                    let last = rules::local_date(reference, local.zone);
                    data.inactivity = Some(InactivityData {
                        days: want.days.then(|| (due.slot_date - last).num_days()),
                        last_activity: want.last_activity.then(|| local.day_with_year(last)),
                    });
                }
            }
            ReminderKey::Periodic {
                kind: PeriodicKind::Weekly,
                ..
            } => {
                if let Some(want) = reads.week {
                    data.week = Some(self.week_data(due, source, &local, &data, want)?);
                }
            }
            ReminderKey::Manual(id) => {
                let request = source
                    .manual_request(id)
                    .ok_or(MessageError::ManualRequestNotFound(id))?;
                check_owner("manual request", id.get(), request.student_id, student)?;
                let parent = source
                    .parent(request.parent_id)
                    .ok_or(MessageError::ParentNotFound(request.parent_id))?;
                // The planner only lets valid requests through; parsing again keeps a
                // request edited since planning from putting a line break in a subject.
                let invalid = |source| MessageError::InvalidManual { id, source };
                let title = Title::parse(request.title.as_str()).map_err(invalid)?;
                let message = MessageText::parse(request.message.as_str()).map_err(invalid)?;
                if let Some(want) = reads.parent {
                    data.parent = Some(ParentData {
                        first_name: want.first_name.then_some(parent.first_name.as_str()),
                    });
                }
                if let Some(want) = reads.manual {
                    data.manual = Some(ManualData {
                        title: want.title.then(|| title.to_string()),
                        message: want.message.then(|| message.to_string()),
                        date: want.date.then(|| local.date(request.requested_at)),
                        time: want.time.then(|| local.time(request.requested_at)),
                    });
                }
            }
        }
        Ok(data)
    }

    /// The link of one session: `pattern` (the configuration's `session_link`) rendered.
    fn session_link(
        &self,
        pattern: &str,
        site_url: &str,
        session_id: i64,
        student_id: i64,
    ) -> Result<String, MessageError> {
        #[derive(Serialize)]
        struct LinkData<'a> {
            site_url: &'a str,
            session_id: i64,
            student_id: i64,
        }
        let failed = |e: RenderError| MessageError::SessionLink {
            pattern: pattern.to_owned(),
            source: Box::new(e),
        };
        let compiled = self.link.get(pattern).map_err(|e| failed(e.into()))?;
        let context = Context::wraps(LinkData {
            site_url,
            session_id,
            student_id,
        })
        .map_err(failed)?;
        render_compiled(&self.plain, &compiled, None, &context).map_err(failed)
    }

    /// Checks `config`'s session link pattern by rendering it for a sample session, so that a
    /// pattern that cannot render (a misspelt field, an unclosed `{{`) is refused when the
    /// configuration is read instead of failing every reminder that shows a session.
    pub fn check_config(&self, config: &MessageConfig) -> Result<(), MessageError> {
        self.session_link(&config.session_link, &config.site_url, 1, 1)
            .map(drop)
    }

    /// A session as templates show it, with the fields `want` names.
    fn session_data<'s>(
        &self,
        session: &'s Session,
        local: &LocalFormat,
        data: &MessageData<'_>,
        want: SessionWants,
    ) -> Result<SessionData<'s>, MessageError> {
        let link = if want.link {
            Some(self.session_link(
                data.session_link,
                data.site_url,
                session.id.get(),
                session.student_id.get(),
            )?)
        } else {
            None
        };
        Ok(SessionData {
            id: want.id.then(|| session.id.get()),
            subject: want.subject.then_some(session.subject.as_str()),
            objective: want.objective.then_some(session.objective.as_str()),
            date: want.date.then(|| local.date(session.starts_at)),
            time: want.time.then(|| local.time(session.starts_at)),
            duration: want
                .duration
                .then(|| local.duration(session.duration_minutes)),
            duration_minutes: want.duration_minutes.then_some(session.duration_minutes),
            link,
        })
    }

    /// The digest's week is `rules::DigestWeek`; the sessions listed as goals are the
    /// scheduled ones from the digest's slot to the end of the week after. That includes a
    /// session later on the digest's own day, which would otherwise appear nowhere (it is
    /// neither done nor missed). Only the fields `want` names are built; `closing` says which
    /// closing sentence the week calls for (see [`Closing`]).
    fn week_data<'s>(
        &self,
        due: &DueReminder,
        source: &'s impl MessageSource,
        local: &LocalFormat,
        data: &MessageData<'_>,
        want: WeekWants,
    ) -> Result<WeekData<'s>, MessageError> {
        let week = rules::DigestWeek::of(due.slot_date);
        let (mut completed, mut missed, mut goals) = (Vec::new(), Vec::new(), Vec::new());
        let lists = [want.completed, want.missed, want.goals];
        let counts = [
            want.completed_count,
            want.missed_count,
            want.goals_count,
            want.closing,
        ];
        if lists.iter().chain(&counts).any(|&read| read) {
            let (week_start, next_end) = week.span(local.zone);
            let week_end = local.midnight(week.next_first_day);
            let mut sessions = source.sessions_between(due.student, week_start, next_end);
            sessions.sort_by_key(|s| (s.starts_at, s.id));
            for session in sessions {
                let this_week = session.starts_at < week_end;
                let list = match rules::session_standing(session, due.due_at) {
                    SessionStanding::Completed if this_week => &mut completed,
                    SessionStanding::Missed => &mut missed,
                    SessionStanding::ToCome => &mut goals,
                    SessionStanding::Completed | SessionStanding::Cancelled => continue,
                };
                list.push(session);
            }
        }
        let shown = |read: bool, list: &[&'s Session]| -> Result<_, MessageError> {
            if !read {
                return Ok(None);
            }
            list.iter()
                .map(|s| self.session_data(s, local, data, SessionWants::ALL))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        Ok(WeekData {
            first_day: want.first_day.then(|| local.day(week.first_day)),
            last_day: want.last_day.then(|| local.day(week.last_day)),
            next_first_day: want.next_first_day.then(|| local.day(week.next_first_day)),
            next_last_day: want.next_last_day.then(|| local.day(week.next_last_day)),
            completed_count: want.completed_count.then_some(completed.len()),
            missed_count: want.missed_count.then_some(missed.len()),
            goals_count: want.goals_count.then_some(goals.len()),
            closing: want
                .closing
                .then(|| Closing::of(completed.len(), missed.len()).as_str()),
            completed: shown(want.completed, &completed)?,
            missed: shown(want.missed, &missed)?,
            goals: shown(want.goals, &goals)?,
        })
    }
}

mod data;
mod format;
mod helpers;
mod reads;
#[cfg(test)]
mod tests;

use data::*;
use format::*;
pub use helpers::header_line;
use helpers::*;
use reads::*;
