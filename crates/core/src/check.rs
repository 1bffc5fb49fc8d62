//! `casebook check`: everything that can be verified without the user's memory.

use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Body, Kind};
use crate::store::audit_hash;
use crate::vault::Vault;

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub records: u64,
    pub audit_entries: u64,
    pub problems: Vec<String>,
}

impl Vault {
    pub fn check(&self) -> Result<CheckReport> {
        let mut problems = Vec::new();

        // Every page's HMAC: detects any changed byte of the encrypted file.
        let mut stmt = self.conn.prepare("PRAGMA cipher_integrity_check")?;
        let cipher: Vec<String> = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
        problems.extend(cipher.into_iter().map(|p| format!("encryption: {p}")));

        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let integrity: Vec<String> = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
        problems.extend(integrity.into_iter().filter(|l| l != "ok").map(|p| format!("database: {p}")));

        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let fk: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!("dangling reference in {} row {:?}", r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        problems.extend(fk);

        let audit_entries = self.check_audit_chain(&mut problems)?;
        let records = self.check_records(&mut problems)?;
        problems.extend(self.verify_attachments()?.into_iter().map(|p| format!("attachments: {p}")));
        let unindexed = self.unindexed()?;
        if unindexed > 0 {
            problems.push(format!(
                "search: {unindexed} record(s) are missing from the search index; run `casebook reindex`"
            ));
        }
        Ok(CheckReport { ok: problems.is_empty(), records, audit_entries, problems })
    }

    fn check_audit_chain(&self, problems: &mut Vec<String>) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, hlc, device, record, kind, action, changes, hash FROM audit ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let (mut prev, mut expected_seq, mut count) = (String::new(), 1i64, 0u64);
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let f: Vec<String> = (1..=7).map(|i| r.get::<_, String>(i)).collect::<rusqlite::Result<_>>()?;
            let stored: String = r.get(8)?;
            if seq != expected_seq {
                problems.push(format!("audit: entry {expected_seq} is missing (next is {seq})"));
            }
            let computed = audit_hash(&prev, seq, [&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]]);
            if computed != stored {
                problems.push(format!("audit: entry {seq} was altered (hash mismatch)"));
            }
            prev = stored;
            expected_seq = seq + 1;
            count += 1;
        }
        Ok(count)
    }

    fn check_records(&self, problems: &mut Vec<String>) -> Result<u64> {
        let mut stmt = self.conn.prepare("SELECT id, uuid, kind, body FROM records WHERE deleted = 0")?;
        let rows: Vec<(i64, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut refs = self.conn.prepare(
            "SELECT t.uuid, rr.field FROM record_refs rr JOIN records t ON t.id = rr.to_id WHERE rr.from_id = ?1 ORDER BY 1, 2",
        )?;
        let mut term = self.conn.prepare(
            "SELECT EXISTS(SELECT 1 FROM records WHERE kind='term' AND deleted=0 AND json_extract(body,'$.vocabulary')=?1 AND json_extract(body,'$.code')=?2)",
        )?;
        for (rowid, uuid, kind, body) in &rows {
            let Some(kind) = Kind::parse(kind) else {
                problems.push(format!("record {uuid}: unknown kind {kind}"));
                continue;
            };
            let parsed = serde_json::from_str(body)
                .map_err(|e| e.to_string())
                .and_then(|v| Body::from_json(kind, v).map_err(|(f, p)| format!("{f}: {p}")));
            let body = match parsed {
                Ok(b) => b,
                Err(e) => {
                    problems.push(format!("record {uuid}: unreadable body ({e})"));
                    continue;
                }
            };
            if Uuid::parse_str(uuid).is_err() {
                problems.push(format!("record {uuid}: id is not a UUID"));
            }
            let mut expected: Vec<(String, String)> =
                body.references().iter().map(|r| (r.target.to_string(), r.field.to_string())).collect();
            expected.sort();
            expected.dedup();
            let stored: Vec<(String, String)> =
                refs.query_map([rowid], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            if expected != stored {
                problems.push(format!("record {uuid}: its reference index does not match its content"));
            }
            for (field, vocabulary, code) in body.vocabulary_codes() {
                if !term.query_row([vocabulary, code.as_str()], |r| r.get::<_, bool>(0))? {
                    problems.push(format!(
                        "record {uuid}: {field} uses '{code}', which is not in the {vocabulary} vocabulary"
                    ));
                }
            }
        }
        Ok(rows.len() as u64)
    }
}
