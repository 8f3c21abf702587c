//! The authorization matrix, generated from the route table: every route, every kind of
//! caller, the expected answer from the route's declared access rule; and for reads, that
//! nothing outside the caller's view is in the body. And whom the functions trust over TLS.

use integration_tests::TestApp;
use serde_json::{json, Value};
use shared::routes::{Access, Route, ROUTES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Tampered,
    Expired,
    OtherCustomer,
    Customer,
    Stranger,
    Observer,
    Participant,
    Left,
    Owner,
    /// An agent with the admin role, in no chat.
    Admin,
    /// A known customer the Owner added (with the join token it got back), joined.
    Invited,
    /// A verified customer (identity token) in a chat of its own.
    Verified,
}

const EVERYONE: [Who; 13] = [
    Who::Nobody,
    Who::Tampered,
    Who::Expired,
    Who::OtherCustomer,
    Who::Customer,
    Who::Stranger,
    Who::Observer,
    Who::Participant,
    Who::Left,
    Who::Admin,
    Who::Verified,
    Who::Invited,
    // Last: its changes (a delete, a close) must not decide the others' answers.
    Who::Owner,
];

/// What the rule says: the caller is let through (any answer but 401/403 and 5xx), or
/// refused with one of these statuses.
#[derive(Debug, PartialEq)]
enum Expect {
    Through,
    Refused(&'static [u16]),
}

fn expect(access: Access, who: Who) -> Expect {
    use Expect::*;
    use Who::*;
    if matches!(who, Nobody | Tampered | Expired) {
        return if access == Access::Open && who == Nobody { Through } else { Refused(&[401]) };
    }
    let agent = matches!(who, Stranger | Observer | Participant | Left | Owner | Admin);
    let allowed = match access {
        Access::Open => true,
        Access::Agent | Access::OwnUser | Access::ChatAgent => agent,
        Access::Admin => who == Admin,
        Access::ChatToken => matches!(who, Customer | OtherCustomer | Invited | Verified),
        Access::ChatRead => matches!(who, Customer | Invited | Observer | Participant | Owner),
        Access::ChatReadAgent => matches!(who, Observer | Participant | Owner),
        Access::ChatPost => matches!(who, Customer | Invited | Participant | Owner),
        Access::ChatContribute => matches!(who, Participant | Owner),
        Access::ChatManage => who == Owner,
        // Acting on its own participation: a stranger has none (404).
        Access::ChatSelf => matches!(who, Customer | Invited | Observer | Participant | Owner),
        Access::AgentSelf => matches!(who, Observer | Participant | Owner),
    };
    match (allowed, access, who) {
        (true, ..) => Through,
        (false, Access::ChatSelf, Stranger | Admin) => Refused(&[403, 404]),
        _ => Refused(&[403]),
    }
}

struct Chat {
    id: String,
    other_id: String,
    tokens: Vec<(Who, Option<String>)>,
    customer_id: String,
}

async fn populated(t: &TestApp) -> Chat {
    let (status, body) = t.call("POST", "/chats", None, Some(json!({"channelId": "sales", "nickname": "Vic"}))).await;
    assert_eq!(status, 201);
    let id = body["chat"]["chatId"].as_str().unwrap().to_string();
    let customer = body["token"].as_str().unwrap().to_string();
    let customer_id = body["chat"]["requesterId"].as_str().unwrap().to_string();
    let (other_id, other) = t.start_chat("sales").await;
    let owner = t.agent_token("owner");
    let p = format!("/chats/{id}");
    assert_eq!(t.call("PATCH", &p, Some(&owner), Some(json!({"status": "active"}))).await.0, 200);
    for (who, level) in [("obs", "Observer"), ("part", "Participant"), ("gone", "Participant")] {
        let add = json!({"chatterId": who, "chatterType": "User", "chatterName": format!("Real {who}"), "permissionLevel": level, "chatterActive": 1});
        assert_eq!(t.call("POST", &format!("{p}/participants"), Some(&owner), Some(add)).await.0, 201);
    }
    // A known customer the Owner adds, who joins with the token it gets back; and a verified
    // customer with a chat of its own.
    let add = json!({"chatterId": "jdoe", "chatterType": "Customer", "chatterName": "John", "chatterActive": 1});
    let (status, added) = t.call("POST", &format!("{p}/participants"), Some(&owner), Some(add)).await;
    assert_eq!(status, 201, "{added}");
    let invited = added["token"].as_str().unwrap().to_string();
    let vera = json!({"channelId": "sales", "identityToken": t.identity_token("vera")});
    let (status, own_chat) = t.call("POST", "/chats", None, Some(vera)).await;
    assert_eq!((status, own_chat["chat"]["requesterType"].as_str()), (201, Some("Customer")));
    let verified = own_chat["token"].as_str().unwrap().to_string();
    let gone = t.agent_token("gone");
    assert_eq!(t.call("POST", &format!("{p}/leave"), Some(&gone), None).await.0, 200);
    assert_eq!(
        t.call(
            "POST",
            &format!("{p}/messages"),
            Some(&owner),
            Some(json!({"text": "the internal note", "internal": true}))
        )
        .await
        .0,
        201
    );
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&customer), Some(json!({"text": "hello"}))).await.0, 201);
    let now = chrono::Utc::now().timestamp();
    let expired = shared::auth::issue_agent_token(&t.app.config.auth, "owner", "Owner", &[], now - 7200, 60).unwrap();
    let mut tampered = owner.clone();
    let cut = tampered.len() - 3;
    tampered.replace_range(cut.., "AAA");
    let tokens = vec![
        (Who::Nobody, None),
        (Who::Tampered, Some(tampered)),
        (Who::Expired, Some(expired)),
        (Who::OtherCustomer, Some(other)),
        (Who::Customer, Some(customer)),
        (Who::Stranger, Some(t.agent_token("stranger"))),
        (Who::Observer, Some(t.agent_token("obs"))),
        (Who::Participant, Some(t.agent_token("part"))),
        (Who::Left, Some(gone)),
        (Who::Owner, Some(owner)),
        (Who::Admin, Some(t.admin_token("admin"))),
        (Who::Invited, Some(invited)),
        (Who::Verified, Some(verified)),
    ];
    Chat { id, other_id, tokens, customer_id }
}

/// The caller's own chatter, for routes about one's own participation or user.
fn own(who: Who, chat: &Chat) -> (&'static str, String) {
    match who {
        Who::Customer | Who::OtherCustomer | Who::Nobody | Who::Tampered | Who::Expired => {
            ("Public", chat.customer_id.clone())
        }
        Who::Stranger => ("User", "stranger".into()),
        Who::Observer => ("User", "obs".into()),
        Who::Participant => ("User", "part".into()),
        Who::Left => ("User", "gone".into()),
        Who::Owner => ("User", "owner".into()),
        Who::Admin => ("User", "admin".into()),
        Who::Invited => ("Customer", "jdoe".into()),
        Who::Verified => ("Customer", "vera".into()),
    }
}

fn request(route: &Route, who: Who, chat: &Chat) -> (String, Option<Value>) {
    let (own_type, own_id) = own(who, chat);
    let customer = matches!(who, Who::Customer | Who::OtherCustomer | Who::Invited | Who::Verified);
    let user = if customer { "owner".to_string() } else { own_id.clone() };
    let (chatter_type, chatter_id) = match route.access {
        Access::ChatSelf => (own_type.to_string(), own_id.clone()),
        _ => ("User".to_string(), "part".to_string()),
    };
    let path = route
        .path
        .replace("{chatId}", &chat.id)
        .replace("{chatterType}", &chatter_type)
        .replace("{chatterId}", &chatter_id)
        .replace("{messageId}", &format!("{}-1", chat.id))
        .replace("{userId}", &user)
        .replace("{webhookId}", "no-such-webhook")
        .replace("{key}", "Seen")
        .replace("{customerId}", "jdoe")
        .replace("{channelId}", "sales")
        .replace("{fileId}", "f1");
    let query = match route.function {
        "flag-get" => "?key=Seen",
        "agents-available" => "?key=ExternalChannels",
        "users-online" => "?userType=User",
        "offline-message-list" => "?channelId=sales",
        _ => "",
    };
    let body = match route.operation {
        "file-upload" => Some(json!({"name": "a.txt", "size": 3, "type": "text/plain"})),
        "chat-add" => Some(json!({"channelId": "sales"})),
        "chat-update" => Some(json!({"channelId": "support"})),
        "participant-add" => {
            Some(json!({"chatterId": format!("new-{who:?}"), "chatterType": "User", "permissionLevel": "Observer"}))
        }
        "participant-update" => Some(json!({"chatterActive": 1})),
        "invitation-add" => Some(json!({"inviteUserId": format!("inv-{who:?}")})),
        "availability-set" => Some(json!({"availability": "online", "channels": ["sales"]})),
        "message-add" => Some(json!({"text": "hi"})),
        "notice-add" => Some(json!({"message": "notice"})),
        "typing-set" => Some(json!({"typing": true})),
        "read-mark" => Some(json!({"index": 1})),
        "message-update" => Some(json!({"text": "edited"})),
        "offline-message-add" => Some(json!({"name": "Jo", "email": "jo@example.com", "text": "call me"})),
        "user-data-update" => Some(json!({"k": "v"})),
        "flag-set" => Some(json!({"value": "1"})),
        "webhook-add" => Some(json!({"url": "https://hooks.example.com/x", "format": "native", "events": ["ChatAdd"]})),
        _ => None,
    };
    (format!("{path}{query}"), body)
}

#[tokio::test]
async fn every_route_answers_every_caller_by_its_rule() {
    let t = TestApp::with_files(|c| c.mask_agent_names = true).await;
    let mut checked = 0;
    for route in ROUTES {
        // A fresh chat per route, so one route's effects do not decide another's answer.
        let chat = populated(&t).await;
        for who in EVERYONE {
            let token = chat.tokens.iter().find(|(w, _)| *w == who).and_then(|(_, t)| t.clone());
            let (path, body) = request(route, who, &chat);
            let (status, answer) = t.call(route.method, &path, token.as_deref(), body).await;
            let rule = expect(route.access, who);
            let label = format!("{} {} as {who:?} ({:?})", route.method, route.path, route.access);
            assert!(
                status < 500 || status == 501 || (status == 503 && route.function.starts_with("webhook")),
                "{label}: {status} {answer}"
            );
            match rule {
                Expect::Through => {
                    assert!(status != 401 && status != 403, "{label}: let through by its rule, got {status} {answer}")
                }
                Expect::Refused(statuses) => assert!(
                    statuses.contains(&status),
                    "{label}: refused {statuses:?} by its rule, got {status} {answer}"
                ),
            }
            if status >= 400 {
                assert!(answer["error"]["code"].is_string(), "{label}: JSON error body, got {answer}");
            }
            // What customers read: never internal messages, agents' real names or ids, other chats.
            if matches!(who, Who::Customer | Who::OtherCustomer) && status < 300 {
                let body = answer.to_string();
                for secret in ["the internal note", "Real obs", "Real part", "Agent owner", "\"owner\"", "\"part\""] {
                    assert!(!body.contains(secret), "{label}: {secret} leaked in {body}");
                }
                assert!(who != Who::Customer || !body.contains(&chat.other_id), "{label}: another chat's id in {body}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * EVERYONE.len());
}

/// The functions trust Amazon's roots only, or the bundle `AWS_CA_BUNDLE` names instead:
/// DynamoDB Local behind a TLS endpoint whose certificate comes from the test CA.
#[tokio::test]
async fn the_functions_trust_the_aws_roots_or_the_bundle_aws_ca_bundle_names() {
    let endpoint = integration_tests::tls::proxy(&integration_tests::dynamodb_endpoint()).await;
    let bundle = integration_tests::tls::ca_bundle().to_string_lossy().to_string();
    let list_tables = |with_bundle: bool| {
        let sdk = shared::app::sdk_config_from(|name| match name {
            "AWS_REGION" => Some("us-east-1".to_string()),
            "AWS_CA_BUNDLE" if with_bundle => Some(bundle.clone()),
            _ => None,
        });
        let credentials = aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "tests");
        let config = shared::app::dynamodb_config(&sdk, Some(endpoint.clone())).credentials_provider(credentials);
        async move { aws_sdk_dynamodb::Client::from_conf(config.build()).list_tables().send().await }
    };
    let trusted = list_tables(true).await;
    assert!(trusted.is_ok(), "through the bundle: {trusted:?}");
    let refused = list_tables(false).await;
    let error = format!("{:?}", refused.expect_err("the test CA is not an AWS root"));
    assert!(error.to_lowercase().contains("certificate"), "a certificate error: {error}");
}
