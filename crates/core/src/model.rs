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
    pub const ALL: [Kind; 13] = [
        Kind::Term,
        Kind::Partner,
        Kind::Source,
        Kind::Organisation,
        Kind::Person,
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

/// A person or organisation taking part in a case or event, with a role from the `role` vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub party: Uuid,
    pub role: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
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
    /// How many people it affected where they are not all recorded by name ("54 victims").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim_count: Option<u32>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    pub new_end: PartialDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detention {
    pub person: Uuid,
    /// `detention_kind` vocabulary: police_detention, administrative_arrest, pre_trial_detention,
    /// house_arrest, restricted_freedom, prison.
    pub detention_kind: String,
    pub start: PartialDate,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Uuid>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub proceeding: Uuid,
    /// A person or an organisation.
    pub defendant: Uuid,
    /// Code of a `legal_provision` term, e.g. `kz-cc-405-2`.
    pub provision: String,
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
    Imprisonment {
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        regime: Option<String>,
    },
    Suspended {
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
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
    },
    AdministrativeArrest {
        days: u32,
    },
    RestrictedFreedom {
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
    },
    ActivityBan {
        activity: String,
        #[serde(default, skip_serializing_if = "is_zero")]
        years: u32,
        #[serde(default, skip_serializing_if = "is_zero")]
        months: u32,
    },
    Deferral {
        until: PartialDate,
    },
    Compensation {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
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

const PARTY: &[Kind] = &[Kind::Person, Kind::Organisation];

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
            Body::Case(c) => c.title.clone(),
            Body::Event(e) => e.title.clone(),
            Body::Detention(d) => format!("{} from {}", d.detention_kind, d.start.human()),
            Body::Proceeding(p) => {
                format!(
                    "{} ({}){}",
                    p.proceeding_kind,
                    p.stage,
                    p.case_number.as_ref().map(|n| format!(" №{n}")).unwrap_or_default()
                )
            }
            Body::Charge(c) => c.provision.clone(),
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
                Some((d.start.earliest(), end.unwrap_or(chrono::NaiveDate::MAX)))
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
            Body::Person(_) | Body::Organisation(_) | Body::Term(_) | Body::Partner(_) | Body::Attachment(_) => None,
        }
    }

    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        let participants = |out: &mut Vec<Reference>, ps: &[Participant]| {
            for p in ps {
                r(out, "participants", p.party, PARTY);
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
            Body::Case(c) => {
                participants(&mut out, &c.participants);
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
            }
            Body::Detention(d) => {
                r(&mut out, "person", d.person, &[Kind::Person]);
                if let Some(id) = d.case {
                    r(&mut out, "case", id, &[Kind::Case]);
                }
                if let Some(id) = d.event {
                    r(&mut out, "event", id, &[Kind::Event]);
                }
            }
            Body::Proceeding(p) => {
                r(&mut out, "case", p.case, &[Kind::Case]);
                if let Some(id) = p.court {
                    r(&mut out, "court", id, &[Kind::Organisation]);
                }
                if let Some(id) = p.judge {
                    r(&mut out, "judge", id, &[Kind::Person]);
                }
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
            Body::Case(c) => {
                out.push(("case_kind", "case_kind", c.case_kind.clone()));
                out.push(("status", "case_status", c.status.clone()));
                categories(&mut out, &c.categories);
                roles(&mut out, &c.participants);
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
            }
            Body::Detention(d) => out.push(("detention_kind", "detention_kind", d.detention_kind.clone())),
            Body::Proceeding(p) => {
                out.push(("proceeding_kind", "proceeding_kind", p.proceeding_kind.clone()));
                out.push(("stage", "stage", p.stage.clone()));
            }
            Body::Charge(c) => {
                out.push(("provision", "legal_provision", c.provision.clone()));
                if let Some(s) = &c.status {
                    out.push(("status", "charge_status", s.clone()));
                }
            }
            Body::Hearing(h) => out.push(("status", "hearing_status", h.status.clone())),
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
            Body::Case(c) => required("title", &c.title)?,
            Body::Event(e) => required("title", &e.title)?,
            Body::Detention(d) => {
                if let Some(end) = &d.actual_end {
                    if end.latest() < d.start.earliest() {
                        return Err(("actual_end".into(), "ends before the detention starts".into()));
                    }
                }
            }
            Body::Proceeding(_) | Body::Charge(_) | Body::Decision(_) => {}
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
