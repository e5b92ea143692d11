//! The per-plugin policy: what each plugin may ask for and reach, and the limits it
//! runs under, read from a TOML file.
//!
//! ```toml
//! [identities.reporter]
//! kind = "managed-identity"
//! client_id = "00000000-0000-0000-0000-000000000001"
//!
//! [plugins.reporter]
//! identity = "reporter"
//! scopes = ["https://vault.azure.net/.default"]
//! outbound = ["https://myvault.vault.azure.net"]
//! attach_tokens = true
//! allow_addresses = ["10.20.0.0/16"]
//! token_rate = { per_second = 5, burst = 10 }
//! memory_mib = 64
//! deadline_ms = 5000
//! env = { LOG_LEVEL = "info" }
//! read_only_dirs = ["/etc/reporter"]
//! ```
//!
//! Every field is optional; a plugin without a section gets the defaults, which grant
//! nothing: no scopes, no outbound hosts, no directories, no environment, and the
//! host's own identity. Named identities are described in [`PluginIdentity`].

use super::error::PluginError;
use super::identities::PluginIdentity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The policy of every plugin a [`PluginHost`](super::PluginHost) runs, by name.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginPolicy {
    /// Each plugin's rules; a plugin not listed gets [`PluginRules::default`].
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginRules>,
    /// Identities plugins may be answered by (`[identities.<name>]`), each named by
    /// some plugin's [`PluginRules::identity`]. Default: none.
    #[serde(default)]
    pub identities: BTreeMap<String, PluginIdentity>,
}

/// What one plugin may do, and the limits it runs under.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginRules {
    /// Which of the policy's `[identities.<name>]` answers its token requests; `None`:
    /// the host's own identity.
    pub identity: Option<String>,
    /// The scopes it may ask tokens for. Matching is exact (case-sensitive) after
    /// removing one trailing `/` from both sides, so `https://vault.azure.net/.default`
    /// allows only that scope, and `api://app/` equals `api://app`. Default: none.
    pub scopes: Vec<String>,
    /// The URLs whose `host:port` its own `wasi:http` requests may reach; any other is
    /// denied before connecting. Paths are ignored. Default: none.
    ///
    /// A listed name must resolve to a public address: loopback, link-local (IMDS),
    /// Azure's platform address, private, CGNAT, unspecified and multicast addresses are
    /// refused, unless the URL's host is that IP address itself or `localhost`, or the
    /// address is in [`Self::allow_addresses`].
    pub outbound: Vec<String>,
    /// Whether the host attaches tokens to its requests itself: a request without an
    /// `Authorization` header to a destination that a rule names (Azure's well-known
    /// resources, then [`Self::attach_rules`]) gets a token for the rule's scope, if that
    /// scope is in [`Self::scopes`]. The plugin then needs no `entra:identity/tokens`
    /// import and never holds a token. Default: false.
    pub attach_tokens: bool,
    /// Its own APIs' rules, `HOST=SCOPE` (`"api.contoso.com=api://contoso/.default"`,
    /// `"*.contoso.com=…"`), ahead of the built-in ones; needs [`Self::attach_tokens`].
    /// Default: none.
    pub attach_rules: Vec<String>,
    /// Restricted addresses (CIDR ranges or single addresses, e.g. `"10.20.0.0/16"`,
    /// `"127.0.0.1"`) the names in [`Self::outbound`] may resolve to. Default: none.
    pub allow_addresses: Vec<String>,
    /// Its token requests' rate limit, checked before the scope: every request counts,
    /// denied ones too. Default: 10 per second, bursts of 20.
    pub token_rate: TokenRate,
    /// Most linear memory it may use, in MiB. Default: 64.
    pub memory_mib: u64,
    /// Longest one run may take, in milliseconds; then it is stopped. Default: 30 000.
    pub deadline_ms: u64,
    /// Its environment, and all of it: the host's own variables never reach a plugin.
    pub env: BTreeMap<String, String>,
    /// Host directories it may read, at the same path inside. Default: none.
    pub read_only_dirs: Vec<PathBuf>,
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenRate {
    /// Requests added to the bucket per second; fractions allowed (`0.5`: one every 2 s).
    pub per_second: f64,
    /// The bucket's size: how many requests may come at once.
    pub burst: u32,
}

impl Default for TokenRate {
    fn default() -> Self {
        TokenRate {
            per_second: 10.0,
            burst: 20,
        }
    }
}

impl Default for PluginRules {
    fn default() -> Self {
        PluginRules {
            identity: None,
            scopes: Vec::new(),
            outbound: Vec::new(),
            attach_tokens: false,
            attach_rules: Vec::new(),
            allow_addresses: Vec::new(),
            token_rate: TokenRate::default(),
            memory_mib: 64,
            deadline_ms: 30_000,
            env: BTreeMap::new(),
            read_only_dirs: Vec::new(),
        }
    }
}

impl fmt::Debug for PluginRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An operator may hand a plugin its own API key through `env`: names only.
        f.debug_struct("PluginRules")
            .field("identity", &self.identity)
            .field("scopes", &self.scopes)
            .field("outbound", &self.outbound)
            .field("attach_tokens", &self.attach_tokens)
            .field("attach_rules", &self.attach_rules)
            .field("allow_addresses", &self.allow_addresses)
            .field("token_rate", &self.token_rate)
            .field("memory_mib", &self.memory_mib)
            .field("deadline_ms", &self.deadline_ms)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("read_only_dirs", &self.read_only_dirs)
            .finish()
    }
}

/// Most memory a policy may grant: a 32-bit linear memory's 4 GiB.
const MAX_MEMORY_MIB: u64 = 4096;
/// The slowest refill: one request every 11.6 days. Below it the wait before the next
/// request stops being a meaningful (or representable) duration.
const MIN_PER_SECOND: f64 = 1e-6;
/// The fastest refill; beyond it the limit limits nothing.
const MAX_PER_SECOND: f64 = 1e6;
/// The biggest burst; beyond it the limit limits nothing.
const MAX_BURST: u32 = 1_000_000;
/// The longest deadline: a week. Longer is a typo (seconds for milliseconds, or worse).
const MAX_DEADLINE_MS: u64 = 7 * 24 * 3600 * 1000;

impl PluginPolicy {
    /// Parses and checks a policy; the error names the field to fix.
    pub fn from_toml(text: &str) -> Result<Self, PluginError> {
        let policy: PluginPolicy = toml::from_str(text).map_err(|e| {
            let mut why = e.to_string();
            if why.contains("unknown field `client_secret`") {
                why.push_str(
                    "\nsecrets are not written into the policy: name the variable holding it \
                     (client_secret_env = \"VAR\") or the file (client_secret_file = \"/path\")",
                );
            }
            PluginError::Policy(why)
        })?;
        policy.check()?;
        Ok(policy)
    }

    /// Reads, parses and checks the policy file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, PluginError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PluginError::Policy(format!("cannot read policy file {}: {e}", path.display()))
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            PluginError::Policy(why) => {
                PluginError::Policy(format!("policy file {}: {why}", path.display()))
            }
            other => other,
        })
    }

    /// Adds (or replaces) the rules of plugin `name`.
    pub fn with_plugin(mut self, name: impl Into<String>, rules: PluginRules) -> Self {
        self.plugins.insert(name.into(), rules);
        self
    }

    /// Adds (or replaces) the identity `name`, for plugins whose
    /// [`PluginRules::identity`] names it.
    pub fn with_identity(mut self, name: impl Into<String>, identity: PluginIdentity) -> Self {
        self.identities.insert(name.into(), identity);
        self
    }

    /// The rules of plugin `name`: its section, or the defaults.
    pub fn rules(&self, name: &str) -> PluginRules {
        self.plugins.get(name).cloned().unwrap_or_default()
    }

    /// Whether every plugin's rules are usable; the error names the field.
    pub fn check(&self) -> Result<(), PluginError> {
        for (name, identity) in &self.identities {
            identity
                .check()
                .map_err(|why| PluginError::Policy(format!("identities.{name}.{why}")))?;
        }
        for (name, rules) in &self.plugins {
            rules
                .check()
                .map_err(|why| PluginError::Policy(format!("plugins.{name}.{why}")))?;
            if let Some(identity) = &rules.identity
                && !self.identities.contains_key(identity)
            {
                return Err(PluginError::Policy(format!(
                    "plugins.{name}.identity: {identity:?} is not one of the policy's [identities.*] ({})",
                    self.identities
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl PluginRules {
    /// Whether `scope` is one of [`Self::scopes`] (exact, after trimming one trailing `/`).
    pub fn allows_scope(&self, scope: &str) -> bool {
        let scope = trim_slash(scope);
        self.scopes.iter().any(|s| trim_slash(s) == scope)
    }

    fn check(&self) -> Result<(), String> {
        if let Some(scope) = self.scopes.iter().find(|s| s.trim().is_empty()) {
            return Err(format!(
                "scopes: {scope:?} is empty; list full scopes such as \"https://vault.azure.net/.default\""
            ));
        }
        for url in &self.outbound {
            let parsed = url::Url::parse(url).map_err(|e| {
                format!("outbound: {url:?} is not a URL ({e}); write e.g. \"https://myvault.vault.azure.net\"")
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(format!(
                    "outbound: {url:?} must be an http:// or https:// URL with a host"
                ));
            }
        }
        self.attach()
            .map_err(|why| format!("attach_rules: {why}"))?;
        if !self.attach_tokens && !self.attach_rules.is_empty() {
            return Err(
                "attach_rules: rules attach nothing without attach_tokens = true; add it".into(),
            );
        }
        for range in &self.allow_addresses {
            crate::outbound::Allowlist::default()
                .with_allowed_addresses([range.as_str()])
                .map_err(|why| format!("allow_addresses: {why}"))?;
        }
        let rate = self.token_rate;
        // `contains` is false for NaN, so NaN and both infinities land here too.
        if !(MIN_PER_SECOND..=MAX_PER_SECOND).contains(&rate.per_second) {
            return Err(format!(
                "token_rate.per_second must be a number between {MIN_PER_SECOND} and {MAX_PER_SECOND}, not {}",
                rate.per_second
            ));
        }
        if !(1..=MAX_BURST).contains(&rate.burst) {
            return Err(format!(
                "token_rate.burst must be between 1 and {MAX_BURST}, not {}",
                rate.burst
            ));
        }
        if !(1..=MAX_MEMORY_MIB).contains(&self.memory_mib) {
            return Err(format!(
                "memory_mib must be between 1 and {MAX_MEMORY_MIB}, not {}",
                self.memory_mib
            ));
        }
        if !(1..=MAX_DEADLINE_MS).contains(&self.deadline_ms) {
            return Err(format!(
                "deadline_ms must be between 1 and {MAX_DEADLINE_MS} (a week), not {}",
                self.deadline_ms
            ));
        }
        for key in self.env.keys() {
            if is_identity_variable(key) {
                return Err(format!(
                    "env.{key}: the identity's variables are never given to plugins; remove it"
                ));
            }
        }
        if let Some(dir) = self.read_only_dirs.iter().find(|d| !d.is_absolute()) {
            return Err(format!(
                "read_only_dirs: {} must be an absolute path",
                dir.display()
            ));
        }
        Ok(())
    }
}

fn trim_slash(scope: &str) -> &str {
    scope.strip_suffix('/').unwrap_or(scope)
}

/// The variables that configure the identity: they can hold its secrets.
fn is_identity_variable(key: &str) -> bool {
    crate::IDENTITY_ENV_VARS.contains(&key) || key.starts_with("ENTRA_IDENTITY_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let policy = PluginPolicy::from_toml(
            r#"
            [plugins.reporter]
            scopes = ["https://vault.azure.net/.default"]
            outbound = ["https://myvault.vault.azure.net"]
            token_rate = { per_second = 5, burst = 10 }
            memory_mib = 64
            deadline_ms = 5000
            env = { LOG_LEVEL = "info" }
            "#,
        )
        .unwrap();
        let rules = policy.rules("reporter");
        assert_eq!(
            rules.token_rate,
            TokenRate {
                per_second: 5.0,
                burst: 10
            }
        );
        assert_eq!(rules.deadline_ms, 5000);
        assert_eq!(rules.env["LOG_LEVEL"], "info");
        assert!(
            !format!("{rules:?}").contains("info"),
            "env values stay out of Debug"
        );
    }

    #[test]
    fn defaults_grant_nothing() {
        let rules = PluginPolicy::from_toml("[plugins.quiet]\n")
            .unwrap()
            .rules("quiet");
        assert_eq!(rules, PluginRules::default());
        assert_eq!(
            PluginPolicy::default().rules("unknown"),
            PluginRules::default()
        );
        assert!(rules.scopes.is_empty() && rules.outbound.is_empty() && rules.env.is_empty());
        assert_eq!(rules.token_rate, TokenRate::default());
        assert_eq!((rules.memory_mib, rules.deadline_ms), (64, 30_000));
        // A partial rate keeps the other default.
        let rate = PluginPolicy::from_toml("[plugins.p]\ntoken_rate = { burst = 3 }\n")
            .unwrap()
            .rules("p")
            .token_rate;
        assert_eq!((rate.per_second, rate.burst), (10.0, 3));
    }

    #[test]
    fn scopes_match_exactly_up_to_one_trailing_slash() {
        let rules = PluginRules {
            scopes: vec![
                "https://vault.azure.net/.default".into(),
                "api://app/".into(),
            ],
            ..Default::default()
        };
        assert!(rules.allows_scope("https://vault.azure.net/.default"));
        assert!(rules.allows_scope("https://vault.azure.net/.default/"));
        assert!(rules.allows_scope("api://app"));
        assert!(!rules.allows_scope("https://VAULT.azure.net/.default"));
        assert!(!rules.allows_scope("https://vault.azure.net/"));
        assert!(!rules.allows_scope("https://storage.azure.com/.default"));
        assert!(!rules.allows_scope(""));
    }

    fn error(toml: &str) -> String {
        PluginPolicy::from_toml(toml).unwrap_err().to_string()
    }

    #[test]
    fn errors_say_what_to_fix() {
        let unknown = error("[plugins.p]\nscope = [\"x\"]\n");
        assert!(unknown.contains("unknown field `scope`"), "{unknown}");
        assert!(error("[plugin.p]\n").contains("unknown field `plugin`"));
        assert!(
            error("[plugins.p]\ntoken_rate = { per_second = 1, brust = 2 }\n").contains("`brust`")
        );
        let rate = error("[plugins.p]\ntoken_rate = { per_second = 0 }\n");
        assert!(rate.contains("plugins.p.token_rate.per_second"), "{rate}");
        assert!(error("[plugins.p]\ntoken_rate = { burst = 0 }\n").contains("burst"));
        assert!(error("[plugins.p]\nmemory_mib = 0\n").contains("plugins.p.memory_mib"));
        assert!(error("[plugins.p]\ndeadline_ms = 0\n").contains("plugins.p.deadline_ms"));
        assert!(error("[plugins.p]\noutbound = [\"vault\"]\n").contains("plugins.p.outbound"));
        assert!(error("[plugins.p]\noutbound = [\"ftp://h\"]\n").contains("http://"));
        assert!(error("[plugins.p]\nscopes = [\" \"]\n").contains("plugins.p.scopes"));
        let env = error("[plugins.p]\nenv = { IDENTITY_HEADER = \"x\" }\n");
        assert!(env.contains("plugins.p.env.IDENTITY_HEADER"), "{env}");
        assert!(
            error("[plugins.p]\nenv = { ENTRA_IDENTITY_CACHE_KEY = \"x\" }\n")
                .contains("never given")
        );
        assert!(error("[plugins.p]\nread_only_dirs = [\"rel\"]\n").contains("absolute"));
        assert!(error("[plugins.p]\nmemory_mib = \"64\"\n").contains("memory_mib"));
        let range = error("[plugins.p]\nallow_addresses = [\"10.0.0.0/33\"]\n");
        assert!(range.contains("plugins.p.allow_addresses"), "{range}");
        assert!(range.contains("CIDR"), "{range}");
    }

    /// Every number of a policy is range-checked when it loads, naming the field: a
    /// number that gets through would panic or misbehave at run time instead.
    #[test]
    fn every_number_is_range_checked_naming_its_field() {
        let cases: &[(&str, &str)] = &[
            (
                "token_rate = { per_second = 1e-30 }",
                "token_rate.per_second",
            ),
            (
                "token_rate = { per_second = 1e-7 }",
                "token_rate.per_second",
            ),
            ("token_rate = { per_second = nan }", "token_rate.per_second"),
            (
                "token_rate = { per_second = -nan }",
                "token_rate.per_second",
            ),
            ("token_rate = { per_second = inf }", "token_rate.per_second"),
            (
                "token_rate = { per_second = -inf }",
                "token_rate.per_second",
            ),
            ("token_rate = { per_second = -1 }", "token_rate.per_second"),
            (
                "token_rate = { per_second = -0.0 }",
                "token_rate.per_second",
            ),
            ("token_rate = { per_second = 0 }", "token_rate.per_second"),
            (
                "token_rate = { per_second = 1e300 }",
                "token_rate.per_second",
            ),
            ("token_rate = { burst = 0 }", "token_rate.burst"),
            ("token_rate = { burst = 4000000000 }", "token_rate.burst"),
            ("token_rate = { burst = -1 }", "burst"),
            ("token_rate = { burst = 1.5 }", "burst"),
            ("token_rate = { burst = 99999999999 }", "burst"),
            ("memory_mib = 0", "memory_mib"),
            ("memory_mib = 4097", "memory_mib"),
            ("memory_mib = -1", "memory_mib"),
            ("memory_mib = 1e3", "memory_mib"),
            ("memory_mib = 18446744073709551615", "memory_mib"),
            ("deadline_ms = 0", "deadline_ms"),
            ("deadline_ms = 604800001", "deadline_ms"),
            ("deadline_ms = -5", "deadline_ms"),
            ("deadline_ms = inf", "deadline_ms"),
        ];
        for (line, field) in cases {
            let why = error(&format!("[plugins.p]\n{line}\n"));
            assert!(why.contains(field), "{line}: {why}");
        }
        // The edges themselves load.
        for line in [
            "token_rate = { per_second = 1e-6, burst = 1000000 }",
            "token_rate = { per_second = 1e6, burst = 1 }",
            "memory_mib = 1",
            "memory_mib = 4096",
            "deadline_ms = 1",
            "deadline_ms = 604800000",
        ] {
            PluginPolicy::from_toml(&format!("[plugins.p]\n{line}\n"))
                .unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }

    #[test]
    fn identities_are_named_by_plugins_and_checked_naming_the_field() {
        let policy = PluginPolicy::from_toml(
            r#"
            [identities.reporter]
            kind = "managed-identity"
            client_id = "11111111-1111-1111-1111-111111111111"

            [identities.billing]
            kind = "client-secret"
            tenant_id = "t"
            client_id = "c"
            client_secret_env = "BILLING_SECRET"

            [identities.wi]
            kind = "workload-identity"
            tenant_id = "t"
            client_id = "c"
            token_file = "/var/run/secrets/token"

            [identities.cert]
            kind = "client-certificate"
            tenant_id = "t"
            client_id = "c"
            certificate_path = "/etc/app/cert.pem"

            [plugins.report]
            identity = "reporter"
            "#,
        )
        .unwrap();
        assert_eq!(policy.rules("report").identity.as_deref(), Some("reporter"));
        assert_eq!(policy.rules("other").identity, None);
        assert_eq!(
            policy.identities["reporter"],
            PluginIdentity::user_assigned_client_id("11111111-1111-1111-1111-111111111111")
        );

        let cases: &[(&str, &str)] = &[
            ("[plugins.p]\nidentity = \"nobody\"\n", "plugins.p.identity"),
            (
                "[identities.x]\nclient_id = \"c\"\n",
                "missing field `kind`",
            ),
            ("[identities.x]\nkind = \"magic\"\n", "magic"),
            (
                "[identities.x]\nkind = \"managed-identity\"\nclientid = \"c\"\n",
                "unknown field `clientid`",
            ),
            (
                "[identities.x]\nkind = \"managed-identity\"\nclient_id = \"a\"\nobject_id = \"b\"\n",
                "identities.x.client_id, object_id",
            ),
            (
                "[identities.x]\nkind = \"managed-identity\"\nclient_id = \" \"\n",
                "identities.x.client_id",
            ),
            (
                "[identities.x]\nkind = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"c\"\n",
                "identities.x.client_secret_env",
            ),
            (
                "[identities.x]\nkind = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"A\"\nclient_secret_file = \"/s\"\n",
                "not both",
            ),
            (
                "[identities.x]\nkind = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"rel\"\n",
                "identities.x.client_secret_file",
            ),
            (
                "[identities.x]\nkind = \"client-secret\"\nclient_id = \"c\"\nclient_secret_env = \"A\"\n",
                "missing field `tenant_id`",
            ),
            (
                "[identities.x]\nkind = \"workload-identity\"\ntenant_id = \"t\"\nclient_id = \"c\"\ntoken_file = \"token\"\n",
                "identities.x.token_file",
            ),
            (
                "[identities.x]\nkind = \"client-certificate\"\ntenant_id = \"t\"\nclient_id = \"\"\ncertificate_path = \"/c.pem\"\n",
                "identities.x.client_id",
            ),
        ];
        for (toml, needle) in cases {
            let why = error(toml);
            assert!(why.contains(needle), "{toml}: {why}");
        }
        // A secret written inline is refused, and the error says where it goes instead.
        let inline = error(
            "[identities.x]\nkind = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"hunter2\"\n",
        );
        assert!(inline.contains("unknown field `client_secret`"), "{inline}");
        assert!(inline.contains("client_secret_env"), "{inline}");
    }

    /// Rules built in code get the same check when a host is made from them.
    #[test]
    fn rules_built_in_code_are_checked_too() {
        let rules = PluginRules {
            token_rate: TokenRate {
                per_second: 1e-30,
                burst: 1,
            },
            ..Default::default()
        };
        let why = PluginPolicy::default()
            .with_plugin("p", rules)
            .check()
            .unwrap_err()
            .to_string();
        assert!(why.contains("plugins.p.token_rate.per_second"), "{why}");
    }
}
