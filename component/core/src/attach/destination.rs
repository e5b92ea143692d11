//! Where a request goes, read strictly: what the rules compare.

use std::fmt;

/// The two schemes a token may travel over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// TLS: the only scheme a token goes to, but for loopback rules.
    Https,
    /// Plain HTTP: only ever matched by a rule that names a loopback address.
    Http,
}

impl Scheme {
    /// `https` or `http`, in any case; anything else is no scheme a token goes to.
    pub fn parse(scheme: &str) -> Option<Scheme> {
        if scheme.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if scheme.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request's scheme, host (lower case) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    scheme: Scheme,
    host: String,
    port: u16,
}

/// Why a destination is none a rule can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationError {
    /// Not `http` or `https`.
    Scheme,
    /// The authority has a user name or password (`user@host`).
    Userinfo,
    /// The host is empty, non-ASCII, percent-encoded, ends in a dot, or has a
    /// character no DNS name or IP literal has.
    Host,
    /// The port is not a number from 1 to 65535.
    Port,
}

impl Destination {
    /// Reads `scheme` and `authority` (`host`, `host:port` or `[v6]:port`) the way
    /// the rules need them: exactly, refusing anything a look-alike could hide in.
    pub fn parse(scheme: &str, authority: &str) -> Result<Destination, DestinationError> {
        let scheme = Scheme::parse(scheme).ok_or(DestinationError::Scheme)?;
        if authority.contains('@') {
            return Err(DestinationError::Userinfo);
        }
        let (host, port) = split_port(authority)?;
        let port = match port {
            None => scheme.default_port(),
            Some(port) => parse_port(port)?,
        };
        let host = normalize_host(host).ok_or(DestinationError::Host)?;
        Ok(Destination { scheme, host, port })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host, lower case; an IPv6 literal keeps its brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when the authority named none.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// `host` and the text after its port colon, if any.
pub(super) fn split_port(authority: &str) -> Result<(&str, Option<&str>), DestinationError> {
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or(DestinationError::Host)?;
        let (host, rest) = authority.split_at(close.saturating_add(1));
        return match rest {
            "" => Ok((host, None)),
            _ => match rest.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(DestinationError::Host),
            },
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

pub(super) fn parse_port(port: &str) -> Result<u16, DestinationError> {
    // `u16::from_str` takes a leading `+`; a port never has one.
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DestinationError::Port);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(DestinationError::Port),
        Ok(port) => Ok(port),
    }
}

/// The host in lower case, or `None` when it is not a plain DNS name, an IPv4
/// address or a bracketed IPv6 literal.
pub(super) fn normalize_host(host: &str) -> Option<String> {
    if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip: std::net::Ipv6Addr = literal.parse().ok()?;
        return Some(format!("[{ip}]"));
    }
    let host = host.to_ascii_lowercase();
    let labels_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    labels_ok.then_some(host)
}

/// Whether `host` (as [`normalize_host`] leaves it) is a loopback address.
pub(super) fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return literal
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}
