//! The cryptography of IPMI v2.0 cipher suite 3 (IPMI v2.0 specification, sections 13.28–13.32):
//! RAKP-HMAC-SHA1 authentication, HMAC-SHA1-96 integrity, AES-CBC-128 confidentiality.

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes128;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// HMAC-SHA1 of the concatenation of `parts` under `key`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    let mut mac = <HmacSha1 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The user key K_UID: the password, zero-padded to 20 bytes (section 13.31).
pub fn user_key(password: &str) -> [u8; 20] {
    let mut k = [0u8; 20];
    let b = password.as_bytes();
    let n = b.len().min(20);
    k[..n].copy_from_slice(&b[..n]);
    k
}

/// Encrypts `data` as an AES-CBC-128 confidentiality payload: IV, then the ciphertext of the
/// data followed by pad bytes 1, 2, 3, ... and the pad length (section 13.29).
pub fn aes_cbc_encrypt(key: &[u8; 16], iv: [u8; 16], data: &[u8]) -> Vec<u8> {
    let cipher = Aes128::new(key.into());
    let mut plain = data.to_vec();
    let pad = (16 - (data.len() + 1) % 16) % 16;
    for i in 0..pad {
        plain.push((i + 1) as u8);
    }
    plain.push(pad as u8);
    let mut out = iv.to_vec();
    let mut prev = iv;
    for chunk in plain.chunks(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ prev[i];
        }
        let mut b = block.into();
        cipher.encrypt_block(&mut b);
        prev = b.into();
        out.extend_from_slice(&prev);
    }
    out
}

/// Decrypts an AES-CBC-128 confidentiality payload (IV first); `None` if it is malformed.
pub fn aes_cbc_decrypt(key: &[u8; 16], payload: &[u8]) -> Option<Vec<u8>> {
    if payload.len() < 32 || !payload.len().is_multiple_of(16) {
        return None;
    }
    let cipher = Aes128::new(key.into());
    let mut prev: [u8; 16] = payload[..16].try_into().ok()?;
    let mut out = Vec::with_capacity(payload.len() - 16);
    for chunk in payload[16..].chunks(16) {
        let cblock: [u8; 16] = chunk.try_into().ok()?;
        let mut b = cblock.into();
        cipher.decrypt_block(&mut b);
        let plain: [u8; 16] = b.into();
        for i in 0..16 {
            out.push(plain[i] ^ prev[i]);
        }
        prev = cblock;
    }
    let pad = *out.last()? as usize;
    if pad + 1 > out.len() || pad > 15 {
        return None;
    }
    out.truncate(out.len() - pad - 1);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trip_all_lengths() {
        let key = [7u8; 16];
        for n in 0..40 {
            let data: Vec<u8> = (0..n as u8).collect();
            let enc = aes_cbc_encrypt(&key, [3u8; 16], &data);
            assert_eq!(enc.len() % 16, 0);
            assert_eq!(aes_cbc_decrypt(&key, &enc).unwrap(), data, "length {n}");
        }
    }

    #[test]
    fn hmac_sha1_known_answer() {
        // RFC 2202 test case 2.
        let mac = hmac_sha1(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn user_key_pads_and_truncates() {
        assert_eq!(&user_key("ab")[..3], b"ab\0");
        assert_eq!(user_key("x".repeat(30).as_str()), [b'x'; 20]);
    }
}
