//! Which addresses an allowed name may connect to. A name is only as trustworthy as its
//! DNS answer: an allowed host that resolves to IMDS, loopback or the private network
//! would hand a caller the machine's own identity, so those ranges are refused unless
//! the policy names them itself.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` is not reachable through a name, or `None` for a public address.
pub(crate) fn restricted(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            // The IPv4 address a mapped, compatible or NAT64 form ends up reaching.
            Some(v4) => restricted_v4(v4),
            None => restricted_v6(v6),
        },
    }
}

fn restricted_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match ip {
        // Before the generic ranges: these two hand out the machine's identity and config.
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "Azure's instance metadata service",
        _ if ip == Ipv4Addr::new(168, 63, 129, 16) => "Azure's platform address (WireServer)",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_link_local() => "link-local",
        _ if ip.is_private() => "private",
        _ if a == 100 && (b & 0xc0) == 64 => "shared (CGNAT, 100.64.0.0/10)",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() || a >= 240 => "reserved",
        _ => return None,
    })
}

fn restricted_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match ip {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if (first & 0xffc0) == 0xfe80 => "link-local",
        // fec0::/10, deprecated site-local: still private wherever it is routed.
        _ if (first & 0xffc0) == 0xfec0 => "private (site-local)",
        _ if (first & 0xfe00) == 0xfc00 => "private (unique local)",
        _ if ip.is_multicast() => "multicast",
        _ => return None,
    })
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`, `64:ff9b:1::/48`) IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32);
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let local_nat64 = s[..3] == [0x64, 0xff9b, 1];
    (compatible || nat64 || local_nat64).then_some(tail)
}

/// Whether `ip`, or the IPv4 address it embeds, is inside one of `nets`.
pub(crate) fn in_any(nets: &[IpNet], ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    nets.iter()
        .any(|net| net.contains(&ip) || v4.is_some_and(|v4| net.contains(&v4)))
}

/// Parses an `allow_addresses` entry: a CIDR range (`10.0.0.0/8`, `fd00::/8`) or one
/// address (`127.0.0.1`, `::1`).
pub(crate) fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        format!("{text:?} is not an IP address or CIDR range (e.g. \"127.0.0.1/32\", \"fd00::/8\")")
    })
}

/// The loopback ranges: what `localhost` means (RFC 6761), so naming it is explicit.
pub(crate) fn loopback() -> [IpNet; 2] {
    [
        IpNet::V4(ipnet::Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8)),
        IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(ip: &str) -> Option<&'static str> {
        restricted(ip.parse().unwrap())
    }

    #[test]
    fn restricted_ranges_and_their_ipv6_forms() {
        for (ip, reason) in [
            ("169.254.169.254", "instance metadata"),
            ("168.63.129.16", "WireServer"),
            ("169.254.1.1", "link-local"),
            ("127.0.0.1", "loopback"),
            ("127.200.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.0.1", "private"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.255", "CGNAT"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            // The same IPv4 addresses, reached through IPv6 forms.
            ("::ffff:169.254.169.254", "instance metadata"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:168.63.129.16", "WireServer"),
            ("::169.254.169.254", "instance metadata"),
            ("64:ff9b::a9fe:a9fe", "instance metadata"),
            ("64:ff9b:1::7f00:1", "loopback"),
        ] {
            let got = why(ip).unwrap_or_else(|| panic!("{ip} was not restricted"));
            assert!(got.contains(reason), "{ip}: {got}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "20.190.160.1",
            "40.126.0.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "8.8.8.8",
            "2603:1030::1",
            "2001:4860:4860::8888",
            "::ffff:20.190.160.1",
            "64:ff9b::808:808",
        ] {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn explicit_ranges_match_embedded_forms() {
        let nets = [
            parse_net("127.0.0.1").unwrap(),
            parse_net("10.0.0.0/8").unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_any(&nets, ip("127.0.0.1")));
        assert!(in_any(&nets, ip("::ffff:127.0.0.1")));
        assert!(in_any(&nets, ip("10.9.9.9")));
        assert!(!in_any(&nets, ip("127.0.0.2")));
        assert!(!in_any(&nets, ip("::1")));
        assert!(in_any(&loopback(), ip("127.0.0.2")));
        assert!(in_any(&loopback(), ip("::1")));
        assert_eq!(parse_net(" 10.1.2.3/8 ").unwrap().to_string(), "10.0.0.0/8");
        assert!(
            parse_net("localhost")
                .unwrap_err()
                .contains("not an IP address")
        );
        assert!(parse_net("10.0.0.0/33").is_err());
    }
}
