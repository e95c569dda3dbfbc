//! placeholder
pub mod clock;
pub mod domain;
pub mod message;
pub mod permissions;
pub mod plan;
pub mod ports;
pub mod retry;
pub mod rules;
pub mod scenario;
pub mod service;
pub mod settings;
pub mod snapshot;
#[cfg(feature = "testing")]
pub mod testing;
