//! The JSON document format: lossless round trips, all-or-nothing import with the bad record
//! named, idempotence by id, and the real example data.

mod common;

use common::{error_of, TestVault};
use serde_json::Value;

const EVERY_KIND: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/every-kind.json");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/kazakhstan-2023h2.json");

fn round_trip(document: &str) {
    let first = TestVault::new();
    first.cmd().args(["import", document]).assert().success();
    let exported = first.export();
    let file = first.root.path().join("export.json");
    std::fs::write(&file, &exported).expect("write");

    let second = TestVault::new();
    second.cmd().arg("import").arg(&file).assert().success();
    assert_eq!(exported, second.export(), "export → import → export changed the document");

    // Every record of the source document arrived with every field it had.
    let source: Value = serde_json::from_str(&std::fs::read_to_string(document).expect("read")).expect("json");
    let arrived: Value = serde_json::from_str(&exported).expect("json");
    let by_id = |doc: &Value| -> std::collections::HashMap<String, Value> {
        doc["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| (r["id"].as_str().unwrap_or_default().to_string(), r.clone()))
            .collect()
    };
    let arrived = by_id(&arrived);
    for (id, mut record) in by_id(&source) {
        let mut got = arrived.get(&id).unwrap_or_else(|| panic!("record {id} missing after round trip")).clone();
        for v in [&mut record, &mut got] {
            let map = v.as_object_mut().expect("object");
            map.remove("created_at");
            map.remove("updated_at");
            // Defaults (false flags, internal confidentiality, the Almaty zone) are not changes.
            map.retain(|_, v| *v != Value::Bool(false));
            for (k, default) in [("confidentiality", "internal"), ("time_zone", "Asia/Almaty")] {
                if map.get(k).and_then(Value::as_str) == Some(default) {
                    map.remove(k);
                }
            }
        }
        assert_eq!(record, got, "record {id} changed in the round trip");
    }
}

#[test]
fn every_kind_round_trips_losslessly() {
    round_trip(EVERY_KIND);
}

#[test]
fn the_example_round_trips_losslessly() {
    round_trip(EXAMPLE);
}

#[test]
fn import_is_idempotent_by_id() {
    let v = TestVault::new();
    let first = v.json(&["import", EVERY_KIND]);
    assert!(first["created"].as_u64().unwrap_or(0) >= 18);
    let before = v.export();
    let again = v.json(&["import", EVERY_KIND]);
    assert_eq!((again["created"].as_u64(), again["updated"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(before, v.export());
}

#[test]
fn one_bad_record_rejects_the_whole_file_and_names_it() {
    let v = TestVault::new();
    let before = v.export();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(EVERY_KIND).expect("read")).expect("json");
    let case_id = doc["records"][7]["id"].clone();
    let cases: Vec<(usize, &str, Value, &str)> = vec![
        (5, "birth_date", Value::from("1963-02-30"), "birth_date"),
        (7, "categories", serde_json::json!(["no_such_category"]), "categories"),
        (11, "person", Value::from("7b0d9f64-1111-4c3e-9d1b-000000000000"), "person"),
        (11, "person", case_id, "person"),
        (5, "nickname", Value::from("x"), "nickname"),
        (15, "scheduled", Value::from("next Tuesday"), "scheduled"),
    ];
    for (index, field, value, named) in cases {
        let mut bad = doc.clone();
        bad["records"][index][field] = value;
        let file = v.root.path().join("bad.json");
        std::fs::write(&file, serde_json::to_string(&bad).expect("json")).expect("write");
        let assert = v.cmd().arg("import").arg(&file).assert().failure();
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        let (code, exit) = error_of(assert);
        assert_eq!((code.as_str(), exit), ("invalid_record", 20), "{field}: {stderr}");
        let id = bad["records"][index]["id"].as_str().expect("id");
        assert!(
            stderr.contains(id) && stderr.contains(named),
            "error should name record {id} and field {named}: {stderr}"
        );
        assert_eq!(before, v.export(), "a rejected import changed the vault");
    }
    // A duplicated id in one file.
    let mut dup = doc.clone();
    let copy = dup["records"][5].clone();
    dup["records"].as_array_mut().expect("records").push(copy);
    let file = v.root.path().join("dup.json");
    std::fs::write(&file, serde_json::to_string(&dup).expect("json")).expect("write");
    let (code, _) = error_of(v.cmd().arg("import").arg(&file).assert().failure());
    assert_eq!(code, "duplicate");
    // Not an export at all.
    std::fs::write(&file, "[1, 2, 3]").expect("write");
    let (code, _) = error_of(v.cmd().arg("import").arg(&file).assert().failure());
    assert_eq!(code, "invalid_input");
    assert_eq!(before, v.export());
}

#[test]
fn the_example_shows_the_people_of_the_report() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    let people = v.json(&["person", "list", "--all"]);
    let names: Vec<String> = people["items"]
        .as_array()
        .expect("items")
        .iter()
        .flat_map(|p| p["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n["value"].as_str().map(str::to_string))
        .collect();
    for expected in ["Marat Zhylanbaev", "Aigerim Tleuzhan", "Kalas Nurpeisov", "Madina Koketaeva", "Aset Abishev"] {
        assert!(names.iter().any(|n| n.contains(expected)), "{expected} missing from {names:?}");
    }
    assert!(names.iter().any(|n| n.contains("Жыланбаев")), "Cyrillic names missing");
    assert!(v.json(&["case", "list", "--all"])["total"].as_u64().unwrap_or(0) >= 15, "at least 15 cases");
    assert_eq!(v.json(&["check"])["ok"], true);
}

#[test]
fn edits_link_and_delete_are_audited_and_guarded() {
    let v = TestVault::new();
    let person = v.json(&[
        "person",
        "add",
        "--add",
        "names=Жыланбаев Марат",
        "--add",
        "names=Marat Zhylanbaev",
        "--set",
        "birth_date=1963",
    ]);
    let pid = person["id"].as_str().expect("id").to_string();
    assert_eq!(person["birth_date"], "1963", "a year stays a year");
    let case = v.add("case", &["title=Zhylanbaev trial", "case_kind=criminal", "status=trial"]);
    v.cmd().args(["link", &pid, &case, "--role", "defendant"]).assert().success();
    let shown = v.json(&["case", "show", &case]);
    assert_eq!(shown["participants"][0]["party"], pid.as_str());
    // The person cannot be deleted while the case names them.
    let (code, exit) = error_of(v.cmd().args(["person", "delete", &pid]).assert().failure());
    assert_eq!((code.as_str(), exit), ("record_in_use", 22));
    // A role that is not in the vocabulary is refused with the field named.
    let (code, _) = error_of(v.cmd().args(["link", &pid, &case, "--role", "hero"]).assert().failure());
    assert_eq!(code, "invalid_record");
    v.cmd().args(["unlink", &pid, &case]).assert().success();
    v.cmd().args(["person", "delete", &pid]).assert().success();
    let (code, exit) = error_of(v.cmd().args(["person", "show", &pid]).assert().failure());
    assert_eq!((code.as_str(), exit), ("not_found", 21));
    let history = v.json(&["history", &case]);
    let actions: Vec<&str> = history.as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["create", "link", "unlink"]);
    assert_eq!(v.json(&["check"])["ok"], true);
}

#[test]
fn lists_filter_by_status_category_region_and_date() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    let all = v.json(&["case", "list", "--all"])["total"].as_u64().unwrap_or(0);
    let by_status = v.json(&["case", "list", "--all", "--status", "sentence"]);
    let n = by_status["total"].as_u64().unwrap_or(0);
    assert!(n > 0 && n < all, "status filter should select some cases: {n} of {all}");
    for case in by_status["items"].as_array().expect("items") {
        assert_eq!(case["status"], "sentence");
    }
    let extremism = v.json(&["case", "list", "--all", "--category", "extremism_charge"]);
    let titles: Vec<&str> =
        extremism["items"].as_array().expect("items").iter().filter_map(|c| c["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.contains("Zhylanbaev")), "{titles:?}");
    for case in extremism["items"].as_array().expect("items") {
        assert!(case["categories"].as_array().expect("categories").iter().any(|c| c == "extremism_charge"));
    }
    // Events that overlap November 2023, and none that lie wholly outside it.
    let november = v.json(&["event", "list", "--all", "--from", "2023-11-01", "--to", "2023-11-30"]);
    assert!(november["total"].as_u64().unwrap_or(0) > 0);
    for event in november["items"].as_array().expect("items") {
        let date = event["date"].as_str().expect("date");
        let plain = date.trim_start_matches('~');
        let (first, last) = plain.split_once('/').unwrap_or((plain, plain));
        // A year or a month covers up to its last day: "2023" overlaps November 2023.
        let last_day = match last.len() {
            4 => format!("{last}-12-31"),
            7 => format!("{last}-31"),
            _ => last.chars().take(10).collect(),
        };
        assert!(first <= "2023-11-30" && last_day.as_str() >= "2023-11-01", "{date} is outside November 2023");
    }
    // A malformed date is a usage error (exit 2), caught before the vault is opened.
    let bad = v.cmd().args(["event", "list", "--from", "last week"]).assert().failure().code(2);
    assert!(String::from_utf8_lossy(&bad.get_output().stderr).contains("last week"));
}
