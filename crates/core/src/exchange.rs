//! The JSON document format (docs/json-format.md): every record kind, lossless, deterministic.
//! Export sorts records by kind (referenced kinds first) and id, so the same vault content always
//! gives the same bytes. Import is all-or-nothing and idempotent by id.

use std::collections::HashSet;

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

    /// Import a document in one transaction. Nothing is written unless every record is valid,
    /// every reference resolves and every vocabulary code exists.
    pub fn import_document(&mut self, doc: Value) -> Result<ImportSummary> {
        let parsed = parse_document(doc)?;
        let mut summary = ImportSummary::default();
        let mut w = self.writer()?;
        w.tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
        let mut written = Vec::new();
        for item in &parsed {
            let existed = w.tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM records WHERE uuid = ?1 AND deleted = 0)",
                [item.id.to_string()],
                |r| r.get::<_, bool>(0),
            )?;
            match w.put_row(item.id, &item.body, item.created_at.as_deref(), item.updated_at.as_deref(), "import")? {
                Some(rowid) => {
                    if existed {
                        summary.updated += 1;
                    } else {
                        summary.created += 1;
                    }
                    written.push((rowid, item));
                }
                None => summary.unchanged += 1,
            }
        }
        for (rowid, item) in written {
            w.put_relations(rowid, item.id, &item.body).map_err(|e| match e {
                Error::InvalidRecord { field, problem, .. } => {
                    Error::invalid(format!("#{} ({} {})", item.index + 1, item.body.kind(), item.id), field, problem)
                }
                other => other,
            })?;
        }
        w.commit()?;
        Ok(summary)
    }
}

pub(crate) struct Item {
    pub index: usize,
    pub id: Uuid,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub body: Body,
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
        out.push(parse_record(index, record, &mut seen)?);
    }
    Ok(out)
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
