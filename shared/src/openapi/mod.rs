//! The OpenAPI 3.1 document of the HTTP API, generated from the route table (paths,
//! methods, access rules) and the request and response types themselves (JSON Schema by
//! schemars). docs/openapi.json is this document; a test keeps the two equal.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use crate::routes::{Access, ROUTES};

pub(crate) mod shapes;
use shapes::*;

fn security(access: Access) -> Value {
    match access {
        Access::Open => json!([{}, { "agentToken": [] }, { "chatToken": [] }]),
        Access::Agent
        | Access::OwnUser
        | Access::ChatAgent
        | Access::ChatReadAgent
        | Access::Admin
        | Access::ChatManage
        | Access::ChatContribute
        | Access::AgentSelf => {
            json!([{ "agentToken": [] }])
        }
        Access::ChatToken => json!([{ "chatToken": [] }]),
        Access::ChatRead | Access::ChatPost | Access::ChatSelf => json!([{ "agentToken": [] }, { "chatToken": [] }]),
    }
}

/// Statuses every route may answer with the error body.
const ERRORS: &[(u16, &str)] = &[
    (400, "Bad input: malformed JSON, a missing or invalid field, a bad query parameter"),
    (401, "No token, or an invalid or expired one"),
    (403, "The token does not cover this object"),
    (404, "No such object"),
    (409, "The object's state does not allow this"),
    (413, "The body (or userData) is too large"),
    (429, "Too many requests (a customer's messages, chat starts from one address); retry after Retry-After seconds"),
    (500, "Internal error (no internals are disclosed)"),
    (503, "DynamoDB or SNS briefly unavailable; retry after Retry-After seconds"),
];

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let settings = |s: SchemaSettings| {
        s.with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
    };
    let mut responses_gen = settings(SchemaSettings::draft2020_12()).for_serialize().into_generator();
    let mut requests_gen = settings(SchemaSettings::draft2020_12()).for_deserialize().into_generator();
    let error =
        object(&[("error", object(&[("code", string()), ("message", string())], &["code", "message"]))], &["error"]);

    let mut paths = Map::new();
    for route in ROUTES {
        let d = &route.doc;
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                param("path", name, if name == "chatterType" { "!enum:User|Customer|Public" } else { "!id" }, "")
            })
            .collect();
        parameters.extend(d.query.iter().map(|(name, spec, description)| param("query", name, spec, description)));
        let mut responses = Map::new();
        let ok = match d.response {
            Some(make) => {
                json!({ "description": "OK", "content": { "application/json": { "schema": make(&mut responses_gen) } } })
            }
            None if d.status >= 400 => {
                json!({ "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
            }
            None => json!({ "description": "Done" }),
        };
        responses.insert(d.status.to_string(), ok);
        for (status, description) in ERRORS {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
            });
        }
        let mut operation = json!({
            "operationId": route.operation,
            "summary": d.summary,
            "tags": [route.function.split('-').next().unwrap_or("chat")],
            "security": security(route.access),
            // Who, among the holders of those tokens, may call (shared::routes::Access):
            // for generators and for `make fuzz`, which picks a caller the route lets through.
            "x-access": format!("{:?}", route.access),
            "parameters": parameters,
            "responses": responses,
        });
        if let (Some(make), Some(op)) = (d.body, operation.as_object_mut()) {
            let body =
                json!({ "required": true, "content": { "application/json": { "schema": make(&mut requests_gen) } } });
            op.insert("requestBody".into(), body);
        }
        if let Some(entry) = paths.entry(route.path.to_string()).or_insert_with(|| json!({})).as_object_mut() {
            entry.insert(route.method.to_lowercase(), operation);
        }
    }
    let mut schemas = requests_gen.take_definitions(true);
    schemas.extend(responses_gen.take_definitions(true));
    schemas.insert("Error".into(), error.to_value());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "livechat",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Serverless live chat: widgets and agents over HTTP, one Lambda function per operation, one DynamoDB table, events through SNS.",
        },
        "servers": [{ "url": "http://127.0.0.1:3000", "description": "make run" }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "agentToken": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An agent's token from the organisation's issuer (locally: POST /dev/tokens)" },
                "chatToken": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The chat token POST /chats returned to a customer or visitor" },
            },
        },
    })
}

/// Routes the table gives no summary (must be none).
pub fn undocumented() -> Vec<&'static str> {
    ROUTES.iter().filter(|r| r.doc.summary.is_empty()).map(|r| r.operation).collect()
}
