//! Participants, permissions, invitations, availability.

use integration_tests::TestApp;
use serde_json::{json, Value};

/// A chat with every kind of chatter in it: returns (chat id, tokens by role).
async fn populated_chat(t: &TestApp) -> (String, Vec<(&'static str, Option<String>)>) {
    let (chat_id, customer) = t.start_chat("sales").await;
    let (_, other_customer) = t.start_chat("sales").await;
    let path = format!("/chats/{chat_id}");
    let owner = t.agent_token("owner");
    assert_eq!(t.call("PATCH", &path, Some(&owner), Some(json!({"status": "active"}))).await.0, 200);
    for (id, level) in [("part", "Participant"), ("obs", "Observer"), ("gone", "Participant")] {
        let body = json!({"chatterId": id, "chatterType": "User", "chatterName": id, "permissionLevel": level, "chatterActive": 1});
        let (status, answer) = t.call("POST", &format!("{path}/participants"), Some(&owner), Some(body)).await;
        assert_eq!(status, 201, "{answer}");
    }
    let gone = t.agent_token("gone");
    let leave = Some(json!({"chatterActive": -1}));
    assert_eq!(t.call("PATCH", &format!("{path}/participants/User/gone"), Some(&gone), leave).await.0, 200);
    let roles = vec![
        ("none", None),
        ("other customer", Some(other_customer)),
        ("own customer", Some(customer)),
        ("stranger", Some(t.agent_token("stranger"))),
        ("observer", Some(t.agent_token("obs"))),
        ("participant", Some(t.agent_token("part"))),
        ("left", Some(gone)),
        ("owner", Some(owner)),
    ];
    (chat_id, roles)
}

/// An action of the matrix: name, method, path, body for a role, status for each role.
type Row = (&'static str, &'static str, String, Box<dyn Fn(&str) -> Option<Value>>, [u16; 8]);

#[tokio::test]
async fn permission_matrix_of_participant_and_chat_actions() {
    let t = TestApp::new().await;
    let (chat_id, roles) = populated_chat(&t).await;
    let p = format!("/chats/{chat_id}");
    // Expected status per role, in the order of `roles`:
    // none, other customer, own customer, stranger, observer, participant, left, owner.
    let matrix: Vec<Row> = vec![
        ("read chat", "GET", p.clone(), Box::new(|_| None), [401, 403, 200, 403, 200, 200, 403, 200]),
        (
            "list participants",
            "GET",
            format!("{p}/participants"),
            Box::new(|_| None),
            [401, 403, 200, 403, 200, 200, 403, 200],
        ),
        (
            "check participant",
            "GET",
            format!("{p}/participants/User/part"),
            Box::new(|_| None),
            [401, 403, 200, 403, 200, 200, 403, 200],
        ),
        (
            "add participant",
            "POST",
            format!("{p}/participants"),
            Box::new(|role| {
                Some(json!({"chatterId": format!("new-{role}"), "chatterType": "User", "permissionLevel": "Observer"}))
            }),
            [401, 403, 403, 403, 403, 403, 403, 201],
        ),
        (
            "invite",
            "POST",
            format!("{p}/invitations"),
            Box::new(|role| Some(json!({"inviteUserId": format!("invitee-{role}")}))),
            [401, 403, 403, 403, 403, 201, 403, 201],
        ),
        (
            "move channel",
            "PATCH",
            p.clone(),
            Box::new(|_| Some(json!({"channelId": "support"}))),
            [401, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "remove participant",
            "DELETE",
            format!("{p}/participants/User/new-owner"),
            Box::new(|_| None),
            [401, 403, 403, 403, 403, 403, 403, 204],
        ),
        (
            "change permission",
            "PATCH",
            format!("{p}/participants/User/part"),
            Box::new(|_| Some(json!({"permissionLevel": "Observer"}))),
            [401, 403, 403, 403, 403, 403, 403, 200],
        ),
        (
            "close chat",
            "PATCH",
            p.clone(),
            Box::new(|_| Some(json!({"status": "closed"}))),
            [401, 403, 403, 403, 403, 403, 403, 200],
        ),
    ];
    for (action, method, path, body, expected) in &matrix {
        for ((role, token), want) in roles.iter().zip(expected) {
            let (status, answer) = t.call(method, path, token.as_deref(), body(role)).await;
            assert_eq!(status, *want, "{action} as {role}: {answer}");
            if status >= 400 {
                assert!(answer["error"]["code"].is_string(), "{action} as {role}: error body {answer}");
            }
        }
    }
}

#[tokio::test]
async fn accepting_through_different_routes_still_has_one_winner() {
    let t = TestApp::new().await;
    for round in 0..4 {
        let (chat_id, _) = t.start_chat("sales").await;
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let (ta, tb) = (t.agent_token(&a), t.agent_token(&b));
        let add_self = json!({"chatterId": a, "chatterType": "User", "permissionLevel": "Owner", "chatterActive": 1});
        let (add_path, chat_path) = (format!("/chats/{chat_id}/participants"), format!("/chats/{chat_id}"));
        let (ra, rb) = tokio::join!(
            t.call("POST", &add_path, Some(&ta), Some(add_self)),
            t.call("PATCH", &chat_path, Some(&tb), Some(json!({"status": "active"}))),
        );
        let won = [ra.0 == 201, rb.0 == 200];
        assert!(won[0] != won[1], "exactly one wins: {ra:?} {rb:?}");
        assert!(ra.0 == 409 || rb.0 == 409, "the other gets 409: {ra:?} {rb:?}");
        let owner = if won[0] { &ta } else { &tb };
        let (_, list) = t.call("GET", &format!("/chats/{chat_id}/participants"), Some(owner), None).await;
        let owners: Vec<&Value> =
            list["participants"].as_array().unwrap().iter().filter(|p| p["permissionLevel"] == "Owner").collect();
        assert_eq!(owners.len(), 1, "{list}");
    }
}

#[tokio::test]
async fn an_invited_agent_confirms_declines_or_has_its_invitation_removed() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let bob = t.agent_token("bob");
    // An agent-to-agent chat: Ann asks Bob.
    let (status, body) = t.call("POST", "/chats", Some(&ann), Some(json!({"channelId": "internal"}))).await;
    assert_eq!(status, 201);
    assert_eq!(body["chat"]["agentToAgent"], true);
    let chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    let invite = json!({"inviteUserId": "bob", "inviteUserName": "Bob", "invitationChatId": "via-1"});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/invitations"), Some(&ann), Some(invite.clone())).await.0, 201);
    assert_eq!(t.call("POST", &format!("/chats/{chat}/invitations"), Some(&ann), Some(invite)).await.0, 409);

    // Bob sees his pending invitation, and only his.
    let (status, list) = t.call("GET", "/users/bob/invitations", Some(&bob), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["invitations"][0]["chatId"], chat.as_str());
    assert_eq!(list["invitations"][0]["invitationChatId"], "via-1");
    assert_eq!(t.call("GET", "/users/bob/invitations", Some(&ann), None).await.0, 403);
    let (_, by_chat) =
        t.call("GET", "/chats?chatterId=bob&chatterType=User&invitationPending=1", Some(&ann), None).await;
    assert_eq!(by_chat["chats"][0]["chatId"], chat.as_str());

    // Bob declines: the request is closed, with a system message.
    let decline = json!({"message": "Bob has declined the chat request."});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/decline"), Some(&bob), Some(decline.clone())).await.0, 204);
    let (_, got) = t.call("GET", &format!("/chats/{chat}"), Some(&ann), None).await;
    assert_eq!(got["chat"]["status"], "closed");
    assert_eq!(t.call("POST", &format!("/chats/{chat}/decline"), Some(&bob), Some(decline)).await.0, 403);
    let (_, list) = t.call("GET", "/users/bob/invitations", Some(&bob), None).await;
    assert_eq!(list["invitations"], json!([]));

    // Declining is for agent-to-agent chats only; removing an invitation works on any.
    let (chat2, _) = t.start_chat("sales").await;
    assert_eq!(t.call("PATCH", &format!("/chats/{chat2}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(
        t.call("POST", &format!("/chats/{chat2}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"})))
            .await
            .0,
        201
    );
    assert_eq!(t.call("POST", &format!("/chats/{chat2}/decline"), Some(&bob), None).await.0, 409);
    assert_eq!(t.call("DELETE", &format!("/users/bob/invitations/{chat2}"), Some(&bob), None).await.0, 204);
    assert_eq!(t.call("DELETE", &format!("/users/bob/invitations/{chat2}"), Some(&bob), None).await.0, 404);

    // Invited again, Bob confirms and becomes an active participant.
    assert_eq!(
        t.call("POST", &format!("/chats/{chat2}/invitations"), Some(&ann), Some(json!({"inviteUserId": "bob"})))
            .await
            .0,
        201
    );
    let (status, p) = t
        .call("PATCH", &format!("/chats/{chat2}/participants/User/bob"), Some(&bob), Some(json!({"chatterActive": 1})))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["participant"]["chatterActive"], 1);
    assert_eq!(p["participant"]["permissionLevel"], "Participant");
    let (_, got) = t.call("GET", &format!("/chats/{chat2}"), Some(&bob), None).await;
    assert_eq!(got["chat"]["contributorsCount"], 2);
}

#[tokio::test]
async fn the_last_customer_leaving_ends_the_chat() {
    let t = TestApp::new().await;
    let agent = t.agent_token("ann");
    let (status, body) = t
        .call(
            "POST",
            "/chats",
            None,
            Some(json!({"channelId": "sales", "requesterType": "Customer", "identityToken": t.identity_token("jdoe"), "nickname": "John"})),
        )
        .await;
    assert_eq!(status, 201);
    let chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    let customer = body["token"].as_str().unwrap().to_string();
    assert_eq!(
        t.call("PATCH", &format!("/chats/{chat}"), Some(&agent), Some(json!({"status": "active"}))).await.0,
        200
    );
    // In an open chat, with no widget connected live to it: away (push.rs has on-line).
    let (_, online) = t.call("GET", "/customers/jdoe/availability", Some(&agent), None).await;
    assert_eq!(online["availability"], 2);
    let (_, users) = t.call("GET", "/users/online?userType=Customer", Some(&agent), None).await;
    assert_eq!(users["users"][0]["userId"], "jdoe");

    // A customer acts only as itself.
    assert_eq!(
        t.call(
            "PATCH",
            &format!("/chats/{chat}/participants/User/ann"),
            Some(&customer),
            Some(json!({"chatterActive": -1}))
        )
        .await
        .0,
        403
    );
    let (status, _) = t
        .call(
            "PATCH",
            &format!("/chats/{chat}/participants/Customer/jdoe"),
            Some(&customer),
            Some(json!({"chatterActive": -1})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = t.call("GET", &format!("/chats/{chat}"), Some(&agent), None).await;
    assert_eq!(got["chat"]["status"], "closed");
    assert_eq!(got["chat"]["customerPresent"], false);
    // Having left, the customer can no longer act or read.
    assert_eq!(t.call("GET", &format!("/chats/{chat}"), Some(&customer), None).await.0, 403);
    let (_, online) = t.call("GET", "/customers/jdoe/availability", Some(&agent), None).await;
    assert_eq!(online["availability"], 0);
}

#[tokio::test]
async fn customers_see_masked_agent_names_when_configured() {
    let t = TestApp::with(|c| c.mask_agent_names = true).await;
    let (chat, customer) = t.start_chat("sales").await;
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let add = json!({"chatterId": "bob", "chatterType": "User", "chatterName": "Bob Real", "permissionLevel": "Participant", "chatterActive": 1});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/participants"), Some(&ann), Some(add)).await.0, 201);
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/participants"), Some(&customer), None).await;
    let names: Vec<&str> = seen["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["chatterType"] == "User")
        .map(|p| p["chatterName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Support Agent 1") && names.contains(&"Support Agent 2"), "{names:?}");
    assert!(!seen.to_string().contains("Bob Real"));
    let (_, seen) = t.call("GET", &format!("/chats/{chat}/participants"), Some(&ann), None).await;
    assert!(seen.to_string().contains("Bob Real"), "agents see real names");
}

#[tokio::test]
async fn availability_lapses_unless_refreshed() {
    let t = TestApp::with(|c| c.presence_ttl_secs = 4).await;
    let ann = t.agent_token("ann");
    let bob = t.agent_token("bob");
    let (status, me) = t
        .call(
            "PUT",
            "/agents/ann/availability",
            Some(&ann),
            Some(json!({"availability": "online", "channels": ["sales", "support"]})),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["code"], 3);
    assert_eq!(
        t.call("PUT", "/agents/ann/availability", Some(&bob), Some(json!({"availability": "online"}))).await.0,
        403
    );
    assert_eq!(
        t.call("PUT", "/agents/bob/availability", Some(&bob), Some(json!({"availability": "dancing"}))).await.0,
        400
    );
    assert_eq!(
        t.call(
            "PUT",
            "/agents/bob/availability",
            Some(&bob),
            Some(json!({"availability": "away", "channels": ["sales"]}))
        )
        .await
        .0,
        200
    );

    let (_, channel) = t.call("GET", "/channels/sales/availability", None, None).await;
    assert_eq!(
        (channel["online"].clone(), channel["agents"].clone()),
        (json!(true), json!(1)),
        "only online agents count"
    );
    let (_, avail) = t.call("GET", "/agents/available?key=ExternalChannels", Some(&bob), None).await;
    assert_eq!(avail, json!({"ann": ["sales", "support"]}));
    let (_, users) = t.call("GET", "/users/online?userType=User", Some(&bob), None).await;
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    let (_, got) = t.call("GET", "/agents/bob/availability", Some(&ann), None).await;
    assert_eq!((got["availability"].clone(), got["code"].clone()), (json!("away"), json!(2)));

    // Leaving a channel takes the agent out of it at once.
    assert_eq!(
        t.call(
            "PUT",
            "/agents/ann/availability",
            Some(&ann),
            Some(json!({"availability": "online", "channels": ["support"]}))
        )
        .await
        .0,
        200
    );
    let (_, channel) = t.call("GET", "/channels/sales/availability", None, None).await;
    assert_eq!(channel["online"], false);

    // Not refreshed, presence lapses by itself.
    let (_, refreshed) = t.call("GET", "/agents/ann/availability", Some(&bob), None).await;
    let expires_at = refreshed["expiresAt"].as_i64().unwrap();
    let left = expires_at + 1 - t.app.clock.epoch_secs();
    t.app.clock.advance(std::time::Duration::from_secs(left.max(0) as u64));
    let (_, got) = t.call("GET", "/agents/ann/availability", Some(&bob), None).await;
    assert_eq!((got["availability"].clone(), got["code"].clone()), (json!("offline"), json!(0)));
    let (_, channel) = t.call("GET", "/channels/support/availability", None, None).await;
    assert_eq!(channel["online"], false);
    let (_, avail) = t.call("GET", "/agents/available?key=InternalChannels", Some(&bob), None).await;
    assert_eq!(avail, json!({}));
    assert_eq!(t.call("GET", "/agents/available", Some(&bob), None).await.0, 400);
}
