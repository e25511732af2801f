//! argon2id password hashes (PHC strings).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use circles_domain::input::Password;

#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
}

impl PasswordHashing {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 settings: {e}"))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashing is deliberately slow, so it runs off the async workers.
    pub async fn hash(&self, password: &Password) -> String {
        let argon2 = self.argon2();
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2.hash_password(password.as_bytes(), &salt).expect("argon2 hashing cannot fail").to_string()
        })
        .await
        .expect("hashing task")
    }

    /// Checks `password` against a stored hash; the hash carries its own
    /// parameters, so older hashes keep verifying after a cost change.
    pub async fn verify(&self, password: &str, hash: &str) -> bool {
        let password = password.to_owned();
        let hash = hash.to_owned();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    /// Burns the same time as a real verification, so a login for an
    /// unknown e-mail is not faster than one with a wrong password.
    pub async fn verify_dummy(&self, password: &str) {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let argon2 = self.argon2();
        let hash = DUMMY
            .get_or_init(|| {
                let salt = SaltString::generate(&mut OsRng);
                argon2.hash_password(b"not a real password", &salt).expect("hash").to_string()
            })
            .clone();
        self.verify(password, &hash).await;
    }
}
