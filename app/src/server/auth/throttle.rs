//! Sign-in throttling: per-account and per-IP sliding windows of failures with exponential
//! backoff. Only failures count; nothing locks an account for good.
use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// How one kind of key (account or IP) is throttled.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures inside the window that cost nothing.
    pub free: usize,
    /// Failures inside the window after which every attempt waits for the oldest to expire.
    pub cap: usize,
    pub window: Duration,
    pub max_backoff: Duration,
}

impl Policy {
    pub const ACCOUNT: Policy = Policy {
        free: 5,
        cap: 100,
        window: Duration::from_secs(3600),
        max_backoff: Duration::from_secs(900),
    };
    /// However spread over sources, at most this many attempts per account and hour.
    pub const ACCOUNT_CAP: Policy = Policy {
        free: 100,
        cap: 100,
        window: Duration::from_secs(3600),
        max_backoff: Duration::from_secs(0),
    };
    pub const IP: Policy = Policy {
        free: 30,
        cap: 300,
        window: Duration::from_secs(3600),
        max_backoff: Duration::from_secs(300),
    };

    /// Seconds to wait before the next attempt, given the failures in the window (oldest first).
    pub fn wait(&self, failures: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        let n = failures.len();
        if n >= self.cap {
            let oldest = *failures.front()?;
            return Some((oldest + self.window).saturating_duration_since(now))
                .filter(|d| !d.is_zero());
        }
        if n < self.free {
            return None;
        }
        let exp = (n - self.free).min(20) as u32;
        let backoff = Duration::from_secs(1u64 << exp).min(self.max_backoff);
        let last = *failures.back()?;
        Some((last + backoff).saturating_duration_since(now)).filter(|d| !d.is_zero())
    }
}

const MAX_KEYS: usize = 100_000;

#[derive(Default)]
struct Windows(HashMap<String, VecDeque<Instant>>);

impl Windows {
    /// The key's failures inside the window, if it has any (looking up never inserts).
    fn pruned(&mut self, key: &str, window: Duration, now: Instant) -> Option<&VecDeque<Instant>> {
        let q = self.0.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        Some(q)
    }
}

/// Throttling state for sign-ins (in memory, per server instance).
///
/// Three windows: the account from one source (backoff after a few failures), the account
/// from anywhere (a hard cap per hour), and the source across accounts (against spraying).
/// Keying the backoff on account *and* source means an attacker elsewhere cannot keep a
/// user from signing in with mere guessing until the hourly cap is reached.
#[derive(Default)]
pub struct LoginThrottle {
    pairs: Mutex<Windows>,
    accounts: Mutex<Windows>,
    sources: Mutex<Windows>,
}

impl LoginThrottle {
    /// Checks and records an attempt in one step, so parallel attempts cannot all pass the
    /// check before any failure is recorded. Every attempt counts as a failure until
    /// [`LoginThrottle::succeed`] clears it. `Err(seconds)` when it must wait.
    pub fn attempt(&self, account: &str, ip: Option<&str>, now: Instant) -> Result<(), u64> {
        let source = ip.map(source_key).unwrap_or_default();
        let pair = format!("{account}|{source}");
        let mut pairs = lock(&self.pairs);
        let mut accounts = lock(&self.accounts);
        let mut sources = lock(&self.sources);
        let mut wait = Duration::ZERO;
        for (w, key, policy) in [
            (&mut *pairs, pair.as_str(), Policy::ACCOUNT),
            (&mut *accounts, account, Policy::ACCOUNT_CAP),
            (&mut *sources, source.as_str(), Policy::IP),
        ] {
            if let Some(q) = w.pruned(key, policy.window, now) {
                wait = wait.max(policy.wait(q, now).unwrap_or_default());
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1));
        }
        Self::push(&mut pairs, &pair, Policy::ACCOUNT, now);
        Self::push(&mut accounts, account, Policy::ACCOUNT_CAP, now);
        if ip.is_some() {
            Self::push(&mut sources, &source, Policy::IP, now);
        }
        Ok(())
    }

    /// A successful sign-in clears the account's failures and takes back this attempt from
    /// the source's count.
    pub fn succeed(&self, account: &str, ip: Option<&str>) {
        let source = ip.map(source_key).unwrap_or_default();
        lock(&self.pairs).0.remove(&format!("{account}|{source}"));
        lock(&self.accounts).0.remove(account);
        if let Some(q) = lock(&self.sources).0.get_mut(&source) {
            q.pop_back();
        }
    }

    fn push(w: &mut Windows, key: &str, policy: Policy, now: Instant) {
        if w.0.len() >= MAX_KEYS {
            w.0.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < policy.window)
            });
        }
        let q = w.0.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= policy.window)
        {
            q.pop_front();
        }
        q.push_back(now);
        while q.len() > policy.cap {
            q.pop_front();
        }
    }
}

fn lock(m: &Mutex<Windows>) -> std::sync::MutexGuard<'_, Windows> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The throttling key of a client address: the address for IPv4, the /64 for IPv6 (one
/// subscriber usually holds a whole /64).
pub fn source_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail_n(t: &LoginThrottle, account: &str, ip: &str, n: usize, now: Instant) {
        for _ in 0..n {
            t.attempt(account, Some(ip), now).unwrap();
        }
    }

    #[test]
    fn free_attempts_then_exponential_backoff() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail_n(&t, "a@x.io", "192.0.2.1", Policy::ACCOUNT.free, now);
        assert_eq!(t.attempt("a@x.io", Some("192.0.2.1"), now), Err(1));
        t.attempt("a@x.io", Some("192.0.2.1"), now + Duration::from_secs(1))
            .unwrap();
        assert_eq!(
            t.attempt("a@x.io", Some("192.0.2.1"), now + Duration::from_secs(1)),
            Err(2)
        );
        // Another account, and the same account from elsewhere, are not held back.
        assert!(t.attempt("b@x.io", Some("192.0.2.1"), now).is_ok());
        assert!(t.attempt("a@x.io", Some("198.51.100.7"), now).is_ok());
    }

    #[test]
    fn failures_expire_and_success_resets_the_account() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        fail_n(&t, "a@x.io", "192.0.2.1", Policy::ACCOUNT.free, now);
        assert!(t.attempt("a@x.io", Some("192.0.2.1"), now).is_err());
        assert!(
            t.attempt("a@x.io", Some("192.0.2.1"), now + Duration::from_secs(3600))
                .is_ok(),
            "window passed"
        );
        t.succeed("a@x.io", Some("192.0.2.1"));
        assert!(t
            .attempt("a@x.io", Some("192.0.2.1"), now + Duration::from_secs(3600))
            .is_ok());
    }

    #[test]
    fn at_most_100_attempts_per_account_and_hour_even_in_parallel_from_many_sources() {
        let t = std::sync::Arc::new(LoginThrottle::default());
        let now = Instant::now();
        // 150 attempts at the same instant from 150 addresses, on 8 threads.
        let accepted: usize = (0..8)
            .map(|k| {
                let t = t.clone();
                std::thread::spawn(move || {
                    (0..150)
                        .filter(|i| i % 8 == k)
                        .filter(|i| {
                            t.attempt(
                                "victim@x.io",
                                Some(&format!("10.0.{}.{}", i / 250, i % 250)),
                                now,
                            )
                            .is_ok()
                        })
                        .count()
                })
            })
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(accepted, 100);
        assert!(t
            .attempt(
                "victim@x.io",
                Some("10.9.9.9"),
                now + Duration::from_secs(3599)
            )
            .is_err());
        assert!(t
            .attempt(
                "victim@x.io",
                Some("10.9.9.9"),
                now + Duration::from_secs(3600)
            )
            .is_ok());
    }

    #[test]
    fn one_source_spraying_many_accounts_is_slowed() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..Policy::IP.free {
            t.attempt(&format!("u{i}@x.io"), Some("203.0.113.9"), now)
                .unwrap();
        }
        assert!(t.attempt("fresh@x.io", Some("203.0.113.9"), now).is_err());
        assert!(t.attempt("fresh@x.io", Some("203.0.113.10"), now).is_ok());
    }

    #[test]
    fn ipv6_sources_are_grouped_by_64() {
        assert_eq!(
            source_key("2001:db8:1:2:aaaa::1"),
            source_key("2001:db8:1:2:ffff::9")
        );
        assert_ne!(source_key("2001:db8:1:2::1"), source_key("2001:db8:1:3::1"));
        assert_eq!(source_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(source_key("192.0.2.1"), "192.0.2.1");
    }
}
