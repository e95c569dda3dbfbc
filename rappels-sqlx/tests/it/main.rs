//! Integration tests of the SQL stores: one suite, run against a fresh SQLite file and,
//! when `RAPPELS_TEST_POSTGRES` names a server, a fresh PostgreSQL database per test.

mod changes;
mod claims;
mod contract;
mod dst;
mod explain;
mod harness;
mod import;
mod login;
mod pages;
mod parity;
mod service;
mod settings;
