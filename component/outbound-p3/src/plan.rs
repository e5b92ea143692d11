//! Which body is kept for a retry. (Which requests get a token and what a refusal
//! says are the core's, `entra_identity_core::attach`; which answer is worth a retry
//! is the SDK's, `claims_to_retry_in_fields`.)

use entra_identity_core::attach::MAX_REPLAYED_BODY;

/// Whether a body of `len` bytes that has ended is kept for a retry.
pub(crate) fn is_replayable(len: usize) -> bool {
    len <= MAX_REPLAYED_BODY
}

#[cfg(test)]
mod tests;
