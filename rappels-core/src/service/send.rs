//! [`Sender`], the sending side of the engine: the reminders of a plan as the log records
//! them, their messages built at send time, and the run (in `run`).

use crate::clock::Clock;
use crate::message::{MessageError, MessageSource, Templates};
use crate::plan::DueReminder;
use crate::ports::{Envelope, Mailer, NewReminder, OutgoingReminder};
use crate::settings::Settings;

use super::{Reminders, ServiceConfig, ServiceError};

/// The engine's sending side: a [`Reminders`] with the mailer, the templates and the
/// runner's configuration that recording, building and sending messages need.
pub struct Sender<S, M, C> {
    pub(super) reminders: Reminders<S, C>,
    pub(super) mailer: M,
    pub(super) templates: Templates,
    pub(super) config: ServiceConfig,
}

impl<S, M: Mailer, C: Clock> Sender<S, M, C> {
    /// Assembles the sender over `store`, whose settings it plans with.
    pub fn new(store: S, mailer: M, clock: C, templates: Templates, config: ServiceConfig) -> Self {
        Sender {
            reminders: Reminders::new(store, clock),
            mailer,
            templates,
            config,
        }
    }

    /// The reading and planning side over the same store and clock.
    pub fn reminders(&self) -> &Reminders<S, C> {
        &self.reminders
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.reminders.store()
    }

    /// The mailer.
    pub fn mailer(&self) -> &M {
        &self.mailer
    }

    /// The log entry of a due reminder: its key, slot and expiry (a session reminder
    /// expires with its session's start, so `source` must hold the session).
    pub fn new_reminder(&self, due: &DueReminder, source: &impl MessageSource) -> NewReminder {
        let session_start = due
            .key
            .session()
            .and_then(|id| source.session(id))
            .map(|s| s.starts_at);
        NewReminder {
            key: due.key,
            student: due.student,
            slot_date: due.slot_date,
            due_at: due.due_at,
            expires_at: self
                .config
                .retry
                .expires_at(due.kind(), due.due_at, session_start),
        }
    }

    /// The message of a recorded reminder, built from `source` as it is now: the student's
    /// current address, name and language, the session or request as it stands. With
    /// unsubscribe links configured, the footer's link to the preference page carries the
    /// token of the `List-Unsubscribe` address.
    pub fn envelope(
        &self,
        reminder: &NewReminder,
        source: &impl MessageSource,
        settings: &Settings,
    ) -> Result<Envelope, ServiceError> {
        let student = source
            .student(reminder.student)
            .ok_or(MessageError::StudentNotFound(reminder.student))?;
        let due = DueReminder {
            key: reminder.key,
            student: reminder.student,
            slot_date: reminder.slot_date,
            due_at: reminder.due_at,
            due_until: Some(reminder.expires_at),
            to: student.email.clone(),
        };
        Ok(Envelope {
            to: student.email.clone(),
            to_name: student.full_name(),
            locale: student.locale,
            message: self.templates.render_signed(
                &due,
                source,
                settings,
                &self.config.messages,
                self.config.unsubscribe.as_ref().map(|u| &u.secret),
            )?,
        })
    }

    /// A due reminder with its message, as a dry run shows it.
    pub fn prepare(
        &self,
        due: &DueReminder,
        source: &impl MessageSource,
        settings: &Settings,
    ) -> Result<OutgoingReminder, ServiceError> {
        let reminder = self.new_reminder(due, source);
        Ok(OutgoingReminder {
            reminder,
            envelope: self.envelope(&reminder, source, settings)?,
        })
    }
}
