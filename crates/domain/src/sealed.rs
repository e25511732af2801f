//! Clinical free text at rest: one XChaCha20-Poly1305 ciphertext per value.
//!
//! A value is sealed under its organisation's data key with associated data
//! naming where it lives (organisation, table, column, row) and the key
//! version, so a ciphertext copied to another row, column or organisation —
//! or relabelled with another version — no longer opens. Data keys are
//! themselves sealed ("wrapped") under the master key, bound to their
//! organisation and version. Randomness comes in from the caller: the nonce
//! is a parameter, so everything here is deterministic and testable.
//!
//! Text form of a sealed value: `v1:<key version>:<base64url(nonce ‖ ciphertext)>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use uuid::Uuid;

/// The format tag every sealed value starts with.
pub const FORMAT: &str = "v1";
/// Bytes in a key (master or data key).
pub const KEY_BYTES: usize = 32;
/// Bytes in an XChaCha20 nonce: large enough to pick at random per value.
pub const NONCE_BYTES: usize = 24;
/// What a reader sees in place of clinical text that does not open: its
/// organisation's key was destroyed, or the stored value was moved or altered.
pub const UNREADABLE: &str = "[clinical text unreadable: its organisation's key was destroyed or the stored value does not belong to this record]";

/// The clinical free-text fields, each named once with where it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClinicalField {
    /// A client's screening notes on a group membership.
    ScreeningNotes,
    /// The note taken when attendance is marked on a seat.
    AttendanceNote,
    /// Notes on a waitlist entry.
    WaitlistNotes,
    /// Why a therapist is away.
    TimeOffReason,
    /// A member's short-text answers to a check-in.
    CheckInText,
    /// Why a client's membership of a group ended.
    ExitReason,
}

impl ClinicalField {
    pub const ALL: [ClinicalField; 6] = [
        ClinicalField::ScreeningNotes,
        ClinicalField::AttendanceNote,
        ClinicalField::WaitlistNotes,
        ClinicalField::TimeOffReason,
        ClinicalField::CheckInText,
        ClinicalField::ExitReason,
    ];

    pub fn table(self) -> &'static str {
        match self {
            ClinicalField::ScreeningNotes => "group_memberships",
            ClinicalField::AttendanceNote => "seats",
            ClinicalField::WaitlistNotes => "waitlist_entries",
            ClinicalField::TimeOffReason => "time_off",
            ClinicalField::CheckInText => "check_in_responses",
            ClinicalField::ExitReason => "group_memberships",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            ClinicalField::ScreeningNotes => "screening_notes",
            ClinicalField::AttendanceNote => "note",
            ClinicalField::WaitlistNotes => "notes",
            ClinicalField::TimeOffReason => "reason",
            ClinicalField::CheckInText => "text_answers",
            ClinicalField::ExitReason => "exit_reason",
        }
    }
}

/// Whether an organisation's data key seals new values (one active key per
/// organisation) or only opens values sealed before a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }
}

/// Whether stored text is in the sealed form at all. Text written before
/// clinical text was sealed is not, and reads as it is until a rotation
/// seals it.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(FORMAT) && stored.as_bytes().get(FORMAT.len()) == Some(&b':')
}

/// Where a sealed value lives: what its associated data binds it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub org: Uuid,
    pub field: ClinicalField,
    pub row: Uuid,
}

/// Why a sealed value or wrapped key did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsealable {
    #[error("not a sealed value (expected {FORMAT}:<key version>:<data>)")]
    Malformed,
    #[error("sealed under key version {0}, which this organisation no longer has")]
    MissingKey(u32),
    #[error("does not open here: moved from another record, altered, or sealed under another key")]
    Forged,
}

/// A 256-bit key. Its bytes never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_BYTES]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// A key file's content: 32 bytes written as 64 hex digits or as
    /// base64 (standard or URL-safe, padded or not); surrounding whitespace
    /// is ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let decoded = if text.len() == KEY_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| e.to_string())?
        } else {
            let unpadded = text.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
                .map_err(|_| format!("expected {KEY_BYTES} bytes as 64 hex digits or base64"))?
        };
        let bytes: [u8; KEY_BYTES] =
            decoded.try_into().map_err(|d: Vec<u8>| format!("expected {KEY_BYTES} bytes, found {}", d.len()))?;
        Ok(Self(bytes))
    }

    /// The key as 64 hex digits: how a new key file is written.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

/// An organisation's data key at one version, unwrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKey {
    pub version: u32,
    pub key: Key,
}

fn value_aad(place: &Place, version: u32) -> Vec<u8> {
    format!(
        "circles/{FORMAT}/value|{}|{}|{}|{}|{version}",
        place.org,
        place.field.table(),
        place.field.column(),
        place.row
    )
    .into_bytes()
}

fn key_aad(org: Uuid, version: u32) -> Vec<u8> {
    format!("circles/{FORMAT}/data-key|{org}|{version}").into_bytes()
}

fn seal_bytes(key: &Key, nonce: [u8; NONCE_BYTES], msg: &[u8], aad: &[u8]) -> Vec<u8> {
    let ciphertext = key
        .cipher()
        .encrypt(&XNonce::from(nonce), Payload { msg, aad })
        .expect("XChaCha20-Poly1305 seals any message shorter than 256 GiB");
    let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open_bytes(key: &Key, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, Unsealable> {
    if sealed.len() < NONCE_BYTES {
        return Err(Unsealable::Malformed);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Unsealable::Malformed)?;
    key.cipher().decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad }).map_err(|_| Unsealable::Forged)
}

/// Seals `plaintext` for `place` under `key`, with a fresh random `nonce`.
pub fn seal(key: &DataKey, place: &Place, nonce: [u8; NONCE_BYTES], plaintext: &str) -> String {
    let bytes = seal_bytes(&key.key, nonce, plaintext.as_bytes(), &value_aad(place, key.version));
    format!("{FORMAT}:{}:{}", key.version, URL_SAFE_NO_PAD.encode(bytes))
}

/// The key version a sealed value names, read before its key is looked up.
pub fn key_version(sealed: &str) -> Result<u32, Unsealable> {
    parts(sealed).map(|(version, _)| version)
}

fn parts(sealed: &str) -> Result<(u32, &str), Unsealable> {
    let mut parts = sealed.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(FORMAT), Some(version), Some(data)) => Ok((version.parse().map_err(|_| Unsealable::Malformed)?, data)),
        _ => Err(Unsealable::Malformed),
    }
}

/// Opens a value sealed for `place`. `key` must be the version the value
/// names ([`key_version`]); any other key, place or alteration fails.
pub fn open(key: &DataKey, place: &Place, sealed: &str) -> Result<String, Unsealable> {
    let (version, data) = parts(sealed)?;
    if version != key.version {
        return Err(Unsealable::MissingKey(version));
    }
    let bytes = URL_SAFE_NO_PAD.decode(data).map_err(|_| Unsealable::Malformed)?;
    let plain = open_bytes(&key.key, &bytes, &value_aad(place, version))?;
    String::from_utf8(plain).map_err(|_| Unsealable::Forged)
}

/// Wraps an organisation's data key under the master key, bound to the
/// organisation and the key's version.
pub fn wrap(master: &Key, org: Uuid, key: &DataKey, nonce: [u8; NONCE_BYTES]) -> Vec<u8> {
    seal_bytes(master, nonce, &key.key.0, &key_aad(org, key.version))
}

/// Unwraps a data key stored for `org` at `version`.
pub fn unwrap(master: &Key, org: Uuid, version: u32, wrapped: &[u8]) -> Result<DataKey, Unsealable> {
    let bytes = open_bytes(master, wrapped, &key_aad(org, version))?;
    let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| Unsealable::Malformed)?;
    Ok(DataKey { version, key: Key(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(byte: u8, version: u32) -> DataKey {
        DataKey { version, key: Key::from_bytes([byte; KEY_BYTES]) }
    }

    fn place(org: u128, field: ClinicalField, row: u128) -> Place {
        Place { org: Uuid::from_u128(org), field, row: Uuid::from_u128(row) }
    }

    #[test]
    fn a_sealed_value_names_its_format_and_key_version_and_hides_the_text() {
        let sealed = seal(&key(7, 3), &place(1, ClinicalField::AttendanceNote, 2), [9; NONCE_BYTES], "panic attack");
        assert!(sealed.starts_with("v1:3:"), "{sealed}");
        assert!(!sealed.contains("panic"));
        assert_eq!(key_version(&sealed), Ok(3));
    }

    #[test]
    fn a_value_under_another_version_asks_for_that_version() {
        let sealed = seal(&key(7, 3), &place(1, ClinicalField::AttendanceNote, 2), [9; NONCE_BYTES], "x");
        assert_eq!(
            open(&key(7, 4), &place(1, ClinicalField::AttendanceNote, 2), &sealed),
            Err(Unsealable::MissingKey(3))
        );
    }

    #[test]
    fn text_that_is_not_a_sealed_value_is_malformed() {
        let k = key(1, 1);
        let p = place(1, ClinicalField::TimeOffReason, 1);
        for bad in ["plain words", "v1:one:abc", "v2:1:abc", "v1:1:!!!", "v1:1:AAAA"] {
            assert_eq!(open(&k, &p, bad), Err(Unsealable::Malformed), "{bad}");
        }
    }

    #[test]
    fn key_files_are_read_as_hex_or_base64() {
        let hex_text = "00".repeat(31) + "ff";
        assert_eq!(Key::parse(&format!(" {hex_text}\n")).unwrap().to_hex(), hex_text);
        let b64 = base64::engine::general_purpose::STANDARD.encode([0xffu8; KEY_BYTES]);
        assert_eq!(Key::parse(&b64).unwrap(), Key::from_bytes([0xff; KEY_BYTES]));
        assert!(Key::parse("abc").unwrap_err().contains("32 bytes"));
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn keys_do_not_print_their_bytes() {
        assert_eq!(format!("{:?}", key(5, 1)), "DataKey { version: 1, key: Key(..) }");
    }

    fn field() -> impl Strategy<Value = ClinicalField> {
        prop::sample::select(ClinicalField::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn sealed_values_open_only_where_they_were_sealed(
            text in ".{0,200}",
            key_byte in any::<u8>(),
            version in 1u32..1000,
            org in any::<u128>(),
            row in any::<u128>(),
            field in field(),
            other_field in field(),
            nonce in any::<[u8; NONCE_BYTES]>(),
            other in any::<u128>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let k = key(key_byte, version);
            let here = place(org, field, row);
            let sealed = seal(&k, &here, nonce, &text);
            prop_assert_eq!(open(&k, &here, &sealed), Ok(text.clone()));

            prop_assume!(other != org && other != row);
            prop_assert!(open(&k, &place(other, field, row), &sealed).is_err());
            prop_assert!(open(&k, &place(org, field, other), &sealed).is_err());
            if other_field != field {
                prop_assert!(open(&k, &place(org, other_field, row), &sealed).is_err());
            }
            // Relabelled with another version, even under the same key bytes.
            let relabelled = sealed.replacen(&format!("v1:{version}:"), &format!("v1:{}:", version + 1), 1);
            prop_assert!(open(&key(key_byte, version + 1), &here, &relabelled).is_err());
            // Another key.
            prop_assert!(open(&key(key_byte.wrapping_add(1), version), &here, &sealed).is_err());
            // Any flipped bit of nonce, ciphertext or tag.
            let (_, data) = sealed.rsplit_once(':').unwrap();
            let mut bytes = URL_SAFE_NO_PAD.decode(data).unwrap();
            let i = flip.index(bytes.len());
            bytes[i] ^= 0x01;
            let tampered = format!("v1:{version}:{}", URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(open(&k, &here, &tampered), Err(Unsealable::Forged));
        }

        #[test]
        fn wrapped_keys_unwrap_only_for_their_organisation_and_version(
            master_byte in any::<u8>(),
            key_byte in any::<u8>(),
            version in 1u32..1000,
            org in any::<u128>(),
            other in any::<u128>(),
            nonce in any::<[u8; NONCE_BYTES]>(),
        ) {
            let master = Key::from_bytes([master_byte; KEY_BYTES]);
            let data = key(key_byte, version);
            let wrapped = wrap(&master, Uuid::from_u128(org), &data, nonce);
            prop_assert_eq!(unwrap(&master, Uuid::from_u128(org), version, &wrapped), Ok(data));
            prop_assume!(other != org);
            prop_assert!(unwrap(&master, Uuid::from_u128(other), version, &wrapped).is_err());
            prop_assert!(unwrap(&master, Uuid::from_u128(org), version + 1, &wrapped).is_err());
            let other_master = Key::from_bytes([master_byte.wrapping_add(1); KEY_BYTES]);
            prop_assert!(unwrap(&other_master, Uuid::from_u128(org), version, &wrapped).is_err());
        }
    }
}
