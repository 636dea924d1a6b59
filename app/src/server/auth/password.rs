//! Password hashing with argon2id, off the async runtime and behind a semaphore so a burst
//! of sign-ins cannot starve other requests.
use crate::error::{internal, AppError};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// OWASP's first recommended argon2id configuration: 19 MiB, 2 iterations, 1 lane.
pub const M_COST_KIB: u32 = 19 * 1024;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(M_COST_KIB, T_COST, P_COST, None).expect("static argon2 params are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string (blocking; call through [`Passwords`]).
pub fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a PHC string (blocking).
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// True when the stored hash is weaker than the current policy (or not argon2id).
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return true;
    };
    if h.algorithm.as_str() != "argon2id" {
        return true;
    }
    let get = |k: &str| h.params.get_decimal(k).unwrap_or(0);
    get("m") < M_COST_KIB || get("t") < T_COST || get("p") < P_COST
}

/// Runs hashing on the blocking pool, a few at a time.
pub struct Passwords {
    permits: Semaphore,
    dummy: OnceLock<String>,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

impl Passwords {
    pub fn new() -> Self {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            permits: Semaphore::new(n.max(2)),
            dummy: OnceLock::new(),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(internal)?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    /// Verifies `password` against `phc`; with no hash (unknown account) it verifies against
    /// a dummy hash so that the time taken does not tell which emails exist.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        let known = phc.is_some();
        let phc = match phc {
            Some(p) => p,
            None => self.dummy().await?,
        };
        let _permit = self.permits.acquire().await.map_err(internal)?;
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
            .await
            .map_err(internal)?;
        Ok(ok && known)
    }

    async fn dummy(&self) -> Result<String, AppError> {
        if let Some(d) = self.dummy.get() {
            return Ok(d.clone());
        }
        let d = self.hash(uuid::Uuid::new_v4().to_string()).await?;
        Ok(self.dummy.get_or_init(|| d).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hashes_meet_the_owasp_floor() {
        let phc = hash_blocking("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let h = PasswordHash::new(&phc).unwrap();
        assert!(h.params.get_decimal("m").unwrap() >= 19 * 1024);
        assert!(h.params.get_decimal("t").unwrap() >= 2);
        assert!(h.params.get_decimal("p").unwrap() >= 1);
        assert!(!needs_rehash(&phc));
    }

    #[test]
    fn verify_accepts_the_password_and_nothing_else() {
        let long = "ß".repeat(128);
        let phc = hash_blocking(&long).unwrap();
        assert!(verify_blocking(&long, &phc));
        assert!(!verify_blocking(&"ß".repeat(127), &phc), "no truncation");
        assert!(!verify_blocking(&long, "not a hash"));
    }

    #[test]
    fn weak_or_foreign_hashes_need_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(needs_rehash(&weak));
        assert!(needs_rehash("$2b$12$abcdefghijklmnopqrstuv"));
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let p = Passwords::new();
        assert!(!p.verify("anything".into(), None).await.unwrap());
    }
}
