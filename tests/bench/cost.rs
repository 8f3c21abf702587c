//! What a million chat messages cost, all in, for one stated scenario: the DynamoDB units
//! the bench measured per operation, and the invocations, WebSocket messages, SNS
//! publishes and log bytes the scenario makes, counted from the code (docs/events.md says
//! what each change pushes and publishes), priced at AWS's list prices named below.
//! Writes bench/results/cost.json. It prices; it asserts nothing.

use serde_json::{json, Value};

/// us-east-1 list prices, from AWS's pricing pages as last read (not checked from this
/// machine, which reaches no AWS page): check them before relying on the total.
const PRICES: &[(&str, f64, &str)] = &[
    ("httpApiRequest", 1.00e-6, "API Gateway HTTP API, per request (first 300 million a month)"),
    ("webSocketMessage", 1.00e-6, "API Gateway WebSocket API, per message in 32 KB units (first billion)"),
    ("connectionMinute", 0.25e-6, "API Gateway WebSocket API, per connection minute"),
    ("lambdaRequest", 0.20e-6, "Lambda, per invocation"),
    ("lambdaGbSecond", 0.000_013_333_4, "Lambda arm64, per GB-second"),
    ("writeUnit", 0.625e-6, "DynamoDB on-demand, per write request unit"),
    ("readUnit", 0.125e-6, "DynamoDB on-demand, per read request unit"),
    ("snsPublish", 0.50e-6, "SNS, per publish (64 KB chunks)"),
    ("snsHttpDelivery", 0.60e-6, "SNS, per HTTP/S delivery"),
    ("logGigabyte", 0.50, "CloudWatch Logs, per GB ingested"),
];

fn price(name: &str) -> f64 {
    PRICES.iter().find(|p| p.0 == name).map_or(0.0, |p| p.1)
}

/// One chat: who is in it, what they send, who watches.
pub struct Scenario {
    pub minutes: f64,
    pub messages: f64,
    /// Typing notices sent, by both sides together.
    pub typing: f64,
    /// Read receipts, by both sides together: at most one per message, the other side
    /// marking what it has seen (the widget coalesces a burst into one).
    pub reads: f64,
    /// State changes: the request, its acceptance, the customer leaving.
    pub changes: f64,
    /// Both parties on push: a widget and a console, each one socket.
    pub sockets: f64,
    pub heartbeat_secs: f64,
    /// Other agents' consoles told of the request's arrival and of its acceptance.
    pub queue_watchers: f64,
    /// Webhook subscriptions, each one vocabulary, delivered by SNS (direct mode).
    pub webhooks: f64,
    pub memory_gb: f64,
    /// What each invocation logs: the handler's one JSON line (the platform's START and
    /// REPORT lines are off: template.yaml's `PlatformLogLevel`, WARN by default).
    pub log_bytes_per_invocation: f64,
    /// A stream consumer's run (socket-push, publisher), not measured here.
    pub consumer_ms: f64,
}

pub const SCENARIO: Scenario = Scenario {
    minutes: 10.0,
    messages: 20.0,
    typing: 20.0,
    reads: 20.0,
    changes: 3.0,
    sockets: 2.0,
    heartbeat_secs: 300.0,
    queue_watchers: 3.0,
    webhooks: 1.0,
    memory_gb: 0.125,
    log_bytes_per_invocation: 300.0,
    consumer_ms: 10.0,
};

/// A measured operation of the bench: (read units, write units, p50 ms).
fn measured(operations: &[Value], name: &str) -> (f64, f64, f64) {
    let op = operations.iter().find(|o| o["operation"] == name);
    let get = |k: &str| op.and_then(|o| o[k].as_f64()).unwrap_or(0.0);
    (get("readUnits"), get("writeUnits"), get("p50Ms"))
}

/// One line of the bill: what, how many per chat, at which price.
struct Line {
    what: String,
    quantity: f64,
    price: &'static str,
}

pub fn price_it(operations: &[Value], heartbeat_secs: u64) -> Value {
    let s = Scenario { heartbeat_secs: heartbeat_secs as f64, ..SCENARIO };
    // The HTTP calls of one chat: the widget starts it and reads its session, the agent
    // accepts it and opens it (the chat, its messages), both post and type, the customer leaves.
    let calls: [(&str, f64); 9] = [
        ("chat-add", 1.0),
        ("session-get", 1.0),
        ("chat-update", 1.0),
        ("chat-get", 1.0),
        ("message-list", 1.0),
        ("message-add", s.messages),
        ("typing-set", s.typing),
        ("read-mark", s.reads),
        ("chat-leave", 1.0),
    ];
    let mut lines = Vec::new();
    let (mut rru, mut wru, mut gb_secs, mut invocations) = (0.0, 0.0, 0.0, 0.0);
    for (name, n) in calls {
        let (r, w, ms) = measured(operations, name);
        rru += r * n;
        wru += w * n;
        gb_secs += n * ms.ceil() / 1000.0 * s.memory_gb;
        invocations += n;
    }
    let http_calls: f64 = calls.iter().map(|c| c.1).sum();
    lines.push(Line { what: "HTTP API requests".into(), quantity: http_calls, price: "httpApiRequest" });

    // Every committed change reaches both stream consumers; at a chat's pace each record is
    // an invocation of its own (busier tables batch them: fewer).
    let records = s.messages + s.typing + s.reads + s.changes;
    // socket-push: the chat (1 RRU) and one index Query per audience told (0.5 each: the
    // customer side, the agents); the writer's fast path: one Query (0.5) per message.
    rru += records * 2.0 + s.messages * 0.5;
    // The queue: the request's arrival and its acceptance each reorder its channel's queue
    // (socket-push counts the requests ahead and lists those behind, 8 shards each, and
    // reads the channel's waits: about 17 Queries of 0.5); the accept adds its wait to the
    // channel's count, an update in its transaction (2 WRU).
    rru += 2.0 * 17.0 * 0.5;
    wru += 2.0;
    let (publisher_rru, _, _) = measured(operations, "event-publisher");
    rru += (records - s.typing) * publisher_rru;
    // Sockets: open (1 WRU), subscribe (2 WRU: the item and its index entry), close (1 WRU).
    wru += s.sockets * 4.0;
    let heartbeats = s.sockets * (s.minutes * 60.0 / s.heartbeat_secs).floor();
    // $connect, handshake and subscribe ($default, a frame each), heartbeats, $disconnect.
    let socket_invocations = s.sockets * 4.0 + heartbeats;
    // socket-push takes every record; the publisher's filter leaves typing out (filtered
    // records are not invocations, nor billed).
    let consumer_invocations = records + (records - s.typing);
    invocations += socket_invocations + consumer_invocations;
    gb_secs += (socket_invocations + consumer_invocations) * s.consumer_ms / 1000.0 * s.memory_gb;
    lines.push(Line { what: "Lambda invocations".into(), quantity: invocations, price: "lambdaRequest" });
    lines.push(Line {
        what: "Lambda GB-seconds (measured p50s, 1 ms billing)".into(),
        quantity: gb_secs,
        price: "lambdaGbSecond",
    });
    lines.push(Line {
        what: "DynamoDB write units (measured per operation)".into(),
        quantity: wru,
        price: "writeUnit",
    });
    lines.push(Line { what: "DynamoDB read units (measured per operation)".into(), quantity: rru, price: "readUnit" });

    // Each message reaches every socket twice (the writer's fast path, then the stream's
    // copy); a typing notice the other side only; a read mark and a state change every
    // socket; the queue's watchers its arrival and its acceptance.
    let pushes = s.messages * s.sockets * 2.0
        + s.typing * (s.sockets - 1.0)
        + (s.reads + s.changes) * s.sockets
        + s.queue_watchers * 2.0;
    // Handshake and subscribe each a message and its reply; each heartbeat the same.
    let control = s.sockets * 4.0 + heartbeats * 2.0;
    lines.push(Line { what: "WebSocket messages (pushes)".into(), quantity: pushes, price: "webSocketMessage" });
    lines.push(Line {
        what: "WebSocket messages (handshakes, heartbeats, replies)".into(),
        quantity: control,
        price: "webSocketMessage",
    });
    lines.push(Line {
        what: "WebSocket connection minutes".into(),
        quantity: s.sockets * s.minutes,
        price: "connectionMinute",
    });

    // Messages, read marks (native ChatMessageRead) and state changes are events; typing
    // notices are not.
    let events = (s.messages + s.reads + s.changes) * s.webhooks;
    lines.push(Line { what: "SNS publishes".into(), quantity: events, price: "snsPublish" });
    lines.push(Line { what: "SNS HTTP deliveries".into(), quantity: events, price: "snsHttpDelivery" });
    lines.push(Line {
        what: "CloudWatch Logs (GB)".into(),
        quantity: invocations * s.log_bytes_per_invocation / 1e9,
        price: "logGigabyte",
    });

    let per_chat: f64 = lines.iter().map(|l| l.quantity * price(l.price)).sum();
    let per_million = per_chat / s.messages * 1e6;
    println!("\ncost of a million messages (the scenario in cost.json; list prices, us-east-1):");
    for l in &lines {
        let usd = l.quantity * price(l.price) / s.messages * 1e6;
        println!("  {:<52} {:>10.4} per chat  ${usd:>7.3} per million messages", l.what, l.quantity);
    }
    println!("  {:<52} {:>10} {:>10}  ${per_million:>7.3}", "total", "", "");
    json!({
        "usdPerMillionMessages": per_million,
        "scenario": {
            "chatMinutes": s.minutes, "messages": s.messages, "typingNotices": s.typing, "readMarks": s.reads, "stateChanges": s.changes,
            "socketsOnPush": s.sockets, "shareOfWidgetsOnPush": 1.0, "heartbeatSeconds": s.heartbeat_secs,
            "queueWatchers": s.queue_watchers, "webhookSubscriptions": s.webhooks, "webhookMode": "direct (SNS)",
            "lambdaMemoryGb": s.memory_gb, "architecture": "arm64", "logBytesPerInvocation": s.log_bytes_per_invocation,
            "streamConsumerMs": s.consumer_ms, "httpCalls": calls.iter().map(|c| json!({"operation": c.0, "count": c.1})).collect::<Vec<_>>(),
        },
        "lines": lines.iter().map(|l| json!({
            "line": l.what, "perChat": l.quantity, "price": l.price,
            "usdPerMillionMessages": l.quantity * price(l.price) / s.messages * 1e6,
        })).collect::<Vec<_>>(),
        "prices": PRICES.iter().map(|p| json!({"name": p.0, "usd": p.1, "what": p.2})).collect::<Vec<_>>(),
        "measuredFrom": "bench/results/latest.json operations (DynamoDB units, p50 latency); the rest counted from the code",
    })
}
