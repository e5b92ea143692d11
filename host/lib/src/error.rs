//! Errors of the host library.

pub use entra_identity_types::Error as TokenError;

/// Why [`Identity`](crate::Identity) returned no token.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The component answered with an error: unavailable, refused, throttled, ...
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The validator rejected the token (or its options); says which check failed.
    #[error("token rejected: {0}")]
    Rejected(#[from] entra_identity_types::ValidationError),
    /// The component could not run: it trapped, ran past its deadline or its memory
    /// limit, or failed to instantiate. The next call starts a fresh instance.
    #[error("the identity component failed: {0}")]
    Component(String),
    /// The host's own configuration is wrong.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    pub(crate) fn component(e: wasmtime::Error) -> Self {
        Error::Component(format!("{e:#}"))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
