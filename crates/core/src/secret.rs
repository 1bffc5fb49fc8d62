//! Secret material. None of these types is `Debug`, `Clone` or `Serialize`, and all of them wipe
//! their bytes when dropped, so a secret cannot end up in a log line or a stray copy by accident.

use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// What the user types. Kept as bytes because Argon2 reads bytes.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(mut text: String) -> Self {
        // A trailing newline from a file or a pipe is never part of a passphrase.
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        Passphrase(Zeroizing::new(text))
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

/// 256 random bits that open the SQLCipher database. Exists in memory only while unlocked.
pub struct VaultKey(pub(crate) Zeroizing<[u8; 32]>);

impl VaultKey {
    pub(crate) fn random() -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        fill_random(key.as_mut())?;
        Ok(VaultKey(key))
    }
    /// The `PRAGMA key` literal: a raw key, so SQLCipher skips its own PBKDF2 (we already ran Argon2id).
    pub(crate) fn pragma_literal(&self) -> Zeroizing<String> {
        let mut hex = Zeroizing::new(hex::encode(self.0.as_ref()));
        let literal = Zeroizing::new(format!("x'{}'", hex.as_str()));
        hex.zeroize();
        literal
    }
}

/// The recovery key shown once at vault creation: 256 random bits written as 13 groups of
/// base32, e.g. `ABCD-EFGH-…`. Base32 avoids letters that are confused when read aloud or copied by hand.
pub struct RecoveryKey(Zeroizing<[u8; 32]>);

impl RecoveryKey {
    pub(crate) fn random() -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        fill_random(key.as_mut())?;
        Ok(RecoveryKey(key))
    }
    pub fn parse(text: &str) -> Result<Self> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect(),
        );
        let bytes = Zeroizing::new(
            data_encoding::BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| Error::WrongRecoveryKey)?,
        );
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::WrongRecoveryKey)?;
        Ok(RecoveryKey(Zeroizing::new(array)))
    }
    pub fn display(&self) -> Zeroizing<String> {
        let encoded = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(self.0.as_ref()));
        let groups: Vec<&str> =
            encoded.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        Zeroizing::new(groups.join("-"))
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Storage(format!("the system random generator failed: {e}")))
}
