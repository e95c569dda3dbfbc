//! placeholder
pub mod domain;
pub mod plan;
pub mod rules;
pub mod scenario;
pub mod settings;
pub mod snapshot;
