//! Read models for screens: a case with everything that hangs off it, a person with their cases
//! and detentions, the dashboard, and a simple search across names and titles.

use crate::store::RecordJson;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Body, Kind};
use crate::store::{Record, Summary};
use crate::vault::Vault;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Party {
    pub role: String,
    pub record: RecordJson,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CaseFile {
    pub case: RecordJson,
    pub participants: Vec<Party>,
    pub proceedings: Vec<RecordJson>,
    pub charges: Vec<RecordJson>,
    pub hearings: Vec<RecordJson>,
    pub decisions: Vec<RecordJson>,
    pub events: Vec<RecordJson>,
    pub detentions: Vec<RecordJson>,
    pub sources: Vec<RecordJson>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PersonFile {
    pub person: RecordJson,
    pub cases: Vec<Party>,
    pub detentions: Vec<RecordJson>,
    pub charges: Vec<RecordJson>,
    pub organisations: Vec<RecordJson>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Dashboard {
    pub upcoming_hearings: Vec<RecordJson>,
    pub detained_today: Vec<RecordJson>,
    pub recent_cases: Vec<Summary>,
    pub counts: Vec<KindCount>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct KindCount {
    pub kind: Kind,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
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
            participants.push(Party { role: p.role.clone(), record: self.get(p.party)?.view() });
        }
        let sources = body.sources.iter().map(|s| self.get(*s).map(|r| r.view())).collect::<Result<Vec<_>>>()?;
        let proceedings = self.referring(id, Kind::Proceeding)?;
        let (mut charges, mut hearings, mut decisions) = (Vec::new(), Vec::new(), Vec::new());
        for p in &proceedings {
            charges.extend(self.referring(p.id, Kind::Charge)?);
            hearings.extend(self.referring(p.id, Kind::Hearing)?);
            decisions.extend(self.referring(p.id, Kind::Decision)?);
        }
        by_date(&mut hearings);
        by_date(&mut decisions);
        let json = |v: Vec<Record>| v.iter().map(Record::view).collect::<Vec<_>>();
        Ok(CaseFile {
            case: case.view(),
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
                cases.push(Party { role: role.join(", "), record: case.view() });
            }
        }
        let organisations =
            body.affiliations.iter().map(|a| self.get(a.organisation).map(|r| r.view())).collect::<Result<Vec<_>>>()?;
        let json = |v: Vec<Record>| v.iter().map(Record::view).collect::<Vec<_>>();
        Ok(PersonFile {
            person: person.view(),
            cases,
            detentions: json(self.referring(id, Kind::Detention)?),
            charges: json(self.referring(id, Kind::Charge)?),
            organisations,
        })
    }

    fn records_where(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<RecordJson>> {
        let mut stmt = self.conn.prepare(sql)?;
        let ids: Vec<String> = stmt.query_map(params, |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        ids.iter()
            .map(|id| {
                let id = Uuid::parse_str(id).map_err(|e| Error::VaultCorrupt(e.to_string()))?;
                self.get(id).map(|r| r.view())
            })
            .collect()
    }

    pub fn dashboard(&self, today: chrono::NaiveDate) -> Result<Dashboard> {
        let day = today.to_string();
        let upcoming_hearings = self.records_where(
            "SELECT uuid FROM records WHERE kind='hearing' AND deleted=0 AND date_from >= ?1 ORDER BY date_from LIMIT 20",
            &[&day],
        )?;
        // The same rule as `detained --on` (release computed from term and extensions).
        let detained_today = self
            .detained_on(today)?
            .into_iter()
            .filter(|c| c.certain)
            .take(200)
            .map(|c| self.get(c.detention).map(|r| r.view()))
            .collect::<Result<Vec<_>>>()?;
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
            .map(|kind| self.count(kind).map(|count| KindCount { kind, count }))
            .collect::<Result<Vec<_>>>()?;
        Ok(Dashboard { upcoming_hearings, detained_today, recent_cases, counts })
    }

    /// The entries of one vocabulary, for pickers.
    pub fn vocabulary(&self, vocabulary: &str) -> Result<Vec<RecordJson>> {
        self.records_where(
            "SELECT uuid FROM records WHERE kind='term' AND deleted=0 AND json_extract(body,'$.vocabulary')=?1 ORDER BY json_extract(body,'$.code')",
            &[&vocabulary],
        )
    }
}
