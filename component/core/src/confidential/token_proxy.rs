//! AKS identity binding: workload identity whose token request goes to the AKS token
//! proxy instead of Entra ID.
//!
//! Opt-in, as in the Azure SDKs (`enable_azure_proxy` / `EnableAzureProxy`, default
//! off): only a workload identity credential that asks for it reads
//! `AZURE_KUBERNETES_TOKEN_PROXY`, `AZURE_KUBERNETES_SNI_NAME`,
//! `AZURE_KUBERNETES_CA_FILE` and `AZURE_KUBERNETES_CA_DATA` (empty means unset).
//! Validation and error texts follow azure-sdk-for-rust's identity-binding PR
//! (`invalid {VAR}: ...`) with the Go SDK's wording where it says more.
//!
//! This module is the sans-I/O half: it validates the settings and rewrites the token
//! request's URL onto the proxy (headers and body unchanged). Trusting the proxy's CA
//! with the SNI name is the host's part, since a component cannot choose the roots or
//! the server name of its HTTPS connections.

use crate::error::Error;
use base64::Engine as _;

/// The proxy URL.
pub const TOKEN_PROXY: &str = "AZURE_KUBERNETES_TOKEN_PROXY";
/// The TLS server name (SNI, and the name the proxy's certificate is checked against).
pub const SNI_NAME: &str = "AZURE_KUBERNETES_SNI_NAME";
/// A PEM file of the CA that issued the proxy's certificate; re-read as it rotates.
pub const CA_FILE: &str = "AZURE_KUBERNETES_CA_FILE";
/// The same CA as PEM text.
pub const CA_DATA: &str = "AZURE_KUBERNETES_CA_DATA";
/// Every variable of identity binding.
pub const VARS: [&str; 4] = [TOKEN_PROXY, SNI_NAME, CA_FILE, CA_DATA];

/// Where the proxy's CA comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyCa {
    /// A PEM file (`AZURE_KUBERNETES_CA_FILE`), read by whoever makes the connection.
    File(String),
    /// PEM text (`AZURE_KUBERNETES_CA_DATA`), already checked to hold certificates.
    Data(String),
}

/// Validated identity-binding settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenProxy {
    /// `https://host[:port]`, the scheme lower-cased.
    origin: String,
    /// The proxy URL's path without its trailing `/` (possibly empty).
    path: String,
    /// `AZURE_KUBERNETES_SNI_NAME`, if set.
    pub sni_name: Option<String>,
    /// The CA to trust for the proxy, if given; else the usual roots.
    pub ca: Option<ProxyCa>,
}

impl TokenProxy {
    /// The settings from `env`: `Ok(None)` when `AZURE_KUBERNETES_TOKEN_PROXY` and the
    /// other variables are all unset; an [`Error::InvalidInput`] naming the variable to
    /// fix when they are inconsistent.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        let get = |k: &str| {
            env(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (proxy, sni, ca_file, ca_data) =
            (get(TOKEN_PROXY), get(SNI_NAME), get(CA_FILE), get(CA_DATA));
        let Some(proxy) = proxy else {
            let present: Vec<&str> = [
                (SNI_NAME, sni.is_some()),
                (CA_FILE, ca_file.is_some()),
                (CA_DATA, ca_data.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
            return match present.first() {
                None => Ok(None),
                Some(first) => Err(Error::InvalidInput(format!(
                    "invalid {first}: AZURE_KUBERNETES_TOKEN_PROXY is not set but other custom endpoint-related settings are present ({}); set AZURE_KUBERNETES_TOKEN_PROXY to the AKS token proxy's URL, or unset them",
                    present.join(", ")
                ))),
            };
        };
        let (origin, path) = parse_proxy_url(&proxy)?;
        let ca = match (ca_file, ca_data) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidInput(
                    "invalid AZURE_KUBERNETES_CA_FILE: cannot be set with AZURE_KUBERNETES_CA_DATA; only one of AZURE_KUBERNETES_CA_FILE or AZURE_KUBERNETES_CA_DATA can be specified, unset the other".into(),
                ));
            }
            (Some(file), None) => Some(ProxyCa::File(file)),
            (None, Some(data)) => {
                check_ca_pem(data.as_bytes()).map_err(|why| {
                    Error::InvalidInput(format!(
                        "invalid AZURE_KUBERNETES_CA_DATA: {why}; it must hold the PEM certificate(s) of the CA that issued the proxy's certificate"
                    ))
                })?;
                Some(ProxyCa::Data(data))
            }
            (None, None) => None,
        };
        if let Some(sni) = &sni
            && !valid_sni_name(sni)
        {
            return Err(Error::InvalidInput(format!(
                "invalid AZURE_KUBERNETES_SNI_NAME {sni:?}: must be a DNS name (letters, digits, '-' and '.')"
            )));
        }
        Ok(Some(TokenProxy {
            origin,
            path,
            sni_name: sni,
            ca,
        }))
    }

    /// The proxy URL as validated: origin and path, without a trailing `/`.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.path)
    }

    /// `url` sent to the proxy: the proxy's scheme, host and port; its path without a
    /// trailing `/`, then `/`, then `url`'s path without its leading `/`; then `url`'s
    /// query. `https://login.microsoftonline.com/t/oauth2/v2.0/token?a=1` through
    /// `https://proxy:8443/p/` is `https://proxy:8443/p/t/oauth2/v2.0/token?a=1`.
    pub fn rewrite(&self, url: &str) -> Result<String, Error> {
        let parts = crate::http::UrlParts::parse(url)?;
        let rest = parts.path_and_query.trim_start_matches('/');
        Ok(format!("{}{}/{rest}", self.origin, self.path))
    }
}

/// Splits `AZURE_KUBERNETES_TOKEN_PROXY` into origin and path, with the SDKs' checks.
fn parse_proxy_url(url: &str) -> Result<(String, String), Error> {
    let bad =
        |why: String| Error::InvalidInput(format!("invalid AZURE_KUBERNETES_TOKEN_PROXY: {why}"));
    let shown = || {
        // User information may be a password: never echo a URL that has one.
        if url.contains('@') {
            "<redacted>".to_string()
        } else {
            format!("{url:?}")
        }
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad(format!(
            "{} must use HTTPS: give an absolute https:// URL",
            shown()
        )));
    };
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(bad(format!("{} must use HTTPS, got {scheme:?}", shown())));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(format!("{} must not contain whitespace", shown())));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(bad(
            "must not contain user information (user:password@); remove it".into(),
        ));
    }
    if tail.contains('#') {
        return Err(bad(format!("{} must not contain a fragment", shown())));
    }
    if tail.contains('?') {
        return Err(bad(format!("{} must not contain a query", shown())));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(h, _)| h).unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(bad(format!("{} must contain a host", shown())));
    }
    let port = if authority.starts_with('[') {
        authority.rsplit_once("]:").map(|(_, p)| p)
    } else {
        authority.rsplit_once(':').map(|(_, p)| p)
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(bad(format!("{} has an invalid port {port:?}", shown())));
    }
    Ok((
        format!("https://{authority}"),
        tail.trim_end_matches('/').to_string(),
    ))
}

fn valid_sni_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Checks that `pem` holds at least one well-formed PEM certificate (base64 of a DER
/// SEQUENCE); the X.509 itself is parsed where the TLS configuration is built. The
/// error completes "invalid {VAR}: ".
pub fn check_ca_pem(pem: &[u8]) -> Result<usize, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = std::str::from_utf8(pem)
        .map_err(|_| "failed to parse certificate: not PEM text".to_string())?;
    let mut rest = text;
    let mut count = 0;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).ok_or_else(|| {
            "failed to parse certificate: a BEGIN CERTIFICATE block has no END".to_string()
        })?;
        let body: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("failed to parse certificate: {e}"))?;
        if der.first() != Some(&0x30) {
            return Err("failed to parse certificate: not a DER certificate".into());
        }
        count += 1;
        rest = &after[end + END.len()..];
    }
    if count == 0 {
        return Err("contains no certificates".into());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntactically valid PEM certificate block (a DER SEQUENCE header).
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";

    fn from(vars: &[(&str, &str)]) -> Result<Option<TokenProxy>, Error> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TokenProxy::from_env(&move |k: &str| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    fn error(vars: &[(&str, &str)]) -> String {
        match from(vars) {
            Err(Error::InvalidInput(m)) => m,
            other => panic!("{vars:?}: expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn nothing_set_is_no_proxy_and_empty_is_unset() {
        assert_eq!(from(&[]).unwrap(), None);
        assert_eq!(from(&[(TOKEN_PROXY, " "), (SNI_NAME, "")]).unwrap(), None);
    }

    #[test]
    fn valid_settings() {
        let p = from(&[
            (TOKEN_PROXY, "HTTPS://proxy.example.com:8443/base/"),
            (SNI_NAME, "aks.example.invalid"),
            (CA_DATA, PEM),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(p.url(), "https://proxy.example.com:8443/base");
        assert_eq!(p.sni_name.as_deref(), Some("aks.example.invalid"));
        assert_eq!(p.ca, Some(ProxyCa::Data(PEM.trim().into())));
        let p = from(&[(TOKEN_PROXY, "https://[::1]:9"), (CA_FILE, "/ca.pem")])
            .unwrap()
            .unwrap();
        assert_eq!(p.url(), "https://[::1]:9");
        assert_eq!(p.ca, Some(ProxyCa::File("/ca.pem".into())));
        assert_eq!(p.sni_name, None);
    }

    #[test]
    fn the_request_url_is_rewritten_onto_the_proxy() {
        let via = |proxy: &str, url: &str| {
            from(&[(TOKEN_PROXY, proxy)])
                .unwrap()
                .unwrap()
                .rewrite(url)
                .unwrap()
        };
        // The Rust SDK's own example.
        assert_eq!(
            via(
                "https://proxy.example.com",
                "https://login.microsoftonline.com/tenant/oauth2/v2.0/token?a=1"
            ),
            "https://proxy.example.com/tenant/oauth2/v2.0/token?a=1"
        );
        assert_eq!(
            via(
                "https://proxy.example.com/",
                "https://login.microsoftonline.com/t/oauth2/v2.0/token"
            ),
            "https://proxy.example.com/t/oauth2/v2.0/token"
        );
        assert_eq!(
            via(
                "https://p:8443/a/b//",
                "http://127.0.0.1:4/t/oauth2/v2.0/token?x=1&y=%2F"
            ),
            "https://p:8443/a/b/t/oauth2/v2.0/token?x=1&y=%2F"
        );
        assert_eq!(via("https://p/a", "https://h"), "https://p/a/");
    }

    #[test]
    fn every_invalid_combination_is_refused_with_what_to_fix() {
        for var in [SNI_NAME, CA_FILE, CA_DATA] {
            let e = error(&[(var, PEM)]);
            assert!(
                e.starts_with(&format!("invalid {var}: AZURE_KUBERNETES_TOKEN_PROXY is not set but other custom endpoint-related settings are present")),
                "{e}"
            );
        }
        let e = error(&[(SNI_NAME, "a"), (CA_FILE, "/f")]);
        assert!(
            e.contains("(AZURE_KUBERNETES_SNI_NAME, AZURE_KUBERNETES_CA_FILE)"),
            "{e}"
        );

        let e = error(&[(TOKEN_PROXY, "https://p"), (CA_FILE, "/f"), (CA_DATA, PEM)]);
        assert!(
            e.starts_with("invalid AZURE_KUBERNETES_CA_FILE: cannot be set with AZURE_KUBERNETES_CA_DATA; only one of AZURE_KUBERNETES_CA_FILE or AZURE_KUBERNETES_CA_DATA"),
            "{e}"
        );

        for (url, says) in [
            ("http://p", "must use HTTPS, got \"http\""),
            ("p.example.com", "must use HTTPS"),
            ("https://", "must contain a host"),
            ("https://:443/x", "must contain a host"),
            ("https://user:pw@p", "must not contain user information"),
            ("https://p/x?a=1", "must not contain a query"),
            ("https://p?", "must not contain a query"),
            ("https://p/#f", "must not contain a fragment"),
            ("https://p:99999", "invalid port"),
            ("https://p/a b", "whitespace"),
        ] {
            let e = error(&[(TOKEN_PROXY, url)]);
            assert!(
                e.starts_with("invalid AZURE_KUBERNETES_TOKEN_PROXY: "),
                "{e}"
            );
            assert!(e.contains(says), "{url}: {e}");
        }
        // A password is never echoed.
        assert!(!error(&[(TOKEN_PROXY, "https://u:hunter2@p")]).contains("hunter2"));

        for (data, says) in [
            ("not a certificate", "contains no certificates"),
            (
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
                "failed to parse certificate",
            ),
            ("-----BEGIN CERTIFICATE-----\nMAMCAQA=\n", "has no END"),
            (
                "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----",
                "not a DER certificate",
            ),
        ] {
            let e = error(&[(TOKEN_PROXY, "https://p"), (CA_DATA, data)]);
            assert!(e.starts_with("invalid AZURE_KUBERNETES_CA_DATA: "), "{e}");
            assert!(e.contains(says), "{data}: {e}");
        }
        let e = error(&[(TOKEN_PROXY, "https://p"), (SNI_NAME, "bad name/")]);
        assert!(e.starts_with("invalid AZURE_KUBERNETES_SNI_NAME"), "{e}");
    }
}
