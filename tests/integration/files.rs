//! Files (sendFile, downloadFile) against the S3 emulator, which checks presigned URLs'
//! signatures as S3 does: uploads and downloads made with a plain HTTP client, as a
//! browser makes them; the seed's rejections; files deleted with their chat.

use integration_tests::TestApp;
use serde_json::{json, Value};

/// A customer's chat accepted by agent "ann": (chat id, customer token, agent token).
async fn accepted_chat(t: &TestApp) -> (String, String, String) {
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    (chat, customer, ann)
}

async fn announce(t: &TestApp, chat: &str, token: &str, name: &str, body: &[u8], kind: &str) -> (u16, Value) {
    let file = json!({"name": name, "size": body.len(), "type": kind});
    t.call("POST", &format!("/chats/{chat}/files"), Some(token), Some(file)).await
}

/// The presigned request, made as a browser makes it (the headers it was told to send,
/// but the Content-Length, which the body sets).
async fn put(upload: &Value, body: &[u8]) -> u16 {
    assert_eq!(upload["method"], "PUT");
    let mut request = reqwest::Client::new().put(upload["url"].as_str().unwrap()).body(body.to_vec());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" && name != "host" {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        eprintln!("PUT {}: {status} {}", upload["url"], response.text().await.unwrap_or_default().replace('\n', " "));
    }
    status
}

/// Announce, upload, post: sendFile's three steps. The posted message.
async fn send_file(t: &TestApp, chat: &str, token: &str, name: &str, body: &[u8], kind: &str) -> Value {
    let (status, announced) = announce(t, chat, token, name, body, kind).await;
    assert_eq!(status, 201, "{announced}");
    assert_eq!(put(&announced["upload"], body).await, 200);
    let file_id = announced["file"]["fileId"].as_str().unwrap();
    let (status, posted) = t.call("POST", &format!("/chats/{chat}/files/{file_id}"), Some(token), None).await;
    assert_eq!(status, 201, "{posted}");
    posted["message"].clone()
}

/// downloadFile: the link, then the bytes and how they are served.
async fn download(t: &TestApp, chat: &str, token: &str, file_id: &str) -> (Vec<u8>, String, String) {
    let (status, body) = t.call("GET", &format!("/chats/{chat}/files/{file_id}"), Some(token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["download"]["method"], "GET");
    let response = reqwest::get(body["download"]["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let header =
        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (disposition, kind) = (header("content-disposition"), header("content-type"));
    (response.bytes().await.unwrap().to_vec(), disposition, kind)
}

/// A files setting that could not be read (`Config::from_env` keeps it as the files'
/// problem) leaves the file routes answering 503 and every other route working.
#[tokio::test]
async fn a_bad_files_setting_stops_only_the_file_routes() {
    let t = TestApp::with_files(|c| c.files.problem = Some("FILES_MAX_BYTES must be a whole number".into())).await;
    let (chat, customer, _) = accepted_chat(&t).await;
    let (status, refused) = announce(&t, &chat, &customer, "a.txt", b"hello", "text/plain").await;
    assert_eq!((status, refused["error"]["code"].clone()), (503, json!("files_not_configured")), "{refused}");
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&customer), None).await.0, 200);
}

#[tokio::test]
async fn send_file_and_download_file_both_ways() {
    let t = TestApp::with_files(|_| {}).await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let receipt = b"%PDF-1.4 a receipt".to_vec();
    let (status, announced) =
        announce(&t, &chat, &customer, "C:\\fakepath\\receipt.pdf", &receipt, "application/pdf").await;
    assert_eq!(status, 201, "{announced}");
    assert_eq!(announced["file"]["name"], "receipt.pdf", "the browser's path is cut off");
    // The size and type are signed into the upload: S3 refuses any other.
    let url = announced["upload"]["url"].as_str().unwrap();
    let signed = url.split("X-Amz-SignedHeaders=").nth(1).unwrap().split('&').next().unwrap();
    assert_eq!(signed, "content-length%3Bcontent-type%3Bhost", "{url}");
    assert_eq!(announced["upload"]["headers"]["content-type"], "application/pdf");
    assert!(announced["upload"]["expiresAt"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    assert_eq!(put(&announced["upload"], &receipt).await, 200);
    let file_id = announced["file"]["fileId"].as_str().unwrap().to_string();

    // Not downloadable, and not in the transcript, until it is posted.
    assert_eq!(t.call("GET", &format!("/chats/{chat}/files/{file_id}"), Some(&ann), None).await.0, 404);
    let (status, posted) = t.call("POST", &format!("/chats/{chat}/files/{file_id}"), Some(&customer), None).await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["message"]["type"], "File");
    assert_eq!(posted["message"]["text"], "receipt.pdf");
    assert_eq!(
        posted["message"]["file"],
        json!({"fileId": file_id, "name": "receipt.pdf", "size": receipt.len(), "type": "application/pdf"})
    );
    let (status, again) = t.call("POST", &format!("/chats/{chat}/files/{file_id}"), Some(&customer), None).await;
    assert_eq!(status, 409, "posted once: {again}");

    // The agent sees it in the transcript and downloads it as an attachment.
    let (_, list) = t.call("GET", &format!("/chats/{chat}/messages"), Some(&ann), None).await;
    let files: Vec<&Value> = list["messages"].as_array().unwrap().iter().filter(|m| m["type"] == "File").collect();
    assert_eq!(files.len(), 1);
    let (bytes, disposition, kind) = download(&t, &chat, &ann, &file_id).await;
    assert_eq!(bytes, receipt);
    assert_eq!(disposition, "attachment; filename=\"receipt.pdf\"; filename*=UTF-8''receipt.pdf");
    assert_eq!(kind, "application/pdf");

    // And back: the agent sends a file the customer downloads.
    let picture = vec![0x89, b'P', b'N', b'G', 1, 2, 3];
    let message = send_file(&t, &chat, &ann, "écran.png", &picture, "image/png").await;
    assert_eq!(message["chatterType"], "User");
    let back = message["file"]["fileId"].as_str().unwrap();
    let (bytes, disposition, _) = download(&t, &chat, &customer, back).await;
    assert_eq!(bytes, picture);
    assert!(disposition.ends_with("filename*=UTF-8''%C3%A9cran.png"), "{disposition}");
    assert_eq!(t.stored_files(&chat).await.len(), 2);

    // A link whose signature was tampered with opens nothing.
    let (_, link) = t.call("GET", &format!("/chats/{chat}/files/{back}"), Some(&customer), None).await;
    let url = link["download"]["url"].as_str().unwrap();
    let signature = url.split("X-Amz-Signature=").nth(1).unwrap();
    let tampered = url.replace(signature, &signature.chars().rev().collect::<String>());
    assert_eq!(reqwest::get(tampered).await.unwrap().status().as_u16(), 403);
}

#[tokio::test]
async fn send_file_rejections_are_the_seeds() {
    let t = TestApp::with_files(|c| {
        c.files.limits.max_per_chat = 3;
        c.files.limits.max_bytes = 1000;
    })
    .await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    let error = |body: &Value| body["error"]["message"].as_str().unwrap_or_default().to_string();

    // An invalid type, however it is declared or allowed; a size over the limit.
    for (name, kind) in [
        ("page.html", "text/html"),
        ("logo.svg", "image/svg+xml"),
        ("setup.exe", "image/png"),
        ("a.bin", "application/octet-stream"),
    ] {
        let (status, body) = announce(&t, &chat, &customer, name, b"x", kind).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(error(&body).starts_with("The file sent is an invalid type"), "{body}");
    }
    let (status, body) = announce(&t, &chat, &customer, "big.png", &[0; 1001], "image/png").await;
    assert_eq!(status, 413, "{body}");
    assert!(error(&body).starts_with("The file size exceeds the limit"), "{body}");

    // Posting before uploading; an upload that is not what was announced (the emulator
    // does not check signatures: S3 would have refused the PUT itself) is refused and deleted.
    let (_, first) = announce(&t, &chat, &customer, "a.png", b"12345", "image/png").await;
    let first_id = first["file"]["fileId"].as_str().unwrap();
    let post_first = format!("/chats/{chat}/files/{first_id}");
    let (status, body) = t.call("POST", &post_first, Some(&customer), None).await;
    assert_eq!(status, 409, "not uploaded yet: {body}");
    // Storage itself refuses another length or type than the signed ones ...
    assert_eq!(put(&first["upload"], b"123456789").await, 403, "a longer body");
    let mut retyped = first["upload"].clone();
    retyped["headers"]["content-type"] = json!("text/html");
    assert_eq!(put(&retyped, b"12345").await, 403, "another type");
    // ... and an object that is not what was announced anyway (written around the URL)
    // is refused at posting, and deleted.
    let bucket = t.app.config.files.bucket.clone().unwrap();
    let key = shared::keys::file_object_key(&chat, first_id);
    let body = aws_sdk_s3::primitives::ByteStream::from_static(b"123456789");
    t.app.s3.put_object().bucket(bucket).key(key).content_type("image/png").body(body).send().await.unwrap();
    let (status, body) = t.call("POST", &post_first, Some(&customer), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(t.stored_files(&chat).await.is_empty(), "the refused upload is deleted");

    // Only the uploader posts its file; another chat's customer cannot see or fetch it.
    let (_, second) = announce(&t, &chat, &customer, "b.png", b"abc", "image/png").await;
    assert_eq!(put(&second["upload"], b"abc").await, 200);
    let second_id = second["file"]["fileId"].as_str().unwrap();
    assert_eq!(t.call("POST", &format!("/chats/{chat}/files/{second_id}"), Some(&ann), None).await.0, 403);
    assert_eq!(t.call("POST", &format!("/chats/{chat}/files/{second_id}"), Some(&customer), None).await.0, 201);
    let (_, stranger) = t.start_chat("sales").await;
    assert_eq!(t.call("GET", &format!("/chats/{chat}/files/{second_id}"), Some(&stranger), None).await.0, 403);
    assert_eq!(t.call("GET", &format!("/chats/{chat}/files/nope"), Some(&ann), None).await.0, 404);

    // The number of uploads is exceeded: three were handed out in this chat.
    let (_, third) = announce(&t, &chat, &customer, "c.png", b"abc", "image/png").await;
    assert!(third["file"]["fileId"].is_string(), "{third}");
    let (status, body) = announce(&t, &chat, &ann, "d.png", b"abc", "image/png").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(error(&body), "The number of uploads is exceeded.");

    // Bad input changes nothing: a missing field is a 400.
    let (status, _) =
        t.call("POST", &format!("/chats/{chat}/files"), Some(&customer), Some(json!({"name": "x.png"}))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn files_go_with_their_chat() {
    let t = TestApp::with_files(|c| c.cleanup.closed_retention_secs = 60).await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    send_file(&t, &chat, &customer, "a.txt", b"hello", "text/plain").await;
    send_file(&t, &chat, &ann, "b.txt", b"hi there", "text/plain").await;
    let (other, other_customer) = t.start_chat("sales").await;
    let ann_other = t.agent_token("ann");
    assert_eq!(
        t.call("PATCH", &format!("/chats/{other}"), Some(&ann_other), Some(json!({"status": "active"}))).await.0,
        200
    );
    send_file(&t, &other, &other_customer, "c.txt", b"kept", "text/plain").await;
    assert_eq!(t.stored_files(&chat).await.len(), 2);

    // Closed, then past its retention: the cleanup removes the chat and its files.
    assert_eq!(t.call("POST", &format!("/chats/{chat}/leave"), Some(&customer), None).await.0, 200);
    t.app.clock.advance(std::time::Duration::from_secs(120));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let summary = shared::cleanup::run(&t.app, deadline).await.unwrap();
    assert!(summary.removed >= 1, "{summary:?}");
    assert!(t.stored_files(&chat).await.is_empty());
    assert_eq!(t.stored_files(&other).await.len(), 1, "another chat's files stay");
}

/// ChatDelete: the chat is marked deleted, and the event publisher purges it (its files
/// first) once its events are out.
#[tokio::test]
async fn chat_delete_removes_its_files() {
    let proxy = integration_tests::Proxy::start(&integration_tests::sns_endpoint()).await;
    let t = TestApp::with_events(&proxy).await;
    let (chat, customer, ann) = accepted_chat(&t).await;
    send_file(&t, &chat, &customer, "a.txt", b"hello", "text/plain").await;
    assert_eq!(t.stored_files(&chat).await.len(), 1);
    assert_eq!(t.call("DELETE", &format!("/chats/{chat}"), Some(&ann), None).await.0, 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while (t.partition_size(&chat).await > 0 || !t.stored_files(&chat).await.is_empty())
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(t.stored_files(&chat).await.is_empty(), "the files went with the chat");
    assert_eq!(t.partition_size(&chat).await, 0, "and so did its items");
}
