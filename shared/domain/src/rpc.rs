//! LIVECHAT's RPC wire format: form-encoded parameters, its STATUS codes, and the size a
//! transcript (CHAT) may take of an event.

use crate::model::Availability;

/// `application/x-www-form-urlencoded`, as LIVECHAT's RPC requests carry their parameters.
pub fn form_encode(params: &[(&str, String)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The most a transcript (CHAT) takes of an event, form-encoded: the rest of the event and
/// its attributes stay far inside SNS's 262,144 bytes.
pub const MAX_CHAT_BYTES: usize = 200 * 1024;

/// The length of `s` once form-encoded (`enc` in [`form_encode`]): one byte for an
/// unreserved character or a space, three for every other byte.
pub fn form_encoded_len(s: &str) -> usize {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b" -_.~".contains(&b) { 1 } else { 3 }).sum()
}

/// How many of `lines`, from the first, fit in `max` bytes once form-encoded and joined
/// with newlines.
pub fn lines_that_fit(lines: &[String], max: usize) -> usize {
    let mut size = 0;
    lines
        .iter()
        .take_while(|line| {
            size += form_encoded_len(line) + 3;
            size <= max
        })
        .count()
}

/// RPC's STATUS codes for an agent's availability (0 online, 1 away, 2 offline, 5 invisible).
pub fn rpc_status(a: Availability) -> u8 {
    match a {
        Availability::Online => 0,
        Availability::Away => 1,
        Availability::Offline => 2,
        Availability::Unavailable => 5,
    }
}
