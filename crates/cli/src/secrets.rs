//! Where the CLI gets secrets from: a file, an environment variable (for scripts), or a no-echo
//! prompt on a terminal. Secrets are never taken from a command-line argument, which any local
//! user could read from the process list.

use std::io::IsTerminal;
use std::path::Path;

use casebook_core::{Error, Passphrase, RecoveryKey, Result};
use zeroize::Zeroizing;

fn read_file(path: &Path) -> Result<Zeroizing<String>> {
    std::fs::read_to_string(path).map(Zeroizing::new).map_err(|e| Error::io(path, e))
}

fn prompt(label: &str) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::InvalidInput(format!(
            "{label} needed, but there is no terminal to ask on. Set CASEBOOK_PASSPHRASE (or CASEBOOK_NEW_PASSPHRASE), or use --passphrase-file."
        )));
    }
    rpassword::prompt_password(format!("{label}: ")).map(Zeroizing::new).map_err(|e| Error::io("terminal", e))
}

pub enum Unlocker {
    Passphrase(Passphrase),
    Recovery(RecoveryKey),
}

/// The secret that unlocks an existing vault: a recovery key if one was given, else the passphrase.
pub fn unlocker(passphrase_file: Option<&Path>, recovery_file: Option<&Path>) -> Result<Unlocker> {
    if let Some(path) = recovery_file {
        return Ok(Unlocker::Recovery(RecoveryKey::parse(&read_file(path)?)?));
    }
    if let Ok(text) = std::env::var("CASEBOOK_RECOVERY_KEY") {
        return Ok(Unlocker::Recovery(RecoveryKey::parse(&Zeroizing::new(text))?));
    }
    Ok(Unlocker::Passphrase(passphrase(passphrase_file, "Passphrase")?))
}

pub fn passphrase(file: Option<&Path>, label: &str) -> Result<Passphrase> {
    if let Some(path) = file {
        return Ok(Passphrase::new(read_file(path)?.to_string()));
    }
    if let Ok(text) = std::env::var("CASEBOOK_PASSPHRASE") {
        return Ok(Passphrase::new(text));
    }
    Ok(Passphrase::new(prompt(label)?.to_string()))
}

/// A new passphrase: from a file or CASEBOOK_NEW_PASSPHRASE, else asked twice on the terminal.
pub fn new_passphrase(file: Option<&Path>, env: &str) -> Result<Passphrase> {
    if let Some(path) = file {
        return Ok(Passphrase::new(read_file(path)?.to_string()));
    }
    if let Ok(text) = std::env::var(env) {
        return Ok(Passphrase::new(text));
    }
    let first = prompt("New passphrase")?;
    let second = prompt("Repeat the new passphrase")?;
    if first != second {
        return Err(Error::InvalidInput("The two passphrases differ; nothing was changed.".into()));
    }
    Ok(Passphrase::new(first.to_string()))
}
