//! Test doubles of the ports, for tests of code built on rappels-core (enabled by the
//! `testing` feature): an in-memory [`MemoryStore`], a [`RecordingMailer`] that can be told
//! to fail, and a [`FixedClock`].

pub mod contract;
mod memory;
pub mod service_contract;

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::domain::{StudentId, Zone};
use crate::ports::{Delivery, Email, MailError, Mailer};
use crate::scenario::Scenario;

pub use memory::{LogRow, MemoryStore};

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = now;
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: TimeDelta) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// How a [`RecordingMailer`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailerMode {
    /// Accept every message.
    Accept,
    /// Fail every message transiently (as a 4xx reply would).
    Transient,
    /// Fail every message permanently (as a 5xx reply would).
    Permanent,
    /// Fail the mail session (as a refused connection or a wrong password would).
    Session,
}

/// A mailer that records what it accepts.
#[derive(Debug)]
pub struct RecordingMailer {
    mode: Mutex<MailerMode>,
    accepted: Mutex<Vec<Email>>,
    attempts: Mutex<usize>,
}

impl Default for RecordingMailer {
    fn default() -> Self {
        RecordingMailer::new(MailerMode::Accept)
    }
}

impl RecordingMailer {
    /// A mailer answering in `mode`.
    pub fn new(mode: MailerMode) -> Self {
        RecordingMailer {
            mode: Mutex::new(mode),
            accepted: Mutex::new(Vec::new()),
            attempts: Mutex::new(0),
        }
    }

    /// Changes how it answers from now on.
    pub fn set_mode(&self, mode: MailerMode) {
        *self.mode.lock().expect("mailer lock") = mode;
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Email> {
        self.accepted.lock().expect("mailer lock").clone()
    }

    /// Every attempt so far, accepted or not.
    pub fn attempts(&self) -> usize {
        *self.attempts.lock().expect("mailer lock")
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        *self.attempts.lock().expect("mailer lock") += 1;
        match *self.mode.lock().expect("mailer lock") {
            MailerMode::Accept => {
                self.accepted
                    .lock()
                    .expect("mailer lock")
                    .push(email.clone());
                Ok(Delivery {
                    reply: "250 2.0.0 Ok: queued".to_owned(),
                })
            }
            MailerMode::Transient => Err(MailError::transient("421 4.3.0 try again later")),
            MailerMode::Permanent => Err(MailError::permanent("550 5.1.1 mailbox unavailable")),
            MailerMode::Session => Err(MailError::session(
                "535 5.7.8 authentication credentials invalid",
            )),
        }
    }
}

/// A student for tests: active, subscribed, French, in the platform's zone, no activity
/// recorded, e-mail `s{id}@example.org`.
pub fn student(id: i64) -> crate::domain::Student {
    crate::domain::Student {
        id: StudentId::new(id).expect("test ids are positive"),
        first_name: "Awa".into(),
        last_name: String::new(),
        email: crate::domain::EmailAddress::parse(format!("s{id}@example.org"))
            .expect("a valid address"),
        timezone: None,
        locale: crate::domain::Locale::Fr,
        account_active: true,
        subscription_active: true,
        created_at: None,
        last_activity_at: None,
        opt_out: crate::domain::OptOuts::default(),
    }
}

/// A parent for tests, of the given children, e-mail `p{id}@example.org`.
pub fn parent(id: i64, children: &[i64]) -> crate::domain::Parent {
    crate::domain::Parent {
        id: crate::domain::ParentId::new(id).expect("test ids are positive"),
        first_name: "Mariam".into(),
        last_name: String::new(),
        email: crate::domain::EmailAddress::parse(format!("p{id}@example.org"))
            .expect("a valid address"),
        children: children
            .iter()
            .map(|&c| StudentId::new(c).expect("test ids are positive"))
            .collect(),
    }
}

/// A small school used by the service tests of every store: two students (Abidjan and the
/// default Paris zone), one parent, two sessions on 2026-11-27 and one manual request; at
/// 2026-11-26T18:45Z four reminders are due (with its 12-hour grace).
pub const SMALL_SCHOOL: &str = r#"{
  "settings": { "grace_minutes": 720 },
  "students": [
    { "id": 1, "first_name": "Awa", "last_name": "Koné", "email": "awa@example.org",
      "timezone": "Africa/Abidjan", "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-23T17:03:00Z" },
    { "id": 2, "first_name": "Lucas", "email": "lucas@example.org",
      "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-25T19:00:00Z" }
  ],
  "parents": [ { "id": 10, "first_name": "Mariam", "email": "m@example.org", "children": [1] } ],
  "sessions": [
    { "id": 100, "student_id": 1, "subject": "Mathématiques", "objective": "Fractions",
      "starts_at": "2026-11-27T14:00:00Z" },
    { "id": 101, "student_id": 2, "subject": "Physique", "starts_at": "2026-11-27T09:00:00+01:00" }
  ],
  "manual": [ { "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise ce soir",
                "message": "Courage !", "requested_at": "2026-11-26T18:00:00Z" } ]
}"#;

/// A synthetic platform of `students` students for scale measurements: spread over eight
/// zones, activity over the 60 days before `base`, one session in four students over the
/// 14 days after it; 2 % closed accounts, one in seven without subscription.
pub fn synthetic_platform(students: usize, base: DateTime<Utc>) -> Scenario {
    const ZONES: [&str; 8] = [
        "Europe/Paris",
        "Africa/Abidjan",
        "America/New_York",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "Africa/Dakar",
        "America/Montreal",
        "Indian/Reunion",
    ];
    let zones: Vec<Zone> = ZONES
        .iter()
        .map(|z| Zone::parse(z).expect("known zone"))
        .collect();
    let mut scenario = Scenario::default();
    for i in 0..students {
        let id = i as i64 + 1;
        let mut s = student(id);
        s.first_name = format!("Eleve{id}");
        s.timezone = Some(zones[i % zones.len()]);
        s.locale = if i % 3 == 0 {
            crate::domain::Locale::En
        } else {
            crate::domain::Locale::Fr
        };
        s.account_active = i % 50 != 0;
        s.subscription_active = i % 7 != 0;
        s.last_activity_at = Some(base - TimeDelta::minutes((i as i64 * 7919) % (60 * 24 * 60)));
        scenario.students.push(s);
        if i % 4 == 0 {
            scenario.sessions.push(crate::domain::Session {
                id: crate::domain::SessionId::new(id).expect("positive id"),
                student_id: StudentId::new(id).expect("positive id"),
                subject: "Mathématiques".to_owned(),
                objective: String::new(),
                starts_at: base + TimeDelta::minutes((i as i64 * 104_729) % (14 * 24 * 60)),
                duration_minutes: 60,
                status: crate::domain::SessionStatus::Scheduled,
            });
        }
    }
    scenario
}
