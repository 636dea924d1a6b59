//! Outbound HTTP for alert channels (webhooks, Slack): one guard for every request that
//! leaves the server on a user's behalf.
//!
//! A URL is checked three times: when a channel is saved ([`OutboundPolicy::validate_url`],
//! form only, no network), and when it is tested or a message is sent
//! ([`OutboundPolicy::post`]): then the host is resolved, every address is judged by
//! [`egress::classify`](crate::server::egress::classify) (IPv4-mapped, 6to4 and NAT64 forms by
//! the IPv4 address inside), and the request goes to exactly those addresses (pinned, so a
//! second DNS answer cannot redirect it), with no proxy, no redirects and timeouts.
//!
//! Refused: anything but http/https; plain http, loopback and private addresses (RFC 1918,
//! CGNAT, ULA) unless the host is on the admin allow list; link-local, cloud metadata,
//! unspecified, multicast and reserved addresses always, allow list or not. Slack URLs must be
//! on Slack's webhook host unless allow-listed.
use crate::server::egress::{EgressError, EgressPolicy};
use reqwest::{dns, header::HeaderMap, redirect};
use std::{
    collections::HashMap,
    fmt,
    net::{IpAddr, SocketAddr},
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};
use url::{Host, Url};

/// Hosts Slack serves incoming webhooks from (commercial and GovSlack).
pub const SLACK_HOSTS: &[&str] = &["hooks.slack.com", "hooks.slack-gov.com"];

const MAX_URL_LEN: usize = 2048;
/// How much of a receiver's answer is kept (Slack explains failures in the body).
const MAX_REPLY_BYTES: usize = 2048;
const USER_AGENT: &str = concat!("Sightline-Alerts/", env!("CARGO_PKG_VERSION"));

/// What a URL is for: Slack URLs are held to Slack's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    Webhook,
    Slack,
}

/// The admin's outbound rules for alert channels.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Host names or addresses (as written in URLs) allowed to be plain http, loopback or
    /// private, and allowed as Slack receivers. Never lifts the link-local/metadata ban.
    pub allow_hosts: Vec<String>,
    /// The whole request, connect to last byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Why a request was not made or did not get an answer. Messages name the host at most,
/// never the path or query (a Slack URL's path is its secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL is malformed or of a form never accepted (bad config, not retryable).
    #[error("{0}")]
    InvalidUrl(&'static str),
    /// The policy refuses this destination.
    #[error("{0}")]
    Refused(String),
    #[error("the host name could not be resolved")]
    Unresolvable,
    #[error("the receiver did not answer in time")]
    Timeout,
    #[error("could not connect to the receiver")]
    Connect,
    #[error("the request failed before an answer arrived")]
    Network,
}

impl OutboundError {
    /// Network trouble that may go away: worth another try later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unresolvable | Self::Timeout | Self::Connect | Self::Network
        )
    }
}

/// A checked destination: the URL and the addresses it will be connected to.
#[derive(Clone)]
pub struct Target {
    url: Url,
    host: String,
    addrs: Vec<SocketAddr>,
}

impl Target {
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host as checked against the allow list (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The resolved, checked addresses the request is pinned to.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &redact_url(self.url.as_str()))
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// A receiver's answer (any status: the caller decides what it means).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// From `Retry-After` (seconds form) on 429/503.
    pub retry_after: Option<Duration>,
    /// The start of the body, lossily decoded.
    pub body: String,
}

/// `scheme://host[:port]/…`: a URL safe to show or log (path, query and credentials dropped).
pub fn redact_url(raw: &str) -> String {
    let Ok(url) = Url::parse(raw) else {
        return "<invalid url>".into();
    };
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if url.path() == "/" && url.query().is_none() {
        "/"
    } else {
        "/…"
    };
    format!("{}://{host}{port}{rest}", url.scheme())
}

/// Lowercase, no brackets, no trailing dot, addresses in canonical form.
fn normalize_host(h: &str) -> String {
    let h = h.trim().trim_start_matches('[').trim_end_matches(']');
    let h = h.trim_end_matches('.').to_ascii_lowercase();
    match h.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => h,
    }
}

fn host_key(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => normalize_host(d),
        Host::Ipv4(a) => a.to_string(),
        Host::Ipv6(a) => a.to_string(),
    }
}

fn refused(e: EgressError, host: &str) -> OutboundError {
    match e {
        EgressError::Unresolvable => OutboundError::Unresolvable,
        EgressError::Forbidden(ip) => OutboundError::Refused(format!(
            "{host} is {ip}, a link-local or cloud metadata address: alerts are never sent there"
        )),
        EgressError::Private(ip) => OutboundError::Refused(format!(
            "{host} is {ip}, a loopback or private address: an admin must allow the host first"
        )),
    }
}

impl OutboundPolicy {
    /// A policy with the given allow list and default timeouts.
    pub fn new(allow_hosts: Vec<String>) -> Self {
        Self {
            allow_hosts,
            ..Self::default()
        }
    }

    /// Whether `host` (as written in a URL) is on the admin allow list.
    pub fn is_allowed_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.allow_hosts.iter().any(|h| normalize_host(h) == host)
    }

    fn egress(&self) -> EgressPolicy {
        EgressPolicy {
            deny_private: true,
            allow_hosts: self.allow_hosts.iter().map(|h| normalize_host(h)).collect(),
        }
    }

    /// The save-time check: form only, no network. Returns the URL without its fragment.
    pub fn validate_url(&self, raw: &str, kind: UrlKind) -> Result<Url, OutboundError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(OutboundError::InvalidUrl("the URL is empty"));
        }
        if raw.len() > MAX_URL_LEN {
            return Err(OutboundError::InvalidUrl("the URL is too long"));
        }
        // The URL parser silently drops tabs and newlines; refuse them instead.
        if raw.chars().any(char::is_control) {
            return Err(OutboundError::InvalidUrl(
                "the URL contains control characters",
            ));
        }
        let mut url =
            Url::parse(raw).map_err(|_| OutboundError::InvalidUrl("this is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl(
                "only http and https URLs are allowed",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::InvalidUrl(
                "credentials in the URL are not allowed (use the signing secret)",
            ));
        }
        if url.port() == Some(0) {
            return Err(OutboundError::InvalidUrl("port 0 is not allowed"));
        }
        let host = url
            .host()
            .ok_or(OutboundError::InvalidUrl("the URL has no host"))?;
        let key = host_key(&host);
        if key.is_empty() {
            return Err(OutboundError::InvalidUrl("the URL has no host"));
        }
        let allowed = self.is_allowed_host(&key);
        if url.scheme() == "http" && !allowed {
            return Err(OutboundError::Refused(
                "https is required (an admin can allow plain http for a host)".into(),
            ));
        }
        if kind == UrlKind::Slack && !allowed && !SLACK_HOSTS.contains(&key.as_str()) {
            return Err(OutboundError::Refused(format!(
                "a Slack webhook URL must be on {}",
                SLACK_HOSTS[0]
            )));
        }
        let literal = match host {
            Host::Ipv4(a) => Some(IpAddr::V4(a)),
            Host::Ipv6(a) => Some(IpAddr::V6(a)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            self.egress()
                .check(&key, ip)
                .map_err(|e| refused(e, &key))?;
        }
        url.set_fragment(None);
        Ok(url)
    }

    /// The send-time check: [`validate_url`](Self::validate_url), then resolve the host and
    /// judge every address (one bad address refuses the whole name).
    pub async fn resolve(&self, raw: &str, kind: UrlKind) -> Result<Target, OutboundError> {
        let url = self.validate_url(raw, kind)?;
        let host = url
            .host()
            .map(|h| host_key(&h))
            .ok_or(OutboundError::InvalidUrl("the URL has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or(OutboundError::InvalidUrl("the URL has no port"))?;
        let addrs = tokio::time::timeout(self.connect_timeout, self.egress().resolve(&host, port))
            .await
            .map_err(|_| OutboundError::Unresolvable)?
            .map_err(|e| refused(e, &host))?;
        Ok(Target { url, host, addrs })
    }

    /// Checks `raw` and POSTs `body` to it, pinned to the checked addresses, without
    /// following redirects. Any HTTP answer is `Ok`; the caller judges the status.
    pub async fn post(
        &self,
        raw: &str,
        kind: UrlKind,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Reply, OutboundError> {
        let target = self.resolve(raw, kind).await?;
        self.post_to(&target, headers, body).await
    }

    /// POSTs to an already checked target (see [`resolve`](Self::resolve)).
    pub async fn post_to(
        &self,
        target: &Target,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Reply, OutboundError> {
        let client = self.client_for(target)?;
        let mut resp = client
            .post(target.url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(3600)));
        let mut bytes = Vec::new();
        // The body only explains a failure; a slow or endless one must not hold the send.
        while bytes.len() < MAX_REPLY_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        bytes.truncate(MAX_REPLY_BYTES);
        Ok(Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// Clients by what they are pinned to. Reusing one keeps its connections alive and skips
/// building TLS state for every send (10,000 alerts in a minute are 10,000 sends); a client
/// only ever reaches the addresses in its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    domain: Option<String>,
    addrs: Vec<SocketAddr>,
    timeout: Duration,
    connect_timeout: Duration,
}

/// At most this many clients are kept; past it the cache starts over.
const MAX_CLIENTS: usize = 64;
static CLIENTS: LazyLock<Mutex<HashMap<ClientKey, reqwest::Client>>> =
    LazyLock::new(Default::default);

impl OutboundPolicy {
    /// The client pinned to `target`'s checked addresses, made once per pin.
    fn client_for(&self, target: &Target) -> Result<reqwest::Client, OutboundError> {
        let domain = match target.url.host() {
            Some(Host::Domain(d)) => Some(d.to_string()),
            _ => None,
        };
        let key = ClientKey {
            domain,
            addrs: target.addrs.clone(),
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
        };
        let clients = || CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients().get(&key) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            // A proxy would resolve the name itself and defeat the pin.
            .no_proxy()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(PinnedOnly));
        if let Some(domain) = &key.domain {
            builder = builder.resolve_to_addrs(domain, &key.addrs);
        }
        let client = builder.build().map_err(|e| {
            tracing::warn!(error = %e.without_url(), "building the outbound HTTP client failed");
            OutboundError::Network
        })?;
        let mut cached = clients();
        if cached.len() >= MAX_CLIENTS {
            cached.clear();
        }
        cached.insert(key, client.clone());
        Ok(client)
    }
}

/// reqwest errors print the full URL; keep only the kind.
fn map_reqwest(e: reqwest::Error) -> OutboundError {
    let e = e.without_url();
    tracing::debug!(error = %e, "outbound request failed");
    if e.is_timeout() {
        OutboundError::Timeout
    } else if e.is_connect() {
        OutboundError::Connect
    } else {
        OutboundError::Network
    }
}

/// The resolver behind the pin: the checked host is answered from the client's override, and
/// any other name (there should be none: no redirects, no proxy) is refused.
struct PinnedOnly;

impl dns::Resolve for PinnedOnly {
    fn resolve(&self, name: dns::Name) -> dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(
            async move { Err(format!("{name} was not checked by the outbound policy").into()) },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &OutboundPolicy, url: &str, kind: UrlKind) -> Result<Url, OutboundError> {
        p.validate_url(url, kind)
    }

    #[test]
    fn form_checks() {
        let p = OutboundPolicy::default();
        assert!(check(&p, "https://example.com/hook", UrlKind::Webhook).is_ok());
        assert!(check(&p, "https://hooks.slack.com/services/T/B/x", UrlKind::Slack).is_ok());
        assert!(check(
            &p,
            "https://HOOKS.slack.com./services/T/B/x",
            UrlKind::Slack
        )
        .is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "https://user:pw@example.com/",
            "https://example.com:0/",
            "https://exa\nmple.com/",
            "not a url",
        ] {
            assert!(
                matches!(
                    check(&p, bad, UrlKind::Webhook),
                    Err(OutboundError::InvalidUrl(_))
                ),
                "{bad:?}"
            );
        }
        for bad in [
            "http://example.com/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://10.0.0.1/",
            "https://100.64.1.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://169.254.169.254/",
            "https://[fd00:ec2::254]/",
            "https://100.100.100.200/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://224.0.0.1/",
            "https://[2002:a9fe:a9fe::1]/",
            "https://[64:ff9b::7f00:1]/",
        ] {
            assert!(
                matches!(
                    check(&p, bad, UrlKind::Webhook),
                    Err(OutboundError::Refused(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            check(&p, "https://example.com/services/x", UrlKind::Slack),
            Err(OutboundError::Refused(_))
        ));
    }

    #[test]
    fn allow_list_lifts_private_and_http_but_never_metadata() {
        let p = OutboundPolicy::new(vec![
            "127.0.0.1".into(),
            "[::1]".into(),
            "Hooks.Internal.".into(),
            "169.254.169.254".into(),
        ]);
        assert!(check(&p, "http://127.0.0.1:9/x", UrlKind::Slack).is_ok());
        assert!(check(&p, "http://[::1]:9/x", UrlKind::Webhook).is_ok());
        assert!(check(&p, "http://hooks.internal/x", UrlKind::Slack).is_ok());
        assert!(check(&p, "https://169.254.169.254/", UrlKind::Webhook).is_err());
        assert!(check(&p, "https://10.0.0.1/", UrlKind::Webhook).is_err());
    }

    /// A one-shot HTTP server answering 204; returns its address and the request it got.
    async fn answer_204() -> (SocketAddr, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 4096];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (addr, task)
    }

    #[tokio::test]
    async fn requests_go_to_the_pinned_address_not_a_new_lookup() {
        // `pinned.invalid` has no DNS answer: only the pin can take the request anywhere.
        let (addr, request) = answer_204().await;
        let target = Target {
            url: Url::parse(&format!("http://pinned.invalid:{}/hook", addr.port())).unwrap(),
            host: "pinned.invalid".into(),
            addrs: vec![addr],
        };
        let p = OutboundPolicy::default();
        let reply = p
            .post_to(&target, HeaderMap::new(), b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(reply.status, 204);
        assert!(request.await.unwrap().contains("host: pinned.invalid"));
        // Any name other than the pinned one is refused by the resolver behind the pin.
        let other = Target {
            url: Url::parse(&format!("http://other.invalid:{}/hook", addr.port())).unwrap(),
            host: "other.invalid".into(),
            addrs: vec![],
        };
        assert!(p.post_to(&other, HeaderMap::new(), vec![]).await.is_err());
    }

    #[tokio::test]
    async fn names_are_judged_by_every_address_they_resolve_to() {
        let p = OutboundPolicy::default();
        assert!(matches!(
            p.resolve("https://localhost/", UrlKind::Webhook).await,
            Err(OutboundError::Refused(_))
        ));
        let allowed = OutboundPolicy::new(vec!["localhost".into()]);
        let t = allowed
            .resolve("http://localhost:8080/x", UrlKind::Webhook)
            .await
            .unwrap();
        assert!(t
            .addrs()
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 8080));
        assert!(!format!("{t:?}").contains("/x"));
    }

    #[test]
    fn redaction_drops_path_query_and_credentials() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret?x=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_url("https://u:p@example.com:8443/"),
            "https://example.com:8443/"
        );
        assert_eq!(redact_url("::"), "<invalid url>");
    }
}
