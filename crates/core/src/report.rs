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
use crate::store::{body_from_db, kind_from_db, Cached, Writer};
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

/// The report columns of an event: categories, region, victim types, perpetrator types, media,
/// programmes, and "~" when its date is approximate.
fn combo(e: &Event) -> String {
    let region = e.place.as_ref().and_then(|p| p.region.clone()).unwrap_or_default();
    [
        e.categories.join(" "),
        region,
        e.victim_types.join(" "),
        e.perpetrator_types.join(" "),
        e.media.join(" "),
        e.programmes.join(" "),
        if e.date.approximate { "~".into() } else { String::new() },
    ]
    .join("\u{1}")
}

/// The parts of a combo, in `combo`'s order (a v8 combo has no programmes nor approximate mark).
struct Columns<'a> {
    categories: &'a str,
    region: &'a str,
    victim_types: &'a str,
    perpetrator_types: &'a str,
    media: &'a str,
    programmes: &'a str,
    approximate: bool,
}

fn columns(key: &str) -> Columns<'_> {
    let mut parts = key.split('\u{1}');
    let mut next = || parts.next().unwrap_or_default();
    Columns {
        categories: next(),
        region: next(),
        victim_types: next(),
        perpetrator_types: next(),
        media: next(),
        programmes: next(),
        approximate: next() == "~",
    }
}

/// How many people an event affected: its victim count, else the people of the groups among its
/// victims (plus any other victims named beside them), else one.
fn victims_of(tx: &rusqlite::Transaction<'_>, e: &Event) -> Result<u32> {
    if let Some(q) = e.victim_count {
        return Ok(q.value.max(1));
    }
    let victims: Vec<&crate::model::Participant> = e.participants.iter().filter(|p| p.role == "victim").collect();
    let mut groups = 0u32;
    let mut total = 0u32;
    for p in &victims {
        let body: Option<String> = rusqlite::OptionalExtension::optional(tx.row(
            "SELECT body FROM records WHERE uuid = ?1 AND kind = 'group' AND deleted = 0",
            [p.party.to_string()],
            |r| r.get(0),
        ))?;
        match body.and_then(|b| serde_json::from_str::<crate::model::Group>(&b).ok()) {
            Some(g) => {
                groups += 1;
                total += g.headcount().value;
            }
            None => total += 1,
        }
    }
    Ok(if groups > 0 { total.max(1) } else { 1 })
}

/// After a group is written: the events it is a participant of count its people again.
pub(crate) fn refresh_group_events(tx: &rusqlite::Transaction<'_>, group_rowid: i64) -> Result<()> {
    let events: Vec<(i64, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT r.id, r.uuid, r.body FROM record_refs rr JOIN records r ON r.id = rr.from_id
             WHERE rr.to_id = ?1 AND r.kind = 'event' AND r.deleted = 0",
        )?;
        let rows = stmt.query_map([group_rowid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (rowid, uuid, body) in events {
        let body = body_from_db(kind_from_db("event")?, &body, &uuid)?;
        write_facts(tx, rowid, Some(&body))?;
    }
    Ok(())
}

/// The month an event lies wholly in, if it does.
fn single_month(from: &str, to: &str) -> Option<String> {
    (from.get(..7)? == to.get(..7)?).then(|| from[..7].to_string())
}

pub(crate) fn write_facts(tx: &rusqlite::Transaction<'_>, rowid: i64, body: Option<&Body>) -> Result<()> {
    let old: Option<(String, String, String, i64)> = rusqlite::OptionalExtension::optional(tx.row(
        "SELECT date_from, date_to, combo, victims FROM event_facts WHERE event = ?1",
        [rowid],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    ))?;
    if let Some((from, to, combo, victims)) = old {
        if let Some(month) = single_month(&from, &to) {
            tx.exec(
                "UPDATE event_months SET events = events - 1, victims = victims - ?3 WHERE month = ?1 AND combo = ?2",
                rusqlite::params![month, combo, victims],
            )?;
            tx.exec("DELETE FROM event_months WHERE month = ?1 AND combo = ?2 AND events <= 0", [&month, &combo])?;
        }
        tx.exec("DELETE FROM event_facts WHERE event = ?1", [rowid])?;
    }
    let Some(Body::Event(e)) = body else { return Ok(()) };
    let Some((from, to)) = body.and_then(Body::date_span) else { return Ok(()) };
    let (from, to, combo, victims) = (from.to_string(), to.to_string(), combo(e), victims_of(tx, e)?);
    tx.exec(
        "INSERT INTO event_facts(event, date_from, date_to, combo, victims, notable) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![rowid, from, to, combo, victims, e.notable],
    )?;
    if let Some(month) = single_month(&from, &to) {
        tx.exec(
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
    fill_event_facts(w)
}

/// v9: facts carry programmes and approximate dates; refilled from the events.
pub(crate) fn v9_refill_event_facts(w: &mut Writer<'_>) -> Result<()> {
    w.tx.execute_batch("DELETE FROM event_facts; DELETE FROM event_months;")?;
    fill_event_facts(w)
}

fn fill_event_facts(w: &mut Writer<'_>) -> Result<()> {
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

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct ReportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub compare_previous_year: bool,
    /// Beside the period just before, of the same length (the previous month for a month).
    #[serde(default)]
    pub compare_previous_period: bool,
    /// Only the events of this `programme` code (and the legal track of its cases).
    #[serde(default)]
    pub programme: Option<String>,
    /// Only the events citing this source (and detentions and decisions citing it).
    #[serde(default)]
    pub source: Option<Uuid>,
    /// The day of the custody census; the period's last day when not given.
    #[serde(default)]
    pub custody_on: Option<NaiveDate>,
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
    /// Of `count`, the incidents dated only approximately ("~2024-07").
    pub approximate: Count,
}

/// Incidents dated to a span wider than the period that overlaps it ("2024-01/2024-06" in a
/// March report): not counted in the period's figures, reported beside them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct WiderSpan {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub incidents: Count,
    pub victims: Count,
}

/// Prison years handed down, for one charge or region.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct YearsRow {
    pub code: String,
    pub label: String,
    /// People sentenced to imprisonment.
    pub people: Count,
    /// Years in all (the lower ends of ranges); `None` when `people` is suppressed.
    pub years: Option<f64>,
    /// Years in all taking the upper ends of ranges ("3 to 5 years" counts 5).
    pub years_max: Option<f64>,
}

/// The legal-track figures IPHR-style updates quote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LegalFigures {
    pub custody_on: NaiveDate,
    /// People deprived of liberty that day, each once.
    pub in_custody: Count,
    /// Of those, the ones whose dates allow that they were not (yet, or any longer) held.
    pub in_custody_uncertain: Count,
    pub custody_by_kind: Vec<FacetRow>,
    /// People given administrative arrest by decisions dated in the period, and the days in all
    /// (upper ends of ranges in `_max`).
    pub administrative_arrests: Count,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub administrative_arrest_days: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub administrative_arrest_days_max: u64,
    /// Imprisonment handed down by verdicts dated in the period (appeals that uphold them are not
    /// counted again).
    pub prison_sentences: Count,
    pub prison_years: Option<f64>,
    pub prison_years_max: Option<f64>,
    pub prison_years_by_charge: Vec<YearsRow>,
    pub prison_years_by_region: Vec<YearsRow>,
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
    /// "previous_year" or "previous_period" when compared.
    pub comparison: Option<String>,
    pub programme: Option<String>,
    pub source: Option<Uuid>,
    pub incidents: Count,
    /// Of `incidents`, those dated only approximately.
    pub approximate: Count,
    pub previous_incidents: Option<Count>,
    pub victims: Count,
    /// Incidents whose date is wider than the period but overlaps it (e.g. dated only "2024").
    pub undated: Count,
    /// `undated`, by the span they are dated to.
    pub wider: Vec<WiderSpan>,
    /// What a reader must know to read the figures: that they come only from period totals,
    /// that some incidents are approximately dated.
    pub notes: Vec<String>,
    pub categories: Vec<CategoryRow>,
    pub regions: Vec<FacetRow>,
    pub victim_types: Vec<FacetRow>,
    pub perpetrator_types: Vec<FacetRow>,
    pub media: Vec<FacetRow>,
    pub notable: Vec<NotableCase>,
    pub legal: LegalFigures,
    pub aggregate_only: bool,
}

/// "1.5 times more": the ratio truncated to one decimal, as the reports word it.
pub fn wording(current: u64, previous: u64) -> (Option<f64>, String) {
    wording_against(current, previous, "a year earlier")
}

/// `wording`, naming the comparison: "new (none the month before)".
pub fn wording_against(current: u64, previous: u64, before: &str) -> (Option<f64>, String) {
    if previous == 0 {
        return (None, if current == 0 { "none in either period".into() } else { format!("new (none {before})") });
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
    (Some((ratio * 100.0).round() / 100.0), if current == 0 { format!("none (some {before})") } else { words })
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
    /// Incidents counted whose date is approximate ("~2024-07"), in all and by category.
    approximate: u64,
    approximate_categories: HashMap<String, u64>,
    /// The undated incidents by the span they are dated to: (incidents, victims).
    wider: BTreeMap<(String, String), (u64, u64)>,
}

fn same_day_a_year_earlier(day: NaiveDate) -> NaiveDate {
    day.with_year(day.year() - 1).or_else(|| NaiveDate::from_ymd_opt(day.year() - 1, day.month(), 28)).unwrap_or(day)
}

/// The period just before: the same number of whole months when the period is whole months
/// (March → February, Q2 → Q1), else the same number of days.
fn previous_period(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let whole_months = from.day() == 1 && (to + chrono::Days::new(1)).day() == 1;
    if whole_months {
        let months = (to.year() - from.year()) as u32 * 12 + to.month() - from.month() + 1;
        if let Some(start) = from.checked_sub_months(chrono::Months::new(months)) {
            return (start, from - chrono::Days::new(1));
        }
    }
    let days = (to - from).num_days() as u64 + 1;
    (from - chrono::Days::new(days), from - chrono::Days::new(1))
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
        if query.compare_previous_year && query.compare_previous_period {
            return Err(Error::InvalidInput(
                "Compare with the previous year or with the previous period, not both at once.".into(),
            ));
        }
        let scope = self.scope(query)?;
        let current = self.tally(query.from, query.to, &parents, &scope, !query.aggregate_only)?;
        let (previous, comparison, compared_with) = if query.compare_previous_year {
            let (from, to) = (same_day_a_year_earlier(query.from), same_day_a_year_earlier(query.to));
            (
                Some(((from, to), self.tally(from, to, &parents, &scope, false)?)),
                Some("previous_year"),
                "a year earlier",
            )
        } else if query.compare_previous_period {
            let (from, to) = previous_period(query.from, query.to);
            (
                Some(((from, to), self.tally(from, to, &parents, &scope, false)?)),
                Some("previous_period"),
                "in the period before",
            )
        } else {
            (None, None, "")
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
                    let (r, w) = wording_against(now, b, compared_with);
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
                approximate: cell(current.approximate_categories.get(code).copied().unwrap_or(0)),
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
        let wider: Vec<WiderSpan> = current
            .wider
            .iter()
            .filter_map(|((f, t), (n, v))| {
                Some(WiderSpan { from: f.parse().ok()?, to: t.parse().ok()?, incidents: cell(*n), victims: cell(*v) })
            })
            .collect();
        let mut notes = Vec::new();
        if current.undated > 0 {
            let spans: Vec<String> = current
                .wider
                .iter()
                .map(|((f, t), (n, _))| format!("{n} dated {}", crate::date::span_text(f, t)))
                .collect();
            let spans = spans.join(", ");
            notes.push(if current.incidents == 0 {
                format!(
                    "No incident is dated within this period: its figures come only from period totals ({spans}), which are not spread over months."
                )
            } else {
                format!(
                    "Besides the incidents counted, {} overlap this period but are dated only to longer periods ({spans}); they are not counted in its figures.",
                    current.undated
                )
            });
        }
        if current.approximate > 0 {
            notes.push(format!(
                "{} of the {} incidents counted are dated only approximately (~).",
                current.approximate, current.incidents
            ));
        }
        let legal = self.legal_figures(query, &scope, &label, &cell)?;
        Ok(Report {
            from: query.from,
            to: query.to,
            previous_from: previous.as_ref().map(|((f, _), _)| *f),
            previous_to: previous.as_ref().map(|((_, t), _)| *t),
            comparison: comparison.map(str::to_string),
            programme: query.programme.clone(),
            source: query.source,
            incidents: cell(current.incidents),
            approximate: cell(current.approximate),
            previous_incidents: previous.as_ref().map(|(_, p)| cell(p.incidents)),
            victims: cell(current.victims),
            undated: cell(current.undated),
            wider,
            notes,
            categories,
            regions: facet(&current.regions, ""),
            victim_types: facet(&current.victim_types, "victim_type"),
            perpetrator_types: facet(&current.perpetrator_types, "perpetrator_type"),
            media: facet(&current.media, "medium"),
            notable,
            legal,
            aggregate_only: query.aggregate_only,
        })
    }

    fn scope(&self, query: &ReportQuery) -> Result<Scope> {
        if let Some(p) = &query.programme {
            let known: bool = self.conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM records WHERE kind='term' AND deleted=0 AND json_extract(body,'$.vocabulary')='programme' AND json_extract(body,'$.code')=?1)",
                [p],
                |r| r.get(0),
            )?;
            if !known {
                return Err(Error::InvalidInput(format!(
                    "'{p}' is not a monitoring programme; see `casebook term list --vocabulary programme`."
                )));
            }
        }
        let events = match query.source {
            None => None,
            Some(source) => {
                let mut stmt = self.conn.prepare(
                    "SELECT rr.from_id FROM record_refs rr JOIN records s ON s.id = rr.to_id JOIN records e ON e.id = rr.from_id
                     WHERE s.uuid = ?1 AND s.kind = 'source' AND e.kind = 'event' AND rr.field = 'sources'",
                )?;
                let rows = stmt.query_map([source.to_string()], |r| r.get(0))?;
                Some(rows.collect::<rusqlite::Result<HashSet<i64>>>()?)
            }
        };
        Ok(Scope { programme: query.programme.clone(), events })
    }

    /// Custody on a day, administrative arrest days and prison years handed down in the period,
    /// within the report's scope (a programme: its cases; a source: the records citing it).
    fn legal_figures(
        &self,
        query: &ReportQuery,
        scope: &Scope,
        label: &dyn Fn(&str, &str) -> String,
        cell: &dyn Fn(u64) -> Count,
    ) -> Result<LegalFigures> {
        use crate::model::{Group, SentencePart};
        let mut records: HashMap<Uuid, crate::store::Record> = HashMap::new();
        for kind in [crate::model::Kind::Case, crate::model::Kind::Proceeding, crate::model::Kind::Group] {
            for r in self.all_of(kind)? {
                records.insert(r.id, r);
            }
        }
        let case_in_scope = |case: Option<Uuid>| match &scope.programme {
            None => true,
            Some(p) => case
                .and_then(|c| records.get(&c))
                .is_some_and(|r| matches!(&r.body, Body::Case(c) if c.programmes.contains(p))),
        };
        let cites = |sources: &[Uuid]| query.source.is_none_or(|s| sources.contains(&s));
        let custody_on = query.custody_on.unwrap_or(query.to);
        let detentions: HashMap<Uuid, crate::model::Detention> = self
            .all_of(crate::model::Kind::Detention)?
            .into_iter()
            .filter_map(|r| match r.body {
                Body::Detention(d) => Some((r.id, d)),
                _ => None,
            })
            .collect();
        let mut in_custody = 0;
        let mut uncertain = 0;
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        for c in self.detained_on(custody_on)? {
            let Some(d) = detentions.get(&c.detention) else { continue };
            if !case_in_scope(d.case) || !cites(&d.sources) {
                continue;
            }
            in_custody += 1;
            if !c.certain {
                uncertain += 1;
            }
            *by_kind.entry(c.detention_kind).or_default() += 1;
        }
        let headcount = |party: Uuid| match records.get(&party).map(|r| &r.body) {
            Some(Body::Group(g)) => Group::headcount(g).value as u64,
            _ => 1,
        };
        let (from, to) = (query.from, query.to);
        let mut arrests = 0;
        let (mut arrest_days, mut arrest_days_max) = (0u64, 0u64);
        let mut prison = 0;
        let (mut months_low, mut months_high) = (0u64, 0u64);
        let mut by_charge: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        let mut by_region: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        let charges: HashMap<Uuid, crate::model::Charge> = self
            .all_of(crate::model::Kind::Charge)?
            .into_iter()
            .filter_map(|r| match r.body {
                Body::Charge(c) => Some((r.id, c)),
                _ => None,
            })
            .collect();
        for r in self.all_of(crate::model::Kind::Decision)? {
            let Body::Decision(d) = &r.body else { continue };
            if d.date.earliest() < from || d.date.latest() > to || !cites(&d.sources) {
                continue;
            }
            let case = records.get(&d.proceeding).and_then(|p| match &p.body {
                Body::Proceeding(p) => Some(p.case),
                _ => None,
            });
            if !case_in_scope(case) {
                continue;
            }
            let region = case
                .and_then(|c| records.get(&c))
                .and_then(|r| match &r.body {
                    Body::Case(c) => c.region.clone(),
                    _ => None,
                })
                .unwrap_or_else(|| "unknown".into());
            for o in &d.outcomes {
                let people = headcount(o.defendant);
                for part in &o.sentence {
                    match part {
                        SentencePart::AdministrativeArrest { days, max_days } => {
                            arrests += people;
                            arrest_days += *days as u64 * people;
                            arrest_days_max += max_days.unwrap_or(*days) as u64 * people;
                        }
                        SentencePart::Imprisonment { .. } if d.decision_kind == "verdict" => {
                            let Some((low, high)) = part.months_range() else { continue };
                            let (low, high) = (low as u64 * people, high as u64 * people);
                            prison += people;
                            months_low += low;
                            months_high += high;
                            let add = |map: &mut BTreeMap<String, (u64, u64, u64)>, key: String| {
                                let row = map.entry(key).or_default();
                                *row = (row.0 + people, row.1 + low, row.2 + high);
                            };
                            add(&mut by_region, region.clone());
                            let named: Vec<String> = o
                                .charges
                                .iter()
                                .filter_map(|c| charges.get(c))
                                .map(|c| c.provision.clone().or_else(|| c.description.clone()).unwrap_or_default())
                                .collect();
                            if named.is_empty() {
                                add(&mut by_charge, "(charge not recorded)".into());
                            }
                            for charge in named {
                                add(&mut by_charge, charge);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let years = |months: u64, people: u64| {
            matches!(cell(people), Count::Exact(_)).then(|| (months as f64 / 12.0 * 10.0).round() / 10.0)
        };
        let rows = |map: BTreeMap<String, (u64, u64, u64)>, vocabulary: &str| {
            let mut rows: Vec<YearsRow> = map
                .into_iter()
                .map(|(code, (people, low, high))| YearsRow {
                    label: if vocabulary.is_empty() { code.clone() } else { label(vocabulary, &code) },
                    code,
                    people: cell(people),
                    years: years(low, people),
                    years_max: years(high, people),
                })
                .collect();
            rows.sort_by(|a, b| b.years_max.partial_cmp(&a.years_max).unwrap_or(std::cmp::Ordering::Equal));
            rows
        };
        let mut custody_by_kind: Vec<FacetRow> = by_kind
            .iter()
            .map(|(code, n)| FacetRow { code: code.clone(), label: label("detention_kind", code), count: cell(*n) })
            .collect();
        custody_by_kind.sort_by_key(|r| std::cmp::Reverse(by_kind.get(&r.code).copied().unwrap_or(0)));
        Ok(LegalFigures {
            custody_on,
            in_custody: cell(in_custody),
            in_custody_uncertain: cell(uncertain),
            custody_by_kind,
            administrative_arrests: cell(arrests),
            administrative_arrest_days: if matches!(cell(arrests), Count::Exact(_)) { arrest_days } else { 0 },
            administrative_arrest_days_max: if matches!(cell(arrests), Count::Exact(_)) { arrest_days_max } else { 0 },
            prison_sentences: cell(prison),
            prison_years: years(months_low, prison),
            prison_years_max: years(months_high, prison),
            prison_years_by_charge: rows(by_charge, "legal_provision"),
            prison_years_by_region: rows(by_region, ""),
        })
    }

    fn report_terms(&self) -> Result<Vec<Term>> {
        let mut stmt = self.conn.prepare(
            "SELECT uuid, body FROM records WHERE kind = 'term' AND deleted = 0
             AND json_extract(body, '$.vocabulary') IN ('violation_category', 'victim_type', 'perpetrator_type', 'medium', 'detention_kind', 'legal_provision')
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
    /// that only overlap it; reads the notable events' records. A source limits the events to
    /// those citing it, read from the facts alone (the rollup does not know sources).
    fn tally(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        parents: &HashMap<&str, Option<&str>>,
        scope: &Scope,
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
                "SELECT combo, victims, event FROM event_facts INDEXED BY event_facts_wide
                 WHERE date_to != date_from AND date_from >= ?1 AND date_from <= ?2 AND date_to <= ?3
                   AND substr(date_from, 1, 7) != substr(date_to, 1, 7)"
            } else {
                "SELECT combo, victims, event FROM event_facts INDEXED BY event_facts_by_start
                 WHERE date_from >= ?1 AND date_from <= ?2 AND date_to <= ?3"
            };
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query([&start, &end, &day(to)])?;
            while let Some(row) = rows.next()? {
                if !scope.has_event(row.get(2)?) {
                    continue;
                }
                let key = row.get_ref(0)?.as_str().map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                add(key, 1, row.get::<_, i64>(1)? as u64);
            }
            Ok(())
        };
        if months_from < months_to && scope.events.is_none() {
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
            let c = columns(&key);
            if !scope.has_programme(c.programmes) {
                continue;
            }
            t.incidents += n;
            t.victims += victims;
            if c.approximate {
                t.approximate += n;
            }
            let mut counted = HashSet::new();
            for code in c.categories.split_whitespace() {
                let mut at = Some(code);
                while let Some(code) = at {
                    if !counted.insert(code) {
                        break;
                    }
                    *t.categories.entry(code.to_string()).or_default() += n;
                    if c.approximate {
                        *t.approximate_categories.entry(code.to_string()).or_default() += n;
                    }
                    at = parents.get(code).copied().flatten();
                }
            }
            let region = if c.region.is_empty() { "unknown" } else { c.region };
            *t.regions.entry(region.to_string()).or_default() += n;
            for (map, codes) in [
                (&mut t.victim_types, c.victim_types),
                (&mut t.perpetrator_types, c.perpetrator_types),
                (&mut t.media, c.media),
            ] {
                for code in codes.split_whitespace().collect::<HashSet<_>>() {
                    *map.entry(code.to_string()).or_default() += n;
                }
            }
        }
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT date_from, date_to, combo, victims, event FROM event_facts INDEXED BY event_facts_wide
                 WHERE date_to != date_from AND date_from <= ?2 AND date_to >= ?1 AND NOT (date_from >= ?1 AND date_to <= ?2)",
            )?;
            let mut rows = stmt.query([&from, &to])?;
            while let Some(row) = rows.next()? {
                let combo: String = row.get(2)?;
                if !scope.has_event(row.get(4)?) || !scope.has_programme(columns(&combo).programmes) {
                    continue;
                }
                t.undated += 1;
                let span = t.wider.entry((row.get(0)?, row.get(1)?)).or_default();
                span.0 += 1;
                span.1 += row.get::<_, i64>(3)? as u64;
            }
        }
        if keep_notable {
            let mut stmt = self.conn.prepare_cached(
                "SELECT r.uuid, r.body, f.event FROM event_facts f INDEXED BY event_facts_notable JOIN records r ON r.id = f.event
                 WHERE f.notable = 1 AND f.date_from >= ?1 AND f.date_from <= ?2 AND f.date_to <= ?2
                 ORDER BY f.date_from, f.date_to",
            )?;
            let mut rows = stmt.query([&from, &to])?;
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let body: String = row.get(1)?;
                if !scope.has_event(row.get(2)?) {
                    continue;
                }
                let event: Event =
                    serde_json::from_str(&body).map_err(|e| Error::VaultCorrupt(format!("event {id}: {e}")))?;
                if !scope.has_programme(&event.programmes.join(" ")) {
                    continue;
                }
                let id = Uuid::parse_str(&id).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                t.notable.push((id, event));
            }
        }
        Ok(t)
    }
}

/// Which events a report counts: those of one programme, those citing one source, or all.
#[derive(Default)]
struct Scope {
    programme: Option<String>,
    /// Row ids of the events citing the source, when limited to one.
    events: Option<HashSet<i64>>,
}

impl Scope {
    fn has_event(&self, rowid: i64) -> bool {
        self.events.as_ref().is_none_or(|set| set.contains(&rowid))
    }

    fn has_programme(&self, programmes: &str) -> bool {
        self.programme.as_deref().is_none_or(|p| programmes.split_whitespace().any(|q| q == p))
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
