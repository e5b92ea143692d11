//! STAND-IN for `entra_identity_core::attach` (the lead's destination rules, not yet
//! merged): the same API, a minimal table. Delete this file at the merge and use the
//! core's module; nothing else here changes.

use std::str::FromStr;

pub const RULES_SETTING: &str = "ENTRA_IDENTITY_OUTBOUND_RULES";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    https: bool,
    /// A whole host, or `*.suffix`.
    host: String,
    port: u16,
    scope: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

impl FromStr for Rule {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Rule, RuleError> {
        let bad = || RuleError(format!("'{s}' is not DESTINATION=SCOPE"));
        let (destination, scope) = s.split_once('=').ok_or_else(bad)?;
        let (https, rest) = match destination.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            Some(_) => return Err(bad()),
            None => (true, destination),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
            None if https => (rest, 443),
            None => (rest, 80),
        };
        if host.is_empty() || scope.is_empty() || (!https && host != "127.0.0.1") {
            return Err(bad());
        }
        Ok(Rule {
            https,
            host: host.to_ascii_lowercase(),
            port,
            scope: scope.to_string(),
        })
    }
}

pub fn parse_rules(list: &str) -> Result<Vec<Rule>, RuleError> {
    (list.split(|c: char| c.is_whitespace() || c == ';'))
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules(Vec<Rule>, usize);

impl Rules {
    pub fn none() -> Rules {
        Rules(Vec::new(), 0)
    }

    pub fn azure() -> Rules {
        let rule = |host: &str, scope: &str| Rule {
            https: true,
            host: host.into(),
            port: 443,
            scope: scope.into(),
        };
        Rules(
            vec![
                rule("*.vault.azure.net", "https://vault.azure.net/.default"),
                rule(
                    "management.azure.com",
                    "https://management.azure.com/.default",
                ),
                rule(
                    "graph.microsoft.com",
                    "https://graph.microsoft.com/.default",
                ),
                rule(
                    "*.blob.core.windows.net",
                    "https://storage.azure.com/.default",
                ),
            ],
            0,
        )
    }

    pub fn with(mut self, rule: Rule) -> Rules {
        self.0.insert(self.1, rule);
        self.1 += 1;
        self
    }

    pub fn with_all(self, rules: impl IntoIterator<Item = Rule>) -> Rules {
        rules.into_iter().fold(self, Rules::with)
    }

    pub fn scope_for(&self, scheme: &str, authority: &str) -> Option<&str> {
        let https = match scheme {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().ok()?),
            None => (authority, if https { 443 } else { 80 }),
        };
        let clean = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        if host.is_empty() || !host.chars().all(clean) || host.ends_with('.') {
            return None;
        }
        let host = host.to_ascii_lowercase();
        let matches = |rule: &Rule| match rule.host.strip_prefix("*.") {
            Some(suffix) => host.strip_suffix(suffix).is_some_and(|l| l.ends_with('.')),
            None => rule.host == host,
        };
        (self.0.iter())
            .find(|rule| rule.https == https && rule.port == port && matches(rule))
            .map(|rule| rule.scope.as_str())
    }
}
