//! What the app has done with a request's body, as far as sending the request again
//! is concerned: a guest cannot read a host stream back, so only a body known to be
//! empty can go out a second time.

/// The state of an app's `outgoing-body`, from `outgoing-request.body()` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyState {
    /// The app never asked for the body: the request has none.
    Untouched,
    /// The app holds the body and has not asked for its stream yet.
    Open,
    /// The app took the body's stream: what it wrote went to the host only.
    Written,
    /// The app finished the body; `empty` when it never took the stream and sent no
    /// trailers.
    Finished { empty: bool },
    /// The app dropped the body without finishing it: the host must see it fail.
    Abandoned,
}

impl BodyState {
    /// Whether a copy of the request without a body is the same request.
    pub(crate) fn is_known_empty(self) -> bool {
        matches!(
            self,
            BodyState::Untouched | BodyState::Finished { empty: true }
        )
    }

    /// The state after the app finishes the body, with or without trailers.
    pub(crate) fn finished(self, trailers: bool) -> BodyState {
        BodyState::Finished {
            empty: self == BodyState::Open && !trailers,
        }
    }

    /// Whether, when the request is sent, the host's body must be taken for the app
    /// to write (or, abandoned, to fail) after `handle`.
    pub(crate) fn needs_host_body_at_send(self) -> bool {
        matches!(self, BodyState::Open | BodyState::Abandoned)
    }
}

#[cfg(test)]
mod tests;
