//! The legal track's derived views: hearing chains and postponement, who is in custody on a day,
//! appeal and cassation deadlines from editable rules, and one calendar of hearings, deadlines
//! and release dates that the CLI, the desktop app and the ICS export all read.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc, Weekday};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, DeadlineRule, Detention, Hearing, Kind, Term};
use crate::store::Record;
use crate::vault::Vault;

/// Hearing states after which the hearing will not take place at its date.
const NOT_TAKING_PLACE: [&str; 2] = ["postponed", "cancelled"];

impl Detention {
    /// The release date as a range (uncertain dates stay ranges): the recorded end, else the latest
    /// extension, else the planned end, else start + term − days credited. `None`: no end known.
    pub fn end_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let span = |d: &crate::date::PartialDate| (d.earliest(), d.latest());
        if let Some(end) = &self.actual_end {
            return Some(span(end));
        }
        if let Some(ext) = self.extensions.iter().max_by_key(|e| e.new_end.latest()) {
            return Some(span(&ext.new_end));
        }
        if let Some(end) = &self.planned_end {
            return Some(span(end));
        }
        let days = Days::new(u64::from(self.term_days?.saturating_sub(self.credited_days.unwrap_or(0))));
        let start = self.start.as_ref()?;
        Some((start.earliest().checked_add_days(days)?, start.latest().checked_add_days(days)?))
    }

    /// Where the detainee was on `day`: the last transfer dated on or before it, else where
    /// custody began. A transfer with an unknown date counts as having happened only once a
    /// later dated transfer or the end of the list says so, so it is never assumed early.
    pub fn place_on(&self, day: NaiveDate) -> Option<&crate::model::Place> {
        let mut place = self.place.as_ref();
        for t in &self.transfers {
            match &t.date {
                Some(date) if date.latest() <= day => place = Some(&t.place),
                Some(_) => break,
                None => {}
            }
        }
        place
    }
}

impl Hearing {
    /// The court's local date and time as a moment, in the court's zone as it was on that day
    /// (Kazakhstan moved from UTC+6/UTC+5 to one zone, UTC+5, on 2024-03-01; chrono-tz knows).
    pub fn instant(&self) -> Option<DateTime<chrono_tz::Tz>> {
        let zone: chrono_tz::Tz = self.time_zone.parse().ok()?;
        let local = NaiveDateTime::parse_from_str(&self.scheduled, "%Y-%m-%dT%H:%M").ok()?;
        zone.from_local_datetime(&local).earliest()
    }

    pub fn day(&self) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.scheduled.get(..10)?, "%Y-%m-%d").ok()
    }
}

/// Adds a rule's window to a decision date.
pub fn deadline_from(rule: &DeadlineRule, decided: NaiveDate) -> Option<NaiveDate> {
    let mut due =
        decided.checked_add_months(Months::new(rule.months))?.checked_add_days(Days::new(rule.days.into()))?;
    if rule.next_working_day {
        while matches!(due.weekday(), Weekday::Sat | Weekday::Sun) {
            due = due.succ_opt()?;
        }
    }
    Some(due)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ItemKind {
    Hearing,
    Deadline,
    Release,
}

/// A person named on a calendar item (a lawyer on the case, the detainee).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NamedParty {
    pub id: Uuid,
    pub name: String,
    pub role: String,
}

/// One thing on the calendar. Hearings carry the court's local time and zone; deadlines and
/// release dates are whole days.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct CalendarItem {
    /// Stable across exports, so a calendar re-importing the file updates instead of duplicating.
    pub uid: String,
    pub item: ItemKind,
    /// The hearing, decision or detention the item comes from.
    pub record: Uuid,
    pub case: Option<Uuid>,
    pub case_title: Option<String>,
    pub date: NaiveDate,
    /// Court's local time `HH:MM`, when known.
    pub time: Option<String>,
    pub time_zone: Option<String>,
    /// The zone's offset from UTC on that day, e.g. `+05:00`.
    pub utc_offset: Option<String>,
    /// The same moment in UTC (RFC 3339), when the time is known.
    pub utc: Option<String>,
    /// Hearing status, or `released` / `in_custody` for release items.
    pub status: Option<String>,
    pub closed_door: bool,
    pub online: bool,
    /// Earlier dates of a postponed hearing, oldest first (`YYYY-MM-DDTHH:MM`).
    pub earlier_dates: Vec<String>,
    /// Court and case number for hearings; the rule and its article for deadlines.
    pub detail: Option<String>,
    /// `appeal` / `cassation` for deadlines.
    pub deadline: Option<String>,
    /// A deadline from an unverified default rule, or a date known only to the month.
    pub unverified: bool,
    pub people: Vec<NamedParty>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct CalendarQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub case: Option<Uuid>,
    /// Only items whose case names this person (as lawyer, defendant…) or that concern them.
    pub person: Option<Uuid>,
    pub kinds: Vec<ItemKind>,
    /// Leave out hearings that were postponed or cancelled (they stay in the chain of the new date).
    pub only_current: bool,
}

/// Someone deprived of liberty on a given day.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, optional_fields))]
pub struct Custody {
    pub person: Uuid,
    pub name: String,
    pub detention: Uuid,
    pub detention_kind: String,
    /// Empty when no report gives the start.
    pub start: String,
    /// Where they were held that day (after any transfer): "SIZO-1, Almaty, KZ".
    pub place: Option<String>,
    /// The release date as recorded or computed (a range when uncertain).
    pub release: Option<String>,
    pub released: bool,
    /// Whole days in custody up to and including the day asked about, from the earliest start;
    /// `None` when the start is unknown.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub days_in_custody: Option<i64>,
    /// False when the dates (known only to the month, say) allow that they were not yet or no
    /// longer detained that day.
    pub certain: bool,
    pub case: Option<Uuid>,
    pub case_title: Option<String>,
}

/// "SIZO-1, Almaty, KZ": a place from the most specific part out.
pub fn place_text(place: &crate::model::Place) -> String {
    [&place.site, &place.city, &place.region, &place.country]
        .into_iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

fn range_text(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}/{to}")
    }
}

/// Everything the calendar needs, loaded once.
struct LegalData {
    records: HashMap<Uuid, Record>,
    rules: Vec<(Uuid, Term, DeadlineRule)>,
}

impl LegalData {
    fn body(&self, id: Uuid) -> Option<&Body> {
        self.records.get(&id).map(|r| &r.body)
    }

    fn proceeding_case(&self, proceeding: Uuid) -> Option<(Uuid, &crate::model::Proceeding)> {
        match self.body(proceeding)? {
            Body::Proceeding(p) => Some((p.case, p)),
            _ => None,
        }
    }

    fn case_title(&self, case: Option<Uuid>) -> Option<String> {
        match self.body(case?)? {
            Body::Case(c) => Some(c.title.clone()),
            _ => None,
        }
    }

    fn name(&self, id: Uuid) -> String {
        match self.body(id) {
            Some(Body::Person(p)) => p.names.first().map(|n| n.value.clone()).unwrap_or_default(),
            Some(b) => b.label(),
            None => id.to_string(),
        }
    }

    /// The case's people (lawyers first): who a calendar item concerns.
    fn case_people(&self, case: Option<Uuid>) -> Vec<NamedParty> {
        let Some(Body::Case(c)) = case.and_then(|id| self.body(id)) else { return Vec::new() };
        let mut people: Vec<NamedParty> = c
            .participants
            .iter()
            .filter(|p| matches!(self.body(p.party), Some(Body::Person(_))))
            .map(|p| NamedParty { id: p.party, name: self.name(p.party), role: p.role.clone() })
            .collect();
        people.sort_by_key(|p| p.role != "lawyer");
        people
    }

    /// Dates of the hearings this one replaced, oldest first.
    fn earlier_dates(&self, hearing: &Hearing) -> Vec<String> {
        let mut dates = Vec::new();
        let mut next = hearing.postponed_from;
        while let Some(id) = next {
            let Some(Body::Hearing(h)) = self.body(id) else { break };
            if dates.len() > 1000 {
                break; // a cycle typed by hand; the chain view reports it
            }
            dates.push(h.scheduled.clone());
            next = h.postponed_from;
        }
        dates.reverse();
        dates
    }
}

impl Vault {
    pub(crate) fn all_of(&self, kind: Kind) -> Result<Vec<Record>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT uuid, body, created_at, updated_at FROM records WHERE kind = ?1 AND deleted = 0")?;
        let rows = stmt.query_map([kind.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.map(|row| {
            let (uuid, body, created_at, updated_at) = row?;
            let id = Uuid::parse_str(&uuid).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
            Ok(Record { id, kind, created_at, updated_at, body: crate::store::body_from_db(kind, &body, &uuid)? })
        })
        .collect()
    }

    /// Adds the records with these ids that are not loaded yet (and still exist).
    fn load_missing(&self, records: &mut HashMap<Uuid, Record>, ids: Vec<Uuid>) -> Result<()> {
        for id in ids {
            if records.contains_key(&id) {
                continue;
            }
            match self.get(id) {
                Ok(r) => {
                    records.insert(id, r);
                }
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn legal_data(&self) -> Result<LegalData> {
        let mut records = HashMap::new();
        for kind in [Kind::Proceeding, Kind::Hearing, Kind::Decision, Kind::Detention] {
            for r in self.all_of(kind)? {
                records.insert(r.id, r);
            }
        }
        // Only the cases and people the legal records name: an archive of a million people
        // and events must not be read to draw a lawyer's calendar.
        let cases = records
            .values()
            .filter_map(|r| match &r.body {
                Body::Proceeding(p) => Some(p.case),
                Body::Detention(d) => d.case,
                _ => None,
            })
            .collect();
        self.load_missing(&mut records, cases)?;
        let people = records
            .values()
            .flat_map(|r| match &r.body {
                Body::Case(c) => c.participants.iter().map(|p| p.party).collect(),
                Body::Detention(d) => vec![d.person],
                _ => Vec::new(),
            })
            .collect();
        self.load_missing(&mut records, people)?;
        let rules = self
            .vocabulary("deadline_rule")?
            .into_iter()
            .filter_map(|entry| {
                let record = self.get(entry.id).ok()?;
                let Body::Term(term) = record.body else { return None };
                let rule = term.rule.clone()?;
                (!term.retired).then_some((entry.id, term, rule))
            })
            .collect();
        Ok(LegalData { records, rules })
    }

    /// The hearings of one chain of postponements, oldest first, whichever of them `id` is.
    pub fn hearing_chain(&self, id: Uuid) -> Result<Vec<Record>> {
        let start = self.get(id)?;
        let Body::Hearing(mut h) = start.body.clone() else {
            return Err(Error::InvalidInput(format!("{id} is a {}, not a hearing", start.kind)));
        };
        let mut chain = vec![start];
        while let Some(prev) = h.postponed_from {
            if chain.iter().any(|r| r.id == prev) || chain.len() > 1000 {
                return Err(Error::InvalidInput("these hearings' postponements form a loop".into()));
            }
            let record = self.get(prev)?;
            let Body::Hearing(ph) = record.body.clone() else { break };
            chain.insert(0, record);
            h = ph;
        }
        // Forward: the hearing that names the latest one as `postponed_from`.
        loop {
            let last = chain.last().map(|r| r.id).unwrap_or(id);
            let next =
                self.referrers(last)?.into_iter().find(|r| r.kind == Kind::Hearing && r.field == "postponed_from");
            match next {
                Some(r) if !chain.iter().any(|c| c.id == r.id) && chain.len() <= 1000 => chain.push(self.get(r.id)?),
                _ => break,
            }
        }
        Ok(chain)
    }

    /// Postpone a hearing to a new date: in one transaction the hearing is marked postponed (with
    /// the reason) and a new hearing with the same court details is scheduled, naming it as
    /// `postponed_from`, so the history of dates stays visible. Returns the new hearing.
    /// One outcome for each of many defendants of a decision, as a verdict reads ("seven officers
    /// were sentenced to three to five years"): `template` is copied for every defendant, so a
    /// verdict for eleven is entered once. A defendant who already has an outcome on the decision
    /// is refused, and nothing is written.
    pub fn add_outcomes(
        &mut self,
        decision: Uuid,
        defendants: &[Uuid],
        template: &crate::model::Outcome,
    ) -> Result<Record> {
        let current = self.get(decision)?;
        let Body::Decision(mut d) = current.body else {
            return Err(Error::invalid("decision", "id", format!("{decision} is a {}, not a decision", current.kind)));
        };
        if defendants.is_empty() {
            return Err(Error::InvalidInput("Name at least one defendant.".into()));
        }
        for (i, defendant) in defendants.iter().enumerate() {
            if d.outcomes.iter().any(|o| o.defendant == *defendant) || defendants[..i].contains(defendant) {
                return Err(Error::Duplicate(format!(
                    "{} already has an outcome on this decision; edit that outcome instead.",
                    self.get(*defendant).map(|r| r.label()).unwrap_or_else(|_| defendant.to_string())
                )));
            }
            d.outcomes.push(crate::model::Outcome { defendant: *defendant, ..template.clone() });
        }
        let fields = Body::Decision(d).to_json();
        self.replace(decision, fields)
    }

    pub fn postpone_hearing(&mut self, id: Uuid, to: &str, reason: Option<&str>) -> Result<Record> {
        let current = self.get(id)?;
        let Body::Hearing(old) = &current.body else {
            return Err(Error::InvalidInput(format!("{id} is a {}, not a hearing", current.kind)));
        };
        if NOT_TAKING_PLACE.contains(&old.status.as_str()) || old.status == "held" {
            return Err(Error::InvalidInput(format!(
                "this hearing is already {}; postpone the hearing that is still scheduled",
                old.status
            )));
        }
        let mut new = old.clone();
        new.scheduled = to.trim().to_string();
        new.status = "scheduled".into();
        new.postponed_from = Some(id);
        new.postponement_reason = None;
        new.monitor_present = None;
        new.access_refused = false;
        new.attendees.clear();
        new.notes = None;
        let new_body = Body::Hearing(new);
        new_body.validate().map_err(|(field, problem)| Error::invalid("new hearing", field, problem))?;
        if new_body.date_span().map(|s| s.0) < current.body.date_span().map(|s| s.0) {
            return Err(Error::invalid("new hearing", "scheduled", "the new date is before the postponed one"));
        }
        let mut postponed = old.clone();
        postponed.status = "postponed".into();
        postponed.postponement_reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(String::from);
        let postponed = Body::Hearing(postponed);

        let new_id = Uuid::now_v7();
        let mut w = self.writer()?;
        w.put(id, &postponed, None, None, "update")?;
        w.put(new_id, &new_body, None, None, "create")?;
        w.commit()?;
        self.get(new_id)
    }

    /// Who is deprived of liberty on `day`: each person once, with the detention that held them
    /// that day (the most recently begun, certain ones first) and where they were.
    pub fn detained_on(&self, day: NaiveDate) -> Result<Vec<Custody>> {
        let data = self.legal_data()?;
        let mut by_person: HashMap<Uuid, Custody> = HashMap::new();
        for record in data.records.values() {
            let Body::Detention(d) = &record.body else { continue };
            if d.start.as_ref().is_some_and(|s| s.earliest() > day) {
                continue;
            }
            let end = d.end_range();
            if end.is_some_and(|(_, latest)| latest < day) {
                continue;
            }
            // Without a start date, only a recorded end on or after the day makes custody certain
            // to cover it... and even then it may have begun later, so it stays uncertain.
            let certain =
                d.start.as_ref().is_some_and(|s| s.latest() <= day) && end.is_none_or(|(earliest, _)| day <= earliest);
            let custody = Custody {
                person: d.person,
                name: data.name(d.person),
                detention: record.id,
                detention_kind: d.detention_kind.clone(),
                start: d.start.as_ref().map(ToString::to_string).unwrap_or_default(),
                place: d.place_on(day).map(place_text).filter(|p| !p.is_empty()),
                release: end.map(|(a, b)| range_text(a, b)),
                released: d.actual_end.is_some(),
                days_in_custody: d.start.as_ref().map(|s| (day - s.earliest()).num_days() + 1),
                certain,
                case: d.case,
                case_title: data.case_title(d.case),
            };
            let better = |old: &Custody| (custody.certain, &custody.start) > (old.certain, &old.start);
            match by_person.get(&d.person) {
                Some(old) if !better(old) => {}
                _ => {
                    by_person.insert(d.person, custody);
                }
            }
        }
        let mut out: Vec<Custody> = by_person.into_values().collect();
        out.sort_by(|a, b| (!a.certain, &a.name, &a.start).cmp(&(!b.certain, &b.name, &b.start)));
        Ok(out)
    }

    /// Hearings, deadlines and release dates, sorted by date and time.
    pub fn calendar(&self, query: &CalendarQuery) -> Result<Vec<CalendarItem>> {
        let data = self.legal_data()?;
        let mut items = Vec::new();
        for record in data.records.values() {
            match &record.body {
                Body::Hearing(h) => items.extend(hearing_item(&data, record, h)),
                Body::Decision(d) => {
                    let Some((case, proceeding)) = data.proceeding_case(d.proceeding) else { continue };
                    let unsure_date = d.date.earliest() != d.date.latest();
                    let mut push = |deadline: &str, date: NaiveDate, detail: String, unverified: bool, key: &str| {
                        items.push(CalendarItem {
                            detail: Some(detail),
                            deadline: Some(deadline.to_string()),
                            unverified: unverified || unsure_date,
                            people: data.case_people(Some(case)),
                            ..whole_day(&data, record, ItemKind::Deadline, key, Some(case), date)
                        })
                    };
                    if let Some(date) = d.appeal_deadline {
                        push("appeal", date, "appeal deadline as recorded on the decision".into(), false, "appeal");
                        continue;
                    }
                    let jurisdiction = proceeding.jurisdiction.as_deref().unwrap_or("KZ");
                    for (rule_id, term, rule) in &data.rules {
                        let applies = rule.decision_kinds.contains(&d.decision_kind)
                            && (rule.proceeding_kinds.is_empty()
                                || rule.proceeding_kinds.contains(&proceeding.proceeding_kind))
                            && term
                                .provision
                                .as_ref()
                                .is_none_or(|p| p.jurisdiction.eq_ignore_ascii_case(jurisdiction));
                        let Some(due) = deadline_from(rule, d.date.earliest()).filter(|_| applies) else { continue };
                        let label = term.labels.get("en").cloned().unwrap_or_else(|| term.code.clone());
                        let article = term
                            .provision
                            .as_ref()
                            .map(|p| format!(" ({} art. {})", p.code, p.article))
                            .unwrap_or_default();
                        push(
                            &rule.deadline,
                            due,
                            format!("{label}{article}"),
                            !rule.verified,
                            &format!("rule-{rule_id}"),
                        );
                    }
                }
                Body::Detention(d) => {
                    let Some((from, to)) = d.end_range() else { continue };
                    let released = d.actual_end.is_some();
                    items.push(CalendarItem {
                        status: Some(if released { "released" } else { "in_custody" }.into()),
                        detail: Some(format!("{} — {}", data.name(d.person), d.detention_kind)),
                        unverified: from != to,
                        people: std::iter::once(NamedParty {
                            id: d.person,
                            name: data.name(d.person),
                            role: "detainee".into(),
                        })
                        .chain(data.case_people(d.case))
                        .collect(),
                        ..whole_day(&data, record, ItemKind::Release, "release", d.case, from)
                    });
                }
                _ => {}
            }
        }
        items.retain(|i| {
            query.from.is_none_or(|f| i.date >= f)
                && query.to.is_none_or(|t| i.date <= t)
                && query.case.is_none_or(|c| i.case == Some(c))
                && query.person.is_none_or(|p| i.people.iter().any(|x| x.id == p))
                && (query.kinds.is_empty() || query.kinds.contains(&i.item))
                && !(query.only_current
                    && i.item == ItemKind::Hearing
                    && i.status.as_deref().is_some_and(|s| NOT_TAKING_PLACE.contains(&s)))
        });
        items.sort_by(|a, b| (a.date, &a.utc, &a.uid).cmp(&(b.date, &b.utc, &b.uid)));
        Ok(items)
    }

    /// Upcoming hearings that are still to take place, for reminders and `hearings upcoming`.
    pub fn upcoming(&self, from: NaiveDate, days: u32, kinds: Vec<ItemKind>) -> Result<Vec<CalendarItem>> {
        let to = from.checked_add_days(Days::new(days.into())).unwrap_or(NaiveDate::MAX);
        let items = self.calendar(&CalendarQuery {
            from: Some(from),
            to: Some(to),
            kinds,
            only_current: true,
            ..Default::default()
        })?;
        Ok(items
            .into_iter()
            .filter(|i| i.item != ItemKind::Hearing || i.status.as_deref() == Some("scheduled"))
            .filter(|i| i.item != ItemKind::Release || i.status.as_deref() == Some("in_custody"))
            .collect())
    }
}

/// A whole-day item (deadline, release) with nothing but its day and case filled in.
fn whole_day(
    data: &LegalData,
    record: &Record,
    item: ItemKind,
    key: &str,
    case: Option<Uuid>,
    date: NaiveDate,
) -> CalendarItem {
    CalendarItem {
        uid: format!("{}-{key}@casebook", record.id),
        item,
        record: record.id,
        case,
        case_title: data.case_title(case),
        date,
        time: None,
        time_zone: None,
        utc_offset: None,
        utc: None,
        status: None,
        closed_door: false,
        online: false,
        earlier_dates: Vec::new(),
        detail: None,
        deadline: None,
        unverified: false,
        people: Vec::new(),
        updated_at: record.updated_at.clone(),
    }
}

fn hearing_item(data: &LegalData, record: &Record, h: &Hearing) -> Option<CalendarItem> {
    let date = h.day()?;
    let (case, proceeding) =
        data.proceeding_case(h.proceeding).map(|(c, p)| (Some(c), Some(p))).unwrap_or((None, None));
    let instant = h.instant();
    let detail = proceeding.map(|p| {
        [p.court_name.as_deref(), p.case_number.as_deref(), h.room.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    });
    Some(CalendarItem {
        uid: format!("{}-hearing@casebook", record.id),
        item: ItemKind::Hearing,
        record: record.id,
        case,
        case_title: data.case_title(case),
        date,
        time: h.scheduled.get(11..16).map(String::from),
        time_zone: Some(h.time_zone.clone()),
        utc_offset: instant.map(|i| i.offset().fix().to_string()),
        utc: instant.map(|i| i.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        status: Some(h.status.clone()),
        closed_door: h.closed_door || proceeding.is_some_and(|p| p.closed_door),
        online: h.online || proceeding.is_some_and(|p| p.online),
        earlier_dates: data.earlier_dates(h),
        detail: detail.filter(|d| !d.is_empty()),
        deadline: None,
        unverified: false,
        people: data.case_people(case),
        updated_at: record.updated_at.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hearing(scheduled: &str) -> Hearing {
        serde_json::from_value(serde_json::json!({
            "proceeding": Uuid::nil(), "scheduled": scheduled, "time_zone": "Asia/Almaty", "status": "scheduled"
        }))
        .expect("hearing")
    }

    #[test]
    fn almaty_moved_from_utc_plus_6_to_utc_plus_5_on_1_march_2024() {
        let before = hearing("2024-02-28T10:00").instant().expect("valid");
        let after = hearing("2024-03-05T10:00").instant().expect("valid");
        assert_eq!(before.offset().fix().local_minus_utc(), 6 * 3600);
        assert_eq!(after.offset().fix().local_minus_utc(), 5 * 3600);
        assert_eq!(before.with_timezone(&Utc).to_rfc3339(), "2024-02-28T04:00:00+00:00");
        assert_eq!(after.with_timezone(&Utc).to_rfc3339(), "2024-03-05T05:00:00+00:00");
    }

    #[test]
    fn a_fifteen_day_window_from_a_friday_verdict_ends_on_a_monday_when_it_would_end_at_a_weekend() {
        let rule = DeadlineRule {
            deadline: "appeal".into(),
            proceeding_kinds: vec![],
            decision_kinds: vec!["verdict".into()],
            days: 15,
            months: 0,
            next_working_day: true,
            verified: false,
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(deadline_from(&rule, d("2023-11-16")), Some(d("2023-12-01")));
        // 2023-11-03 + 15 days = Saturday 18 November → Monday 20 November.
        assert_eq!(deadline_from(&rule, d("2023-11-03")), Some(d("2023-11-20")));
        let month = DeadlineRule { days: 0, months: 1, next_working_day: false, ..rule };
        assert_eq!(deadline_from(&month, d("2024-01-31")), Some(d("2024-02-29")));
    }
}
