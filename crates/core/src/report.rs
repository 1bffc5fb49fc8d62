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
/// a report reads these instead of parsing every event's JSON. Lists are codes joined by spaces
/// (codes never hold one); `combo` joins the five report columns with U+0001.
const SCHEMA_V8: &str = "
CREATE TABLE event_facts (
    event     INTEGER PRIMARY KEY,
    date_from TEXT NOT NULL,
    date_to   TEXT NOT NULL,
    combo     TEXT NOT NULL,
    victims   INTEGER NOT NULL,
    notable   INTEGER NOT NULL
) STRICT;
CREATE INDEX event_facts_by_start ON event_facts(date_from, date_to, combo, victims);
-- Events dated wider than a day: the only ones that can overlap a period without lying inside it.
CREATE INDEX event_facts_wide ON event_facts(date_from, date_to) WHERE date_to != date_from;
CREATE INDEX event_facts_notable ON event_facts(date_from, date_to) WHERE notable = 1;
-- Per calendar month and combination, the events whose whole date lies in that month: a report
-- over whole months sums these few rows instead of reading every event.
CREATE TABLE event_months (
    month   TEXT NOT NULL,
    combo   TEXT NOT NULL,
    events  INTEGER NOT NULL,
    victims INTEGER NOT NULL,
    PRIMARY KEY (month, combo)
) STRICT, WITHOUT ROWID;
";

fn combo(e: &Event) -> String {
    let region = e.place.as_ref().and_then(|p| p.region.clone()).unwrap_or_default();
    [e.categories.join(" "), region, e.victim_types.join(" "), e.perpetrator_types.join(" "), e.media.join(" ")]
        .join("\u{1}")
}

/// The month an event lies wholly in, if it does.
fn single_month(from: &str, to: &str) -> Option<String> {
    (from.get(..7)? == to.get(..7)?).then(|| from[..7].to_string())
}

pub(crate) fn write_facts(tx: &rusqlite::Transaction<'_>, rowid: i64, body: Option<&Body>) -> Result<()> {
    let old: Option<(String, String, String, i64)> = rusqlite::OptionalExtension::optional(tx.query_row(
        "SELECT date_from, date_to, combo, victims FROM event_facts WHERE event = ?1",
        [rowid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    ))?;
    if let Some((from, to, combo, victims)) = old {
        if let Some(month) = single_month(&from, &to) {
            tx.execute(
                "UPDATE event_months SET events = events - 1, victims = victims - ?3 WHERE month = ?1 AND combo = ?2",
                rusqlite::params![month, combo, victims],
            )?;
            tx.execute("DELETE FROM event_months WHERE month = ?1 AND combo = ?2 AND events <= 0", [&month, &combo])?;
        }
        tx.execute("DELETE FROM event_facts WHERE event = ?1", [rowid])?;
    }
    let Some(Body::Event(e)) = body else { return Ok(()) };
    let Some((from, to)) = body.and_then(Body::date_span) else { return Ok(()) };
    let (from, to, combo, victims) = (from.to_string(), to.to_string(), combo(e), e.victim_count.unwrap_or(1).max(1));
    tx.execute(
        "INSERT INTO event_facts(event, date_from, date_to, combo, victims, notable) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![rowid, from, to, combo, victims, e.notable],
    )?;
    if let Some(month) = single_month(&from, &to) {
        tx.execute(
            "INSERT INTO event_months(month, combo, events, victims) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(month, combo) DO UPDATE SET events = events + 1, victims = victims + excluded.victims",
            rusqlite::params![month, combo, victims],
        )?;
    }
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

    /// Sums the incidents wholly inside the period: whole months from the monthly rollup, the
    /// partial months at either end and the events spanning months from the facts; counts those
    /// that only overlap it; reads the notable events' records.
    fn tally(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        parents: &HashMap<&str, Option<&str>>,
        keep_notable: bool,
    ) -> Result<Tally> {
        let mut t = Tally::default();
        let mut groups: HashMap<String, (u64, u64)> = HashMap::new();
        let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let next_month = |d: NaiveDate| first_of(d).checked_add_months(chrono::Months::new(1)).unwrap_or(d);
        // Whole months inside the period: [months_from, months_to).
        let months_from = if from.day() == 1 { from } else { next_month(from) };
        let months_to = first_of(to + chrono::Days::new(1));
        let day = |d: NaiveDate| d.to_string();
        let mut add = |key: &str, n: u64, victims: u64| match groups.get_mut(key) {
            Some(g) => *g = (g.0 + n, g.1 + victims),
            None => {
                groups.insert(key.to_string(), (n, victims));
            }
        };
        let mut facts = |start: String, end: String, only_multi_month: bool| -> Result<()> {
            let sql = if only_multi_month {
                "SELECT combo, victims FROM event_facts INDEXED BY event_facts_wide
                 WHERE date_to != date_from AND date_from >= ?1 AND date_from <= ?2 AND date_to <= ?3
                   AND substr(date_from, 1, 7) != substr(date_to, 1, 7)"
            } else {
                "SELECT combo, victims FROM event_facts INDEXED BY event_facts_by_start
                 WHERE date_from >= ?1 AND date_from <= ?2 AND date_to <= ?3"
            };
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query([&start, &end, &day(to)])?;
            while let Some(row) = rows.next()? {
                let key = row.get_ref(0)?.as_str().map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                add(key, 1, row.get::<_, i64>(1)? as u64);
            }
            Ok(())
        };
        if months_from < months_to {
            let before_months = months_from - chrono::Days::new(1);
            if from < months_from {
                facts(day(from), day(before_months), false)?;
            }
            facts(day(months_from), day(months_to - chrono::Days::new(1)), true)?;
            if months_to <= to {
                facts(day(months_to), day(to), false)?;
            }
            let mut stmt = self
                .conn
                .prepare_cached("SELECT combo, events, victims FROM event_months WHERE month >= ?1 AND month < ?2")?;
            let month = |d: NaiveDate| d.format("%Y-%m").to_string();
            let mut rows = stmt.query([month(months_from), month(months_to)])?;
            while let Some(row) = rows.next()? {
                let key = row.get_ref(0)?.as_str().map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                add(key, row.get::<_, i64>(1)? as u64, row.get::<_, i64>(2)? as u64);
            }
        } else {
            facts(day(from), day(to), false)?;
        }
        let (from, to) = (from.to_string(), to.to_string());
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
            "SELECT count(*) FROM event_facts INDEXED BY event_facts_wide
             WHERE date_to != date_from AND date_from <= ?2 AND date_to >= ?1 AND NOT (date_from >= ?1 AND date_to <= ?2)",
        )?
        .query_row([&from, &to], |r| r.get::<_, i64>(0))? as u64;
        if keep_notable {
            let mut stmt = self.conn.prepare_cached(
                "SELECT r.uuid, r.body FROM event_facts f INDEXED BY event_facts_notable JOIN records r ON r.id = f.event
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
