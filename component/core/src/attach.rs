//! Which outgoing requests get a token, and for which scope.
//!
//! The outbound component (composed in front of an app's `wasi:http` client) and the
//! plugin host attach tokens to requests the app itself makes; these rules decide
//! where that is safe. A token goes only to an HTTPS destination that a rule names —
//! a whole host, or every host under a `*.` suffix on a label boundary — on the rule's
//! port (443 unless it says otherwise); plain HTTP only to a loopback address a rule
//! names, for tests. Anything unusual in the destination (userinfo, a non-ASCII or
//! percent-encoded host, a trailing dot, an empty label) matches nothing, so the
//! request goes out without a token rather than to a look-alike.
//!
//! Custom rules (`api.contoso.com=api://contoso/.default`) come first, then Azure's
//! well-known resources in every cloud ([`Rules::azure`], the table in `azure.rs`).

mod azure;
mod destination;
mod rule;
mod settings;

pub use destination::{Destination, Scheme};
pub use rule::{Rule, RuleError, parse_rules};
pub use settings::{SettingError, SettingSource, load_rules};

/// The environment variable (and, in lower case, the `wasi:config` key) that holds
/// custom rules: `HOST=SCOPE` entries separated by whitespace, `;` or `,`.
pub const RULES_SETTING: &str = "ENTRA_IDENTITY_OUTBOUND_RULES";

/// The largest request body kept to be sent again when a claims challenge (CAE)
/// answers the first attempt: larger ones stream once, and their 401 reaches the app.
pub const MAX_REPLAYED_BODY: usize = 64 * 1024;

/// An ordered list of rules: the first that matches a destination names its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
    /// How many of `rules`, from the front, are custom: they take precedence.
    custom: usize,
}

impl Rules {
    /// No rule: nothing ever gets a token.
    pub fn none() -> Rules {
        Rules {
            rules: Vec::new(),
            custom: 0,
        }
    }

    /// Azure's well-known resources in the public, US Government and China clouds.
    pub fn azure() -> Rules {
        Rules {
            rules: azure::rules(),
            custom: 0,
        }
    }

    /// Adds a custom rule, ahead of every built-in one and after earlier custom ones.
    pub fn with(mut self, rule: Rule) -> Rules {
        self.rules.insert(self.custom, rule);
        self.custom = self.custom.saturating_add(1);
        self
    }

    /// Adds custom rules in order.
    pub fn with_all(self, rules: impl IntoIterator<Item = Rule>) -> Rules {
        rules.into_iter().fold(self, Rules::with)
    }

    /// The scope of the token for a request to `scheme://authority`, or `None` when
    /// the request must go without one.
    pub fn scope_for(&self, scheme: &str, authority: &str) -> Option<&str> {
        let destination = Destination::parse(scheme, authority).ok()?;
        self.scope_for_destination(&destination)
    }

    /// The scope of the token an app's request gets, or `None` to send it as the app
    /// built it: the app set its own `authorization`, no rule names the destination,
    /// or the request has no scheme or authority (the host fills those in, so where
    /// it goes is unknown).
    pub fn scope_for_request(
        &self,
        has_authorization: bool,
        scheme: Option<&str>,
        authority: Option<&str>,
    ) -> Option<&str> {
        if has_authorization {
            return None;
        }
        self.scope_for(scheme?, authority?)
    }

    /// [`Rules::scope_for`] for an already parsed destination.
    pub fn scope_for_destination(&self, destination: &Destination) -> Option<&str> {
        (self.rules.iter())
            .find(|rule| rule.matches(destination))
            .map(Rule::scope)
    }

    /// The rules, custom ones first.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }
}

/// What an app's request that needed a token for `scope` and did not get one fails
/// with: where it was going, for which scope, and why (the identity component's
/// message, which never carries a secret).
pub fn no_token_message(authority: &str, scope: &str, why: &dyn std::fmt::Display) -> String {
    format!(
        "entra-identity outbound: no token for the request to {authority} (scope {scope}): {why}"
    )
}

#[cfg(test)]
mod tests;
