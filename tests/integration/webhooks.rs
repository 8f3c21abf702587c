//! Direct webhooks: the dispatcher POSTs each event to receivers that know nothing of SNS
//! (tests/support/webhook_receiver.py: a standard-library form parser, and signatures
//! verified by the independent `standardwebhooks` package), retries for as long as the
//! schedule says, disables a gone receiver, dead-letters the last failure, and replays.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::{eventually, FormReceiver, Proxy, TestApp};
use serde_json::{json, Value};

/// Adds a webhook as an admin; the created body.
async fn add(t: &TestApp, hook: Value) -> Value {
    let (status, body) = t.call("POST", "/webhooks", Some(&t.admin_token("admin")), Some(hook)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn deliveries(t: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) =
        t.call("GET", &format!("/webhooks/{id}/deliveries"), Some(&t.admin_token("admin")), None).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// The delivery log once `n` attempts are in it (an attempt is logged after its answer,
/// so shortly after the receiver has it), within ten seconds.
async fn deliveries_of(t: &TestApp, id: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let log = deliveries(t, id).await;
        if log.len() >= n {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    deliveries(t, id).await
}

async fn status_of(t: &TestApp, id: &str) -> String {
    let (_, list) = t.call("GET", "/webhooks", Some(&t.admin_token("admin")), None).await;
    let hook = list["webhooks"].as_array().unwrap().iter().find(|w| w["webhookId"] == id).cloned();
    hook.map(|h| h["status"].as_str().unwrap().to_string()).unwrap_or_default()
}

/// Starts a chat, has ann accept it, and closes it: CHAT_STARTED, then OPERATOR_STOPED_CHAT.
async fn chat_started_and_closed(t: &TestApp) -> String {
    let ann = t.agent_token("ann");
    let (chat, _) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "closed"}))).await.0, 200);
    chat
}

/// Distinct event ids taken (answered 200), by their EVENT field.
fn taken_by_event(rx: &FormReceiver) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_event: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rx.taken() {
        let event = r["fields"]["EVENT"].as_str().unwrap_or_default().to_string();
        by_event.entry(event).or_default().insert(r["id"].as_str().unwrap_or_default().to_string());
    }
    by_event
}

#[tokio::test]
async fn rpc_events_reach_a_form_receiver_signed_and_without_a_handshake() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = FormReceiver::start(0, 200).await;
    // The rpc format is direct by default: no SubscriptionConfirmation, a secret shown once.
    let created =
        add(&t, json!({"url": rx.url("/lc"), "format": "rpc", "events": ["CHAT_STARTED", "OPERATOR_STOPED_CHAT"]}))
            .await;
    assert_eq!(created["status"], "active");
    assert_eq!(created["webhook"]["mode"], "direct");
    let id = created["webhookId"].as_str().unwrap().to_string();
    let first = created["secret"].as_str().unwrap().to_string();
    assert!(first.starts_with("whsec_"), "{created}");
    rx.use_secret(&first);
    let (_, list) = t.call("GET", "/webhooks", Some(&t.admin_token("admin")), None).await;
    assert!(!list.to_string().contains("whsec_"), "a listing never shows a secret: {list}");
    assert_eq!(status_of(&t, &id).await, "active");

    chat_started_and_closed(&t).await;
    assert!(eventually(20, || rx.taken().len() >= 2).await, "{:?}", rx.requests());
    for r in rx.requests() {
        assert_eq!(r["snsMessageType"], Value::Null, "no SNS message reaches a direct webhook: {r}");
        assert_eq!(r["contentType"], "application/x-www-form-urlencoded");
        assert_eq!(r["verified"], true, "standardwebhooks verifies the signature: {r}");
        assert_eq!(r["fields"]["OPERATOR_ID"], "ann", "{r}");
        assert!(r["fields"]["CLIENT_ID"].as_str().is_some_and(|c| !c.is_empty()), "{r}");
        assert_eq!(r["fields"]["LICENCE"], "1234");
        assert_eq!(r["fields"]["EVENT"], r["id"].as_str().unwrap().rsplit(':').next().unwrap());
    }
    // A batch's deliveries go out at once, in no set order.
    let mut events: Vec<String> =
        rx.taken().iter().map(|r| r["fields"]["EVENT"].as_str().unwrap().to_string()).collect();
    events.sort();
    assert_eq!(events, ["CHAT_STARTED", "OPERATOR_STOPED_CHAT"]);
    let log = deliveries_of(&t, &id, 2).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|d| d["outcome"] == "delivered" && d["status"] == 200 && d["attempt"] == 1), "{log:?}");

    // A rotation: the old secret still verifies (both sign for a day), then the new one.
    let (status, rotated) =
        t.call("POST", &format!("/webhooks/{id}/secret"), Some(&t.admin_token("admin")), None).await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    chat_started_and_closed(&t).await;
    assert!(eventually(20, || rx.taken().len() >= 4).await);
    rx.use_secret(&second);
    chat_started_and_closed(&t).await;
    assert!(eventually(20, || rx.taken().len() >= 6).await);
    assert!(rx.requests().iter().all(|r| r["verified"] == true), "{:?}", rx.requests());
    rx.use_secret("whsec_c29tZXRoaW5nIGVsc2UgZW50aXJlbHkgMDEyMzQ1Njc4OQ==");
    chat_started_and_closed(&t).await;
    assert!(eventually(20, || rx.requests().len() >= 8).await);
    assert!(rx.requests()[6..].iter().all(|r| r["verified"] == false), "another secret does not verify");
}

#[tokio::test]
async fn a_failing_receiver_gets_each_event_once_after_retries_and_a_replay_sends_a_range_again() {
    // The replay's deliveries once failed to arrive in a full run: its log says where they went.
    integration_tests::log_webhook_dispatch();
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    // Its first three answers are 500s; the schedule allows three retries a second apart.
    let rx = FormReceiver::start(3, 500).await;
    let created =
        add(&t, json!({"url": rx.url("/lc"), "format": "rpc", "events": ["CHAT_STARTED", "OPERATOR_STOPED_CHAT"]}))
            .await;
    let id = created["webhookId"].as_str().unwrap().to_string();
    rx.use_secret(created["secret"].as_str().unwrap());
    // Events carry their stream record's time, to the second.
    let before = t.app.clock.ago(60);
    chat_started_and_closed(&t).await;
    let both = |rx: &FormReceiver| {
        let taken = taken_by_event(rx);
        taken.len() == 2 && taken.values().all(|ids| ids.len() == 1)
    };
    assert!(eventually(30, || both(&rx)).await, "{:?}", rx.requests());
    assert_eq!(rx.requests().iter().filter(|r| r["status"] == 500).count(), 3);
    let log = deliveries_of(&t, &id, 5).await;
    let retried: Vec<&Value> = log.iter().filter(|d| d["outcome"] == "retrying").collect();
    assert_eq!(retried.len(), 3, "{log:?}");
    assert!(retried.iter().all(|d| d["status"] == 500));
    assert_eq!(log.iter().filter(|d| d["outcome"] == "delivered").count(), 2, "{log:?}");
    let first_ids: BTreeSet<String> = taken_by_event(&rx).into_values().flatten().collect();

    // A replay of the range sends both again, with their own ids.
    let after = t.app.clock.ago(-1);
    let admin = t.admin_token("admin");
    let range = json!({"from": before, "to": after});
    let (status, replayed) = t.call("POST", &format!("/webhooks/{id}/replay"), Some(&admin), Some(range)).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["queued"], 2, "{replayed}");
    assert_eq!(replayed["more"], false);
    if !eventually(60, || rx.taken().len() >= 4).await {
        // What the dispatcher recorded of each attempt: status, outcome, error, replay.
        let log = deliveries(&t, &id).await;
        panic!("the replay did not arrive; received {:?}; delivery log {log:?}", rx.requests());
    }
    let ids: Vec<String> = rx.taken().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), first_ids, "a replay keeps the event ids");
    assert!(deliveries_of(&t, &id, 7).await.iter().any(|d| d["replay"] == true));
    // A range older than the log, or a backwards one, replays nothing, and says so; one
    // that begins before the log replays from the log's start.
    let log_start = t.app.clock.ago(t.app.config.events.webhooks.log_days * 86_400);
    let empty = json!({"from": "2020-01-01T00:00:00Z", "to": "2020-01-01T01:00:00Z"});
    let (status, body) = t.call("POST", &format!("/webhooks/{id}/replay"), Some(&admin), Some(empty)).await;
    assert_eq!((status, &body["queued"]), (200, &json!(0)), "{body}");
    assert!(body["from"].as_str().unwrap() >= log_start.as_str(), "{body}");
    let backwards = json!({"from": after, "to": before});
    let (status, body) = t.call("POST", &format!("/webhooks/{id}/replay"), Some(&admin), Some(backwards)).await;
    assert_eq!((status, &body["queued"]), (200, &json!(0)), "{body}");
    // The log's reads go hour by hour: a range into the far future ends now.
    let wide = json!({"from": "2020-01-01T00:00:00Z", "to": "3704-11-13T14:36:09.6Z"});
    let (status, body) = t.call("POST", &format!("/webhooks/{id}/replay"), Some(&admin), Some(wide)).await;
    assert_eq!((status, &body["queued"]), (200, &json!(2)), "{body}");
    assert!(body["from"].as_str().unwrap() >= log_start.as_str(), "{body}");
    assert!(body["to"].as_str().unwrap() <= t.app.clock.ago(-2).as_str(), "{body}");
}

#[tokio::test]
async fn a_gone_receiver_is_disabled_and_the_last_failure_is_dead_lettered() {
    // The replay's deliveries once failed to arrive in a full run: its log says where they went.
    integration_tests::log_webhook_dispatch();
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    // One retry only.
    let t = TestApp::with_events_through(&proxy, None, |c| c.events.webhooks.retry_delays = vec![1]).await;
    let gone = FormReceiver::start(1000, 410).await;
    let broken = FormReceiver::start(1000, 500).await;
    // A redirect is a failed attempt: the receiver it points at hears nothing.
    let elsewhere = FormReceiver::start(0, 200).await;
    let moved = FormReceiver::redirecting(1000, 302, Some(&elsewhere.url("/"))).await;
    let events = json!(["CHAT_STARTED", "OPERATOR_STOPED_CHAT"]);
    let moved_id = add(&t, json!({"url": moved.url("/"), "format": "rpc", "events": ["CHAT_STARTED"]})).await
        ["webhookId"]
        .as_str()
        .unwrap()
        .to_string();
    // CHAT_STARTED only: a chat's two events may be dispatched at once, before the 410.
    let gone_id = add(&t, json!({"url": gone.url("/"), "format": "rpc", "events": ["CHAT_STARTED"]})).await
        ["webhookId"]
        .as_str()
        .unwrap()
        .to_string();
    let broken_id = add(&t, json!({"url": broken.url("/"), "format": "rpc", "events": events})).await["webhookId"]
        .as_str()
        .unwrap()
        .to_string();
    chat_started_and_closed(&t).await;
    // The broken receiver: two attempts per event, the second dead-lettered.
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = deliveries(&t, &broken_id).await.into_iter().filter(|d| d["outcome"] == "deadLettered").collect();
        if dead.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(dead.len(), 2, "{:?}", deliveries(&t, &broken_id).await);
    assert!(dead.iter().all(|d| d["attempt"] == 2 && d["status"] == 500));
    assert_eq!(broken.requests().len(), 4);
    let dlq = t.app.config.events.webhooks.dead_letter_url.clone().unwrap();
    let out = t.app.sqs.receive_message().queue_url(dlq).max_number_of_messages(10).message_attribute_names("All");
    // The moved receiver's one event waits there too.
    let parked = out.send().await.unwrap();
    let parked: Vec<String> = parked
        .messages()
        .iter()
        .filter_map(|m| m.message_attributes()?.get("webhookId")?.string_value().map(str::to_string))
        .collect();
    let parked: Vec<&String> = parked.iter().filter(|id| **id == broken_id).collect();
    assert_eq!(parked.len(), 2, "both events wait on the dead-letter queue");

    assert!(eventually(10, || moved.requests().len() == 2).await);
    let moved_log = deliveries_of(&t, &moved_id, 2).await;
    assert_eq!(moved_log.len(), 2);
    assert!(moved_log.iter().all(|d| d["status"] == 302), "{moved_log:?}");
    assert!(elsewhere.requests().is_empty(), "a redirect is not followed");

    // The gone receiver: one 410, then disabled; the next chat's event is not sent to it
    // (a witness taking the same event shows it was dispatched).
    let mut status = String::new();
    for _ in 0..100 {
        status = status_of(&t, &gone_id).await;
        if status == "disabled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "disabled");
    assert_eq!(gone.requests().len(), 1, "{:?}", gone.requests());
    assert_eq!(deliveries_of(&t, &gone_id, 1).await[0]["outcome"], "disabled");
    let witness = FormReceiver::start(0, 200).await;
    add(&t, json!({"url": witness.url("/"), "format": "rpc", "events": ["CHAT_STARTED"]})).await;
    chat_started_and_closed(&t).await;
    assert!(eventually(20, || witness.taken().len() == 1).await);
    assert_eq!(gone.requests().len(), 1, "{:?}", gone.requests());
    // A replay takes it back: it is sent the range's events again (and, still gone, it
    // answers 410 and is disabled once more).
    let range = json!({"from": t.app.clock.ago(600), "to": t.app.clock.ago(-1)});
    let admin = t.admin_token("admin");
    let (status, body) = t.call("POST", &format!("/webhooks/{gone_id}/replay"), Some(&admin), Some(range)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["queued"], 2, "both chats' CHAT_STARTED");
    assert!(eventually(60, || gone.requests().len() >= 2).await, "{:?}", gone.requests());
    assert!(deliveries_of(&t, &gone_id, 2).await.iter().any(|d| d["replay"] == true));
}

#[tokio::test]
async fn webhook_routes_refuse_what_they_cannot_do() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let admin = t.admin_token("admin");
    let sns =
        add(&t, json!({"url": "http://127.0.0.1:9/x", "format": "native", "events": ["ChatAdd"], "mode": "sns"})).await;
    assert_eq!(sns["status"], "pendingConfirmation");
    assert!(sns.get("secret").is_none(), "an sns webhook has no secret of ours");
    let sns_id = sns["webhookId"].as_str().unwrap();
    for (method, path, body) in
        [("GET", format!("/webhooks/{sns_id}/deliveries"), None), ("POST", format!("/webhooks/{sns_id}/secret"), None)]
    {
        assert_eq!(t.call(method, &path, Some(&admin), body).await.0, 409, "{method} {path}");
    }
    let direct =
        add(&t, json!({"url": "http://127.0.0.1:9/x", "format": "native", "events": ["ChatAdd"], "mode": "direct"}))
            .await;
    let id = direct["webhookId"].as_str().unwrap();
    for (method, path, body, status) in [
        ("GET", format!("/webhooks/{id}/deliveries?limit=0"), None, 400),
        ("GET", format!("/webhooks/{id}/deliveries?limit=101"), None, 400),
        ("POST", format!("/webhooks/{id}/replay"), Some(json!({"from": "yesterday", "to": "today"})), 400),
        ("POST", format!("/webhooks/{id}/replay"), Some(json!({"from": t.app.clock.ago(60)})), 400),
        ("GET", "/webhooks/nope/deliveries".to_string(), None, 404),
        ("POST", "/webhooks/nope/secret".to_string(), None, 404),
    ] {
        assert_eq!(t.call(method, &path, Some(&admin), body).await.0, status, "{method} {path}");
    }
    // Two rotations at once: the second, planned from the same secret, is refused.
    let current = direct["secret"].as_str().unwrap();
    t.app.db.rotate_webhook_secret(id, "whsec_AAAA", current, 0).await.unwrap();
    let late = t.app.db.rotate_webhook_secret(id, "whsec_BBBB", current, 0).await.unwrap_err();
    assert_eq!(shared::error::ApiError::from(late).status, 409);
    assert_eq!(
        t.call(
            "POST",
            "/webhooks",
            Some(&admin),
            Some(json!({"url": "http://x/", "format": "rpc", "events": ["CHAT_STARTED"], "mode": "carrier-pigeon"}))
        )
        .await
        .0,
        400
    );
}

/// A retry due later than SQS can hold a message back goes back to the queue, unsent.
#[tokio::test]
async fn a_retry_not_yet_due_is_queued_again() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = FormReceiver::start(0, 200).await;
    let created =
        add(&t, json!({"url": rx.url("/"), "format": "rpc", "events": ["CHAT_STARTED"], "mode": "direct"})).await;
    let id = created["webhookId"].as_str().unwrap();
    let due = t.app.clock.epoch_secs() + 3600;
    let attr = |v: String| json!({"stringValue": v, "dataType": "String"});
    let job = json!({"Records": [{
        "messageId": "m1",
        "body": "EVENT=CHAT_STARTED",
        "messageAttributes": {
            "eventId": attr("r1:rpc:CHAT_STARTED".into()), "event": attr("CHAT_STARTED".into()),
            "format": attr("rpc".into()), "webhookId": attr(id.to_string()),
            "attempt": attr("4".into()), "notBefore": attr(due.to_string()),
        },
    }]});
    let app = &t.app;
    assert_eq!(shared::dispatcher::handle(app, job).await.unwrap(), json!({"batchItemFailures": []}));
    assert!(rx.requests().is_empty(), "not sent before it is due");
    // Held back by SQS for its 15 minutes at most (the queue's poller cannot see it), so
    // counted as delayed.
    let attributes = app
        .sqs
        .get_queue_attributes()
        .queue_url(app.config.events.webhooks.queue_url.as_deref().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let delayed = attributes.attributes().unwrap()
        [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed]
        .clone();
    assert_eq!(delayed, "1");
}

/// docs/events.md's Python snippets, each run on a signed delivery and on a tampered one.
#[test]
fn the_signature_snippets_in_events_md_verify_a_delivery() {
    let doc = std::fs::read_to_string(integration_tests::repo_root().join("docs/events.md")).unwrap();
    let snippets: Vec<&str> = doc
        .split("<!-- tested: verify -->")
        .skip(1)
        .map(|s| s.split("```python\n").nth(1).unwrap().split("```").next().unwrap())
        .collect();
    assert_eq!(snippets.len(), 2);
    let secret = shared::domain::webhooks::secret_from(&[42; 32]);
    let stamp = chrono::Utc::now().timestamp();
    let body = "EVENT=CHAT_STARTED&LICENCE=0&CLIENT_ID=v%201";
    let signature = shared::domain::webhooks::signature_header(&[&secret], "e1", stamp, body);
    for snippet in snippets {
        let driver = format!(
            "{snippet}\nimport json, sys\nc = json.load(sys.stdin)\n\
             print(verified(c['secret'], c['body'], c['headers']), verified(c['secret'], c['body'] + 'x', c['headers']))\n"
        );
        let headers =
            json!({"webhook-id": "e1", "webhook-timestamp": stamp.to_string(), "webhook-signature": signature});
        let input = json!({"secret": secret, "body": body, "headers": headers});
        let mut child = std::process::Command::new(integration_tests::repo_root().join(".venv/bin/python"))
            .args(["-c", &driver])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True False", "{snippet}");
    }
}

/// docs/events.md's SNS check, on a message signed with a test certificate: it verifies,
/// a tampered message does not, and a certificate URL off SNS's hosts is refused.
#[test]
fn the_sns_signature_snippet_verifies_a_signed_message() {
    let doc = std::fs::read_to_string(integration_tests::repo_root().join("docs/events.md")).unwrap();
    let snippet = doc.split("<!-- tested: sns -->").nth(1).unwrap();
    let snippet = snippet.split("```python\n").nth(1).unwrap().split("```").next().unwrap();
    // The string to sign, spelled out as AWS documents it for a Notification.
    let driver = r#"
import base64, datetime, json
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
pem = cert.public_bytes(serialization.Encoding.PEM)
message = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
           "Message": "EVENT=CHAT_STARTED", "Timestamp": "2026-11-22T10:00:00.000Z", "SignatureVersion": "2",
           "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem"}
text = ("Message\nEVENT=CHAT_STARTED\nMessageId\nm-1\nTimestamp\n2026-11-22T10:00:00.000Z\n"
        "TopicArn\narn:aws:sns:us-east-1:1:t\nType\nNotification\n")
message["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
tampered = dict(message, Message="EVENT=OPERATOR_STOPED_CHAT")
refused = True
for url in ["https://evil.example.com/cert.pem", "https://sns.s3.amazonaws.com/cert.pem"]:
    try:
        sns_certificate(url)
        refused = False
    except ValueError:
        pass
print(sns_verified(message, lambda url: pem), sns_verified(tampered, lambda url: pem), refused)
"#;
    let out = std::process::Command::new(integration_tests::repo_root().join(".venv/bin/python"))
        .args(["-c", &format!("{snippet}\n{driver}")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "True False True",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
