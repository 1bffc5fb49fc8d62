//! Key slots, LUKS-style: the random vault key is stored only wrapped, once per unlock secret.
//! Each slot keeps its own Argon2id salt and cost, so the cost can be raised later slot by slot,
//! and changing the passphrase rewraps one slot instead of re-encrypting the database.
//!
//! File format (`keyslots.json`, see docs/threat-model.md): JSON, because it must stay readable
//! by a human restoring a vault by hand; nothing in it is secret without the unlock secret.

use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{fill_random, Passphrase, RecoveryKey, VaultKey};

pub const KEYSLOTS_FORMAT: u32 = 1;
pub const KEYSLOTS_FILE: &str = "keyslots.json";

/// Argon2id cost. The default takes ~0.7 s on a 2-core laptop (docs/performance.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams { memory_kib: 256 * 1024, iterations: 3, parallelism: 1 }
    }
}

impl KdfParams {
    /// The floor below which we refuse to wrap a key; low costs exist only for tests and scripts.
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;

    pub fn with_memory_mib(memory_mib: u32, iterations: u32) -> Result<Self> {
        let params = KdfParams { memory_kib: memory_mib.saturating_mul(1024), iterations, parallelism: 1 };
        params.validate()?;
        Ok(params)
    }

    fn validate(&self) -> Result<()> {
        if self.memory_kib < Self::MIN_MEMORY_KIB || self.iterations == 0 || self.parallelism == 0 {
            return Err(Error::InvalidInput(format!(
                "The key-derivation cost is too low: at least {} MiB of memory and 1 iteration are required.",
                Self::MIN_MEMORY_KIB / 1024
            )));
        }
        if self.memory_kib > 4 * 1024 * 1024 || self.iterations > 64 || self.parallelism > 16 {
            return Err(Error::InvalidInput("The key-derivation cost is unreasonably high.".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    Passphrase,
    Recovery,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub kind: SlotKind,
    pub kdf: String,
    pub kdf_params: KdfParams,
    pub salt: String,
    pub cipher: String,
    pub nonce: String,
    pub wrapped_key: String,
    /// SHA-256 over the fields above: tells a damaged slot from a wrong passphrase.
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySlots {
    pub format: u32,
    pub vault_id: String,
    pub slots: Vec<Slot>,
}

pub enum Secret<'a> {
    Passphrase(&'a Passphrase),
    Recovery(&'a RecoveryKey),
}

impl Secret<'_> {
    fn kind(&self) -> SlotKind {
        match self {
            Secret::Passphrase(_) => SlotKind::Passphrase,
            Secret::Recovery(_) => SlotKind::Recovery,
        }
    }
    fn bytes(&self) -> &[u8] {
        match self {
            Secret::Passphrase(p) => p.as_bytes(),
            Secret::Recovery(r) => r.as_bytes(),
        }
    }
    fn wrong(&self) -> Error {
        match self {
            Secret::Passphrase(_) => Error::WrongPassphrase,
            Secret::Recovery(_) => Error::WrongRecoveryKey,
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

fn unb64(text: &str, what: &str) -> Result<Vec<u8>> {
    data_encoding::BASE64
        .decode(text.as_bytes())
        .map_err(|_| Error::KeyslotDamaged(format!("{what} is not valid base64")))
}

fn derive(secret: &[u8], salt: &[u8], params: &KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    let argon_params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|e| Error::KeyslotDamaged(format!("invalid Argon2id parameters: {e}")))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(secret, salt, out.as_mut())
        .map_err(|e| Error::KeyslotDamaged(format!("key derivation failed: {e}")))?;
    Ok(out)
}

/// The slot's AEAD associated data binds it to this vault and to its kind and cost: a slot copied
/// from another vault, or with its parameters lowered by an attacker, does not unwrap.
fn associated_data(vault_id: &str, slot: &Slot) -> Vec<u8> {
    format!(
        "casebook-keyslot-v1|{vault_id}|{:?}|{}|{}|{}|{}",
        slot.kind, slot.kdf, slot.kdf_params.memory_kib, slot.kdf_params.iterations, slot.kdf_params.parallelism
    )
    .into_bytes()
}

fn slot_checksum(slot: &Slot) -> String {
    let mut h = Sha256::new();
    for part in [
        format!("{:?}", slot.kind),
        slot.kdf.clone(),
        format!("{}/{}/{}", slot.kdf_params.memory_kib, slot.kdf_params.iterations, slot.kdf_params.parallelism),
        slot.salt.clone(),
        slot.cipher.clone(),
        slot.nonce.clone(),
        slot.wrapped_key.clone(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

impl Slot {
    fn wrap(vault_id: &str, secret: &Secret<'_>, key: &VaultKey, params: KdfParams) -> Result<Slot> {
        params.validate()?;
        let mut salt = [0u8; 16];
        fill_random(&mut salt)?;
        let mut nonce = [0u8; 24];
        fill_random(&mut nonce)?;
        let mut slot = Slot {
            kind: secret.kind(),
            kdf: "argon2id-v19".into(),
            kdf_params: params,
            salt: b64(&salt),
            cipher: "xchacha20poly1305".into(),
            nonce: b64(&nonce),
            wrapped_key: String::new(),
            checksum: String::new(),
        };
        let kek = derive(secret.bytes(), &salt, &params)?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let aad = associated_data(vault_id, &slot);
        let wrapped = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: key.0.as_ref(), aad: &aad })
            .map_err(|_| Error::Storage("could not wrap the vault key".into()))?;
        slot.wrapped_key = b64(&wrapped);
        slot.checksum = slot_checksum(&slot);
        Ok(slot)
    }

    fn unwrap_key(&self, vault_id: &str, secret: &Secret<'_>) -> Result<VaultKey> {
        if self.kdf != "argon2id-v19" || self.cipher != "xchacha20poly1305" {
            return Err(Error::VaultTooNew { found: KEYSLOTS_FORMAT + 1, supported: KEYSLOTS_FORMAT });
        }
        let salt = unb64(&self.salt, "salt")?;
        let nonce = unb64(&self.nonce, "nonce")?;
        let wrapped = unb64(&self.wrapped_key, "wrapped key")?;
        if nonce.len() != 24 || salt.len() < 16 {
            return Err(Error::KeyslotDamaged("salt or nonce has the wrong length".into()));
        }
        self.kdf_params.validate().map_err(|_| Error::KeyslotDamaged("key-derivation cost out of range".into()))?;
        let kek = derive(secret.bytes(), &salt, &self.kdf_params)?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let aad = associated_data(vault_id, self);
        let plain = Zeroizing::new(
            cipher
                .decrypt(XNonce::from_slice(&nonce), Payload { msg: &wrapped, aad: &aad })
                .map_err(|_| secret.wrong())?,
        );
        let array: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| Error::KeyslotDamaged("wrapped key has the wrong length".into()))?;
        Ok(VaultKey(Zeroizing::new(array)))
    }
}

impl KeySlots {
    pub fn create(
        vault_id: &str,
        key: &VaultKey,
        passphrase: &Passphrase,
        recovery: &RecoveryKey,
        params: KdfParams,
    ) -> Result<Self> {
        Ok(KeySlots {
            format: KEYSLOTS_FORMAT,
            vault_id: vault_id.to_string(),
            slots: vec![
                Slot::wrap(vault_id, &Secret::Passphrase(passphrase), key, params)?,
                Slot::wrap(vault_id, &Secret::Recovery(recovery), key, params)?,
            ],
        })
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(KEYSLOTS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::KeyslotMissing(path.display().to_string()))
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        Self::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self> {
        // Read the format number first, so a newer file is "too new" rather than "damaged".
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::KeyslotDamaged(format!("not valid JSON ({e})")))?;
        let format = value
            .get("format")
            .and_then(|f| f.as_u64())
            .ok_or_else(|| Error::KeyslotDamaged("no format number".into()))?;
        if format > u64::from(KEYSLOTS_FORMAT) {
            return Err(Error::VaultTooNew { found: format as u32, supported: KEYSLOTS_FORMAT });
        }
        let slots: KeySlots =
            serde_json::from_value(value).map_err(|e| Error::KeyslotDamaged(format!("unexpected content ({e})")))?;
        for slot in &slots.slots {
            if slot_checksum(slot) != slot.checksum {
                return Err(Error::KeyslotDamaged(
                    format!("the {:?} slot fails its checksum", slot.kind).to_lowercase(),
                ));
            }
        }
        Ok(slots)
    }

    /// Crash-safe replace: write a sibling, fsync, rename over, fsync the directory.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(KEYSLOTS_FILE);
        let tmp = dir.join(format!("{KEYSLOTS_FILE}.tmp"));
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Storage(e.to_string()))?;
        text.push('\n');
        write_synced(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        sync_dir(dir);
        Ok(())
    }

    pub fn unlock(&self, secret: &Secret<'_>) -> Result<VaultKey> {
        let kind = secret.kind();
        let mut candidates = self.slots.iter().filter(|s| s.kind == kind).peekable();
        if candidates.peek().is_none() {
            return Err(Error::KeyslotMissing(format!("there is no {kind:?} slot").to_lowercase()));
        }
        let mut last = secret.wrong();
        for slot in candidates {
            match slot.unwrap_key(&self.vault_id, secret) {
                Ok(key) => return Ok(key),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Replace every slot of this secret's kind with one wrapping `key` under the new secret.
    pub fn rewrap(&mut self, secret: &Secret<'_>, key: &VaultKey, params: Option<KdfParams>) -> Result<()> {
        let kind = secret.kind();
        let params =
            params.or_else(|| self.slots.iter().find(|s| s.kind == kind).map(|s| s.kdf_params)).unwrap_or_default();
        let fresh = Slot::wrap(&self.vault_id, secret, key, params)?;
        self.slots.retain(|s| s.kind != kind);
        self.slots.push(fresh);
        self.slots.sort_by_key(|s| s.kind != SlotKind::Passphrase);
        Ok(())
    }

    pub fn passphrase_params(&self) -> Option<KdfParams> {
        self.slots.iter().find(|s| s.kind == SlotKind::Passphrase).map(|s| s.kdf_params)
    }
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) {
    // Best effort: makes the rename durable on power loss; not supported on every filesystem.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
