//! Integration tests against DynamoDB Local. One binary, so CI links it once.

mod chats;
mod participants;
mod pieces;
