//! The rules engine of rappels: when a study reminder is due, what it says, and who may see
//! it — with no IO, no clock and no database.
//!
//! # Why the crate is shaped this way
//!
//! Reminder rules are where such systems break: a DST night sends the 08:00 reminder twice,
//! a crashed cron job sends it never, a parent reads another family's history. Each of those
//! bugs lives in code that mixes the rule with the clock, the database or the mail server,
//! and so can only be tested by mocking all three. Here the rules are plain functions of
//! `now` and data ([`rules`], [`plan`], [`permissions`], [`message`]); property tests state
//! their laws across every time zone. The outside world is reached only through three ports
//! defined here — [`ports::Store`], [`ports::Mailer`] and [`clock::Clock`] — which
//! `rappels-sqlx` and `rappels-smtp` implement, and which the [`service::Reminders`] layer
//! drives. Core never depends on sqlx or lettre.
//!
//! Planning follows what is due rather than what is stored: [`plan::PlanWindow`] computes,
//! per zone in use, the dates and last-activity days that can be due at an instant; a store
//! answers with the candidates in that window; [`plan::due_reminders`] decides each one with
//! the rule functions. [`snapshot::Snapshot`] is the in-memory store behind `rappels plan`.
//!
//! # Map
//!
//! - [`domain`]: newtypes parsed at the edge (ids, e-mail addresses, zones, titles…) and the
//!   records (students, parents, sessions, manual requests, reminder keys).
//! - [`settings`]: RULES.md's settings with their defaults.
//! - [`scenario`]: the JSON scenario format, validated with record paths in errors.
//! - [`rules`]: one function per rule (slots and DST, windows, eligibility, ladder, manual).
//! - [`plan`], [`snapshot`]: planning by window → candidates → decision.
//! - [`explain`]: why each reminder of a student is or is not due.
//! - [`synthetic`]: a realistic generated school, streamed record by record, for trying
//!   rappels at scale.
//! - [`message`]: handlebars templates (French and English) for every kind.
//! - [`permissions`]: who may read which history or send what.
//! - [`retry`]: backoff, expiry and the fate of failed deliveries.
//! - [`unsubscribe`]: signed one-click unsubscribe tokens (RFC 8058) and their links.
//! - [`ports`], [`clock`], [`service`]: the traits and the service over them.
//! - `testing` (feature `testing`): in-memory store, recording mailer, fixed clock.

#![deny(missing_docs)]

pub mod changes;
pub mod clock;
pub mod domain;
pub mod explain;
pub mod login;
pub mod message;
pub mod permissions;
pub mod plan;
pub mod ports;
pub mod recheck;
pub mod retry;
pub mod rules;
pub mod scenario;
pub mod schedule;
pub mod service;
pub mod settings;
mod site_url;
pub mod snapshot;
pub mod synthetic;
#[cfg(feature = "testing")]
pub mod testing;
pub mod unsubscribe;
