//! Egress policy for outbound connections (database hosts, alert webhooks): resolve the name
//! once, check every address, and hand back the addresses to connect to (pinned), so a DNS
//! answer cannot change between the check and the connect.
//!
//! Always refused: unspecified (`0.0.0.0`, `::`), link-local (cloud metadata lives there),
//! metadata addresses, multicast, broadcast and reserved ranges, allow list or not. Loopback
//! and private ranges (RFC 1918, CGNAT, ULA, benchmarking) are refused unless the operator
//! allowed the host: by name, by address, or by a CIDR range that holds the address.
//! Addresses embedding IPv4 (IPv4-mapped, IPv4-compatible, 6to4, NAT64) are judged by the
//! IPv4 address inside. Names are resolved by the system resolver (which also reads
//! `/etc/hosts`), so every textual form of an address (`0x7f.1`, `2130706433`, `0177.0.0.1`,
//! `127.1`, `[::ffff:127.0.0.1]`, `::1%lo`) is judged by the address it means, and a name is
//! judged by every address it resolves to.
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, RwLock},
};

#[derive(Debug, Clone)]
pub struct EgressPolicy {
    /// Refuse loopback and private addresses (unless the host is allowed).
    pub deny_private: bool,
    /// Host names, addresses or CIDR ranges (`10.1.0.0/16`, `fd00::/8`) allowed despite
    /// `deny_private` (never for link-local/metadata).
    pub allow_hosts: Vec<String>,
}

impl Default for EgressPolicy {
    /// Fail closed: loopback and private addresses need an explicit allow.
    fn default() -> Self {
        EgressPolicy {
            deny_private: true,
            allow_hosts: Vec::new(),
        }
    }
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

/// The IPv4 address an IPv4-mapped IPv6 address stands for (the same socket destination);
/// any other address as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// `a.b.c.d/n`, `x::/n` or a plain address (a range of one).
fn parse_net(entry: &str) -> Option<(IpAddr, u8)> {
    let entry = entry.trim().trim_start_matches('[');
    let (addr, len) = match entry.split_once('/') {
        Some((a, l)) => (a.trim_end_matches(']'), Some(l.parse::<u8>().ok()?)),
        None => (entry.trim_end_matches(']'), None),
    };
    // Only the canonical dotted or colon forms: a range is written by an admin, not guessed.
    let ip = canonical(addr.parse::<IpAddr>().ok()?);
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

fn in_net(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    match (canonical(ip), net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Lower case, no brackets, no trailing dot.
fn host_name(h: &str) -> String {
    h.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Checks one allow-list entry an admin typed (a host name, an address or a CIDR range) and
/// returns it in the form it is kept in.
pub fn normalize_allow_entry(raw: &str) -> Result<String, String> {
    let entry = raw.trim();
    if entry.is_empty() {
        return Err("empty entry".into());
    }
    if let Some((ip, len)) = parse_net(entry) {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if len == max && classify(ip) == AddressClass::Forbidden {
            return Err(format!(
                "{entry}: link-local, cloud-metadata and unspecified addresses are always refused"
            ));
        }
        return Ok(if len == max {
            ip.to_string()
        } else {
            format!("{ip}/{len}")
        });
    }
    if entry.contains('/') {
        return Err(format!(
            "{entry}: write a range as address/prefix, e.g. 10.1.0.0/16 or fd00::/8"
        ));
    }
    let name = host_name(entry);
    let valid = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid {
        return Err(format!(
            "{entry}: enter a host name, an IP address or a range like 10.1.0.0/16"
        ));
    }
    Ok(name)
}

/// Hosts an admin allowed on the Connections page (kept in the metadata store), shared by
/// every clone of the settings so a change applies to the next connection at once.
#[derive(Debug, Clone, Default)]
pub struct SharedAllowList(Arc<RwLock<Vec<String>>>);

impl SharedAllowList {
    pub fn get(&self) -> Vec<String> {
        self.0.read().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn set(&self, entries: Vec<String>) {
        if let Ok(mut v) = self.0.write() {
            *v = entries;
        }
    }
}

/// Whether `ip` is this machine: loopback, or an address of one of its interfaces (which
/// only a local address can be bound to).
pub fn is_this_machine(ip: IpAddr) -> bool {
    let ip = canonical(ip);
    ip.is_loopback() || ip.is_unspecified() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// Whether two addresses reach the same server: equal once IPv4-mapped forms are unwrapped,
/// or both this machine (loopback in either family, or a local interface address).
pub fn same_server(a: IpAddr, b: IpAddr) -> bool {
    canonical(a) == canonical(b) || (is_this_machine(a) && is_this_machine(b))
}

impl EgressPolicy {
    /// Whether `host` is on the allow list by name (or by the literal it was written as).
    fn allowed_host(&self, host: &str) -> bool {
        let host = host_name(host);
        self.allow_hosts.iter().any(|h| host_name(h) == host)
    }

    /// Whether `ip` is on the allow list as an address or inside a listed range.
    fn allowed_addr(&self, ip: IpAddr) -> bool {
        self.allow_hosts
            .iter()
            .filter_map(|h| parse_net(h))
            .any(|net| in_net(ip, net))
    }

    /// Whether `host` or its address `ip` is on the allow list (by name, address or range).
    pub fn is_listed(&self, host: &str, ip: IpAddr) -> bool {
        self.allowed_host(host) || self.allowed_addr(ip)
    }

    /// Judges one address of `host`, the allow list matched by name only (alert channels:
    /// a receiver is reachable by its allow-listed spelling only).
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), EgressError> {
        self.judge(ip, || self.allowed_host(host))
    }

    /// Judges one address of `host`, the allow list matched by name, by address or by range
    /// (database connections: an admin allows destinations).
    pub fn check_destination(&self, host: &str, ip: IpAddr) -> Result<(), EgressError> {
        self.judge(ip, || self.allowed_host(host) || self.allowed_addr(ip))
    }

    fn judge(&self, ip: IpAddr, allowed: impl FnOnce() -> bool) -> Result<(), EgressError> {
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Forbidden => Err(EgressError::Forbidden(ip)),
            AddressClass::Private if self.deny_private && !allowed() => {
                Err(EgressError::Private(ip))
            }
            AddressClass::Private => Ok(()),
        }
    }

    /// Resolves `host` once and checks every address with [`check`](Self::check); all must
    /// pass (a name that also points at a refused address is refused as a whole).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        let addrs = lookup(host, port).await?;
        for a in &addrs {
            self.check(host, a.ip())?;
        }
        Ok(addrs)
    }

    /// [`resolve`](Self::resolve) with [`check_destination`](Self::check_destination).
    pub async fn resolve_destination(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, EgressError> {
        let addrs = lookup(host, port).await?;
        for a in &addrs {
            self.check_destination(host, a.ip())?;
        }
        Ok(addrs)
    }
}

/// The system resolver's answer for `host` (an address literal in brackets too).
async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    // `name.` is the same name, absolute; /etc/hosts knows it without the dot.
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(EgressError::Unresolvable);
    }
    // An IPv6 literal with a zone (`fe80::1%eth0`, `::1%1`) is judged by its address, whether
    // or not this machine has that interface.
    if let Some((addr, _zone)) = host.split_once('%') {
        if let Ok(ip) = addr.parse::<Ipv6Addr>() {
            return Ok(vec![SocketAddr::new(IpAddr::V6(ip), port)]);
        }
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| EgressError::Unresolvable)?
        .collect();
    if addrs.is_empty() {
        return Err(EgressError::Unresolvable);
    }
    Ok(addrs)
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
        let open = EgressPolicy {
            deny_private: false,
            allow_hosts: vec![],
        };
        assert!(open.check("db", ip("10.0.0.5")).is_ok());
        // Fail closed by default.
        assert!(matches!(
            EgressPolicy::default().check("db", ip("10.0.0.5")),
            Err(EgressError::Private(_))
        ));
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
            let open = EgressPolicy {
                deny_private: false,
                allow_hosts: vec![],
            };
            assert!(
                open.resolve(host, 80).await.is_ok(),
                "{host} allowed when open"
            );
        }
    }

    #[test]
    fn destinations_are_allowed_by_name_address_or_range() {
        let p = EgressPolicy {
            deny_private: true,
            allow_hosts: vec![
                "db.internal".into(),
                "10.1.0.0/16".into(),
                "192.168.7.7".into(),
                "fd00:1::/32".into(),
            ],
        };
        assert!(p.check_destination("db.internal", ip("172.16.0.9")).is_ok());
        assert!(p.check_destination("x", ip("10.1.200.3")).is_ok());
        assert!(p.check_destination("x", ip("::ffff:10.1.0.1")).is_ok());
        assert!(p.check_destination("x", ip("10.2.0.1")).is_err());
        assert!(p.check_destination("x", ip("192.168.7.7")).is_ok());
        assert!(p.check_destination("x", ip("192.168.7.8")).is_err());
        assert!(p.check_destination("x", ip("fd00:1:2::3")).is_ok());
        assert!(p.check_destination("x", ip("fd00:2::3")).is_err());
        // Name-only matching stays for alert channels.
        assert!(p.check("x", ip("10.1.200.3")).is_err());
        // Everything allowed still never reaches metadata or link-local addresses.
        let all = EgressPolicy {
            deny_private: true,
            allow_hosts: vec!["0.0.0.0/0".into(), "::/0".into(), "169.254.169.254".into()],
        };
        for a in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "::",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert!(all.check_destination(a, ip(a)).is_err(), "{a}");
        }
        assert!(all.check_destination("x", ip("127.0.0.1")).is_ok());
    }

    #[test]
    fn allow_entries_are_normalized_or_refused() {
        for (raw, want) in [
            (" DB.Internal. ", "db.internal"),
            ("10.1.0.0/16", "10.1.0.0/16"),
            ("[::1]", "::1"),
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            assert_eq!(normalize_allow_entry(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in [
            "",
            "169.254.169.254",
            "0.0.0.0",
            "10.0.0.0/33",
            "a b",
            "x;y",
            "-x",
            "http://x/",
        ] {
            assert!(normalize_allow_entry(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn loopback_in_any_family_is_the_same_server() {
        assert!(same_server(ip("127.0.0.1"), ip("::1")));
        assert!(same_server(ip("127.0.0.2"), ip("::ffff:127.0.0.1")));
        assert!(!same_server(ip("127.0.0.1"), ip("8.8.8.8")));
    }

    #[tokio::test]
    async fn bracketed_and_zoned_literals_are_resolved_and_judged() {
        let p = EgressPolicy::default();
        for host in [
            "[::1]",
            "[::ffff:127.0.0.1]",
            "::1",
            "[::]",
            "127.1",
            "0177.0.0.1",
            "fe80::1%1",
        ] {
            assert!(p.resolve_destination(host, 5432).await.is_err(), "{host}");
        }
        let allowed = EgressPolicy {
            deny_private: true,
            allow_hosts: vec!["127.0.0.1".into()],
        };
        let a = allowed
            .resolve_destination("[::ffff:127.0.0.1]", 5432)
            .await
            .unwrap();
        assert!(a.iter().all(|a| a.port() == 5432));
    }
}
