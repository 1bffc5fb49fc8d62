//! Realistic volumes for benchmarks and load tests: people with names in Cyrillic and in one of
//! several Latin spellings, cases, events and hearings, reproducible from a seed.

use serde_json::{json, Value};

use crate::error::Result;
use crate::model::Kind;
use crate::normalize::transliterate;
use crate::vault::Vault;

const ROOTS: &[&str] = &[
    "Жыланбаев",
    "Нурпеисов",
    "Абишев",
    "Мусабаев",
    "Тлеужанов",
    "Кокетаев",
    "Иманғалиев",
    "Батырбеков",
    "Табылдиев",
    "Мухаммедкаримов",
    "Сейтказиев",
    "Ержанов",
    "Бекмухамедов",
    "Жусупов",
    "Алтаев",
    "Майтанов",
    "Канатов",
    "Мадибеков",
    "Дуйсенов",
    "Аменов",
    "Жунусов",
    "Онланбеков",
    "Ахатов",
    "Сарсенбаев",
    "Кенжебаев",
    "Омаров",
    "Исмаилов",
    "Тохтаров",
    "Шайхинов",
    "Қасымов",
    "Өмірбеков",
    "Үсенов",
    "Ғабдуллин",
    "Құрманов",
    "Нұрланов",
    "Әбілов",
    "Рахимжанов",
    "Хасенов",
    "Цой",
    "Юсупов",
];
const GIVEN: &[&str] = &[
    "Марат",
    "Айгерим",
    "Калас",
    "Гульнара",
    "Мадина",
    "Асет",
    "Бибигуль",
    "Думан",
    "Нуржан",
    "Назым",
    "Нурлан",
    "Сандугаш",
    "Жанболат",
    "Азамат",
    "Ержан",
    "Әлия",
    "Қайрат",
    "Ұлжан",
    "Асель",
    "Жибек",
    "Серик",
    "Данияр",
    "Ерлан",
    "Олег",
    "Ирина",
    "Елена",
    "Дина",
    "Талгат",
    "Бауыржан",
    "Гүлнар",
];
const REGIONS: &[&str] =
    &["Almaty", "Astana", "Shymkent", "Karaganda", "Aktobe", "Atyrau", "Mangystau", "Zhanaozen", "Pavlodar", "Taraz"];
const EVENT_TYPES: &[&str] = &[
    "detention",
    "administrative_arrest",
    "search",
    "threat",
    "assembly",
    "cyberattack",
    "refusal_of_information",
    "blocking",
];
const CATEGORIES: &[&str] = &[
    "assembly_detention",
    "detention_of_journalist",
    "threat_to_media",
    "refusal_of_information",
    "cyberattack",
    "false_information_charge",
    "extremism_charge",
    "closed_trial",
];

/// xorshift64: reproducible from a printed seed (never 0), no dependency needed. Also drives the
/// seeded workloads of the sync tests.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// An index into a list of `len` items (0 when the list is empty).
    pub fn index(&mut self, len: usize) -> usize {
        (self.next_u64() % len.max(1) as u64) as usize
    }
}

/// A surname in the feminine form about half the time: Жыланбаев → Жыланбаева.
fn surname(rng: &mut Rng) -> String {
    let root = rng.pick(ROOTS);
    if rng.below(2) == 0 && (root.ends_with("ов") || root.ends_with("ев") || root.ends_with("ин")) {
        format!("{root}а")
    } else {
        root.to_string()
    }
}

/// The Latin spelling a given source would use: Russian-style, Kazakh Latin (j for ж), or English (-yev).
fn latin(cyrillic: &str, style: u64) -> String {
    let russian = transliterate(cyrillic);
    match style {
        0 => russian,
        1 => russian.replace("Zh", "J").replace("zh", "j").replace("Kh", "H").replace("kh", "h"),
        _ => russian.replace("aev", "ayev").replace("eev", "eyev").replace("ieva", "iyeva"),
    }
}

pub struct Plan {
    pub people: u64,
    pub cases: u64,
    pub events: u64,
    pub seed: u64,
}

/// Adds the planned records in transactions of 1,000; `progress(done, total)`.
pub fn generate(vault: &mut Vault, plan: &Plan, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
    let mut rng = Rng(plan.seed.max(1));
    let total = plan.people + plan.cases + plan.events;
    let mut done = 0;
    let mut people = Vec::new();
    let mut batch: Vec<(Kind, Value)> = Vec::new();
    let flush = |vault: &mut Vault, batch: &mut Vec<(Kind, Value)>, ids: Option<&mut Vec<uuid::Uuid>>| -> Result<()> {
        let added = vault.add_batch(std::mem::take(batch))?;
        if let Some(ids) = ids {
            ids.extend(added);
        }
        Ok(())
    };
    for i in 0..plan.people {
        let (given, family) = (rng.pick(GIVEN), surname(&mut rng));
        let style = rng.below(3);
        batch.push((
            Kind::Person,
            json!({
                "names": [
                    {"value": format!("{family} {given}"), "lang": "ru", "script": "Cyrl"},
                    {"value": format!("{} {}", latin(given, style), latin(&family, style)), "lang": "en", "script": "Latn"}
                ],
                "occupations": [rng.pick(&["journalist", "activist", "blogger", "lawyer"])],
                "birth_date": format!("{}", 1950 + rng.below(55)),
                "notes": format!("Generated record {i} for load testing.")
            }),
        ));
        if batch.len() == 1_000 {
            flush(vault, &mut batch, Some(&mut people))?;
            done += 1_000;
            progress(done, total);
        }
    }
    flush(vault, &mut batch, Some(&mut people))?;
    done = plan.people;
    for i in 0..plan.cases {
        let region = rng.pick(REGIONS);
        let defendant = people.get(rng.below(people.len().max(1) as u64) as usize).copied();
        let mut case = json!({
            "title": format!("Case {i}: {} v. prosecutor, {region}", defendant.map(|_| "defendant").unwrap_or("unknown")),
            "case_kind": rng.pick(&["criminal", "administrative", "civil"]),
            "status": rng.pick(&["open", "pre_trial", "trial", "appeal", "closed"]),
            "categories": [rng.pick(CATEGORIES)],
            "region": region,
            "opened": format!("{}-{:02}", 2015 + rng.below(10), 1 + rng.below(12)),
            "summary": "Generated case for load testing: detention after a publication, charges under the article on false information."
        });
        if let Some(p) = defendant {
            case["participants"] = json!([{"party": p, "role": "defendant"}]);
        }
        batch.push((Kind::Case, case));
        if batch.len() == 1_000 {
            flush(vault, &mut batch, None)?;
            done += 1_000;
            progress(done, total);
        }
    }
    flush(vault, &mut batch, None)?;
    done = plan.people + plan.cases;
    for i in 0..plan.events {
        let (y, m, d) = (2015 + rng.below(10), 1 + rng.below(12), 1 + rng.below(28));
        batch.push((
            Kind::Event,
            json!({
                "title": format!("Event {i} in {}", rng.pick(REGIONS)),
                "event_type": rng.pick(EVENT_TYPES),
                "date": format!("{y}-{m:02}-{d:02}"),
                "categories": [rng.pick(CATEGORIES)],
                "place": {"country": "KZ", "region": rng.pick(REGIONS)},
                "description": "Generated event for load testing."
            }),
        ));
        if batch.len() == 1_000 {
            flush(vault, &mut batch, None)?;
            done += 1_000;
            progress(done, total);
        }
    }
    flush(vault, &mut batch, None)?;
    progress(total, total);
    Ok(total)
}

/// Queries a monitor types, drawn from the generator's names: Cyrillic, Latin spellings,
/// prefixes and one-letter typos.
pub fn query_set() -> Vec<String> {
    let mut out = Vec::new();
    for root in ROOTS.iter().take(10) {
        let latin0 = transliterate(root);
        out.push(root.to_string());
        out.push(latin0.clone());
        out.push(latin(root, 1));
        out.push(latin0.chars().take(4).collect());
        let mut typo: Vec<char> = latin0.chars().collect();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == 'v' { 'f' } else { 'v' };
        out.push(typo.into_iter().collect());
        out.push(format!("{} {}", GIVEN[out.len() % GIVEN.len()], root));
    }
    out
}
