//! Secrets at rest: XChaCha20-Poly1305 with a random 192-bit nonce per value.
//! The owner id, secret name and key version are bound as associated data, so
//! a ciphertext copied onto another row does not decrypt.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::{DbError, DbResult};

#[derive(Clone)]
pub struct SecretBox {
    key: [u8; 32],
    version: i64,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox(key version {}, key ***)", self.version)
    }
}

impl SecretBox {
    /// A key of 32 bytes, given as base64.
    pub fn from_base64(key_b64: &str, version: i64) -> DbResult<SecretBox> {
        let bytes = B64
            .decode(key_b64.trim())
            .map_err(|e| DbError::Crypto(format!("secret key is not valid base64: {e}")))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            DbError::Crypto("secret key must be 32 bytes (44 base64 characters)".into())
        })?;
        Ok(SecretBox { key, version })
    }

    /// A fresh random key, base64-encoded.
    pub fn generate_key() -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        B64.encode(k)
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    fn aad(owner: &str, name: &str, version: i64) -> Vec<u8> {
        format!("gpufleet-secret\0{owner}\0{name}\0{version}").into_bytes()
    }

    /// Returns (nonce, ciphertext), both base64.
    pub fn seal(&self, owner: &str, name: &str, plaintext: &str) -> DbResult<(String, String)> {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = Self::aad(owner, name, self.version);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| DbError::Crypto("encryption failed".into()))?;
        Ok((B64.encode(nonce), B64.encode(ct)))
    }

    pub fn open(
        &self,
        owner: &str,
        name: &str,
        version: i64,
        nonce: &str,
        ciphertext: &str,
    ) -> DbResult<String> {
        if version != self.version {
            return Err(DbError::Crypto(format!(
                "secret of {owner} was sealed with key version {version}, the configured key is version {}",
                self.version
            )));
        }
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let nonce = B64
            .decode(nonce)
            .map_err(|_| DbError::Crypto("corrupt nonce".into()))?;
        let ct = B64
            .decode(ciphertext)
            .map_err(|_| DbError::Crypto("corrupt ciphertext".into()))?;
        if nonce.len() != 24 {
            return Err(DbError::Crypto("corrupt nonce".into()));
        }
        let aad = Self::aad(owner, name, version);
        let pt = cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: &aad })
            .map_err(|_| DbError::Crypto(format!("secret of {owner} does not decrypt with the configured key (wrong key or altered row)")))?;
        String::from_utf8(pt).map_err(|_| DbError::Crypto("secret is not UTF-8".into()))
    }
}

impl crate::Store {
    pub(crate) async fn put_secret_tx(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        owner: &str,
        name: &str,
        plaintext: &str,
    ) -> DbResult<()> {
        let sb = self.secrets.as_ref().ok_or_else(|| {
            DbError::Crypto("no secret key is configured; secrets cannot be stored".into())
        })?;
        let (nonce, ct) = sb.seal(owner, name, plaintext)?;
        sqlx::query("DELETE FROM secrets WHERE owner_id = $1 AND name = $2")
            .bind(owner)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO secrets (owner_id, name, key_version, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(owner)
            .bind(name)
            .bind(sb.version())
            .bind(nonce)
            .bind(ct)
            .bind(crate::now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Decrypts a stored secret (e.g. a BMC password) for use by a driver.
    pub async fn get_secret(&self, owner: &str, name: &str) -> DbResult<Option<String>> {
        use sqlx::Row;
        let sb = self
            .secrets
            .as_ref()
            .ok_or_else(|| DbError::Crypto("no secret key is configured".into()))?;
        let row = sqlx::query(
            "SELECT key_version, nonce, ciphertext FROM secrets WHERE owner_id = $1 AND name = $2",
        )
        .bind(owner)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(sb.open(
                owner,
                name,
                r.try_get("key_version")?,
                &r.try_get::<String, _>("nonce")?,
                &r.try_get::<String, _>("ciphertext")?,
            )?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let b = SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap();
        let (n, c) = b.seal("bmc-1", "password", "calvin").unwrap();
        assert!(!c.contains("calvin"));
        assert_eq!(b.open("bmc-1", "password", 1, &n, &c).unwrap(), "calvin");
        assert!(
            b.open("bmc-2", "password", 1, &n, &c).is_err(),
            "bound to its owner"
        );
        let other = SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap();
        assert!(
            other.open("bmc-1", "password", 1, &n, &c).is_err(),
            "wrong key"
        );
        assert!(SecretBox::from_base64("c2hvcnQ=", 1).is_err());
    }
}
