//! Where a request of the app's goes with a token: the rules, the token from the
//! identity component (`entra:identity/tokens`) and the host request that carries it.
//! Built without the `outbound` feature, no request ever has a [`Target`].

use ::wasi::http::types::{self as host, ErrorCode};

/// Errors reach the app as its request's `error-code`; `internal-error` is the only
/// code that carries text, and the text is what the operator needs to fix it.
pub(crate) fn internal(text: String) -> ErrorCode {
    ErrorCode::InternalError(Some(text))
}

#[cfg(not(feature = "outbound"))]
pub(crate) use none::Target;
#[cfg(feature = "outbound")]
pub(crate) use tokens::Target;

/// The inbound part alone: no request is ever given a token.
#[cfg(not(feature = "outbound"))]
mod none {
    use super::*;

    /// No value: a request of the inbound part never goes to a token's resource.
    pub(crate) enum Target {}

    impl Target {
        pub(crate) fn of(_: &host::OutgoingRequest) -> Result<Option<Target>, ErrorCode> {
            Ok(None)
        }

        pub(crate) fn request(
            &self,
            _: &host::OutgoingRequest,
            _: Option<&str>,
        ) -> Result<host::OutgoingRequest, ErrorCode> {
            match *self {}
        }

        pub(crate) fn claims_to_retry(&self, _: &host::IncomingResponse) -> Option<String> {
            match *self {}
        }
    }
}

#[cfg(feature = "outbound")]
mod tokens {
    use super::*;
    use crate::bindings::wasi::config::store;
    use entra_identity_core::attach::{
        RULES_SETTING, Rules, SettingError, load_rules, no_token_message,
    };
    use entra_identity_sdk::http::{bearer_header, claims_to_retry_in_fields};
    use entra_identity_sdk::tokens;
    use std::cell::OnceCell;

    thread_local! {
        // Read once per instance: a served app gets a fresh instance per request anyway.
        static RULES: OnceCell<Result<Rules, SettingError>> = const { OnceCell::new() };
    }

    fn load() -> Result<Rules, SettingError> {
        let env = std::env::var(RULES_SETTING).ok();
        let config = store::get(&RULES_SETTING.to_ascii_lowercase())
            .ok()
            .flatten();
        load_rules(env.as_deref(), config.as_deref())
    }

    /// The resource a request's token is for: the scope a rule named for its
    /// destination, which is fixed from then on.
    pub(crate) struct Target {
        scope: String,
        authority: String,
    }

    impl Target {
        /// Where `app` (the app's request as it stands) goes with a token; `None` to
        /// send it as it is. Rules that do not parse fail every request: none can be
        /// routed safely.
        pub(crate) fn of(app: &host::OutgoingRequest) -> Result<Option<Target>, ErrorCode> {
            let scheme = app.scheme().map(|scheme| match scheme {
                host::Scheme::Http => "http".to_string(),
                host::Scheme::Https => "https".to_string(),
                host::Scheme::Other(other) => other,
            });
            let authority = app.authority();
            let has_authorization = app.headers().has("authorization");
            RULES.with(|cell| match cell.get_or_init(load) {
                Ok(rules) => Ok(rules
                    .scope_for_request(has_authorization, scheme.as_deref(), authority.as_deref())
                    .map(|scope| Target {
                        scope: scope.to_string(),
                        authority: authority.clone().unwrap_or_default(),
                    })),
                Err(e) => Err(internal(format!("entra-identity outbound: {e}"))),
            })
        }

        fn no_token(&self, why: &dyn std::fmt::Display) -> ErrorCode {
            internal(no_token_message(&self.authority, &self.scope, why))
        }

        /// A new host request with `app`'s method, path, scheme and headers, this
        /// target's authority and `authorization: Bearer …` (a token satisfying
        /// `claims`, when a claims challenge asked for them). No body: the caller takes
        /// it when there is one.
        pub(crate) fn request(
            &self,
            app: &host::OutgoingRequest,
            claims: Option<&str>,
        ) -> Result<host::OutgoingRequest, ErrorCode> {
            let scopes = [self.scope.as_str()];
            let token = match claims {
                None => tokens::get_token(&scopes),
                Some(claims) => tokens::get_token_with_claims(&scopes, claims),
            }
            .map_err(|e| self.no_token(&e))?;
            let bearer = bearer_header(&token).map_err(|e| self.no_token(&e))?;
            // `clone` of a request's (immutable) headers is a mutable copy.
            let headers = app.headers().clone();
            // The app's headers may already fill the host's limit: say so, without the value.
            (headers.append("authorization", bearer.as_bytes()))
                .map_err(|e| self.no_token(&format!("adding the header failed: {e:?}")))?;
            let request = host::OutgoingRequest::new(headers);
            let set = [
                request.set_method(&app.method()),
                request.set_path_with_query(app.path_with_query().as_deref()),
                request.set_scheme(app.scheme().as_ref()),
                request.set_authority(Some(&self.authority)),
            ];
            if set.iter().any(Result::is_err) {
                return Err(self.no_token(&"copying the request failed"));
            }
            Ok(request)
        }

        /// The claims to ask for when `response` is a 401 with a valid claims challenge.
        pub(crate) fn claims_to_retry(&self, response: &host::IncomingResponse) -> Option<String> {
            claims_to_retry_in_fields(response.status(), &response.headers().entries())
        }
    }
}
