//! Records: create, read, patch, delete (tombstone), link. Every write validates the body, its
//! vocabulary codes and its references, rewrites the derived reference rows and appends a
//! hash-chained, field-level audit entry, all in one transaction.

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::model::{Body, Kind, Participant};
use crate::vault::Vault;

/// `execute` and `query_row` through the connection's statement cache: a sync or an import
/// writes tens of thousands of records with the same few statements, and parsing each one anew
/// was a quarter of that time.
pub(crate) trait Cached {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P: rusqlite::Params, F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl Cached for rusqlite::Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P: rusqlite::Params, F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: Uuid,
    pub kind: Kind,
    pub created_at: String,
    pub updated_at: String,
    pub body: Body,
}

impl Record {
    /// The envelope form used by `show --json` and the export document: id, kind, timestamps, fields.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), Value::String(self.id.to_string()));
        out.insert("kind".into(), Value::String(self.kind.to_string()));
        out.insert("created_at".into(), Value::String(self.created_at.clone()));
        out.insert("updated_at".into(), Value::String(self.updated_at.clone()));
        if let Value::Object(fields) = self.body.to_json() {
            out.extend(fields);
        }
        Value::Object(out)
    }

    pub fn label(&self) -> String {
        self.body.label()
    }

    pub fn view(&self) -> RecordJson {
        let fields = match self.body.to_json() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        RecordJson {
            id: self.id,
            kind: self.kind,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            fields,
        }
    }
}

/// A record as the UI and `show --json` see it: the envelope, then the fields of its kind
/// (docs/json-format.md). Serialises exactly like `Record::to_json`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RecordJson {
    pub id: Uuid,
    pub kind: Kind,
    pub created_at: String,
    pub updated_at: String,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct Summary {
    pub id: Uuid,
    pub kind: Kind,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_from: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Referrer {
    pub id: Uuid,
    pub kind: Kind,
    pub label: String,
    pub field: String,
}

pub fn now_timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn valid_timestamp(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A record's row as stored, tombstones included.
struct StoredRow {
    rowid: i64,
    kind: Kind,
    body: String,
    created_at: String,
    updated_at: String,
    deleted: bool,
}

/// One write transaction with the clock and device it stamps changes with.
pub(crate) struct Writer<'a> {
    pub tx: Transaction<'a>,
    device: &'a str,
    clock: &'a mut Hlc,
    /// False while migrating a vault that has no search index yet.
    indexing: bool,
    /// False until v8 creates the report facts of events.
    facts: bool,
    /// True once the vault is in a team: every local change also goes to the sync outbox.
    tracking: bool,
    /// True while applying a team's batches: a merged record is kept even where it no longer
    /// passes the checks a form applies (see sync.rs).
    pub(crate) lenient: bool,
    /// The audit chain's last (seq, hash), once read: a pull appends tens of thousands of entries.
    audit_head: Option<(i64, String)>,
}

impl Vault {
    pub(crate) fn writer(&mut self) -> Result<Writer<'_>> {
        let version: u32 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = self.conn.transaction()?;
        Ok(Writer {
            tx,
            device: &self.device,
            clock: &mut self.clock,
            indexing: version >= crate::schema::SEARCH_VERSION,
            facts: version >= crate::schema::FACTS_VERSION,
            tracking: self.tracking,
            lenient: false,
            audit_head: None,
        })
    }
}

pub(crate) fn kind_from_db(text: &str) -> Result<Kind> {
    Kind::parse(text).ok_or_else(|| Error::VaultCorrupt(format!("unknown record kind '{text}' in the vault")))
}

pub(crate) fn body_from_db(kind: Kind, text: &str, id: &str) -> Result<Body> {
    let value: Value = serde_json::from_str(text).map_err(|e| Error::VaultCorrupt(format!("record {id}: {e}")))?;
    Body::from_json(kind, value).map_err(|(f, p)| Error::VaultCorrupt(format!("record {id}: field {f}: {p}")))
}

/// Top-level field changes between two bodies: `{field: [before, after]}`.
pub(crate) fn field_changes(before: Option<&Value>, after: Option<&Value>) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys()) {
        if out.contains_key(key) {
            continue;
        }
        let (old, new) = (b.get(key), a.get(key));
        if old != new {
            out.insert(
                key.clone(),
                Value::Array(vec![old.cloned().unwrap_or(Value::Null), new.cloned().unwrap_or(Value::Null)]),
            );
        }
    }
    out
}

pub(crate) fn audit_hash(prev: &str, seq: i64, fields: [&str; 7]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(seq.to_be_bytes());
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Writer<'_> {
    pub fn hlc(&mut self) -> String {
        let wall = chrono::Utc::now().timestamp_millis().max(0) as u64;
        *self.clock = self.clock.tick(wall);
        self.clock.render(self.device)
    }

    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }

    /// A clock seen on another device: local changes from now on sort after it.
    pub(crate) fn observe(&mut self, hlc: Hlc) {
        if hlc > *self.clock {
            *self.clock = hlc;
        }
    }

    /// Whether a change made with `action` goes to the team: not the team's own changes coming
    /// in, and not vocabulary seeds, which every vault makes alike.
    fn tracks(&self, action: &str) -> bool {
        self.tracking && action != crate::sync::ACTION && action != "seed"
    }

    /// Appends to the audit log; returns the change's clock.
    pub fn audit(&mut self, record: Uuid, kind: Kind, action: &str, changes: &Map<String, Value>) -> Result<String> {
        let hlc = self.hlc();
        let at = now_timestamp();
        let last = match self.audit_head.take() {
            Some(head) => Some(head),
            None => self
                .tx
                .row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?,
        };
        let (seq, prev) = last.map(|(s, h)| (s + 1, h)).unwrap_or((1, String::new()));
        let changes = serde_json::to_string(changes)?;
        let record = record.to_string();
        let hash = audit_hash(&prev, seq, [&at, &hlc, self.device, &record, kind.as_str(), action, &changes]);
        self.tx.exec(
            "INSERT INTO audit(seq, at, hlc, device, record, kind, action, changes, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![seq, at, hlc, self.device, record, kind.as_str(), action, changes, hash],
        )?;
        self.audit_head = Some((seq, hash));
        Ok(hlc)
    }

    fn existing(&self, id: Uuid) -> Result<Option<StoredRow>> {
        let row = self
            .tx
            .row(
                "SELECT id, kind, body, created_at, updated_at, deleted FROM records WHERE uuid = ?1",
                [id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)? == 1,
                    ))
                },
            )
            .optional()?;
        row.map(|(rowid, kind, body, created_at, updated_at, deleted)| {
            Ok(StoredRow { rowid, kind: kind_from_db(&kind)?, body, created_at, updated_at, deleted })
        })
        .transpose()
    }

    /// Insert or replace a record's row and audit it. Relations are checked by `put_relations`,
    /// separately, so an import can write all rows before checking references between them.
    /// Returns the row id, or `None` when the stored record was already identical.
    pub fn put_row(
        &mut self,
        id: Uuid,
        body: &Body,
        created_at: Option<&str>,
        updated_at: Option<&str>,
        action: &str,
    ) -> Result<Option<i64>> {
        let kind = body.kind();
        let label = id.to_string();
        if !self.lenient {
            body.validate().map_err(|(field, problem)| Error::invalid(format!("{kind} {label}"), field, problem))?;
        }
        let new_json = body.to_json();
        let new_text = serde_json::to_string(&new_json)?;
        let existing = self.existing(id)?;
        if let Some(old) = &existing {
            if old.kind != kind {
                return Err(Error::invalid(
                    format!("{kind} {id}"),
                    "id",
                    format!("this id already belongs to a {} record", old.kind),
                ));
            }
            let same_times =
                created_at.is_none_or(|c| c == old.created_at) && updated_at.is_none_or(|u| u == old.updated_at);
            if !old.deleted && old.body == new_text && same_times {
                return Ok(None);
            }
        }
        let now = now_timestamp();
        let created = created_at
            .map(str::to_string)
            .or_else(|| existing.as_ref().map(|e| e.created_at.clone()))
            .unwrap_or_else(|| now.clone());
        let updated = updated_at.map(str::to_string).unwrap_or(now);
        let (date_from, date_to) = match body.date_span() {
            Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
            None => (None, None),
        };
        let hlc = self.hlc();
        let duplicate = |e: rusqlite::Error| match Error::from(e) {
            Error::Storage(msg) if msg.contains("UNIQUE") => {
                Error::Duplicate(format!("{kind} {id} (\"{}\") duplicates an existing record", body.label()))
            }
            other => other,
        };
        let rowid = match &existing {
            Some(old) => {
                self.tx
                    .exec(
                        "UPDATE records SET body=?2, label=?3, date_from=?4, date_to=?5, created_at=?6, updated_at=?7, hlc=?8, device=?9, deleted=0 WHERE id=?1",
                        params![old.rowid, new_text, body.label(), date_from, date_to, created, updated, hlc, self.device],
                    )
                    .map_err(duplicate)?;
                old.rowid
            }
            None => {
                self.tx
                    .exec(
                        "INSERT INTO records(uuid, kind, body, label, date_from, date_to, created_at, updated_at, hlc, device) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                        params![id.to_string(), kind.as_str(), new_text, body.label(), date_from, date_to, created, updated, hlc, self.device],
                    )
                    .map_err(duplicate)?;
                self.tx.last_insert_rowid()
            }
        };
        if self.indexing {
            self.index_json(rowid, body, &new_json, existing.is_some())?;
        }
        if self.facts {
            crate::report::write_facts(&self.tx, rowid, Some(body))?;
            if let Body::Group(_) = body {
                crate::report::refresh_group_events(&self.tx, rowid)?;
            }
        }
        let old_json: Option<Value> =
            existing.as_ref().filter(|old| !old.deleted).and_then(|old| serde_json::from_str(&old.body).ok());
        let changes = field_changes(old_json.as_ref(), Some(&new_json));
        let hlc = self.audit(id, kind, action, &changes)?;
        if self.tracks(action) {
            let created = existing.as_ref().is_none_or(|old| old.created_at != created).then_some(created.as_str());
            let revived = existing.as_ref().is_some_and(|old| old.deleted);
            let stamps = crate::sync::Stamps { created, updated: &updated, revived };
            crate::sync::track_put(&self.tx, id, kind, &changes, &hlc, stamps)?;
        }
        Ok(Some(rowid))
    }

    /// Check vocabulary codes and references of a stored record, and rewrite its reference rows.
    pub fn put_relations(&mut self, rowid: i64, id: Uuid, body: &Body) -> Result<()> {
        let kind = body.kind();
        let who = format!("{kind} {id} ({})", body.label());
        // Merged team changes may name a term another device deleted meanwhile, or a record it
        // deleted: the record is kept as merged, and a link to a deleted record keeps its row,
        // which lists it as a sync conflict (sync::dangling_links) until someone settles it.
        for (field, vocabulary, code) in body.vocabulary_codes().into_iter().filter(|_| !self.lenient) {
            let known: bool = self.tx.row(
                "SELECT EXISTS(SELECT 1 FROM records WHERE kind='term' AND deleted=0 AND json_extract(body,'$.vocabulary')=?1 AND json_extract(body,'$.code')=?2)",
                [vocabulary, code.as_str()],
                |r| r.get(0),
            )?;
            if !known {
                return Err(Error::invalid(
                    who,
                    field,
                    format!("'{code}' is not in the {vocabulary} vocabulary; add it first (casebook term add) or use an existing code"),
                ));
            }
        }
        self.tx.exec("DELETE FROM record_refs WHERE from_id = ?1", [rowid])?;
        for reference in body.references() {
            let target: Option<(i64, String, i64)> = self
                .tx
                .row("SELECT id, kind, deleted FROM records WHERE uuid = ?1", [reference.target.to_string()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let usable = target
                .as_ref()
                .is_some_and(|(_, kind, _)| Kind::parse(kind).is_some_and(|k| reference.allowed.contains(&k)));
            if self.lenient && !usable {
                continue;
            }
            let Some((to_id, target_kind, deleted)) = target else {
                return Err(Error::invalid(
                    who,
                    reference.field,
                    format!("refers to {}, which does not exist", reference.target),
                ));
            };
            let target_kind = kind_from_db(&target_kind)?;
            if deleted == 1 && !self.lenient {
                return Err(Error::invalid(
                    who,
                    reference.field,
                    format!("refers to {}, which was deleted (if another device of the team deleted it, settle the link under sync conflicts first)", reference.target),
                ));
            }
            if !reference.allowed.contains(&target_kind) {
                let allowed: Vec<&str> = reference.allowed.iter().map(Kind::as_str).collect();
                return Err(Error::invalid(
                    who,
                    reference.field,
                    format!(
                        "refers to a {target_kind} ({}), but must refer to a {}",
                        reference.target,
                        allowed.join(" or ")
                    ),
                ));
            }
            self.tx.exec(
                "INSERT OR IGNORE INTO record_refs(from_id, to_id, field) VALUES (?1, ?2, ?3)",
                params![rowid, to_id, reference.field],
            )?;
        }
        // An import writes every record before any relation, so a group listed after the event
        // it took part in exists only now: count its people.
        if let Body::Event(e) = body {
            if self.facts && e.victim_count.is_none() && e.participants.iter().any(|p| p.role == "victim") {
                crate::report::write_facts(&self.tx, rowid, Some(body))?;
            }
        }
        Ok(())
    }

    /// Deletes a record, leaving a tombstone; its attachment bytes (if any) go with it.
    pub fn tombstone(&mut self, id: Uuid, body: &Body, action: &str) -> Result<()> {
        let hlc = self.hlc();
        self.tx.exec(
            "UPDATE records SET deleted = 1, body = '{}', label = '', date_from = NULL, date_to = NULL, updated_at = ?2, hlc = ?3 WHERE uuid = ?1",
            params![id.to_string(), now_timestamp(), hlc],
        )?;
        let rowid: i64 = self.tx.row("SELECT id FROM records WHERE uuid = ?1", [id.to_string()], |r| r.get(0))?;
        self.tx.exec("DELETE FROM record_refs WHERE from_id = ?1", [rowid])?;
        if body.kind() == Kind::Attachment {
            // secure_delete overwrites the freed pages; `compact` returns them to the file system.
            self.tx.exec("DELETE FROM attachment_chunks WHERE attachment = ?1", [id.to_string()])?;
        }
        if self.indexing {
            self.index(rowid, None)?;
        }
        if self.facts {
            crate::report::write_facts(&self.tx, rowid, None)?;
        }
        let hlc = self.audit(id, body.kind(), action, &field_changes(Some(&body.to_json()), None))?;
        if self.tracks(action) {
            crate::sync::track_delete(&self.tx, id, body.kind(), &hlc)?;
        }
        Ok(())
    }

    pub fn put(
        &mut self,
        id: Uuid,
        body: &Body,
        created_at: Option<&str>,
        updated_at: Option<&str>,
        action: &str,
    ) -> Result<bool> {
        match self.put_row(id, body, created_at, updated_at, action)? {
            Some(rowid) => {
                self.put_relations(rowid, id, body)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

pub struct ListOptions {
    pub limit: u32,
    pub offset: u32,
    /// Case-insensitive substring of the label.
    pub label_contains: Option<String>,
    pub filters: Filters,
}

/// Field filters for lists; each applies only when set. Dates compare with the record's date
/// span, so "July 2024" overlaps a filter from 2024-07-15.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct Filters {
    pub status: Option<String>,
    pub case_kind: Option<String>,
    pub category: Option<String>,
    pub region: Option<String>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

/// The conditions of `Filters` on a `records` row, with named parameters from `Filters::values`:
/// the one definition that lists and search filters share.
pub(crate) const FILTERS_SQL: &str = "(:status IS NULL OR json_extract(body, '$.status') = :status)
    AND (:case_kind IS NULL OR json_extract(body, '$.case_kind') = :case_kind)
    AND (:category IS NULL OR EXISTS (SELECT 1 FROM json_each(body, '$.categories') WHERE value = :category))
    AND (:region IS NULL OR coalesce(json_extract(body, '$.region'), json_extract(body, '$.place.region'), '') LIKE :region ESCAPE '\\')
    AND (:from IS NULL OR date_to >= :from)
    AND (:to IS NULL OR date_from <= :to)";

fn escape_like(text: &str) -> String {
    text.replace('%', "\\%").replace('_', "\\_")
}

impl Filters {
    /// The values of `FILTERS_SQL`'s parameters.
    pub(crate) fn values(&self) -> [(&'static str, Option<String>); 6] {
        [
            (":status", self.status.clone()),
            (":case_kind", self.case_kind.clone()),
            (":category", self.category.clone()),
            (":region", self.region.as_deref().map(|r| format!("%{}%", escape_like(r)))),
            (":from", self.from.map(|d| d.to_string())),
            (":to", self.to.map(|d| d.to_string())),
        ]
    }
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { limit: 100, offset: 0, label_contains: None, filters: Filters::default() }
    }
}

impl Vault {
    /// Accepts a full UUID or an unambiguous prefix of at least 6 characters, as printed by `list`.
    pub fn resolve(&self, text: &str) -> Result<Uuid> {
        let text = text.trim().to_ascii_lowercase();
        if let Ok(id) = Uuid::parse_str(&text) {
            return Ok(id);
        }
        if text.len() < 6 || !text.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::InvalidInput(format!(
                "'{text}' is not a record id (a UUID, or its first 6+ characters)."
            )));
        }
        let mut stmt = self
            .conn
            .prepare("SELECT uuid FROM records WHERE uuid >= ?1 AND uuid < ?1 || 'g' AND deleted = 0 LIMIT 2")?;
        let found: Vec<String> = stmt.query_map([&text], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        match found.as_slice() {
            [one] => Uuid::parse_str(one).map_err(|e| Error::VaultCorrupt(e.to_string())),
            [] => Err(Error::NotFound(format!("no record id starts with {text}"))),
            _ => Err(Error::InvalidInput(format!("more than one record id starts with {text}; type more of it"))),
        }
    }

    pub fn get(&self, id: Uuid) -> Result<Record> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT kind, body, created_at, updated_at FROM records WHERE uuid = ?1 AND deleted = 0",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (kind, body, created_at, updated_at) =
            row.ok_or_else(|| Error::NotFound(format!("no record with id {id}")))?;
        let kind = kind_from_db(&kind)?;
        Ok(Record { id, kind, created_at, updated_at, body: body_from_db(kind, &body, &id.to_string())? })
    }

    pub fn add(&mut self, kind: Kind, fields: Value) -> Result<Record> {
        if kind == Kind::Attachment {
            return Err(Error::InvalidInput(
                "attachments are added with their file: `casebook attach RECORD FILE`, or by dropping it in the app"
                    .into(),
            ));
        }
        let id = Uuid::now_v7();
        let body = Body::from_json(kind, fields)
            .map_err(|(field, problem)| Error::invalid(format!("new {kind}"), field, problem))?;
        let mut w = self.writer()?;
        w.put(id, &body, None, None, "create")?;
        w.commit()?;
        self.get(id)
    }

    /// Set top-level fields (a `null` removes one) and save; the whole record is re-validated.
    pub fn patch(&mut self, id: Uuid, fields: Map<String, Value>) -> Result<Record> {
        let current = self.get(id)?;
        let mut json = current.body.to_json();
        if let Value::Object(map) = &mut json {
            for (key, value) in fields {
                if value.is_null() {
                    map.remove(&key);
                } else {
                    map.insert(key, value);
                }
            }
        }
        self.replace(id, json)
    }

    pub fn replace(&mut self, id: Uuid, fields: Value) -> Result<Record> {
        let current = self.get(id)?;
        let body = Body::from_json(current.kind, fields)
            .map_err(|(field, problem)| Error::invalid(format!("{} {id}", current.kind), field, problem))?;
        if let (Body::Attachment(before), Body::Attachment(after)) = (&current.body, &body) {
            // The intake facts are evidence: only the notes may change.
            let facts = |a: &crate::model::Attachment| {
                (a.record, a.name.clone(), a.media_type.clone(), a.size, a.sha256.clone())
            };
            if facts(before) != facts(after) {
                return Err(Error::invalid(
                    format!("attachment {id}"),
                    "(record)",
                    "what was received (file, name, type, size, hash, record) cannot be changed; only notes can",
                ));
            }
        }
        let mut w = self.writer()?;
        w.put(id, &body, Some(&current.created_at), None, "update")?;
        w.commit()?;
        self.get(id)
    }

    pub fn referrers(&self, id: Uuid) -> Result<Vec<Referrer>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.uuid, f.kind, f.label, rr.field FROM record_refs rr
             JOIN records t ON t.id = rr.to_id JOIN records f ON f.id = rr.from_id
             WHERE t.uuid = ?1 AND f.deleted = 0 ORDER BY f.kind, f.label",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (uuid, kind, label, field) = row?;
            out.push(Referrer {
                id: Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?,
                kind: kind_from_db(&kind)?,
                label,
                field,
            });
        }
        Ok(out)
    }

    /// Delete a record, leaving a tombstone (id, kind, clock) for sync. The body is wiped from the
    /// row; with secure_delete the freed bytes are overwritten. The audit log keeps the history.
    pub fn delete(&mut self, id: Uuid) -> Result<()> {
        let record = self.get(id)?;
        let users = self.referrers(id)?;
        if !users.is_empty() {
            let names: Vec<String> =
                users.iter().take(5).map(|u| format!("{} \"{}\" ({})", u.kind, u.label, u.field)).collect();
            return Err(Error::InUse(format!("{} \"{}\"", record.kind, record.label()), names.join(", ")));
        }
        let mut w = self.writer()?;
        w.tombstone(id, &record.body, "delete")?;
        w.commit()
    }

    pub fn count(&self, kind: Kind) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM records WHERE kind = ?1 AND deleted = 0",
            [kind.as_str()],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// One page of a kind, sorted by label, with the total that matches.
    pub fn list(&self, kind: Kind, opts: &ListOptions) -> Result<(Vec<Summary>, u64)> {
        let pattern = opts.label_contains.as_deref().map(|s| format!("%{}%", escape_like(s)));
        let filter = format!(
            "kind = :kind AND deleted = 0 AND (:pattern IS NULL OR label LIKE :pattern ESCAPE '\\') AND {FILTERS_SQL}"
        );
        let filters = opts.filters.values();
        let kind_name = kind.as_str();
        let mut args: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":kind", &kind_name), (":pattern", &pattern)];
        args.extend(filters.iter().map(|(name, value)| (*name, value as &dyn rusqlite::ToSql)));
        let total: i64 =
            self.conn
                .query_row(&format!("SELECT count(*) FROM records WHERE {filter}"), args.as_slice(), |r| r.get(0))?;
        let total = total as u64;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT uuid, label, date_from, updated_at FROM records WHERE {filter} ORDER BY label COLLATE NOCASE, uuid LIMIT :limit OFFSET :offset"
        ))?;
        args.extend([(":limit", &opts.limit as &dyn rusqlite::ToSql), (":offset", &opts.offset)]);
        let rows =
            stmt.query_map(args.as_slice(), |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (uuid, label, date_from, updated_at) = row?;
            out.push(Summary {
                id: Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?,
                kind,
                label,
                date_from,
                updated_at,
            });
        }
        Ok((out, total))
    }

    /// Link two records the way their kinds relate: a person or organisation to a case or event
    /// (with a role), a case to a case, a source to a case or event, an event to a case, a person
    /// to an organisation (affiliation). Linking twice changes nothing.
    pub fn link(&mut self, from: Uuid, to: Uuid, role: Option<&str>) -> Result<Record> {
        self.relink(from, to, role, true)
    }

    pub fn unlink(&mut self, from: Uuid, to: Uuid) -> Result<Record> {
        self.relink(from, to, None, false)
    }

    fn relink(&mut self, a: Uuid, b: Uuid, role: Option<&str>, add: bool) -> Result<Record> {
        let (ra, rb) = (self.get(a)?, self.get(b)?);
        // Normalise the order so `link PERSON CASE` and `link CASE PERSON` mean the same.
        let (owner, other) = match (ra.kind, rb.kind) {
            (Kind::Person | Kind::Organisation | Kind::Source, Kind::Case | Kind::Event) => (rb, ra),
            (Kind::Case, Kind::Event) => (rb, ra),
            (Kind::Organisation, Kind::Person) => (rb, ra),
            _ => (ra, rb),
        };
        let mut body = owner.body.clone();
        let target = other.id;
        let need_role = || {
            role.map(str::to_string).ok_or_else(|| {
                Error::InvalidInput("Say which role the person or organisation has, e.g. --role defendant.".into())
            })
        };
        let toggle = |list: &mut Vec<Uuid>| {
            list.retain(|x| *x != target);
            if add {
                list.push(target);
            }
        };
        match (&mut body, other.kind) {
            (Body::Case(c), Kind::Person | Kind::Organisation | Kind::Group) => {
                if add {
                    let role = need_role()?;
                    if !c.participants.iter().any(|p| p.party == target && p.role == role) {
                        c.participants.push(Participant { party: target, role, age: None, child: false, note: None });
                    }
                } else {
                    c.participants.retain(|p| p.party != target);
                }
            }
            (Body::Event(e), Kind::Person | Kind::Organisation | Kind::Group) => {
                if add {
                    let role = need_role()?;
                    if !e.participants.iter().any(|p| p.party == target && p.role == role) {
                        e.participants.push(Participant { party: target, role, age: None, child: false, note: None });
                    }
                } else {
                    e.participants.retain(|p| p.party != target);
                }
            }
            (Body::Case(c), Kind::Case) => toggle(&mut c.related_cases),
            (Body::Case(c), Kind::Source) => toggle(&mut c.sources),
            (Body::Event(e), Kind::Source) => toggle(&mut e.sources),
            (Body::Event(e), Kind::Case) => toggle(&mut e.cases),
            (Body::Person(p), Kind::Organisation) => {
                p.affiliations.retain(|x| x.organisation != target);
                if add {
                    p.affiliations.push(crate::model::Affiliation {
                        organisation: target,
                        role: role.map(str::to_string),
                        since: None,
                        until: None,
                    });
                }
            }
            _ => {
                return Err(Error::InvalidInput(format!(
                    "A {} and a {} cannot be linked directly; set the field on the record instead (edit --set).",
                    owner.kind, other.kind
                )))
            }
        }
        let mut w = self.writer()?;
        w.put(owner.id, &body, Some(&owner.created_at), None, if add { "link" } else { "unlink" })?;
        w.commit()?;
        self.get(owner.id)
    }

    /// The audit trail of one record, oldest first.
    pub fn history(&self, id: Uuid) -> Result<Vec<Value>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, hlc, device, action, changes FROM audit WHERE record = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, hlc, device, action, changes) = row?;
            out.push(serde_json::json!({
                "seq": seq, "at": at, "hlc": hlc, "device": device, "action": action,
                "changes": serde_json::from_str::<Value>(&changes).unwrap_or(Value::Null),
            }));
        }
        Ok(out)
    }
}

impl Vault {
    /// Add many records in one transaction: for batch work and benchmarks, where a commit (and
    /// its fsync) per record would dominate. All or nothing.
    pub fn add_batch(&mut self, records: Vec<(Kind, Value)>) -> Result<Vec<Uuid>> {
        let mut w = self.writer()?;
        let mut ids = Vec::with_capacity(records.len());
        for (i, (kind, fields)) in records.into_iter().enumerate() {
            let id = Uuid::now_v7();
            let body = Body::from_json(kind, fields)
                .map_err(|(field, problem)| Error::invalid(format!("#{} (new {kind})", i + 1), field, problem))?;
            w.put(id, &body, None, None, "create")?;
            ids.push(id);
        }
        w.commit()?;
        Ok(ids)
    }
}
