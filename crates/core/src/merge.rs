//! Bringing a partner's bundle in: a read-only preview, then one transaction that merges by id,
//! never overwrites a local edit (the incoming version is kept as a conflict to resolve), records
//! where every record came from, and proposes people who are probably already here under another
//! spelling. Merging two people is the user's decision, audited and undoable.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::bundle::{self, sha256_hex, FileEntry, Incoming, Manifest, Redaction, Source, Visitor};
use crate::error::{Error, Result};
use crate::model::{Body, Kind, Partner, Person};
use crate::normalize::skeleton;
use crate::store::{now_timestamp, Writer};
use crate::vault::Vault;

pub(crate) const SCHEMA_V6: &str = "
-- Where each record came from: one row per record and bundle. body_sha256 is the incoming body's
-- hash, so a later bundle can tell a local edit (keep it) from a record nobody touched here.
CREATE TABLE provenance (
    record      TEXT NOT NULL,
    bundle      TEXT NOT NULL,
    sender      TEXT NOT NULL,
    sender_name TEXT,
    received_at TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    PRIMARY KEY (record, bundle)
) STRICT;
-- Incoming versions that were not applied because the record was edited here.
CREATE TABLE conflicts (
    record      TEXT NOT NULL,
    bundle      TEXT NOT NULL,
    sender      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    incoming    TEXT NOT NULL,
    resolution  TEXT,
    PRIMARY KEY (record, bundle)
) STRICT;
CREATE TABLE duplicate_proposals (
    a          TEXT NOT NULL,
    b          TEXT NOT NULL,
    score      INTEGER NOT NULL,
    reasons    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'merged', 'dismissed')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (a, b)
) STRICT;
-- Each merge keeps the records as they were, so it can be undone.
CREATE TABLE merges (
    id        INTEGER PRIMARY KEY,
    keep      TEXT NOT NULL,
    other     TEXT NOT NULL,
    at        TEXT NOT NULL,
    before    TEXT NOT NULL,
    after     TEXT NOT NULL,
    undone_at TEXT
) STRICT;
";

fn body_text(body: &Body) -> Result<String> {
    Ok(serde_json::to_string(&body.to_json())?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Change {
    New,
    Changed,
    Unchanged,
    /// Edited here since the partner's last version: the incoming one is kept aside.
    Conflict,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SenderInfo {
    pub name: Option<String>,
    pub fingerprint: String,
    /// A partner in this vault's directory holds this signing key.
    pub known: bool,
    pub partner: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PreviewItem {
    pub id: Uuid,
    pub kind: Kind,
    pub label: String,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BundlePreview {
    pub bundle_id: Uuid,
    pub created_at: String,
    pub sender: SenderInfo,
    pub redaction: Redaction,
    pub records: Vec<PreviewItem>,
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub conflicts: u32,
    pub attachments: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub attachment_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BundleImport {
    pub bundle_id: Uuid,
    pub sender: SenderInfo,
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub conflicts: u32,
    pub files_stored: u32,
    pub duplicates: Vec<DuplicateProposal>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DuplicateProposal {
    pub a: Uuid,
    pub a_label: String,
    pub b: Uuid,
    pub b_label: String,
    pub score: u32,
    pub reasons: Vec<String>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Conflict {
    pub record: Uuid,
    pub kind: Kind,
    pub label: String,
    pub bundle: Uuid,
    pub sender: String,
    pub received_at: String,
    /// The version that arrived, in the export envelope form.
    pub incoming: Value,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MergeResult {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub merge: i64,
    pub keep: Uuid,
    pub other: Uuid,
    pub records_updated: u32,
}

/// How an incoming record relates to what this vault holds. Read-only; the same rules decide the
/// preview and the import.
fn classify(conn: &Connection, incoming: &Incoming) -> Result<Change> {
    let item = &incoming.item;
    if let Body::Term(t) = &item.body {
        let same_code: Option<String> = conn
            .query_row(
                "SELECT uuid FROM records WHERE kind = 'term' AND deleted = 0 AND json_extract(body, '$.vocabulary') = ?1 AND json_extract(body, '$.code') = ?2",
                [&t.vocabulary, &t.code],
                |r| r.get(0),
            )
            .optional()?;
        if same_code.is_some_and(|id| id != item.id.to_string()) {
            // The code is what records use: ours stays, the partner's figures still count alike.
            return Ok(Change::Unchanged);
        }
    }
    let local: Option<(String, bool)> = conn
        .query_row("SELECT body, deleted FROM records WHERE uuid = ?1", [item.id.to_string()], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? == 1))
        })
        .optional()?;
    let Some((local_body, deleted)) = local else { return Ok(Change::New) };
    let incoming_text = body_text(&item.body)?;
    let incoming_sha = sha256_hex(incoming_text.as_bytes());
    let last: Option<String> = conn
        .query_row(
            "SELECT body_sha256 FROM provenance WHERE record = ?1 ORDER BY received_at DESC LIMIT 1",
            [item.id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if last.as_deref() == Some(incoming_sha.as_str()) {
        // Nothing new from the partner since we last took this record: local edits stand.
        return Ok(Change::Unchanged);
    }
    if deleted {
        return Ok(Change::Conflict);
    }
    if local_body == incoming_text {
        return Ok(Change::Unchanged);
    }
    if last.is_some_and(|l| l == sha256_hex(local_body.as_bytes())) {
        return Ok(Change::Changed);
    }
    Ok(Change::Conflict)
}

fn find_partner(conn: &Connection, signing_key: &str) -> Result<Option<Uuid>> {
    let mut stmt = conn.prepare(
        "SELECT uuid, json_extract(body, '$.signing_key') FROM records WHERE kind = 'partner' AND deleted = 0",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
    for row in rows {
        let (id, key) = row?;
        if key.is_some_and(|k| k.trim() == signing_key.trim()) {
            return Ok(Uuid::parse_str(&id).ok());
        }
    }
    Ok(None)
}

/// Who signed: a partner in the directory, this vault itself (a bundle it sent to itself), or unknown.
fn sender_info(conn: &Connection, manifest: &Manifest, own_signing_key: &str) -> Result<SenderInfo> {
    let partner = find_partner(conn, &manifest.sender.signing_key)?;
    Ok(SenderInfo {
        name: manifest.sender.name.clone(),
        fingerprint: crate::identity::fingerprint(&manifest.sender.recipient, &manifest.sender.signing_key),
        known: partner.is_some() || manifest.sender.signing_key.trim() == own_signing_key,
        partner,
    })
}

struct PreviewVisitor<'a> {
    conn: &'a Connection,
    own_signing_key: String,
    preview: Option<BundlePreview>,
}

impl Visitor for PreviewVisitor<'_> {
    fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
        self.preview = Some(BundlePreview {
            bundle_id: manifest.bundle_id,
            created_at: manifest.created_at.clone(),
            sender: sender_info(self.conn, manifest, &self.own_signing_key)?,
            redaction: manifest.redaction,
            records: Vec::new(),
            new: 0,
            changed: 0,
            unchanged: 0,
            conflicts: 0,
            attachments: manifest.attachments.len() as u32,
            attachment_bytes: manifest.attachments.iter().map(|f| f.size).sum(),
        });
        Ok(())
    }

    fn records(&mut self, records: Vec<Incoming>) -> Result<()> {
        let preview = self.preview.as_mut().ok_or_else(|| Error::Storage("records before manifest".into()))?;
        for incoming in &records {
            let change = classify(self.conn, incoming)?;
            match change {
                Change::New => preview.new += 1,
                Change::Changed => preview.changed += 1,
                Change::Unchanged => preview.unchanged += 1,
                Change::Conflict => preview.conflicts += 1,
            }
            preview.records.push(PreviewItem {
                id: incoming.item.id,
                kind: incoming.item.body.kind(),
                label: incoming.item.body.label(),
                change,
            });
        }
        Ok(())
    }

    fn attachment(&mut self, _entry: &FileEntry, _content: &mut dyn Read) -> Result<()> {
        Ok(())
    }
}

struct ImportVisitor<'w, 'a> {
    w: &'w mut Writer<'a>,
    own_signing_key: String,
    accept: Option<String>,
    manifest: Option<(Manifest, SenderInfo)>,
    counts: [u32; 4],
    need_bytes: HashSet<Uuid>,
    files_stored: u32,
    people: Vec<Uuid>,
}

impl Visitor for ImportVisitor<'_, '_> {
    fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
        let mut sender = sender_info(&self.w.tx, manifest, &self.own_signing_key)?;
        if !sender.known {
            let accepted = self.accept.as_deref().is_some_and(|a| a.trim().eq_ignore_ascii_case(&sender.fingerprint));
            if !accepted {
                return Err(Error::bundle(
                    "bundle_unknown_sender",
                    format!(
                        "This bundle is signed by a sender who is not in your partner list (fingerprint {}{}). Compare the fingerprint with the sender by phone; if it matches, import again and accept it. Nothing was imported.",
                        sender.fingerprint,
                        manifest.sender.name.as_deref().map(|n| format!(", calls itself \"{n}\"")).unwrap_or_default()
                    ),
                ));
            }
            // Accepted after comparing the fingerprint: the sender joins the directory.
            let id = Uuid::now_v7();
            let partner = Body::Partner(Partner {
                name: manifest.sender.name.clone().unwrap_or_else(|| format!("Partner {}", sender.fingerprint)),
                age_recipient: Some(manifest.sender.recipient.clone()),
                signing_key: Some(manifest.sender.signing_key.clone()),
                fingerprint_verified: true,
                notes: Some(format!("Added when bundle {} was accepted.", manifest.bundle_id)),
            });
            self.w.put(id, &partner, None, None, "bundle")?;
            sender.known = true;
            sender.partner = Some(id);
        }
        self.manifest = Some((manifest.clone(), sender));
        Ok(())
    }

    fn records(&mut self, records: Vec<Incoming>) -> Result<()> {
        let (manifest, sender) =
            self.manifest.clone().ok_or_else(|| Error::Storage("records before manifest".into()))?;
        let received_at = now_timestamp();
        let bundle_id = manifest.bundle_id.to_string();
        let mut written = Vec::new();
        for incoming in &records {
            let item = &incoming.item;
            let change = classify(&self.w.tx, incoming)?;
            self.counts[change as usize] += 1;
            let text = body_text(&item.body)?;
            match change {
                Change::New | Change::Changed => {
                    if let Some(rowid) = self.w.put_row(
                        item.id,
                        &item.body,
                        item.created_at.as_deref(),
                        item.updated_at.as_deref(),
                        "bundle",
                    )? {
                        written.push((rowid, item));
                    }
                    if matches!(item.body, Body::Attachment(_)) {
                        self.need_bytes.insert(item.id);
                    }
                }
                Change::Conflict => {
                    let mut envelope = item.body.to_json();
                    if let Value::Object(fields) = &mut envelope {
                        fields.insert("id".into(), item.id.to_string().into());
                        fields.insert("kind".into(), item.body.kind().as_str().into());
                    }
                    self.w.tx.execute(
                        "INSERT OR IGNORE INTO conflicts(record, bundle, sender, received_at, incoming) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![item.id.to_string(), bundle_id, sender.fingerprint, received_at, serde_json::to_string(&envelope)?],
                    )?;
                }
                Change::Unchanged => {}
            }
            if matches!(item.body, Body::Person(_)) {
                self.people.push(item.id);
            }
            self.w.tx.execute(
                "INSERT OR IGNORE INTO provenance(record, bundle, sender, sender_name, received_at, body_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![item.id.to_string(), bundle_id, sender.fingerprint, manifest.sender.name, received_at, sha256_hex(text.as_bytes())],
            )?;
        }
        for (rowid, item) in written {
            self.w.put_relations(rowid, item.id, &item.body)?;
        }
        Ok(())
    }

    fn attachment(&mut self, entry: &FileEntry, content: &mut dyn Read) -> Result<()> {
        if !self.need_bytes.remove(&entry.id) {
            return Ok(());
        }
        self.w.tx.execute("DELETE FROM attachment_chunks WHERE attachment = ?1", [entry.id.to_string()])?;
        crate::attachments::write_chunks(&self.w.tx, entry.id, content, |_| {}, |e| Error::io("bundle", e))?;
        self.files_stored += 1;
        Ok(())
    }
}

impl Vault {
    /// Decrypts and verifies the whole bundle and says what importing it would do. Writes nothing.
    pub fn inspect_bundle(&mut self, source: Source<'_>) -> Result<BundlePreview> {
        let identity = self.age_identity()?;
        let own_signing_key = self.identity()?.signing_key;
        let mut visitor = PreviewVisitor { conn: &self.conn, own_signing_key, preview: None };
        bundle::read_source(&identity, source, &mut visitor)?;
        visitor.preview.ok_or_else(|| Error::Storage("the bundle had no manifest".into()))
    }

    /// Imports a bundle in one transaction: nothing is kept unless every part verified. A sender
    /// not in the partner directory is refused unless `accept_fingerprint` is its fingerprint.
    pub fn import_bundle(&mut self, source: Source<'_>, accept_fingerprint: Option<&str>) -> Result<BundleImport> {
        let identity = self.age_identity()?;
        let own_signing_key = self.identity()?.signing_key;
        let mut w = self.writer()?;
        w.tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        let mut visitor = ImportVisitor {
            w: &mut w,
            own_signing_key,
            accept: accept_fingerprint.map(str::to_string),
            manifest: None,
            counts: [0; 4],
            need_bytes: HashSet::new(),
            files_stored: 0,
            people: Vec::new(),
        };
        bundle::read_source(&identity, source, &mut visitor)?;
        if let Some(missing) = visitor.need_bytes.iter().next() {
            return Err(Error::bundle(
                "bundle_hash_mismatch",
                format!("The bundle lists attachment {missing} without its file. Nothing was imported."),
            ));
        }
        let ImportVisitor { manifest, counts, files_stored, people, .. } = visitor;
        let (manifest, sender) = manifest.ok_or_else(|| Error::Storage("the bundle had no manifest".into()))?;
        w.commit()?;
        let duplicates = self.propose_duplicates(&people)?;
        Ok(BundleImport {
            bundle_id: manifest.bundle_id,
            sender,
            new: counts[Change::New as usize],
            changed: counts[Change::Changed as usize],
            unchanged: counts[Change::Unchanged as usize],
            conflicts: counts[Change::Conflict as usize],
            files_stored,
            duplicates,
        })
    }

    /// Open conflicts: incoming versions not applied because the record was edited here.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let mut stmt = self.conn.prepare(
            "SELECT record, bundle, sender, received_at, incoming FROM conflicts WHERE resolution IS NULL ORDER BY received_at, record",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get::<_, String>(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (record, bundle, sender, received_at, incoming) = row?;
            let record = Uuid::parse_str(&record).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let local = self.get(record).ok();
            let incoming: Value = serde_json::from_str(&incoming)?;
            let kind = incoming.get("kind").and_then(Value::as_str).and_then(Kind::parse);
            out.push(Conflict {
                record,
                kind: kind.ok_or_else(|| Error::VaultCorrupt(format!("conflict for {record} has no kind")))?,
                label: local.map(|l| l.label()).unwrap_or_else(|| "(deleted here)".into()),
                bundle: Uuid::parse_str(&bundle).map_err(|e| Error::VaultCorrupt(e.to_string()))?,
                sender,
                received_at,
                incoming,
            });
        }
        Ok(out)
    }

    /// Resolves a conflict: keep this vault's version, or take the partner's (audited as "resolve").
    pub fn resolve_conflict(&mut self, record: Uuid, take_theirs: bool) -> Result<()> {
        let open: Vec<(String, String)> = {
            let mut stmt = self.conn.prepare(
                "SELECT bundle, incoming FROM conflicts WHERE record = ?1 AND resolution IS NULL ORDER BY received_at DESC",
            )?;
            let rows = stmt.query_map([record.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let Some((_, incoming)) = open.first() else {
            return Err(Error::NotFound(format!("no open conflict for record {record}")));
        };
        let incoming: Value = serde_json::from_str(incoming)?;
        let mut w = self.writer()?;
        if take_theirs {
            let item = crate::exchange::parse_record(0, incoming, &mut HashSet::new())?;
            w.put(item.id, &item.body, None, None, "resolve")?;
        }
        let resolution = if take_theirs { "theirs" } else { "mine" };
        w.tx.execute(
            "UPDATE conflicts SET resolution = ?2 WHERE record = ?1 AND resolution IS NULL",
            params![record.to_string(), resolution],
        )?;
        w.commit()
    }
}

// ------------------------------------------------------------------------------- duplicates

/// Each name of a person as its words' script-independent skeletons.
fn name_keys(person: &Person) -> Vec<Vec<String>> {
    person
        .names
        .iter()
        .map(|n| n.value.split(|c: char| !c.is_alphanumeric()).map(skeleton).filter(|k| !k.is_empty()).collect())
        .collect()
}

/// Whole words in common, and initials ("M.") that match a word of the other name.
fn names_match(a: &[String], b: &[String]) -> Option<(u32, u32)> {
    let full: Vec<&String> = a.iter().filter(|w| w.len() >= 2 && b.contains(w)).collect();
    if !full.iter().any(|w| w.len() >= 4) {
        return None;
    }
    let rest_a: Vec<&String> = a.iter().filter(|w| !full.contains(w)).collect();
    let rest_b: Vec<&String> = b.iter().filter(|w| !full.contains(w)).collect();
    let initial_of =
        |short: &String, words: &[&String]| short.len() == 1 && words.iter().any(|w| w.starts_with(short.as_str()));
    let initials = rest_a.iter().filter(|w| initial_of(w, &rest_b)).count()
        + rest_b.iter().filter(|w| initial_of(w, &rest_a)).count();
    let full = full.len() as u32;
    (full >= 2 || full + initials as u32 >= 2).then_some((full, initials as u32))
}

impl Vault {
    fn cases_of(&self, person: Uuid) -> Result<BTreeSet<Uuid>> {
        Ok(self.referrers(person)?.into_iter().filter(|r| r.kind == Kind::Case).map(|r| r.id).collect())
    }

    /// Who in this vault is probably the same person as `person`, with the reasons.
    pub fn duplicate_candidates(&self, person: Uuid) -> Result<Vec<DuplicateProposal>> {
        let record = self.get(person)?;
        let Body::Person(p) = &record.body else { return Ok(Vec::new()) };
        let keys = name_keys(p);
        let mut candidates = BTreeSet::new();
        for word in p.names.iter().flat_map(|n| n.value.split(|c: char| !c.is_alphanumeric())) {
            if word.chars().count() < 4 {
                continue;
            }
            let page = self.search(&crate::search::SearchQuery {
                text: word.to_string(),
                kinds: vec![Kind::Person],
                limit: 50,
                ..Default::default()
            })?;
            candidates.extend(page.hits.into_iter().map(|h| h.id).filter(|id| *id != person));
        }
        let my_cases = self.cases_of(person)?;
        let mut out = Vec::new();
        for other_id in candidates {
            let other = self.get(other_id)?;
            let Body::Person(q) = &other.body else { continue };
            let best = keys
                .iter()
                .flat_map(|a| name_keys(q).into_iter().filter_map(move |b| names_match(a, &b).map(|m| (m, b))))
                .max_by_key(|((full, initials), _)| (*full, *initials));
            let Some(((full, initials), _)) = best else { continue };
            let mut score = 40 + 20 * full + 10 * initials;
            let mut reasons =
                vec![format!("names match across scripts: \"{}\" and \"{}\"", record.label(), other.label())];
            if let (Some(x), Some(y)) = (&p.birth_date, &q.birth_date) {
                if x.latest() < y.earliest() || y.latest() < x.earliest() {
                    continue;
                }
                score += 30;
                reasons.push(format!("birth dates agree ({} / {})", x.human(), y.human()));
            }
            let shared: Vec<Uuid> = my_cases.intersection(&self.cases_of(other_id)?).copied().collect();
            if let Some(case) = shared.first() {
                score += 20;
                reasons.push(format!("both in the case \"{}\"", self.get(*case)?.label()));
            }
            out.push(DuplicateProposal {
                a: person,
                a_label: record.label(),
                b: other_id,
                b_label: other.label(),
                score,
                reasons,
                status: "open".into(),
            });
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.score));
        Ok(out)
    }

    /// Records proposals for these people (idempotent) and returns the open ones among them.
    pub fn propose_duplicates(&mut self, people: &[Uuid]) -> Result<Vec<DuplicateProposal>> {
        let mut found = Vec::new();
        for id in people {
            found.extend(self.duplicate_candidates(*id)?);
        }
        let tx = self.conn.transaction()?;
        let mut out = Vec::new();
        for p in found {
            // Stored as (arrived, already here), so "merge" keeps the one this vault had.
            let (a, b) = (p.a.to_string(), p.b.to_string());
            let existing: Option<String> = tx
                .query_row(
                    "SELECT status FROM duplicate_proposals WHERE (a = ?1 AND b = ?2) OR (a = ?2 AND b = ?1)",
                    [&a, &b],
                    |r| r.get(0),
                )
                .optional()?;
            let status = match existing {
                Some(status) => status,
                None => {
                    tx.execute(
                        "INSERT INTO duplicate_proposals(a, b, score, reasons, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![a, b, p.score, serde_json::to_string(&p.reasons)?, now_timestamp()],
                    )?;
                    "open".to_string()
                }
            };
            if status == "open" && !out.iter().any(|o: &DuplicateProposal| (o.a, o.b) == (p.b, p.a)) {
                out.push(p);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Proposals recorded at import, open ones first.
    pub fn duplicate_proposals(&self) -> Result<Vec<DuplicateProposal>> {
        let mut stmt = self.conn.prepare(
            "SELECT a, b, score, reasons, status FROM duplicate_proposals ORDER BY status != 'open', score DESC, a, b",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, u32>(2)?, r.get::<_, String>(3)?, r.get(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (a, b, score, reasons, status) = row?;
            let a = Uuid::parse_str(&a).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let b = Uuid::parse_str(&b).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let label = |id| self.get(id).map(|r| r.label()).unwrap_or_else(|_| "(merged)".into());
            out.push(DuplicateProposal {
                a,
                a_label: label(a),
                b,
                b_label: label(b),
                score,
                reasons: serde_json::from_str(&reasons)?,
                status,
            });
        }
        Ok(out)
    }

    pub fn dismiss_duplicate(&mut self, a: Uuid, b: Uuid) -> Result<()> {
        let changed = self.conn.execute(
            "UPDATE duplicate_proposals SET status = 'dismissed' WHERE (a = ?1 AND b = ?2) OR (a = ?2 AND b = ?1)",
            [a.to_string(), b.to_string()],
        )?;
        if changed == 0 {
            return Err(Error::NotFound(format!("no duplicate proposal for {a} and {b}")));
        }
        Ok(())
    }

    /// Makes `other` part of `keep`: every record that named `other` names `keep`, `keep` gains
    /// `other`'s names, contacts, affiliations and recognitions, and `other` is deleted. One
    /// transaction, audited; `undo_merge` restores all of it.
    pub fn merge_people(&mut self, keep: Uuid, other: Uuid) -> Result<MergeResult> {
        if keep == other {
            return Err(Error::InvalidInput("a person cannot be merged with itself".into()));
        }
        let keep_rec = self.get(keep)?;
        let other_rec = self.get(other)?;
        let (Body::Person(k), Body::Person(o)) = (&keep_rec.body, &other_rec.body) else {
            return Err(Error::InvalidInput("only two people can be merged".into()));
        };
        let merged = Body::Person(merged_person(k, o));
        let referrers: BTreeSet<Uuid> =
            self.referrers(other)?.into_iter().map(|r| r.id).filter(|id| *id != keep).collect();
        let mut before = vec![keep_rec.to_json(), other_rec.to_json()];
        let mut rewritten = Vec::new();
        for id in &referrers {
            let record = self.get(*id)?;
            before.push(record.to_json());
            let mut json = record.body.to_json();
            replace_id(&mut json, &other.to_string(), &keep.to_string());
            let body = Body::from_json(record.kind, json).map_err(|(f, p)| Error::invalid(id.to_string(), f, p))?;
            rewritten.push((*id, body));
        }
        let mut w = self.writer()?;
        w.put(keep, &merged, None, None, "merge")?;
        let mut after = vec![(keep, sha256_hex(body_text(&merged)?.as_bytes()))];
        for (id, body) in &rewritten {
            w.put(*id, body, None, None, "merge")?;
            after.push((*id, sha256_hex(body_text(body)?.as_bytes())));
        }
        w.tombstone(other, &other_rec.body, "merge")?;
        let at = now_timestamp();
        w.tx.execute(
            "INSERT INTO merges(keep, other, at, before, after) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                keep.to_string(),
                other.to_string(),
                at,
                serde_json::to_string(&before)?,
                serde_json::to_string(&after)?
            ],
        )?;
        let merge = w.tx.last_insert_rowid();
        w.tx.execute(
            "UPDATE duplicate_proposals SET status = 'merged' WHERE (a = ?1 AND b = ?2) OR (a = ?2 AND b = ?1)",
            [keep.to_string(), other.to_string()],
        )?;
        w.commit()?;
        Ok(MergeResult { merge, keep, other, records_updated: rewritten.len() as u32 })
    }

    /// Restores the records a merge changed, if none was edited since.
    pub fn undo_merge(&mut self, merge: i64) -> Result<()> {
        let row: Option<(String, String, String, String, Option<String>)> = self
            .conn
            .query_row("SELECT keep, other, before, after, undone_at FROM merges WHERE id = ?1", [merge], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((keep, other, before, after, undone)) = row else {
            return Err(Error::NotFound(format!("merge {merge}")));
        };
        if undone.is_some() {
            return Err(Error::InvalidInput(format!("merge {merge} was already undone")));
        }
        let after: Vec<(Uuid, String)> = serde_json::from_str(&after)?;
        for (id, sha) in &after {
            let current = self.get(*id)?;
            if sha256_hex(body_text(&current.body)?.as_bytes()) != *sha {
                return Err(Error::InvalidInput(format!(
                    "{} \"{}\" was edited after the merge; undoing would lose that edit. Nothing was changed.",
                    current.kind,
                    current.label()
                )));
            }
        }
        let before: Vec<Value> = serde_json::from_str(&before)?;
        let mut items = Vec::new();
        for (index, record) in before.into_iter().enumerate() {
            items.push(crate::exchange::parse_record(index, record, &mut HashSet::new())?);
        }
        let mut w = self.writer()?;
        w.tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        // The removed person first, so the records that named it can again.
        items.sort_by_key(|i| i.id.to_string() != other);
        for item in &items {
            w.put(item.id, &item.body, item.created_at.as_deref(), None, "unmerge")?;
        }
        w.tx.execute("UPDATE merges SET undone_at = ?2 WHERE id = ?1", params![merge, now_timestamp()])?;
        w.tx.execute(
            "UPDATE duplicate_proposals SET status = 'open' WHERE (a = ?1 AND b = ?2) OR (a = ?2 AND b = ?1)",
            [keep, other],
        )?;
        w.commit()
    }
}

fn merged_person(keep: &Person, other: &Person) -> Person {
    fn union<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
        let mut out = a.to_vec();
        out.extend(b.iter().filter(|x| !a.contains(x)).cloned());
        out
    }
    let mut names = keep.names.clone();
    names.extend(other.names.iter().filter(|n| !keep.names.iter().any(|k| k.value == n.value)).cloned());
    Person {
        names,
        gender: keep.gender.clone().or_else(|| other.gender.clone()),
        birth_date: keep.birth_date.clone().or_else(|| other.birth_date.clone()),
        occupations: union(&keep.occupations, &other.occupations),
        affiliations: union(&keep.affiliations, &other.affiliations),
        contacts: union(&keep.contacts, &other.contacts),
        recognitions: union(&keep.recognitions, &other.recognitions),
        residence: keep.residence.clone().or_else(|| other.residence.clone()),
        citizenships: union(&keep.citizenships, &other.citizenships),
        notes: match (&keep.notes, &other.notes) {
            (Some(a), Some(b)) if a != b => Some(format!("{a}\n\n{b}")),
            (a, b) => a.clone().or_else(|| b.clone()),
        },
    }
}

/// Replaces every string equal to `from` (a record id) with `to`; a list that now holds the same
/// entry twice (the person was already a participant) keeps one.
fn replace_id(value: &mut Value, from: &str, to: &str) -> bool {
    match value {
        Value::String(s) if s == from => {
            *s = to.to_string();
            true
        }
        Value::Array(items) => {
            let mut changed = false;
            for item in items.iter_mut() {
                changed |= replace_id(item, from, to);
            }
            if changed {
                let mut seen = Vec::new();
                items.retain(|i| {
                    let fresh = !seen.contains(i);
                    if fresh {
                        seen.push(i.clone());
                    }
                    fresh
                });
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            for v in map.values_mut() {
                changed |= replace_id(v, from, to);
            }
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str) -> Vec<String> {
        name.split(|c: char| !c.is_alphanumeric()).map(skeleton).filter(|k| !k.is_empty()).collect()
    }

    #[test]
    fn the_same_name_in_three_spellings_matches_and_a_namesake_does_not() {
        let cyrillic = keys("Жыланбаев Марат");
        assert!(names_match(&cyrillic, &keys("Marat Zhylanbaev")).is_some());
        assert!(names_match(&keys("M. Jylanbaev"), &cyrillic).is_some());
        assert!(names_match(&keys("Жыланбаев Ерлан"), &cyrillic).is_none(), "same surname, other given name");
        assert!(names_match(&keys("Марат"), &cyrillic).is_none(), "a given name alone is not enough");
    }

    #[test]
    fn replacing_an_id_keeps_one_entry_where_both_were_listed() {
        let mut v = serde_json::json!({"attendees": ["a", "b", "c"], "person": "b"});
        assert!(replace_id(&mut v, "b", "a"));
        assert_eq!(v, serde_json::json!({"attendees": ["a", "c"], "person": "a"}));
    }
}
