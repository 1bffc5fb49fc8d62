//! Team sync, the device's half (docs/sync.md). A vault in a team records every local change in
//! an outbox, field by field, with its hybrid logical clock and the values it replaced. `seal`
//! packs the outbox into numbered batches, each encrypted with the team key (XChaCha20-Poly1305,
//! the cipher the key slots already use: one symmetric key shared by the team, random 192-bit
//! nonces, no extra format to parse) and signed with the vault's Ed25519 key, each hash-chained
//! to the device's previous batch. `apply` verifies every pulled batch before it applies any, in
//! causal order (a batch waits until the batches its device had seen are here), in one
//! transaction.
//!
//! The merge is a multi-value register per field: a field's *heads* are the changes no later
//! change has seen. The head with the latest clock is the value; two heads with different values
//! are a conflict for a person to settle; lists are add-wins sets merged from all heads. A delete
//! that had not seen an edit made elsewhere leaves the record alive and lists the conflict. The
//! heads are a function of the set of changes, so every device ends with the same data whatever
//! order the batches arrived in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE64;
use ed25519_dalek::{Signature, Signer, Verifier};
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::model::{Body, Kind};
use crate::store::{field_changes, Cached, Writer};
use crate::vault::Vault;

/// The audit action of changes that came from the team: they are not sent back.
pub(crate) const ACTION: &str = "sync";
const TEAM_META: &str = "sync.team";
const LAST_SYNC_META: &str = "sync.last";
/// Changes per batch: big enough that a push of 100,000 changes is 50 requests, small enough
/// that one batch decrypts in a few milliseconds.
const BATCH_CHANGES: usize = 2_000;
/// Batches sealed in one transaction and pushed in one request (about 5 MB): fewer commits on
/// both sides, while a cut connection still costs little to resend.
pub const PUSH_GROUP: usize = 16;

pub(crate) const SCHEMA_V10: &str = "
-- Local changes not yet sealed into a batch, in the order they were made.
CREATE TABLE sync_outbox (seq INTEGER PRIMARY KEY, change TEXT NOT NULL) STRICT;
-- Per record, per field: the changes no later change has seen (see sync.rs).
CREATE TABLE sync_heads (
    record    TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    heads     TEXT NOT NULL,
    contested INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sync_heads_contested ON sync_heads(contested) WHERE contested = 1;
-- Team keys by epoch; a revocation starts a new epoch. Inside the encrypted vault.
CREATE TABLE sync_keys (epoch INTEGER PRIMARY KEY, key BLOB NOT NULL) STRICT;
-- Other devices' batches applied here, in each device's order: the chain the next must continue.
CREATE TABLE sync_applied (
    device     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (device, seq)
) STRICT;
-- This device's sealed batches; kept so a push cut off mid-way resends the very same bytes.
CREATE TABLE sync_sent (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, sealed TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0) STRICT;
-- Attachment contents still to upload ('up') or to fetch ('down'), with their chunk addresses.
CREATE TABLE sync_blobs (attachment TEXT PRIMARY KEY, direction TEXT NOT NULL, manifest TEXT NOT NULL) STRICT;
";

type HmacSha256 = Hmac<Sha256>;

fn keyed(key: &[u8], label: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(label);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| Error::Storage(format!("no randomness: {e}")))?;
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

fn unb64(text: &str, what: &str) -> Result<Vec<u8>> {
    BASE64.decode(text.as_bytes()).map_err(|_| tampered(format!("{what} is not base64")))
}

fn tampered(why: impl std::fmt::Display) -> Error {
    Error::sync(
        "sync_batch_tampered",
        format!("A batch from the team server failed its check ({why}). It was damaged or altered on the way or on the server; nothing was applied, and your vault is as it was."),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Short groups of letters and digits that two people read to each other.
fn groups(bytes: &[u8]) -> String {
    let text = data_encoding::BASE32_NOPAD.encode(&bytes[..10]);
    text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

// ------------------------------------------------------------------------------- wire types

/// Where the team lives; in the vault's `meta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TeamConfig {
    pub server: String,
    pub team: String,
    /// SHA-256 of the server's TLS certificate (hex), when it is self-signed and pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
}

/// One device's batch as it travels and as the server stores it. The server can check the
/// signature and the chain (it knows the device's public key), and can read nothing else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealedBatch {
    pub team: String,
    pub device: String,
    pub seq: u64,
    /// Hash of the device's previous batch; empty for its first.
    pub prev: String,
    pub epoch: u32,
    pub nonce: String,
    pub ciphertext: String,
    pub signature: String,
}

impl SealedBatch {
    fn header(&self) -> String {
        format!("casebook-sync-batch-v1\n{}\n{}\n{}\n{}\n{}\n", self.team, self.device, self.seq, self.prev, self.epoch)
    }

    /// What the chain links and the signature covers: the header, the nonce and the ciphertext.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.header().as_bytes());
        h.update(self.nonce.as_bytes());
        h.update(b"\n");
        h.update(self.ciphertext.as_bytes());
        hex::encode(h.finalize())
    }

    /// Whether the device key `signing_key` (as on a public card) signed this batch.
    pub fn signed_by(&self, signing_key: &str) -> bool {
        let Some(key) = crate::identity::parse_signing_key(signing_key) else { return false };
        let Ok(bytes) = BASE64.decode(self.signature.as_bytes()) else { return false };
        let Ok(signature) = Signature::from_slice(&bytes) else { return false };
        key.verify(self.hash().as_bytes(), &signature).is_ok()
    }

    /// Bytes of the ciphertext, for size limits and storage.
    pub fn ciphertext_len(&self) -> usize {
        self.ciphertext.len() / 4 * 3
    }
}

/// A device of the team as the server lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TeamDevice {
    pub device: String,
    pub signing_key: String,
    pub recipient: String,
    pub fingerprint: String,
    pub enrolled_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// The message a request's signature covers: method, path with query, time and body digest.
pub fn request_message(method: &str, path: &str, time: i64, body: &[u8]) -> String {
    format!("casebook-sync-request-v1\n{method}\n{path}\n{time}\n{}\n", sha256_hex(body))
}

/// Signs requests as one device. Holds a copy of the device's Ed25519 key, wiped when dropped.
pub struct RequestSigner {
    device: String,
    key: ed25519_dalek::SigningKey,
}

impl RequestSigner {
    pub fn device(&self) -> &str {
        &self.device
    }

    pub fn sign(&self, message: &str) -> String {
        b64(&self.key.sign(message.as_bytes()).to_bytes())
    }
}

/// Checks a request signature made by `RequestSigner::sign`.
pub fn request_signed_by(signing_key: &str, message: &str, signature: &str) -> bool {
    let Some(key) = crate::identity::parse_signing_key(signing_key) else { return false };
    let Ok(bytes) = BASE64.decode(signature.as_bytes()) else { return false };
    let Ok(signature) = Signature::from_slice(&bytes) else { return false };
    key.verify(message.as_bytes(), &signature).is_ok()
}

/// An invitation to join a team: hand it over in person or over a channel you trust. It works
/// once: the server forgets it when a device joins with it, and it expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub casebook_invitation: u32,
    pub server: String,
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    pub invite: String,
    /// The one-time secret. The server gets only a token derived from it and a verifier of that,
    /// and the team keys it holds for the invitation are encrypted with another key derived from it.
    pub secret: String,
    /// What the inviting device shows as the team's fingerprint; the joining device checks it.
    pub team_fingerprint: String,
}

impl Invitation {
    fn secret_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(
            BASE64.decode(self.secret.as_bytes()).map_err(|_| {
                Error::sync("sync_invite_invalid", "The invitation is damaged: its secret is unreadable.")
            })?,
        ))
    }

    /// What the joining device shows the server to redeem the invitation.
    pub fn token(&self) -> Result<String> {
        Ok(hex::encode(keyed(&self.secret_bytes()?, b"casebook-invite-token", self.invite.as_bytes())))
    }

    pub fn read(text: &str) -> Result<Invitation> {
        let invitation: Invitation = serde_json::from_str(text)
            .map_err(|_| Error::sync("sync_invite_invalid", "This file is not a Casebook team invitation."))?;
        if invitation.casebook_invitation != 1 {
            return Err(Error::sync(
                "sync_invite_invalid",
                "This invitation was made by a newer Casebook; update Casebook to use it.",
            ));
        }
        Ok(invitation)
    }
}

/// What the inviting device registers on the server for an invitation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteUpload {
    pub invite: String,
    /// SHA-256 of the token (hex): the server checks the token without being able to make one.
    pub verifier: String,
    /// The team keys, encrypted with a key derived from the secret.
    pub wrapped: String,
}

/// The verifier the server keeps for a token.
pub fn token_verifier(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A team key for one device, encrypted to its age recipient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrappedKey {
    pub device: String,
    pub epoch: u32,
    pub wrapped: String,
}

/// The first device of a team registers with the token `casebook-server team create` printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub token: String,
    pub device: String,
    pub signing_key: String,
    pub recipient: String,
}

/// A device joins with an invitation's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    pub invite: String,
    pub token: String,
    pub device: String,
    pub signing_key: String,
    pub recipient: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinResponse {
    /// The team keys kept for the invitation (see `InviteUpload`).
    pub wrapped: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// The new team key for every remaining device.
    pub keys: Vec<WrappedKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullResponse {
    pub batches: Vec<SealedBatch>,
    /// More batches wait after these.
    pub more: bool,
}

// ------------------------------------------------------------------------------- changes and heads

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Change {
    r: Uuid,
    k: String,
    f: String,
    #[serde(default)]
    v: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    b: Value,
    h: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    s: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Head {
    h: String,
    #[serde(default)]
    v: Value,
    /// The value it replaced, kept for lists: what it removed.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    b: Value,
    /// For `_deleted`: every change the delete (or undelete) had seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    s: Vec<String>,
}

type Heads = BTreeMap<String, Vec<Head>>;

#[derive(Debug, Serialize, Deserialize)]
struct BatchBody {
    /// The version vector of the device when it sealed the batch: applied only after those.
    deps: BTreeMap<String, u64>,
    changes: Vec<Change>,
}

const DELETED: &str = "_deleted";

fn device_of(hlc: &str) -> &str {
    hlc.splitn(3, '-').nth(2).unwrap_or_default()
}

fn load_heads(tx: &Connection, record: Uuid) -> Result<Heads> {
    let text: Option<String> =
        tx.row("SELECT heads FROM sync_heads WHERE record = ?1", [record.to_string()], |r| r.get(0)).optional()?;
    match text {
        Some(t) => serde_json::from_str(&t).map_err(|e| Error::VaultCorrupt(format!("sync heads of {record}: {e}"))),
        None => Ok(Heads::new()),
    }
}

fn save_heads(tx: &Connection, record: Uuid, kind: &str, heads: &Heads) -> Result<()> {
    let contested = !conflicts_of(heads).is_empty();
    tx.exec(
        "INSERT INTO sync_heads(record, kind, heads, contested) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(record) DO UPDATE SET kind = excluded.kind, heads = excluded.heads, contested = excluded.contested",
        params![record.to_string(), kind, serde_json::to_string(heads)?, contested],
    )?;
    Ok(())
}

/// Which record a local write changed, and its clock.
struct Edit<'a> {
    record: Uuid,
    kind: &'a str,
    hlc: &'a str,
}

/// A local change of `field`: it replaces every head of the field this device holds.
fn push_local(heads: &mut Heads, out: &mut Vec<Change>, at: &Edit<'_>, field: &str, v: Value, b: Value) {
    let seen: Vec<String> = if field == DELETED {
        heads.values().flatten().map(|head| head.h.clone()).collect::<BTreeSet<_>>().into_iter().collect()
    } else {
        heads.get(field).map(|hs| hs.iter().map(|head| head.h.clone()).collect()).unwrap_or_default()
    };
    let b = if v.is_array() || b.is_array() { b } else { Value::Null };
    let head_seen = if field == DELETED { seen.clone() } else { Vec::new() };
    heads.insert(field.to_string(), vec![Head { h: at.hlc.to_string(), v: v.clone(), b: b.clone(), s: head_seen }]);
    out.push(Change {
        r: at.record,
        k: at.kind.to_string(),
        f: field.to_string(),
        v,
        b,
        h: at.hlc.to_string(),
        s: seen,
    });
}

fn queue(tx: &Transaction<'_>, changes: &[Change]) -> Result<()> {
    let mut insert = tx.prepare_cached("INSERT INTO sync_outbox(change) VALUES (?1)")?;
    for c in changes {
        insert.execute([serde_json::to_string(c)?])?;
    }
    Ok(())
}

/// The timestamps a local write gave the record.
pub(crate) struct Stamps<'a> {
    pub created: Option<&'a str>,
    pub updated: &'a str,
    pub revived: bool,
}

pub(crate) fn track_put(
    tx: &Transaction<'_>,
    record: Uuid,
    kind: Kind,
    changes: &Map<String, Value>,
    hlc: &str,
    stamps: Stamps<'_>,
) -> Result<()> {
    let kind = kind.as_str();
    let at = Edit { record, kind, hlc };
    let mut heads = load_heads(tx, record)?;
    let mut out = Vec::new();
    for (field, pair) in changes {
        let before = pair.get(0).cloned().unwrap_or(Value::Null);
        let after = pair.get(1).cloned().unwrap_or(Value::Null);
        push_local(&mut heads, &mut out, &at, field, after, before);
    }
    if let Some(created) = stamps.created {
        push_local(&mut heads, &mut out, &at, "_created", created.into(), Value::Null);
    }
    push_local(&mut heads, &mut out, &at, "_updated", stamps.updated.into(), Value::Null);
    // Editing a record that was deleted elsewhere keeps it: the edit settles that conflict.
    let deleted_elsewhere = heads.get(DELETED).is_some_and(|hs| hs.iter().any(|h| h.v == Value::Bool(true)));
    if stamps.revived || deleted_elsewhere {
        push_local(&mut heads, &mut out, &at, DELETED, false.into(), Value::Null);
    }
    save_heads(tx, record, kind, &heads)?;
    if kind == Kind::Attachment.as_str() && stamps.created.is_some() {
        // Its content goes to the team's chunk store at the next seal.
        tx.exec(
            "INSERT OR IGNORE INTO sync_blobs(attachment, direction, manifest) VALUES (?1, 'up', '')",
            [record.to_string()],
        )?;
    }
    queue(tx, &out)
}

pub(crate) fn track_delete(tx: &Transaction<'_>, record: Uuid, kind: Kind, hlc: &str) -> Result<()> {
    let at = Edit { record, kind: kind.as_str(), hlc };
    let mut heads = load_heads(tx, record)?;
    let mut out = Vec::new();
    push_local(&mut heads, &mut out, &at, DELETED, true.into(), Value::Null);
    save_heads(tx, record, kind.as_str(), &heads)?;
    queue(tx, &out)
}

fn apply_change(heads: &mut Heads, c: &Change) {
    let hs = heads.entry(c.f.clone()).or_default();
    hs.retain(|h| !c.s.contains(&h.h));
    if !hs.iter().any(|h| h.h == c.h) {
        let s = if c.f == DELETED { c.s.clone() } else { Vec::new() };
        hs.push(Head { h: c.h.clone(), v: c.v.clone(), b: c.b.clone(), s });
        hs.sort_by(|a, b| a.h.cmp(&b.h));
    }
}

fn contains(list: &Value, item: &Value) -> bool {
    list.as_array().is_some_and(|a| a.contains(item))
}

/// Concurrent versions of a list: every element any of them added stays (add wins), an element
/// one of them removed goes unless another added it.
fn merge_lists(heads: &[Head]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for head in heads.iter().rev() {
        for item in head.v.as_array().into_iter().flatten() {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
    }
    out.retain(|item| {
        let removed = heads.iter().any(|h| contains(&h.b, item) && !contains(&h.v, item));
        let added = heads.iter().any(|h| contains(&h.v, item) && !contains(&h.b, item));
        !removed || added
    });
    Value::Array(out)
}

fn is_list_field(heads: &[Head]) -> bool {
    heads.iter().all(|h| h.v.is_array() || (h.v.is_null() && h.b.is_array()))
}

fn value_of(heads: &[Head]) -> Value {
    match heads {
        [] => Value::Null,
        [only] => only.v.clone(),
        many if is_list_field(many) => merge_lists(many),
        many => many.last().map(|h| h.v.clone()).unwrap_or_default(),
    }
}

/// The delete that won, when it had not seen some edit made elsewhere: (delete, unseen edits).
fn contested_delete(heads: &Heads) -> Option<(&Head, Vec<(&str, &Head)>)> {
    let delete = heads.get(DELETED)?.last().filter(|h| h.v == Value::Bool(true))?;
    let seen: BTreeSet<&str> = heads[DELETED].iter().flat_map(|h| h.s.iter().map(String::as_str)).collect();
    let deletes: BTreeSet<&str> = heads[DELETED].iter().map(|h| h.h.as_str()).collect();
    let unseen: Vec<(&str, &Head)> = heads
        .iter()
        .filter(|(f, _)| f.as_str() != DELETED)
        .flat_map(|(f, hs)| hs.iter().map(move |h| (f.as_str(), h)))
        .filter(|(_, h)| !seen.contains(h.h.as_str()) && !deletes.contains(h.h.as_str()))
        .collect();
    Some((delete, unseen))
}

/// Fields whose heads disagree, and a delete that missed an edit (as field `_deleted`).
fn conflicts_of(heads: &Heads) -> Vec<String> {
    let deleted = contested_delete(heads).is_some_and(|(_, unseen)| unseen.iter().all(|(f, _)| f.starts_with('_')));
    if deleted {
        // Settled by a delete that had seen every version: nothing left to choose between.
        return Vec::new();
    }
    let mut out: Vec<String> = heads
        .iter()
        .filter(|(f, hs)| !f.starts_with('_') && hs.len() > 1 && !is_list_field(hs))
        .filter(|(_, hs)| hs.iter().any(|h| h.v != hs[0].v))
        .map(|(f, _)| f.clone())
        .collect();
    if contested_delete(heads).is_some_and(|(_, unseen)| unseen.iter().any(|(f, _)| !f.starts_with('_'))) {
        out.push(DELETED.into());
    }
    out
}

struct Merged {
    deleted: bool,
    body: Map<String, Value>,
    created: Option<String>,
    updated: Option<String>,
}

fn merged(heads: &Heads, mut body: Map<String, Value>) -> Merged {
    for (field, hs) in heads.iter().filter(|(f, _)| !f.starts_with('_')) {
        match value_of(hs) {
            Value::Null => body.remove(field),
            v => body.insert(field.clone(), v),
        };
    }
    let stamp = |f: &str| heads.get(f).map(|hs| value_of(hs)).and_then(|v| v.as_str().map(str::to_string));
    let deleted = match contested_delete(heads) {
        Some((_, unseen)) => unseen.iter().all(|(f, _)| f.starts_with('_')),
        None => false,
    };
    Merged { deleted, body, created: stamp("_created"), updated: stamp("_updated") }
}

/// Writes a record as its heads say. Returns what still needs its reference rows.
fn materialise(w: &mut Writer<'_>, record: Uuid, kind: Kind, heads: &Heads) -> Result<Option<(i64, Body)>> {
    let stored: Option<(String, i64)> = w
        .tx
        .row("SELECT body, deleted FROM records WHERE uuid = ?1", [record.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let current = match &stored {
        Some((text, 0)) => serde_json::from_str::<Map<String, Value>>(text)
            .map_err(|e| Error::VaultCorrupt(format!("record {record}: {e}")))?,
        _ => Map::new(),
    };
    let merged = merged(heads, current.clone());
    let alive_here = matches!(stored, Some((_, 0)));
    if merged.deleted {
        if alive_here {
            let body = crate::store::body_from_db(kind, &serde_json::to_string(&current)?, &record.to_string())?;
            w.tombstone(record, &body, ACTION)?;
        }
        return Ok(None);
    }
    if merged.body.is_empty() && !alive_here {
        // Only stamps (or a blob) arrived for a record this device never had: nothing to show.
        return Ok(None);
    }
    let body = Body::from_json(kind, Value::Object(merged.body)).map_err(|(f, p)| {
        Error::sync(
            "sync_unreadable_change",
            format!("A change from the team to {kind} {record} cannot be read here (field {f}: {p}). Another device may run a newer Casebook; update this one and sync again. Nothing was applied."),
        )
    })?;
    if let Body::Term(term) = &body {
        if !term_takes_its_code(w, record, term)? {
            if alive_here {
                w.tombstone(record, &body, ACTION)?;
            }
            return Ok(None);
        }
    }
    let rowid = w.put_row(record, &body, merged.created.as_deref(), merged.updated.as_deref(), ACTION)?;
    if kind == Kind::Attachment {
        want_content(w, record, heads)?;
    }
    Ok(rowid.map(|r| (r, body)))
}

/// An attachment alive here without its content — new from the team, or brought back by a
/// conflict after its content was deleted here — is fetched from the chunk store.
fn want_content(w: &Writer<'_>, record: Uuid, heads: &Heads) -> Result<()> {
    let Some(manifest) = heads.get("_blob").map(|hs| value_of(hs)).filter(|v| !v.is_null()) else { return Ok(()) };
    let has_content: bool =
        w.tx.row("SELECT EXISTS(SELECT 1 FROM attachment_chunks WHERE attachment = ?1)", [record.to_string()], |r| {
            r.get(0)
        })?;
    if !has_content {
        w.tx.exec(
            "INSERT INTO sync_blobs(attachment, direction, manifest) VALUES (?1, 'down', ?2) ON CONFLICT(attachment) DO UPDATE SET manifest = excluded.manifest",
            params![record.to_string(), serde_json::to_string(&manifest)?],
        )?;
    }
    Ok(())
}

/// Two devices added a term with the same code without seeing each other's: records use the
/// code, so one term is enough. The one with the smaller id keeps the code on every device; the
/// other is set aside here (not deleted for the team).
fn term_takes_its_code(w: &mut Writer<'_>, record: Uuid, term: &crate::model::Term) -> Result<bool> {
    let other: Option<(String, String)> =
        w.tx.row(
            "SELECT uuid, body FROM records WHERE kind = 'term' AND deleted = 0 AND uuid <> ?3
             AND json_extract(body, '$.vocabulary') = ?1 AND json_extract(body, '$.code') = ?2",
            params![term.vocabulary, term.code, record.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((other, text)) = other else { return Ok(true) };
    if other < record.to_string() {
        return Ok(false);
    }
    let other_id = Uuid::parse_str(&other).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
    let other_body = crate::store::body_from_db(Kind::Term, &text, &other)?;
    w.tombstone(other_id, &other_body, ACTION)?;
    Ok(true)
}

pub(crate) fn in_team(conn: &Connection) -> Result<bool> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 10 {
        return Ok(false);
    }
    let found: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [TEAM_META], |r| r.get(0)).optional()?;
    Ok(found.is_some())
}

// ------------------------------------------------------------------------------- reports

/// What `casebook sync status` and the app's sync badge show.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SyncStatus {
    pub team: Option<TeamConfig>,
    pub device: String,
    pub team_fingerprint: Option<String>,
    /// Local changes not yet on the server.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub pending_changes: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unsent_batches: u64,
    pub last_synced: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub conflicts: u64,
    pub epoch: u32,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, number>"))]
    pub vector: BTreeMap<String, u64>,
}

/// What one `apply` did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ApplyReport {
    pub batches: u32,
    pub changes: u32,
    pub records: u32,
    /// Batches that wait for earlier ones not yet pulled.
    pub waiting: u32,
    /// Already applied here (a server resending them changes nothing).
    pub duplicates: u32,
    pub downloads: u32,
}

/// One version of a contested field.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ConflictVersion {
    pub hlc: String,
    pub device: String,
    pub value: Value,
}

/// A field two devices changed without seeing each other's change, or a delete that missed an
/// edit (`field` = `_deleted`). The first version is the one applied.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FieldConflict {
    pub record: Uuid,
    pub kind: Kind,
    pub label: String,
    pub field: String,
    pub versions: Vec<ConflictVersion>,
}

/// A link to a record deleted on another device that had not seen the link.
struct DanglingLink {
    record: Uuid,
    kind: Kind,
    label: String,
    field: String,
    /// The reference's own field: `field`, or a key inside its items ("complaints.by").
    path: String,
    value: Value,
    target: Uuid,
    link_hlc: String,
    delete_hlc: String,
}

/// An attachment's content in the team's chunk store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobTransfer {
    pub attachment: Uuid,
    pub epoch: u32,
    pub chunks: Vec<String>,
}

// ------------------------------------------------------------------------------- the vault's side

struct ChunkKeys {
    address: [u8; 32],
    nonce: [u8; 32],
    cipher: XChaCha20Poly1305,
}

fn chunk_keys(team_key: &[u8]) -> ChunkKeys {
    let enc = Zeroizing::new(keyed(team_key, b"casebook-chunk-enc", b""));
    ChunkKeys {
        address: keyed(team_key, b"casebook-chunk-address", b""),
        nonce: keyed(team_key, b"casebook-chunk-nonce", b""),
        cipher: XChaCha20Poly1305::new(enc.as_ref().into()),
    }
}

fn team_fingerprint(first_key: &[u8], team: &str) -> String {
    groups(&keyed(first_key, b"casebook-team-fingerprint", team.as_bytes()))
}

impl Vault {
    fn meta_value(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn device_id(&self) -> &str {
        &self.device
    }

    pub fn team(&self) -> Result<Option<TeamConfig>> {
        self.meta_value(TEAM_META)?
            .map(|t| serde_json::from_str(&t).map_err(|e| Error::VaultCorrupt(format!("team settings: {e}"))))
            .transpose()
    }

    fn require_team(&self) -> Result<TeamConfig> {
        self.team()?.ok_or_else(|| {
            Error::sync("sync_not_configured", "This vault is not in a team. Create one (casebook team create) or join one with an invitation (casebook team join).")
        })
    }

    fn team_keys(&self) -> Result<BTreeMap<u32, Zeroizing<Vec<u8>>>> {
        let mut stmt = self.conn.prepare("SELECT epoch, key FROM sync_keys ORDER BY epoch")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, Zeroizing::new(r.get::<_, Vec<u8>>(1)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn current_key(&self) -> Result<(u32, Zeroizing<Vec<u8>>)> {
        self.team_keys()?
            .into_iter()
            .next_back()
            .ok_or_else(|| Error::VaultCorrupt("the vault is in a team but holds no team key".into()))
    }

    /// The fingerprint of the team both people compare when a device joins.
    pub fn team_fingerprint(&self) -> Result<Option<String>> {
        let Some(team) = self.team()? else { return Ok(None) };
        let keys = self.team_keys()?;
        Ok(keys.values().next().map(|k| team_fingerprint(k, &team.team)))
    }

    /// A signer for this device's requests that needs no further access to the vault, so a
    /// network thread can send while the vault seals or applies.
    pub fn request_signer(&mut self) -> Result<RequestSigner> {
        Ok(RequestSigner { device: self.device.clone(), key: self.signing_key()? })
    }

    /// Puts the vault in a team, with its first key, and queues every record it already holds.
    fn enter_team(&mut self, config: &TeamConfig, keys: &[(u32, Zeroizing<Vec<u8>>)]) -> Result<()> {
        if self.team()?.is_some() {
            return Err(Error::sync("sync_already_in_team", "This vault is already in a team. Nothing was changed."));
        }
        self.tracking = true;
        let mut w = self.writer()?;
        w.tx.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)",
            params![TEAM_META, serde_json::to_string(config)?],
        )?;
        for (epoch, key) in keys {
            w.tx.execute(
                "INSERT OR IGNORE INTO sync_keys(epoch, key) VALUES (?1, ?2)",
                params![epoch, key.as_slice()],
            )?;
        }
        // What this vault held before the team: every record but the untouched vocabulary seeds,
        // which every vault has alike.
        let rows: Vec<(String, String, String, String, String)> = {
            let mut stmt = w.tx.prepare(
                "SELECT uuid, kind, body, created_at, updated_at FROM records WHERE deleted = 0 AND NOT (kind = 'term' AND updated_at = ?1) ORDER BY id",
            )?;
            let rows = stmt.query_map([crate::vocab::SEED_TIMESTAMP], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (uuid, kind, body, created, updated) in rows {
            let id = Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let body: Value = serde_json::from_str(&body)?;
            let hlc = w.hlc();
            let kind = crate::store::kind_from_db(&kind)?;
            let stamps = Stamps { created: Some(&created), updated: &updated, revived: false };
            track_put(&w.tx, id, kind, &field_changes(None, Some(&body)), &hlc, stamps)?;
            if kind == Kind::Attachment {
                w.tx.execute(
                    "INSERT OR IGNORE INTO sync_blobs(attachment, direction, manifest) VALUES (?1, 'up', '')",
                    [&uuid],
                )?;
            }
        }
        w.commit()
    }

    /// Makes this vault the first device of a new team: a fresh team key. Returns the team's fingerprint.
    pub fn create_team(&mut self, config: &TeamConfig) -> Result<String> {
        let key = Zeroizing::new(random::<32>()?.to_vec());
        self.enter_team(config, &[(1, key)])?;
        Ok(self.team_fingerprint()?.unwrap_or_default())
    }

    /// A new invitation, and what to register on the server for it.
    pub fn invite(&mut self) -> Result<(Invitation, InviteUpload)> {
        let team = self.require_team()?;
        let secret = Zeroizing::new(random::<32>()?);
        let invite = Uuid::now_v7().to_string();
        let keys: Vec<(u32, String)> = self.team_keys()?.iter().map(|(e, k)| (*e, b64(k))).collect();
        let plain = Zeroizing::new(serde_json::to_vec(&keys)?);
        let wrap_key = Zeroizing::new(keyed(secret.as_ref(), b"casebook-invite-wrap", invite.as_bytes()));
        let nonce = random::<24>()?;
        let sealed = XChaCha20Poly1305::new(wrap_key.as_ref().into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: invite.as_bytes() })
            .map_err(|_| Error::Storage("could not encrypt the invitation".into()))?;
        let invitation = Invitation {
            casebook_invitation: 1,
            server: team.server,
            team: team.team,
            cert_sha256: team.cert_sha256,
            invite: invite.clone(),
            secret: b64(secret.as_ref()),
            team_fingerprint: self.team_fingerprint()?.unwrap_or_default(),
        };
        let token = invitation.token()?;
        let upload = InviteUpload {
            invite,
            verifier: token_verifier(&token),
            wrapped: b64(&[nonce.as_slice(), &sealed].concat()),
        };
        Ok((invitation, upload))
    }

    /// Joins the team of `invitation` with the keys the server kept for it.
    pub fn join_team(&mut self, invitation: &Invitation, wrapped: &str) -> Result<String> {
        let secret = invitation.secret_bytes()?;
        let bytes = unb64(wrapped, "the invitation's keys")?;
        let invalid = || {
            Error::sync("sync_invite_invalid", "The keys the server holds for this invitation do not open with it: the invitation or the server's copy was altered. Nothing was changed.")
        };
        if bytes.len() < 24 {
            return Err(invalid());
        }
        let wrap_key = Zeroizing::new(keyed(&secret, b"casebook-invite-wrap", invitation.invite.as_bytes()));
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(wrap_key.as_ref().into())
                .decrypt(
                    XNonce::from_slice(&bytes[..24]),
                    Payload { msg: &bytes[24..], aad: invitation.invite.as_bytes() },
                )
                .map_err(|_| invalid())?,
        );
        let keys: Vec<(u32, String)> = serde_json::from_slice(&plain).map_err(|_| invalid())?;
        let keys: Vec<(u32, Zeroizing<Vec<u8>>)> = keys
            .into_iter()
            .map(|(e, k)| Ok((e, Zeroizing::new(BASE64.decode(k.as_bytes()).map_err(|_| invalid())?))))
            .collect::<Result<_>>()?;
        let first = keys.iter().min_by_key(|(e, _)| *e).ok_or_else(invalid)?;
        let fingerprint = team_fingerprint(&first.1, &invitation.team);
        if fingerprint != invitation.team_fingerprint {
            return Err(invalid());
        }
        let config = TeamConfig {
            server: invitation.server.clone(),
            team: invitation.team.clone(),
            cert_sha256: invitation.cert_sha256.clone(),
        };
        self.enter_team(&config, &keys)?;
        Ok(fingerprint)
    }

    /// A new team key for `devices` (everyone but a revoked device), each copy encrypted to the
    /// device's age recipient. This vault takes it when the server hands its own copy back.
    pub fn rekey(&mut self, devices: &[TeamDevice]) -> Result<Vec<WrappedKey>> {
        let (epoch, _) = self.current_key()?;
        let key = Zeroizing::new(random::<32>()?);
        devices
            .iter()
            .map(|d| {
                let recipient: age::x25519::Recipient = d.recipient.parse().map_err(|_| {
                    Error::sync("sync_server_error", format!("device {} has no valid key on the server", d.device))
                })?;
                let wrapped = age::encrypt(&recipient, key.as_ref())
                    .map_err(|e| Error::Storage(format!("could not encrypt the team key: {e}")))?;
                Ok(WrappedKey { device: d.device.clone(), epoch: epoch + 1, wrapped: b64(&wrapped) })
            })
            .collect()
    }

    /// Stores team keys the server kept for this device (after a revocation).
    pub fn accept_keys(&mut self, keys: &[WrappedKey]) -> Result<u32> {
        let identity = self.age_identity()?;
        let known = self.team_keys()?;
        let w = self.writer()?;
        let mut added = 0;
        for k in keys.iter().filter(|k| !known.contains_key(&k.epoch)) {
            let bytes = unb64(&k.wrapped, "a team key")?;
            let key = Zeroizing::new(age::decrypt(&identity, &bytes).map_err(|_| {
                Error::sync("sync_key_unreadable", "A new team key from the server does not open with this device's key. Ask a team member to check the device list; nothing was changed.")
            })?);
            w.tx.execute(
                "INSERT OR IGNORE INTO sync_keys(epoch, key) VALUES (?1, ?2)",
                params![k.epoch, key.as_slice()],
            )?;
            added += 1;
        }
        w.commit()?;
        Ok(added)
    }

    /// For each device, the last of its batches applied here: what a pull asks for after.
    pub fn sync_vector(&self) -> Result<BTreeMap<String, u64>> {
        let mut stmt = self.conn.prepare("SELECT device, max(seq) FROM sync_applied GROUP BY device")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Packs the whole outbox, with the addresses of attachments to upload, into sealed batches;
    /// returns how many were made.
    pub fn seal(&mut self) -> Result<u32> {
        self.prepare_uploads()?;
        let mut made = 0;
        loop {
            match self.seal_group()? {
                0 => return Ok(made),
                n => made += n,
            }
        }
    }

    /// Seals the oldest outbox changes into at most `PUSH_GROUP` batches, in one transaction: a
    /// crash leaves whole batches and the rest queued, memory holds one batch at a time, and a
    /// push can send one group while the next is sealed. Returns how many were made.
    pub fn seal_group(&mut self) -> Result<u32> {
        let team = self.require_team()?;
        let (epoch, key) = self.current_key()?;
        let signing = self.signing_key()?;
        let deps = self.sync_vector()?;
        let cipher = XChaCha20Poly1305::new(key.as_slice().into());
        let device = self.device.clone();
        let mut made = 0;
        let w = self.writer()?;
        while made < PUSH_GROUP as u32 {
            let rows: Vec<(i64, String)> = {
                let mut stmt = w.tx.prepare_cached("SELECT seq, change FROM sync_outbox ORDER BY seq LIMIT ?1")?;
                let rows = stmt.query_map([BATCH_CHANGES as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let Some((upto, _)) = rows.last() else { break };
            // The outbox already holds each change as JSON: the batch is their list, not re-parsed.
            let listed: Vec<&str> = rows.iter().map(|(_, c)| c.as_str()).collect();
            let last: Option<(u64, String)> =
                w.tx.query_row("SELECT seq, hash FROM sync_sent ORDER BY seq DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let (seq, prev) = last.map(|(s, h)| (s + 1, h)).unwrap_or((1, String::new()));
            let plain = Zeroizing::new(
                format!("{{\"deps\":{},\"changes\":[{}]}}", serde_json::to_string(&deps)?, listed.join(","))
                    .into_bytes(),
            );
            let nonce = random::<24>()?;
            let mut sealed = SealedBatch {
                team: team.team.clone(),
                device: device.clone(),
                seq,
                prev,
                epoch,
                nonce: b64(&nonce),
                ciphertext: String::new(),
                signature: String::new(),
            };
            let ciphertext = cipher
                .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: sealed.header().as_bytes() })
                .map_err(|_| Error::Storage("could not encrypt a batch".into()))?;
            sealed.ciphertext = b64(&ciphertext);
            let hash = sealed.hash();
            sealed.signature = b64(&signing.sign(hash.as_bytes()).to_bytes());
            w.tx.execute(
                "INSERT INTO sync_sent(seq, hash, sealed) VALUES (?1, ?2, ?3)",
                params![seq, hash, serde_json::to_string(&sealed)?],
            )?;
            w.tx.execute("DELETE FROM sync_outbox WHERE seq <= ?1", [upto])?;
            made += 1;
        }
        w.commit()?;
        Ok(made)
    }

    /// Chunk addresses for attachments not yet uploaded; records a `_blob` head for each, so
    /// every device learns where the content is, and queues it with the other changes. A sync
    /// calls it once, before it uploads: an attachment added while that sync runs gets its
    /// address at the next one, so no device is told of chunks that are not on the server yet.
    pub fn prepare_uploads(&mut self) -> Result<()> {
        let waiting: Vec<String> = {
            let mut stmt =
                self.conn.prepare("SELECT attachment FROM sync_blobs WHERE direction = 'up' AND manifest = ''")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        if waiting.is_empty() {
            return Ok(());
        }
        let (epoch, key) = self.current_key()?;
        let keys = chunk_keys(&key);
        let mut w = self.writer()?;
        let mut out = Vec::new();
        for attachment in waiting {
            let id = Uuid::parse_str(&attachment).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let chunks: Vec<String> = {
                let mut stmt = w.tx.prepare("SELECT data FROM attachment_chunks WHERE attachment = ?1 ORDER BY seq")?;
                let rows = stmt.query_map([&attachment], |r| r.get::<_, Vec<u8>>(0))?;
                let mut addresses = Vec::new();
                for data in rows {
                    addresses.push(hex::encode(keyed(&keys.address, b"", &data?)));
                }
                addresses
            };
            let manifest = BlobTransfer { attachment: id, epoch, chunks };
            let value = serde_json::to_value(&manifest)?;
            let mut heads = load_heads(&w.tx, id)?;
            let hlc = w.hlc();
            push_local(
                &mut heads,
                &mut out,
                &Edit { record: id, kind: Kind::Attachment.as_str(), hlc: &hlc },
                "_blob",
                value,
                Value::Null,
            );
            save_heads(&w.tx, id, Kind::Attachment.as_str(), &heads)?;
            w.tx.execute(
                "UPDATE sync_blobs SET manifest = ?2 WHERE attachment = ?1",
                params![attachment, serde_json::to_string(&manifest)?],
            )?;
        }
        queue(&w.tx, &out)?;
        w.commit()
    }

    /// Sealed batches the server has not acknowledged, oldest first. Loads them all: for tests
    /// and small queues; a push goes through `next_unsent`, a group at a time.
    pub fn unsent(&self) -> Result<Vec<SealedBatch>> {
        let mut stmt = self.conn.prepare("SELECT sealed FROM sync_sent WHERE acked = 0 ORDER BY seq")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }

    /// The oldest sealed batches after `after` the server has not acknowledged (at most
    /// `PUSH_GROUP`, sent in one request); `after` skips groups already on their way.
    pub fn next_unsent(&self, after: u64) -> Result<Vec<SealedBatch>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT sealed FROM sync_sent WHERE acked = 0 AND seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after, PUSH_GROUP as i64], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }

    /// Batches a push still has to send: those sealed and not acknowledged, and the outbox's
    /// changes in batches (for progress).
    pub fn batches_to_send(&self) -> Result<u64> {
        let count = |sql: &str| -> Result<u64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        let unsent = count("SELECT count(*) FROM sync_sent WHERE acked = 0")?;
        let queued = count("SELECT count(*) FROM sync_outbox")?;
        Ok(unsent + queued.div_ceil(BATCH_CHANGES as u64))
    }

    pub fn mark_sent(&mut self, seq: u64) -> Result<()> {
        // The server holds it now: keep its hash for the chain, not its bytes.
        self.conn.execute("UPDATE sync_sent SET acked = 1, sealed = '' WHERE seq <= ?1 AND acked = 0", [seq])?;
        Ok(())
    }

    /// Attachments whose content still has to reach the server.
    pub fn pending_uploads(&self) -> Result<Vec<BlobTransfer>> {
        self.blobs("up")
    }

    /// Attachments whose content still has to come from the server.
    pub fn pending_downloads(&self) -> Result<Vec<BlobTransfer>> {
        self.blobs("down")
    }

    fn blobs(&self, direction: &str) -> Result<Vec<BlobTransfer>> {
        let mut stmt = self
            .conn
            .prepare("SELECT manifest FROM sync_blobs WHERE direction = ?1 AND manifest <> '' ORDER BY attachment")?;
        let rows = stmt.query_map([direction], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }

    /// The encrypted chunk `index` of an attachment being uploaded. Deterministic (the nonce is
    /// derived from the content), so equal chunks are stored once and a resend is identical.
    pub fn chunk_ciphertext(&self, blob: &BlobTransfer, index: usize) -> Result<Vec<u8>> {
        let keys = self.team_keys()?;
        let key =
            keys.get(&blob.epoch).ok_or_else(|| Error::VaultCorrupt("team key of an upload is missing".into()))?;
        let keys = chunk_keys(key);
        let data: Vec<u8> = self.conn.query_row(
            "SELECT data FROM attachment_chunks WHERE attachment = ?1 AND seq = ?2",
            params![blob.attachment.to_string(), index as i64],
            |r| r.get(0),
        )?;
        let nonce = keyed(&keys.nonce, b"", &data);
        let address = &blob.chunks[index];
        let sealed = keys
            .cipher
            .encrypt(XNonce::from_slice(&nonce[..24]), Payload { msg: &data, aad: address.as_bytes() })
            .map_err(|_| Error::Storage("could not encrypt a chunk".into()))?;
        Ok([&nonce[..24], sealed.as_slice()].concat())
    }

    pub fn upload_done(&mut self, attachment: Uuid) -> Result<()> {
        self.conn
            .execute("DELETE FROM sync_blobs WHERE attachment = ?1 AND direction = 'up'", [attachment.to_string()])?;
        Ok(())
    }

    /// Stores a downloaded attachment's content after checking every chunk and the whole file.
    pub fn store_download(&mut self, blob: &BlobTransfer, chunks: &[Vec<u8>]) -> Result<()> {
        let keys = self.team_keys()?;
        let key = keys.get(&blob.epoch).ok_or_else(|| tampered("an attachment names an unknown team key"))?;
        let keys = chunk_keys(key);
        let mut plain = Vec::with_capacity(chunks.len());
        for (address, sealed) in blob.chunks.iter().zip(chunks) {
            if sealed.len() < 24 {
                return Err(tampered("an attachment chunk is too short"));
            }
            let data = keys
                .cipher
                .decrypt(XNonce::from_slice(&sealed[..24]), Payload { msg: &sealed[24..], aad: address.as_bytes() })
                .map_err(|_| tampered("an attachment chunk does not decrypt"))?;
            if hex::encode(keyed(&keys.address, b"", &data)) != *address {
                return Err(tampered("an attachment chunk is not the one asked for"));
            }
            plain.push(data);
        }
        let expected: Option<String> = self
            .conn
            .query_row(
                "SELECT json_extract(body, '$.sha256') FROM records WHERE uuid = ?1 AND deleted = 0",
                [blob.attachment.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let w = self.writer()?;
        if let Some(expected) = expected {
            let mut h = Sha256::new();
            plain.iter().for_each(|c| h.update(c));
            if hex::encode(h.finalize()) != expected {
                return Err(tampered("an attachment's content does not match its record"));
            }
            w.tx.execute("DELETE FROM attachment_chunks WHERE attachment = ?1", [blob.attachment.to_string()])?;
            let mut insert =
                w.tx.prepare_cached("INSERT INTO attachment_chunks(attachment, seq, data) VALUES (?1, ?2, ?3)")?;
            for (seq, data) in plain.iter().enumerate() {
                insert.execute(params![blob.attachment.to_string(), seq as i64, data])?;
            }
        }
        w.tx.execute(
            "DELETE FROM sync_blobs WHERE attachment = ?1 AND direction = 'down'",
            [blob.attachment.to_string()],
        )?;
        w.commit()
    }

    /// Verifies every batch (signature by a team device, chain, decryption), then applies those
    /// whose predecessors are here, in causal order, in one transaction. A batch that fails any
    /// check stops the whole pull before anything is written.
    pub fn apply(&mut self, batches: &[SealedBatch], devices: &[TeamDevice]) -> Result<ApplyReport> {
        let team = self.require_team()?;
        let keys = self.team_keys()?;
        let signing: HashMap<&str, &str> =
            devices.iter().map(|d| (d.device.as_str(), d.signing_key.as_str())).collect();
        let mut opened: Vec<(&SealedBatch, String, BatchBody)> = Vec::new();
        for batch in batches.iter().filter(|b| b.device != self.device) {
            if batch.team != team.team {
                return Err(tampered("a batch of another team"));
            }
            let key = signing
                .get(batch.device.as_str())
                .ok_or_else(|| tampered("signed by a device that is not in the team"))?;
            if !batch.signed_by(key) {
                return Err(tampered(format!("batch {} of device {} has a wrong signature", batch.seq, batch.device)));
            }
            let team_key = keys.get(&batch.epoch).ok_or_else(|| {
                Error::sync("sync_key_missing", format!("A batch uses team key {} which this device does not have yet. Sync again; if it stays, this device may have been removed from the team. Nothing was applied.", batch.epoch))
            })?;
            let nonce = unb64(&batch.nonce, "a nonce")?;
            if nonce.len() != 24 {
                return Err(tampered("a nonce of the wrong length"));
            }
            let ciphertext = unb64(&batch.ciphertext, "a ciphertext")?;
            let plain = Zeroizing::new(
                XChaCha20Poly1305::new(team_key.as_slice().into())
                    .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: batch.header().as_bytes() })
                    .map_err(|_| {
                        tampered(format!("batch {} of device {} does not decrypt", batch.seq, batch.device))
                    })?,
            );
            let body: BatchBody =
                serde_json::from_slice(&plain).map_err(|_| tampered("a batch that is not a change list"))?;
            opened.push((batch, batch.hash(), body));
        }
        let mut report = ApplyReport::default();
        let mut chain: HashMap<String, (u64, String)> = HashMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT a.device, a.seq, a.hash FROM sync_applied a JOIN (SELECT device, max(seq) AS seq FROM sync_applied GROUP BY device) m ON a.device = m.device AND a.seq = m.seq",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?, r.get::<_, String>(2)?)))?;
            for row in rows {
                let (d, s, h) = row?;
                chain.insert(d, (s, h));
            }
        }
        let own_sent: u64 = self.conn.query_row("SELECT coalesce(max(seq), 0) FROM sync_sent", [], |r| r.get(0))?;
        let device = self.device.clone();
        let now = crate::store::now_timestamp();
        let mut w = self.writer()?;
        w.lenient = true;
        let mut done = vec![false; opened.len()];
        loop {
            let mut progress = false;
            for (i, (batch, hash, body)) in opened.iter().enumerate() {
                if done[i] {
                    continue;
                }
                let (at, last_hash) = chain.get(&batch.device).cloned().unwrap_or((0, String::new()));
                if batch.seq <= at {
                    let applied: Option<String> =
                        w.tx.query_row(
                            "SELECT hash FROM sync_applied WHERE device = ?1 AND seq = ?2",
                            params![batch.device, batch.seq],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if applied.as_deref() != Some(hash.as_str()) {
                        return Err(fork(&batch.device, batch.seq));
                    }
                    report.duplicates += 1;
                    done[i] = true;
                    continue;
                }
                if batch.seq != at + 1 {
                    continue;
                }
                if batch.prev != last_hash {
                    return Err(fork(&batch.device, batch.seq));
                }
                let ready = body.deps.iter().all(|(d, n)| {
                    if *d == device {
                        *n <= own_sent
                    } else {
                        chain.get(d).is_some_and(|(s, _)| s >= n) || *n == 0
                    }
                });
                if !ready {
                    continue;
                }
                apply_changes(&mut w, &body.changes, &mut report)?;
                w.tx.execute(
                    "INSERT INTO sync_applied(device, seq, hash, applied_at) VALUES (?1, ?2, ?3, ?4)",
                    params![batch.device, batch.seq, hash, now],
                )?;
                chain.insert(batch.device.clone(), (batch.seq, hash.clone()));
                report.batches += 1;
                report.changes += body.changes.len() as u32;
                done[i] = true;
                progress = true;
            }
            if !progress {
                break;
            }
        }
        report.waiting = done.iter().filter(|d| !**d).count() as u32;
        report.downloads =
            w.tx.query_row("SELECT count(*) FROM sync_blobs WHERE direction = 'down'", [], |r| r.get(0))?;
        w.commit()?;
        Ok(report)
    }

    pub fn note_synced(&mut self) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![LAST_SYNC_META, crate::store::now_timestamp()],
        )?;
        Ok(())
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let team = self.team()?;
        let count = |sql: &str| -> Result<u64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        let in_team = team.is_some();
        Ok(SyncStatus {
            device: self.device.clone(),
            team_fingerprint: self.team_fingerprint()?,
            pending_changes: if in_team { count("SELECT count(*) FROM sync_outbox")? } else { 0 },
            unsent_batches: if in_team { count("SELECT count(*) FROM sync_sent WHERE acked = 0")? } else { 0 },
            last_synced: self.meta_value(LAST_SYNC_META)?,
            conflicts: if in_team { self.sync_conflicts()?.len() as u64 } else { 0 },
            epoch: if in_team { self.current_key()?.0 } else { 0 },
            vector: if in_team { self.sync_vector()? } else { BTreeMap::new() },
            team,
        })
    }

    /// Every contested field and every delete that missed an edit, in record order.
    pub fn sync_conflicts(&self) -> Result<Vec<FieldConflict>> {
        let rows: Vec<(String, String, String)> = {
            let mut stmt =
                self.conn.prepare("SELECT record, kind, heads FROM sync_heads WHERE contested = 1 ORDER BY record")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::new();
        for (record, kind, heads) in rows {
            let id = Uuid::parse_str(&record).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let kind = crate::store::kind_from_db(&kind)?;
            let heads: Heads = serde_json::from_str(&heads).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let label = self.get(id).map(|r| r.label()).unwrap_or_else(|_| "(deleted)".into());
            for field in conflicts_of(&heads) {
                let versions = if field == DELETED {
                    let (delete, unseen) = contested_delete(&heads).unwrap_or_else(|| unreachable!());
                    let mut v = vec![version(delete, Value::String("deleted".into()))];
                    v.extend(
                        unseen
                            .iter()
                            .filter(|(f, _)| !f.starts_with('_'))
                            .map(|(f, h)| version(h, serde_json::json!({ *f: h.v }))),
                    );
                    v
                } else {
                    heads[&field].iter().rev().map(|h| version(h, h.v.clone())).collect()
                };
                out.push(FieldConflict { record: id, kind, label: label.clone(), field, versions });
            }
        }
        for link in self.dangling_links()? {
            let versions = vec![
                ConflictVersion {
                    hlc: link.link_hlc.clone(),
                    device: device_of(&link.link_hlc).into(),
                    value: link.value,
                },
                ConflictVersion {
                    hlc: link.delete_hlc.clone(),
                    device: device_of(&link.delete_hlc).into(),
                    value: serde_json::json!({ "deleted": link.target.to_string() }),
                },
            ];
            out.push(FieldConflict {
                record: link.record,
                kind: link.kind,
                label: link.label,
                field: link.field,
                versions,
            });
        }
        Ok(out)
    }

    /// Links made on one device to a record another device deleted without seeing the link: the
    /// link is kept and listed, to keep (which restores the record) or to remove. Found from the
    /// reference rows, which merged records keep even to a deleted record, so every device that
    /// applied the same batches lists the same ones.
    fn dangling_links(&self) -> Result<Vec<DanglingLink>> {
        let rows: Vec<(String, String, String, String, String, String)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT f.uuid, f.kind, f.label, f.body, rr.field, t.uuid FROM record_refs rr
                 JOIN records f ON f.id = rr.from_id AND f.deleted = 0
                 JOIN records t ON t.id = rr.to_id AND t.deleted = 1
                 ORDER BY f.uuid, rr.field, t.uuid",
            )?;
            let rows =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::new();
        for (record, kind, label, body, field, target) in rows {
            let parse = |text: &str| Uuid::parse_str(text).map_err(|e| Error::VaultCorrupt(e.to_string()));
            let (record, target) = (parse(&record)?, parse(&target)?);
            let body: Map<String, Value> =
                serde_json::from_str(&body).map_err(|e| Error::VaultCorrupt(format!("record {record}: {e}")))?;
            // A reference inside a list of objects ("complaints.by") is a change of the list.
            let path = field.clone();
            let field = field.split('.').next().unwrap_or_default().to_string();
            let last = |heads: &Heads, f: &str| heads.get(f).and_then(|hs| hs.last()).map(|h| h.h.clone());
            let (Some(link_hlc), Some(delete_hlc)) =
                (last(&load_heads(&self.conn, record)?, &field), last(&load_heads(&self.conn, target)?, DELETED))
            else {
                // Not a team change on both sides (a vault's own data): nothing to settle here.
                continue;
            };
            out.push(DanglingLink {
                record,
                kind: crate::store::kind_from_db(&kind)?,
                label,
                value: body.get(&field).cloned().unwrap_or_default(),
                field,
                path,
                target,
                link_hlc,
                delete_hlc,
            });
        }
        Ok(out)
    }

    /// Settles a dangling link: keeping it restores the deleted record for the whole team,
    /// removing it takes the record out of the field.
    fn settle_link(&mut self, link: &DanglingLink, keep: bool) -> Result<()> {
        let mut w = self.writer()?;
        let hlc = w.hlc();
        let (record, kind) = if keep {
            let kind: String =
                w.tx.row("SELECT kind FROM records WHERE uuid = ?1", [link.target.to_string()], |r| r.get(0))?;
            (link.target, crate::store::kind_from_db(&kind)?)
        } else {
            (link.record, link.kind)
        };
        let mut heads = load_heads(&w.tx, record)?;
        let at = Edit { record, kind: kind.as_str(), hlc: &hlc };
        let mut out = Vec::new();
        if keep {
            push_local(&mut heads, &mut out, &at, DELETED, false.into(), Value::Null);
        } else {
            let target = Value::String(link.target.to_string());
            // A list of links loses the link ("participants"); a reference inside an item
            // ("complaints.by") leaves the item, without the reference.
            let inner = link.path.split_once('.').map(|(_, key)| key);
            let without = match &link.value {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .filter_map(|item| match (inner, item) {
                            (Some(key), Value::Object(o)) if o.get(key) == Some(&target) => {
                                let mut kept = o.clone();
                                kept.remove(key);
                                Some(Value::Object(kept))
                            }
                            (None, Value::Object(o)) if o.values().any(|v| *v == target) => None,
                            _ if *item == target => None,
                            _ => Some(item.clone()),
                        })
                        .collect(),
                ),
                _ => Value::Null,
            };
            push_local(&mut heads, &mut out, &at, &link.field, without, link.value.clone());
        }
        settled(w, &at, kind, heads, out)
    }

    /// Settles a conflict by choosing one version (by its clock). The choice is a new change that
    /// has seen every version, so the whole team converges on it.
    pub fn resolve_sync_conflict(&mut self, record: Uuid, field: &str, choose: &str) -> Result<()> {
        let links = self.dangling_links()?;
        if let Some(link) = links
            .iter()
            .find(|l| l.record == record && l.field == field && (l.link_hlc == choose || l.delete_hlc == choose))
        {
            return self.settle_link(link, link.link_hlc == choose);
        }
        let conflict = self
            .sync_conflicts()?
            .into_iter()
            .find(|c| c.record == record && c.field == field)
            .ok_or_else(|| Error::NotFound(format!("no open conflict on field {field} of record {record}")))?;
        let chosen = conflict
            .versions
            .iter()
            .find(|v| v.hlc == choose)
            .ok_or_else(|| Error::NotFound(format!("no version {choose} in the conflict on {field}")))?;
        let mut w = self.writer()?;
        let mut heads = load_heads(&w.tx, record)?;
        let hlc = w.hlc();
        let kind = conflict.kind.as_str();
        let at = Edit { record, kind, hlc: &hlc };
        let mut out = Vec::new();
        if field == DELETED {
            let delete = chosen.value == Value::String("deleted".into());
            push_local(&mut heads, &mut out, &at, DELETED, delete.into(), Value::Null);
        } else {
            let before = value_of(heads.get(field).map(Vec::as_slice).unwrap_or_default());
            push_local(&mut heads, &mut out, &at, field, chosen.value.clone(), before);
        }
        settled(w, &at, conflict.kind, heads, out)
    }
}

/// A person's decision on a conflict, made into a local change: sent to the team at the next
/// sync, and written here as the merged heads now say.
fn settled(mut w: Writer<'_>, at: &Edit<'_>, kind: Kind, mut heads: Heads, mut out: Vec<Change>) -> Result<()> {
    push_local(&mut heads, &mut out, at, "_updated", crate::store::now_timestamp().into(), Value::Null);
    save_heads(&w.tx, at.record, kind.as_str(), &heads)?;
    queue(&w.tx, &out)?;
    w.lenient = true;
    if let Some((rowid, body)) = materialise(&mut w, at.record, kind, &heads)? {
        w.put_relations(rowid, at.record, &body)?;
    }
    w.commit()
}

fn version(head: &Head, value: Value) -> ConflictVersion {
    ConflictVersion { hlc: head.h.clone(), device: device_of(&head.h).to_string(), value }
}

fn fork(device: &str, seq: u64) -> Error {
    Error::sync(
        "sync_fork_detected",
        format!("The server holds two different versions of batch {seq} of device {device}: the sequence was altered or forked. Nothing was applied; tell whoever runs the server."),
    )
}

fn apply_changes(w: &mut Writer<'_>, changes: &[Change], report: &mut ApplyReport) -> Result<()> {
    let mut by_record: Vec<(Uuid, String, Vec<&Change>)> = Vec::new();
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    for c in changes {
        let i = *index.entry(c.r).or_insert_with(|| {
            by_record.push((c.r, c.k.clone(), Vec::new()));
            by_record.len() - 1
        });
        by_record[i].2.push(c);
    }
    let mut written = Vec::new();
    for (record, kind, changes) in by_record {
        let kind = Kind::parse(&kind).ok_or_else(|| {
            Error::sync("sync_unreadable_change", format!("A device of the team sent a kind of record this Casebook does not know ({kind}). Update Casebook and sync again; nothing was applied."))
        })?;
        let mut heads = load_heads(&w.tx, record)?;
        for c in &changes {
            apply_change(&mut heads, c);
            if let Some(h) = Hlc::parse(&c.h) {
                w.observe(h);
            }
        }
        save_heads(&w.tx, record, kind.as_str(), &heads)?;
        if let Some(row) = materialise(w, record, kind, &heads)? {
            written.push((row, record));
        }
        report.records += 1;
    }
    for ((rowid, body), record) in written {
        w.put_relations(rowid, record, &body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(h: &str, v: Value, b: Value) -> Head {
        Head { h: h.into(), v, b, s: Vec::new() }
    }

    #[test]
    fn concurrent_list_edits_keep_every_addition_and_honour_removals() {
        let base = serde_json::json!(["a", "b", "c"]);
        let heads = vec![
            head("1-0000-x", serde_json::json!(["a", "b"]), base.clone()),
            head("2-0000-y", serde_json::json!(["a", "b", "c", "d"]), base),
        ];
        assert_eq!(merge_lists(&heads), serde_json::json!(["a", "b", "d"]));
    }

    #[test]
    fn a_delete_that_missed_an_edit_leaves_the_record_and_a_conflict() {
        let mut heads = Heads::new();
        heads.insert("name".into(), vec![head("5-0000-b", "new".into(), Value::Null)]);
        heads.insert(
            DELETED.into(),
            vec![Head { h: "6-0000-a".into(), v: true.into(), b: Value::Null, s: vec!["1-0000-a".into()] }],
        );
        let m = merged(&heads, Map::new());
        assert!(!m.deleted);
        assert_eq!(conflicts_of(&heads), vec![DELETED.to_string()]);
        heads.get_mut(DELETED).unwrap_or_else(|| unreachable!())[0].s.push("5-0000-b".into());
        assert!(merged(&heads, Map::new()).deleted);
        assert!(conflicts_of(&heads).is_empty());
    }
}
