//! The chaos suite: the real `rappels` binary, run as cron runs it, against real SQLite and
//! PostgreSQL databases and a real SMTP server on loopback that records what it accepts,
//! while runners overlap and crash. Each test proves one promise of README.md's
//! "Guarantees" section.

mod bad_input;
mod crash;
mod db_fault;
mod outage;
mod overlap;
mod stall;
mod support;
