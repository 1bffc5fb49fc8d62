//! Case bundles (docs/bundle-format.md): one file that only the named partners can open, that
//! proves who sent it and that nothing changed, and that carries only what the sender chose.
//!
//! Layout: an age file (X25519 recipients) whose plaintext is a strict POSIX ustar stream:
//! `manifest.json`, `manifest.sig` (Ed25519 over the manifest's exact bytes), `records.jsonl`
//! (one record per line, each line's SHA-256 in the manifest) and `attachments/<id>` (each file's
//! SHA-256 and size in the manifest). A partner can open it with `age -d | tar -x`.
//!
//! We read only what we write: fixed entry names in a fixed order, regular files, sizes checked
//! against limits before anything is read, no compression (so no decompression bombs). The reader
//! is ours rather than a general tar crate so that this attack surface stays small and fuzzable.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::Path;

use data_encoding::BASE64;
use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::exchange::{parse_record, Item};
use crate::model::{Body, Kind, Name};
use crate::store::{now_timestamp, Record};
use crate::vault::Vault;

pub const FORMAT: &str = "casebook-bundle";
pub const VERSION: u32 = 1;
/// Limits checked before the bytes they describe are read.
pub const MAX_MANIFEST_BYTES: u64 = 128 << 20;
pub const MAX_RECORDS_BYTES: u64 = 1 << 30;
pub const MAX_RECORD_LINE: usize = 16 << 20;
pub const MAX_RECORDS: usize = 1_000_000;
pub const MAX_ATTACHMENTS: usize = 100_000;
pub const MAX_ATTACHMENT_BYTES: u64 = 1 << 40;
/// Photos larger than this are sent as they are: stripping holds the whole file in memory.
pub const MAX_STRIP_BYTES: u64 = 256 << 20;

const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.sig";
const RECORDS: &str = "records.jsonl";
const ATTACHMENTS: &str = "attachments/";
const BLOCK: usize = 512;

/// A bundle problem carried through `io::Error` (the age layer reports through io), turned back
/// into `Error::Bundle` by `Error::io`.
#[derive(Debug)]
pub struct Fault {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fault {}

fn malformed(message: impl Into<String>) -> Error {
    Error::bundle("bundle_malformed", message)
}

fn too_large(message: impl Into<String>) -> Error {
    Error::bundle("bundle_too_large", message)
}

fn hash_mismatch(what: impl std::fmt::Display) -> Error {
    Error::bundle(
        "bundle_hash_mismatch",
        format!("{what} does not match the hash its sender signed: the bundle was altered. Nothing was imported."),
    )
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ------------------------------------------------------------------------------- redaction

/// What the sender removes before the records leave the vault. The profiles are presets of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// People's phone numbers, e-mail and messenger addresses.
    #[serde(default)]
    pub drop_contacts: bool,
    /// Victims and witnesses become "Person XXXX": names, birth date, contacts, residence,
    /// affiliations, notes and their own attachments are left out.
    #[serde(default)]
    pub pseudonymise: bool,
    /// Places keep only country and region; attachments lose their GPS position.
    #[serde(default)]
    pub coarsen_places: bool,
    /// No attachment records and no files.
    #[serde(default)]
    pub drop_attachments: bool,
    /// Photos are sent without EXIF (camera, GPS, capture time); the vault keeps the original.
    #[serde(default)]
    pub strip_exif: bool,
}

impl Redaction {
    pub const PROFILES: [&'static str; 5] = ["full", "no-contacts", "pseudonymised", "region", "no-attachments"];

    /// A named profile; several combine (the "custom" profile is any combination).
    pub fn profile(name: &str) -> Result<Redaction> {
        let mut r = Redaction::default();
        match name {
            "full" => {}
            "no-contacts" => r.drop_contacts = true,
            "pseudonymised" => {
                r.pseudonymise = true;
                r.drop_contacts = true;
            }
            "region" => {
                r.coarsen_places = true;
                r.strip_exif = true;
            }
            "no-attachments" => r.drop_attachments = true,
            other => {
                return Err(Error::InvalidInput(format!(
                    "'{other}' is not a redaction profile; use one of: {}",
                    Self::PROFILES.join(", ")
                )))
            }
        }
        Ok(r)
    }

    pub fn union(self, other: Redaction) -> Redaction {
        Redaction {
            drop_contacts: self.drop_contacts || other.drop_contacts,
            pseudonymise: self.pseudonymise || other.pseudonymise,
            coarsen_places: self.coarsen_places || other.coarsen_places,
            drop_attachments: self.drop_attachments || other.drop_attachments,
            strip_exif: self.strip_exif || other.strip_exif || other.coarsen_places || self.coarsen_places,
        }
    }
}

// ------------------------------------------------------------------------------- manifest

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub bundle_id: Uuid,
    pub created_at: String,
    pub sender: Sender,
    pub redaction: Redaction,
    /// Size of `records.jsonl`, so a truncated file is told apart from a damaged one.
    pub records_bytes: u64,
    pub records: Vec<RecordEntry>,
    pub attachments: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub recipient: String,
    pub signing_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEntry {
    pub id: Uuid,
    pub kind: Kind,
    /// SHA-256 of the record's line in `records.jsonl` (without the newline).
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub id: Uuid,
    pub size: u64,
    pub sha256: String,
}

impl Manifest {
    /// The plaintext length of the whole tar stream, given the manifest's own length.
    fn payload_len(&self, manifest_len: u64, signature_len: u64) -> u64 {
        let entry = |size: u64| BLOCK as u64 + size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let files: u64 = self.attachments.iter().map(|f| entry(f.size)).sum();
        entry(manifest_len) + entry(signature_len) + entry(self.records_bytes) + files + 2 * BLOCK as u64
    }

    fn check_limits(&self) -> Result<()> {
        if self.records.len() > MAX_RECORDS || self.attachments.len() > MAX_ATTACHMENTS {
            return Err(too_large(format!(
                "The bundle declares {} records and {} files; at most {MAX_RECORDS} and {MAX_ATTACHMENTS} are accepted. Nothing was imported.",
                self.records.len(),
                self.attachments.len()
            )));
        }
        if self.records_bytes > MAX_RECORDS_BYTES {
            return Err(too_large(format!(
                "The bundle declares {} bytes of records; at most {MAX_RECORDS_BYTES} are accepted. Nothing was imported.",
                self.records_bytes
            )));
        }
        if let Some(f) = self.attachments.iter().find(|f| f.size > MAX_ATTACHMENT_BYTES) {
            return Err(too_large(format!(
                "The bundle declares a file of {} bytes ({}); at most {MAX_ATTACHMENT_BYTES} are accepted. Nothing was imported.",
                f.size, f.id
            )));
        }
        Ok(())
    }
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| malformed(format!("The bundle's manifest is not valid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(malformed("This file is not a Casebook bundle (its manifest has another format)."));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > VERSION as u64 {
        return Err(Error::bundle(
            "bundle_too_new",
            format!("The bundle uses format version {version}; this Casebook reads version {VERSION}. Update Casebook to import it."),
        ));
    }
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|e| malformed(format!("The bundle's manifest is not in the expected shape: {e}")))?;
    if manifest.version != VERSION {
        return Err(malformed(format!(
            "The bundle's format version {} is not one this Casebook reads.",
            manifest.version
        )));
    }
    manifest.check_limits()?;
    Ok(manifest)
}

/// Checks the signature over the manifest's exact bytes with the key the manifest names; who
/// that key belongs to is decided by the caller (the partner directory).
fn verify_signature(manifest: &Manifest, manifest_bytes: &[u8], signature_text: &[u8]) -> Result<()> {
    let bad = || {
        Error::bundle(
            "bundle_bad_signature",
            "The bundle's signature does not match its contents: it was altered after it was signed. Nothing was imported.",
        )
    };
    let signature = BASE64.decode(signature_text).map_err(|_| bad())?;
    let signature = ed25519_dalek::Signature::from_slice(&signature).map_err(|_| bad())?;
    let key = crate::identity::parse_signing_key(&manifest.sender.signing_key)
        .ok_or_else(|| malformed("The bundle's sender key is not an Ed25519 key."))?;
    if cfg!(fuzzing) {
        // Fuzzing reaches the record and file parsers, which a forged signature would otherwise guard.
        return Ok(());
    }
    key.verify(manifest_bytes, &signature).map_err(|_| bad())
}

// ------------------------------------------------------------------------------- ustar framing

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
}

fn tar_header(name: &str, size: u64, mtime: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o600);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if size < 8u64.pow(11) {
        octal(&mut h[124..136], size);
    } else {
        // GNU base-256 for files of 8 GiB and more; GNU tar and Python's tarfile read it.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    octal(&mut h[136..148], mtime);
    h[148..156].fill(b' ');
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u64 = h.iter().map(|&b| b as u64).sum();
    octal(&mut h[148..155], sum);
    h[155] = b' ';
    h
}

struct TarWriter<W: Write> {
    out: W,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    /// Writes one entry of exactly `size` bytes from `content`, and returns their SHA-256.
    fn append(&mut self, name: &str, size: u64, content: &mut dyn Read) -> Result<String> {
        self.out.write_all(&tar_header(name, size, self.mtime)).map_err(|e| Error::io(name, e))?;
        let mut hashing = HashingWriter { out: &mut self.out, hasher: Sha256::new() };
        let copied = io::copy(&mut content.take(size), &mut hashing).map_err(|e| Error::io(name, e))?;
        if copied != size {
            return Err(Error::VaultCorrupt(format!("{name}: {copied} bytes stored, {size} expected")));
        }
        let digest = hex::encode(hashing.hasher.finalize());
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        self.out.write_all(&[0u8; BLOCK][..pad]).map_err(|e| Error::io(name, e))?;
        Ok(digest)
    }

    fn finish(mut self) -> Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK]).map_err(|e| Error::io("bundle", e))?;
        Ok(self.out)
    }
}

struct HashingWriter<'a, W: Write> {
    out: &'a mut W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The reading side of the ustar subset we write.
struct TarReader<R: Read> {
    inner: R,
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // Base-256 (sizes of 8 GiB and more) only in fields wider than the 8 bytes it fills.
        if field.len() <= 8 || field[1..field.len() - 8].iter().any(|&b| b != 0) {
            return None;
        }
        let bytes: [u8; 8] = field[field.len() - 8..].try_into().ok()?;
        return Some(u64::from_be_bytes(bytes));
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

impl<R: Read> TarReader<R> {
    /// The next entry's name and size, or `None` at the end-of-archive block.
    fn next(&mut self) -> Result<Option<(String, u64)>> {
        let mut h = [0u8; BLOCK];
        self.inner.read_exact(&mut h).map_err(|e| Error::io("bundle", e))?;
        if h.iter().all(|&b| b == 0) {
            return Ok(None);
        }
        let stored = parse_octal(&h[148..156]).ok_or_else(|| malformed("A bundle entry's header is damaged."))?;
        let sum: u64 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 }).sum();
        if stored != sum || &h[257..262] != b"ustar" {
            return Err(malformed("A bundle entry's header is damaged."));
        }
        let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name =
            String::from_utf8(h[..name_end].to_vec()).map_err(|_| malformed("A bundle entry's name is not text."))?;
        let prefix_empty = h[345..500].iter().all(|&b| b == 0);
        let unsafe_name = name.starts_with('/')
            || name.contains('\\')
            || name.split('/').any(|part| part == ".." || part == ".")
            || !prefix_empty;
        if unsafe_name {
            return Err(Error::bundle(
                "bundle_unsafe_path",
                format!("The bundle holds an entry with an unsafe path ({name:?}). Nothing was imported or written."),
            ));
        }
        if !matches!(h[156], b'0' | 0) {
            return Err(malformed(format!("The bundle entry {name:?} is not a plain file.")));
        }
        let size = parse_octal(&h[124..136]).ok_or_else(|| malformed("A bundle entry's size is damaged."))?;
        Ok(Some((name, size)))
    }

    fn expect(&mut self, expected: &str, limit: u64) -> Result<u64> {
        match self.next()? {
            Some((name, size)) if name == expected => {
                if size > limit {
                    return Err(too_large(format!(
                        "The bundle's {expected} declares {size} bytes; at most {limit} are accepted. Nothing was imported."
                    )));
                }
                Ok(size)
            }
            Some((name, _)) => Err(malformed(format!("The bundle holds {name:?} where {expected} was expected."))),
            None => Err(malformed(format!("The bundle ends before {expected}."))),
        }
    }

    fn read_entry(&mut self, size: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        (&mut self.inner).take(size).read_to_end(&mut out).map_err(|e| Error::io("bundle", e))?;
        if out.len() as u64 != size {
            return Err(truncated());
        }
        self.skip_padding(size)?;
        Ok(out)
    }

    fn skip_padding(&mut self, size: u64) -> Result<()> {
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        let mut buf = [0u8; BLOCK];
        self.inner.read_exact(&mut buf[..pad]).map_err(|e| Error::io("bundle", e))?;
        if buf.iter().any(|&b| b != 0) {
            return Err(malformed("A bundle entry's padding is not empty."));
        }
        Ok(())
    }

    /// After the first end block: one more, then nothing but the end of the stream.
    fn finish(&mut self) -> Result<()> {
        let mut rest = Vec::new();
        (&mut self.inner).take(BLOCK as u64 + 1).read_to_end(&mut rest).map_err(|e| Error::io("bundle", e))?;
        if rest.len() != BLOCK || rest.iter().any(|&b| b != 0) {
            return Err(malformed("The bundle has data after its end."));
        }
        Ok(())
    }
}

fn truncated() -> Error {
    Error::bundle(
        "bundle_truncated",
        "The bundle file is incomplete (cut short while copying?). Ask the sender for it again; nothing was imported.",
    )
}

// ------------------------------------------------------------------------------- reading

/// One record as it arrived: parsed, validated on its own, its line's hash checked.
pub(crate) struct Incoming {
    pub item: Item,
}

/// What the reader hands over, in order, after each part was verified.
pub(crate) trait Visitor {
    /// The signature is valid; the visitor decides whether the signer is trusted.
    fn manifest(&mut self, manifest: &Manifest) -> Result<()>;
    /// Every record's hash matched.
    fn records(&mut self, records: Vec<Incoming>) -> Result<()>;
    /// `content` yields the file's declared bytes; its hash is checked when the visitor returns,
    /// so a visitor that writes must do so inside a transaction it rolls back on error.
    fn attachment(&mut self, entry: &FileEntry, content: &mut dyn Read) -> Result<()>;
}

struct HashingReader<'a, R: Read> {
    inner: &'a mut R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Reads a bundle's plaintext (the tar stream), verifying as it goes. `on_manifest_len` learns
/// the payload's expected length as soon as the manifest is known (for telling truncation apart).
pub(crate) fn read_payload(
    inner: impl Read,
    visitor: &mut dyn Visitor,
    on_length: &mut dyn FnMut(u64),
) -> Result<Manifest> {
    let mut tar = TarReader { inner };
    let size = tar.expect(MANIFEST, MAX_MANIFEST_BYTES)?;
    let manifest_bytes = tar.read_entry(size)?;
    let size = tar.expect(SIGNATURE, 1024)?;
    let signature = tar.read_entry(size)?;
    let manifest = parse_manifest(&manifest_bytes)?;
    on_length(manifest.payload_len(manifest_bytes.len() as u64, signature.len() as u64));
    verify_signature(&manifest, &manifest_bytes, &signature)?;
    visitor.manifest(&manifest)?;

    let size = tar.expect(RECORDS, MAX_RECORDS_BYTES)?;
    if size != manifest.records_bytes {
        return Err(hash_mismatch("The size of records.jsonl"));
    }
    let records = read_records(&mut tar, size, &manifest)?;
    // Every attachment record travels with its file, and every file with its record.
    let declared: HashSet<(Uuid, u64, &str)> =
        manifest.attachments.iter().map(|f| (f.id, f.size, f.sha256.as_str())).collect();
    let described: HashSet<(Uuid, u64, &str)> = records
        .iter()
        .filter_map(|r| match &r.item.body {
            Body::Attachment(a) => Some((r.item.id, a.size, a.sha256.as_str())),
            _ => None,
        })
        .collect();
    if declared != described {
        return Err(hash_mismatch("The list of files"));
    }
    visitor.records(records)?;

    for entry in &manifest.attachments {
        let expected = format!("{ATTACHMENTS}{}", entry.id);
        let size = tar.expect(&expected, MAX_ATTACHMENT_BYTES)?;
        if size != entry.size {
            return Err(hash_mismatch(format!("The size of file {}", entry.id)));
        }
        let mut take = (&mut tar.inner).take(size);
        let mut hashing = HashingReader { inner: &mut take, hasher: Sha256::new(), read: 0 };
        visitor.attachment(entry, &mut hashing)?;
        io::copy(&mut hashing, &mut io::sink()).map_err(|e| Error::io("bundle", e))?;
        if hashing.read != size {
            return Err(truncated());
        }
        if hex::encode(hashing.hasher.finalize()) != entry.sha256 {
            return Err(hash_mismatch(format!("File {}", entry.id)));
        }
        tar.skip_padding(size)?;
    }
    match tar.next()? {
        None => tar.finish()?,
        Some((name, _)) => {
            return Err(malformed(format!("The bundle holds {name:?}, which its manifest does not list.")))
        }
    }
    Ok(manifest)
}

fn read_records(tar: &mut TarReader<impl Read>, size: u64, manifest: &Manifest) -> Result<Vec<Incoming>> {
    let mut reader = io::BufReader::new((&mut tar.inner).take(size));
    let mut out = Vec::with_capacity(manifest.records.len().min(65_536));
    let mut seen = HashSet::new();
    let mut line = Vec::new();
    let mut consumed = 0u64;
    for (index, entry) in manifest.records.iter().enumerate() {
        line.clear();
        let n = io::BufRead::read_until(&mut (&mut reader).take(MAX_RECORD_LINE as u64 + 1), b'\n', &mut line)
            .map_err(|e| Error::io("bundle", e))?;
        consumed += n as u64;
        if line.last() != Some(&b'\n') {
            return Err(if line.len() > MAX_RECORD_LINE {
                too_large(format!("Record #{} of the bundle is larger than {MAX_RECORD_LINE} bytes.", index + 1))
            } else if consumed < size {
                malformed(format!("Record #{} of the bundle is not one line.", index + 1))
            } else {
                hash_mismatch("The number of records")
            });
        }
        line.pop();
        let sha = sha256_hex(&line);
        if sha != entry.sha256 {
            return Err(hash_mismatch(format!("Record #{} ({} {})", index + 1, entry.kind, entry.id)));
        }
        let value: serde_json::Value = serde_json::from_slice(&line)
            .map_err(|e| malformed(format!("Record #{} of the bundle is not valid JSON: {e}", index + 1)))?;
        let item = parse_record(index, value, &mut seen)?;
        if item.id != entry.id || item.body.kind() != entry.kind {
            return Err(hash_mismatch(format!("Record #{}'s id or kind", index + 1)));
        }
        if item.body.kind() == Kind::Partner {
            return Err(malformed("The bundle holds a partner record; partner directories never travel."));
        }
        out.push(Incoming { item });
    }
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).map_err(|e| Error::io("bundle", e))?;
    if consumed + rest.len() as u64 != size {
        return Err(truncated());
    }
    if !rest.is_empty() {
        return Err(hash_mismatch("The number of records"));
    }
    tar.skip_padding(size)?;
    Ok(out)
}

/// Reads a decrypted bundle payload from untrusted bytes, verifying everything but applying
/// nothing: the entry point of the fuzz target and the property tests.
#[doc(hidden)]
pub fn read_untrusted_payload(bytes: &[u8]) -> Result<Manifest> {
    struct Discard;
    impl Visitor for Discard {
        fn manifest(&mut self, _: &Manifest) -> Result<()> {
            Ok(())
        }
        fn records(&mut self, _: Vec<Incoming>) -> Result<()> {
            Ok(())
        }
        fn attachment(&mut self, _: &FileEntry, content: &mut dyn Read) -> Result<()> {
            io::copy(content, &mut io::sink()).map_err(|e| Error::io("bundle", e))?;
            Ok(())
        }
    }
    read_payload(bytes, &mut Discard, &mut |_| {})
}

/// Counts the ciphertext bytes read, and classifies the age layer's errors: a file shorter than
/// its manifest says is truncated; anything else that fails authentication is damaged.
struct Classifier<R: Read> {
    inner: R,
    file_len: u64,
    header_len: u64,
    expected_payload: std::rc::Rc<std::cell::Cell<Option<u64>>>,
}

impl<R: Read> Read for Classifier<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.classify(e))
    }
}

impl<R: Read> Classifier<R> {
    fn classify(&self, e: io::Error) -> io::Error {
        let expected_file = self
            .expected_payload
            .get()
            .map(|payload| self.header_len + payload + 16 * payload.div_ceil(64 * 1024).max(1));
        let code = match e.kind() {
            io::ErrorKind::UnexpectedEof => "bundle_truncated",
            io::ErrorKind::InvalidData if expected_file.is_some_and(|len| self.file_len < len) => "bundle_truncated",
            io::ErrorKind::InvalidData => "bundle_damaged",
            _ => return e,
        };
        let fault = if code == "bundle_truncated" {
            let Error::Bundle { message, .. } = truncated() else { unreachable!("truncated() is a bundle error") };
            Fault { code, message }
        } else {
            Fault { code, message: damaged_message() }
        };
        io::Error::new(e.kind(), fault)
    }
}

fn damaged_message() -> String {
    "The bundle is damaged or was altered after it was encrypted: a part of it fails authentication. Ask the sender for it again; nothing was imported.".into()
}

/// A bundle to read: a file, or bytes the desktop app received from its file picker.
pub enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// Decrypts `source` with this vault's identity and feeds the plaintext to `read_payload`.
pub(crate) fn read_source(
    identity: &age::x25519::Identity,
    source: Source<'_>,
    visitor: &mut dyn Visitor,
) -> Result<Manifest> {
    let (reader, file_len, name): (Box<dyn Read>, u64, String) = match source {
        Source::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
            (Box::new(io::BufReader::new(file)), len, path.display().to_string())
        }
        Source::Bytes(bytes) => (Box::new(bytes), bytes.len() as u64, "The chosen file".into()),
    };
    let expected_payload = std::rc::Rc::new(std::cell::Cell::new(None));
    let consumed = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = Counting { inner: reader, count: consumed.clone() };
    let decryptor = age::Decryptor::new(counted).map_err(|e| match e {
        age::DecryptError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => truncated(),
        age::DecryptError::InvalidMac | age::DecryptError::DecryptionFailed => {
            Error::bundle("bundle_damaged", damaged_message())
        }
        _ => Error::bundle(
            "bundle_not_a_bundle",
            format!("{name} is not a Casebook bundle (it is not an age-encrypted file)."),
        ),
    })?;
    let stream = decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => Error::bundle(
            "bundle_wrong_recipient",
            "This bundle was not encrypted for this vault. Ask the sender to add this vault's public card (casebook identity show) as a recipient.",
        ),
        age::DecryptError::InvalidMac | age::DecryptError::DecryptionFailed => {
            Error::bundle("bundle_damaged", damaged_message())
        }
        other => Error::bundle("bundle_damaged", format!("{} ({other})", damaged_message())),
    })?;
    // The header and nonce are all that age has read so far (its unbuffered reader never reads ahead).
    let classifier =
        Classifier { inner: stream, file_len, header_len: consumed.get(), expected_payload: expected_payload.clone() };
    let mut on_length = |len: u64| expected_payload.set(Some(len));
    read_payload(io::BufReader::with_capacity(256 << 10, classifier), visitor, &mut on_length)
}

struct Counting<R: Read> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

// ------------------------------------------------------------------------------- export

/// What to send, to whom, with what removed.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ExportRequest {
    pub cases: Vec<Uuid>,
    /// Partner record ids; each must have an age recipient and a verified fingerprint.
    pub partners: Vec<Uuid>,
    /// Also encrypt to this vault, so the sender can open the bundle later.
    #[serde(default)]
    pub include_self: bool,
    #[serde(default)]
    pub redaction: Redaction,
    /// How the sender names itself to the partner.
    #[serde(default)]
    pub sender_name: Option<String>,
}

/// What the bundle will carry and what the redaction removed: the export wizard's preview.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ExportPreview {
    pub records: std::collections::BTreeMap<String, u32>,
    pub attachments: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub attachment_bytes: u64,
    pub contacts_removed: u32,
    pub people_pseudonymised: u32,
    pub places_coarsened: u32,
    pub attachments_left_out: u32,
    pub photos_stripped: u32,
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ExportSummary {
    pub bundle_id: Uuid,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    pub preview: ExportPreview,
}

/// A forged bundle, for the tamper trials (`dev` commands and tests only).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// The manifest (validly signed) lists a wrong hash for the first record.
    WrongHash,
    /// The records are stored under `../` (the manifest is signed as usual).
    PathTraversal,
    /// The manifest declares a records entry larger than the reader accepts.
    HugeCount,
    /// Signed by a key that is not the sender's.
    ForeignSigner,
}

struct Planned {
    records: Vec<Record>,
    /// Attachment id → stripped bytes, for photos sent without EXIF.
    stripped: HashMap<Uuid, Vec<u8>>,
    preview: ExportPreview,
    recipients: Vec<age::x25519::Recipient>,
}

impl Vault {
    /// Preview of an export: what travels and what the redaction removes. Writes nothing.
    pub fn preview_bundle(&mut self, request: &ExportRequest) -> Result<ExportPreview> {
        Ok(self.plan_bundle(request, Uuid::nil())?.preview)
    }

    /// Writes the bundle to `out` (never over an existing file). On any error the partial file is removed.
    pub fn export_bundle(&mut self, request: &ExportRequest, out: &Path) -> Result<ExportSummary> {
        self.export_bundle_tampered(request, out, Tamper::None)
    }

    #[doc(hidden)]
    pub fn export_bundle_tampered(
        &mut self,
        request: &ExportRequest,
        out: &Path,
        tamper: Tamper,
    ) -> Result<ExportSummary> {
        let bundle_id = Uuid::now_v7();
        let plan = self.plan_bundle(request, bundle_id)?;
        let file = crate::vault::create_private(out, false)?;
        let result = self.write_bundle(&plan, request, bundle_id, file, tamper);
        match result {
            Ok(()) => {
                let bytes = std::fs::metadata(out).map_err(|e| Error::io(out, e))?.len();
                Ok(ExportSummary { bundle_id, bytes, preview: plan.preview })
            }
            Err(e) => {
                let _ = std::fs::remove_file(out);
                Err(e)
            }
        }
    }

    fn plan_bundle(&mut self, request: &ExportRequest, bundle_id: Uuid) -> Result<Planned> {
        if request.cases.is_empty() {
            return Err(Error::InvalidInput("Choose at least one case to send.".into()));
        }
        let mut recipients = Vec::new();
        let mut preview = ExportPreview::default();
        for id in &request.partners {
            let record = self.get(*id)?;
            let Body::Partner(p) = &record.body else {
                return Err(Error::InvalidInput(format!("{id} is a {}, not a partner", record.kind)));
            };
            let recipient = p.age_recipient.as_deref().ok_or_else(|| {
                Error::InvalidInput(format!(
                    "Partner \"{}\" has no age recipient; add their public card first.",
                    p.name
                ))
            })?;
            if !p.fingerprint_verified {
                return Err(Error::InvalidInput(format!(
                    "Partner \"{}\": the fingerprint is not marked verified. Compare it with them by phone, then mark it verified (partner edit … --set fingerprint_verified=true).",
                    p.name
                )));
            }
            recipients.push(recipient.trim().parse().map_err(|_| {
                Error::InvalidInput(format!("Partner \"{}\" has an age recipient that is not valid.", p.name))
            })?);
            preview.recipients.push(p.name.clone());
        }
        if request.include_self {
            recipients.push(self.age_identity()?.to_public());
            preview.recipients.push("this vault".into());
        }
        if recipients.is_empty() {
            return Err(Error::InvalidInput("Choose at least one partner to send the bundle to.".into()));
        }
        for id in &request.cases {
            let kind = self.get(*id)?.kind;
            if kind != Kind::Case {
                return Err(Error::InvalidInput(format!("{id} is a {kind}, not a case")));
            }
        }
        let mut records = self.bundle_closure(&request.cases)?;
        let redaction = request.redaction;
        let pseudonymised = if redaction.pseudonymise { victims_and_witnesses(&records) } else { HashSet::new() };
        records.retain(|r| match &r.body {
            Body::Attachment(a) => {
                let keep = !redaction.drop_attachments && !pseudonymised.contains(&a.record);
                if !keep {
                    preview.attachments_left_out += 1;
                }
                keep
            }
            _ => true,
        });
        let mut stripped = HashMap::new();
        for record in &mut records {
            redact(record, &redaction, &pseudonymised, bundle_id, &mut preview);
            if let Body::Attachment(a) = &mut record.body {
                if redaction.strip_exif && a.media_type.starts_with("image/") && a.size <= MAX_STRIP_BYTES {
                    let mut original = Vec::with_capacity(a.size as usize);
                    self.read_attachment(record.id, &mut original)?;
                    if let Some(clean) = strip_metadata(&original) {
                        a.size = clean.len() as u64;
                        a.sha256 = sha256_hex(&clean);
                        a.camera = None;
                        a.gps = None;
                        stripped.insert(record.id, clean);
                        preview.photos_stripped += 1;
                    }
                }
                preview.attachments += 1;
                preview.attachment_bytes += a.size;
            }
            *preview.records.entry(record.kind.to_string()).or_default() += 1;
        }
        Ok(Planned { records, stripped, preview, recipients })
    }

    /// The chosen cases, everything that belongs to them (events, detentions, proceedings and
    /// their charges, hearings, decisions, attachments), everything those refer to (people,
    /// organisations, sources, related cases) and the vocabulary entries all of them use.
    fn bundle_closure(&self, cases: &[Uuid]) -> Result<Vec<Record>> {
        const BELONGING: [Kind; 7] = [
            Kind::Event,
            Kind::Detention,
            Kind::Proceeding,
            Kind::Charge,
            Kind::Hearing,
            Kind::Decision,
            Kind::Attachment,
        ];
        let mut included: BTreeSet<Uuid> = cases.iter().copied().collect();
        let mut queue: Vec<Uuid> = cases.to_vec();
        while let Some(id) = queue.pop() {
            for referrer in self.referrers(id)? {
                if BELONGING.contains(&referrer.kind) && included.insert(referrer.id) {
                    queue.push(referrer.id);
                }
            }
        }
        let mut queue: Vec<Uuid> = included.iter().copied().collect();
        let mut records = HashMap::new();
        while let Some(id) = queue.pop() {
            let record = self.get(id)?;
            for reference in record.body.references() {
                if included.insert(reference.target) {
                    queue.push(reference.target);
                }
            }
            // People's own attachments (a passport scan, a portrait) travel with them.
            if record.kind == Kind::Person || record.kind == Kind::Organisation {
                for referrer in self.referrers(id)? {
                    if referrer.kind == Kind::Attachment && included.insert(referrer.id) {
                        queue.push(referrer.id);
                    }
                }
            }
            records.insert(id, record);
        }
        let mut codes: BTreeSet<(String, String)> = BTreeSet::new();
        for record in records.values() {
            for (_, vocabulary, code) in record.body.vocabulary_codes() {
                codes.insert((vocabulary.to_string(), code));
            }
        }
        let mut terms = self.terms_with_parents(codes)?;
        records.retain(|_, r| r.kind != Kind::Partner && r.kind != Kind::Term);
        let mut out: Vec<Record> = records.into_values().collect();
        out.append(&mut terms);
        // Referenced kinds first, as in the JSON export, so a reader can apply in order.
        out.sort_by_key(|r| (Kind::ALL.iter().position(|k| *k == r.kind), r.id));
        Ok(out)
    }

    fn terms_with_parents(&self, mut codes: BTreeSet<(String, String)>) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut done = HashSet::new();
        while let Some((vocabulary, code)) = codes.pop_first() {
            if !done.insert((vocabulary.clone(), code.clone())) {
                continue;
            }
            let id: Option<String> = rusqlite::OptionalExtension::optional(self.conn.query_row(
                "SELECT uuid FROM records WHERE kind = 'term' AND deleted = 0 AND json_extract(body, '$.vocabulary') = ?1 AND json_extract(body, '$.code') = ?2",
                [&vocabulary, &code],
                |r| r.get(0),
            ))?;
            let Some(id) = id else { continue };
            let record = self.get(Uuid::parse_str(&id).map_err(|e| Error::VaultCorrupt(e.to_string()))?)?;
            if let Body::Term(t) = &record.body {
                if let Some(parent) = &t.parent {
                    codes.insert((vocabulary.clone(), parent.clone()));
                }
            }
            out.push(record);
        }
        Ok(out)
    }

    fn write_bundle(
        &mut self,
        plan: &Planned,
        request: &ExportRequest,
        bundle_id: Uuid,
        file: std::fs::File,
        tamper: Tamper,
    ) -> Result<()> {
        let card = self.identity()?;
        let mut signing_key = self.signing_key()?;
        let mut signer_text = card.signing_key.clone();
        if tamper == Tamper::ForeignSigner {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| Error::Storage(e.to_string()))?;
            signing_key = ed25519_dalek::SigningKey::from_bytes(&seed);
            signer_text = crate::identity::format_signing_key(&signing_key.verifying_key());
        }
        let mut lines = Vec::new();
        let mut entries = Vec::new();
        for record in &plan.records {
            let line = serde_json::to_vec(&record.to_json())?;
            entries.push(RecordEntry { id: record.id, kind: record.kind, sha256: sha256_hex(&line) });
            lines.extend_from_slice(&line);
            lines.push(b'\n');
        }
        let mut attachments = Vec::new();
        for record in &plan.records {
            if let Body::Attachment(a) = &record.body {
                attachments.push(FileEntry { id: record.id, size: a.size, sha256: a.sha256.clone() });
            }
        }
        if tamper == Tamper::WrongHash {
            if let Some(first) = entries.first_mut() {
                first.sha256 = sha256_hex(b"not this record");
            }
        }
        let created_at = now_timestamp();
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            bundle_id,
            created_at: created_at.clone(),
            sender: Sender { name: request.sender_name.clone(), recipient: card.recipient, signing_key: signer_text },
            redaction: request.redaction,
            records_bytes: lines.len() as u64,
            records: entries,
            attachments,
        };
        let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
        let signature = BASE64.encode(&signing_key.sign(&manifest_bytes).to_bytes());

        let encryptor = age::Encryptor::with_recipients(plan.recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| Error::InvalidInput(format!("cannot encrypt to these partners: {e}")))?;
        let sink = io::BufWriter::with_capacity(256 << 10, file);
        let stream = encryptor.wrap_output(sink).map_err(|e| Error::io("bundle", e))?;
        let mtime = chrono::DateTime::parse_from_rfc3339(&created_at).map(|t| t.timestamp().max(0) as u64).unwrap_or(0);
        let mut tar = TarWriter { out: stream, mtime };
        tar.append(MANIFEST, manifest_bytes.len() as u64, &mut manifest_bytes.as_slice())?;
        tar.append(SIGNATURE, signature.len() as u64, &mut signature.as_bytes())?;
        let records_size = if tamper == Tamper::HugeCount { MAX_RECORDS_BYTES * 8 } else { lines.len() as u64 };
        if tamper == Tamper::HugeCount {
            // Only the header is written: the reader must refuse before it reads a byte more.
            tar.out.write_all(&tar_header(RECORDS, records_size, mtime)).map_err(|e| Error::io("bundle", e))?;
        } else {
            let records_name = if tamper == Tamper::PathTraversal { "../records.jsonl" } else { RECORDS };
            tar.append(records_name, records_size, &mut lines.as_slice())?;
            for file in &manifest.attachments {
                let name = format!("{ATTACHMENTS}{}", file.id);
                let digest = match plan.stripped.get(&file.id) {
                    Some(bytes) => tar.append(&name, file.size, &mut bytes.as_slice())?,
                    None => tar.append(&name, file.size, &mut self.attachment_reader(file.id))?,
                };
                if digest != file.sha256 {
                    return Err(Error::VaultCorrupt(format!(
                        "attachment {} differs from what was received (SHA-256 changed since intake); run casebook check",
                        file.id
                    )));
                }
            }
        }
        let stream = tar.finish()?;
        let sink = stream.finish().map_err(|e| Error::io("bundle", e))?;
        let file = sink.into_inner().map_err(|e| Error::io("bundle", e.into_error()))?;
        file.sync_all().map_err(|e| Error::io("bundle", e))?;
        Ok(())
    }
}

/// Person ids that take part as victims or witnesses in the bundled cases and events.
fn victims_and_witnesses(records: &[Record]) -> HashSet<Uuid> {
    let mut out = HashSet::new();
    for record in records {
        let participants = match &record.body {
            Body::Case(c) => &c.participants,
            Body::Event(e) => &e.participants,
            _ => continue,
        };
        for p in participants {
            if p.role == "victim" || p.role == "witness" {
                out.insert(p.party);
            }
        }
    }
    // The named members of a group of victims or witnesses are victims or witnesses too.
    for record in records {
        if let Body::Group(g) = &record.body {
            if out.contains(&record.id) {
                out.extend(g.members.iter().copied());
            }
        }
    }
    out.retain(|id| records.iter().any(|r| r.id == *id && r.kind == Kind::Person));
    out
}

fn coarsen(place: &mut Option<crate::model::Place>, preview: &mut ExportPreview) {
    if let Some(p) = place {
        if p.city.is_some() || p.site.is_some() {
            p.city = None;
            p.site = None;
            preview.places_coarsened += 1;
        }
    }
}

fn redact(
    record: &mut Record,
    redaction: &Redaction,
    pseudonymised: &HashSet<Uuid>,
    bundle_id: Uuid,
    preview: &mut ExportPreview,
) {
    let id = record.id;
    match &mut record.body {
        Body::Person(p) => {
            if redaction.drop_contacts && !p.contacts.is_empty() {
                preview.contacts_removed += p.contacts.len() as u32;
                p.contacts.clear();
            }
            if pseudonymised.contains(&id) {
                // Stable within this bundle, unlinkable across bundles.
                let digest = Sha256::digest([bundle_id.as_bytes().as_slice(), id.as_bytes().as_slice()].concat());
                let alias = format!("Person {}", hex::encode_upper(&digest[..2]));
                p.names = vec![Name { value: alias, lang: None, script: None }];
                p.birth_date = None;
                preview.contacts_removed += p.contacts.len() as u32;
                p.contacts.clear();
                p.residence = None;
                p.affiliations.clear();
                p.notes = None;
                preview.people_pseudonymised += 1;
            }
            if redaction.coarsen_places {
                coarsen(&mut p.residence, preview);
            }
        }
        Body::Organisation(o) if redaction.coarsen_places => coarsen(&mut o.place, preview),
        Body::Event(e) if redaction.coarsen_places => coarsen(&mut e.place, preview),
        Body::Detention(d) if redaction.coarsen_places => {
            coarsen(&mut d.place, preview);
            // Every later place of custody too: a penal colony names a town as well as a prison.
            for t in &mut d.transfers {
                let mut place = Some(std::mem::take(&mut t.place));
                coarsen(&mut place, preview);
                t.place = place.unwrap_or_default();
            }
        }
        Body::Attachment(a) if redaction.coarsen_places && a.gps.is_some() => {
            a.gps = None;
            preview.places_coarsened += 1;
        }
        _ => {}
    }
}

/// The photo without EXIF, XMP and comments, or `None` if it is not a format we can rewrite.
pub fn strip_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    use img_parts::jpeg::markers::{APP1, APP13, COM};
    use img_parts::{Bytes, ImageEXIF};
    let input = Bytes::copy_from_slice(bytes);
    let output = match img_parts::DynImage::from_bytes(input).ok()?? {
        img_parts::DynImage::Jpeg(mut jpeg) => {
            // EXIF and XMP (APP1), IPTC (APP13) and comments can carry positions, names and devices.
            jpeg.segments_mut().retain(|s| !matches!(s.marker(), APP1 | APP13 | COM));
            img_parts::DynImage::Jpeg(jpeg)
        }
        img_parts::DynImage::Png(mut png) => {
            png.set_exif(None);
            png.chunks_mut().retain(|c| !matches!(&c.kind(), b"tEXt" | b"iTXt" | b"zTXt" | b"tIME" | b"eXIf"));
            img_parts::DynImage::Png(png)
        }
        img_parts::DynImage::WebP(mut webp) => {
            webp.set_exif(None);
            img_parts::DynImage::WebP(webp)
        }
    };
    let mut out = Vec::with_capacity(bytes.len());
    output.encoder().write_to(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KdfParams, Passphrase};
    use proptest::prelude::*;

    fn vault(dir: &Path) -> Vault {
        let passphrase = Passphrase::new("property test passphrase".into());
        let kdf = KdfParams::with_memory_mib(8, 1).expect("kdf");
        Vault::create(dir, &passphrase, kdf).expect("vault").0
    }

    /// A vault with one case (title, a person's name, a contact) and a small file, bundled to itself.
    fn bundle_of(
        title: &str,
        name: &str,
        contact: &str,
        redaction: Redaction,
    ) -> (tempfile::TempDir, Vault, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut v = vault(&dir.path().join("v"));
        let person = v
            .add(
                Kind::Person,
                serde_json::json!({"names": [{"value": name}], "contacts": [{"kind": "phone", "value": contact}]}),
            )
            .expect("person");
        let case = v
            .add(
                Kind::Case,
                serde_json::json!({"title": title, "case_kind": "criminal", "status": "open",
                    "participants": [{"party": person.id, "role": "victim"}]}),
            )
            .expect("case");
        v.attach(case.id, "note.txt", &b"hearing notice"[..], None).expect("attach");
        let out = dir.path().join("b.casebundle");
        let request = ExportRequest { cases: vec![case.id], include_self: true, redaction, ..Default::default() };
        v.export_bundle(&request, &out).expect("export");
        (dir, v, out)
    }

    fn decrypt(v: &mut Vault, path: &Path) -> Vec<u8> {
        let identity = v.age_identity().expect("identity");
        let file = std::fs::File::open(path).expect("open");
        let decryptor = age::Decryptor::new(file).expect("age");
        let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).expect("decrypt");
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Any text survives the bundle, and a removed contact is nowhere in the plaintext.
        #[test]
        fn any_text_round_trips_and_dropped_contacts_are_gone(
            title in "[\\PC]{1,40}", name in "[\\PC]{1,30}", contact in "\\+7 [0-9]{3} [0-9]{3} [0-9]{4}"
        ) {
            prop_assume!(!title.trim().is_empty() && !name.trim().is_empty());
            let redaction = Redaction { drop_contacts: true, ..Redaction::default() };
            let (_dir, mut v, out) = bundle_of(&title, &name, &contact, redaction);
            let payload = decrypt(&mut v, &out);
            prop_assert!(!payload.windows(contact.len()).any(|w| w == contact.as_bytes()));
            let manifest = read_untrusted_payload(&payload).expect("reads");
            prop_assert_eq!(manifest.records.iter().filter(|r| r.kind == Kind::Case).count(), 1);
            let receiver_dir = tempfile::tempdir().expect("tempdir");
            let mut receiver = vault(&receiver_dir.path().join("v"));
            // Taken back by the sender (it trusts its own key): the redacted person differs from the
            // local one, so it waits as a conflict and the local contact stays.
            let result = v.import_bundle(Source::File(&out), None).expect("own bundle");
            prop_assert_eq!((result.new, result.conflicts), (0, 1));
            prop_assert!(v.export_text().expect("export").contains(&contact));
            let refused = matches!(receiver.import_bundle(Source::File(&out), None), Err(Error::Bundle { code: "bundle_wrong_recipient", .. }));
            prop_assert!(refused, "a vault the bundle was not encrypted to cannot open it");
        }
    }

    #[test]
    fn every_single_byte_change_of_the_payload_is_refused_without_panic() {
        let (_dir, mut v, out) =
            bundle_of("Trial of M. Zhylanbaev", "Жыланбаев Марат", "+77010000000", Redaction::default());
        let payload = decrypt(&mut v, &out);
        read_untrusted_payload(&payload).expect("the untouched payload reads");
        // Every byte position, each flipped once: a change anywhere is caught.
        for at in 0..payload.len() {
            let mut changed = payload.clone();
            changed[at] ^= 0x01;
            assert!(
                read_untrusted_payload(&changed).is_err(),
                "a flipped byte at {at} of {} went unnoticed",
                payload.len()
            );
        }
        for len in (0..payload.len()).step_by(97) {
            assert!(read_untrusted_payload(&payload[..len]).is_err(), "cut at {len}");
        }
    }

    proptest! {
        /// Arbitrary bytes, and arbitrary bytes behind a valid-looking first header, never panic.
        #[test]
        fn arbitrary_input_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            prop_assert!(read_untrusted_payload(&bytes).is_err());
            let mut framed = tar_header(MANIFEST, bytes.len() as u64, 0).to_vec();
            framed.extend_from_slice(&bytes);
            prop_assert!(read_untrusted_payload(&framed).is_err());
        }
    }
}
