//! One error type for the core. Every variant has a stable `code` that the CLI prints and the
//! desktop shell sends across IPC, and a message a non-engineer can act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("The passphrase is not correct. Nothing was changed; check the keyboard layout and try again.")]
    WrongPassphrase,
    #[error("The recovery key is not correct. Nothing was changed; check it letter by letter and try again.")]
    WrongRecoveryKey,
    #[error("No vault was found at {0}. Create one with `casebook init`, or point to it with --vault.")]
    VaultNotFound(PathBuf),
    #[error("A vault already exists at {0}. Nothing was overwritten.")]
    VaultExists(PathBuf),
    #[error(
        "The vault file is damaged or is not a Casebook vault ({0}). It was not modified; restore it from a backup."
    )]
    VaultCorrupt(String),
    #[error("This vault was written by a newer version of Casebook (format {found}, this version reads up to {supported}). Update Casebook to open it; the vault was not modified.")]
    VaultTooNew { found: u32, supported: u32 },
    #[error("The vault's key file (keyslots.json) is missing: {0}. Without it the vault cannot be unlocked; restore it from a backup.")]
    KeyslotMissing(String),
    #[error("The vault's key file (keyslots.json) is damaged: {0}. It was not modified; restore it from a backup.")]
    KeyslotDamaged(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("Record {record}: field `{field}`: {problem}")]
    InvalidRecord { record: String, field: String, problem: String },
    #[error("Not found: {0}")]
    NotFound(String),
    #[error("Already exists: {0}")]
    Duplicate(String),
    /// An import would overwrite records that exist with other content, and was not told to.
    #[error("{0}")]
    ConfirmationNeeded(String),
    #[error("{0} cannot be deleted while other records refer to it: {1}. Unlink or delete those first.")]
    InUse(String, String),
    #[error("The disk is full. Nothing was saved; free some space and try again.")]
    DiskFull,
    #[error("Could not read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("Storage error: {0}")]
    Storage(String),
    /// A case bundle that cannot be opened or trusted; `code` says why (docs/bundle-format.md).
    #[error("{message}")]
    Bundle { code: &'static str, message: String },
    /// Team sync could not be done or trusted; `code` says why (docs/sync.md).
    #[error("{message}")]
    Sync { code: &'static str, message: String },
}

impl Error {
    /// Stable, documented code (docs/cli.md). Never rename one: scripts and the UI match on it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongPassphrase => "wrong_passphrase",
            Error::WrongRecoveryKey => "wrong_recovery_key",
            Error::VaultNotFound(_) => "vault_not_found",
            Error::VaultExists(_) => "vault_exists",
            Error::VaultCorrupt(_) => "vault_corrupt",
            Error::VaultTooNew { .. } => "vault_too_new",
            Error::KeyslotMissing(_) => "keyslot_missing",
            Error::KeyslotDamaged(_) => "keyslot_damaged",
            Error::InvalidInput(_) => "invalid_input",
            Error::InvalidRecord { .. } => "invalid_record",
            Error::NotFound(_) => "not_found",
            Error::Duplicate(_) => "duplicate",
            Error::InUse(..) => "record_in_use",
            Error::ConfirmationNeeded(_) => "confirmation_needed",
            Error::DiskFull => "disk_full",
            Error::Io { .. } => "io_error",
            Error::Storage(_) => "storage_error",
            Error::Bundle { code, .. } | Error::Sync { code, .. } => code,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if source.raw_os_error() == Some(28) {
            return Error::DiskFull;
        }
        // A bundle's decryption layer reports damage through io::Error; keep its own code.
        if let Some(fault) = source.get_ref().and_then(|e| e.downcast_ref::<crate::bundle::Fault>()) {
            return Error::bundle(fault.code, fault.message.clone());
        }
        Error::Io { path: path.into(), source }
    }

    pub fn bundle(code: &'static str, message: impl Into<String>) -> Self {
        Error::Bundle { code, message: message.into() }
    }

    pub fn sync(code: &'static str, message: impl Into<String>) -> Self {
        Error::Sync { code, message: message.into() }
    }

    pub fn invalid(record: impl Into<String>, field: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::InvalidRecord { record: record.into(), field: field.into(), problem: problem.into() }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        if let rusqlite::Error::SqliteFailure(f, ref msg) = e {
            return match f.code {
                ErrorCode::DiskFull => Error::DiskFull,
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                    Error::VaultCorrupt(msg.clone().unwrap_or_else(|| "unreadable page".into()))
                }
                _ => Error::Storage(e.to_string()),
            };
        }
        Error::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidInput(format!("Malformed JSON: {e}"))
    }
}
