//! Credentials at rest: AES-256-GCM with a key derived from the instance's encryption key.
//! Each sealed value is bound to the row it belongs to (associated data), so a secret copied
//! into another row does not open.
use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";

pub struct SecretBox {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a stored secret could not be decrypted (was the encryption key changed?)")]
pub struct OpenError;

impl SecretBox {
    /// `key` is the instance's encryption key (at least 32 random bytes).
    pub fn new(key: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"sightline credentials v1\0");
        h.update(key);
        let derived = h.finalize();
        SecretBox {
            cipher: Aes256Gcm::new_from_slice(&derived).expect("SHA-256 output is 32 bytes"),
        }
    }

    /// `v1:<base64(nonce ‖ ciphertext ‖ tag)>`
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{VERSION}:{}", STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let body = sealed.strip_prefix("v1:").ok_or(OpenError)?;
        let raw = STANDARD_NO_PAD.decode(body).map_err(|_| OpenError)?;
        if raw.len() < 12 + 16 {
            return Err(OpenError);
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError)?;
        String::from_utf8(pt).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let b = SecretBox::new(&[7u8; 32]);
        let sealed = b.seal("hunter2", "connection:1");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(b.open(&sealed, "connection:1").unwrap(), "hunter2");
        // Bound to its row, its key, and tamper-evident.
        assert_eq!(b.open(&sealed, "connection:2"), Err(OpenError));
        assert_eq!(
            SecretBox::new(&[8u8; 32]).open(&sealed, "connection:1"),
            Err(OpenError)
        );
        let mut t = sealed.clone().into_bytes();
        let last = t.len() - 2;
        t[last] = if t[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            b.open(std::str::from_utf8(&t).unwrap(), "connection:1"),
            Err(OpenError)
        );
        // Fresh nonce each time.
        assert_ne!(sealed, b.seal("hunter2", "connection:1"));
    }
}
