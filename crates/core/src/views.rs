//! Read models for screens: a case with everything that hangs off it, a person with their cases
//! and detentions, the dashboard, and a simple search across names and titles.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, Kind};
use crate::store::{Record, Summary};
use crate::vault::Vault;

#[derive(Debug, Serialize)]
pub struct Party {
    pub role: String,
    pub record: Value,
}

#[derive(Debug, Serialize)]
pub struct CaseFile {
    pub case: Value,
    pub participants: Vec<Party>,
    pub proceedings: Vec<Value>,
    pub charges: Vec<Value>,
    pub hearings: Vec<Value>,
    pub decisions: Vec<Value>,
    pub events: Vec<Value>,
    pub detentions: Vec<Value>,
    pub sources: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct PersonFile {
    pub person: Value,
    pub cases: Vec<Party>,
    pub detentions: Vec<Value>,
    pub charges: Vec<Value>,
    pub organisations: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct Dashboard {
    pub upcoming_hearings: Vec<Value>,
    pub detained_today: Vec<Value>,
    pub recent_cases: Vec<Summary>,
    pub counts: Vec<(Kind, u64)>,
}

fn by_date(records: &mut [Record]) {
    records.sort_by_key(|r| r.body.date_span().map(|(a, _)| a));
}

impl Vault {
    fn referring(&self, id: Uuid, kind: Kind) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for r in self.referrers(id)? {
            if r.kind == kind && !out.iter().any(|x: &Record| x.id == r.id) {
                out.push(self.get(r.id)?);
            }
        }
        by_date(&mut out);
        Ok(out)
    }

    pub fn case_file(&self, id: Uuid) -> Result<CaseFile> {
        let case = self.get(id)?;
        let Body::Case(body) = &case.body else {
            return Err(Error::InvalidInput(format!("{id} is a {}, not a case", case.kind)));
        };
        let mut participants = Vec::new();
        for p in &body.participants {
            participants.push(Party { role: p.role.clone(), record: self.get(p.party)?.to_json() });
        }
        let sources = body.sources.iter().map(|s| self.get(*s).map(|r| r.to_json())).collect::<Result<Vec<_>>>()?;
        let proceedings = self.referring(id, Kind::Proceeding)?;
        let (mut charges, mut hearings, mut decisions) = (Vec::new(), Vec::new(), Vec::new());
        for p in &proceedings {
            charges.extend(self.referring(p.id, Kind::Charge)?);
            hearings.extend(self.referring(p.id, Kind::Hearing)?);
            decisions.extend(self.referring(p.id, Kind::Decision)?);
        }
        by_date(&mut hearings);
        by_date(&mut decisions);
        let json = |v: Vec<Record>| v.iter().map(Record::to_json).collect::<Vec<_>>();
        Ok(CaseFile {
            case: case.to_json(),
            participants,
            proceedings: json(proceedings),
            charges: json(charges),
            hearings: json(hearings),
            decisions: json(decisions),
            events: json(self.referring(id, Kind::Event)?),
            detentions: json(self.referring(id, Kind::Detention)?),
            sources,
        })
    }

    pub fn person_file(&self, id: Uuid) -> Result<PersonFile> {
        let person = self.get(id)?;
        let Body::Person(body) = &person.body else {
            return Err(Error::InvalidInput(format!("{id} is a {}, not a person", person.kind)));
        };
        let mut cases = Vec::new();
        for case in self.referring(id, Kind::Case)? {
            if let Body::Case(c) = &case.body {
                let role = c.participants.iter().filter(|p| p.party == id).map(|p| p.role.clone()).collect::<Vec<_>>();
                cases.push(Party { role: role.join(", "), record: case.to_json() });
            }
        }
        let organisations = body
            .affiliations
            .iter()
            .map(|a| self.get(a.organisation).map(|r| r.to_json()))
            .collect::<Result<Vec<_>>>()?;
        let json = |v: Vec<Record>| v.iter().map(Record::to_json).collect::<Vec<_>>();
        Ok(PersonFile {
            person: person.to_json(),
            cases,
            detentions: json(self.referring(id, Kind::Detention)?),
            charges: json(self.referring(id, Kind::Charge)?),
            organisations,
        })
    }

    fn records_where(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Value>> {
        let mut stmt = self.conn.prepare(sql)?;
        let ids: Vec<String> = stmt.query_map(params, |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        ids.iter()
            .map(|id| {
                let id = Uuid::parse_str(id).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                self.get(id).map(|r| r.to_json())
            })
            .collect()
    }

    pub fn dashboard(&self, today: chrono::NaiveDate) -> Result<Dashboard> {
        let day = today.to_string();
        let upcoming_hearings = self.records_where(
            "SELECT uuid FROM records WHERE kind='hearing' AND deleted=0 AND date_from >= ?1 ORDER BY date_from LIMIT 20",
            &[&day],
        )?;
        let detained_today = self.records_where(
            "SELECT uuid FROM records WHERE kind='detention' AND deleted=0 AND date_from <= ?1 AND date_to >= ?1 ORDER BY date_from LIMIT 200",
            &[&day],
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT uuid, label, date_from, updated_at FROM records WHERE kind='case' AND deleted=0 ORDER BY updated_at DESC LIMIT 10",
        )?;
        let recent_cases = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .map(|row| {
                let (id, label, date_from, updated_at) = row?;
                Ok(Summary {
                    id: Uuid::parse_str(&id).map_err(|e| Error::VaultCorrupt(e.to_string()))?,
                    kind: Kind::Case,
                    label,
                    date_from,
                    updated_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let counts = [Kind::Case, Kind::Person, Kind::Organisation, Kind::Event, Kind::Detention, Kind::Hearing]
            .into_iter()
            .map(|k| self.count(k).map(|n| (k, n)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Dashboard { upcoming_hearings, detained_today, recent_cases, counts })
    }

    /// Names and titles containing the text, people first. A stop-gap until full-text search
    /// across scripts lands; it matches exact spelling only.
    pub fn quick_search(&self, text: &str, limit: u32) -> Result<Vec<Summary>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut stmt = self.conn.prepare(
            "SELECT uuid, kind, label, date_from, updated_at FROM records
             WHERE deleted = 0 AND kind IN ('person','organisation','case','event','source')
               AND (label LIKE ?1 ESCAPE '\\' OR body LIKE ?1 ESCAPE '\\')
             ORDER BY CASE kind WHEN 'person' THEN 0 WHEN 'case' THEN 1 WHEN 'organisation' THEN 2 ELSE 3 END, label
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(rusqlite::params![pattern, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.map(|row| {
            let (id, kind, label, date_from, updated_at) = row?;
            Ok(Summary {
                id: Uuid::parse_str(&id).map_err(|e| Error::VaultCorrupt(e.to_string()))?,
                kind: Kind::parse(&kind).ok_or_else(|| Error::VaultCorrupt(kind.clone()))?,
                label,
                date_from,
                updated_at,
            })
        })
        .collect()
    }

    /// The entries of one vocabulary, for pickers.
    pub fn vocabulary(&self, vocabulary: &str) -> Result<Vec<Value>> {
        self.records_where(
            "SELECT uuid FROM records WHERE kind='term' AND deleted=0 AND json_extract(body,'$.vocabulary')=?1 ORDER BY json_extract(body,'$.code')",
            &[&vocabulary],
        )
    }
}
