//! Egress policy for outbound connections (database hosts now, webhooks later): resolve the
//! name, check every address, and hand back the addresses to connect to (pinned), so a DNS
//! answer cannot change between the check and the connect.
//!
//! Always refused: unspecified, link-local (cloud metadata lives there), metadata addresses,
//! multicast, broadcast and reserved ranges. Loopback and private ranges (RFC 1918, CGNAT,
//! ULA) are allowed by default, because self-hosted databases live there, and refused when
//! the operator denies them, unless the host is on the allow list. Addresses embedding IPv4
//! (IPv4-mapped, IPv4-compatible, 6to4, NAT64) are judged by the IPv4 address inside; names are
//! resolved by the system resolver, so every textual form of an address (`0x7f.1`,
//! `2130706433`, `[::ffff:127.0.0.1]`) is judged by the address it means.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Refuse loopback and private addresses (unless the host is allowed).
    pub deny_private: bool,
    /// Host names or addresses allowed despite `deny_private` (never for link-local/metadata).
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// Loopback, RFC 1918, CGNAT, ULA, benchmark: allowed unless denied.
    Private,
    /// Link-local, metadata, unspecified, multicast, broadcast, reserved: never.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("The host name could not be resolved.")]
    Unresolvable,
    #[error("Connections to {0} are not allowed (link-local or cloud metadata address).")]
    Forbidden(IpAddr),
    #[error("Connections to private or loopback addresses ({0}) are turned off on this server; an admin can allow the host.")]
    Private(IpAddr),
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    // 6to4 2002:AABB:CCDD::/48.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    // NAT64 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    None
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    let forbidden = ip.is_unspecified()
        || o[0] == 0
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || o[0] >= 240
        // Alibaba Cloud metadata; Oracle/AWS/GCP/Azure use 169.254.169.254 (link-local).
        || ip == Ipv4Addr::new(100, 100, 100, 200)
        // IETF protocol assignments (192.0.0.0/24), incl. DS-Lite and NAT64 discovery.
        || (o[0] == 192 && o[1] == 0 && o[2] == 0);
    if forbidden {
        return AddressClass::Forbidden;
    }
    let private = ip.is_loopback()
        || ip.is_private()
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19));
    if private {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return classify_v4(v4);
            }
            let s = v6.segments();
            if v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            // AWS IMDS over IPv6
            {
                AddressClass::Forbidden
            } else if v6.is_loopback() || (s[0] & 0xfe00) == 0xfc00 {
                AddressClass::Private
            } else {
                AddressClass::Public
            }
        }
    }
}

impl EgressPolicy {
    fn allowed_host(&self, host: &str) -> bool {
        self.allow_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')))
    }

    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), EgressError> {
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Forbidden => Err(EgressError::Forbidden(ip)),
            AddressClass::Private if self.deny_private && !self.allowed_host(host) => {
                Err(EgressError::Private(ip))
            }
            AddressClass::Private => Ok(()),
        }
    }

    /// Resolves `host` and checks every address; all must pass (a name that also points at a
    /// forbidden address is refused as a whole).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| EgressError::Unresolvable)?
            .collect();
        if addrs.is_empty() {
            return Err(EgressError::Unresolvable);
        }
        for a in &addrs {
            self.check(host, a.ip())?;
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classes() {
        use AddressClass::*;
        for (a, want) in [
            ("8.8.8.8", Public),
            ("2606:4700::1111", Public),
            ("127.0.0.1", Private),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("::1", Private),
            ("fd12::1", Private),
            ("169.254.169.254", Forbidden),
            ("169.254.0.1", Forbidden),
            ("100.100.100.200", Forbidden),
            ("fd00:ec2::254", Forbidden),
            ("fe80::1", Forbidden),
            ("0.0.0.0", Forbidden),
            ("::", Forbidden),
            ("224.0.0.1", Forbidden),
            ("255.255.255.255", Forbidden),
            ("::ffff:169.254.169.254", Forbidden),
            ("::ffff:127.0.0.1", Private),
            ("::169.254.169.254", Forbidden),
            ("2002:a9fe:a9fe::1", Forbidden),
            ("64:ff9b::a9fe:a9fe", Forbidden),
            ("64:ff9b::808:808", Public),
        ] {
            assert_eq!(classify(ip(a)), want, "{a}");
        }
    }

    #[test]
    fn policy_denies_private_unless_allowed_and_never_metadata() {
        let open = EgressPolicy::default();
        assert!(open.check("db", ip("10.0.0.5")).is_ok());
        let strict = EgressPolicy {
            deny_private: true,
            allow_hosts: vec!["warehouse.internal".into()],
        };
        assert!(matches!(
            strict.check("db", ip("10.0.0.5")),
            Err(EgressError::Private(_))
        ));
        assert!(strict.check("warehouse.internal", ip("10.0.0.5")).is_ok());
        assert!(strict.check("Warehouse.Internal.", ip("10.0.0.5")).is_ok());
        let allow_meta = EgressPolicy {
            deny_private: false,
            allow_hosts: vec!["169.254.169.254".into()],
        };
        assert!(allow_meta
            .check("169.254.169.254", ip("169.254.169.254"))
            .is_err());
    }

    #[tokio::test]
    async fn every_textual_form_is_judged_by_its_address() {
        let p = EgressPolicy {
            deny_private: true,
            allow_hosts: vec![],
        };
        for host in [
            "169.254.169.254",
            "0xa9fea9fe",
            "2852039166",
            "0251.0376.0251.0376",
            "::ffff:169.254.169.254",
            "[::ffff:a9fe:a9fe]",
        ] {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            let r = p.resolve(h, 80).await;
            assert!(r.is_err(), "{host} must be refused: {r:?}");
        }
        for host in ["127.0.0.1", "0x7f.1", "2130706433", "localhost"] {
            assert!(p.resolve(host, 80).await.is_err(), "{host} is loopback");
            assert!(
                EgressPolicy::default().resolve(host, 80).await.is_ok(),
                "{host} allowed by default"
            );
        }
    }
}
