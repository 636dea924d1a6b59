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
    fn prune(&mut self, key: &str, window: Duration, now: Instant) -> &mut VecDeque<Instant> {
        let q = self.0.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        q
    }
}

/// Throttling state for sign-ins (in memory, per server instance).
#[derive(Default)]
pub struct LoginThrottle {
    accounts: Mutex<Windows>,
    ips: Mutex<Windows>,
}

impl LoginThrottle {
    /// `Err(seconds)` when the account or the IP must wait before trying again.
    pub fn check(&self, account: &str, ip: Option<&str>, now: Instant) -> Result<(), u64> {
        let mut wait = Duration::ZERO;
        {
            let mut a = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            let q = a.prune(account, Policy::ACCOUNT.window, now);
            wait = wait.max(Policy::ACCOUNT.wait(q, now).unwrap_or_default());
        }
        if let Some(ip) = ip {
            let mut i = self.ips.lock().unwrap_or_else(|e| e.into_inner());
            let q = i.prune(ip, Policy::IP.window, now);
            wait = wait.max(Policy::IP.wait(q, now).unwrap_or_default());
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs().max(1))
        }
    }

    /// Records a failed attempt.
    pub fn fail(&self, account: &str, ip: Option<&str>, now: Instant) {
        let mut a = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        Self::push(&mut a, account, Policy::ACCOUNT, now);
        drop(a);
        if let Some(ip) = ip {
            let mut i = self.ips.lock().unwrap_or_else(|e| e.into_inner());
            Self::push(&mut i, ip, Policy::IP, now);
        }
    }

    /// A successful sign-in clears the account's failures (not the IP's).
    pub fn succeed(&self, account: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .remove(account);
    }

    fn push(w: &mut Windows, key: &str, policy: Policy, now: Instant) {
        if w.0.len() >= MAX_KEYS {
            w.0.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < policy.window)
            });
        }
        let q = w.prune(key, policy.window, now);
        q.push_back(now);
        while q.len() > policy.cap {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_attempts_then_exponential_backoff() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..Policy::ACCOUNT.free {
            assert!(t.check("a@x.io", None, now).is_ok());
            t.fail("a@x.io", None, now);
        }
        assert_eq!(t.check("a@x.io", None, now), Err(1));
        assert!(t
            .check("a@x.io", None, now + Duration::from_secs(1))
            .is_ok());
        t.fail("a@x.io", None, now + Duration::from_secs(1));
        assert_eq!(
            t.check("a@x.io", None, now + Duration::from_secs(1)),
            Err(2)
        );
        // Another account is not affected.
        assert!(t.check("b@x.io", None, now).is_ok());
    }

    #[test]
    fn failures_expire_and_success_resets_the_account() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..10 {
            t.fail("a@x.io", None, now);
        }
        assert!(t.check("a@x.io", None, now).is_err());
        assert!(
            t.check("a@x.io", None, now + Duration::from_secs(3600))
                .is_ok(),
            "window passed"
        );
        t.succeed("a@x.io");
        assert!(t.check("a@x.io", None, now).is_ok());
    }

    #[test]
    fn at_most_cap_failures_per_window_however_spread_the_ips() {
        let t = LoginThrottle::default();
        let start = Instant::now();
        let mut accepted = 0;
        let mut now = start;
        // 150 attempts on one account from 150 addresses, each retried as soon as allowed.
        for i in 0..150 {
            let ip = format!("10.0.{}.{}", i / 250, i % 250);
            loop {
                match t.check("victim@x.io", Some(&ip), now) {
                    Ok(()) => break,
                    Err(s) => now += Duration::from_secs(s),
                }
            }
            if now.duration_since(start) < Duration::from_secs(3600) {
                accepted += 1;
            }
            t.fail("victim@x.io", Some(&ip), now);
        }
        assert!(accepted <= 100, "{accepted} attempts in the first hour");
    }

    #[test]
    fn one_ip_spraying_many_accounts_is_slowed() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..Policy::IP.free {
            t.fail(&format!("u{i}@x.io"), Some("203.0.113.9"), now);
        }
        assert!(t.check("fresh@x.io", Some("203.0.113.9"), now).is_err());
        assert!(t.check("fresh@x.io", Some("203.0.113.10"), now).is_ok());
    }
}
