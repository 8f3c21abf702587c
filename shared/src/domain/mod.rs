//! The domain: what a chat is and the rules it follows, knowing neither DynamoDB nor HTTP.
//! Entities ([`model`]), who may do what ([`policy`]), what a viewer sees ([`masking`]),
//! and what a committed change announces ([`events`]). Everything here is pure and is
//! unit-tested without DynamoDB Local; the store and the HTTP edge sit on top of it.

pub mod caller;
pub mod egress;
pub mod error;
pub mod events;
pub mod files;
pub mod filter;
pub mod masking;
pub mod model;
pub mod plan;
pub mod policy;
pub mod push;
pub mod rpc;
pub mod transitions;
pub mod validate;
pub mod webhooks;
