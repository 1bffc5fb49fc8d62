//! Search across every record kind and every script, inside the encrypted vault.
//!
//! An FTS5 index (contentless: it stores no text, only the inverted index, and lives in the
//! SQLCipher file like everything else) holds three columns per record: its names folded in
//! their own script, the same names as script-independent skeletons (`normalize::skeleton`),
//! and the rest of its text folded. The index is rewritten in the same transaction as the record.
//!
//! A query takes a bounded, unranked candidate set from FTS5 (fast at any size), then ranks
//! it here: exact name > name prefix > transliterated > one-typo fuzzy; ties go to open cases
//! and recent records.

use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, Kind};
use crate::normalize::{fold, skeleton, within_one_edit, words};
use crate::store::{Filters, Writer};
use crate::vault::Vault;

/// Candidates taken from FTS5 before ranking: bounds the cost of a very common prefix.
const CANDIDATES: usize = 2_000;
/// Words shorter than this get no typo tolerance (too many neighbours).
const FUZZY_MIN_LEN: usize = 5;
const SEP: char = '\u{1f}';

pub(crate) const SCHEMA: &str = "
CREATE VIRTUAL TABLE search_index USING fts5(
    names, skeletons, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
CREATE VIRTUAL TABLE search_terms USING fts5vocab(search_index, 'col');
ALTER TABLE records ADD COLUMN names_key TEXT NOT NULL DEFAULT '';
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Match {
    Exact,
    Prefix,
    Transliterated,
    Fuzzy,
    Text,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct Hit {
    pub id: Uuid,
    pub kind: Kind,
    pub label: String,
    pub date_from: Option<String>,
    #[serde(rename = "match")]
    pub matched: Match,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct SearchQuery {
    pub text: String,
    pub kinds: Vec<Kind>,
    pub filters: Filters,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SearchPage {
    /// Matches found (at most the candidate bound; `capped` says when there were more).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total: u64,
    pub capped: bool,
    pub hits: Vec<Hit>,
}

/// What a record contributes to the index: its names, and the rest of its text.
fn indexed_text(body: &Body) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = match body {
        Body::Person(p) => p.names.iter().map(|n| n.value.clone()).collect(),
        Body::Organisation(o) => o.names.iter().map(|n| n.value.clone()).collect(),
        Body::Case(c) => vec![c.title.clone()],
        Body::Event(e) => vec![e.title.clone()],
        Body::Source(s) => vec![s.title.clone()],
        Body::Partner(p) => vec![p.name.clone()],
        Body::Proceeding(p) => [&p.case_number, &p.court_name, &p.judge_name].into_iter().flatten().cloned().collect(),
        Body::Charge(c) => vec![c.provision.clone()],
        Body::Term(t) => t.labels.values().cloned().chain([t.code.clone()]).collect(),
        Body::Detention(_) | Body::Hearing(_) | Body::Decision(_) => Vec::new(),
    };
    names.retain(|n| !n.trim().is_empty());
    let mut rest = Vec::new();
    collect_strings(&body.to_json(), &mut rest);
    rest.retain(|s| !names.contains(s) && Uuid::parse_str(s).is_err());
    (names, rest)
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

fn folded_words<'a>(texts: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    texts.into_iter().flat_map(|t| words(t).map(fold).collect::<Vec<_>>()).collect()
}

impl Writer<'_> {
    /// Rewrite one record's index entry (or remove it, for `None`). Same transaction as the write.
    pub(crate) fn index(&mut self, rowid: i64, body: Option<&Body>) -> Result<()> {
        self.tx.execute("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
        let Some(body) = body else {
            self.tx.execute("UPDATE records SET names_key = '' WHERE id = ?1", [rowid])?;
            return Ok(());
        };
        let (names, rest) = indexed_text(body);
        let folded = folded_words(&names);
        let skeletons: Vec<String> = names.iter().flat_map(|n| words(n).map(skeleton).collect::<Vec<_>>()).collect();
        let body_words = folded_words(&rest);
        self.tx.execute(
            "INSERT INTO search_index(rowid, names, skeletons, body) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![rowid, folded.join(" "), skeletons.join(" "), body_words.join(" ")],
        )?;
        // The names' keys, for ranking candidates without parsing their bodies.
        let key: Vec<String> = folded.iter().zip(skeletons.iter()).map(|(f, s)| format!("{f} {s}")).collect();
        self.tx.execute(
            "UPDATE records SET names_key = ?2 WHERE id = ?1",
            rusqlite::params![rowid, key.join(&SEP.to_string())],
        )?;
        Ok(())
    }
}

/// An FTS5 string literal: the words are already letters and digits only, but quote anyway.
fn literal(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

fn rank(names_key: &str, tokens: &[(String, String)]) -> Match {
    let pairs: Vec<(&str, &str)> = names_key.split(SEP).filter_map(|p| p.split_once(' ')).collect();
    let mut worst = Match::Exact;
    for (f, k) in tokens {
        let best = pairs
            .iter()
            .map(|(nf, nk)| {
                if nf == f {
                    Match::Exact
                } else if nf.starts_with(f.as_str()) {
                    Match::Prefix
                } else if nk.starts_with(k.as_str()) {
                    Match::Transliterated
                } else if k.chars().count() >= FUZZY_MIN_LEN
                    && (within_one_edit(nk, k) || k.get(..k.len() - 1).is_some_and(|stem| nk.starts_with(stem)))
                {
                    Match::Fuzzy
                } else {
                    Match::Text
                }
            })
            .min()
            .unwrap_or(Match::Text);
        worst = worst.max(best);
    }
    worst
}

impl Vault {
    /// Skeleton terms in the index within one edit of `key` (same first letter), for typo tolerance.
    fn near_terms(&self, key: &str) -> Result<Vec<String>> {
        let Some(first) = key.chars().next() else { return Ok(Vec::new()) };
        let next = char::from_u32(first as u32 + 1).unwrap_or(first);
        let mut stmt = self.conn.prepare_cached(
            "SELECT term FROM search_terms WHERE col = 'skeletons' AND term >= ?1 AND term < ?2 AND length(term) BETWEEN ?3 AND ?4",
        )?;
        let n = key.chars().count() as i64;
        let terms = stmt
            .query_map(rusqlite::params![first.to_string(), next.to_string(), n - 1, n + 1], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(terms.into_iter().filter(|t| t != key && within_one_edit(t, key)).take(50).collect())
    }

    pub fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        let tokens: Vec<(String, String)> = words(&query.text)
            .map(|w| (fold(w), skeleton(w)))
            .filter(|(f, k)| !f.is_empty() && !k.is_empty())
            .collect();
        if tokens.is_empty() {
            return Ok(SearchPage { total: 0, capped: false, hits: Vec::new() });
        }
        let page = self.search_with(query, &tokens, false)?;
        // Typo tolerance costs a scan of the index's terms: only when the spellings found too little.
        let wanted = u64::from(query.offset + if query.limit == 0 { 50 } else { query.limit });
        let can_be_fuzzy = tokens.iter().any(|(_, k)| k.chars().count() >= FUZZY_MIN_LEN);
        if page.total < wanted && can_be_fuzzy {
            return self.search_with(query, &tokens, true);
        }
        Ok(page)
    }

    fn search_with(&self, query: &SearchQuery, tokens: &[(String, String)], fuzzy: bool) -> Result<SearchPage> {
        let mut clauses = Vec::new();
        for (f, k) in tokens {
            let mut alternatives = vec![
                format!("names : {}*", literal(f)),
                format!("skeletons : {}*", literal(k)),
                format!("body : {}*", literal(f)),
            ];
            if fuzzy && k.chars().count() >= FUZZY_MIN_LEN {
                for near in self.near_terms(k)? {
                    alternatives.push(format!("skeletons : {}", literal(&near)));
                }
            }
            clauses.push(format!("({})", alternatives.join(" OR ")));
        }
        let expression = clauses.join(" AND ");

        let f = &query.filters;
        let mut sql = String::from(
            "SELECT r.uuid, r.kind, r.label, r.date_from, r.names_key, r.updated_at,
                    CASE r.kind WHEN 'case' THEN json_extract(r.body, '$.status') END
             FROM search_index s JOIN records r ON r.id = s.rowid
             WHERE search_index MATCH ?1 AND r.deleted = 0",
        );
        let mut args: Vec<Value> = vec![Value::String(expression)];
        let mut arg = |sql: &mut String, clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if !query.kinds.is_empty() {
            let list: Vec<String> = query.kinds.iter().map(|k| format!("'{}'", k.as_str())).collect();
            sql.push_str(&format!(" AND r.kind IN ({})", list.join(",")));
        } else {
            sql.push_str(" AND r.kind <> 'term'");
        }
        if let Some(v) = &f.status {
            arg(&mut sql, " AND json_extract(r.body, '$.status') = ?", Value::String(v.clone()));
        }
        if let Some(v) = &f.case_kind {
            arg(&mut sql, " AND json_extract(r.body, '$.case_kind') = ?", Value::String(v.clone()));
        }
        if let Some(v) = &f.category {
            arg(
                &mut sql,
                " AND EXISTS (SELECT 1 FROM json_each(r.body, '$.categories') WHERE value = ?)",
                Value::String(v.clone()),
            );
        }
        if let Some(v) = &f.region {
            arg(
                &mut sql,
                " AND coalesce(json_extract(r.body, '$.region'), json_extract(r.body, '$.place.region'), '') LIKE ?",
                Value::String(format!("%{v}%")),
            );
        }
        if let Some(v) = f.from {
            arg(&mut sql, " AND r.date_to >= ?", Value::String(v.to_string()));
        }
        if let Some(v) = f.to {
            arg(&mut sql, " AND r.date_from <= ?", Value::String(v.to_string()));
        }
        sql.push_str(&format!(" LIMIT {}", CANDIDATES + 1));

        let mut stmt = self.conn.prepare(&sql)?;
        let params = args.iter().map(|v| match v {
            Value::String(s) => rusqlite::types::Value::Text(s.clone()),
            other => rusqlite::types::Value::Text(other.to_string()),
        });
        let rows = stmt.query_map(params_from_iter(params), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut ranked = Vec::new();
        for row in rows {
            let (uuid, kind, label, date_from, names_key, updated_at, status) = row?;
            let kind = Kind::parse(&kind).ok_or_else(|| Error::VaultCorrupt(format!("unknown kind {kind}")))?;
            let matched = rank(&names_key, tokens);
            let open_case = kind == Kind::Case && status.as_deref() != Some("closed");
            let id = Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            ranked.push((
                matched,
                !open_case,
                std::cmp::Reverse(updated_at),
                Hit { id, kind, label, date_from, matched },
            ));
        }
        let capped = ranked.len() > CANDIDATES;
        ranked.truncate(CANDIDATES);
        ranked.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        let total = ranked.len() as u64;
        let limit = if query.limit == 0 { 50 } else { query.limit } as usize;
        let hits = ranked.into_iter().skip(query.offset as usize).take(limit).map(|r| r.3).collect();
        Ok(SearchPage { total, capped, hits })
    }

    /// Rebuild the index record by record, in batches that each commit: an interrupted reindex
    /// leaves every record either with its old entry or its new one, and can simply be rerun.
    /// `progress(done, total)` returns false to stop early.
    pub fn reindex(&mut self, mut progress: impl FnMut(u64, u64) -> bool) -> Result<u64> {
        const BATCH: i64 = 5_000;
        let total: i64 = self.conn.query_row("SELECT count(*) FROM records WHERE deleted = 0", [], |r| r.get(0))?;
        let mut done: u64 = 0;
        let mut after: i64 = 0;
        loop {
            let batch: Vec<(i64, String, String)> = {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT id, kind, body FROM records WHERE deleted = 0 AND id > ?1 ORDER BY id LIMIT ?2",
                )?;
                let rows = stmt.query_map([after, BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let Some(last) = batch.last().map(|b| b.0) else { break };
            let mut w = self.writer()?;
            for (rowid, kind, body) in &batch {
                let kind = Kind::parse(kind).ok_or_else(|| Error::VaultCorrupt(format!("unknown kind {kind}")))?;
                let value: Value = serde_json::from_str(body).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                let body = Body::from_json(kind, value).map_err(|(f, p)| Error::VaultCorrupt(format!("{f}: {p}")))?;
                w.index(*rowid, Some(&body))?;
            }
            w.commit()?;
            after = last;
            done += batch.len() as u64;
            if !progress(done, total as u64) {
                break;
            }
        }
        Ok(done)
    }

    /// Index entries that are missing (e.g. after an interrupted migration), for `check`.
    pub fn unindexed(&self) -> Result<u64> {
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT count(*) FROM records WHERE deleted = 0 AND names_key = '' AND kind IN ('person','organisation','case','event','source')",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_exact_above_prefix_above_transliterated_above_fuzzy() {
        let key = format!("жыланбаев {}{SEP}марат {}", skeleton("жыланбаев"), skeleton("марат"));
        let q = |t: &str| vec![(fold(t), skeleton(t))];
        assert_eq!(rank(&key, &q("Жыланбаев")), Match::Exact);
        assert_eq!(rank(&key, &q("жылан")), Match::Prefix);
        assert_eq!(rank(&key, &q("Zhylanbaev")), Match::Transliterated);
        assert_eq!(rank(&key, &q("zhylanb")), Match::Transliterated);
        assert_eq!(rank(&key, &q("Zhylanbaef")), Match::Fuzzy);
        assert_eq!(rank(&key, &q("Abishev")), Match::Text);
    }
}
