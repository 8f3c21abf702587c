//! A customer's data on request: its export, and its erasure with a receipt.

use integration_tests::{eventually, Proxy, Receiver, TestApp};
use serde_json::json;

use crate::events::{confirmed, json_events, subscribe};

#[tokio::test]
async fn a_customer_is_exported_whole_then_erased_with_a_receipt_and_announced_once() {
    let proxy = Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let rx = Receiver::start().await;
    subscribe(&t, rx.url("/native"), "native", &["CustomerErase", "ChatMessageDelete", "ChatParticipantUpdate"]).await;
    assert!(confirmed(&t, 1).await, "subscription confirmed");
    let (chat, _) = t.closed_customer_chat("jdoe", "jo@example.com", "My address is 1 Main St").await;
    let (other, _) = t.closed_customer_chat("someone", "so@example.com", "Not Jo's words").await;
    let left = json!({"name": "Jo", "email": "jo@example.com", "text": "Call me on 555-0100"});
    assert_eq!(t.call("POST", "/channels/sales/offline-messages", None, Some(left)).await.0, 201);
    let admin = t.admin_token("admin");

    // Admins only.
    assert_eq!(t.call("GET", "/customers/jdoe/export", Some(&t.agent_token("ann")), None).await.0, 403);
    assert_eq!(t.call("DELETE", "/customers/jdoe", None, None).await.0, 401);
    assert_eq!(t.call("GET", "/customers/nobody-known/export", Some(&admin), None).await.0, 404);

    let (status, export) = t.call("GET", "/customers/jdoe/export", Some(&admin), None).await;
    assert_eq!(status, 200, "{export}");
    let chats = export["chats"].as_array().unwrap();
    assert_eq!(chats.len(), 1, "its chats only");
    assert_eq!(chats[0]["chat"]["chatId"], chat.as_str());
    assert_eq!(chats[0]["chat"]["userData"]["plan"], "pro");
    let said: Vec<&str> =
        chats[0]["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert!(said.contains(&"My address is 1 Main St") && said.contains(&"Noted."), "{said:?}");
    assert_eq!(export["offlineMessages"][0]["text"], "Call me on 555-0100", "by its chats' e-mail address");

    // An open chat waits: nothing is erased while it could take new words.
    let (open, _) = {
        let body = json!({"channelId": "sales", "identityToken": t.identity_token("jdoe")});
        let (status, started) = t.call("POST", "/chats", None, Some(body)).await;
        assert_eq!(status, 201);
        (started["chat"]["chatId"].as_str().unwrap().to_string(), ())
    };
    assert_eq!(t.call("DELETE", "/customers/jdoe", Some(&admin), None).await.0, 409);
    // Pages: every chat fits one here (next null); a page from the second chat on has it
    // alone, and the offline messages only the first page carries; one from inside the
    // first chat, after its first message, has the rest of it.
    let (_, both) = t.call("GET", "/customers/jdoe/export", Some(&admin), None).await;
    assert_eq!((both["chats"].as_array().map(Vec::len), &both["next"]), (Some(2), &json!(null)), "{both}");
    let (status, second) = t.call("GET", "/customers/jdoe/export?cursor=1", Some(&admin), None).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!((&second["chats"], &second["offlineMessages"]), (&json!([both["chats"][1]]), &json!([])));
    let (_, rest) = t.call("GET", "/customers/jdoe/export?cursor=0:1", Some(&admin), None).await;
    let first = &both["chats"][0]["messages"];
    assert_eq!(rest["chats"][0]["messages"], json!(first.as_array().unwrap()[1..]), "{rest}");
    assert_eq!((&rest["chats"][0]["continued"], &rest["chats"][1]["chat"]), (&json!(true), &both["chats"][1]["chat"]));
    for bad in ["2", "x", "-1", "0:x"] {
        assert_eq!(
            t.call("GET", &format!("/customers/jdoe/export?cursor={bad}"), Some(&admin), None).await.0,
            400,
            "{bad}"
        );
    }
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{open}"), Some(&ann), Some(json!({"status": "closed"}))).await.0, 200);

    let (status, erased) = t.call("DELETE", "/customers/jdoe", Some(&admin), None).await;
    assert_eq!(status, 200, "{erased}");
    let receipt = &erased["erasure"];
    assert_eq!((receipt["customerId"].clone(), receipt["offlineMessages"].clone()), (json!("jdoe"), json!(1)));
    assert!(receipt["messages"].as_u64().unwrap() >= 1 && receipt["chats"].as_u64().unwrap() >= 1, "{receipt}");

    // Its words are tombstones, its name and form gone; the agent's words and others' chats stay.
    let (_, after) = t.call("GET", "/customers/jdoe/export", Some(&admin), None).await;
    let erased_chat = after["chats"].as_array().unwrap().iter().find(|c| c["chat"]["chatId"] == chat.as_str()).unwrap();
    let texts: Vec<&str> =
        erased_chat["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert!(!after.to_string().contains("Main St"), "nothing stored says it: {texts:?}");
    assert!(!after.to_string().contains(r#""Jo""#), "nor its name: {after}");
    assert!(texts.contains(&"Noted."));
    let record = &erased_chat["chat"];
    assert_eq!(record["requesterName"], "Erased customer");
    assert!(record.get("userData").is_none() && record.get("email").is_none(), "{record}");
    assert_eq!(after["offlineMessages"], json!([]), "its e-mail address is gone with it");
    let (_, theirs) = t.call("GET", "/customers/someone/export", Some(&admin), None).await;
    assert!(theirs.to_string().contains("Not Jo's words"), "another customer's chat is untouched: {other}");

    // Announced once, with the receipt; the item changes themselves say nothing.
    assert!(eventually(60, || json_events(&rx.bodies("/native")).iter().any(|e| e["event"] == "CustomerErase")).await);
    let natives = json_events(&rx.bodies("/native"));
    let erase = natives.iter().find(|e| e["event"] == "CustomerErase").unwrap();
    assert_eq!(erase["data"]["erasure"]["customerId"], "jdoe");
    assert!(!rx.bodies("/native").iter().any(|b| b.contains("Main St")), "no event carries the erased words");

    // Again: nothing left to erase, and it says so.
    let (status, again) = t.call("DELETE", "/customers/jdoe", Some(&admin), None).await;
    assert_eq!((status, again["erasure"]["messages"].clone()), (200, json!(0)), "{again}");
}

/// An export larger than Lambda can answer comes in pages, each under its 6 MB (the body
/// base64-encoded), a chat of 900 long messages going on over two; joined, nothing is
/// missing or twice.
#[tokio::test]
async fn a_large_export_comes_in_pages_lambda_can_answer() {
    let t = TestApp::new().await;
    let admin = t.admin_token("admin");
    let body = json!({"channelId": "sales", "identityToken": t.identity_token("big-talker"), "nickname": "Bo"});
    let (status, started) = t.call("POST", "/chats", None, Some(body)).await;
    assert_eq!(status, 201, "{started}");
    let chat = started["chat"]["chatId"].as_str().unwrap().to_string();
    let token = started["token"].as_str().unwrap().to_string();
    let path = format!("/chats/{chat}/messages");
    for i in 0..900 {
        let text = format!("{i:04}{}", "y".repeat(3_796));
        assert_eq!(t.call("POST", &path, Some(&token), Some(json!({"text": text}))).await.0, 201);
    }
    t.closed_customer_chat("big-talker", "bo@example.com", "A short one").await;

    let (mut texts, mut chats, mut pages, mut cursor) = (Vec::new(), Vec::new(), 0, None::<String>);
    loop {
        let query = cursor.as_ref().map(|c| format!("?cursor={c}")).unwrap_or_default();
        let (status, page) = t.call("GET", &format!("/customers/big-talker/export{query}"), Some(&admin), None).await;
        assert_eq!(status, 200);
        let bytes = page.to_string().len();
        assert!(bytes.div_ceil(3) * 4 < 6 * 1024 * 1024, "page {pages}: {bytes} bytes");
        pages += 1;
        for part in page["chats"].as_array().unwrap() {
            let id = part["chat"]["chatId"].as_str().unwrap().to_string();
            if chats.last() != Some(&id) {
                chats.push(id);
            }
            texts.extend(
                part["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str().map(str::to_string)),
            );
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(chats.len(), 2, "{chats:?}");
    let long: Vec<&String> = texts.iter().filter(|t| t.len() == 3_800).collect();
    assert_eq!(long.len(), 900, "each long message once");
    assert!(long.windows(2).all(|w| w[0] < w[1]), "in order");
    assert!(texts.iter().any(|t| t == "A short one"));
}
