//! The request and response that every handler sees, whoever hosts it (Lambda or the
//! local server), and the JSON parsing rules shared by all routes.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::caller::Identity;
use crate::error::ApiError;

/// Largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Path parameters by name, as in template.yaml's route (`chatId`, ...).
    pub params: HashMap<String, String>,
    pub query: HashMap<String, String>,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// The client's address (API Gateway's `sourceIp`; the peer, locally), for rate limits.
    pub source_ip: Option<String>,
    /// The API's base URL as the client reached it (API Gateway's domain name, and its
    /// stage unless `$default`); None locally.
    pub api_url: Option<String>,
    /// Who called, as the route's access rule admitted it (see `routes::admit`); set
    /// before the handler runs. None only on an open route called without a token.
    pub caller: Option<Identity>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Request { method: method.to_string(), path: path.to_string(), ..Default::default() }
    }

    /// The admitted caller, on routes that need a token.
    pub fn caller(&self) -> Result<Identity, ApiError> {
        self.caller.clone().ok_or_else(|| ApiError::unauthorized("missing bearer token"))
    }

    /// The client's reference for this request (Genesys' `referenceId`), from an
    /// `X-Reference-Id` header.
    pub fn reference(&self) -> Result<Option<&str>, ApiError> {
        let reference = self.header("x-reference-id");
        if let Some(r) = reference {
            crate::domain::validate::id("X-Reference-Id", r)?;
        }
        Ok(reference)
    }

    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("missing path parameter {name}")))
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A `1`/`true` query flag.
    pub fn query_flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.query(name) {
            None | Some("0") | Some("false") => Ok(false),
            Some("1") | Some("true") => Ok(true),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be 1 or 0"))),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// Parses the body as JSON into `T`; any failure is a 400 (or 413) that says why.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::too_large(format!("request body is larger than {MAX_BODY_BYTES} bytes")));
        }
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &self.body };
        serde_json::from_slice(body).map_err(|e| {
            let message = match e.classify() {
                serde_json::error::Category::Data => format!("invalid request body: {e}"),
                _ => format!("malformed JSON: {e}"),
            };
            ApiError::bad_request(message)
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        // Serialising our own types cannot fail; fall back to a bare 500 rather than panic.
        match serde_json::to_vec(value) {
            Ok(body) => Response { status, headers: vec![("content-type", "application/json".into())], body },
            Err(_) => Response { status: 500, headers: vec![], body: Vec::new() },
        }
    }

    pub fn ok<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::json(200, value)
    }

    pub fn created<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::json(201, value)
    }

    pub fn no_content() -> Self {
        Response { status: 204, headers: vec![], body: Vec::new() }
    }

    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub type HandlerResult = Result<Response, ApiError>;

impl ApiError {
    /// The error as the client gets it: `{"error": {"code", "message"}}`, and Retry-After on
    /// a 503 and a 429.
    pub fn into_response(self) -> Response {
        let mut response =
            Response::json(self.status, &serde_json::json!({"error": {"code": self.code, "message": self.message}}));
        if let Some(secs) = self.retry_after.or((self.status == 503).then_some(1)) {
            response.headers.push(("retry-after", secs.to_string()));
        }
        response
    }
}
