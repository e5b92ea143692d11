//! Why a token was rejected: which check failed, never the token itself.

pub use entra_identity_types::ValidationError;
