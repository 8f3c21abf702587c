//! The live-chat backend: everything but the few lines of each function's `main`.
//!
//! Release builds abort on panic, so request paths must not panic: these lints keep
//! unwrap, expect and panic out of the library (tests may use them).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod agent_keys;
pub mod api;
pub mod app;
pub mod auth;
pub mod batch;
pub mod cleanup;
pub mod config;
pub mod dispatcher;
pub mod egress;
pub mod error;
pub mod files;
pub mod http;
pub mod keys;
pub mod lambda;
pub mod metrics;
pub mod openapi;
pub mod publisher;
pub mod push;
pub mod queue;
pub mod routes;
pub mod secrets;
pub mod socket;
pub mod store;
pub mod stream;
pub mod telemetry;
pub mod time;
pub mod topic;

pub use app::App;
/// The domain is a crate of its own, so that the layering is the compiler's: it cannot name
/// the store, the SDK or HTTP. Re-exported so `crate::domain::…` reads as before.
pub use domain;
