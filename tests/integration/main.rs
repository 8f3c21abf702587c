//! Integration tests against DynamoDB Local. One binary, so CI links it once.

mod chats;
mod cleanup;
mod customers;
mod events;
mod faults;
mod files;
mod generated;
mod hardening;
mod identity;
mod limits;
mod masking;
mod messages;
mod offline;
mod otrs;
mod participants;
mod pieces;
mod push;
mod security;
mod soak;
mod webhooks;
