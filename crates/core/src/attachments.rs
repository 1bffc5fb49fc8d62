//! Evidence files: stored inside the encrypted vault, in 1 MiB chunks, never as a plaintext file.
//!
//! Why in SQLCipher rather than as separate encrypted files: one key, one integrity mechanism
//! (every page MAC-checked), one backup file, and attaching is atomic with the intake record —
//! a crash leaves either the whole attachment or none, never an orphan. The cost is that the
//! bytes pass through the WAL (written twice); docs/performance.md measures it against a raw copy.
//! Memory stays bounded: files are read and written one chunk at a time.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Attachment, Body, Gps, Kind};
use crate::store::Record;
use crate::vault::Vault;

pub const CHUNK: usize = 1 << 20;

pub(crate) const SCHEMA_V5: &str = "
CREATE TABLE attachment_chunks (
    attachment TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (attachment, seq)
) STRICT;
";

/// Fills `buf` from `reader` as far as it goes (a short read is not the end of a pipe).
fn read_full(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The media type from the content's first bytes; the name is not trusted.
pub fn sniff(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_string();
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        // A chunk boundary may cut a multi-byte character.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(t) if !t.contains('\0') => "text/plain".into(),
        _ => "application/octet-stream".into(),
    }
}

/// What the first chunk tells: the media type, and a photo's EXIF capture time, camera, position.
#[derive(Default)]
struct Facts {
    media_type: String,
    taken_at: Option<String>,
    camera: Option<String>,
    gps: Option<Gps>,
}

fn facts(head: &[u8]) -> Facts {
    let media_type = sniff(head);
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(head)) else {
        return Facts { media_type, ..Facts::default() };
    };
    let text = |tag| {
        exif.get_field(tag, exif::In::PRIMARY)
            .map(|f| f.display_value().to_string().trim_matches('"').trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let taken = text(exif::Tag::DateTimeOriginal).or_else(|| text(exif::Tag::DateTime));
    let camera = match (text(exif::Tag::Make), text(exif::Tag::Model)) {
        (Some(make), Some(model)) if model.starts_with(&make) => Some(model),
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (a, b) => a.or(b),
    };
    let degrees = |value: exif::Tag, reference: exif::Tag| -> Option<f64> {
        let exif::Value::Rational(parts) = &exif.get_field(value, exif::In::PRIMARY)?.value else { return None };
        let [d, m, s] = parts.get(..3)? else { return None };
        let magnitude = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let negative = text(reference).is_some_and(|r| r.starts_with('S') || r.starts_with('W'));
        Some(if negative { -magnitude } else { magnitude })
    };
    let gps = match (
        degrees(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef),
        degrees(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef),
    ) {
        (Some(latitude), Some(longitude)) => Some(Gps { latitude, longitude }),
        _ => None,
    };
    Facts { media_type, taken_at: taken, camera, gps }
}

/// Stores `content` as attachment `id`'s chunks inside the caller's transaction, one chunk in
/// memory at a time; `first` sees the first chunk (for sniffing). Returns the size and SHA-256.
pub(crate) fn write_chunks(
    tx: &rusqlite::Transaction<'_>,
    id: Uuid,
    content: &mut dyn Read,
    mut first: impl FnMut(&[u8]),
    read_error: impl Fn(std::io::Error) -> Error,
) -> Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    let mut insert = tx.prepare_cached("INSERT INTO attachment_chunks(attachment, seq, data) VALUES (?1, ?2, ?3)")?;
    for seq in 0i64.. {
        let n = read_full(content, &mut buf).map_err(&read_error)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if seq == 0 {
            first(chunk);
        }
        hasher.update(chunk);
        size += n as u64;
        insert.execute(rusqlite::params![id.to_string(), seq, chunk])?;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Reads a stored attachment's chunks in order, one in memory at a time (no hash check: callers
/// compare the digest of what they read with the intake record).
pub struct ChunkReader<'a> {
    vault: &'a Vault,
    id: String,
    seq: i64,
    chunk: Vec<u8>,
    pos: usize,
}

impl ChunkReader<'_> {
    /// The next stored chunk, in order; `None` after the last.
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let mut stmt =
            self.vault.conn.prepare_cached("SELECT data FROM attachment_chunks WHERE attachment = ?1 AND seq = ?2")?;
        let chunk =
            rusqlite::OptionalExtension::optional(stmt.query_row(rusqlite::params![self.id, self.seq], |r| r.get(0)))?;
        self.seq += 1;
        Ok(chunk)
    }
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.chunk.len() {
            let Some(next) = self.next_chunk().map_err(std::io::Error::other)? else { return Ok(0) };
            self.chunk = next;
            self.pos = 0;
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Vault {
    pub fn attachment_reader(&self, id: Uuid) -> ChunkReader<'_> {
        ChunkReader { vault: self, id: id.to_string(), seq: 0, chunk: Vec::new(), pos: 0 }
    }

    /// Store a file as an attachment of `record`, reading it once, in chunks: the SHA-256, size,
    /// sniffed media type and EXIF facts go into the intake record, all in one transaction.
    pub fn attach(&mut self, record: Uuid, name: &str, mut content: impl Read, notes: Option<&str>) -> Result<Record> {
        let target = self.get(record)?;
        if target.kind == Kind::Attachment {
            return Err(Error::InvalidInput("attach files to a record, not to another attachment".into()));
        }
        let name = std::path::Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or(name).to_string();
        let id = Uuid::now_v7();
        let mut head: Option<Facts> = None;
        let mut w = self.writer()?;
        let (size, sha256) =
            write_chunks(&w.tx, id, &mut content, |chunk| head = Some(facts(chunk)), |e| Error::io(&name, e))?;
        let Facts { media_type, taken_at, camera, gps } =
            head.unwrap_or_else(|| Facts { media_type: "application/octet-stream".into(), ..Facts::default() });
        let body = Body::Attachment(Attachment {
            record,
            name,
            media_type,
            size,
            sha256,
            taken_at,
            camera,
            gps,
            notes: notes.map(str::to_string).filter(|n| !n.trim().is_empty()),
        });
        body.validate().map_err(|(field, problem)| Error::invalid("new attachment", field, problem))?;
        w.put(id, &body, None, None, "create")?;
        w.commit()?;
        self.get(id)
    }

    /// Write an attachment's content to `out`, chunk by chunk, and verify its SHA-256 at the end.
    pub fn read_attachment(&self, id: Uuid, out: &mut impl Write) -> Result<u64> {
        let record = self.get(id)?;
        let Body::Attachment(a) = &record.body else {
            return Err(Error::InvalidInput(format!("{id} is a {}, not an attachment", record.kind)));
        };
        let (size, digest) =
            self.stream_chunks(id, |chunk| out.write_all(chunk).map_err(|e| Error::io("output", e)))?;
        if size != a.size || digest != a.sha256 {
            return Err(Error::VaultCorrupt(format!(
                "attachment {id} (\"{}\") differs from what was received: SHA-256 or size changed since intake",
                a.name
            )));
        }
        Ok(size)
    }

    fn stream_chunks(&self, id: Uuid, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<(u64, String)> {
        let mut reader = self.attachment_reader(id);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        // One chunk in memory at a time.
        while let Some(chunk) = reader.next_chunk()? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            each(&chunk)?;
        }
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// Problems with stored attachments, each naming the attachment and its record, for `check`.
    pub fn verify_attachments(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT uuid FROM records WHERE kind = 'attachment' AND deleted = 0")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            let id = Uuid::parse_str(&id).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let Body::Attachment(a) = self.get(id)?.body else { continue };
            let (size, digest) = self.stream_chunks(id, |_| Ok(()))?;
            let owner = self.get(a.record).map(|r| format!("{} {} (\"{}\")", r.kind, r.id, r.label()));
            let owner = owner.unwrap_or_else(|_| format!("record {}", a.record));
            if size == 0 && a.size > 0 {
                problems.push(format!(
                    "attachment {id} (\"{}\") of {owner}: its content is not in this vault (imported without the file)",
                    a.name
                ));
            } else if size != a.size || digest != a.sha256 {
                problems.push(format!(
                    "attachment {id} (\"{}\") of {owner}: content changed since intake (SHA-256 {} expected, {} found)",
                    a.name, a.sha256, digest
                ));
            }
        }
        let orphans: i64 = self.conn.query_row(
            "SELECT count(DISTINCT attachment) FROM attachment_chunks WHERE attachment NOT IN
             (SELECT uuid FROM records WHERE kind = 'attachment' AND deleted = 0)",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            problems.push(format!("{orphans} stored file(s) belong to no attachment record"));
        }
        Ok(problems)
    }

    /// Rebuild the vault file without free pages, so deleted attachments' space is returned.
    /// Returns the file size before and after.
    pub fn compact(&mut self) -> Result<(u64, u64)> {
        let before = self.file_size()?;
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok((before, self.file_size()?))
    }

    /// Change one byte of a stored attachment, as a disk fault or a tamperer with the key would:
    /// for tests of `check`.
    #[doc(hidden)]
    pub fn debug_damage_attachment(&mut self, id: Uuid) -> Result<()> {
        let key = rusqlite::params![id.to_string(), 0i64];
        let mut data: Vec<u8> = self
            .conn
            .query_row("SELECT data FROM attachment_chunks WHERE attachment = ?1 AND seq = ?2", key, |r| r.get(0))
            .map_err(|_| Error::NotFound(format!("no stored content for attachment {id}")))?;
        let middle = data.len() / 2;
        if let Some(byte) = data.get_mut(middle) {
            *byte ^= 0x01;
        }
        self.conn.execute(
            "UPDATE attachment_chunks SET data = ?3 WHERE attachment = ?1 AND seq = ?2",
            rusqlite::params![id.to_string(), 0i64, data],
        )?;
        Ok(())
    }
}
