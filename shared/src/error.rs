//! The one error type of the HTTP edge: each lower layer's errors map into it here, and
//! `crate::http` turns it into a response.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before retrying (Retry-After), where the error says so.
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "conflict", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "payload_too_large", message)
    }

    pub fn unavailable() -> Self {
        Self::new(503, "unavailable", "the service is briefly unavailable; retry shortly")
    }

    /// Never carries internals: the detail goes to the log, not to the client.
    pub fn internal() -> Self {
        Self::new(500, "internal", "internal error")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match err {
            StoreError::Refused(e) => e.into(),
            StoreError::Unavailable => ApiError::unavailable(),
            StoreError::Internal => ApiError::internal(),
        }
    }
}

impl From<crate::domain::error::DomainError> for ApiError {
    fn from(err: crate::domain::error::DomainError) -> Self {
        use crate::domain::error::Kind;
        match err.kind {
            Kind::Invalid => ApiError::bad_request(err.message),
            Kind::Forbidden => ApiError::forbidden(err.message),
            Kind::NotFound => ApiError::not_found(err.message),
            Kind::Conflict => ApiError::conflict(err.message),
            Kind::Duplicate => ApiError::new(409, "duplicate", err.message),
            Kind::TooLarge => ApiError::too_large(err.message),
            Kind::RateLimited { retry_after } => ApiError {
                retry_after: Some(retry_after.max(1)),
                ..ApiError::new(429, "too_many_requests", err.message)
            },
        }
    }
}

impl From<crate::files::FilesError> for ApiError {
    fn from(err: crate::files::FilesError) -> Self {
        use crate::files::FilesError;
        match err {
            FilesError::NotConfigured => ApiError::new(
                503,
                "files_not_configured",
                "The server doesn't support file uploads: no file storage is configured.",
            ),
            FilesError::Misconfigured(problem) => {
                tracing::error!(error = %problem, "file storage is misconfigured");
                ApiError::new(
                    503,
                    "files_not_configured",
                    "The server doesn't support file uploads: no file storage is configured.",
                )
            }
            FilesError::Unavailable(detail) => {
                tracing::error!(error = %detail, "file storage failed");
                ApiError::unavailable()
            }
        }
    }
}
