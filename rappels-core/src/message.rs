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

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, Path, PathSeg, RenderContext, RenderError,
    RenderErrorReason, Renderable, Template, TemplateError,
};
use serde::Serialize;

use crate::domain::{
    DomainError, Locale, ManualId, ManualRequest, MessageText, ParentId, PeriodicKind, ReminderKey,
    Session, SessionId, SessionStatus, Student, StudentId, TimeOfDay, Title, Zone,
};
use crate::plan::{Directory, DueReminder};
use crate::rules;
use crate::settings::Settings;
use crate::snapshot::Snapshot;

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
        &[$(($file, include_str!(concat!("../templates/", $file)))),*]
    };
}

/// The shipped templates: every kind × locale × part, by file name. The test e-mail of the
/// admin (`test`) is a kind of its own here.
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
];

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
}

/// What of a message's data a template may read: which top-level values, which parts built
/// from the reminder's records (`None`: not read at all) and which of their fields. Building
/// them costs lookups, date formatting and, for the weekly digest, a query of the week's
/// sessions; what a template does not read is left out of its data, which cannot change
/// what it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reads {
    platform_name: bool,
    site_url: bool,
    locale: bool,
    kind: bool,
    student: Option<StudentWants>,
    session: Option<SessionWants>,
    inactivity: Option<InactivityWants>,
    week: Option<WeekWants>,
    parent: Option<ParentWants>,
    manual: Option<ManualWants>,
}

impl Reads {
    const ALL: Reads = Reads {
        platform_name: true,
        site_url: true,
        locale: true,
        kind: true,
        student: Some(StudentWants::ALL),
        session: Some(SessionWants::ALL),
        inactivity: Some(InactivityWants::ALL),
        week: Some(WeekWants::ALL),
        parent: Some(ParentWants::ALL),
        manual: Some(ManualWants::ALL),
    };

    /// What `template` may read (see [`Paths`]).
    fn of(template: &Template) -> Reads {
        let mut paths = Paths::default();
        if !paths.walk_template(template) {
            return Reads::ALL;
        }
        let name = |name: &str| paths.names.contains_key(name);
        let part = |name: &str| paths.names.get(name).map(Option::as_ref);
        Reads {
            platform_name: name("platform_name"),
            site_url: name("site_url"),
            locale: name("locale"),
            kind: name("kind"),
            student: part("student").map(StudentWants::from_fields),
            session: part("session").map(SessionWants::from_fields),
            inactivity: part("inactivity").map(InactivityWants::from_fields),
            week: part("week").map(WeekWants::from_fields),
            parent: part("parent").map(ParentWants::from_fields),
            manual: part("manual").map(ManualWants::from_fields),
        }
    }
}

/// The data paths a template names, gathered by walking its syntax tree: every expression,
/// helper parameter, hash value, block, inverse block and subexpression. A path
/// `session.time` reads the field `time` of `session`; a lone name (`session`, as in
/// `{{#with session}}`) reads all of it, and so does a longer path for its first field. Names
/// inside blocks are counted as top-level names too, which can only add to what is built.
/// Anything that reaches data without naming it — `this`, `..`, `@root`, partials,
/// decorators, a construct this walk does not know — makes the walk give up, and then the
/// template counts as reading everything.
#[derive(Debug, Default)]
struct Paths {
    /// Top-level names read, each with the fields read in it (`None`: all of them).
    names: HashMap<String, Option<HashSet<String>>>,
}

impl Paths {
    /// False when the template holds something the walk cannot follow.
    fn walk_template(&mut self, template: &Template) -> bool {
        template.elements.iter().all(|e| self.walk_element(e))
    }

    fn walk_element(&mut self, element: &TemplateElement) -> bool {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => true,
            TemplateElement::Expression(helper)
            | TemplateElement::HtmlExpression(helper)
            | TemplateElement::HelperBlock(helper) => self.walk_helper(helper),
            _ => false,
        }
    }

    fn walk_helper(&mut self, helper: &HelperTemplate) -> bool {
        self.walk_parameter(&helper.name)
            && helper.params.iter().all(|p| self.walk_parameter(p))
            && helper.hash.values().all(|p| self.walk_parameter(p))
            && helper.template.iter().all(|t| self.walk_template(t))
            && helper.inverse.iter().all(|t| self.walk_template(t))
    }

    fn walk_parameter(&mut self, parameter: &Parameter) -> bool {
        match parameter {
            // A helper's name, or a lone data name such as `{{platform_name}}`.
            Parameter::Name(name) => {
                self.read(name, None);
                true
            }
            // Only paths made of names from where they stand are followed; an empty path is
            // `this`, the whole data, and `..` or `@root` climb out of a block.
            Parameter::Path(Path::Relative((segments, _))) => {
                let mut names = Vec::with_capacity(segments.len());
                for segment in segments {
                    match segment {
                        PathSeg::Named(name) => names.push(name.as_str()),
                        _ => return false,
                    }
                }
                match names.as_slice() {
                    [] => false,
                    [name] => {
                        self.read(name, None);
                        true
                    }
                    [name, field, ..] => {
                        self.read(name, Some(field));
                        true
                    }
                }
            }
            // `@index`, `@first`… are block variables, not data.
            Parameter::Path(Path::Local(_)) => true,
            // A string handed to a helper such as `lookup` may name a value.
            Parameter::Literal(value) => {
                if let Some(text) = value.as_str() {
                    self.read(text, None);
                }
                true
            }
            Parameter::Subexpression(sub) => self.walk_element(&sub.element),
            _ => false,
        }
    }

    /// Records that `name` is read, whole or only its `field`.
    fn read(&mut self, name: &str, field: Option<&str>) {
        let entry = self
            .names
            .entry(name.to_owned())
            .or_insert_with(|| Some(HashSet::new()));
        match (entry, field) {
            (Some(fields), Some(field)) => {
                fields.insert(field.to_owned());
            }
            (entry, None) => *entry = None,
            (None, Some(_)) => {}
        }
    }
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
            for locale in Locale::ALL {
                let name = |part: Part| {
                    format!("{kind}.{locale}.{}", part.as_str(), locale = locale.code())
                };
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
                });
            }
        }
        Ok(templates)
    }

    /// Subject, text and HTML of one due reminder, in the student's language and zone.
    pub fn render(
        &self,
        due: &DueReminder,
        source: &impl MessageSource,
        settings: &Settings,
        config: &MessageConfig,
    ) -> Result<RenderedMessage, MessageError> {
        let data = self.reminder_data(due, source, settings, config, false)?;
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
        let data = self.reminder_data(due, source, settings, config, true)?;
        let context = data.context()?;
        self.render_part(&data, &context, Part::Subject)
            .map(|s| single_line(&s))
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
                let data = self.reminder_data(due, source, settings, config, true)?;
                // The data holds only what the template reads, so equal texts render alike.
                let key = serde_json::to_string(&data)
                    .map_err(|e| data.unrenderable(RenderErrorReason::SerdeError(e)))?;
                let key = (self.entry_index(data.kind, data.locale), key);
                if let Some(subject) = rendered.get(&key) {
                    return Ok(subject.clone());
                }
                let context = data.context()?;
                let subject = single_line(&self.render_part(&data, &context, Part::Subject)?);
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
        Ok(RenderedMessage {
            subject: single_line(&self.render_part(data, &context, Part::Subject)?),
            text: self.render_part(data, &context, Part::Text)?,
            html: self.render_part(data, &context, Part::Html)?,
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

    /// The digest's week is the 7 local days ending on the slot date; the sessions listed as
    /// goals are the scheduled ones from the digest's slot to the end of the 7 days after it.
    /// That includes a session later on the digest's own day, which would otherwise appear
    /// nowhere (it is neither done nor missed). Only the fields `want` names are built.
    fn week_data<'s>(
        &self,
        due: &DueReminder,
        source: &'s impl MessageSource,
        local: &LocalFormat,
        data: &MessageData<'_>,
        want: WeekWants,
    ) -> Result<WeekData<'s>, MessageError> {
        let day = |offset: i64| due.slot_date + TimeDelta::days(offset);
        let first_day = day(-6);
        let (mut completed, mut missed, mut goals) = (Vec::new(), Vec::new(), Vec::new());
        let lists = [want.completed, want.missed, want.goals];
        let counts = [want.completed_count, want.missed_count, want.goals_count];
        if lists.iter().chain(&counts).any(|&read| read) {
            let week_start = local.midnight(first_day);
            let week_end = local.midnight(day(1));
            let next_end = local.midnight(day(8));
            let mut sessions = source.sessions_between(due.student, week_start, next_end);
            sessions.sort_by_key(|s| (s.starts_at, s.id));
            for session in sessions {
                let this_week = session.starts_at < week_end;
                let list = match session.status {
                    SessionStatus::Completed if this_week => &mut completed,
                    SessionStatus::Scheduled if session.starts_at < due.due_at => &mut missed,
                    SessionStatus::Scheduled => &mut goals,
                    SessionStatus::Completed | SessionStatus::Cancelled => continue,
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
            first_day: want.first_day.then(|| local.day(first_day)),
            last_day: want.last_day.then(|| local.day(due.slot_date)),
            next_first_day: want.next_first_day.then(|| local.day(day(1))),
            next_last_day: want.next_last_day.then(|| local.day(day(7))),
            completed_count: want.completed_count.then_some(completed.len()),
            missed_count: want.missed_count.then_some(missed.len()),
            goals_count: want.goals_count.then_some(goals.len()),
            completed: shown(want.completed, &completed)?,
            missed: shown(want.missed, &missed)?,
            goals: shown(want.goals, &goals)?,
        })
    }
}

fn registry(escape: fn(&str) -> String) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(escape);
    registry.register_helper("de", Box::new(french_de));
    registry
}

/// `{{de word}}` writes the French preposition before `word`: "d'" before a vowel or a
/// (mute) h, "de " otherwise — "séance d'Anglais", "séance de Physique", "message d'Awa".
fn french_de(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let word = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("de", 0))?
        .value()
        .as_str()
        .ok_or(RenderErrorReason::InvalidParamType("string"))?;
    out.write(elided_de(word))?;
    Ok(())
}

fn elided_de(word: &str) -> &'static str {
    let first = word
        .trim_start()
        .chars()
        .next()
        .map(|c| c.to_lowercase().next().unwrap_or(c));
    match first {
        Some(
            'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'h' | 'à' | 'â' | 'ä' | 'é' | 'è' | 'ê' | 'ë' | 'î'
            | 'ï' | 'ô' | 'ö' | 'ù' | 'û' | 'ü' | 'ÿ',
        ) => "d'",
        _ => "de ",
    }
}

/// `{{nl2br text}}` in HTML templates: the text escaped, then each line break turned into
/// `<br>`. Escaping comes first so that the only markup in the output is the `<br>` added.
fn nl2br(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("nl2br", 0))?
        .value()
        .as_str()
        .ok_or(RenderErrorReason::InvalidParamType("string"))?;
    out.write(&nl2br_html(text))?;
    Ok(())
}

fn nl2br_html(text: &str) -> String {
    let escaped = handlebars::html_escape(text);
    let mut html = String::with_capacity(escaped.len());
    for (i, line) in escaped.split('\n').enumerate() {
        if i > 0 {
            html.push_str("<br>\n");
        }
        html.push_str(line.strip_suffix('\r').unwrap_or(line));
    }
    html
}

/// Folds a rendered subject into one header-safe line: every control character (CR, LF,
/// TAB…) and every run of white space (including Unicode line separators) becomes a single
/// space, and the ends are trimmed. A CR or LF in a subject would let a first name or a
/// session subject inject mail headers.
fn single_line(raw: &str) -> String {
    let mut line = String::with_capacity(raw.len());
    for word in raw
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    line
}

/// Refuses a session or request of another student; `record` and `id` name it in the error
/// (written only then).
fn check_owner(
    record: &str,
    id: i64,
    owner: StudentId,
    student: &Student,
) -> Result<(), MessageError> {
    if owner == student.id {
        Ok(())
    } else {
        Err(MessageError::WrongStudent {
            record: format!("{record} {id}"),
            owner,
            student: student.id,
        })
    }
}

/// Renders a compiled template with `registry`'s helpers, escaping and strict mode, as the
/// registry renders its own templates.
fn render_compiled(
    registry: &Handlebars<'static>,
    template: &Template,
    name: Option<&String>,
    context: &Context,
) -> Result<String, RenderError> {
    let mut out = StringSink(String::new());
    template.render(registry, context, &mut RenderContext::new(name), &mut out)?;
    Ok(out.0)
}

/// Dates, times and durations as the student reads them: in their zone and language.
struct LocalFormat {
    locale: Locale,
    zone: Zone,
}

impl LocalFormat {
    fn local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.zone.tz())
    }

    /// The first instant of a local day, with the DST rules of `rules::slot_at`.
    fn midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = TimeOfDay::new(0, 0).expect("00:00 is a valid time");
        rules::slot_at(date, midnight, self.zone)
    }

    fn chrono_locale(&self) -> chrono::Locale {
        match self.locale {
            Locale::Fr => chrono::Locale::fr_FR,
            Locale::En => chrono::Locale::en_US,
        }
    }

    /// "vendredi 27 novembre", "vendredi 1er janvier", "Friday 27 November".
    fn day(&self, date: NaiveDate) -> String {
        let locale = self.chrono_locale();
        let weekday = date.format_localized("%A", locale);
        let month = date.format_localized("%B", locale);
        // French writes the first of the month as an ordinal: « le 1er janvier ».
        let ordinal = if self.locale == Locale::Fr && date.day() == 1 {
            "er"
        } else {
            ""
        };
        format!("{weekday} {}{ordinal} {month}", date.day())
    }

    fn day_with_year(&self, date: NaiveDate) -> String {
        format!("{} {}", self.day(date), date.year())
    }

    /// The local date of an instant, as [`Self::day`] writes it.
    fn date(&self, t: DateTime<Utc>) -> String {
        self.day(self.local(t).date_naive())
    }

    /// "15:00" in French, "3:00 PM" in English: digits and the English day halves, which no
    /// locale changes, so no localized formatting is needed.
    fn time(&self, t: DateTime<Utc>) -> String {
        let local = self.local(t);
        match self.locale {
            Locale::Fr => format!("{:02}:{:02}", local.hour(), local.minute()),
            Locale::En => {
                let (pm, hour) = local.hour12();
                let half = if pm { "PM" } else { "AM" };
                format!("{hour}:{:02} {half}", local.minute())
            }
        }
    }

    /// "45 min", "1 h", "1 h 30" (French) or "1 h 30 min" (English).
    fn duration(&self, minutes: u32) -> String {
        let (hours, rest) = (minutes / 60, minutes % 60);
        match (hours, rest, self.locale) {
            (0, m, _) => format!("{m} min"),
            (h, 0, _) => format!("{h} h"),
            (h, m, Locale::Fr) => format!("{h} h {m:02}"),
            (h, m, Locale::En) => format!("{h} h {m} min"),
        }
    }
}

/// What templates can show. Fields of other kinds are left out rather than empty, so that
/// strict mode rejects, say, `{{session.subject}}` in a weekly template; so are values the
/// templates being rendered do not read (see [`Reads`]).
struct MessageData<'a> {
    platform_name: &'a str,
    site_url: &'a str,
    locale: &'static str,
    kind: &'static str,
    session_link: &'a str,
    /// What the templates being rendered may read.
    reads: Reads,
    student: Option<StudentData<'a>>,
    session: Option<SessionData<'a>>,
    inactivity: Option<InactivityData>,
    week: Option<WeekData<'a>>,
    parent: Option<ParentData<'a>>,
    manual: Option<ManualData>,
}

impl Serialize for MessageData<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let reads = &self.reads;
        for (read, name, value) in [
            (reads.platform_name, "platform_name", self.platform_name),
            (reads.site_url, "site_url", self.site_url),
            (reads.locale, "locale", self.locale),
            (reads.kind, "kind", self.kind),
        ] {
            if read {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some(student) = &self.student {
            map.serialize_entry("student", student)?;
        }
        if let Some(session) = &self.session {
            map.serialize_entry("session", session)?;
        }
        if let Some(inactivity) = &self.inactivity {
            map.serialize_entry("inactivity", inactivity)?;
        }
        if let Some(week) = &self.week {
            map.serialize_entry("week", week)?;
        }
        if let Some(parent) = &self.parent {
            map.serialize_entry("parent", parent)?;
        }
        if let Some(manual) = &self.manual {
            map.serialize_entry("manual", manual)?;
        }
        map.end()
    }
}

impl<'a> MessageData<'a> {
    fn new(kind: &'static str, locale: Locale, config: &'a MessageConfig) -> Self {
        MessageData {
            platform_name: &config.platform_name,
            site_url: config.site_url.trim_end_matches('/'),
            locale: locale.code(),
            kind,
            session_link: &config.session_link,
            reads: Reads::ALL,
            student: None,
            session: None,
            inactivity: None,
            week: None,
            parent: None,
            manual: None,
        }
    }

    /// The data as handlebars reads it, converted once for the three parts.
    fn context(&self) -> Result<Context, MessageError> {
        Context::wraps(self).map_err(|e| self.unrenderable(e))
    }

    /// The error of data that cannot be converted for the templates.
    fn unrenderable(&self, error: impl Into<RenderError>) -> MessageError {
        MessageError::Render {
            file: format!("{}.{}.*.hbs", self.kind, self.locale),
            source: Box::new(error.into()),
        }
    }
}

/// Declares a part of the message data whose every field is optional, and `$wants`, the
/// fields of it a template reads: a field no template reads is neither built nor shown.
macro_rules! data_part {
    ($(#[$doc:meta])* $name:ident$(<$lt:lifetime>)?, $wants:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Serialize)]
        struct $name$(<$lt>)? {
            $(
                #[serde(skip_serializing_if = "Option::is_none")]
                $field: Option<$ty>,
            )*
        }

        /// The fields of the part a template reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        struct $wants {
            $($field: bool,)*
        }

        impl $wants {
            const ALL: $wants = $wants { $($field: true,)* };

            /// From the fields a template names (`None`: it reads the part whole).
            fn from_fields(fields: Option<&HashSet<String>>) -> $wants {
                match fields {
                    None => $wants::ALL,
                    Some(fields) => $wants { $($field: fields.contains(stringify!($field)),)* },
                }
            }
        }
    };
}

data_part!(StudentData<'a>, StudentWants {
    id: i64,
    first_name: &'a str,
    last_name: &'a str,
    full_name: String,
    zone: &'static str,
});

data_part!(
    /// A session: the reminder's own, or one listed in a digest.
    SessionData<'a>, SessionWants {
        id: i64,
        subject: &'a str,
        objective: &'a str,
        date: String,
        time: String,
        duration: String,
        duration_minutes: u32,
        link: String,
    }
);

data_part!(
    InactivityData,
    InactivityWants {
        days: i64,
        last_activity: String,
    }
);

data_part!(WeekData<'a>, WeekWants {
    first_day: String,
    last_day: String,
    next_first_day: String,
    next_last_day: String,
    completed: Vec<SessionData<'a>>,
    missed: Vec<SessionData<'a>>,
    goals: Vec<SessionData<'a>>,
    completed_count: usize,
    missed_count: usize,
    goals_count: usize,
});

data_part!(ParentData<'a>, ParentWants { first_name: &'a str });

data_part!(
    ManualData,
    ManualWants {
        title: String,
        message: String,
        date: String,
        time: String,
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, parse_instant};
    use crate::scenario::Scenario;
    use proptest::prelude::*;

    /// Awa (Abidjan, UTC+0, French) and John (Paris by default, English), each with a
    /// session at 14:00Z on Friday 27 November 2026, a parent and a manual request.
    const SCENARIO: &str = r#"{
      "students": [
        { "id": 1, "first_name": "Awa", "last_name": "Koné", "email": "awa@example.org",
          "timezone": "Africa/Abidjan", "locale": "fr", "account_active": true,
          "subscription_active": true, "created_at": "2026-09-01T09:00:00Z",
          "last_activity_at": "2026-11-20T17:03:00Z" },
        { "id": 2, "first_name": "John", "last_name": "Smith", "email": "john@example.org",
          "locale": "en", "account_active": true, "subscription_active": true,
          "last_activity_at": "2026-11-26T09:00:00Z" }
      ],
      "parents": [
        { "id": 10, "first_name": "Mariam", "email": "mariam@example.org", "children": [1] },
        { "id": 11, "first_name": "Sarah", "email": "sarah@example.org", "children": [2] }
      ],
      "sessions": [
        { "id": 100, "student_id": 1, "subject": "Mathématiques", "objective": "Fractions",
          "starts_at": "2026-11-27T14:00:00Z", "duration_minutes": 45 },
        { "id": 101, "student_id": 1, "subject": "Français", "objective": "Dissertation",
          "starts_at": "2026-11-25T16:00:00Z", "status": "completed" },
        { "id": 102, "student_id": 1, "subject": "Anglais",
          "starts_at": "2026-11-26T16:00:00Z", "status": "cancelled" },
        { "id": 103, "student_id": 1, "subject": "Physique-Chimie", "objective": "Ondes",
          "starts_at": "2026-12-02T17:00:00Z", "duration_minutes": 90 },
        { "id": 104, "student_id": 1, "subject": "Histoire",
          "starts_at": "2026-12-07T10:00:00Z" },
        { "id": 105, "student_id": 1, "subject": "SVT",
          "starts_at": "2026-11-22T10:00:00Z", "status": "completed" },
        { "id": 106, "student_id": 1, "subject": "Philosophie",
          "starts_at": "2026-11-29T21:00:00Z" },
        { "id": 200, "student_id": 2, "subject": "Physics",
          "starts_at": "2026-11-27T14:00:00Z" }
      ],
      "manual": [
        { "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise ce soir",
          "message": "Courage pour demain !\nTu vas y arriver.\r\n<b>Bisous</b>",
          "requested_at": "2026-11-26T18:00:00Z" },
        { "id": 501, "parent_id": 11, "student_id": 2, "title": "Study tonight",
          "message": "Good luck!", "requested_at": "2026-11-26T18:10:00Z" }
      ]
    }"#;

    /// Eve reminders of both students and both manual reminders are due.
    const EVE: &str = "2026-11-26T18:45:00Z";
    /// Awa's morning reminder and her 7-day inactivity reminder are due.
    const FRIDAY_MORNING: &str = "2026-11-27T10:30:00Z";
    /// John's 3-day inactivity reminder is due (10:00 in Paris).
    const SUNDAY_MORNING: &str = "2026-11-29T09:30:00Z";
    /// Both weekly digests are due (20:00 in Abidjan and in Paris).
    const SUNDAY_EVENING: &str = "2026-11-29T20:30:00Z";

    fn scenario() -> Scenario {
        Scenario::from_json(SCENARIO).unwrap()
    }

    fn due(snapshot: &Snapshot, at: &str, kind: Kind, student: i64) -> DueReminder {
        let plan = snapshot.plan(parse_instant(at).unwrap());
        plan.due
            .into_iter()
            .find(|d| d.kind() == kind && d.student.get() == student)
            .unwrap_or_else(|| panic!("no {kind} due for student {student} at {at}"))
    }

    fn render_with(
        templates: &Templates,
        snapshot: &Snapshot,
        at: &str,
        kind: Kind,
        student: i64,
    ) -> RenderedMessage {
        let due = due(snapshot, at, kind, student);
        let config = MessageConfig::default();
        let message = templates
            .render(&due, snapshot, snapshot.settings(), &config)
            .unwrap();
        let subject = templates
            .subject(&due, snapshot, snapshot.settings(), &config)
            .unwrap();
        assert_eq!(message.subject, subject, "subject() and render() agree");
        let subjects = templates.subjects(
            std::slice::from_ref(&due),
            snapshot,
            snapshot.settings(),
            &config,
        );
        assert_eq!(subjects[0].as_ref().unwrap(), &subject, "subjects() agrees");
        message
    }

    fn render(snapshot: &Snapshot, at: &str, kind: Kind, student: i64) -> RenderedMessage {
        render_with(&Templates::embedded(), snapshot, at, kind, student)
    }

    #[test]
    fn every_embedded_template_is_listed_and_parses() {
        let mut expected = Vec::new();
        for kind in [
            "session_eve",
            "session_day",
            "inactivity",
            "weekly",
            "manual",
            "test",
        ] {
            for locale in Locale::ALL {
                for part in ["subject", "text", "html"] {
                    expected.push(format!("{kind}.{}.{part}.hbs", locale.code()));
                }
            }
        }
        assert_eq!(Templates::names(), expected);
        let templates = Templates::embedded();
        for name in Templates::names() {
            let name = name.strip_suffix(".hbs").unwrap();
            let registry = if name.ends_with(".html") {
                &templates.html
            } else {
                &templates.plain
            };
            assert!(registry.has_template(name), "{name} is registered");
        }
    }

    #[test]
    fn eve_reminder_in_french_uses_the_students_zone() {
        let snapshot = Snapshot::new(scenario());
        let m = render(&snapshot, EVE, Kind::SessionEve, 1);
        assert_eq!(m.subject, "Demain : Mathématiques à 14:00");
        assert!(m.text.starts_with("Bonjour Awa,\n"), "{}", m.text);
        assert!(
            m.text.contains(
                "ta séance de Mathématiques a lieu demain, vendredi 27 novembre à 14:00 (45 min)."
            ),
            "{}",
            m.text
        );
        assert!(m.text.contains("\nObjectif : Fractions\n"), "{}", m.text);
        assert!(
            m.text
                .contains("\nhttp://localhost:8000/sessions/100/chat\n"),
            "{}",
            m.text
        );
        assert!(m.text.ends_with("L'équipe MyKarfour\n"), "{}", m.text);
        assert!(
            m.html
                .contains(r#"<a href="http://localhost:8000/sessions/100/chat""#),
            "{}",
            m.html
        );
        assert!(
            m.html.contains("<strong>Objectif :</strong> Fractions"),
            "{}",
            m.html
        );
        assert!(m.html.contains(r#"<html lang="fr">"#));
    }

    #[test]
    fn eve_reminder_in_english_uses_the_default_zone_and_omits_an_empty_objective() {
        let snapshot = Snapshot::new(scenario());
        let m = render(&snapshot, EVE, Kind::SessionEve, 2);
        // 14:00Z is 15:00 in Paris, John's zone by default.
        assert_eq!(m.subject, "Tomorrow: Physics at 3:00 PM");
        assert!(
            m.text
                .contains("your Physics session is tomorrow, Friday 27 November at 3:00 PM (1 h)."),
            "{}",
            m.text
        );
        assert!(!m.text.contains("Objective"), "{}", m.text);
        assert!(!m.html.contains("Objective"), "{}", m.html);
        assert!(
            !m.text.contains("\n\n\n"),
            "no hole where the objective was: {}",
            m.text
        );
        assert!(m.text.contains("http://localhost:8000/sessions/200/chat"));
        assert!(m.text.ends_with("The MyKarfour team\n"));
        assert!(m.html.contains(r#"<html lang="en">"#));
    }

    #[test]
    fn morning_reminders() {
        let snapshot = Snapshot::new(scenario());
        let m = render(&snapshot, FRIDAY_MORNING, Kind::SessionDay, 1);
        assert_eq!(
            m.subject,
            "Ta séance de Mathématiques commence aujourd'hui à 14:00"
        );
        assert!(
            m.text
                .contains("Ta séance de Mathématiques commence à 14:00 (45 min)."),
            "{}",
            m.text
        );
        assert!(m.text.contains("http://localhost:8000/sessions/100/chat"));
        let mut sc = scenario();
        sc.students[0].locale = Locale::En;
        let m = render(&Snapshot::new(sc), FRIDAY_MORNING, Kind::SessionDay, 1);
        assert_eq!(
            m.subject,
            "Your Mathématiques session starts today at 2:00 PM"
        );
        assert!(m.text.contains("Objective: Fractions"), "{}", m.text);
    }

    #[test]
    fn inactivity_counts_days_from_the_last_local_activity() {
        let snapshot = Snapshot::new(scenario());
        let m = render(&snapshot, FRIDAY_MORNING, Kind::Inactivity, 1);
        assert_eq!(m.subject, "Tu nous manques, Awa !");
        assert!(
            m.text.contains("Voilà 7 jours que tu n'as pas révisé sur MyKarfour : ta dernière activité remonte au vendredi 20 novembre 2026."),
            "{}",
            m.text
        );
        assert!(m.html.contains("<strong>7 jours</strong>"), "{}", m.html);
        assert!(
            m.html.contains(r#"<a href="http://localhost:8000""#),
            "{}",
            m.html
        );
        let m = render(&snapshot, SUNDAY_MORNING, Kind::Inactivity, 2);
        assert_eq!(m.subject, "We miss you, John!");
        assert!(m.text.contains("It has been 3 days since"), "{}", m.text);
        assert!(
            m.text
                .contains("your last activity was on Thursday 26 November 2026."),
            "{}",
            m.text
        );
    }

    #[test]
    fn inactivity_of_one_day_is_singular() {
        let mut sc = scenario();
        sc.settings.inactivity_days = vec![1];
        let snapshot = Snapshot::new(sc);
        let m = render(&snapshot, "2026-11-21T10:30:00Z", Kind::Inactivity, 1);
        assert!(m.text.contains("Voilà 1 jour que"), "{}", m.text);
        let m = render(&snapshot, "2026-11-27T09:30:00Z", Kind::Inactivity, 2);
        assert!(m.text.contains("It has been 1 day since"), "{}", m.text);
    }

    #[test]
    fn weekly_digest_lists_the_week_and_next_weeks_goals() {
        let snapshot = Snapshot::new(scenario());
        let m = render(&snapshot, SUNDAY_EVENING, Kind::Weekly, 1);
        assert_eq!(m.subject, "Ton bilan de la semaine");
        let t = &m.text;
        assert!(
            t.contains("du lundi 23 novembre au dimanche 29 novembre."),
            "{t}"
        );
        assert!(
            t.contains(
                "Séances réalisées (1) :\n- Français, mercredi 25 novembre à 16:00 : Dissertation\n"
            ),
            "{t}"
        );
        assert!(
            t.contains("Séances manquées (1) :\n- Mathématiques, vendredi 27 novembre à 14:00\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "Tes objectifs pour la semaine prochaine (2) :\n\
                 - Philosophie, dimanche 29 novembre à 21:00\n  http://localhost:8000/sessions/106/chat\n\
                 - Physique-Chimie, mercredi 2 décembre à 17:00 : Ondes\n  http://localhost:8000/sessions/103/chat\n"
            ),
            "{t}"
        );
        for absent in ["Anglais", "Histoire", "SVT"] {
            assert!(
                !t.contains(absent),
                "{absent} is cancelled or outside the weeks: {t}"
            );
            assert!(!m.html.contains(absent), "{absent}");
        }
        assert!(m.html.contains("Séances réalisées (1)"), "{}", m.html);
        assert!(
            m.html.contains(
                r#"<li><a href="http://localhost:8000/sessions/103/chat">Physique-Chimie</a>"#
            ),
            "{}",
            m.html
        );
    }

    #[test]
    fn weekly_digest_in_english_with_nothing_planned() {
        let mut sc = scenario();
        sc.sessions.retain(|s| s.id.get() != 200);
        let m = render(&Snapshot::new(sc), SUNDAY_EVENING, Kind::Weekly, 2);
        assert_eq!(m.subject, "Your week in review");
        assert!(
            m.text
                .contains("from Monday 23 November to Sunday 29 November."),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("No session completed this week."),
            "{}",
            m.text
        );
        assert!(!m.text.contains("Missed"), "{}", m.text);
        assert!(
            m.text.contains("No session is planned for next week"),
            "{}",
            m.text
        );
        assert!(
            m.html.contains("Your goals for next week (0)"),
            "{}",
            m.html
        );
        assert!(
            !m.text.contains("Awa") && !m.text.contains("Mathématiques"),
            "only John's data"
        );
    }

    #[test]
    fn manual_reminder_keeps_line_breaks_and_escapes_html() {
        let snapshot = Snapshot::new(scenario());
        let m = render(&snapshot, EVE, Kind::Manual, 1);
        assert_eq!(m.subject, "Message de Mariam : Révise ce soir");
        assert!(
            m.text.contains("Mariam t'a envoyé un message :\n\nRévise ce soir\n\nCourage pour demain !\nTu vas y arriver.\r\n<b>Bisous</b>\n"),
            "{}",
            m.text
        );
        assert!(
            m.html.contains(
                "<p>Courage pour demain !<br>\nTu vas y arriver.<br>\n&lt;b&gt;Bisous&lt;/b&gt;</p>"
            ),
            "{}",
            m.html
        );
        let m = render(&snapshot, EVE, Kind::Manual, 2);
        assert_eq!(m.subject, "Message from Sarah: Study tonight");
        assert!(
            m.text
                .contains("Sarah sent you a message:\n\nStudy tonight\n\nGood luck!\n"),
            "{}",
            m.text
        );
    }

    #[test]
    fn user_data_is_escaped_in_html_only() {
        let mut sc = scenario();
        sc.students[0].first_name = "<script>alert('a')</script>".into();
        sc.sessions[0].objective = r#"<img src=x onerror="alert(1)"> & co"#.into();
        sc.parents[0].first_name = "<i>Mariam</i>".into();
        sc.manual[0].title = "<b>Titre</b>".into();
        let snapshot = Snapshot::new(sc);
        for kind in [Kind::SessionEve, Kind::Manual] {
            let m = render(&snapshot, EVE, kind, 1);
            assert!(
                !m.html.contains("<script>") && !m.html.contains("<i>") && !m.html.contains("<b>"),
                "{}",
                m.html
            );
            assert!(!m.html.contains("<img"), "{}", m.html);
            assert!(
                m.html
                    .contains("Bonjour &lt;script&gt;alert(&#x27;a&#x27;)&lt;/script&gt;,"),
                "{}",
                m.html
            );
            assert!(
                m.text.contains("Bonjour <script>alert('a')</script>,"),
                "plain text is not escaped"
            );
        }
        let m = render(&snapshot, EVE, Kind::SessionEve, 1);
        assert!(
            m.html
                .contains("&lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt; &amp; co"),
            "{}",
            m.html
        );
        assert!(
            m.text
                .contains(r#"Objectif : <img src=x onerror="alert(1)"> & co"#),
            "{}",
            m.text
        );
        let m = render(&snapshot, EVE, Kind::Manual, 1);
        assert_eq!(m.subject, "Message de <i>Mariam</i> : <b>Titre</b>");
        assert!(m.html.contains("&lt;b&gt;Titre&lt;/b&gt;"), "{}", m.html);
    }

    #[test]
    fn session_link_follows_the_configured_pattern() {
        let snapshot = Snapshot::new(scenario());
        let due = due(&snapshot, EVE, Kind::SessionEve, 1);
        let config = MessageConfig {
            site_url: "https://www.example.org/".into(),
            session_link: "{{site_url}}/chat?session={{session_id}}&student={{student_id}}".into(),
            platform_name: "Révisions+".into(),
        };
        let m = Templates::embedded()
            .render(&due, &snapshot, snapshot.settings(), &config)
            .unwrap();
        assert!(
            m.text
                .contains("\nhttps://www.example.org/chat?session=100&student=1\n"),
            "{}",
            m.text
        );
        assert!(
            m.html.contains(
                r#"href="https://www.example.org/chat?session&#x3D;100&amp;student&#x3D;1""#
            ),
            "{}",
            m.html
        );
        assert!(m.text.ends_with("L'équipe Révisions+\n"));
        let broken = MessageConfig {
            session_link: "{{site_url}}/{{sesion_id}}".into(),
            ..config
        };
        let err = Templates::embedded()
            .render(&due, &snapshot, snapshot.settings(), &broken)
            .unwrap_err();
        assert!(matches!(err, MessageError::SessionLink { .. }), "{err:?}");
        assert!(
            err.to_string().contains("{{site_url}}/{{sesion_id}}"),
            "{err}"
        );
    }

    #[test]
    fn an_override_replaces_one_template_only() {
        let snapshot = Snapshot::new(scenario());
        let templates = Templates::with_overrides([(
            "session_eve.fr.subject.hbs".to_owned(),
            "Rappel : {{session.subject}} ({{student.full_name}})".to_owned(),
        )])
        .unwrap();
        let m = render_with(&templates, &snapshot, EVE, Kind::SessionEve, 1);
        assert_eq!(m.subject, "Rappel : Mathématiques (Awa Koné)");
        assert!(
            m.text.contains("Objectif : Fractions"),
            "the body is still the embedded one"
        );
        let m = render_with(&templates, &snapshot, EVE, Kind::SessionEve, 2);
        assert_eq!(
            m.subject, "Tomorrow: Physics at 3:00 PM",
            "English is untouched"
        );
    }

    #[test]
    fn override_errors_name_the_file() {
        let err =
            Templates::with_overrides([("sesion_eve.fr.subject.hbs".to_owned(), "x".to_owned())])
                .unwrap_err();
        assert!(
            matches!(err, MessageError::UnknownTemplate { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("\"sesion_eve.fr.subject.hbs\""),
            "{err}"
        );
        let err = Templates::with_overrides([(
            "weekly.en.html.hbs".to_owned(),
            "<p>{{#if week.goals}}goals</p>".to_owned(),
        )])
        .unwrap_err();
        assert!(matches!(err, MessageError::Parse { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "template weekly.en.html.hbs does not parse"
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "the handlebars error is the source"
        );
    }

    #[test]
    fn strict_mode_refuses_a_field_that_does_not_exist() {
        let snapshot = Snapshot::new(scenario());
        let templates = Templates::with_overrides([(
            "weekly.fr.text.hbs".to_owned(),
            "{{session.subject}}".to_owned(),
        )])
        .unwrap();
        let due = due(&snapshot, SUNDAY_EVENING, Kind::Weekly, 1);
        let err = templates
            .render(
                &due,
                &snapshot,
                snapshot.settings(),
                &MessageConfig::default(),
            )
            .unwrap_err();
        assert!(matches!(err, MessageError::Render { .. }), "{err:?}");
        assert_eq!(err.to_string(), "cannot render template weekly.fr.text.hbs");
    }

    #[test]
    fn missing_records_are_errors() {
        let snapshot = Snapshot::new(scenario());
        let eve = due(&snapshot, EVE, Kind::SessionEve, 1);
        let manual = due(&snapshot, EVE, Kind::Manual, 1);
        let mut sc = scenario();
        sc.sessions.retain(|s| s.id.get() != 100);
        sc.manual.retain(|m| m.id.get() != 500);
        let without = Snapshot::new(sc);
        let templates = Templates::embedded();
        let config = MessageConfig::default();
        let err = templates
            .render(&eve, &without, without.settings(), &config)
            .unwrap_err();
        assert_eq!(err.to_string(), "session 100 not found");
        let err = templates
            .render(&manual, &without, without.settings(), &config)
            .unwrap_err();
        assert_eq!(err.to_string(), "manual request 500 not found");
        let mut other = eve.clone();
        other.student = StudentId::new(2).unwrap();
        let err = templates
            .render(&other, &snapshot, snapshot.settings(), &config)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "session 100 belongs to student 1, not to student 2"
        );
        let mut sc = scenario();
        sc.manual[0].title = "Bonne\nchance".into();
        let edited = Snapshot::new(sc);
        let err = templates
            .render(&manual, &edited, edited.settings(), &config)
            .unwrap_err();
        assert!(matches!(err, MessageError::InvalidManual { .. }), "{err:?}");
    }

    #[test]
    fn test_message_in_both_languages() {
        let templates = Templates::embedded();
        let config = MessageConfig::default();
        let fr = templates.test_message(Locale::Fr, &config).unwrap();
        assert_eq!(fr.subject, "E-mail de test de MyKarfour");
        assert!(fr.text.contains("http://localhost:8000"), "{}", fr.text);
        assert!(
            fr.html.contains(r#"<a href="http://localhost:8000">"#),
            "{}",
            fr.html
        );
        let en = templates.test_message(Locale::En, &config).unwrap();
        assert_eq!(en.subject, "Test e-mail from MyKarfour");
        assert!(en.text.contains("This test e-mail confirms"), "{}", en.text);
    }

    #[test]
    fn local_formats() {
        let date = |s: &str| s.parse::<NaiveDate>().unwrap();
        let fr = LocalFormat {
            locale: Locale::Fr,
            zone: Zone::default(),
        };
        let en = LocalFormat {
            locale: Locale::En,
            zone: Zone::default(),
        };
        assert_eq!(fr.day(date("2027-01-01")), "vendredi 1er janvier");
        assert_eq!(en.day(date("2027-01-01")), "Friday 1 January");
        assert_eq!(fr.day(date("2026-08-15")), "samedi 15 août");
        let t = parse_instant("2026-11-27T08:05:00Z").unwrap();
        assert_eq!(
            (fr.time(t), en.time(t)),
            ("09:05".to_owned(), "9:05 AM".to_owned())
        );
        let t = parse_instant("2026-11-26T23:30:00Z").unwrap();
        assert_eq!(
            (fr.date(t), fr.time(t)),
            ("vendredi 27 novembre".to_owned(), "00:30".to_owned())
        );
        assert_eq!(en.time(t), "12:30 AM");
        assert_eq!(
            [
                fr.duration(45),
                fr.duration(60),
                fr.duration(90),
                fr.duration(125)
            ],
            ["45 min", "1 h", "1 h 30", "2 h 05"]
        );
        assert_eq!(
            [en.duration(45), en.duration(120), en.duration(90)],
            ["45 min", "2 h", "1 h 30 min"]
        );
    }

    #[test]
    fn week_bounds_follow_local_midnight_across_dst() {
        // Paris leaves summer time on Sunday 2026-10-25: the week Monday 19 – Sunday 25
        // October starts at 22:00Z on the 18th and ends at 23:00Z on the 25th.
        let json = SCENARIO
            .replace("\"timezone\": \"Africa/Abidjan\", ", "")
            .replace("2026-11-25T16:00:00Z", "2026-10-18T22:00:00Z")
            .replace("2026-11-22T10:00:00Z", "2026-10-18T21:59:00Z")
            .replace("2026-11-27T14:00:00Z", "2026-10-25T22:30:00Z");
        let snapshot = Snapshot::new(Scenario::from_json(&json).unwrap());
        let m = render(&snapshot, "2026-10-25T19:30:00Z", Kind::Weekly, 1);
        assert!(
            m.text
                .contains("du lundi 19 octobre au dimanche 25 octobre."),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("Séances réalisées (1) :\n- Français, lundi 19 octobre à 00:00"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("SVT"), "{}", m.text);
        // 22:30Z on the 25th is 23:30 on Sunday in Paris, after the 20:00 digest: a goal.
        assert!(
            m.text
                .contains("- Mathématiques, dimanche 25 octobre à 23:30 : Fractions\n"),
            "{}",
            m.text
        );
    }

    #[test]
    fn a_subject_reads_only_what_its_template_names() {
        let reads = |source: &str| Reads::of(&Template::compile(source).unwrap());
        let weekly = reads("Ton bilan de la semaine");
        assert!(weekly.student.is_none() && weekly.week.is_none() && weekly.session.is_none());
        assert!(!weekly.platform_name && !weekly.kind);
        let eve = reads("Demain : {{session.subject}} à {{session.time}}");
        let session = eve.session.unwrap();
        assert!(session.subject && session.time);
        assert!(!session.link && !session.date && !session.id && !session.objective);
        assert!(eve.student.is_none() && eve.week.is_none());
        let manual =
            reads("Message {{de parent.first_name}}{{parent.first_name}} : {{manual.title}}");
        assert!(manual.parent.unwrap().first_name);
        assert!(manual.manual.unwrap().title && !manual.manual.unwrap().date);
        let each = reads("{{#each week.goals}}{{subject}} {{link}}{{/each}}");
        assert!(each.week.unwrap().goals && !each.week.unwrap().missed);
        assert!(
            each.session.is_none(),
            "names in a block are the items' fields"
        );
        let branches = reads("{{#if week.goals_count}}x{{else}}{{student.full_name}}{{/if}}");
        assert!(branches.week.unwrap().goals_count && branches.student.unwrap().full_name);
        let sub = reads("{{#if (eq session.status \"x\")}}{{/if}}");
        assert!(sub.session.is_some());
        assert!(reads("{{platform_name}} {{site_url}}").platform_name);
        // A part named whole is read whole; what reaches data without naming it, all of it.
        let whole = reads("{{#with session}}{{time}}{{/with}}");
        assert_eq!(whole.session, Some(SessionWants::ALL));
        for everything in [
            "{{this}}",
            "{{lookup this \"session\"}}",
            "{{#with week}}{{../student.first_name}}{{/with}}",
            "{{@root.student.first_name}}",
            "{{> footer}}",
        ] {
            assert_eq!(reads(everything), Reads::ALL, "{everything}");
        }
    }

    #[test]
    fn subjects_in_bulk_are_the_subjects_one_by_one() {
        let overrides = [
            (
                "weekly.fr.subject.hbs",
                "{{week.goals_count}} objectifs, {{student.full_name}} ({{platform_name}})",
            ),
            (
                "weekly.en.subject.hbs",
                "{{#each week.goals}}{{subject}} {{link}}; {{/each}}",
            ),
            (
                "session_eve.fr.subject.hbs",
                "{{session.date}} {{session.link}} {{session.duration}}",
            ),
            (
                "inactivity.fr.subject.hbs",
                "{{inactivity.days}} jours depuis le {{inactivity.last_activity}}",
            ),
            ("manual.fr.subject.hbs", "{{manual.date}} {{manual.time}}"),
        ]
        .map(|(file, source)| (file.to_owned(), source.to_owned()));
        let snapshot = Snapshot::new(scenario());
        let config = MessageConfig::default();
        for templates in [
            Templates::embedded(),
            Templates::with_overrides(overrides).unwrap(),
        ] {
            for at in [EVE, FRIDAY_MORNING, SUNDAY_MORNING, SUNDAY_EVENING] {
                let due = snapshot.plan(parse_instant(at).unwrap()).due;
                // Twice over, so that equal data meets its earlier rendering.
                let twice: Vec<DueReminder> = due.iter().chain(&due).cloned().collect();
                let subjects = templates.subjects(&twice, &snapshot, snapshot.settings(), &config);
                for (due, subject) in twice.iter().zip(subjects) {
                    let one = templates
                        .render(due, &snapshot, snapshot.settings(), &config)
                        .unwrap();
                    assert_eq!(subject.unwrap(), one.subject, "{} at {at}", due.key);
                }
            }
        }
    }

    #[test]
    fn french_elides_de_before_a_vowel_or_h() {
        assert_eq!(elided_de("Anglais"), "d'");
        assert_eq!(elided_de("Histoire"), "d'");
        assert_eq!(elided_de("Économie"), "d'");
        assert_eq!(elided_de("Physique"), "de ");
        assert_eq!(elided_de(""), "de ");
    }

    #[test]
    fn subjects_are_one_line_even_with_injected_line_breaks() {
        let mut sc = scenario();
        sc.students[0].first_name = "Awa\r\nBcc: x@y.z".into();
        sc.sessions[0].subject = "Maths\r\nBcc: x@y.z\t\u{2028}fin".into();
        let snapshot = Snapshot::new(sc);
        let m = render(&snapshot, EVE, Kind::SessionEve, 1);
        assert_eq!(m.subject, "Demain : Maths Bcc: x@y.z fin à 14:00");
        let m = render(&snapshot, FRIDAY_MORNING, Kind::Inactivity, 1);
        assert_eq!(m.subject, "Tu nous manques, Awa Bcc: x@y.z !");
        assert!(
            m.text.contains("Bonjour Awa\r\nBcc: x@y.z,"),
            "bodies keep the text as it is"
        );
        assert_eq!(single_line("  a \u{0}\u{7f}\u{85} b\n"), "a b");
    }

    fn hostile_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-zé<>& \\r\\n\\t\\x0b\\x0c\\x1b\\x7f\\u{85}\\u{2028}\\u{2029}]{0,24}",
        ]
    }

    proptest! {
        #[test]
        fn single_line_leaves_no_control_character_nor_double_space(raw in hostile_text()) {
            let line = single_line(&raw);
            prop_assert!(!line.chars().any(|c| c.is_control()), "{:?}", line);
            prop_assert!(!line.contains("  "), "{:?}", line);
            prop_assert_eq!(line.trim(), line.as_str());
        }
    }

    proptest! {
        // Each case plans three instants and renders about ten subjects, so fewer cases
        // than the default keep the suite fast; the folding itself is covered above.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn no_subject_ever_holds_a_line_break(
            first_name in hostile_text(),
            subject in hostile_text(),
            title in hostile_text(),
        ) {
            let mut sc = scenario();
            for student in &mut sc.students {
                student.first_name = first_name.clone();
            }
            for session in &mut sc.sessions {
                session.subject = subject.clone();
            }
            for request in &mut sc.manual {
                request.title = title.clone();
            }
            let snapshot = Snapshot::new(sc);
            let templates = Templates::embedded();
            let config = MessageConfig::default();
            let mut rendered = 0;
            for at in [EVE, FRIDAY_MORNING, SUNDAY_EVENING] {
                for due in snapshot.plan(parse_instant(at).unwrap()).due {
                    let subject = templates.subject(&due, &snapshot, snapshot.settings(), &config).unwrap();
                    prop_assert!(!subject.contains(['\r', '\n']), "{:?}", subject);
                    prop_assert!(!subject.chars().any(|c| c.is_control()), "{:?}", subject);
                    prop_assert_eq!(subject.trim(), subject.as_str());
                    rendered += 1;
                }
            }
            prop_assert!(rendered >= 7, "eve, day, inactivity and weekly reminders were rendered");
        }
    }
}
