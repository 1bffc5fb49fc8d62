//! Default vocabularies, seeded by a migration. Seed entries get name-based (v5) UUIDs, so the
//! same entry has the same id in every vault and bundles between partners merge instead of duplicating.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::model::{DeadlineRule, Provision, Term};

const SEED: &str = include_str!("vocab_seed.txt");
const PROVISIONS: &str = include_str!("provisions_seed.txt");
const DEADLINE_RULES: &str = include_str!("deadline_rules_seed.txt");

/// Timestamp of the seed entries: fixed, so that exports of two fresh vaults are identical.
pub const SEED_TIMESTAMP: &str = "2026-11-24T00:00:00.000Z";

pub fn seed_id(vocabulary: &str, code: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("casebook:vocabulary:{vocabulary}:{code}").as_bytes())
}

fn labels(en: &str, ru: &str, kk: &str) -> BTreeMap<String, String> {
    [("en", en), ("ru", ru), ("kk", kk)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn some(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Splits `kz-cao-456-2` into jurisdiction KZ, code CAO, article 456-2; `kz-cc-147.4` has part 4.
pub fn provision_from_code(code: &str) -> Option<Provision> {
    let mut parts = code.splitn(3, '-');
    let jurisdiction = parts.next()?.to_uppercase();
    let legal_code = match parts.next()? {
        "cc" => "Criminal Code".to_string(),
        "cao" => "Code of Administrative Offences".to_string(),
        "civ" => "Civil Code".to_string(),
        "cpc" => "Criminal Procedure Code".to_string(),
        "civpc" => "Civil Procedure Code".to_string(),
        other => other.to_uppercase(),
    };
    let rest = parts.next()?;
    let (article, part) = match rest.split_once('.') {
        Some((a, p)) => (a.to_string(), Some(p.to_string())),
        None => (rest.to_string(), None),
    };
    Some(Provision { jurisdiction, code: legal_code, article, part })
}

pub fn seed_terms() -> Vec<(Uuid, Term)> {
    let mut out = Vec::new();
    for line in SEED.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        let [vocabulary, code, parent, en, ru, kk, huridocs] = f[..] else { continue };
        out.push((
            seed_id(vocabulary, code),
            Term {
                vocabulary: vocabulary.into(),
                code: code.into(),
                parent: some(parent),
                labels: labels(en, ru, kk),
                provision: None,
                huridocs: some(huridocs),
                note: None,
                retired: false,
                rule: None,
            },
        ));
    }
    for line in PROVISIONS.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        let [code, en, ru, note] = f[..] else { continue };
        out.push((
            seed_id("legal_provision", code),
            Term {
                vocabulary: "legal_provision".into(),
                code: code.into(),
                parent: None,
                labels: labels(en, ru, ""),
                provision: provision_from_code(code),
                huridocs: None,
                note: some(note),
                retired: false,
                rule: None,
            },
        ));
    }
    let list = |text: &str| text.split(',').filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>();
    for line in DEADLINE_RULES.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        let [code, deadline, proceeding_kinds, decision_kinds, days, months, provision, en, ru, kk, note] = f[..]
        else {
            continue;
        };
        out.push((
            seed_id("deadline_rule", code),
            Term {
                vocabulary: "deadline_rule".into(),
                code: code.into(),
                parent: None,
                labels: labels(en, ru, kk),
                provision: provision_from_code(provision),
                huridocs: None,
                note: some(note),
                retired: false,
                rule: Some(DeadlineRule {
                    deadline: deadline.into(),
                    proceeding_kinds: list(proceeding_kinds),
                    decision_kinds: list(decision_kinds),
                    days: days.parse().unwrap_or(0),
                    months: months.parse().unwrap_or(0),
                    next_working_day: true,
                    verified: false,
                }),
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_line_parses_and_codes_are_unique() {
        let terms = seed_terms();
        let lines = SEED
            .lines()
            .chain(PROVISIONS.lines())
            .chain(DEADLINE_RULES.lines())
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(terms.len(), lines);
        let mut seen = std::collections::HashSet::new();
        for (_, t) in &terms {
            assert!(seen.insert((t.vocabulary.clone(), t.code.clone())), "duplicate {}:{}", t.vocabulary, t.code);
            if let Some(parent) = &t.parent {
                assert!(terms.iter().any(|(_, p)| &p.code == parent && p.vocabulary == t.vocabulary), "{parent}");
            }
        }
        let p = provision_from_code("kz-cao-456-2").expect("parses");
        assert_eq!((p.article.as_str(), p.part), ("456-2", None));
        let rule = terms.iter().find(|(_, t)| t.code == "kz-criminal-appeal").and_then(|(_, t)| t.rule.clone());
        assert_eq!(rule.map(|r| (r.days, r.decision_kinds)), Some((15, vec!["verdict".to_string()])));
        let p = provision_from_code("kz-cc-147.4").expect("parses");
        assert_eq!((p.article.as_str(), p.part.as_deref()), ("147", Some("4")));
    }
}
