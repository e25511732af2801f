//! Bearer tokens: 256 random bits, shown to their owner once, stored only as
//! a SHA-256 hash (a secret this random needs no slow hash).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Session tokens (from password login) and API tokens look alike but carry
/// a prefix, so a leaked one is recognisable in logs and secret scanners.
pub const SESSION_PREFIX: &str = "cis_";
pub const API_PREFIX: &str = "cia_";

pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
