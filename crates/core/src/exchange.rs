//! The JSON document format (docs/json-format.md): every record kind, lossless, deterministic.
//! Export sorts records by kind (referenced kinds first) and id, so the same vault content always
//! gives the same bytes. Import is all-or-nothing and idempotent by id; it updates records that
//! exist with other content only when asked to (`Updates::Apply`), and `preview_import` says beforehand what it
//! would create, update (field by field) and leave alone.
//!
//! Documents are read strictly (`read_document`): UTF-8 without a byte-order mark, no key twice
//! in any object (serde_json would silently keep the last one), every string and list within the
//! documented size limits, and terms whose `parent` exists.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt;

use rusqlite::OptionalExtension;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, Kind};
use crate::store::{valid_timestamp, Record};
use crate::vault::Vault;

pub const FORMAT_NAME: &str = "casebook-export";
/// Version 2 (issue 17) added groups, approximate amounts and counts, custody transfers,
/// complaints, programmes and excluded parties. Every version-1 document is a version-2 document
/// with none of them, so both are read the same way.
pub const FORMAT_VERSION: u64 = 2;
/// A document with more records than this is refused before anything is parsed further.
pub const MAX_RECORDS: usize = 5_000_000;
/// The longest name, title, label or code a record may hold, in characters.
pub const MAX_NAME_CHARS: usize = 1_000;
/// The longest other text (notes, summaries, descriptions…), in characters.
pub const MAX_TEXT_CHARS: usize = 1_000_000;
/// The most items any list inside a record may hold.
pub const MAX_LIST_ITEMS: usize = 10_000;
/// Updated records an import preview describes field by field; its counts are always complete.
pub const MAX_PREVIEW_CHANGES: usize = 10_000;
/// Values longer than this (as JSON text, in characters) are shortened in a preview.
const PREVIEW_CHARS: usize = 120;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportSummary {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unchanged: u64,
}

/// What importing a document would do, computed by the real import inside a transaction that
/// is rolled back: the same validation, the same counts, nothing written.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportPreview {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unchanged: u64,
    /// Every record that would be updated, in document order (the first `MAX_PREVIEW_CHANGES`).
    pub changes: Vec<RecordChange>,
    /// Updated records not listed in `changes` because there were more than `MAX_PREVIEW_CHANGES`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub changes_omitted: u64,
}

/// One record that exists in the vault and would be overwritten by the document's version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RecordChange {
    /// Its place in the document's `records`, counted from 1 (as in error messages: `#12`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub position: u64,
    pub id: Uuid,
    pub kind: Kind,
    /// The name or title it would have after the import.
    pub label: String,
    /// The top-level fields that would change. Empty when only the stored form is rewritten
    /// (the same content written by an older version of Casebook).
    pub fields: Vec<FieldChange>,
}

/// A top-level field before and after, each as JSON text shortened to about 120 characters
/// (with the full length given) and `None` when the field is not set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Whether an import may overwrite records that exist with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updates {
    /// Refuse the whole import (`confirmation_needed`) if any existing record would change.
    Refuse,
    /// Overwrite them (audited as `import`).
    Apply,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Preview,
    Import(Updates),
}

impl Vault {
    pub fn all_records(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let mut stmt = self.conn.prepare(
                "SELECT uuid, body, created_at, updated_at FROM records WHERE kind = ?1 AND deleted = 0 ORDER BY uuid",
            )?;
            let rows = stmt.query_map([kind.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })?;
            for row in rows {
                let (uuid, body, created_at, updated_at) = row?;
                let value: Value =
                    serde_json::from_str(&body).map_err(|e| Error::VaultCorrupt(format!("record {uuid}: {e}")))?;
                let body = Body::from_json(kind, value)
                    .map_err(|(f, p)| Error::VaultCorrupt(format!("record {uuid}: {f}: {p}")))?;
                let id = Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                out.push(Record { id, kind, created_at, updated_at, body });
            }
        }
        Ok(out)
    }

    pub fn export_document(&self) -> Result<Value> {
        let records: Vec<Value> = self.all_records()?.iter().map(Record::to_json).collect();
        let mut doc = Map::new();
        doc.insert("format".into(), FORMAT_NAME.into());
        doc.insert("version".into(), FORMAT_VERSION.into());
        doc.insert("records".into(), Value::Array(records));
        Ok(Value::Object(doc))
    }

    pub fn export_text(&self) -> Result<String> {
        let mut text = serde_json::to_string_pretty(&self.export_document()?)?;
        text.push('\n');
        Ok(text)
    }

    /// Import a document in one transaction, overwriting records that exist with other content
    /// (`Updates::Apply`): what the desktop's "open the example" does. Nothing is written unless
    /// every record is valid, every reference resolves and every vocabulary code exists. Callers
    /// that show the changes first use `preview_import` and `import_document_with`.
    pub fn import_document(&mut self, doc: Value) -> Result<ImportSummary> {
        self.import_document_with(doc, Updates::Apply)
    }

    /// Import a document; with `Updates::Refuse`, nothing is written if a record that exists
    /// would change (`confirmation_needed`). Created-only and unchanged-only documents import
    /// either way.
    pub fn import_document_with(&mut self, doc: Value, updates: Updates) -> Result<ImportSummary> {
        let p = self.run_import(doc, Mode::Import(updates))?;
        Ok(ImportSummary { created: p.created, updated: p.updated, unchanged: p.unchanged })
    }

    /// What `import_document_with(doc, Updates::Apply)` would do, without writing anything: the
    /// whole import runs, with every check, in a transaction that is then rolled back.
    pub fn preview_import(&mut self, doc: Value) -> Result<ImportPreview> {
        self.run_import(doc, Mode::Preview)
    }

    fn run_import(&mut self, doc: Value, mode: Mode) -> Result<ImportPreview> {
        let parsed = parse_document(doc)?;
        let mut preview = ImportPreview::default();
        let mut w = self.writer()?;
        w.tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        let mut written = Vec::new();
        for item in &parsed {
            let before: Option<(String, String, String)> =
                w.tx.query_row(
                    "SELECT body, created_at, updated_at FROM records WHERE uuid = ?1 AND deleted = 0",
                    [item.id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let put = w.put_row(item.id, &item.body, item.created_at.as_deref(), item.updated_at.as_deref(), "import");
            match put.map_err(|e| item.named(e))? {
                Some(rowid) => {
                    match before {
                        Some(before) => {
                            preview.updated += 1;
                            if mode == Mode::Preview {
                                if preview.changes.len() < MAX_PREVIEW_CHANGES {
                                    preview.changes.push(record_change(item, &before)?);
                                } else {
                                    preview.changes_omitted += 1;
                                }
                            }
                        }
                        None => preview.created += 1,
                    }
                    written.push((rowid, item));
                }
                None => preview.unchanged += 1,
            }
        }
        for (rowid, item) in &written {
            w.put_relations(*rowid, item.id, &item.body).map_err(|e| item.named(e))?;
        }
        // A term's parent must be a term of its vocabulary: in this document or already in the vault
        // (both are in the transaction now).
        for (_, item) in &written {
            let Body::Term(term) = &item.body else { continue };
            let Some(parent) = &term.parent else { continue };
            let known: bool = w.tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM records WHERE kind='term' AND deleted=0 AND json_extract(body,'$.vocabulary')=?1 AND json_extract(body,'$.code')=?2)",
                [term.vocabulary.as_str(), parent.as_str()],
                |r| r.get(0),
            )?;
            if !known {
                return Err(Error::invalid(
                    item.who(),
                    "parent",
                    format!(
                        "'{parent}' is not a code of the {} vocabulary, neither in this file nor in the vault",
                        term.vocabulary
                    ),
                ));
            }
        }
        match mode {
            // Dropping the writer rolls its transaction back.
            Mode::Preview => {}
            Mode::Import(Updates::Refuse) if preview.updated > 0 => {
                return Err(Error::ConfirmationNeeded(format!(
                    "This import would overwrite {} existing record{} with different content (and create {}, leave {} unchanged). Nothing was written: look at the changes first, then confirm the update.",
                    preview.updated,
                    if preview.updated == 1 { "" } else { "s" },
                    preview.created,
                    preview.unchanged
                )));
            }
            Mode::Import(_) => w.commit()?,
        }
        Ok(preview)
    }
}

/// The top-level fields a stored record (body, created_at, updated_at) would change to the item's.
fn record_change(item: &Item, before: &(String, String, String)) -> Result<RecordChange> {
    let (body, created_at, updated_at) = before;
    let old: Value = serde_json::from_str(body).map_err(|e| Error::VaultCorrupt(format!("record {}: {e}", item.id)))?;
    let new = item.body.to_json();
    let empty = Map::new();
    let (old, new) = (old.as_object().unwrap_or(&empty), new.as_object().unwrap_or(&empty));
    let mut fields = Vec::new();
    for key in new.keys().chain(old.keys().filter(|k| !new.contains_key(*k))) {
        let (b, a) = (old.get(key), new.get(key));
        if b != a {
            fields.push(FieldChange { field: key.clone(), before: b.map(shown), after: a.map(shown) });
        }
    }
    // Timestamps change only where the document gives them (otherwise `created_at` is kept and
    // `updated_at` becomes the time of the import).
    for (field, old, new) in
        [("created_at", created_at, &item.created_at), ("updated_at", updated_at, &item.updated_at)]
    {
        if let Some(new) = new.as_ref().filter(|n| *n != old) {
            fields.push(FieldChange {
                field: field.into(),
                before: Some(shown(&Value::from(old.as_str()))),
                after: Some(shown(&Value::from(new.as_str()))),
            });
        }
    }
    Ok(RecordChange {
        position: item.index as u64 + 1,
        id: item.id,
        kind: item.body.kind(),
        label: item.body.label(),
        fields,
    })
}

/// A value as compact JSON text, shortened when long: `"Marat Zhylanbaev"`, `["politician"]`.
fn shown(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    if text.len() <= PREVIEW_CHARS {
        return text;
    }
    let n = text.chars().count();
    if n <= PREVIEW_CHARS {
        return text;
    }
    let head: String = text.chars().take(PREVIEW_CHARS - 20).collect();
    format!("{head}… ({} characters)", thousands(n))
}

/// 10485760 → "10,485,760".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) struct Item {
    pub index: usize,
    pub id: Uuid,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub body: Body,
}

impl Item {
    /// `#12 (detention 0190…)`, as every error about a record of a document names it.
    fn who(&self) -> String {
        format!("#{} ({} {})", self.index + 1, self.body.kind(), self.id)
    }

    /// A record error from the store, named by the record's place in the document.
    fn named(&self, e: Error) -> Error {
        match e {
            Error::InvalidRecord { field, problem, .. } => Error::invalid(self.who(), field, problem),
            other => other,
        }
    }
}

fn parse_document(doc: Value) -> Result<Vec<Item>> {
    let Value::Object(mut doc) = doc else {
        return Err(Error::InvalidInput(
            "The file is not a Casebook export: expected a JSON object with \"records\".".into(),
        ));
    };
    match doc.get("format").and_then(Value::as_str) {
        Some(FORMAT_NAME) => {}
        _ => {
            return Err(Error::InvalidInput(format!(
                "The file is not a Casebook export: \"format\" must be \"{FORMAT_NAME}\"."
            )))
        }
    }
    let version = doc.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version == 0 || version > FORMAT_VERSION {
        return Err(Error::InvalidInput(format!(
            "The file uses export format version {version}; this Casebook reads versions 1 to {FORMAT_VERSION}. Update Casebook to import it."
        )));
    }
    let Some(Value::Array(records)) = doc.remove("records") else {
        return Err(Error::InvalidInput("The file has no \"records\" list.".into()));
    };
    if records.len() > MAX_RECORDS {
        return Err(Error::InvalidInput(format!(
            "The file holds {} records; at most {MAX_RECORDS} are imported at once.",
            records.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        if let Err(breach) = within_limits(&record, "", false) {
            return Err(Error::invalid(envelope_who(index, &record), breach.path(), breach.problem));
        }
        let item = parse_record(index, record, &mut seen)?;
        if let Body::Term(term) = &item.body {
            if term.parent.as_deref() == Some(term.code.as_str()) {
                return Err(Error::invalid(
                    item.who(),
                    "parent",
                    format!("'{}' is the term's own code; a term cannot be its own parent", term.code),
                ));
            }
        }
        out.push(item);
    }
    Ok(out)
}

/// `#12 (person 0190…)` from a record not yet parsed: its kind and id when they are short strings.
fn envelope_who(index: usize, record: &Value) -> String {
    match record.as_object() {
        Some(map) => who_of(index, map),
        None => format!("#{}", index + 1),
    }
}

fn who_of(index: usize, record: &Map<String, Value>) -> String {
    let text = |key: &str| record.get(key).and_then(Value::as_str).filter(|s| s.len() <= 64).map(str::to_string);
    match (text("kind"), text("id")) {
        (Some(kind), Some(id)) => format!("#{} ({kind} {id})", index + 1),
        (_, Some(id)) => format!("#{} ({id})", index + 1),
        _ => format!("#{}", index + 1),
    }
}

/// A step of a path inside a record: `names[0].value` is Key, Index, Key.
#[derive(Debug)]
enum Part {
    Key(String),
    Index(usize),
}

/// Parts innermost first (they are collected while unwinding) → `names[0].value`.
fn path_text(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts.iter().rev() {
        match part {
            Part::Key(k) if out.is_empty() => out.push_str(k),
            Part::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Part::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A string or list past its size limit, and where.
struct Breach {
    parts: Vec<Part>,
    problem: String,
}

impl Breach {
    fn at(mut self, part: Part) -> Self {
        self.parts.push(part);
        self
    }

    fn path(&self) -> String {
        path_text(&self.parts)
    }
}

/// Fields that hold a name, a title, a label or a code (docs/json-format.md, "Size limits").
fn is_name_field(key: &str) -> bool {
    matches!(
        key,
        "id" | "kind"
            | "created_at"
            | "updated_at"
            | "name"
            | "names"
            | "value"
            | "title"
            | "court_name"
            | "judge_name"
            | "code"
            | "parent"
            | "vocabulary"
            | "huridocs"
            | "case_kind"
            | "status"
            | "event_type"
            | "org_kind"
            | "detention_kind"
            | "proceeding_kind"
            | "stage"
            | "decision_kind"
            | "outcome"
            | "role"
            | "source_kind"
            | "reliability"
            | "categories"
            | "occupations"
            | "media"
            | "victim_types"
            | "perpetrator_types"
            | "deadline"
            | "decision_kinds"
            | "proceeding_kinds"
            | "provision"
            | "jurisdiction"
            | "article"
            | "part"
            | "lang"
            | "script"
            | "time_zone"
            | "confidentiality"
            | "type"
            | "currency"
            | "country"
            | "region"
            | "city"
            | "site"
    )
}

/// Every string and list of a record within the size limits; `key` is the field it is in
/// (list items take their list's name), `in_labels` is true inside a term's `labels`.
fn within_limits(value: &Value, key: &str, in_labels: bool) -> std::result::Result<(), Breach> {
    match value {
        // Byte length bounds the character count, so almost every string is checked in O(1).
        Value::String(s) if s.len() > MAX_NAME_CHARS => {
            let (limit, what) = if in_labels || is_name_field(key) {
                (MAX_NAME_CHARS, "names, titles, labels and codes may have")
            } else {
                (MAX_TEXT_CHARS, "a text field may have")
            };
            let n = if s.len() > limit { s.chars().count() } else { 0 };
            if n > limit {
                return Err(Breach {
                    parts: Vec::new(),
                    problem: format!(
                        "is {} characters long; {what} at most {} characters",
                        thousands(n),
                        thousands(limit)
                    ),
                });
            }
        }
        Value::Array(items) => {
            if items.len() > MAX_LIST_ITEMS {
                return Err(Breach {
                    parts: Vec::new(),
                    problem: format!(
                        "has {} items; a list may have at most {}",
                        thousands(items.len()),
                        thousands(MAX_LIST_ITEMS)
                    ),
                });
            }
            for (i, item) in items.iter().enumerate() {
                within_limits(item, key, in_labels).map_err(|b| b.at(Part::Index(i)))?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                within_limits(v, k, key == "labels").map_err(|b| b.at(Part::Key(k.clone())))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Read a Casebook JSON document from a file's bytes, strictly: UTF-8 without a byte-order mark,
/// and no key twice in any object (JSON parsers silently keep one of them, so data would be lost
/// without a word). Errors name the byte, line or record (`#12`) and the field.
pub fn read_document(bytes: &[u8]) -> Result<Value> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(Error::InvalidInput(
            "The file starts with a byte-order mark; save it as UTF-8 without BOM.".into(),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| not_utf8(bytes, e))?;
    let state = ReadState::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = Document(&state).deserialize(&mut de).and_then(|doc| de.end().map(|()| doc));
    doc.map_err(|e| state.error(e))
}

fn not_utf8(bytes: &[u8], e: std::str::Utf8Error) -> Error {
    let offset = e.valid_up_to();
    let prefix = &bytes[..offset];
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    // Which record the byte is in: read the valid part as far as it goes.
    let state = ReadState::default();
    if let Ok(text) = std::str::from_utf8(prefix) {
        let _ = Document(&state).deserialize(&mut serde_json::Deserializer::from_str(text));
    }
    let record = state.record.get().map(|i| format!(", in record #{}", i + 1)).unwrap_or_default();
    Error::InvalidInput(format!(
        "The file is not UTF-8: the byte at offset {offset} (line {line}{record}) is 0x{:02X}. A Casebook document must be UTF-8; save it as UTF-8 (without BOM) and import it again.",
        bytes[offset]
    ))
}

/// What the strict reader knows when it stops: the record it was in, and a repeated key's path.
#[derive(Default)]
struct ReadState {
    /// The record being read (from 0), while inside `records`.
    record: Cell<Option<usize>>,
    /// That record's kind and id, when the reader stopped after reading them.
    who: RefCell<Option<String>>,
    /// A key met twice in one object: its path, innermost part first.
    duplicate: RefCell<Option<Vec<Part>>>,
    /// The `records` list is longer than `MAX_RECORDS`.
    too_many: Cell<bool>,
}

impl ReadState {
    /// While unwinding from a repeated key, note the enclosing key or index.
    fn within(&self, part: Part) {
        if let Some(path) = self.duplicate.borrow_mut().as_mut() {
            path.push(part);
        }
    }

    /// Remember the record's kind and id once read, so later errors can name it.
    fn note_record(&self, map: &Map<String, Value>) {
        if let Some(index) = self.record.get() {
            *self.who.borrow_mut() = Some(who_of(index, map));
        }
    }

    fn error(&self, e: serde_json::Error) -> Error {
        if self.too_many.get() {
            return Error::InvalidInput(format!(
                "The file holds more than {MAX_RECORDS} records; at most {MAX_RECORDS} are imported at once."
            ));
        }
        let record = self.record.get();
        let who = || self.who.borrow().clone().or_else(|| record.map(|i| format!("#{}", i + 1)));
        if let Some(path) = self.duplicate.borrow().as_deref() {
            let field = path_text(path);
            return match who() {
                Some(who) => Error::invalid(
                    who,
                    field,
                    "appears twice in the same object; JSON readers keep only one of the two values, so remove the one that is wrong",
                ),
                None => Error::InvalidInput(format!(
                    "The document has the key \"{field}\" twice; remove the one that is wrong."
                )),
            };
        }
        let at = who().map(|w| format!(" (in record {w})")).unwrap_or_default();
        Error::InvalidInput(format!("The file is not valid JSON{at}: {e}."))
    }
}

/// The document object: `records` read record by record, everything else as strict values.
struct Document<'s>(&'s ReadState);

/// The `records` list: each item read as a record, the reader's position kept in the state.
struct Records<'s>(&'s ReadState);

/// Any JSON value, refusing a key twice in an object. `record` is true for a record's own object.
#[derive(Clone, Copy)]
struct Strict<'s> {
    state: &'s ReadState,
    record: bool,
}

impl<'s> Strict<'s> {
    fn value(state: &'s ReadState) -> Self {
        Strict { state, record: false }
    }
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// The scalar and sequence cases of Document and Records are those of any value.
macro_rules! like_strict {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
            Strict::value(self.0).visit_bool(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
            Strict::value(self.0).visit_i64(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
            Strict::value(self.0).visit_u64(v)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
            Strict::value(self.0).visit_f64(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
            Strict::value(self.0).visit_str(v)
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
            Ok(Value::Null)
        }
    };
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Casebook document")
    }
    like_strict!();
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Value, A::Error> {
        Strict::value(self.0).visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut doc = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            // A record's errors are named by the record (`#12`), not by their place in the file.
            let value = if key == "records" {
                access.next_value_seed(Records(self.0))?
            } else {
                access.next_value_seed(Strict::value(self.0)).inspect_err(|_| self.0.within(Part::Key(key.clone())))?
            };
            if doc.contains_key(&key) {
                *self.0.duplicate.borrow_mut() = Some(vec![Part::Key(key)]);
                return Err(de::Error::custom("a key appears twice"));
            }
            doc.insert(key, value);
        }
        Ok(Value::Object(doc))
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }
    like_strict!();
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> std::result::Result<Value, A::Error> {
        Strict::value(self.0).visit_map(access)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(65_536));
        loop {
            if records.len() > MAX_RECORDS {
                self.0.too_many.set(true);
                return Err(de::Error::custom("too many records"));
            }
            self.0.record.set(Some(records.len()));
            *self.0.who.borrow_mut() = None;
            match seq.next_element_seed(Strict { state: self.0, record: true })? {
                Some(record) => records.push(record),
                None => break,
            }
        }
        // Past the list: later errors are the document's, not the last record's.
        self.0.record.set(None);
        *self.0.who.borrow_mut() = None;
        Ok(Value::Array(records))
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        let inner = Strict::value(self.state);
        while let Some(item) =
            seq.next_element_seed(inner).inspect_err(|_| self.state.within(Part::Index(items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut map = Map::new();
        let inner = Strict::value(self.state);
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(inner).inspect_err(|_| self.state.within(Part::Key(key.clone())))?;
            if map.contains_key(&key) {
                if self.record {
                    self.state.note_record(&map);
                }
                *self.state.duplicate.borrow_mut() = Some(vec![Part::Key(key)]);
                return Err(de::Error::custom("a key appears twice"));
            }
            let envelope = self.record && (key == "id" || key == "kind");
            map.insert(key, value);
            if envelope {
                self.state.note_record(&map);
            }
        }
        Ok(Value::Object(map))
    }
}

/// One record of a document or bundle: the envelope checked, the body validated on its own
/// (references and vocabulary are checked when it is written).
pub(crate) fn parse_record(index: usize, record: Value, seen: &mut HashSet<Uuid>) -> Result<Item> {
    let at = |id: &str| format!("#{} ({id})", index + 1);
    let Value::Object(mut fields) = record else {
        return Err(Error::invalid(at("?"), "(record)", "must be a JSON object"));
    };
    let mut take_str = |name: &str| -> Result<Option<String>> {
        match fields.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error::invalid(at("?"), name, "must be a string")),
        }
    };
    let id_text = take_str("id")?.ok_or_else(|| Error::invalid(at("?"), "id", "is required"))?;
    let kind_text = take_str("kind")?.ok_or_else(|| Error::invalid(at(&id_text), "kind", "is required"))?;
    let created_at = take_str("created_at")?;
    let updated_at = take_str("updated_at")?;
    let id = Uuid::parse_str(&id_text).map_err(|_| Error::invalid(at(&id_text), "id", "is not a UUID"))?;
    let kind = Kind::parse(&kind_text)
        .filter(|k| k.as_str() == kind_text)
        .ok_or_else(|| Error::invalid(at(&id_text), "kind", format!("'{kind_text}' is not a record kind")))?;
    let who = format!("#{} ({kind} {id})", index + 1);
    for (name, value) in [("created_at", &created_at), ("updated_at", &updated_at)] {
        if let Some(v) = value {
            if !valid_timestamp(v) {
                return Err(Error::invalid(who, name, format!("'{v}' is not an RFC 3339 timestamp")));
            }
        }
    }
    if !seen.insert(id) {
        return Err(Error::Duplicate(format!("record {id} appears twice in the file (at {who})")));
    }
    let body =
        Body::from_json(kind, Value::Object(fields)).map_err(|(field, problem)| Error::invalid(who, field, problem))?;
    Ok(Item { index, id, created_at, updated_at, body })
}
