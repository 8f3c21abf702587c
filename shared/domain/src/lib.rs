//! The domain: what a chat is and the rules it follows, knowing neither DynamoDB nor HTTP.
//! Entities ([`model`]), who may do what ([`policy`]), what a viewer sees ([`masking`]),
//! and what a committed change announces ([`events`]). Everything here is pure and is
//! unit-tested without DynamoDB Local; the store and the HTTP edge sit on top of it.
//! A crate of its own: it depends on no AWS SDK, Lambda crate, HTTP crate or runtime, so
//! its tests build in seconds and nothing here can reach up into the store or the edge.
//!
//! Request paths run this code and release builds abort on panic: no unwrap, expect or
//! panic outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

/// A closed set of names, each spelled as the wire spells it (serde, JSON Schema, parse,
/// Display); defined before the modules that use it.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod caller;
pub mod connections;
pub mod egress;
pub mod erasure;
pub mod error;
pub mod events;
pub mod files;
pub mod filter;
pub mod masking;
pub mod model;
pub mod offline;
pub mod plan;
pub mod policy;
pub mod push;
pub mod queue;
pub mod rpc;
pub mod subscriptions;
pub mod transitions;
pub mod validate;
pub mod webhooks;
