//! The table of operations: one declaration each, with its route, function, access rule,
//! handler, documentation and sample request. Adding an operation is an entry here, its
//! handler and planner, and their tests; `make generate` then writes its function package,
//! sample event, OpenAPI entry and template block, and the tests name the DynamoDB calls
//! that block must grant.

use super::{route, Access, Route};
use crate::api;
use crate::api::{chats, files, flags, messages, participants, presence, webhooks};
use crate::openapi::shapes::*;

// One declaration per operation; kept as written, because the samples' bodies are JSON text.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route("POST", "/chats", "chat-add", Access::Open, handler!(api::chats::add))
        .doc(
            "Start a chat (ChatAdd, startChat); customers get a chat token",
            &[],
            Some(of::<chats::AddChat>),
            201,
            Some(chat_added),
        )
        .sample("/chats", Some(r#"{"channelId": "sales", "nickname": "Vic", "email": "vic@example.com", "subject": "Pricing question", "userData": {"plan": "pro"}}"#)),
    route("GET", "/chats", "chat-list", Access::Agent, handler!(api::chats::list))
        .doc(
            "List chats (ChatList)",
            &[
                ("status", "enum:request|active|closed", "request, active or closed"),
                ("requesterType", "list:User|Customer|Public", "User, Customer, Public (comma list)"),
                ("targetType", "enum:User|Customer", "User or Customer"),
                ("channelIds", "ids", "comma list, at most 20"),
                ("outdated", "flag", "1: requests past the decay time"),
                ("chatterId", "id", "chats of this chatter (with chatterType)"),
                ("chatterType", "enum:User|Customer|Public", "User, Customer or Public (with chatterId)"),
                ("chatterActive", "enum:-1|0|1", "-1, 0 or 1 (with chatterId)"),
                ("invitationPending", "flag", "1: pending invitations of chatterId"),
                PAGE,
                CURSOR,
            ],
            None,
            200,
            Some(chat_list),
        )
        .sample("/chats?status=request&limit=20", None),
    route("GET", "/chats/{chatId}", "chat-get", Access::ChatRead, handler!(api::chats::get))
        .doc("Get a chat (ChatGet)", &[], None, 200, Some(chat))
        .sample("/chats/SAMPLE_CHAT_ID", None),
    route("PATCH", "/chats/{chatId}", "chat-update", Access::ChatManage, handler!(api::chats::update))
        .doc(
            "Change status or channel (ChatUpdate, ChatChannelUpdate)",
            &[],
            Some(of::<chats::UpdateChat>),
            200,
            Some(chat),
        )
        .sample("/chats/SAMPLE_CHAT_ID", Some(r#"{"status": "closed"}"#)),
    route("DELETE", "/chats/{chatId}", "chat-delete", Access::ChatManage, handler!(api::chats::delete))
        .doc("Delete a chat and everything in it (ChatDelete)", &[], None, 204, None)
        .sample("/chats/SAMPLE_CHAT_ID", None),
    route("POST", "/chats/{chatId}/participants", "participant-add", Access::ChatManage, handler!(api::participants::add))
        .doc(
            "Add a participant (ChatParticipantAdd)",
            &[],
            Some(of::<participants::AddParticipant>),
            201,
            Some(participant_added),
        )
        .sample("/chats/SAMPLE_CHAT_ID/participants", Some(r#"{"chatterId": "agent-2", "chatterType": "User", "chatterName": "Bob", "permissionLevel": "Participant", "chatterActive": 0, "invitation": true}"#)),
    route("GET", "/chats/{chatId}/participants", "participant-list", Access::ChatRead, handler!(api::participants::list))
        .doc("List participants (ChatParticipantList)", &[], None, 200, Some(participant_list))
        .sample("/chats/SAMPLE_CHAT_ID/participants", None),
    route("GET", "/chats/{chatId}/participants/{chatterType}/{chatterId}", "participant-get", Access::ChatRead, handler!(api::participants::get))
        .doc(
            "Check a participant (ChatParticipantCheck)",
            &[("active", "flag", "1: only an active chatter (without the seed's NoActive)")],
            None,
            200,
            Some(participant),
        )
        .sample("/chats/SAMPLE_CHAT_ID/participants/User/agent-1", None),
    route("PATCH", "/chats/{chatId}/participants/{chatterType}/{chatterId}", "participant-update", Access::ChatSelf, handler!(api::participants::update))
        .doc(
            "Confirm, decline, leave; permission and monitoring (ChatParticipantUpdate, AgentPermissionsUpdate)",
            &[],
            Some(of::<participants::UpdateBody>),
            200,
            Some(participant),
        )
        .sample("/chats/SAMPLE_CHAT_ID/participants/User/agent-1", Some(r#"{"monitoring": 2}"#)),
    route("DELETE", "/chats/{chatId}/participants/{chatterType}/{chatterId}", "participant-remove", Access::ChatManage, handler!(api::participants::remove))
        .doc("Remove one participant (ChatParticipantRemove)", &[], None, 204, None),
    route("DELETE", "/chats/{chatId}/participants", "participant-remove", Access::ChatManage, handler!(api::participants::remove)).named("participants-remove")
        .doc(
            "Remove participants of a type, or all but the requester (ChatParticipantRemove)",
            &[("chatterType", "enum:User|Customer|Public", "User, Customer or Public: every participant of this type")],
            None,
            204,
            None,
        )
        .sample("/chats/SAMPLE_CHAT_ID/participants", None),
    route("POST", "/chats/{chatId}/invitations", "invitation-add", Access::ChatContribute, handler!(api::participants::invite))
        .doc("Invite an agent (ChatInvite)", &[], Some(of::<participants::Invite>), 201, Some(participant))
        .sample("/chats/SAMPLE_CHAT_ID/invitations", Some(r#"{"inviteUserId": "agent-2", "inviteUserName": "Bob"}"#)),
    route("GET", "/users/{userId}/invitations", "invitation-list", Access::OwnUser, handler!(api::participants::invitations))
        .doc(
            "Pending invitations of the caller (ChatInvitesGet)",
            &[
                ("chatId", "id", "only this chat"),
                ("invitationChatId", "id", "only via this chat"),
                PAGE,
                CURSOR,
            ],
            None,
            200,
            Some(invitation_list),
        )
        .sample("/users/agent-1/invitations", None),
    route("DELETE", "/users/{userId}/invitations/{chatId}", "invitation-remove", Access::OwnUser, handler!(api::participants::remove_invitation))
        .doc("Remove an invitation (ChatInviteRemove)", &[], None, 204, None)
        .sample("/users/agent-1/invitations/SAMPLE_CHAT_ID", None),
    route("DELETE", "/users/{userId}/invitations", "invitation-remove", Access::OwnUser, handler!(api::participants::remove_invitation)).named("invitations-remove")
        .doc(
            "Remove one's pending invitations through a chat (ChatInviteRemove by InvitationChatID)",
            &[("invitationChatId", "!id", "the chat the invitations came through")],
            None,
            204,
            None,
        ),
    route("POST", "/chats/{chatId}/decline", "chat-decline", Access::AgentSelf, handler!(api::participants::decline))
        .doc("Decline an agent-to-agent chat (ChatDecline)", &[], Some(of::<participants::Decline>), 204, None)
        .sample("/chats/SAMPLE_CHAT_ID/decline", Some(r#"{"message": "Busy right now, sorry."}"#)),
    route("PUT", "/agents/{userId}/availability", "availability-set", Access::OwnUser, handler!(api::presence::set))
        .doc(
            "Set one's availability and channels",
            &[],
            Some(of::<presence::SetAvailability>),
            200,
            Some(presence_view),
        )
        .sample("/agents/agent-1/availability", Some(r#"{"availability": "online", "channels": ["sales"], "external": true}"#)),
    route("GET", "/agents/{userId}/availability", "availability-get", Access::Agent, handler!(api::presence::get))
        .doc(
            "An agent's availability (AgentAvailabilityGet)",
            &[("external", "flag", "1 (default): for external chats; 0: for internal ones")],
            None,
            200,
            Some(presence_view),
        )
        .sample("/agents/agent-1/availability", None),
    route("GET", "/agents/available", "agents-available", Access::Agent, handler!(api::presence::available))
        .doc(
            "Online agents and their channels (AvailableUsersGet)",
            &[("key", "!enum:ExternalChannels|InternalChannels", "ExternalChannels or InternalChannels")],
            None,
            200,
            Some(agents_available),
        )
        .sample("/agents/available?key=ExternalChannels", None),
    route("GET", "/users/online", "users-online", Access::Agent, handler!(api::presence::online_users))
        .doc(
            "Online users (OnlineUserList)",
            &[
                ("userType", "enum:User|Customer", "User or Customer (either, when only userId is given)"),
                ("userId", "id", "only this user; alone, an agent or a customer"),
                ("external", "flag", "1 (default): only agents who take external chats"),
            ],
            None,
            200,
            Some(users_online),
        )
        .sample("/users/online?userType=User", None),
    route("GET", "/customers/{customerId}/export", "customer-export", Access::Admin, handler!(api::customers::export))
        .doc(
            "Everything stored about a customer (admins): chats, transcripts with versions, flags, files, offline messages; in pages under Lambda's 6 MB",
            &[("cursor", "string", "where the page starts: the previous page's next")],
            None,
            200,
            Some(|_| {
                object(
                    &[
                        ("customerId", string()),
                        ("exportedAt", string()),
                        ("chats", array(any_object())),
                        ("offlineMessages", array(any_object())),
                        ("next", nullable("string")),
                    ],
                    &["customerId", "exportedAt", "chats", "offlineMessages", "next"],
                )
            }),
        )
        .sample("/customers/jdoe/export", None),
    route("DELETE", "/customers/{customerId}", "customer-erase", Access::Admin, handler!(api::customers::erase))
        .doc(
            "Erase a customer (admins): its words, names, form fields, userData, files and offline messages",
            &[],
            None,
            200,
            Some(|g| object(&[("erasure", of::<crate::domain::erasure::Erasure>(g))], &["erasure"])),
        )
        .sample("/customers/jdoe", None),
    route("GET", "/customers/{customerId}/availability", "customer-availability", Access::Agent, handler!(api::presence::customer))
        .doc("A customer's availability (CustomerAvailabilityGet)", &[], None, 200, Some(customer_availability))
        .sample("/customers/jdoe/availability", None),
    route("GET", "/channels/{channelId}/availability", "channel-availability", Access::Open, handler!(api::presence::channel))
        .doc("Whether an agent is online in a channel", &[], None, 200, Some(channel_availability))
        .sample("/channels/sales/availability", None),
    route("GET", "/channels/{channelId}/queue", "channel-queue", Access::Open, handler!(api::presence::queue))
        .doc("A channel's queue before a chat starts: the requests waiting and the wait to expect", &[], None, 200, Some(of::<crate::domain::queue::QueueOutlook>))
        .sample("/channels/sales/queue", None),
    route("POST", "/channels/{channelId}/offline-messages", "offline-message-add", Access::Open, handler!(api::offline::add))
        .doc(
            "Leave a message while nobody is online in a channel (open; counted per address)",
            &[],
            Some(of::<crate::domain::offline::LeaveMessage>),
            201,
            Some(|g| {
                object(&[("offlineMessage", of::<crate::domain::model::OfflineMessage>(g))], &["offlineMessage"])
            }),
        )
        .sample("/channels/sales/offline-messages", Some(r#"{"name": "Jo", "email": "jo@example.com", "text": "Please call me back about order A1."}"#)),
    route("GET", "/offline-messages", "offline-message-list", Access::Agent, handler!(api::offline::list))
        .doc(
            "A channel's offline messages, newest first",
            &[("channelId", "!id", "the channel"), PAGE, CURSOR],
            None,
            200,
            Some(|g| {
                object(
                    &[
                        ("offlineMessages", array(of::<crate::domain::model::OfflineMessage>(g))),
                        ("nextCursor", nullable("string")),
                    ],
                    &["offlineMessages", "nextCursor"],
                )
            }),
        )
        .sample("/offline-messages?channelId=sales&limit=20", None),
    route("POST", "/chats/{chatId}/messages", "message-add", Access::ChatPost, handler!(api::messages::add))
        .doc("Send a message (ChatMessageAdd, sendMessage)", &[], Some(of::<messages::AddMessage>), 201, Some(message))
        .sample("/chats/SAMPLE_CHAT_ID/messages", Some(r#"{"text": "Hello! How can I help?", "internal": false, "clientMessageId": "c-0001"}"#)),
    route("GET", "/chats/{chatId}/messages", "message-list", Access::ChatRead, handler!(api::messages::list))
        .doc(
            "Messages: poll (after), history (before), first or last (ChatMessageList)",
            &[
                ("after", "index", "only messages after this index (the poll)"),
                ("lastKnownChatMessageId", "string", "only messages after this message id (LastKnownChatMessageID)"),
                ("before", "index", "only messages before this index (history; with after, those between)"),
                ("first", "flag", "1: the first text message (after the known one, if given)"),
                ("last", "flag", "1: the last text message (after the known one, if given)"),
                ("excludeInternal", "flag", "1: no internal messages"),
                ("excludeCustomer", "flag", "1: no customer-only messages"),
                ("limit", "int:1..1000", "1 to 1000 (100 by default); a page ends sooner at 3 MB of messages, with nextCursor"),
                ("place", "flag", "1: a waiting customer's place in the queue and the wait (queuePosition)"),
            ],
            None,
            200,
            Some(message_list),
        )
        .sample("/chats/SAMPLE_CHAT_ID/messages?after=0&limit=100", None),
    route("GET", "/chats/{chatId}/messages/{messageId}", "message-get", Access::ChatRead, handler!(api::messages::get))
        .doc(
            "Get a message (ChatMessageGet)",
            &[("history", "flag", "1: with its earlier texts (`versions`; agents only)")],
            None,
            200,
            Some(message),
        )
        .sample("/chats/SAMPLE_CHAT_ID/messages/SAMPLE_CHAT_ID-1", None),
    route("PATCH", "/chats/{chatId}/messages/{messageId}", "message-update", Access::ChatRead, handler!(api::messages::edit))
        .doc(
            "Edit a message: its author, within MESSAGE_EDIT_SECONDS",
            &[],
            Some(of::<messages::EditMessage>),
            200,
            Some(message),
        )
        .sample("/chats/SAMPLE_CHAT_ID/messages/SAMPLE_CHAT_ID-2", Some(r#"{"text": "hello, corrected"}"#)),
    route("DELETE", "/chats/{chatId}/messages/{messageId}", "message-delete", Access::ChatRead, handler!(api::messages::delete))
        .doc("Withdraw a message, leaving a tombstone: its author in time, or the chat's Owner", &[], None, 204, None)
        .sample("/chats/SAMPLE_CHAT_ID/messages/SAMPLE_CHAT_ID-2", None),
    route("POST", "/chats/{chatId}/notices", "notice-add", Access::ChatPost, handler!(api::messages::notice))
        .doc("Send a custom notice (sendCustomNotice)", &[], Some(of::<messages::AddNotice>), 201, Some(message))
        .sample("/chats/SAMPLE_CHAT_ID/notices", Some(r#"{"message": "co-browse started"}"#)),
    route("POST", "/chats/{chatId}/typing", "typing-set", Access::ChatPost, handler!(api::messages::typing))
        .doc("Typing on or off (sendTyping)", &[], Some(of::<messages::SetTyping>), 204, None)
        .sample("/chats/SAMPLE_CHAT_ID/typing", Some(r#"{"typing": true}"#)),
    route("POST", "/chats/{chatId}/read", "read-mark", Access::ChatRead, handler!(api::messages::read))
        .doc(
            "Mark the transcript read up to a message (a read receipt; never moves backwards)",
            &[],
            Some(of::<messages::MarkRead>),
            200,
            Some(|_| object(&[("lastReadIndex", integer())], &["lastReadIndex"])),
        )
        .sample("/chats/SAMPLE_CHAT_ID/read", Some(r#"{"index": 1}"#)),
    route("GET", "/chats/{chatId}/transcript", "transcript-get", Access::ChatRead, handler!(api::messages::transcript))
        .doc(
            "The transcript in pages (getTranscript)",
            &[
                ("pageSize", "int:1..1000", "1 to 1000 (100 by default); a page ends sooner at 3 MB of messages"),
                ("cursor", "index", "nextCursor of the previous page"),
            ],
            None,
            200,
            Some(message_list),
        )
        .sample("/chats/SAMPLE_CHAT_ID/transcript?pageSize=50", None),
    route("POST", "/chats/{chatId}/leave", "chat-leave", Access::ChatSelf, handler!(api::widget::leave))
        .doc("Leave the chat (endChat)", &[], None, 200, Some(participant))
        .sample("/chats/SAMPLE_CHAT_ID/leave", None),
    route("PATCH", "/chats/{chatId}/user-data", "user-data-update", Access::ChatPost, handler!(api::widget::user_data))
        .doc("Merge userData (updateUserData)", &[], Some(user_data_patch), 200, Some(user_data))
        .sample("/chats/SAMPLE_CHAT_ID/user-data", Some(r#"{"orderId": "A-1001"}"#)),
    route("GET", "/chats/{chatId}/agents", "agents-get", Access::ChatRead, handler!(api::widget::get_agents))
        .doc("Agents of the chat (getAgents)", &[], None, 200, Some(agents))
        .sample("/chats/SAMPLE_CHAT_ID/agents", None),
    route("GET", "/chats/{chatId}/stats", "stats-get", Access::ChatRead, handler!(api::widget::stats))
        .doc("Chat statistics (getStats)", &[], None, 200, Some(stats))
        .sample("/chats/SAMPLE_CHAT_ID/stats", None),
    route("GET", "/session", "session-get", Access::ChatToken, handler!(api::widget::session))
        .doc("The widget's session (getSessionData, verifySession, restore)", &[], None, 200, Some(session))
        .sample("/session", None),
    route("POST", "/chats/{chatId}/files", "chat-files", Access::ChatPost, handler!(api::files::handle)).named("file-upload")
        .doc(
            "Announce a file: a presigned PUT of exactly its size and type (sendFile)",
            &[],
            Some(of::<files::NewUpload>),
            201,
            Some(file_upload),
        )
        .sample("/chats/SAMPLE_CHAT_ID/files", Some(r#"{"name": "receipt.pdf", "size": 48213, "type": "application/pdf"}"#)),
    route("POST", "/chats/{chatId}/files/{fileId}", "chat-files", Access::ChatPost, handler!(api::files::handle)).named("file-post")
        .doc("Post an uploaded file as a File message (sendFile)", &[], None, 201, Some(message)),
    route("GET", "/chats/{chatId}/files/{fileId}", "chat-files", Access::ChatRead, handler!(api::files::handle)).named("file-download")
        .doc("A presigned download of a posted file (downloadFile)", &[], None, 200, Some(file_download)),
    route("PUT", "/chats/{chatId}/flags/{key}", "flag-set", Access::ChatReadAgent, handler!(api::flags::set))
        .doc("Set one's flag (ChatFlagSet)", &[], Some(of::<flags::SetFlag>), 200, Some(flag))
        .sample("/chats/SAMPLE_CHAT_ID/flags/NotificationChatUpdateSeen", Some(r#"{"value": "1"}"#)),
    route("DELETE", "/chats/{chatId}/flags/{key}", "flag-delete", Access::ChatAgent, handler!(api::flags::delete))
        .doc(
            "Delete a flag (ChatFlagDelete)",
            &[
                ("userId", "id", "the caller (default)"),
                ("allUsers", "flag", "1: this key for every user of the chat"),
            ],
            None,
            204,
            None,
        )
        .sample("/chats/SAMPLE_CHAT_ID/flags/NotificationChatUpdateSeen?allUsers=1", None),
    route("DELETE", "/chats/{chatId}/flags", "flag-delete", Access::ChatAgent, handler!(api::flags::delete)).named("flags-delete")
        .doc(
            "Delete every flag of a chat, for all users (ChatFlagDelete with AllUsers and no Key)",
            &[("allUsers", "!enum:1", "1: every flag of the chat, of every user")],
            None,
            204,
            None,
        ),
    route("GET", "/flags", "flag-get", Access::Agent, handler!(api::flags::get))
        .doc(
            "Find flags (ChatFlagGet); at least one filter",
            &[
                ("chatId", "id", ""),
                ("userId", "id", ""),
                ("key", "id", ""),
                ("keyNot", "id", ""),
                ("value", "string", ""),
                ("valueNot", "string", ""),
            ],
            None,
            200,
            Some(flag_list),
        )
        .sample("/flags?key=NotificationChatUpdateSeen&valueNot=1", None),
    route("POST", "/webhooks", "webhook-add", Access::Admin, handler!(api::webhooks::add))
        .doc(
            "Add a webhook (direct: signed, retried; sns: an SNS subscription); a direct one's secret is shown once",
            &[],
            Some(of::<webhooks::AddWebhook>),
            201,
            Some(webhook_added),
        )
        .sample("/webhooks", Some(r#"{"url": "https://hooks.example.com/livechat", "format": "rpc", "events": ["CHAT_STARTED", "OPERATOR_STOPED_CHAT"]}"#)),
    route("GET", "/webhooks", "webhook-list", Access::Admin, handler!(api::webhooks::list))
        .doc("Webhooks and their status", &[], None, 200, Some(webhook_list))
        .sample("/webhooks", None),
    route("DELETE", "/webhooks/{webhookId}", "webhook-delete", Access::Admin, handler!(api::webhooks::delete))
        .doc("Remove a webhook", &[], None, 204, None)
        .sample("/webhooks/SAMPLE_WEBHOOK_ID", None),
    route("GET", "/webhooks/{webhookId}/deliveries", "webhook-deliveries", Access::Admin, handler!(api::webhooks::deliveries))
        .doc(
            "A direct webhook's last delivery attempts, newest first",
            &[("limit", "int:1..100", "1 to 100 (default 50)")],
            None,
            200,
            Some(webhook_deliveries),
        )
        .sample("/webhooks/SAMPLE_WEBHOOK_ID/deliveries?limit=10", None),
    route("POST", "/webhooks/{webhookId}/replay", "webhook-replay", Access::Admin, handler!(api::webhooks::replay))
        .doc(
            "Send a direct webhook the logged events of a time range again (enables a disabled one)",
            &[],
            Some(of::<webhooks::Replay>),
            200,
            Some(webhook_replayed),
        )
        .sample("/webhooks/SAMPLE_WEBHOOK_ID/replay", Some(r#"{"from": "SAMPLE_FROM", "to": "SAMPLE_TO"}"#)),
    route("POST", "/webhooks/{webhookId}/secret", "webhook-secret", Access::Admin, handler!(api::webhooks::rotate_secret))
        .doc(
            "Rotate a direct webhook's signing secret; the old one signs beside it for a day",
            &[],
            None,
            200,
            Some(webhook_secret),
        )
        .sample("/webhooks/SAMPLE_WEBHOOK_ID/secret", None),
];
