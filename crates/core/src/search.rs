//! Search across every record kind and every script, inside the encrypted vault.
//!
//! An FTS5 index (contentless: it stores no text, only the inverted index, and lives in the
//! SQLCipher file like everything else) holds four columns per record: its names folded in
//! their own script, the same names as script-independent skeletons (`normalize::skeleton`),
//! the rest of its text folded, and `meta` tokens (its kind; `open` for an open case). The index
//! is rewritten in the same transaction as the record.
//!
//! Ranking is done by the index itself, tier by tier: exact names, then name prefixes, then other
//! spellings (skeleton prefixes), then one-typo neighbours, then other text. Each tier is one FTS5
//! query returning row ids only, newest first and bounded, so a query never reads more records
//! than the page it shows — reading thousands of candidate rows was what made a common surname
//! slow at a million records. Within a tier, open cases come first, then the newest records.

use rusqlite::OptionalExtension;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, Kind};
use crate::normalize::{fold, skeleton, within_one_edit, words};
use crate::store::{body_from_db, kind_from_db, Cached, Filters, Writer};
use crate::vault::Vault;

/// Candidates taken from FTS5 before ranking: bounds the cost of a very common prefix.
const CANDIDATES: usize = 2_000;
/// Words shorter than this get no typo tolerance (too many neighbours).
const FUZZY_MIN_LEN: usize = 5;
const SEP: char = '\u{1f}';

/// Schema version 3's index (kept as it was, for migrating through it).
pub(crate) const SCHEMA_V3: &str = "
CREATE VIRTUAL TABLE search_index USING fts5(
    names, skeletons, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
CREATE VIRTUAL TABLE search_terms USING fts5vocab(search_index, 'col');
ALTER TABLE records ADD COLUMN names_key TEXT NOT NULL DEFAULT '';
";

/// Version 4 adds the `meta` column, so kinds and open cases are filtered and ranked in the index,
/// and its own table of name skeletons for typo tolerance.
pub(crate) const SCHEMA_V4: &str = "
DROP TABLE search_terms;
DROP TABLE search_index;
CREATE VIRTUAL TABLE search_index USING fts5(
    names, skeletons, body, meta,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
-- Every name skeleton ever indexed, for typo tolerance: a range scan here replaces reading the
-- index's doclists through fts5vocab, which made a misspelt query 50-80 ms at 100k records.
CREATE TABLE search_vocab (term TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
UPDATE records SET names_key = '';
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
fn indexed_text(body: &Body, json: &Value) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = match body {
        Body::Person(p) => p.names.iter().map(|n| n.value.clone()).collect(),
        Body::Organisation(o) => o.names.iter().map(|n| n.value.clone()).collect(),
        Body::Case(c) => vec![c.title.clone()],
        Body::Event(e) => vec![e.title.clone()],
        Body::Source(s) => vec![s.title.clone()],
        Body::Partner(p) => vec![p.name.clone()],
        Body::Proceeding(p) => [&p.case_number, &p.court_name, &p.judge_name].into_iter().flatten().cloned().collect(),
        Body::Group(g) => vec![g.description.clone()],
        Body::Charge(c) => [&c.provision, &c.description].into_iter().flatten().cloned().collect(),
        Body::Term(t) => t.labels.values().cloned().chain([t.code.clone()]).collect(),
        Body::Attachment(a) => vec![a.name.clone()],
        Body::Detention(_) | Body::Hearing(_) | Body::Decision(_) => Vec::new(),
    };
    names.retain(|n| !n.trim().is_empty());
    let mut rest = Vec::new();
    collect_strings(json, &mut rest);
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

/// Ranked row ids; `capped` when there may be more than were counted.
struct Found {
    ids: Vec<(i64, Match)>,
    capped: bool,
}

impl Writer<'_> {
    /// Rewrite one record's index entry (or remove it, for `None`). Same transaction as the write.
    pub(crate) fn index(&mut self, rowid: i64, body: Option<&Body>) -> Result<()> {
        match body {
            Some(body) => self.index_json(rowid, body, &body.to_json(), true),
            None => {
                self.tx.exec("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
                self.tx.exec("UPDATE records SET names_key = '' WHERE id = ?1", [rowid])?;
                Ok(())
            }
        }
    }

    /// `index` for a body whose JSON the caller already made; `replaces` is false for a row just
    /// inserted, which has no entry to remove (looking one up in a contentless index is costly).
    pub(crate) fn index_json(&mut self, rowid: i64, body: &Body, json: &Value, replaces: bool) -> Result<()> {
        if replaces {
            self.tx.exec("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
        }
        let (names, rest) = indexed_text(body, json);
        let folded = folded_words(&names);
        let skeletons: Vec<String> = names.iter().flat_map(|n| words(n).map(skeleton).collect::<Vec<_>>()).collect();
        let body_words = folded_words(&rest);
        let mut vocab = self.tx.prepare_cached("INSERT OR IGNORE INTO search_vocab(term) VALUES (?1)")?;
        for term in &skeletons {
            vocab.execute([term])?;
        }
        drop(vocab);
        let kind = body.kind();
        let open = matches!(body, Body::Case(c) if c.status != "closed");
        let meta = format!("k{}{}", kind.as_str(), if open { " open" } else { "" });
        self.tx.exec(
            "INSERT INTO search_index(rowid, names, skeletons, body, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![rowid, folded.join(" "), skeletons.join(" "), body_words.join(" "), meta],
        )?;
        // Marks the record as indexed (for `check`), with its names' keys for diagnosis.
        let key: Vec<String> = folded.iter().zip(skeletons.iter()).map(|(f, s)| format!("{f} {s}")).collect();
        self.tx.exec(
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

impl Vault {
    /// Skeleton terms in the index within one edit of `key` (same first letter), for typo tolerance.
    fn near_terms(&self, key: &str) -> Result<Vec<String>> {
        let Some(first) = key.chars().next() else { return Ok(Vec::new()) };
        let next = char::from_u32(first as u32 + 1).unwrap_or(first);
        let mut stmt = self.conn.prepare_cached(
            "SELECT term FROM search_vocab WHERE term >= ?1 AND term < ?2 AND length(term) BETWEEN ?3 AND ?4",
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
        let limit = if query.limit == 0 { 50 } else { query.limit } as usize;
        let wanted = query.offset as usize + limit;
        let mut found = self.candidates(query, &tokens, wanted, false)?;
        // Typo tolerance costs a scan of the index's terms: only when the spellings found too little.
        let can_be_fuzzy = tokens.iter().any(|(_, k)| k.chars().count() >= FUZZY_MIN_LEN);
        if found.ids.len() < wanted && can_be_fuzzy {
            found = self.candidates(query, &tokens, wanted, true)?;
        }
        let total = found.ids.len() as u64;
        let page: Vec<(i64, Match)> = found.ids.into_iter().skip(query.offset as usize).take(limit).collect();
        let hits = self.hits(&page)?;
        Ok(SearchPage { total, capped: found.capped, hits })
    }

    /// Row ids matching an FTS5 expression, newest first, at most `CANDIDATES + 1`.
    fn matching(&self, expression: &str) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rowid FROM search_index WHERE search_index MATCH ?1 ORDER BY rowid DESC LIMIT ?2",
        )?;
        let ids = stmt.query_map(rusqlite::params![expression, CANDIDATES as i64 + 1], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// The ranked candidates, tier by tier, stopping once a page's worth is certain (no filters).
    fn candidates(
        &self,
        query: &SearchQuery,
        tokens: &[(String, String)],
        wanted: usize,
        fuzzy: bool,
    ) -> Result<Found> {
        let each = |alternatives: &dyn Fn(&str, &str) -> Result<Vec<String>>| -> Result<String> {
            let mut clauses = Vec::new();
            for (f, k) in tokens {
                clauses.push(format!("({})", alternatives(f, k)?.join(" OR ")));
            }
            Ok(clauses.join(" AND "))
        };
        let near = |k: &str| -> Result<Vec<String>> {
            if !fuzzy || k.chars().count() < FUZZY_MIN_LEN {
                return Ok(Vec::new());
            }
            let mut out: Vec<String> =
                self.near_terms(k)?.iter().map(|t| format!("skeletons : {}", literal(t))).collect();
            // A wrong last letter: the rest as a prefix ("zhylanbaef" finds "zhylanbaeva").
            if let Some(stem) = k.get(..k.len() - 1) {
                out.push(format!("skeletons : {}*", literal(stem)));
            }
            Ok(out)
        };
        let spelled =
            |f: &str, k: &str| vec![format!("names : {}*", literal(f)), format!("skeletons : {}*", literal(k))];
        let mut tiers = vec![
            (Match::Exact, each(&|f, _| Ok(vec![format!("names : {}", literal(f))]))?),
            (Match::Prefix, each(&|f, _| Ok(vec![format!("names : {}*", literal(f))]))?),
            (Match::Transliterated, each(&|f, k| Ok(spelled(f, k)))?),
        ];
        if fuzzy {
            tiers.push((Match::Fuzzy, each(&|f, k| Ok([spelled(f, k), near(k)?].concat()))?));
        }
        tiers.push((
            Match::Text,
            each(&|f, k| Ok([spelled(f, k), near(k)?, vec![format!("body : {}*", literal(f))]].concat()))?,
        ));

        let kinds = if query.kinds.is_empty() {
            " NOT meta : kterm".to_string()
        } else {
            let list: Vec<String> = query.kinds.iter().map(|k| format!("meta : k{}", k.as_str())).collect();
            format!(" AND ({})", list.join(" OR "))
        };
        let cases_wanted = query.kinds.is_empty() || query.kinds.contains(&Kind::Case);
        let filtered = query.filters != Filters::default();
        let mut found = Found { ids: Vec::new(), capped: false };
        let mut seen = std::collections::HashSet::new();
        for (tier, expression) in &tiers {
            let expression = format!("({expression}){kinds}");
            let mut ids = self.matching(&expression)?;
            found.capped |= ids.len() > CANDIDATES;
            ids.truncate(CANDIDATES);
            ids.retain(|id| seen.insert(*id));
            if ids.is_empty() {
                continue;
            }
            if cases_wanted {
                let open: std::collections::HashSet<i64> =
                    self.matching(&format!("({expression}) AND meta : open"))?.into_iter().collect();
                ids.sort_by_key(|id| (!open.contains(id), std::cmp::Reverse(*id)));
            }
            if filtered {
                ids = self.passing_filters(&ids, &query.filters)?;
            }
            found.ids.extend(ids.into_iter().map(|id| (id, *tier)));
            if found.ids.len() >= wanted && !filtered && *tier != Match::Text {
                // Enough for the page from better tiers; lower tiers would only add to the count.
                found.capped = true;
                break;
            }
        }
        Ok(found)
    }

    /// The ids, in their order, whose records pass the field filters (read only when filtering).
    fn passing_filters(&self, ids: &[i64], filters: &Filters) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id FROM records WHERE id IN (SELECT value FROM json_each(:ids)) AND {}",
            crate::store::FILTERS_SQL
        ))?;
        let ids_json = serde_json::to_string(ids)?;
        let values = filters.values();
        let mut args: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":ids", &ids_json)];
        args.extend(values.iter().map(|(name, value)| (*name, value as &dyn rusqlite::ToSql)));
        let passing: std::collections::HashSet<i64> =
            stmt.query_map(args.as_slice(), |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(ids.iter().copied().filter(|id| passing.contains(id)).collect())
    }

    /// The page's rows, in rank order.
    fn hits(&self, page: &[(i64, Match)]) -> Result<Vec<Hit>> {
        let mut stmt = self.conn.prepare_cached("SELECT uuid, kind, label, date_from FROM records WHERE id = ?1")?;
        let mut hits = Vec::with_capacity(page.len());
        for (rowid, matched) in page {
            let row = stmt
                .query_row([rowid], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?))
                })
                .optional()?;
            let Some((uuid, kind, label, date_from)) = row else { continue };
            let kind = kind_from_db(&kind)?;
            let id = Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            hits.push(Hit { id, kind, label, date_from, matched: *matched });
        }
        Ok(hits)
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
            let batch: Vec<(i64, String, String, String)> = {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT id, uuid, kind, body FROM records WHERE deleted = 0 AND id > ?1 ORDER BY id LIMIT ?2",
                )?;
                let rows = stmt.query_map([after, BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let Some(last) = batch.last().map(|b| b.0) else { break };
            let mut w = self.writer()?;
            for (rowid, uuid, kind, body) in &batch {
                let body = body_from_db(kind_from_db(kind)?, body, uuid)?;
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
