//! Where the custom destination rules come from: the environment variable
//! `ENTRA_IDENTITY_OUTBOUND_RULES` (which `entra-identity compose --rule` bakes in,
//! see the host library's `compose::outbound`) AND the host's `wasi:config` key of the
//! same name in lower case (a Spin variable, a host's runtime config). Both apply,
//! the environment's first: baked rules must not hide the ones configured at run time.

use crate::attach::{RULES_SETTING, Rule, RuleError, Rules, parse_rules};

/// Azure's built-ins with the custom rules from `env` and then `config` ahead of them.
/// A malformed list is an error for every request to a named destination: guessing
/// which rules were meant could send a token where the operator did not intend.
pub(crate) fn load(env: Option<String>, config: Option<String>) -> Result<Rules, SettingError> {
    let mut custom: Vec<Rule> = Vec::new();
    let sources = [
        ("environment variable", RULES_SETTING.to_string(), env),
        (
            "wasi:config key",
            RULES_SETTING.to_ascii_lowercase(),
            config,
        ),
    ];
    for (source, name, list) in sources {
        let Some(list) = list else { continue };
        let rules = parse_rules(&list).map_err(|error| SettingError {
            source,
            name,
            error,
        })?;
        custom.extend(rules);
    }
    Ok(Rules::azure().with_all(custom))
}

/// A rules setting that does not parse: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingError {
    source: &'static str,
    name: String,
    error: RuleError,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the outbound rules in {} {} do not parse ({}); fix them (HOST=SCOPE, separated by spaces or ';')",
            self.source, self.name, self.error
        )
    }
}

#[cfg(test)]
mod tests;
