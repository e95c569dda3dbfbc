//! The one integration-test binary of `rappels-core`: property laws of the rules, stated
//! through the crate's public API only.
//!
//! - `slots`: one slot per (date, time, zone) in every zone chrono-tz knows, across the
//!   2026 transitions;
//! - `explain`: `explain` calls due exactly what the plan lists;
//! - `laws`: due windows, re-planning after sending, manual titles, the scenario round trip;
//! - `reference`: the indexed planner equals a brute-force reading of RULES.md;
//! - `windows`: the planner's per-zone window of due dates equals brute force in every zone;
//! - `pipeline`: the sending pipeline's concurrency, leases and session failures;
//! - `footer`: the footer of sent reminders links to the preference page with the token of
//!   their `List-Unsubscribe` address;
//! - `permissions`: a parent never reaches another family's child, a student never another
//!   student's history;
//! - `strategies`: the generators they share.

mod explain;
mod footer;
mod laws;
mod permissions;
mod pipeline;
mod reference;
mod slots;
mod strategies;
mod windows;
