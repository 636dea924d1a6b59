//! Domain settings the engine needs at run time (from the server's configuration).

/// Run-time settings that services read.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Trust the last hop of `X-Forwarded-For` as the client address (behind a proxy).
    pub trust_proxy_headers: bool,
    /// The address users reach Sightline at, e.g. `https://sightline.example.com`.
    pub public_url: String,
}
