//! The vault: a folder holding one SQLCipher database (`vault.db`, plus its -wal/-shm while open)
//! and `keyslots.json`. A folder rather than one file because SQLite needs its WAL beside the
//! database, and because the key slots must be rewritten (passphrase change) without touching
//! the database. Backups pack both into one file (see `backup`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::keyslots::{sync_dir, KdfParams, KeySlots, Secret};
use crate::schema;
use crate::secret::{Passphrase, RecoveryKey, VaultKey};

/// Statements kept prepared (store::Cached): the write path uses a few dozen.
const STATEMENT_CACHE: usize = 64;

pub const DB_FILE: &str = "vault.db";
const BACKUP_MAGIC: &[u8] = b"CASEBOOK-BACKUP-1\n";

/// How a vault is unlocked.
pub enum Unlock<'a> {
    Passphrase(&'a Passphrase),
    Recovery(&'a RecoveryKey),
}

impl<'a> Unlock<'a> {
    fn secret(&self) -> Secret<'a> {
        match *self {
            Unlock::Passphrase(p) => Secret::Passphrase(p),
            Unlock::Recovery(r) => Secret::Recovery(r),
        }
    }
}

pub struct Vault {
    pub(crate) conn: Connection,
    dir: PathBuf,
    pub(crate) device: String,
    pub(crate) clock: Hlc,
    key: VaultKey,
    /// In a team: local changes go to the sync outbox (sync.rs).
    pub(crate) tracking: bool,
}

impl Vault {
    /// Bytes the vault's database takes on disk, write-ahead log included.
    pub fn file_size(&self) -> Result<u64> {
        let db = db_path(&self.dir);
        let wal = db.with_extension("db-wal");
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        Ok(size(&db) + size(&wal))
    }
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// Statements every vault connection runs right after keying.
/// The large page cache is what keeps SQLCipher's per-page cost low (docs/performance.md).
pub(crate) const CONNECTION_PRAGMAS: &str = "
    PRAGMA foreign_keys = ON;
    PRAGMA secure_delete = ON;
    PRAGMA temp_store = MEMORY;
    PRAGMA synchronous = FULL;
    PRAGMA cache_size = -65536;
";

fn key_connection(conn: &Connection, key: &VaultKey) -> Result<()> {
    // SQLCipher logs to stderr by default; a CLI user would see noise on every wrong key.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
    let literal = key.pragma_literal();
    conn.pragma_update(None, "key", literal.as_str())?;
    Ok(())
}

/// SQLCipher accepts any key and fails only at the first read, so read right away.
fn verify_readable(conn: &Connection) -> Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).map_err(
        |e| match Error::from(e) {
            Error::VaultCorrupt(_) => Error::VaultCorrupt(
                "the key from the key file does not open the database, so the database file is damaged or was replaced"
                    .into(),
            ),
            other => other,
        },
    )?;
    Ok(())
}

impl Vault {
    pub fn exists(dir: &Path) -> bool {
        db_path(dir).exists() || dir.join(crate::keyslots::KEYSLOTS_FILE).exists()
    }

    /// Create a new vault. Returns the recovery key, which is shown to the user once and stored nowhere.
    pub fn create(dir: &Path, passphrase: &Passphrase, kdf: KdfParams) -> Result<(Vault, RecoveryKey)> {
        Self::create_at_version(dir, passphrase, kdf, schema::LATEST)
    }

    #[doc(hidden)]
    /// Creates a vault whose schema stops at `version`: lets tests prove every older vault migrates.
    pub fn create_at_version(
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        version: u32,
    ) -> Result<(Vault, RecoveryKey)> {
        if Self::exists(dir) {
            return Err(Error::VaultExists(dir.to_path_buf()));
        }
        if passphrase.char_count() < 8 {
            return Err(Error::InvalidInput(
                "The passphrase is too short: use at least 8 characters, ideally several words.".into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        restrict_permissions(dir);
        let key = VaultKey::random()?;
        let recovery = RecoveryKey::random()?;
        let vault_id = Uuid::now_v7().to_string();
        let slots = KeySlots::create(&vault_id, &key, passphrase, &recovery, kdf)?;

        let conn = Connection::open_with_flags(
            db_path(dir),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        key_connection(&conn, &key)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(CONNECTION_PRAGMAS)?;
        let device = Uuid::now_v7().simple().to_string()[..12].to_string();
        let mut vault = Vault { conn, dir: dir.to_path_buf(), device, clock: Hlc::default(), key, tracking: false };
        schema::migrate(&mut vault, version)?;
        vault.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('vault_id', ?1), ('device', ?2)",
            (&vault_id, &vault.device),
        )?;
        // Slots last: a crash before this leaves a folder that is plainly unfinished, never a
        // database whose key was lost.
        slots.save(dir)?;
        restrict_permissions(&db_path(dir));
        restrict_permissions(&dir.join(crate::keyslots::KEYSLOTS_FILE));
        Ok((vault, recovery))
    }

    pub fn open(dir: &Path, unlock: Unlock<'_>) -> Result<Vault> {
        let db = db_path(dir);
        if !db.exists() {
            if dir.join(crate::keyslots::KEYSLOTS_FILE).exists() {
                return Err(Error::VaultCorrupt(format!("{} is missing", db.display())));
            }
            return Err(Error::VaultNotFound(dir.to_path_buf()));
        }
        let slots = KeySlots::load(dir)?;
        let key = slots.unlock(&unlock.secret())?;
        // Nothing is written until the file has proved readable. CREATE is needed only so that
        // ATTACH can create a backup file; the database itself was checked to exist above.
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        key_connection(&conn, &key)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        verify_readable(&conn)?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > schema::LATEST {
            return Err(Error::VaultTooNew { found: version, supported: schema::LATEST });
        }
        if version == 0 {
            return Err(Error::VaultCorrupt("the database holds no Casebook schema".into()));
        }
        schema::quick_structure_check(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(CONNECTION_PRAGMAS)?;
        let device: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'device'", [], |r| r.get(0))
            .map_err(|_| Error::VaultCorrupt("the vault has no device id".into()))?;
        let mut vault = Vault { conn, dir: dir.to_path_buf(), device, clock: Hlc::default(), key, tracking: false };
        vault.clock = vault.last_clock()?;
        schema::migrate(&mut vault, schema::LATEST)?;
        vault.tracking = crate::sync::in_team(&vault.conn)?;
        Ok(vault)
    }

    fn last_clock(&self) -> Result<Hlc> {
        let last: Option<String> = self.conn.query_row("SELECT max(hlc) FROM audit", [], |r| r.get(0))?;
        Ok(last.as_deref().and_then(Hlc::parse).unwrap_or_default())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn schema_version(&self) -> Result<u32> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Rewrap the passphrase slot under a new passphrase. The database is not re-encrypted and the
    /// recovery key keeps working. `kdf` raises (or keeps) the slot's Argon2id cost.
    pub fn change_passphrase(&mut self, new: &Passphrase, kdf: Option<KdfParams>) -> Result<()> {
        if new.char_count() < 8 {
            return Err(Error::InvalidInput(
                "The new passphrase is too short: use at least 8 characters, ideally several words.".into(),
            ));
        }
        let mut slots = KeySlots::load(&self.dir)?;
        slots.rewrap(&Secret::Passphrase(new), &self.key, kdf)?;
        slots.save(&self.dir)
    }

    /// Change the passphrase slot after proving the current passphrase: for the desktop app,
    /// where an unlocked window alone must not be enough to change (or weaken) the key.
    pub fn change_passphrase_checked(
        &mut self,
        current: &Passphrase,
        new: &Passphrase,
        kdf: Option<KdfParams>,
    ) -> Result<()> {
        KeySlots::load(&self.dir)?.unlock(&Secret::Passphrase(current))?;
        self.change_passphrase(new, kdf)
    }

    /// The Argon2id cost of the passphrase slot.
    pub fn passphrase_kdf(&self) -> Result<Option<KdfParams>> {
        Ok(KeySlots::load(&self.dir)?.passphrase_params())
    }

    /// A consistent, still-encrypted copy of the open vault, keys included, as one file:
    /// `CASEBOOK-BACKUP-1\n`, a 4-byte big-endian length, the key slots JSON, then the SQLCipher
    /// database (encrypted with the same vault key). Written beside `out` and renamed into place.
    pub fn backup(&self, out: &Path) -> Result<u64> {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let staging = parent.join(format!(".casebook-backup-{}.db", Uuid::now_v7().simple()));
        let result = (|| {
            // ATTACH without KEY gives the copy the main database's key: it never exists unencrypted.
            self.conn.execute("ATTACH DATABASE ?1 AS backup", [staging.to_string_lossy()])?;
            let exported = self.conn.query_row("SELECT sqlcipher_export('backup')", [], |_| Ok(()));
            let version = self.schema_version()?;
            let set_version = self.conn.execute_batch(&format!("PRAGMA backup.user_version = {version};"));
            self.conn.execute_batch("DETACH DATABASE backup")?;
            exported?;
            set_version?;
            let slots = std::fs::read(self.dir.join(crate::keyslots::KEYSLOTS_FILE))
                .map_err(|e| Error::io(self.dir.join(crate::keyslots::KEYSLOTS_FILE), e))?;
            let db = std::fs::read(&staging).map_err(|e| Error::io(&staging, e))?;
            let mut bytes = Vec::with_capacity(BACKUP_MAGIC.len() + 4 + slots.len() + db.len());
            bytes.extend_from_slice(BACKUP_MAGIC);
            bytes.extend_from_slice(&(slots.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&slots);
            bytes.extend_from_slice(&db);
            let tmp = out.with_extension("partial");
            crate::keyslots::write_synced(&tmp, &bytes)?;
            std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
            sync_dir(parent);
            Ok(bytes.len() as u64)
        })();
        let _ = std::fs::remove_file(&staging);
        result
    }

    /// Unpack a backup into a new vault folder. The result opens with the passphrase or recovery
    /// key that were valid when the backup was made.
    pub fn restore(backup: &Path, dir: &Path) -> Result<()> {
        if Self::exists(dir) {
            return Err(Error::VaultExists(dir.to_path_buf()));
        }
        let bytes = std::fs::read(backup).map_err(|e| Error::io(backup, e))?;
        let not_backup = || Error::InvalidInput(format!("{} is not a Casebook backup file.", backup.display()));
        let rest = bytes.strip_prefix(BACKUP_MAGIC).ok_or_else(not_backup)?;
        let len_bytes: [u8; 4] = rest.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(not_backup)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let slots = rest.get(4..4 + len).ok_or_else(not_backup)?;
        let db = &rest[4 + len..];
        KeySlots::parse(slots)?;
        if db.is_empty() {
            return Err(not_backup());
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        restrict_permissions(dir);
        crate::keyslots::write_synced(&db_path(dir), db)?;
        crate::keyslots::write_synced(&dir.join(crate::keyslots::KEYSLOTS_FILE), slots)?;
        sync_dir(dir);
        Ok(())
    }

    /// Locking is dropping: SQLCipher wipes its key schedule on close and `VaultKey` zeroizes ours.
    pub fn lock(self) {
        drop(self);
    }
}

/// A file for something the user asked to take out of the vault (an export, a decrypted copy, a
/// key): owner-only from its first byte. `replace: false` refuses to write over an existing file.
pub fn create_private(path: &Path, replace: bool) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| Error::io(path, e))
}

/// Owner-only: other local accounts cannot even copy the ciphertext for offline guessing.
#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

impl Vault {
    #[doc(hidden)]
    /// An UNENCRYPTED database with the vault's schema and pragmas, for the benchmark's baseline
    /// only: the same write path measured without SQLCipher. Never used for user data.
    pub fn create_unencrypted_for_benchmark(path: &Path) -> Result<Vault> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(CONNECTION_PRAGMAS)?;
        let key = VaultKey::random()?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut vault = Vault { conn, dir, device: "benchmark".into(), clock: Hlc::default(), key, tracking: false };
        schema::migrate(&mut vault, schema::LATEST)?;
        vault.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('device', 'benchmark')", [])?;
        Ok(vault)
    }
}

impl Vault {
    #[doc(hidden)]
    /// Stamps a schema version without migrating: lets tests build a vault "from a newer Casebook".
    pub fn debug_set_schema_version(&self, version: u32) -> Result<()> {
        self.conn.pragma_update(None, "user_version", version)?;
        Ok(())
    }
}
