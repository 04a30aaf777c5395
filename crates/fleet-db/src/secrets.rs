//! Secrets at rest: XChaCha20-Poly1305 with a random 192-bit nonce per value.
//! The owner id, secret name, key version and the endpoint the secret is bound to are
//! associated data, so a ciphertext copied onto another row, or a row whose binding was
//! altered, does not decrypt. A secret is only released for the endpoint it was stored for
//! ([`Store::get_secret_for`](crate::Store::get_secret_for)).

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

    /// A key for another purpose (e.g. the audit chain), derived from this one with
    /// HMAC-SHA256 under `label`, so one configured key serves both without reuse.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        use hmac::{Mac, SimpleHmac};
        let mut m = <SimpleHmac<sha2::Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        m.update(label.as_bytes());
        m.finalize().into_bytes().into()
    }

    fn aad(owner: &str, name: &str, version: i64, bound_to: Option<&str>) -> Vec<u8> {
        match bound_to {
            None => format!("gpufleet-secret\0{owner}\0{name}\0{version}").into_bytes(),
            Some(b) => format!("gpufleet-secret\0{owner}\0{name}\0{version}\0{b}").into_bytes(),
        }
    }

    /// Returns (nonce, ciphertext), both base64. `bound_to` is the endpoint binding
    /// (see [`fleet_model::asset::credential_binding`]); the same value must be given to open.
    pub fn seal(
        &self,
        owner: &str,
        name: &str,
        bound_to: Option<&str>,
        plaintext: &str,
    ) -> DbResult<(String, String)> {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = Self::aad(owner, name, self.version, bound_to);
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
        bound_to: Option<&str>,
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
        let aad = Self::aad(owner, name, version, bound_to);
        let pt = cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: &aad })
            .map_err(|_| DbError::Crypto(format!("secret of {owner} does not decrypt with the configured key (wrong key or altered row)")))?;
        String::from_utf8(pt).map_err(|_| DbError::Crypto("secret is not UTF-8".into()))
    }
}

impl crate::Store {
    /// Seals and stores a secret of `owner`, bound to the endpoint `bound_to`.
    pub(crate) async fn put_secret_tx(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        owner: &str,
        name: &str,
        bound_to: Option<&str>,
        plaintext: &str,
    ) -> DbResult<()> {
        let sb = self.secrets.as_ref().ok_or_else(|| {
            DbError::Crypto("no secret key is configured; secrets cannot be stored".into())
        })?;
        let (nonce, ct) = sb.seal(owner, name, bound_to, plaintext)?;
        self.delete_secret_tx(tx, owner, name).await?;
        sqlx::query("INSERT INTO secrets (owner_id, name, key_version, nonce, ciphertext, updated_at, bound_to) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(owner)
            .bind(name)
            .bind(sb.version())
            .bind(nonce)
            .bind(ct)
            .bind(crate::now_ms())
            .bind(bound_to)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Removes a stored secret; true when there was one.
    pub(crate) async fn delete_secret_tx(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        owner: &str,
        name: &str,
    ) -> DbResult<bool> {
        let n = sqlx::query("DELETE FROM secrets WHERE owner_id = $1 AND name = $2")
            .bind(owner)
            .bind(name)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Decrypts a stored secret whatever endpoint it is bound to, with that binding. For
    /// comparisons inside the store only: a secret to be sent anywhere is read with
    /// [`Store::get_secret_for`].
    pub async fn get_secret(&self, owner: &str, name: &str) -> DbResult<Option<String>> {
        Ok(self.read_secret(owner, name).await?.map(|(plain, _)| plain))
    }

    /// Decrypts a stored secret (e.g. a BMC password) for a driver that will send it to the
    /// endpoint described by `endpoint` (the owner's current
    /// [`credential_binding`](fleet_model::asset::credential_binding)). A secret stored for
    /// another endpoint, or before endpoints were bound, is refused with
    /// [`DbError::Conflict`] saying that it must be set again: it never leaves for an
    /// address it was not given for.
    pub async fn get_secret_for(
        &self,
        owner: &str,
        name: &str,
        endpoint: &str,
    ) -> DbResult<Option<String>> {
        match self.read_secret(owner, name).await? {
            None => Ok(None),
            Some((plain, Some(bound))) if bound == endpoint => Ok(Some(plain)),
            Some((_, Some(_))) => Err(DbError::Conflict(format!(
                "the {name} of {owner} was stored for another address or TLS setting than its configuration names now; it is not sent there. An admin must set it again for the new endpoint"
            ))),
            Some((_, None)) => Err(DbError::Conflict(format!(
                "the {name} of {owner} was stored before credentials were bound to their endpoint; set it again (re-register the BMC or write its configuration with the password)"
            ))),
        }
    }

    async fn read_secret(
        &self,
        owner: &str,
        name: &str,
    ) -> DbResult<Option<(String, Option<String>)>> {
        use sqlx::Row;
        let sb = self
            .secrets
            .as_ref()
            .ok_or_else(|| DbError::Crypto("no secret key is configured".into()))?;
        let row = sqlx::query(
            "SELECT key_version, nonce, ciphertext, bound_to FROM secrets WHERE owner_id = $1 AND name = $2",
        )
        .bind(owner)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let bound: Option<String> = r.try_get("bound_to")?;
                let plain = sb.open(
                    owner,
                    name,
                    bound.as_deref(),
                    r.try_get("key_version")?,
                    &r.try_get::<String, _>("nonce")?,
                    &r.try_get::<String, _>("ciphertext")?,
                )?;
                Ok(Some((plain, bound)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let b = SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap();
        let ep = Some(r#"{"address":"10.0.0.5"}"#);
        let (n, c) = b.seal("bmc-1", "password", ep, "calvin").unwrap();
        assert!(!c.contains("calvin"));
        assert_eq!(
            b.open("bmc-1", "password", ep, 1, &n, &c).unwrap(),
            "calvin"
        );
        assert!(
            b.open("bmc-2", "password", ep, 1, &n, &c).is_err(),
            "bound to its owner"
        );
        assert!(
            b.open(
                "bmc-1",
                "password",
                Some(r#"{"address":"10.6.6.6"}"#),
                1,
                &n,
                &c
            )
            .is_err(),
            "bound to its endpoint"
        );
        assert!(
            b.open("bmc-1", "password", None, 1, &n, &c).is_err(),
            "the binding cannot be dropped"
        );
        let other = SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap();
        assert!(
            other.open("bmc-1", "password", ep, 1, &n, &c).is_err(),
            "wrong key"
        );
        assert!(SecretBox::from_base64("c2hvcnQ=", 1).is_err());
    }
}
