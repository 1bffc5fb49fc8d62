//! Monitoring reports: incidents (events) counted by violation category for a period, beside the
//! same period a year earlier, with breakdowns and the notable cases. The counting rules are
//! documented in docs/reports.md and are the ones below:
//!
//! - An incident counts once in each category it is classified under, and once in each of their
//!   ancestors (a parent counts an incident once even when two of its subcategories apply).
//! - An incident counts in a period only when its whole date lies inside it: "2024-07" and
//!   "2024-07-11/2024-07-20" count in July. One dated only "2024", or spanning June and July, is
//!   not spread over months: it is reported as `undated` in every period it overlaps.
//! - `victims` adds each incident's victim count (1 when not given).
//! - Ratios are current ÷ previous, worded as the reports word them: truncated to one decimal
//!   ("1.58" → "1.5 times more"), as Adil Soz does.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, Event, Term};
use crate::store::{body_from_db, kind_from_db, Writer};
use crate::vault::Vault;

/// What reports count, one compact row per event, kept on every write (like the search index):
/// a report then groups rows in SQL instead of reading and parsing every event's JSON.
/// Lists are codes joined by spaces (codes never hold one).
const SCHEMA_V8: &str = "
CREATE TABLE event_facts (
    event             INTEGER PRIMARY KEY,
    date_from         TEXT NOT NULL,
    date_to           TEXT NOT NULL,
    categories        TEXT NOT NULL,
    region            TEXT NOT NULL,
    victim_types      TEXT NOT NULL,
    perpetrator_types TEXT NOT NULL,
    media             TEXT NOT NULL,
    victims           INTEGER NOT NULL,
    notable           INTEGER NOT NULL
) STRICT;
-- Covering: a report over any period reads this index alone, in date order.
CREATE INDEX event_facts_by_start ON event_facts(date_from, date_to, categories, region, victim_types, perpetrator_types, media, victims);
CREATE INDEX event_facts_by_end ON event_facts(date_to, date_from);
";

pub(crate) fn write_facts(tx: &rusqlite::Transaction<'_>, rowid: i64, body: Option<&Body>) -> Result<()> {
    tx.execute("DELETE FROM event_facts WHERE event = ?1", [rowid])?;
    let Some(Body::Event(e)) = body else { return Ok(()) };
    let Some((from, to)) = body.and_then(Body::date_span) else { return Ok(()) };
    tx.execute(
        "INSERT INTO event_facts(event, date_from, date_to, categories, region, victim_types, perpetrator_types, media, victims, notable)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![
            rowid,
            from.to_string(),
            to.to_string(),
            e.categories.join(" "),
            e.place.as_ref().and_then(|p| p.region.clone()).unwrap_or_default(),
            e.victim_types.join(" "),
            e.perpetrator_types.join(" "),
            e.media.join(" "),
            e.victim_count.unwrap_or(1).max(1),
            e.notable
        ],
    )?;
    Ok(())
}

/// v8: the facts table, filled from the events already in the vault.
pub(crate) fn v8_event_facts(w: &mut Writer<'_>) -> Result<()> {
    w.tx.execute_batch(SCHEMA_V8)?;
    let rows: Vec<(i64, String, String)> = {
        let mut stmt = w.tx.prepare("SELECT id, uuid, body FROM records WHERE kind = 'event' AND deleted = 0")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (rowid, uuid, body) in rows {
        let body = body_from_db(kind_from_db("event")?, &body, &uuid)?;
        write_facts(&w.tx, rowid, Some(&body))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub compare_previous_year: bool,
    /// Labels in this language (en, ru, kk); codes where a label is missing.
    #[serde(default)]
    pub language: Option<String>,
    /// For publication: no names, no record ids, no notable cases.
    #[serde(default)]
    pub aggregate_only: bool,
    /// With `aggregate_only`: counts from 1 to this minus one are shown as "<N".
    #[serde(default)]
    pub suppress_below: Option<u32>,
}

/// A count as published: the number, or "<N" when small counts are suppressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(untagged)]
pub enum Count {
    Exact(#[cfg_attr(feature = "ts", ts(type = "number"))] u64),
    Suppressed(String),
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CategoryRow {
    pub code: String,
    pub label: String,
    pub parent: Option<String>,
    pub depth: u32,
    pub count: Count,
    pub previous: Option<Count>,
    pub change: Option<i64>,
    pub ratio: Option<f64>,
    /// "1.5 times more", "2 times fewer", "the same", "new" (none a year earlier).
    pub wording: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FacetRow {
    pub code: String,
    pub label: String,
    pub count: Count,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NotableCase {
    pub id: Uuid,
    pub date: String,
    pub title: String,
    pub summary: String,
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: Option<NaiveDate>,
    pub previous_to: Option<NaiveDate>,
    pub incidents: Count,
    pub previous_incidents: Option<Count>,
    pub victims: Count,
    /// Incidents whose date is wider than the period but overlaps it (e.g. dated only "2024").
    pub undated: Count,
    pub categories: Vec<CategoryRow>,
    pub regions: Vec<FacetRow>,
    pub victim_types: Vec<FacetRow>,
    pub perpetrator_types: Vec<FacetRow>,
    pub media: Vec<FacetRow>,
    pub notable: Vec<NotableCase>,
    pub aggregate_only: bool,
}

/// "1.5 times more": the ratio truncated to one decimal, as the reports word it.
pub fn wording(current: u64, previous: u64) -> (Option<f64>, String) {
    if previous == 0 {
        return (None, if current == 0 { "none in either period".into() } else { "new (none a year earlier)".into() });
    }
    let ratio = current as f64 / previous as f64;
    let text = |r: f64| {
        let tenths = (r * 10.0 + 1e-9).floor() / 10.0;
        if tenths.fract() == 0.0 {
            format!("{tenths:.0}")
        } else {
            format!("{tenths:.1}")
        }
    };
    let words = match current.cmp(&previous) {
        std::cmp::Ordering::Equal => "the same".to_string(),
        std::cmp::Ordering::Greater => format!("{} times more", text(ratio)),
        std::cmp::Ordering::Less => format!("{} times fewer", text(previous as f64 / current.max(1) as f64)),
    };
    (Some((ratio * 100.0).round() / 100.0), if current == 0 { "none (some a year earlier)".into() } else { words })
}

/// What a period's incidents add up to.
#[derive(Default)]
struct Tally {
    incidents: u64,
    victims: u64,
    undated: u64,
    categories: HashMap<String, u64>,
    regions: BTreeMap<String, u64>,
    victim_types: BTreeMap<String, u64>,
    perpetrator_types: BTreeMap<String, u64>,
    media: BTreeMap<String, u64>,
    notable: Vec<(Uuid, Event)>,
}

fn same_day_a_year_earlier(day: NaiveDate) -> NaiveDate {
    day.with_year(day.year() - 1).or_else(|| NaiveDate::from_ymd_opt(day.year() - 1, day.month(), 28)).unwrap_or(day)
}

impl Vault {
    pub fn report(&self, query: &ReportQuery) -> Result<Report> {
        if query.to < query.from {
            return Err(Error::InvalidInput(format!(
                "The period ends ({}) before it starts ({}).",
                query.to, query.from
            )));
        }
        let lang = query.language.as_deref().unwrap_or("en");
        let terms = self.report_terms()?;
        let parents: HashMap<&str, Option<&str>> = terms
            .iter()
            .filter(|t| t.vocabulary == "violation_category")
            .map(|t| (t.code.as_str(), t.parent.as_deref()))
            .collect();
        let current = self.tally(query.from, query.to, &parents, !query.aggregate_only)?;
        let previous = if query.compare_previous_year {
            let (from, to) = (same_day_a_year_earlier(query.from), same_day_a_year_earlier(query.to));
            Some(((from, to), self.tally(from, to, &parents, false)?))
        } else {
            None
        };
        let floor = if query.aggregate_only { query.suppress_below.unwrap_or(0) as u64 } else { 0 };
        let cell = |n: u64| if n > 0 && n < floor { Count::Suppressed(format!("<{floor}")) } else { Count::Exact(n) };
        let label = |vocabulary: &str, code: &str| {
            terms
                .iter()
                .find(|t| t.vocabulary == vocabulary && t.code == code)
                .and_then(|t| t.labels.get(lang).or_else(|| t.labels.get("en")))
                .cloned()
                .unwrap_or_else(|| code.to_string())
        };

        let mut categories = Vec::new();
        let depth = |code: &str| {
            let mut d = 0;
            let mut at = parents.get(code).copied().flatten();
            while let Some(p) = at {
                d += 1;
                at = parents.get(p).copied().flatten();
            }
            d
        };
        // Tree order: each root, then its descendants, in the vocabulary's own order.
        fn visit<'a>(code: &'a str, terms: &'a [Term], out: &mut Vec<&'a str>) {
            out.push(code);
            for child in
                terms.iter().filter(|t| t.vocabulary == "violation_category" && t.parent.as_deref() == Some(code))
            {
                visit(&child.code, terms, out);
            }
        }
        let mut ordered = Vec::new();
        for root in terms.iter().filter(|t| t.vocabulary == "violation_category" && t.parent.is_none()) {
            visit(&root.code, &terms, &mut ordered);
        }
        for code in ordered {
            let now = current.categories.get(code).copied().unwrap_or(0);
            let before = previous.as_ref().map(|(_, p)| p.categories.get(code).copied().unwrap_or(0));
            if now == 0 && before.unwrap_or(0) == 0 {
                continue;
            }
            let suppressed = (now > 0 && now < floor) || before.is_some_and(|b| b > 0 && b < floor);
            let (ratio, words) = match before {
                Some(b) if !suppressed => {
                    let (r, w) = wording(now, b);
                    (r, Some(w))
                }
                _ => (None, None),
            };
            categories.push(CategoryRow {
                code: code.to_string(),
                label: label("violation_category", code),
                parent: parents.get(code).copied().flatten().map(str::to_string),
                depth: depth(code),
                count: cell(now),
                previous: before.map(cell),
                change: before.filter(|_| !suppressed).map(|b| now as i64 - b as i64),
                ratio,
                wording: words,
            });
        }
        let facet = |map: &BTreeMap<String, u64>, vocabulary: &str| -> Vec<FacetRow> {
            let mut rows: Vec<FacetRow> = map
                .iter()
                .map(|(code, n)| FacetRow {
                    code: code.clone(),
                    label: if vocabulary.is_empty() { code.clone() } else { label(vocabulary, code) },
                    count: cell(*n),
                })
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse(map.get(&r.code).copied().unwrap_or(0)));
            rows
        };
        let notable = current
            .notable
            .iter()
            .map(|(id, e)| NotableCase {
                id: *id,
                date: e.date.to_string(),
                title: e.title.clone(),
                summary: one_line(e.description.as_deref().unwrap_or(&e.title)),
                categories: e.categories.iter().map(|c| label("violation_category", c)).collect(),
            })
            .collect();
        Ok(Report {
            from: query.from,
            to: query.to,
            previous_from: previous.as_ref().map(|((f, _), _)| *f),
            previous_to: previous.as_ref().map(|((_, t), _)| *t),
            incidents: cell(current.incidents),
            previous_incidents: previous.as_ref().map(|(_, p)| cell(p.incidents)),
            victims: cell(current.victims),
            undated: cell(current.undated),
            categories,
            regions: facet(&current.regions, ""),
            victim_types: facet(&current.victim_types, "victim_type"),
            perpetrator_types: facet(&current.perpetrator_types, "perpetrator_type"),
            media: facet(&current.media, "medium"),
            notable,
            aggregate_only: query.aggregate_only,
        })
    }

    fn report_terms(&self) -> Result<Vec<Term>> {
        let mut stmt = self.conn.prepare(
            "SELECT uuid, body FROM records WHERE kind = 'term' AND deleted = 0
             AND json_extract(body, '$.vocabulary') IN ('violation_category', 'victim_type', 'perpetrator_type', 'medium')
             ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row?;
            if let Body::Term(t) = body_from_db(kind_from_db("term")?, &body, &id)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Groups the facts of events wholly inside the period in SQL (one row per distinct
    /// combination), counts those that only overlap it, and reads the notable events' records.
    fn tally(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        parents: &HashMap<&str, Option<&str>>,
        keep_notable: bool,
    ) -> Result<Tally> {
        let (from, to) = (from.to_string(), to.to_string());
        let mut t = Tally::default();
        // Rows are summed per distinct combination here rather than by GROUP BY, which would sort
        // every row of a long period; the covering index is read in order, nothing else.
        let mut groups: HashMap<String, (u64, u64)> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT categories || char(1) || region || char(1) || victim_types || char(1) || perpetrator_types
                    || char(1) || media, victims
             FROM event_facts INDEXED BY event_facts_by_start
             WHERE date_from >= ?1 AND date_from <= ?2 AND date_to <= ?2",
        )?;
        let mut rows = stmt.query([&from, &to])?;
        while let Some(row) = rows.next()? {
            let key = row.get_ref(0)?.as_str().map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            let victims = row.get::<_, i64>(1)? as u64;
            match groups.get_mut(key) {
                Some(g) => *g = (g.0 + 1, g.1 + victims),
                None => {
                    groups.insert(key.to_string(), (1, victims));
                }
            }
        }
        for (key, (n, victims)) in groups {
            let mut parts = key.split('\u{1}');
            let mut next = || parts.next().unwrap_or_default();
            let (categories, region, victim_types, perpetrator_types, media) = (next(), next(), next(), next(), next());
            t.incidents += n;
            t.victims += victims;
            let mut counted = HashSet::new();
            for code in categories.split_whitespace() {
                let mut at = Some(code);
                while let Some(c) = at {
                    if !counted.insert(c) {
                        break;
                    }
                    *t.categories.entry(c.to_string()).or_default() += n;
                    at = parents.get(c).copied().flatten();
                }
            }
            let region = if region.is_empty() { "unknown" } else { region };
            *t.regions.entry(region.to_string()).or_default() += n;
            for (map, codes) in [
                (&mut t.victim_types, victim_types),
                (&mut t.perpetrator_types, perpetrator_types),
                (&mut t.media, media),
            ] {
                for code in codes.split_whitespace().collect::<HashSet<_>>() {
                    *map.entry(code.to_string()).or_default() += n;
                }
            }
        }
        t.undated = self.conn.prepare_cached(
            "SELECT count(*) FROM event_facts WHERE date_to >= ?1 AND date_from <= ?2 AND NOT (date_from >= ?1 AND date_to <= ?2)",
        )?
        .query_row([&from, &to], |r| r.get::<_, i64>(0))? as u64;
        if keep_notable {
            let mut stmt = self.conn.prepare_cached(
                "SELECT r.uuid, r.body FROM event_facts f JOIN records r ON r.id = f.event
                 WHERE f.notable = 1 AND f.date_from >= ?1 AND f.date_from <= ?2 AND f.date_to <= ?2
                 ORDER BY f.date_from, f.date_to",
            )?;
            let mut rows = stmt.query([&from, &to])?;
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let body: String = row.get(1)?;
                let event: Event =
                    serde_json::from_str(&body).map_err(|e| Error::VaultCorrupt(format!("event {id}: {e}")))?;
                let id = Uuid::parse_str(&id).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                t.notable.push((id, event));
            }
        }
        Ok(t)
    }
}

fn one_line(text: &str) -> String {
    let first = text.split(['\n', '.']).next().unwrap_or(text).trim();
    let mut out: String = first.chars().take(160).collect();
    if first.chars().count() > 160 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_worded_as_the_reports_word_them() {
        assert_eq!(wording(87, 55).1, "1.5 times more");
        assert_eq!(wording(9, 7).1, "1.2 times more");
        assert_eq!(wording(57, 35).1, "1.6 times more");
        assert_eq!(wording(20, 10).1, "2 times more");
        assert_eq!(wording(5, 10).1, "2 times fewer");
        assert_eq!(wording(4, 4).1, "the same");
        assert_eq!(wording(3, 0).1, "new (none a year earlier)");
        assert_eq!(wording(87, 55).0, Some(1.58));
    }

    #[test]
    fn a_year_earlier_of_29_february_is_28_february() {
        let leap = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        assert_eq!(same_day_a_year_earlier(leap), NaiveDate::from_ymd_opt(2023, 2, 28).expect("date"));
    }
}
