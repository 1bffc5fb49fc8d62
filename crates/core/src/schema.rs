//! Numbered migrations, tracked with `PRAGMA user_version`; each runs in one transaction together
//! with its version bump, so a crash mid-migration leaves the previous version intact.
//!
//! From the first version every change carries a hybrid logical clock and the device id, deletes
//! leave tombstones, and the audit log records field-level changes: what a sync service needs later.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::Body;
use crate::store::{body_from_db, kind_from_db, Writer};
use crate::vault::Vault;

pub const LATEST: u32 = 10;
/// The version since which every write keeps the report facts of events.
pub const FACTS_VERSION: u32 = 8;
/// The version since which every write keeps the search index (v3 created it; v4 rebuilt it).
pub const SEARCH_VERSION: u32 = 4;

const V1_SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

-- Integer rowids append to the B-tree; the UUID sits in a unique secondary index.
CREATE TABLE records (
    id         INTEGER PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    date_from  TEXT,
    date_to    TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    hlc        TEXT NOT NULL,
    device     TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX records_by_kind ON records(kind, deleted, label);
CREATE INDEX records_by_date ON records(kind, date_from, date_to);
CREATE UNIQUE INDEX terms_by_code ON records(json_extract(body, '$.vocabulary'), json_extract(body, '$.code'))
    WHERE kind = 'term' AND deleted = 0;

-- Derived from the bodies on every write; the foreign keys make a dangling reference impossible.
CREATE TABLE record_refs (
    from_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    to_id   INTEGER NOT NULL REFERENCES records(id),
    field   TEXT NOT NULL,
    PRIMARY KEY (from_id, field, to_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_refs_by_target ON record_refs(to_id);

-- Append-only and hash-chained: each entry's hash covers the previous one.
CREATE TABLE audit (
    seq     INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    hlc     TEXT NOT NULL,
    device  TEXT NOT NULL,
    record  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    action  TEXT NOT NULL,
    changes TEXT NOT NULL,
    hash    TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_record ON audit(record);
CREATE TRIGGER audit_is_append_only_u BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_is_append_only_d BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// Seeds the default vocabularies; entries already present (by their fixed id) are left as the
/// user edited them, so later versions can add entries (v4: deadline rules) with the same code.
fn seed_vocabularies(w: &mut Writer<'_>) -> Result<()> {
    for (id, term) in crate::vocab::seed_terms() {
        let present: bool =
            w.tx.query_row("SELECT count(*) > 0 FROM records WHERE uuid = ?1", [id.to_string()], |r| r.get(0))?;
        if present {
            continue;
        }
        let body = Body::Term(term);
        w.put(id, &body, Some(crate::vocab::SEED_TIMESTAMP), Some(crate::vocab::SEED_TIMESTAMP), "seed")?;
    }
    Ok(())
}

fn v3_search_index(w: &mut Writer<'_>) -> Result<()> {
    // Filled by v4, which rebuilds the index with its current columns.
    w.tx.execute_batch(crate::search::SCHEMA_V3)?;
    Ok(())
}

/// v4 rebuilds the search index with its `meta` column, and refreshes detentions' stored date
/// spans now that release dates are computed from start + term and extensions: one pass over the rows.
fn v4_search_index_and_spans(w: &mut Writer<'_>) -> Result<()> {
    w.tx.execute_batch(crate::search::SCHEMA_V4)?;
    let rows: Vec<(i64, String, String, String)> = {
        let mut stmt = w.tx.prepare("SELECT id, uuid, kind, body FROM records WHERE deleted = 0")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (rowid, uuid, kind, body) in rows {
        let body = body_from_db(kind_from_db(&kind)?, &body, &uuid)?;
        if let (Body::Detention(_), Some((from, to))) = (&body, body.date_span()) {
            w.tx.execute(
                "UPDATE records SET date_from = ?2, date_to = ?3 WHERE id = ?1",
                rusqlite::params![rowid, from.to_string(), to.to_string()],
            )?;
        }
        w.index(rowid, Some(&body))?;
    }
    Ok(())
}

pub(crate) fn migrate(vault: &mut Vault, target: u32) -> Result<()> {
    loop {
        let current: u32 = vault.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current >= target {
            return Ok(());
        }
        let next = current + 1;
        let mut w = vault.writer()?;
        match next {
            1 => w.tx.execute_batch(V1_SCHEMA)?,
            2 => seed_vocabularies(&mut w)?,
            3 => v3_search_index(&mut w)?,
            4 => {
                seed_vocabularies(&mut w)?;
                v4_search_index_and_spans(&mut w)?;
            }
            5 => w.tx.execute_batch(crate::attachments::SCHEMA_V5)?,
            6 => w.tx.execute_batch(crate::merge::SCHEMA_V6)?,
            // Report facets of events: victim_type, perpetrator_type and medium vocabularies.
            7 => seed_vocabularies(&mut w)?,
            8 => crate::report::v8_event_facts(&mut w)?,
            // Groups, complaints, programmes, excluded parties (issue 17); report facts by programme.
            9 => {
                seed_vocabularies(&mut w)?;
                crate::report::v9_refill_event_facts(&mut w)?;
            }
            // Team sync (issue 16): outbox, per-field heads, team keys, applied and sent batches.
            10 => w.tx.execute_batch(crate::sync::SCHEMA_V10)?,
            _ => return Err(Error::Storage(format!("no migration to version {next}"))),
        }
        w.tx.pragma_update(None, "user_version", next)?;
        w.commit()?;
    }
}

/// Cheap structural checks at open: the tables exist and the last page of the file is readable.
/// A truncated file fails here instead of at some later query.
pub(crate) fn quick_structure_check(conn: &Connection) -> Result<()> {
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'records', 'record_refs', 'audit')",
        [],
        |r| r.get(0),
    )?;
    if tables != 4 {
        return Err(Error::VaultCorrupt("tables of the vault are missing".into()));
    }
    // Touch the newest pages of the main tables: in a truncated file they are the ones gone.
    conn.query_row("SELECT max(id), count(*) FROM records", [], |r| r.get::<_, Option<i64>>(0))?;
    conn.query_row("SELECT max(seq) FROM audit", [], |r| r.get::<_, Option<i64>>(0))?;
    conn.query_row("SELECT * FROM audit ORDER BY seq DESC LIMIT 1", [], |_| Ok(())).or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(()),
        other => Err(other),
    })?;
    Ok(())
}
