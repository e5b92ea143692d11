//! One rule: a destination pattern and the scope its requests get a token for.

use super::destination::{
    Destination, DestinationError, Scheme, is_loopback, normalize_host, parse_port, split_port,
};
use std::fmt;
use std::str::FromStr;

/// `HOST=SCOPE`: requests to HOST get a token for SCOPE.
///
/// HOST is `api.contoso.com` (that host only), `*.contoso.com` (every host under it,
/// not `contoso.com` itself), either with `https://` in front and a `:port` after,
/// or `http://` with a loopback address (`127.0.0.1:8080`, `localhost`, `[::1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
    scope: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// Starts with `.`: matches hosts with at least one more label in front.
    Suffix(String),
}

/// Why a rule was refused, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// No `=SCOPE` part, or an empty one.
    MissingScope(String),
    /// The scope has whitespace or control characters.
    BadScope(String),
    /// A scheme other than `https://` (or `http://` for loopback).
    Scheme(String),
    /// Not a host name, IP address or `*.` suffix.
    Host(String),
    /// `*.` with fewer than two labels after it (`*.com`), or a `*` elsewhere.
    Wildcard(String),
    /// A port that is not a number from 1 to 65535.
    Port(String),
    /// A path, query or fragment after the host.
    Path(String),
    /// `http://` to a host that is not loopback: tokens never travel in clear.
    PlainHttp(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::MissingScope(rule) => write!(
                f,
                "rule `{rule}` has no scope: write HOST=SCOPE, e.g. api.contoso.com=api://contoso/.default"
            ),
            RuleError::BadScope(rule) => {
                write!(f, "rule `{rule}`: a scope has no spaces or control characters")
            }
            RuleError::Scheme(rule) => write!(
                f,
                "rule `{rule}`: only https:// destinations get tokens (http:// only for a loopback address)"
            ),
            RuleError::Host(rule) => write!(
                f,
                "rule `{rule}`: the host must be an ASCII host name (IDNs in their xn-- form), an IP address or *.suffix"
            ),
            RuleError::Wildcard(rule) => write!(
                f,
                "rule `{rule}`: a wildcard is `*.` followed by at least two labels, e.g. *.contoso.com"
            ),
            RuleError::Port(rule) => write!(f, "rule `{rule}`: the port must be 1 to 65535"),
            RuleError::Path(rule) => write!(
                f,
                "rule `{rule}`: a rule names a host (and port), not a path; tokens are per host"
            ),
            RuleError::PlainHttp(rule) => write!(
                f,
                "rule `{rule}`: http:// is allowed only for loopback addresses (tests); use https://"
            ),
        }
    }
}

impl std::error::Error for RuleError {}

impl Rule {
    /// A built-in rule: HTTPS on 443 to `host` (or `*.suffix`), trusted to be well-formed.
    pub(super) fn builtin(host: &'static str, scope: &'static str) -> Rule {
        let host = match host.strip_prefix('*') {
            Some(suffix) => HostPattern::Suffix(suffix.to_owned()),
            None => HostPattern::Exact(host.to_owned()),
        };
        Rule {
            scheme: Scheme::Https,
            host,
            port: 443,
            scope: scope.to_owned(),
        }
    }

    /// The scope a matching request's token is for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Whether a request to `destination` gets this rule's token.
    pub fn matches(&self, destination: &Destination) -> bool {
        if destination.scheme() != self.scheme || destination.port() != self.port {
            return false;
        }
        let host = destination.host();
        match &self.host {
            HostPattern::Exact(exact) => host == exact,
            HostPattern::Suffix(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        match &self.host {
            HostPattern::Exact(host) => f.write_str(host)?,
            HostPattern::Suffix(suffix) => write!(f, "*{suffix}")?,
        }
        write!(f, ":{}={}", self.port, self.scope)
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        let owned = || text.to_owned();
        let (destination, scope) = text
            .split_once('=')
            .ok_or_else(|| RuleError::MissingScope(owned()))?;
        let (destination, scope) = (destination.trim(), scope.trim());
        if scope.is_empty() {
            return Err(RuleError::MissingScope(owned()));
        }
        if scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RuleError::BadScope(owned()));
        }
        let (scheme, authority) = match destination.split_once("://") {
            Some((scheme, rest)) => (
                Scheme::parse(scheme).ok_or_else(|| RuleError::Scheme(owned()))?,
                rest,
            ),
            None => (Scheme::Https, destination),
        };
        // A trailing `/` is how people write hosts; anything more is a path.
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        if authority.contains(['/', '?', '#']) {
            return Err(RuleError::Path(owned()));
        }
        if authority.contains('@') {
            return Err(RuleError::Host(owned()));
        }
        let (host, port) = split_port(authority).map_err(|_| RuleError::Host(owned()))?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => parse_port(port).map_err(|_: DestinationError| RuleError::Port(owned()))?,
        };
        let host = match host.strip_prefix("*.") {
            Some(suffix) => {
                let suffix = normalize_host(suffix).ok_or_else(|| RuleError::Host(owned()))?;
                if suffix.split('.').count() < 2 || suffix.starts_with('[') {
                    return Err(RuleError::Wildcard(owned()));
                }
                HostPattern::Suffix(format!(".{suffix}"))
            }
            None if host.contains('*') => return Err(RuleError::Wildcard(owned())),
            None => HostPattern::Exact(normalize_host(host).ok_or_else(|| RuleError::Host(owned()))?),
        };
        if scheme == Scheme::Http {
            let loopback = matches!(&host, HostPattern::Exact(h) if is_loopback(h));
            if !loopback {
                return Err(RuleError::PlainHttp(owned()));
            }
        }
        Ok(Rule {
            scheme,
            host,
            port,
            scope: scope.to_owned(),
        })
    }
}

/// Rules from one setting: `HOST=SCOPE` entries separated by whitespace, `;` or `,`.
pub fn parse_rules(list: &str) -> Result<Vec<Rule>, RuleError> {
    list.split(|c: char| c.is_whitespace() || c == ';' || c == ',')
        .filter(|entry| !entry.is_empty())
        .map(str::parse)
        .collect()
}
