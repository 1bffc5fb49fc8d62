//! What the seed reports say, kept as structure through the real CLI and a real vault: groups
//! with counts, the KNB verdict for eleven officers entered in three commands, a fine of "about
//! 200 EUR", a child victim with no birth date, a hearing the press was refused, a hunger strike,
//! custody moved between places; each survives export → import and a bundle. Reports limited to
//! a programme, month on month, the custody census and prison years; version-1 documents.

mod common;

use std::collections::BTreeMap;

use common::TestVault;
use serde_json::Value;

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed-situations.json");
const ADILSOZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/adilsoz-2024-07.json");
const V1_DOCUMENTS: [&str; 3] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/adilsoz-2024-07-v1.json"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/kazakhstan-2023h2.json"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/every-kind.json"),
];

const ZHYLANBAEV: &str = "5eed0000-0000-4000-8000-000000000010";
const AIKORKEM: &str = "5eed0000-0000-4000-8000-000000000011";
const ORGANISER: &str = "5eed0000-0000-4000-8000-000000000012";
const PRISON_GROUP: &str = "5eed0000-0000-4000-8000-000000000020";
const SUSPENDED_GROUP: &str = "5eed0000-0000-4000-8000-000000000021";
const PLAINTIFFS: &str = "5eed0000-0000-4000-8000-000000000023";
const KNB_CASE: &str = "5eed0000-0000-4000-8000-000000000030";
const KNB_VERDICT: &str = "5eed0000-0000-4000-8000-000000000036";
const CHARGE_146: &str = "5eed0000-0000-4000-8000-000000000033";
const CHARGE_362: &str = "5eed0000-0000-4000-8000-000000000034";
const CHARGE_NO_ARTICLE: &str = "5eed0000-0000-4000-8000-000000000035";
const RFE_CASE: &str = "5eed0000-0000-4000-8000-000000000040";
const RFE_FINE: &str = "5eed0000-0000-4000-8000-000000000043";
const ZHYLANBAEV_CASE: &str = "5eed0000-0000-4000-8000-000000000050";
const CLOSED_HEARING: &str = "5eed0000-0000-4000-8000-000000000054";
const HUNGER_STRIKE: &str = "5eed0000-0000-4000-8000-000000000055";
const MELDEKHAN_CASE: &str = "5eed0000-0000-4000-8000-000000000060";
const MELDEKHAN_KILLING: &str = "5eed0000-0000-4000-8000-000000000061";
const PLAINTIFFS_CASE: &str = "5eed0000-0000-4000-8000-000000000070";

/// The seed situations imported, and the KNB verdict's outcomes added as a user would: one
/// command per outcome, however many defendants share it.
fn seeded() -> TestVault {
    let v = TestVault::new();
    v.cmd().args(["import", SEED]).assert().success();
    let imprisonment = r#"{"type":"imprisonment","years":3,"max_years":5}"#;
    v.json(&[
        "outcomes",
        "add",
        KNB_VERDICT,
        "--defendant",
        PRISON_GROUP,
        "--outcome",
        "convicted",
        "--charge",
        CHARGE_146,
        "--sentence",
        imprisonment,
    ]);
    v.json(&[
        "outcomes",
        "add",
        KNB_VERDICT,
        "--defendant",
        SUSPENDED_GROUP,
        "--outcome",
        "convicted",
        "--charge",
        CHARGE_362,
        "--sentence",
        r#"{"type":"suspended","years":3}"#,
    ]);
    v.json(&[
        "outcomes",
        "add",
        KNB_VERDICT,
        "--defendant",
        ORGANISER,
        "--outcome",
        "acquitted",
        "--charge",
        CHARGE_NO_ARTICLE,
    ]);
    v
}

fn show(v: &TestVault, id: &str) -> Value {
    v.json(&["show", id])
}

fn headcount(v: &TestVault, party: &str) -> u64 {
    let record = show(v, party);
    match record["kind"].as_str() {
        Some("group") => record["count"].as_u64().or_else(|| record["count"]["value"].as_u64()).expect("count"),
        _ => 1,
    }
}

#[test]
fn the_seed_reports_situations_are_structure() {
    let v = seeded();

    // "The court sentenced seven KGB officers to prison terms of three to five years, and three
    // others to three year suspended prison terms … One officer was acquitted."
    let verdict = show(&v, KNB_VERDICT);
    let outcomes = verdict["outcomes"].as_array().expect("outcomes");
    assert_eq!(outcomes.len(), 3);
    let defendants: u64 = outcomes.iter().map(|o| headcount(&v, o["defendant"].as_str().expect("defendant"))).sum();
    assert_eq!(defendants, 11, "eleven officers, each with an outcome");
    let by_outcome = |code: &str| -> u64 {
        outcomes
            .iter()
            .filter(|o| o["outcome"] == code)
            .map(|o| headcount(&v, o["defendant"].as_str().expect("defendant")))
            .sum()
    };
    assert_eq!((by_outcome("convicted"), by_outcome("acquitted")), (10, 1));
    assert_eq!(outcomes[0]["sentence"][0], serde_json::json!({"type": "imprisonment", "years": 3, "max_years": 5}));
    // The same defendant twice on one decision is refused, and the decision is unchanged.
    let again = v
        .cmd()
        .args(["--json", "outcomes", "add", KNB_VERDICT, "--defendant", ORGANISER, "--outcome", "convicted"])
        .assert()
        .failure();
    assert_eq!(common::error_of(again).0, "duplicate");
    assert_eq!(show(&v, KNB_VERDICT)["outcomes"].as_array().map(Vec::len), Some(3));
    // A charge the report gives no article for is kept in words.
    let charge = show(&v, CHARGE_NO_ARTICLE);
    assert!(charge.get("provision").is_none() && charge["description"].as_str().is_some_and(|d| d.contains("torture")));

    // "fined it an equivalent of about 200 EUR"
    let fine = &show(&v, RFE_FINE)["outcomes"][0]["sentence"][0];
    assert_eq!(
        (fine["type"].as_str(), fine["amount"].as_str(), fine["currency"].as_str()),
        (Some("fine"), Some("200"), Some("EUR"))
    );
    assert_eq!(fine["approximate"], true);

    // A group of ten plaintiffs; a member named later joins it without it losing its history.
    assert_eq!(headcount(&v, PLAINTIFFS), 10);
    let member = v.add("person", &["names=[{\"value\":\"Named plaintiff\"}]"]);
    v.cmd().args(["group", "edit", PLAINTIFFS, "--set", &format!("members=[\"{member}\"]")]).assert().success();
    let group = show(&v, PLAINTIFFS);
    assert_eq!((group["count"].as_u64(), group["members"][0].as_str()), (Some(10), Some(member.as_str())));
    assert_eq!(v.json(&["history", PLAINTIFFS]).as_array().map(Vec::len), Some(2), "created, then a member named");
    let referrers = v.json(&["show", PLAINTIFFS_CASE]);
    assert_eq!(referrers["participants"][0]["party"], PLAINTIFFS);

    // Custody moved between places: each day shows him once, where he was.
    for (day, place) in
        [("2023-05-10", None), ("2023-12-01", Some("Pre-trial detention centre")), ("2024-03-01", Some("Penal colony"))]
    {
        let held = v.json(&["detained", "--on", day]);
        let rows: Vec<&Value> = held.as_array().expect("list").iter().filter(|c| c["person"] == ZHYLANBAEV).collect();
        assert_eq!(rows.len(), 1, "{day}: {held}");
        if let Some(place) = place {
            assert!(rows[0]["place"].as_str().is_some_and(|p| p.contains(place)), "{day}: {}", rows[0]);
        }
    }
    let text = v.cmd().args(["detained", "--on", "2024-03-01"]).assert().success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert_eq!(text.matches("Марат Жыланбаев").count(), 1, "{text}");
    assert!(text.contains("Penal colony"), "{text}");

    // "his family, supporters, observers and journalists were not allowed to attend"
    let hearing = show(&v, CLOSED_HEARING);
    assert!(hearing["access_refused_to"].as_array().expect("list").iter().any(|p| p == "press"));
    // "Zhylanbaev sewed his mouth shut and launched a hunger strike"
    let strike = show(&v, HUNGER_STRIKE);
    assert_eq!(
        (strike["event_type"].as_str(), strike["happened_at"].as_str()),
        (Some("hunger_strike"), Some(CLOSED_HEARING))
    );
    // "four-year-old Aikorkem Meldekhan": an age at the time, no birth date.
    let killing = show(&v, MELDEKHAN_KILLING);
    assert_eq!(
        (killing["participants"][0]["age"].as_u64(), killing["participants"][0]["child"].as_bool()),
        (Some(4), Some(true))
    );
    assert!(show(&v, AIKORKEM).get("birth_date").is_none());
    assert_eq!(show(&v, ZHYLANBAEV)["recognitions"][0]["status"], "release_called");
    // Groups are found by search like people.
    let hits = v.json(&["search", "suspended sentences"]);
    assert!(hits["hits"].as_array().expect("hits").iter().any(|h| h["id"] == SUSPENDED_GROUP), "{hits}");

    // Export → import into a fresh vault → the same export, byte for byte.
    let exported = v.export();
    let doc: Value = serde_json::from_str(&exported).expect("export JSON");
    assert_eq!(doc["version"], 2);
    let file = v.root.path().join("export.json");
    std::fs::write(&file, &exported).expect("write");
    let other = TestVault::new();
    other.cmd().args(["import", file.to_str().expect("path")]).assert().success();
    assert_eq!(other.export(), exported, "the round trip loses nothing");

    // Through a bundle to a partner: every record that travels arrives field for field.
    let partner = TestVault::new();
    let to = common::befriend(&v, &partner, "Partner NGO");
    common::befriend(&partner, &v, "Monitoring NGO");
    let bundle = v.root.path().join("seed.casebundle");
    let mut args = vec!["bundle", "export", "--to", &to, "--out", bundle.to_str().expect("path")];
    for case in [KNB_CASE, RFE_CASE, ZHYLANBAEV_CASE, MELDEKHAN_CASE, PLAINTIFFS_CASE] {
        args.extend(["--case", case]);
    }
    v.json(&args);
    partner.json(&["bundle", "import", bundle.to_str().expect("path")]);
    let sent: BTreeMap<String, Value> = records(&exported);
    let arrived = records(&partner.export());
    for id in [
        KNB_VERDICT,
        PRISON_GROUP,
        PLAINTIFFS,
        RFE_FINE,
        CLOSED_HEARING,
        HUNGER_STRIKE,
        MELDEKHAN_KILLING,
        "5eed0000-0000-4000-8000-000000000052",
    ] {
        assert_eq!(arrived.get(id).map(strip_times), sent.get(id).map(strip_times), "{id} through the bundle");
    }
}

fn records(export: &str) -> BTreeMap<String, Value> {
    let doc: Value = serde_json::from_str(export).expect("export JSON");
    doc["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| (r["id"].as_str().expect("id").to_string(), r.clone()))
        .collect()
}

/// A record without its timestamps (a bundle import stamps its own `updated_at`).
fn strip_times(record: &Value) -> Value {
    let mut r = record.clone();
    if let Some(map) = r.as_object_mut() {
        map.remove("created_at");
        map.remove("updated_at");
    }
    r
}

#[test]
fn reports_by_programme_month_on_month_with_the_legal_track() {
    let v = seeded();
    v.cmd().args(["import", ADILSOZ]).assert().success();

    // November 2023: the RFE/RL fine (media freedom) and the activists sentenced outside the
    // court, dated only "~2023-11" (political persecution).
    let all = v.json(&["report", "--from", "2023-11-01", "--to", "2023-11-30"]);
    assert_eq!((all["incidents"].as_u64(), all["approximate"].as_u64()), (Some(2), Some(1)));
    let media = v.json(&["report", "--from", "2023-11-01", "--to", "2023-11-30", "--programme", "media_freedom"]);
    assert_eq!((media["incidents"].as_u64(), media["approximate"].as_u64()), (Some(1), Some(0)));
    assert_eq!(media["programme"], "media_freedom");
    let row = |report: &Value, code: &str| {
        report["categories"].as_array().expect("rows").iter().find(|r| r["code"] == code).cloned()
    };
    assert!(row(&media, "assembly_penalty").is_none(), "another programme's event is not counted");
    let persecution =
        v.json(&["report", "--from", "2023-11-01", "--to", "2023-11-30", "--programme", "political_persecution"]);
    assert_eq!(persecution["incidents"], 1);
    let penalty = row(&persecution, "assembly_penalty").expect("row");
    assert_eq!((penalty["count"].as_u64(), penalty["approximate"].as_u64()), (Some(1), Some(1)));
    assert_eq!(persecution["victims"], 6, "a group of at least six counts six people, not one");
    assert!(persecution["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .any(|n| n.as_str().is_some_and(|n| n.contains("approximately"))));
    // The Adil Soz July figures stay whole under their programme.
    let july = v.json(&["report", "--from", "2024-07-01", "--to", "2024-07-31", "--programme", "media_freedom"]);
    assert_eq!(row(&july, "journalists_rights").map(|r| r["count"].clone()), Some(Value::from(11)));
    let unknown = v
        .cmd()
        .args(["--json", "report", "--from", "2024-07-01", "--to", "2024-07-31", "--programme", "sport"])
        .assert()
        .failure();
    assert_eq!(common::error_of(unknown).0, "invalid_input");

    // Month on month: November against October (the hunger strike, late October).
    let mom = v.json(&[
        "report",
        "--from",
        "2023-11-01",
        "--to",
        "2023-11-30",
        "--compare-previous-period",
        "--programme",
        "political_persecution",
    ]);
    assert_eq!((mom["previous_from"].as_str(), mom["previous_to"].as_str()), (Some("2023-10-01"), Some("2023-10-31")));
    assert_eq!((mom["comparison"].as_str(), mom["previous_incidents"].as_u64()), (Some("previous_period"), Some(1)));
    let closed = row(&mom, "closed_trial").expect("closed trial row");
    assert_eq!((closed["count"].as_u64(), closed["previous"].as_u64()), (Some(0), Some(1)));

    // A month the Adil Soz report gives only inside a year-to-date total.
    let march = v.json(&["report", "--from", "2024-03-01", "--to", "2024-03-31", "--programme", "media_freedom"]);
    assert_eq!((march["incidents"].as_u64(), march["undated"].as_u64()), (Some(0), Some(74)));
    assert_eq!(march["wider"][0]["from"], "2024-01-01");
    assert!(
        march["notes"][0].as_str().is_some_and(|n| n.contains("come only from period totals")),
        "{}",
        march["notes"]
    );

    // The legal track: custody on a day, administrative arrest days, prison years handed down.
    let december = v.json(&["report", "--from", "2023-12-01", "--to", "2023-12-31", "--custody-on", "2023-12-01"]);
    let legal = &december["legal"];
    assert_eq!(legal["in_custody"], 1, "Zhylanbaev, once");
    assert_eq!(
        (legal["prison_sentences"].as_u64(), legal["prison_years"].as_f64(), legal["prison_years_max"].as_f64()),
        (Some(7), Some(21.0), Some(35.0))
    );
    let torture = &legal["prison_years_by_charge"][0];
    assert_eq!(
        (torture["code"].as_str(), torture["label"].as_str(), torture["people"].as_u64()),
        (Some("kz-cc-146"), Some("Torture"), Some(7))
    );
    assert_eq!(legal["prison_years_by_region"][0]["code"], "Almaty");
    let november = v.json(&["report", "--from", "2023-11-01", "--to", "2023-11-30"]);
    let legal = &november["legal"];
    assert_eq!(
        (
            legal["administrative_arrests"].as_u64(),
            legal["administrative_arrest_days"].as_u64(),
            legal["administrative_arrest_days_max"].as_u64()
        ),
        (Some(6), Some(90), Some(120))
    );
    let media_legal = v.json(&["report", "--from", "2023-12-01", "--to", "2023-12-31", "--programme", "media_freedom"]);
    assert_eq!(
        (media_legal["legal"]["prison_sentences"].as_u64(), media_legal["legal"]["in_custody"].as_u64()),
        (Some(0), Some(0))
    );

    // The approximate mark in CSV, HTML and XLSX (read back by openpyxl).
    let csv =
        v.cmd().args(["report", "--from", "2023-11-01", "--to", "2023-11-30", "--format", "csv"]).assert().success();
    let csv = String::from_utf8_lossy(&csv.get_output().stdout).to_string();
    assert!(csv.lines().next().is_some_and(|h| h.ends_with(",approximate")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("total,approximate,approximate,0,1,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("category,assembly_penalty,") && l.ends_with(",1")), "{csv}");
    let html =
        v.cmd().args(["report", "--from", "2023-11-01", "--to", "2023-11-30", "--format", "html"]).assert().success();
    let html = String::from_utf8_lossy(&html.get_output().stdout).to_string();
    assert!(html.contains("of which 1 approximately dated"), "{html}");
    let xlsx = v.root.path().join("november.xlsx");
    v.cmd()
        .args([
            "report",
            "--from",
            "2023-11-01",
            "--to",
            "2023-11-30",
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().expect("p"),
        ])
        .assert()
        .success();
    let script = r#"
import sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r[0]}
print(summary["of which approximately dated"])
header = next(book["Categories"].iter_rows(values_only=True))
col = header.index("approximate")
for r in book["Categories"].iter_rows(min_row=2, values_only=True):
    if r[0] == "assembly_penalty":
        print(r[col])
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script, xlsx.to_str().expect("p")])
        .output()
        .expect("python3");
    assert!(out.status.success(), "openpyxl: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>(), ["1", "1"]);
}

#[test]
fn version_1_documents_import_unchanged_and_export_as_version_2() {
    for path in V1_DOCUMENTS {
        let text = std::fs::read_to_string(path).expect("document");
        let doc: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(doc["version"], 1, "{path} is a version-1 document");
        let v = TestVault::new();
        v.cmd().args(["import", path]).assert().success();
        let exported = v.export();
        let after = records(&exported);
        assert_eq!(serde_json::from_str::<Value>(&exported).expect("export")["version"], 2);
        for record in doc["records"].as_array().expect("records") {
            let id = record["id"].as_str().expect("id");
            let mut expected = record.clone();
            let mut got = after.get(id).cloned().unwrap_or(Value::Null);
            // Timestamps a document leaves out are the import's; compare the rest field by field.
            for key in ["created_at", "updated_at"] {
                if record.get(key).is_none() {
                    if let Some(m) = got.as_object_mut() {
                        m.remove(key);
                    }
                }
            }
            // A field written as its default (false, an empty list, null) means what leaving it out does.
            let is_default =
                |v: &Value| v.is_null() || *v == Value::Bool(false) || v.as_array().is_some_and(Vec::is_empty);
            let kept = got.clone();
            if let Some(m) = expected.as_object_mut() {
                m.retain(|k, v| !is_default(v) || kept.get(k).is_some());
            }
            assert_eq!(got, expected, "{path}: record {id}");
        }
        let file = v.root.path().join("v2.json");
        std::fs::write(&file, &exported).expect("write");
        let again = TestVault::new();
        again.cmd().args(["import", file.to_str().expect("path")]).assert().success();
        assert_eq!(again.export(), exported, "{path}: the version-2 export imports to the same vault");
    }
}
