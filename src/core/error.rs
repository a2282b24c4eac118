//! The domain's one error type. It says what went wrong in the domain's
//! terms; `http::error` is the one place that turns it into an HTTP status
//! and a JSON body, and the portal renders the same public messages.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that may not do this, where saying so reveals
    /// nothing (a sign-in rule that does not admit the user; a form from
    /// another site).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but a value is not acceptable.
    #[error("{0}")]
    Unprocessable(String),
    /// The request could not be read as what it should be.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// The operation is not offered this way (a HEAD on a logged download).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The body's media type is not the one taken.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many requests from one client or for one portal.
    #[error("{message}")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
        /// What was limited.
        message: String,
    },
    /// A third party we depend on (an identity provider) could not be used;
    /// the detail is for the server log.
    #[error("upstream: {0}")]
    Upstream(String),
    /// Something failed on our side; the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
    /// Storage is damaged or refused to sign; the detail is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The configured external TSA gave no usable token, and this evidence
    /// must not exist without one; the detail is logged.
    #[error("timestamp unavailable: {0}")]
    TsaUnavailable(String),
}

/// Results of the domain.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The standard answer for anything the caller may not see.
    pub fn not_found() -> Self {
        Self::NotFound("no such resource".into())
    }

    /// Whether the fault is on our side (or a third party's), so its detail
    /// is kept from the caller.
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            Self::Upstream(_) | Self::Internal(_) | Self::Unavailable(_) | Self::TsaUnavailable(_)
        )
    }

    /// What a caller is told: the message of a client error; a generic
    /// text for faults on our side, whose detail goes only to the server
    /// log. The JSON body and the portal's pages both show this, never the
    /// detail of a server-side error.
    pub fn public_message(&self) -> String {
        match self {
            Self::TsaUnavailable(_) => "no RFC 3161 timestamp could be had from the configured time-stamping authority; try again later".into(),
            Self::Upstream(_) => "a service this request depends on could not be reached; try again in a few minutes".into(),
            e if e.is_server_side() => {
                "the server could not complete the request; the operator's log has the details".into()
            }
            e => e.to_string(),
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_side_detail_is_never_public() {
        let e = Error::Internal("rocksdb: /var/lib/secret path".into());
        assert!(!e.public_message().contains("rocksdb"));
        let e = Error::Upstream("connect to 10.0.0.1 refused".into());
        assert!(!e.public_message().contains("10.0.0.1"));
        let e = Error::Unprocessable("slug \"X\" is not allowed".into());
        assert_eq!(e.public_message(), "slug \"X\" is not allowed");
    }
}
