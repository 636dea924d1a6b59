//! Signing and encryption keys: from the environment, or generated once into the data
//! directory with mode 0600. Weak, short or example keys stop the server from starting.
use anyhow::{bail, Context, Result};
use base64::{engine::general_purpose, Engine};
use rand::RngCore;
use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

/// Minimum key length in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Words that mark a copied example rather than a real key.
const PLACEHOLDERS: &[&str] = &[
    "change",
    "example",
    "secret",
    "placeholder",
    "default",
    "replace",
    "your",
    "xxxx",
    "test",
    "password",
];

/// The server's keys. Not `Debug`, so they cannot end up in a log line by accident.
pub struct Keys {
    /// Signs session cookies.
    pub session: Vec<u8>,
    /// Encrypts connection and channel credentials at rest (AES-256-GCM).
    pub encryption: Vec<u8>,
}

/// Loads both keys (env first, then the data dir, generating what is missing).
pub fn load(data_dir: &Path) -> Result<Keys> {
    Ok(Keys {
        session: key(
            "SIGHTLINE_SESSION_KEY",
            &data_dir.join("secrets/session.key"),
            64,
        )?,
        encryption: key(
            "SIGHTLINE_ENCRYPTION_KEY",
            &data_dir.join("secrets/encryption.key"),
            32,
        )?,
    })
}

fn key(env: &str, file: &Path, generate_len: usize) -> Result<Vec<u8>> {
    match std::env::var(env) {
        Ok(v) => return parse(&v).with_context(|| format!("{env} is not usable")),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{env} is not valid UTF-8"),
        Err(std::env::VarError::NotPresent) => {}
    }
    if file.exists() {
        let meta = fs::metadata(file)?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "{} is readable by other users; run: chmod 600 {}",
                file.display(),
                file.display()
            );
        }
        let text =
            fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        return parse(&text).with_context(|| format!("{} is not usable", file.display()));
    }
    let mut bytes = vec![0u8; generate_len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("creating {}", file.display()))?;
    writeln!(f, "{}", general_purpose::STANDARD.encode(&bytes))?;
    tracing::info!(path = %file.display(), "generated a new key (keep it: it is needed to read stored secrets)");
    Ok(bytes)
}

/// Parses a key given as base64 (standard or URL-safe) or hex, and checks its strength.
pub fn parse(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    if t.is_empty() {
        bail!("the key is empty; generate one with: openssl rand -base64 48");
    }
    let lower = t.to_ascii_lowercase();
    // Word-like values (with separators) that name a placeholder are copied examples. Keys we
    // generate are standard base64 and never contain '-' or '_'.
    let wordy = t.contains(['-', '_', ' ', '.']);
    if wordy && PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        bail!("the key looks like an example value; generate one with: openssl rand -base64 48");
    }
    let bytes = if t.len().is_multiple_of(2) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..t.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&t[i..i + 2], 16))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        general_purpose::STANDARD
            .decode(t)
            .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')))
            .context("the key is neither base64 nor hex")?
    };
    if bytes.len() < MIN_KEY_BYTES {
        bail!(
            "the key has {} bytes; at least {MIN_KEY_BYTES} random bytes are required",
            bytes.len()
        );
    }
    let mut distinct = bytes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 16 {
        bail!("the key is not random enough; generate one with: openssl rand -base64 48");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_keys_are_refused() {
        for bad in [
            "",
            "   ",
            "change-me-please-change-me-please-change-me",
            "c2hvcnQ=",                                   // "short"
            &"00".repeat(32),                             // 32 zero bytes in hex
            &general_purpose::STANDARD.encode([7u8; 48]), // one repeated byte
            "your-session-key-here",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn random_keys_in_base64_and_hex_are_accepted() {
        let mut k = [0u8; 48];
        rand::rngs::OsRng.fill_bytes(&mut k);
        assert_eq!(parse(&general_purpose::STANDARD.encode(k)).unwrap(), k);
        let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse(&hex).unwrap(), k);
    }

    #[test]
    fn generated_key_files_are_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secrets/k.key");
        let a = key("SIGHTLINE_TEST_UNSET_KEY_VAR", &f, 64).unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = key("SIGHTLINE_TEST_UNSET_KEY_VAR", &f, 64).unwrap();
        assert_eq!(a, b);
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            key("SIGHTLINE_TEST_UNSET_KEY_VAR", &f, 64).is_err(),
            "world-readable key file refused"
        );
    }
}
