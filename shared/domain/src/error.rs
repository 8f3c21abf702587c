//! The domain's refusals. They say what is wrong in the domain's terms; the HTTP edge
//! alone turns them into status codes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input breaks a rule of the domain (a bad value, an impossible combination).
    Invalid,
    /// The caller may not do this to this object.
    Forbidden,
    /// The object does not exist (or the caller may not know that it does).
    NotFound,
    /// The object's state does not allow it now (closed, already taken, changed meanwhile).
    Conflict,
    /// The same request was already carried out (a repeated `clientMessageId`).
    Duplicate,
    /// The input is over a size limit.
    TooLarge,
    /// Too many requests in the current window; `retry_after` seconds until the next.
    RateLimited { retry_after: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: Kind,
    pub message: String,
}

impl DomainError {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        DomainError { kind, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    pub fn duplicate(message: impl Into<String>) -> Self {
        Self::new(Kind::Duplicate, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(Kind::TooLarge, message)
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: i64) -> Self {
        Self::new(Kind::RateLimited { retry_after }, message)
    }
}

impl std::fmt::Display for DomainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for DomainError {}

pub type DomainResult<T> = Result<T, DomainError>;
