//! The vault's identity for exchanging bundles with partners: an age X25519 key pair to receive
//! (partners encrypt to its recipient) and an Ed25519 key pair to sign what this vault sends.
//! The secret halves live only inside the encrypted vault (`meta`), are created on first use,
//! and are held in zeroizing memory; the public card carries a short fingerprint that two people
//! can read to each other over the phone.

use age::secrecy::ExposeSecret;
use data_encoding::BASE64;
use ed25519_dalek::SigningKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::vault::Vault;

const AGE_KEY: &str = "identity.age";
const SIGNING_KEY: &str = "identity.ed25519";

/// What a partner needs to send to this vault and to check what it sends.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PublicCard {
    /// age recipient (`age1…`): partners encrypt bundles to it.
    pub recipient: String,
    /// `ed25519:` + base64 of the public key: bundles from this vault are signed with it.
    pub signing_key: String,
    /// Four groups of four letters and digits, to compare by phone.
    pub fingerprint: String,
}

/// The fingerprint of a recipient and signing key pair, in groups a person can read aloud.
pub fn fingerprint(recipient: &str, signing_key: &str) -> String {
    let digest = Sha256::digest(format!("casebook-identity-v1\n{recipient}\n{signing_key}\n").as_bytes());
    let text = data_encoding::BASE32_NOPAD.encode(&digest[..10]);
    text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// A signing key as written on a public card: `ed25519:` and the base64 of its 32 bytes.
pub fn format_signing_key(key: &ed25519_dalek::VerifyingKey) -> String {
    format!("ed25519:{}", BASE64.encode(key.as_bytes()))
}

/// The key written by `format_signing_key`, if the text is one.
pub fn parse_signing_key(text: &str) -> Option<ed25519_dalek::VerifyingKey> {
    let bytes = text.trim().strip_prefix("ed25519:").and_then(|b| BASE64.decode(b.as_bytes()).ok())?;
    ed25519_dalek::VerifyingKey::from_bytes(&<[u8; 32]>::try_from(bytes.as_slice()).ok()?).ok()
}

/// Checks a partner's public keys, with messages a person can act on.
pub fn check_public_keys(
    recipient: Option<&str>,
    signing_key: Option<&str>,
) -> std::result::Result<(), (String, String)> {
    if let Some(r) = recipient {
        r.trim().parse::<age::x25519::Recipient>().map_err(|_| {
            (
                "age_recipient".to_string(),
                "not an age recipient: it starts with age1 and is 62 characters long".to_string(),
            )
        })?;
    }
    if let Some(k) = signing_key {
        if parse_signing_key(k).is_none() {
            return Err((
                "signing_key".to_string(),
                "not a signing key: it looks like ed25519: followed by 44 characters".to_string(),
            ));
        }
    }
    Ok(())
}

impl Vault {
    fn meta_secret(&self, key: &str) -> Result<Option<Zeroizing<String>>> {
        let value: Option<String> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [key],
            |r| r.get(0),
        ))?;
        Ok(value.map(Zeroizing::new))
    }

    /// Creates the key pairs the first time (one transaction, both or neither).
    fn ensure_identity(&mut self) -> Result<()> {
        if self.meta_secret(AGE_KEY)?.is_some() && self.meta_secret(SIGNING_KEY)?.is_some() {
            return Ok(());
        }
        let age_identity = age::x25519::Identity::generate();
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| Error::Storage(format!("no randomness for a key: {e}")))?;
        let seed_text = Zeroizing::new(BASE64.encode(seed.as_ref()));
        let w = self.writer()?;
        w.tx.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES (?1, ?2), (?3, ?4)",
            rusqlite::params![AGE_KEY, age_identity.to_string().expose_secret(), SIGNING_KEY, seed_text.as_str()],
        )?;
        w.commit()
    }

    pub(crate) fn age_identity(&mut self) -> Result<age::x25519::Identity> {
        self.ensure_identity()?;
        let text = self.meta_secret(AGE_KEY)?.ok_or_else(|| Error::VaultCorrupt("identity missing".into()))?;
        text.parse().map_err(|_| Error::VaultCorrupt("the vault's identity key is damaged".into()))
    }

    pub(crate) fn signing_key(&mut self) -> Result<SigningKey> {
        self.ensure_identity()?;
        let text = self.meta_secret(SIGNING_KEY)?.ok_or_else(|| Error::VaultCorrupt("identity missing".into()))?;
        let bytes = Zeroizing::new(BASE64.decode(text.as_bytes()).map_err(|_| damaged())?);
        let seed: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| damaged())?;
        Ok(SigningKey::from_bytes(seed))
    }

    /// This vault's public card (created on first use).
    pub fn identity(&mut self) -> Result<PublicCard> {
        let recipient = self.age_identity()?.to_public().to_string();
        let signing_key = format_signing_key(&self.signing_key()?.verifying_key());
        let fingerprint = fingerprint(&recipient, &signing_key);
        Ok(PublicCard { recipient, signing_key, fingerprint })
    }

    /// The age identity file's text (`AGE-SECRET-KEY-1…`), for `age -d -i` outside Casebook.
    /// A secret: the caller writes it only where the user asked, with a warning.
    pub fn age_identity_file(&mut self) -> Result<Zeroizing<String>> {
        let identity = self.age_identity()?;
        let card = self.identity()?;
        Ok(Zeroizing::new(format!(
            "# Casebook vault identity, fingerprint {}\n# public key: {}\n{}\n",
            card.fingerprint,
            card.recipient,
            identity.to_string().expose_secret()
        )))
    }
}

fn damaged() -> Error {
    Error::VaultCorrupt("the vault's signing key is damaged".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_short_groups_and_change_with_either_key() {
        let a = fingerprint("age1abc", "ed25519:xyz");
        assert_eq!(a.len(), 19, "{a}");
        assert_eq!(a.split('-').count(), 4);
        assert_ne!(a, fingerprint("age1abd", "ed25519:xyz"));
        assert_ne!(a, fingerprint("age1abc", "ed25519:xyw"));
    }
}
