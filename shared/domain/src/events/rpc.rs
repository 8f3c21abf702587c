//! The `rpc` vocabulary: LIVECHAT's RPC events, form-encoded (`EVENT`, `LICENCE`,
//! `EVENT_ID`, then the event's own parameters; the wire format is [`crate::rpc`]).

use super::{Change, Context};
use crate::rpc::form_encode;

/// An event's body.
pub(super) fn body(change: &Change, ctx: &Context, event: &str, params: &[(&str, String)]) -> String {
    let mut all: Vec<(&str, String)> = vec![
        ("EVENT", event.to_string()),
        ("LICENCE", ctx.licence.clone()),
        ("EVENT_ID", format!("{}:rpc:{}", change.id, event)),
    ];
    all.extend(params.iter().cloned());
    form_encode(&all)
}
