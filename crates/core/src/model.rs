//! The domain model. Each record kind is a plain struct; the store keeps it as JSON beside the
//! columns that queries need. Relationships are UUID fields inside the bodies; the store derives a
//! foreign-keyed reference table from them (`Body::references`) so integrity is enforced by SQLite.
//! Codes such as categories, roles and legal provisions point into the editable vocabularies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::date::PartialDate;

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Kind {
    Term,
    Partner,
    Source,
    Organisation,
    Person,
    Group,
    Case,
    Event,
    Detention,
    Proceeding,
    Charge,
    Hearing,
    Decision,
    Attachment,
}

impl Kind {
    /// Export order: anything a record refers to comes before it.
    pub const ALL: [Kind; 14] = [
        Kind::Term,
        Kind::Partner,
        Kind::Source,
        Kind::Organisation,
        Kind::Person,
        Kind::Group,
        Kind::Case,
        Kind::Event,
        Kind::Detention,
        Kind::Proceeding,
        Kind::Charge,
        Kind::Hearing,
        Kind::Decision,
        Kind::Attachment,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Term => "term",
            Kind::Partner => "partner",
            Kind::Source => "source",
            Kind::Organisation => "organisation",
            Kind::Person => "person",
            Kind::Group => "group",
            Kind::Case => "case",
            Kind::Event => "event",
            Kind::Detention => "detention",
            Kind::Proceeding => "proceeding",
            Kind::Charge => "charge",
            Kind::Hearing => "hearing",
            Kind::Decision => "decision",
            Kind::Attachment => "attachment",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        let normalised = match text {
            "organization" | "org" => "organisation",
            "people" | "persons" => "person",
            other => other.trim_end_matches('s'),
        };
        Kind::ALL.into_iter().find(|k| k.as_str() == normalised)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------- shared parts

/// A name as written in one script or transliteration. The first name of a record is the one shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Name {
    pub value: String,
    /// BCP 47 language tag: kk, ru, en, kk-Latn…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// ISO 15924 script: Cyrl, Latn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// How sure a reported figure is: "54 victims" is exact, "at least 6 activists" a lower bound,
/// "about 200 EUR" approximate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualifier {
    #[default]
    Exact,
    AtLeast,
    About,
    AtMost,
}

impl Qualifier {
    pub fn is_exact(&self) -> bool {
        *self == Qualifier::Exact
    }

    /// "", "at least ", "about ", "at most ": what a figure is prefixed with when shown.
    pub fn prefix(&self) -> &'static str {
        match self {
            Qualifier::Exact => "",
            Qualifier::AtLeast => "at least ",
            Qualifier::About => "about ",
            Qualifier::AtMost => "at most ",
        }
    }
}

/// A count as a report gives it. Written as a plain number when exact (as version 1 documents
/// wrote every count) and as `{"value": 6, "qualifier": "at_least"}` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    pub value: u32,
    pub qualifier: Qualifier,
}

impl Quantity {
    pub fn exact(value: u32) -> Quantity {
        Quantity { value, qualifier: Qualifier::Exact }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.qualifier.prefix(), self.value)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum QuantityForm {
    Plain(u32),
    Qualified {
        value: u32,
        #[serde(default)]
        qualifier: Qualifier,
    },
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.qualifier.is_exact() {
            QuantityForm::Plain(self.value).serialize(s)
        } else {
            QuantityForm::Qualified { value: self.value, qualifier: self.qualifier }.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match QuantityForm::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a count: a whole number, or {\"value\": N, \"qualifier\": \"at_least\"|\"about\"|\"at_most\"}")
        })? {
            QuantityForm::Plain(value) => Quantity::exact(value),
            QuantityForm::Qualified { value, qualifier } => Quantity { value, qualifier },
        })
    }
}

/// A sum of money as reported: "about 200 EUR" is `{"amount": "200", "currency": "EUR", "approximate": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Decimal amount as written, e.g. "1380000" or "276.50".
    pub amount: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub approximate: bool,
}

/// A person, organisation or group taking part in a case or event, with a role from the `role`
/// vocabulary, and what a report says of them at the time: an age, or only that they were a child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub party: Uuid,
    pub role: String,
    /// Age in years at the time of the event, where the report gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u32>,
    /// A minor, where the report says so without an age or birth date.
    #[serde(default, skip_serializing_if = "is_false")]
    pub child: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

// ---------------------------------------------------------------- vocabulary and partners

/// One entry of an editable controlled list (violation categories, event types, roles, legal provisions…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub vocabulary: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Labels by language: en, ru, kk.
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision: Option<Provision>,
    /// The closest HURIDOCS Events Standard Formats term, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huridocs: Option<String>,
    /// Why the entry exists or how sure we are of it (e.g. "title not verified against the code").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub retired: bool,
    /// For the `deadline_rule` vocabulary: how long the window after a decision is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<DeadlineRule>,
}

/// An appeal or cassation window: `days` and `months` after the decision date, for the decision
/// kinds and proceeding kinds named; the jurisdiction and the article are the term's `provision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    /// `deadline_kind` vocabulary: appeal, cassation.
    pub deadline: String,
    /// `proceeding_kind` codes it applies to; empty for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proceeding_kinds: Vec<String>,
    /// `decision_kind` codes whose date starts the window.
    pub decision_kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub days: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub months: u32,
    /// A window ending on a Saturday or Sunday ends on the next Monday instead.
    #[serde(default, skip_serializing_if = "is_false")]
    pub next_working_day: bool,
    /// Checked against the official text of the code; unverified defaults say so in the app.
    #[serde(default, skip_serializing_if = "is_false")]
    pub verified: bool,
}

/// A legal provision: KZ Criminal Code art. 274 part 2 is `{KZ, CC, 274, 2}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub jurisdiction: String,
    pub code: String,
    pub article: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub name: String,
    /// age X25519 recipient (`age1…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_recipient: Option<String>,
    /// Ed25519 public key, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub fingerprint_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

// ---------------------------------------------------------------- sources, actors

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub title: String,
    /// `source_kind` vocabulary: media_report, social_post, ngo_report, court_document, interview, own_observation.
    pub source_kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// `reliability` vocabulary: confirmed, reliable, unverified, doubtful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reliability: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// `org_status` vocabulary: registered, registration_refused, suspended, banned_extremist, liquidated, listed_foreign_funding…
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub names: Vec<Name>,
    /// `org_kind` vocabulary: party, ngo, media_outlet, state_body, court, company, movement…
    pub org_kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_history: Vec<OrgStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affiliation {
    pub organisation: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<PartialDate>,
}

/// Contact details are sensitive: masked on screen and dropped by the "without contacts" bundle profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// phone, email, address, messenger, other
    pub kind: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recognition {
    /// `recognition` vocabulary: political_prisoner, prisoner_of_conscience, human_rights_defender…
    pub status: String,
    /// Who recognised it (free text, e.g. "Amnesty International").
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_organisation: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<PartialDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub names: Vec<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<PartialDate>,
    /// `occupation` vocabulary: journalist, blogger, activist, lawyer, official…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupations: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<Affiliation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recognitions: Vec<Recognition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<Place>,
    /// ISO 3166-1 alpha-2 codes; a person may hold several (or none, stateless).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citizenships: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// People a report counts without naming them all: "10 citizens sued the Prosecutor General's
/// office", "11 KNB officers", "54 victims". A group is a party like a person: it takes part in
/// cases and events, is charged, and receives an outcome. Members named later are added to
/// `members`; the group keeps its id, so what was recorded of it stays attached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the report calls them: "KNB officers accused of torture".
    pub description: String,
    /// How many they are, as reported; `None` when only the named members are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Quantity>,
    /// Members known by name (people or organisations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Uuid>,
    /// `occupation` codes the members share (activist, journalist…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupations: Vec<String>,
    /// `perpetrator_type` code when the group acted as state agents (police, knb, military…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetrator_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Group {
    /// The people a report counts for this group: the reported count, never fewer than those named.
    pub fn headcount(&self) -> Quantity {
        let named = self.members.len() as u32;
        match self.count {
            Some(q) if q.value >= named => q,
            Some(q) => Quantity {
                value: named,
                qualifier: if q.qualifier.is_exact() { q.qualifier } else { Qualifier::AtLeast },
            },
            None => Quantity { value: named, qualifier: Qualifier::AtLeast },
        }
    }
}

/// A complaint or appeal outside the court track: to a prosecutor, the ombudsman, a UN body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// Who filed it (a person, organisation or group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Uuid>,
    /// `complaint_body` vocabulary: prosecutor, ombudsman, un_body, court, police, government, other.
    pub to: String,
    /// The body by name: "UN Working Group on Arbitrary Detention".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<PartialDate>,
    /// `complaint_result` vocabulary: pending, upheld, rejected, no_answer, forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

// ---------------------------------------------------------------- cases and what happened

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidentiality {
    Public,
    #[default]
    Internal,
    Confidential,
    Restricted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub title: String,
    /// `case_kind` vocabulary: criminal, administrative, civil, pre_trial_claim, incident.
    pub case_kind: String,
    /// `case_status` vocabulary: open, investigation, trial, appeal, closed…
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `violation_category` vocabulary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_cases: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Uuid>,
    #[serde(default)]
    pub confidentiality: Confidentiality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complaints: Vec<Complaint>,
    /// `programme` vocabulary: the monitoring programmes this case belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programmes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub title: String,
    /// `event_type` vocabulary: detention, assembly, search, ill_treatment, death_in_custody, threat…
    pub event_type: String,
    pub date: PartialDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
    /// How many people it affected where they are not all recorded by name ("54 victims",
    /// "at least 6 activists").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim_count: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Uuid>,
    /// Report facets: who was targeted (`victim_type`: journalist, blogger, media_outlet…),
    /// by whom (`perpetrator_type`), and through what medium (`medium`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub victim_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perpetrator_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    /// Listed among the notable cases of a monitoring report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notable: bool,
    /// The hearing or proceeding it happened at: a film crew barred from a trial, activists
    /// detained outside the courthouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub happened_at: Option<Uuid>,
    /// `programme` vocabulary: which monitoring programme records it (media freedom, elections…);
    /// a report limited to a programme counts only its events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programmes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    pub new_end: PartialDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The decision (ruling) that ordered the extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruling: Option<Uuid>,
    /// The appeal decision that upheld it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upheld_by: Option<Uuid>,
}

/// A move of a detainee to another place: from the pre-trial centre to a penal colony.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// When the detainee arrived there; unknown dates are kept as unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    pub place: Place,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detention {
    pub person: Uuid,
    /// `detention_kind` vocabulary: police_detention, administrative_arrest, pre_trial_detention,
    /// house_arrest, restricted_freedom, prison (serving a sentence), psychiatric, extradition_arrest.
    pub detention_kind: String,
    /// When custody began; absent when no report says (the person is known to be held later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<PartialDate>,
    /// The ordered length, e.g. 15 days of administrative arrest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_days: Option<u32>,
    /// Days already served that count against the term (earlier detention in the same matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_end: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// Legal provision codes or free text ("court sanction", "CAO 488").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// Later places, in order; `place` is where custody began.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<Transfer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

// ---------------------------------------------------------------- the legal track

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proceeding {
    pub case: Uuid,
    /// `proceeding_kind` vocabulary: criminal_investigation, trial, administrative_case, civil_suit, pre_trial_claim.
    pub proceeding_kind: String,
    /// `stage` vocabulary: pre_trial, first_instance, appeal, cassation.
    pub stage: String,
    /// The court or body as an organisation record, or by name when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed_door: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<PartialDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub proceeding: Uuid,
    /// A person, an organisation or a group.
    pub defendant: Uuid,
    /// Code of a `legal_provision` term, e.g. `kz-cc-405-2`; absent when the report gives no article.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision: Option<String>,
    /// The charge in words ("hooliganism", "participating in an unsanctioned assembly"),
    /// required when there is no provision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// `charge_status` vocabulary: pending, dropped, requalified, convicted, acquitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hearing {
    pub proceeding: Uuid,
    /// Local court time, `YYYY-MM-DDTHH:MM`, or a date alone when the time is unknown.
    pub scheduled: String,
    /// IANA zone of the court, e.g. Asia/Almaty.
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// `hearing_status` vocabulary: scheduled, held, postponed, cancelled.
    pub status: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed_door: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The hearing this one was postponed from: the chain of dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postponed_from: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postponement_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_present: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub access_refused: bool,
    /// Who was shut out (`excluded_party` vocabulary: press, monitors, relatives, diplomats, public, lawyers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_refused_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn default_zone() -> String {
    "Asia/Almaty".into()
}

/// One part of a sentence. A sentence is a list: seven years' imprisonment plus a five-year ban.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SentencePart {
    /// `years`/`months` is the term, or the lower end of a range given to a group ("3 to 5
    /// years") whose upper end is `max_years`/`max_months` (so for every part with a term).
    Imprisonment {
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_years: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_months: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        regime: Option<String>,
    },
    Suspended {
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_years: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_months: Option<u32>,
        #[serde(default, skip_serializing_if = "is_zero")]
        probation_months: u32,
    },
    Fine {
        /// Decimal amount as written, e.g. "1380000" or "276.50".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
        /// Monthly calculation indices, the unit Kazakh law states fines in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mci: Option<u32>,
        /// The report rounds the figure ("a fine of about 200 EUR").
        #[serde(default, skip_serializing_if = "is_false")]
        approximate: bool,
        /// The equivalent the report quotes beside it ("70 MCI (≈ 140 EUR)").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        equivalent: Option<Money>,
    },
    /// `days`, or a range "up to `max_days` days" (with `days` as its lower end, 0 if unknown).
    AdministrativeArrest {
        #[serde(default)]
        days: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_days: Option<u32>,
    },
    RestrictedFreedom {
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_years: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_months: Option<u32>,
    },
    ActivityBan {
        activity: String,
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_years: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_months: Option<u32>,
    },
    Deferral {
        until: PartialDate,
    },
    Compensation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        approximate: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    CommunityService {
        hours: u32,
    },
    Other {
        text: String,
    },
}

impl SentencePart {
    /// The term in months as (lower, upper) for the parts that have one; equal ends unless a range.
    pub fn months_range(&self) -> Option<(u32, u32)> {
        let range = |years: u32, months: u32, max_years: Option<u32>, max_months: Option<u32>| {
            let low = years * 12 + months;
            let high = match (max_years, max_months) {
                (None, None) => low,
                (y, m) => y.unwrap_or(0) * 12 + m.unwrap_or(0),
            };
            (low, high)
        };
        match self {
            SentencePart::Imprisonment { years, months, max_years, max_months, .. }
            | SentencePart::Suspended { years, months, max_years, max_months, .. }
            | SentencePart::RestrictedFreedom { years, months, max_years, max_months }
            | SentencePart::ActivityBan { years, months, max_years, max_months, .. } => {
                Some(range(*years, *months, *max_years, *max_months))
            }
            _ => None,
        }
    }

    /// A range's upper end is not below its lower end.
    fn check_range(&self) -> Result<(), String> {
        if let Some((low, high)) = self.months_range() {
            if high < low {
                return Err("the range ends (max_years, max_months) below where it starts (years, months)".into());
            }
        }
        if let SentencePart::AdministrativeArrest { days, max_days: Some(max) } = self {
            if max < days {
                return Err(format!("max_days {max} is below days {days}"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub defendant: Uuid,
    /// `outcome` vocabulary: convicted, acquitted, dismissed, upheld, overturned, modified, released.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sentence: Vec<SentencePart>,
    /// The parts are alternatives handed to a group's members, not all served by each:
    /// "fines or up to 10 days' arrest".
    #[serde(default, skip_serializing_if = "is_false")]
    pub alternatives: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub proceeding: Uuid,
    pub date: PartialDate,
    /// `decision_kind` vocabulary: verdict, ruling, appeal_decision, cassation_decision, administrative_penalty.
    pub decision_kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_deadline: Option<chrono::NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

// ---------------------------------------------------------------- evidence files

/// A file attached to a record. The bytes live in the vault (`attachments.rs`); this is the
/// intake record: what was received, when, and its SHA-256 at intake, re-verified by `check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The record it belongs to (a hearing, a detention, a person…).
    pub record: Uuid,
    /// The file's name as received.
    pub name: String,
    /// Sniffed from the content, not taken from the name.
    pub media_type: String,
    pub size: u64,
    /// Hex SHA-256 of the content at intake.
    pub sha256: String,
    /// From EXIF: when the photo was taken, by what camera, where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<Gps>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gps {
    pub latitude: f64,
    pub longitude: f64,
}

// ---------------------------------------------------------------- the sum of all kinds

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Term(Term),
    Partner(Partner),
    Source(Source),
    Organisation(Organisation),
    Person(Person),
    Group(Group),
    Case(Case),
    Event(Event),
    Detention(Detention),
    Proceeding(Proceeding),
    Charge(Charge),
    Hearing(Hearing),
    Decision(Decision),
    Attachment(Attachment),
}

/// A reference from one record to another, with the kinds it may point to.
pub struct Reference {
    pub field: &'static str,
    pub target: Uuid,
    pub allowed: &'static [Kind],
}

const PARTY: &[Kind] = &[Kind::Person, Kind::Organisation, Kind::Group];

fn r(out: &mut Vec<Reference>, field: &'static str, target: Uuid, allowed: &'static [Kind]) {
    out.push(Reference { field, target, allowed });
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Term(_) => Kind::Term,
            Body::Partner(_) => Kind::Partner,
            Body::Source(_) => Kind::Source,
            Body::Organisation(_) => Kind::Organisation,
            Body::Person(_) => Kind::Person,
            Body::Group(_) => Kind::Group,
            Body::Case(_) => Kind::Case,
            Body::Event(_) => Kind::Event,
            Body::Detention(_) => Kind::Detention,
            Body::Proceeding(_) => Kind::Proceeding,
            Body::Charge(_) => Kind::Charge,
            Body::Hearing(_) => Kind::Hearing,
            Body::Decision(_) => Kind::Decision,
            Body::Attachment(_) => Kind::Attachment,
        }
    }

    /// Parse a body of a known kind, naming the exact field that is wrong.
    pub fn from_json(kind: Kind, value: serde_json::Value) -> Result<Body, (String, String)> {
        fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, (String, String)> {
            serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." { "(record)".to_string() } else { path };
                (field, e.into_inner().to_string())
            })
        }
        Ok(match kind {
            Kind::Term => Body::Term(parse(value)?),
            Kind::Partner => Body::Partner(parse(value)?),
            Kind::Source => Body::Source(parse(value)?),
            Kind::Organisation => Body::Organisation(parse(value)?),
            Kind::Person => Body::Person(parse(value)?),
            Kind::Group => Body::Group(parse(value)?),
            Kind::Case => Body::Case(parse(value)?),
            Kind::Event => Body::Event(parse(value)?),
            Kind::Detention => Body::Detention(parse(value)?),
            Kind::Proceeding => Body::Proceeding(parse(value)?),
            Kind::Charge => Body::Charge(parse(value)?),
            Kind::Hearing => Body::Hearing(parse(value)?),
            Kind::Decision => Body::Decision(parse(value)?),
            Kind::Attachment => Body::Attachment(parse(value)?),
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        let result = match self {
            Body::Term(b) => serde_json::to_value(b),
            Body::Partner(b) => serde_json::to_value(b),
            Body::Source(b) => serde_json::to_value(b),
            Body::Organisation(b) => serde_json::to_value(b),
            Body::Person(b) => serde_json::to_value(b),
            Body::Group(b) => serde_json::to_value(b),
            Body::Case(b) => serde_json::to_value(b),
            Body::Event(b) => serde_json::to_value(b),
            Body::Detention(b) => serde_json::to_value(b),
            Body::Proceeding(b) => serde_json::to_value(b),
            Body::Charge(b) => serde_json::to_value(b),
            Body::Hearing(b) => serde_json::to_value(b),
            Body::Decision(b) => serde_json::to_value(b),
            Body::Attachment(b) => serde_json::to_value(b),
        };
        // Plain structs of strings, numbers and UUIDs always serialise.
        result.unwrap_or(serde_json::Value::Null)
    }

    /// What a list shows for this record.
    pub fn label(&self) -> String {
        let first_name = |names: &[Name]| names.first().map(|n| n.value.clone()).unwrap_or_default();
        match self {
            Body::Term(t) => format!("{}:{}", t.vocabulary, t.code),
            Body::Partner(p) => p.name.clone(),
            Body::Source(s) => s.title.clone(),
            Body::Organisation(o) => first_name(&o.names),
            Body::Person(p) => first_name(&p.names),
            Body::Group(g) => match g.count {
                Some(n) => format!("{} ({n})", g.description),
                None => g.description.clone(),
            },
            Body::Case(c) => c.title.clone(),
            Body::Event(e) => e.title.clone(),
            Body::Detention(d) => match &d.start {
                Some(start) => format!("{} from {}", d.detention_kind, start.human()),
                None => format!("{} (start unknown)", d.detention_kind),
            },
            Body::Proceeding(p) => {
                format!(
                    "{} ({}){}",
                    p.proceeding_kind,
                    p.stage,
                    p.case_number.as_ref().map(|n| format!(" №{n}")).unwrap_or_default()
                )
            }
            Body::Charge(c) => c.provision.clone().or_else(|| c.description.clone()).unwrap_or_default(),
            Body::Hearing(h) => format!("hearing {} ({})", h.scheduled, h.status),
            Body::Decision(d) => format!("{} of {}", d.decision_kind, d.date.human()),
            Body::Attachment(a) => a.name.clone(),
        }
    }

    /// The date range a record is filed under, for sorting and date filters.
    pub fn date_span(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        let span = |d: &PartialDate| Some((d.earliest(), d.latest()));
        match self {
            Body::Event(e) => span(&e.date),
            Body::Detention(d) => {
                let end = d.end_range().map(|(_, latest)| latest);
                let start = d.start.as_ref().map(|s| s.earliest()).unwrap_or(chrono::NaiveDate::MIN);
                Some((start, end.unwrap_or(chrono::NaiveDate::MAX)))
            }
            Body::Decision(d) => span(&d.date),
            Body::Hearing(h) => {
                let day =
                    chrono::NaiveDate::parse_from_str(h.scheduled.get(..10).unwrap_or_default(), "%Y-%m-%d").ok()?;
                Some((day, day))
            }
            Body::Case(c) => c.opened.as_ref().and_then(span),
            Body::Source(s) => s.date.as_ref().and_then(span),
            Body::Proceeding(p) => p.started.as_ref().and_then(span),
            Body::Charge(c) => c.date.as_ref().and_then(span),
            Body::Person(_)
            | Body::Group(_)
            | Body::Organisation(_)
            | Body::Term(_)
            | Body::Partner(_)
            | Body::Attachment(_) => None,
        }
    }

    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        let participants = |out: &mut Vec<Reference>, ps: &[Participant]| {
            for p in ps {
                r(out, "participants", p.party, PARTY);
            }
        };
        let sources = |out: &mut Vec<Reference>, ids: &[Uuid]| {
            for id in ids {
                r(out, "sources", *id, &[Kind::Source]);
            }
        };
        match self {
            Body::Term(_) | Body::Partner(_) | Body::Source(_) => {}
            Body::Organisation(_) => {}
            Body::Person(p) => {
                for a in &p.affiliations {
                    r(&mut out, "affiliations", a.organisation, &[Kind::Organisation]);
                }
                for rec in &p.recognitions {
                    if let Some(org) = rec.by_organisation {
                        r(&mut out, "recognitions", org, &[Kind::Organisation]);
                    }
                }
            }
            Body::Group(g) => {
                for id in &g.members {
                    r(&mut out, "members", *id, &[Kind::Person, Kind::Organisation]);
                }
                sources(&mut out, &g.sources);
            }
            Body::Case(c) => {
                participants(&mut out, &c.participants);
                for complaint in &c.complaints {
                    if let Some(id) = complaint.by {
                        r(&mut out, "complaints.by", id, PARTY);
                    }
                }
                for id in &c.related_cases {
                    r(&mut out, "related_cases", *id, &[Kind::Case]);
                }
                for id in &c.sources {
                    r(&mut out, "sources", *id, &[Kind::Source]);
                }
            }
            Body::Event(e) => {
                participants(&mut out, &e.participants);
                for id in &e.cases {
                    r(&mut out, "cases", *id, &[Kind::Case]);
                }
                for id in &e.sources {
                    r(&mut out, "sources", *id, &[Kind::Source]);
                }
                if let Some(id) = e.happened_at {
                    r(&mut out, "happened_at", id, &[Kind::Hearing, Kind::Proceeding]);
                }
            }
            Body::Detention(d) => {
                r(&mut out, "person", d.person, &[Kind::Person]);
                if let Some(id) = d.case {
                    r(&mut out, "case", id, &[Kind::Case]);
                }
                if let Some(id) = d.event {
                    r(&mut out, "event", id, &[Kind::Event]);
                }
                for x in &d.extensions {
                    if let Some(id) = x.ruling {
                        r(&mut out, "extensions.ruling", id, &[Kind::Decision]);
                    }
                    if let Some(id) = x.upheld_by {
                        r(&mut out, "extensions.upheld_by", id, &[Kind::Decision]);
                    }
                }
                sources(&mut out, &d.sources);
            }
            Body::Proceeding(p) => {
                r(&mut out, "case", p.case, &[Kind::Case]);
                if let Some(id) = p.court {
                    r(&mut out, "court", id, &[Kind::Organisation]);
                }
                if let Some(id) = p.judge {
                    r(&mut out, "judge", id, &[Kind::Person]);
                }
                sources(&mut out, &p.sources);
            }
            Body::Charge(c) => {
                r(&mut out, "proceeding", c.proceeding, &[Kind::Proceeding]);
                r(&mut out, "defendant", c.defendant, PARTY);
            }
            Body::Hearing(h) => {
                r(&mut out, "proceeding", h.proceeding, &[Kind::Proceeding]);
                if let Some(id) = h.court {
                    r(&mut out, "court", id, &[Kind::Organisation]);
                }
                if let Some(id) = h.postponed_from {
                    r(&mut out, "postponed_from", id, &[Kind::Hearing]);
                }
                for id in &h.attendees {
                    r(&mut out, "attendees", *id, &[Kind::Person]);
                }
            }
            Body::Decision(d) => {
                r(&mut out, "proceeding", d.proceeding, &[Kind::Proceeding]);
                for o in &d.outcomes {
                    r(&mut out, "outcomes.defendant", o.defendant, PARTY);
                    for c in &o.charges {
                        r(&mut out, "outcomes.charges", *c, &[Kind::Charge]);
                    }
                }
                sources(&mut out, &d.sources);
            }
            Body::Attachment(a) => {
                let any: &'static [Kind] = &Kind::ALL;
                r(&mut out, "record", a.record, any);
            }
        }
        out
    }

    /// Every vocabulary code this record uses, as (field, vocabulary, code).
    pub fn vocabulary_codes(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut out: Vec<(&'static str, &'static str, String)> = Vec::new();
        let roles = |out: &mut Vec<_>, ps: &[Participant]| {
            for p in ps {
                out.push(("participants.role", "role", p.role.clone()));
            }
        };
        let categories = |out: &mut Vec<_>, cs: &[String]| {
            for c in cs {
                out.push(("categories", "violation_category", c.clone()));
            }
        };
        let programmes = |out: &mut Vec<_>, ps: &[String]| {
            for p in ps {
                out.push(("programmes", "programme", p.clone()));
            }
        };
        match self {
            Body::Term(_) | Body::Partner(_) | Body::Attachment(_) => {}
            Body::Source(s) => {
                out.push(("source_kind", "source_kind", s.source_kind.clone()));
                if let Some(rel) = &s.reliability {
                    out.push(("reliability", "reliability", rel.clone()));
                }
            }
            Body::Organisation(o) => {
                out.push(("org_kind", "org_kind", o.org_kind.clone()));
                for s in &o.status_history {
                    out.push(("status_history.status", "org_status", s.status.clone()));
                }
            }
            Body::Person(p) => {
                for o in &p.occupations {
                    out.push(("occupations", "occupation", o.clone()));
                }
                for rec in &p.recognitions {
                    out.push(("recognitions.status", "recognition", rec.status.clone()));
                }
            }
            Body::Group(g) => {
                for o in &g.occupations {
                    out.push(("occupations", "occupation", o.clone()));
                }
                if let Some(t) = &g.perpetrator_type {
                    out.push(("perpetrator_type", "perpetrator_type", t.clone()));
                }
            }
            Body::Case(c) => {
                out.push(("case_kind", "case_kind", c.case_kind.clone()));
                out.push(("status", "case_status", c.status.clone()));
                categories(&mut out, &c.categories);
                roles(&mut out, &c.participants);
                programmes(&mut out, &c.programmes);
                for complaint in &c.complaints {
                    out.push(("complaints.to", "complaint_body", complaint.to.clone()));
                    if let Some(result) = &complaint.result {
                        out.push(("complaints.result", "complaint_result", result.clone()));
                    }
                }
            }
            Body::Event(e) => {
                out.push(("event_type", "event_type", e.event_type.clone()));
                categories(&mut out, &e.categories);
                roles(&mut out, &e.participants);
                for (field, vocabulary, codes) in [
                    ("victim_types", "victim_type", &e.victim_types),
                    ("perpetrator_types", "perpetrator_type", &e.perpetrator_types),
                    ("media", "medium", &e.media),
                ] {
                    out.extend(codes.iter().map(|c| (field, vocabulary, c.clone())));
                }
                programmes(&mut out, &e.programmes);
            }
            Body::Detention(d) => out.push(("detention_kind", "detention_kind", d.detention_kind.clone())),
            Body::Proceeding(p) => {
                out.push(("proceeding_kind", "proceeding_kind", p.proceeding_kind.clone()));
                out.push(("stage", "stage", p.stage.clone()));
            }
            Body::Charge(c) => {
                if let Some(p) = &c.provision {
                    out.push(("provision", "legal_provision", p.clone()));
                }
                if let Some(s) = &c.status {
                    out.push(("status", "charge_status", s.clone()));
                }
            }
            Body::Hearing(h) => {
                out.push(("status", "hearing_status", h.status.clone()));
                out.extend(h.access_refused_to.iter().map(|p| ("access_refused_to", "excluded_party", p.clone())));
            }
            Body::Decision(d) => {
                out.push(("decision_kind", "decision_kind", d.decision_kind.clone()));
                for o in &d.outcomes {
                    out.push(("outcomes.outcome", "outcome", o.outcome.clone()));
                }
            }
        }
        out
    }

    /// Checks serde cannot express: required text present, hearing times well-formed.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let required = |field: &str, text: &str| -> Result<(), (String, String)> {
            if text.trim().is_empty() {
                return Err((field.to_string(), "must not be empty".to_string()));
            }
            Ok(())
        };
        let names = |names: &[Name]| -> Result<(), (String, String)> {
            if names.is_empty() {
                return Err(("names".into(), "at least one name is required".into()));
            }
            for (i, n) in names.iter().enumerate() {
                required(&format!("names[{i}].value"), &n.value)?;
            }
            Ok(())
        };
        match self {
            Body::Term(t) => {
                required("vocabulary", &t.vocabulary)?;
                required("code", &t.code)?;
                if !t.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c)) {
                    return Err(("code".into(), "use lowercase letters, digits, '_', '-' and '.' only".into()));
                }
                if t.labels.is_empty() {
                    return Err(("labels".into(), "at least one label (e.g. en) is required".into()));
                }
            }
            Body::Partner(p) => {
                required("name", &p.name)?;
                crate::identity::check_public_keys(p.age_recipient.as_deref(), p.signing_key.as_deref())?;
            }
            Body::Source(s) => required("title", &s.title)?,
            Body::Organisation(o) => names(&o.names)?,
            Body::Person(p) => {
                names(&p.names)?;
                for (i, c) in p.contacts.iter().enumerate() {
                    required(&format!("contacts[{i}].value"), &c.value)?;
                }
            }
            Body::Group(g) => {
                required("description", &g.description)?;
                if g.count.is_some_and(|q| q.value == 0) {
                    return Err(("count".into(), "a group counts at least one person".into()));
                }
            }
            Body::Case(c) => {
                required("title", &c.title)?;
                for (i, complaint) in c.complaints.iter().enumerate() {
                    required(&format!("complaints[{i}].to"), &complaint.to)?;
                }
            }
            Body::Event(e) => required("title", &e.title)?,
            Body::Detention(d) => {
                if let (Some(end), Some(start)) = (&d.actual_end, &d.start) {
                    if end.latest() < start.earliest() {
                        return Err(("actual_end".into(), "ends before the detention starts".into()));
                    }
                }
            }
            Body::Charge(c) => {
                let has = |t: &Option<String>| t.as_deref().is_some_and(|t| !t.trim().is_empty());
                if !has(&c.provision) && !has(&c.description) {
                    return Err((
                        "provision".into(),
                        "give the article (a legal_provision code) or, when the report names none, a description"
                            .into(),
                    ));
                }
            }
            Body::Decision(d) => {
                for (i, o) in d.outcomes.iter().enumerate() {
                    for (j, part) in o.sentence.iter().enumerate() {
                        part.check_range().map_err(|p| (format!("outcomes[{i}].sentence[{j}]"), p))?;
                    }
                }
            }
            Body::Proceeding(_) => {}
            Body::Attachment(a) => {
                required("name", &a.name)?;
                if a.sha256.len() != 64 || !a.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(("sha256".into(), "must be 64 hexadecimal digits".into()));
                }
            }
            Body::Hearing(h) => {
                let ok = chrono::NaiveDateTime::parse_from_str(&h.scheduled, "%Y-%m-%dT%H:%M").is_ok()
                    || chrono::NaiveDate::parse_from_str(&h.scheduled, "%Y-%m-%d").is_ok();
                if !ok {
                    return Err((
                        "scheduled".into(),
                        format!(
                            "'{}' is not a date-time; expected YYYY-MM-DDTHH:MM (court's local time) or YYYY-MM-DD",
                            h.scheduled
                        ),
                    ));
                }
                if h.time_zone.parse::<chrono_tz::Tz>().is_err() {
                    return Err((
                        "time_zone".into(),
                        format!("'{}' is not an IANA zone such as Asia/Almaty", h.time_zone),
                    ));
                }
            }
        }
        Ok(())
    }
}
