//! The OTRS chat backend (`../shared/seeds/000_*.txt`), call by call: each test is named
//! after the seed call it pins.

use integration_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn chat_delete_of_a_request_nobody_accepted_is_open_to_agents() {
    let t = TestApp::new().await;
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("DELETE", &p, Some(&customer), None).await.0, 403, "customers do not delete");
    assert_eq!(t.call("DELETE", &p, Some(&t.agent_token("bob")), None).await.0, 204);
    assert_eq!(t.call("GET", &p, Some(&t.agent_token("bob")), None).await.0, 404);
    // Once accepted, only its Owner deletes it.
    let (chat, _) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&t.agent_token("ann")), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("DELETE", &p, Some(&t.agent_token("bob")), None).await.0, 403);
    assert_eq!(t.call("DELETE", &p, Some(&t.agent_token("ann")), None).await.0, 204);
}

#[tokio::test]
async fn chat_update_active_to_request_returns_the_chat_to_the_queue() {
    let t = TestApp::new().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "request"}))).await.0, 403, "not the Owner");
    let (status, back) = t.call("PATCH", &p, Some(&ann), Some(json!({"status": "request"}))).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(
        (back["chat"]["status"].as_str(), back["chat"]["previousStatus"].as_str()),
        (Some("request"), Some("active"))
    );
    let (_, queue) = t.call("GET", "/chats?status=request", Some(&bob), None).await;
    assert!(queue["chats"].as_array().unwrap().iter().any(|c| c["chatId"] == chat.as_str()), "{queue}");
    // The customer is told, and keeps chatting; the next agent to accept owns the chat.
    let (_, seen) = t.call("GET", &format!("{p}/messages"), Some(&customer), None).await;
    let last = seen["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "requeued", "{last}");
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&customer), Some(json!({"text": "hello?"}))).await.0, 201);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "active"}))).await.0, 200);
    let (_, people) = t.call("GET", &format!("{p}/participants"), Some(&bob), None).await;
    let level = |id: &str| {
        people["participants"].as_array().unwrap().iter().find(|x| x["chatterId"] == id).unwrap()["permissionLevel"]
            .clone()
    };
    assert_eq!((level("bob"), level("ann")), (json!("Owner"), json!("Participant")));
    // Nothing leaves closed.
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "closed"}))).await.0, 200);
    assert_eq!(t.call("PATCH", &p, Some(&bob), Some(json!({"status": "request"}))).await.0, 409);
}

/// An active chat of `customer`'s, with `ann` as its Owner and two more agents.
async fn staffed_chat(t: &TestApp) -> (String, String) {
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    let ann = t.agent_token("ann");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    for id in ["bob", "cid"] {
        let body =
            json!({"chatterId": id, "chatterType": "User", "permissionLevel": "Participant", "chatterActive": 1});
        assert_eq!(t.call("POST", &format!("{p}/participants"), Some(&ann), Some(body)).await.0, 201);
    }
    (chat, customer)
}

async fn chatters(t: &TestApp, chat: &str) -> Vec<(String, String, i64)> {
    let (_, body) = t.call("GET", &format!("/chats/{chat}/participants"), Some(&t.agent_token("ann")), None).await;
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            (s("chatterType"), s("chatterId"), p["chatterActive"].as_i64().unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn chat_participant_remove_by_chatter_type_alone_and_all() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let (chat, _) = staffed_chat(&t).await;
    let p = format!("/chats/{chat}/participants");
    assert_eq!(t.call("DELETE", &format!("{p}?chatterType=Nobody"), Some(&ann), None).await.0, 400);
    // ChatterType alone: every participant of that type goes but the requester (here a
    // visitor) and the Owner, who must still be able to close, move or hand back the chat.
    assert_eq!(t.call("DELETE", &format!("{p}?chatterType=Public"), Some(&ann), None).await.0, 204);
    assert_eq!(chatters(&t, &chat).await.len(), 4, "the requester stays");
    assert_eq!(t.call("DELETE", &format!("{p}?chatterType=User"), Some(&ann), None).await.0, 204);
    let ids: Vec<String> = chatters(&t, &chat).await.into_iter().map(|c| c.1).collect();
    assert_eq!(ids.len(), 2, "the requester and the Owner: {ids:?}");
    assert!(ids.contains(&"ann".to_string()));
    assert_eq!(t.call("DELETE", &format!("{p}/User/ann"), Some(&ann), None).await.0, 409, "not the Owner itself");
    // All: a second chat; its Owner can still close it.
    let (chat, customer) = staffed_chat(&t).await;
    assert_eq!(t.call("DELETE", &format!("/chats/{chat}/participants"), Some(&ann), None).await.0, 204);
    let (_, left) = t.call("GET", &format!("/chats/{chat}/participants"), Some(&customer), None).await;
    assert_eq!(left["participants"].as_array().unwrap().len(), 2, "the customer and the Owner: {left}");
    let close = json!({"status": "closed"});
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(close)).await.0, 200, "not stranded");
}

#[tokio::test]
async fn chat_participant_check_with_its_active_only_form() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let (chat, _) = staffed_chat(&t).await;
    let p = format!("/chats/{chat}/participants/User/bob");
    // AgentPermissionsUpdate: the Owner sets another agent inactive.
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"chatterActive": 0}))).await.0, 200);
    let (status, found) = t.call("GET", &p, Some(&ann), None).await;
    assert_eq!((status, found["participant"]["chatterActive"].as_i64()), (200, Some(0)), "NoActive: any state");
    assert_eq!(t.call("GET", &format!("{p}?active=1"), Some(&ann), None).await.0, 404, "active only");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"chatterActive": 1}))).await.0, 200);
    assert_eq!(t.call("GET", &format!("{p}?active=1"), Some(&ann), None).await.0, 200);
    // Leaving stays the agent's own.
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"chatterActive": -1}))).await.0, 403);
    assert!(chatters(&t, &chat).await.contains(&("User".into(), "bob".into(), 1)));
}

#[tokio::test]
async fn online_user_list_counts_known_customers_not_public_visitors() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let (visitor_chat, _) = t.start_chat("sales").await;
    assert_eq!(
        t.call("PATCH", &format!("/chats/{visitor_chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0,
        200
    );
    let known = json!({"channelId": "sales", "requesterType": "Customer", "identityToken": t.identity_token("jdoe")});
    let (_, body) = t.call("POST", "/chats", None, Some(known)).await;
    let chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let (_, users) = t.call("GET", "/users/online?userType=Customer", Some(&ann), None).await;
    let ids: Vec<&str> = users["users"].as_array().unwrap().iter().filter_map(|u| u["userId"].as_str()).collect();
    assert_eq!(ids, ["jdoe"], "{users}");
    // The seed's `UserID` form alone: is this user on-line, agent or customer.
    let (status, one) = t.call("GET", "/users/online?userId=jdoe", Some(&ann), None).await;
    assert_eq!((status, one["users"][0]["userType"].as_str()), (200, Some("Customer")), "{one}");
    let (status, nobody) = t.call("GET", "/users/online?userId=nobody", Some(&ann), None).await;
    assert_eq!((status, nobody["users"].as_array().map(Vec::len)), (200, Some(0)));
    assert_eq!(t.call("GET", "/users/online", Some(&ann), None).await.0, 400);
}

#[tokio::test]
async fn chat_message_list_last_known_chat_message_id_with_first_and_last_message() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let mut ids = vec![];
    for text in ["one", "two", "three"] {
        let (_, posted) = t.call("POST", &format!("{p}/messages"), Some(&customer), Some(json!({"text": text}))).await;
        ids.push(posted["message"]["messageId"].as_str().unwrap().to_string());
    }
    let texts = |body: &serde_json::Value| -> Vec<String> {
        body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
    };
    let (status, newer) =
        t.call("GET", &format!("{p}/messages?lastKnownChatMessageId={}", ids[0]), Some(&ann), None).await;
    assert_eq!((status, texts(&newer)), (200, vec!["two".to_string(), "three".to_string()]));
    let (_, first) =
        t.call("GET", &format!("{p}/messages?lastKnownChatMessageId={}&first=1", ids[0]), Some(&ann), None).await;
    assert_eq!(texts(&first), ["two"]);
    let (_, last) = t.call("GET", &format!("{p}/messages?last=1"), Some(&ann), None).await;
    assert_eq!(texts(&last), ["three"]);
    let (_, none) =
        t.call("GET", &format!("{p}/messages?lastKnownChatMessageId={}&first=1", ids[2]), Some(&ann), None).await;
    assert!(texts(&none).is_empty());
    let (_, other) = t.start_chat("sales").await;
    let foreign = format!("{p}/messages?lastKnownChatMessageId={other}-1");
    assert_eq!(t.call("GET", &foreign, Some(&ann), None).await.0, 400, "another chat's message id");
}

#[tokio::test]
async fn chat_list_filters_before_paging_and_refuses_chatter_filters_without_a_chatter() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let mut customers = vec![];
    for i in 0..6 {
        if i % 3 == 0 {
            let known = json!({"channelId": "sales", "identityToken": t.identity_token(&format!("c{i}"))});
            let (_, body) = t.call("POST", "/chats", None, Some(known)).await;
            customers.push(body["chat"]["chatId"].as_str().unwrap().to_string());
        } else {
            t.start_chat("sales").await;
        }
    }
    // Two of six chats match: pages of one are full until the last.
    let mut seen = vec![];
    let mut cursor = String::new();
    for _ in 0..10 {
        let (status, page) = t
            .call("GET", &format!("/chats?channelIds=sales&requesterType=Customer&limit=1{cursor}"), Some(&ann), None)
            .await;
        assert_eq!(status, 200, "{page}");
        let chats = page["chats"].as_array().unwrap();
        seen.extend(chats.iter().map(|c| c["chatId"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(chats.len(), 1, "a page before the last is full: {page}");
                cursor = format!("&cursor={next}");
            }
            None => break,
        }
    }
    seen.sort();
    customers.sort();
    assert_eq!(seen, customers);
    for filter in ["chatterType=User", "chatterActive=1", "invitationPending=1"] {
        assert_eq!(t.call("GET", &format!("/chats?{filter}"), Some(&ann), None).await.0, 400, "{filter}");
    }
}

/// ChatList's `Order`: the queue has no priorities, so its order is the order of arrival,
/// which `GET /chats?status=request` lists by and every row carries as `createTime`.
#[tokio::test]
async fn chat_list_order_is_the_queues_order_of_arrival() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let mut arrived = vec![];
    for _ in 0..3 {
        arrived.push(t.start_chat("sales").await.0);
        t.app.clock.advance(std::time::Duration::from_secs(1));
    }
    let (status, page) = t.call("GET", "/chats?status=request", Some(&ann), None).await;
    assert_eq!(status, 200, "{page}");
    let rows = page["chats"].as_array().unwrap();
    let listed: Vec<&str> = rows.iter().map(|c| c["chatId"].as_str().unwrap()).collect();
    assert_eq!(listed, arrived);
    let times: Vec<&str> = rows.iter().map(|c| c["createTime"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
}

#[tokio::test]
async fn customer_id_get_chat_permission_level_get_and_chat_participant_number_get_as_fields() {
    let t = TestApp::new().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let known = json!({"channelId": "sales", "requesterType": "Customer", "identityToken": t.identity_token("jdoe")});
    let (_, body) = t.call("POST", "/chats", None, Some(known)).await;
    let chat = body["chat"]["chatId"].as_str().unwrap().to_string();
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let add = json!({"chatterId": "bob", "chatterType": "User", "permissionLevel": "Observer", "chatterActive": 1});
    assert_eq!(t.call("POST", &format!("{p}/participants"), Some(&ann), Some(add)).await.0, 201);
    let (_, as_ann) = t.call("GET", &p, Some(&ann), None).await;
    assert_eq!(
        (as_ann["chat"]["customerId"].as_str(), as_ann["chat"]["permissionLevel"].as_str()),
        (Some("jdoe"), Some("Owner"))
    );
    let (_, as_bob) = t.call("GET", &p, Some(&bob), None).await;
    assert_eq!(as_bob["chat"]["permissionLevel"], "Observer");
    let (_, bob_p) = t.call("GET", &format!("{p}/participants/User/bob"), Some(&ann), None).await;
    assert_eq!(bob_p["participant"]["agentNumber"], 2, "ChatParticipantNumberGet");
    let (visitor_chat, _) = t.start_chat("sales").await;
    let (_, visitor) = t.call("GET", &format!("/chats/{visitor_chat}"), Some(&ann), None).await;
    assert!(visitor["chat"].get("customerId").is_none(), "a Public visitor is no customer: {visitor}");
}

#[tokio::test]
async fn chat_participant_add_of_an_observer_is_a_silent_monitor_the_customer_never_sees() {
    let t = TestApp::new().await;
    let ann = t.agent_token("ann");
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let add = json!({"chatterId": "sue", "chatterType": "User", "chatterName": "Supervisor Sue", "permissionLevel": "Observer", "chatterActive": 1, "monitoring": 2});
    assert_eq!(t.call("POST", &format!("{p}/participants"), Some(&ann), Some(add)).await.0, 201);
    let (_, people) = t.call("GET", &format!("{p}/participants"), Some(&customer), None).await;
    let (_, agents) = t.call("GET", &format!("{p}/agents"), Some(&customer), None).await;
    let (_, messages) = t.call("GET", &format!("{p}/messages"), Some(&customer), None).await;
    for body in [&people, &agents, &messages] {
        assert!(!body.to_string().contains("Sue"), "{body}");
    }
    assert_eq!(t.call("GET", &format!("{p}/participants/User/sue"), Some(&customer), None).await.0, 404);
    let (_, seen_by_agent) = t.call("GET", &format!("{p}/participants"), Some(&ann), None).await;
    assert!(seen_by_agent.to_string().contains("Supervisor Sue"), "agents see the monitor");
}

#[tokio::test]
async fn chat_flag_delete_with_all_users_and_no_key() {
    let t = TestApp::new().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let (chat, customer) = t.start_chat("sales").await;
    for (who, key) in [(&ann, "Seen"), (&ann, "Starred"), (&bob, "Seen")] {
        let put = t.call("PUT", &format!("/chats/{chat}/flags/{key}"), Some(who), Some(json!({"value": "1"}))).await;
        assert_eq!(put.0, 200);
    }
    let flags = format!("/chats/{chat}/flags");
    assert_eq!(t.call("DELETE", &flags, Some(&ann), None).await.0, 400, "no key needs allUsers");
    assert_eq!(t.call("DELETE", &format!("{flags}?allUsers=1"), Some(&customer), None).await.0, 403);
    assert_eq!(t.call("DELETE", &format!("{flags}?allUsers=1"), Some(&bob), None).await.0, 204);
    let (_, left) = t.call("GET", &format!("/flags?chatId={chat}"), Some(&ann), None).await;
    assert_eq!(left["flags"], json!([]), "{left}");
}

#[tokio::test]
async fn chat_invite_remove_by_invitation_chat_id() {
    let t = TestApp::new().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let (chat, _) = t.start_chat("sales").await;
    assert_eq!(t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let invite = json!({"inviteUserId": "bob", "invitationChatId": "side-talk"});
    assert_eq!(t.call("POST", &format!("/chats/{chat}/invitations"), Some(&ann), Some(invite)).await.0, 201);
    let (_, pending) = t.call("GET", "/users/bob/invitations?invitationChatId=side-talk", Some(&bob), None).await;
    assert_eq!(pending["invitations"][0]["chatId"], chat.as_str());
    let by_via = "/users/bob/invitations?invitationChatId=side-talk";
    assert_eq!(t.call("DELETE", by_via, Some(&ann), None).await.0, 403, "one's own invitations only");
    assert_eq!(t.call("DELETE", "/users/bob/invitations?invitationChatId=elsewhere", Some(&bob), None).await.0, 404);
    assert_eq!(t.call("DELETE", by_via, Some(&bob), None).await.0, 204);
    let (_, after) = t.call("GET", "/users/bob/invitations", Some(&bob), None).await;
    assert_eq!(after["invitations"], json!([]), "{after}");
    assert_eq!(t.call("DELETE", by_via, Some(&bob), None).await.0, 404, "nothing left to remove");
}

#[tokio::test]
async fn agent_availability_get_and_online_user_list_with_external() {
    let t = TestApp::new().await;
    let (ann, ian) = (t.agent_token("ann"), t.agent_token("ian"));
    let online = |external: bool| json!({"availability": "online", "channels": ["sales"], "external": external});
    assert_eq!(t.call("PUT", "/agents/ann/availability", Some(&ann), Some(online(true))).await.0, 200);
    assert_eq!(t.call("PUT", "/agents/ian/availability", Some(&ian), Some(online(false))).await.0, 200);
    let code = |body: &serde_json::Value| body["code"].as_u64();
    let (_, external) = t.call("GET", "/agents/ian/availability", Some(&ann), None).await;
    let (_, internal) = t.call("GET", "/agents/ian/availability?external=0", Some(&ann), None).await;
    assert_eq!((code(&external), code(&internal)), (Some(1), Some(3)), "internal-only: unavailable for customers");
    let ids = |body: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> =
            body["users"].as_array().unwrap().iter().map(|u| u["userId"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    let (_, default) = t.call("GET", "/users/online?userType=User", Some(&ann), None).await;
    let (_, all) = t.call("GET", "/users/online?userType=User&external=0", Some(&ann), None).await;
    assert_eq!((ids(&default), ids(&all)), (vec!["ann".to_string()], vec!["ann".to_string(), "ian".to_string()]));
}

#[tokio::test]
async fn chat_invites_get_filters_before_paging() {
    let t = TestApp::new().await;
    let (ann, bob) = (t.agent_token("ann"), t.agent_token("bob"));
    let mut wanted = String::new();
    for via in ["a", "b", "c"] {
        let (chat, _) = t.start_chat("sales").await;
        assert_eq!(
            t.call("PATCH", &format!("/chats/{chat}"), Some(&ann), Some(json!({"status": "active"}))).await.0,
            200
        );
        let invite = json!({"inviteUserId": "bob", "invitationChatId": via});
        assert_eq!(t.call("POST", &format!("/chats/{chat}/invitations"), Some(&ann), Some(invite)).await.0, 201);
        if via == "c" {
            wanted = chat;
        }
    }
    let (_, page) = t.call("GET", "/users/bob/invitations?invitationChatId=c&limit=1", Some(&bob), None).await;
    assert_eq!(page["invitations"][0]["chatId"], wanted.as_str(), "the match, though two others come first: {page}");
    // ChatList by chatter carries the seed's Invitation column.
    let (_, listed) = t.call("GET", "/chats?chatterId=bob&chatterType=User", Some(&bob), None).await;
    let rows = listed["chats"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(rows.iter().all(|c| c["invitation"] == true), "{listed}");
    let (_, queue) = t.call("GET", "/chats?status=active", Some(&ann), None).await;
    // Every row has it, as the seed's rows do: false where no chatter was asked about.
    assert!(queue["chats"].as_array().unwrap().iter().all(|c| c["invitation"] == false), "{queue}");
}

#[tokio::test]
async fn chat_message_add_system_generated_is_an_integrators_and_shows_as_the_services() {
    // With agents masked: the service's message is no agent's, and keeps its text.
    let t = TestApp::with(|c| c.mask_agent_names = true).await;
    let (ann, bot) = (t.agent_token("ann"), t.role_token("shop-bot", "integrator"));
    let (chat, customer) = t.start_chat("sales").await;
    let p = format!("/chats/{chat}");
    assert_eq!(t.call("PATCH", &p, Some(&ann), Some(json!({"status": "active"}))).await.0, 200);
    let shipped = json!({"text": "Your order has shipped", "systemGenerated": true});
    // The chat's own agent has no such role.
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&ann), Some(shipped.clone())).await.0, 403);
    assert_eq!(t.call("POST", &format!("{p}/messages"), Some(&customer), Some(shipped.clone())).await.0, 403);
    // The bot is no participant, and posts as the service.
    let (status, posted) = t.call("POST", &format!("{p}/messages"), Some(&bot), Some(shipped)).await;
    assert_eq!(status, 201, "{posted}");
    let (_, seen) = t.call("GET", &format!("{p}/messages"), Some(&customer), None).await;
    let last = seen["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["text"], "Your order has shipped");
    assert_eq!(last["type"], "System", "{last}");
    assert_eq!(last["systemGenerated"], true);
    assert_eq!((last["chatterType"].as_str(), last["chatterName"].as_str()), (Some("System"), Some("System")));
}
