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

/// every-kind.json with one change, written next to the vault.
fn variant(v: &TestVault, name: &str, change: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(EVERY_KIND).expect("read")).expect("json");
    change(&mut doc);
    let file = v.root.path().join(name);
    std::fs::write(&file, serde_json::to_string(&doc).expect("json")).expect("write");
    file
}

/// The JSON error of a failed import, its exit status and its message.
fn refused(v: &TestVault, args: &[&str]) -> (String, i32, String) {
    let assert = v.cmd().args(args).assert().failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let (code, exit) = error_of(assert);
    (code, exit, stderr)
}

#[test]
fn bad_input_is_refused_with_its_code_and_the_record_named() {
    let v = TestVault::new();
    v.cmd().args(["import", EVERY_KIND]).assert().success();
    let before = v.export();
    let text = std::fs::read_to_string(EVERY_KIND).expect("read");
    let compact = serde_json::to_string(&serde_json::from_str::<Value>(&text).expect("json")).expect("json");
    let term = |code: &str, parent: &str| {
        serde_json::json!({"id": "0190aaaa-0000-7000-8000-000000000001", "kind": "term",
            "vocabulary": "legal_provision", "code": code, "parent": parent,
            "labels": {"en": "x", "ru": "x", "kk": "x"}})
    };
    let root = v.root.path().to_path_buf();
    let raw = |name: &str, bytes: Vec<u8>| {
        let file = root.join(name);
        std::fs::write(&file, bytes).expect("write");
        file
    };
    // (file, code, texts the message must hold)
    let cases: Vec<(std::path::PathBuf, &str, Vec<&str>)> = vec![
        (
            // A key twice inside a record's nested object: serde_json would keep the last value.
            raw(
                "dup.json",
                compact
                    .replacen(r#"{"value":"Marat Zhylanbaev""#, r#"{"value":"Other","value":"Marat Zhylanbaev""#, 1)
                    .into(),
            ),
            "invalid_record",
            vec!["#7", "names[1].value", "twice"],
        ),
        (
            raw("dup-top.json", compact.replacen(r#""kind":"person""#, r#""kind":"person","kind":"person""#, 1).into()),
            "invalid_record",
            vec!["#7", "kind"],
        ),
        (
            raw("bom.json", [b"\xEF\xBB\xBF".as_slice(), compact.as_bytes()].concat()),
            "invalid_input",
            vec!["byte-order mark"],
        ),
        (
            variant(&v, "big.json", |d| d["records"][6]["names"][0]["value"] = Value::from("x".repeat(10 << 20))),
            "invalid_record",
            vec!["#7", "names[0].value", "at most 1,000"],
        ),
        (
            variant(&v, "long-list.json", |d| d["records"][8]["categories"] = serde_json::json!(vec!["x"; 10_001])),
            "invalid_record",
            vec!["#9", "categories", "at most 10,000"],
        ),
        (
            variant(&v, "self.json", |d| {
                d["records"].as_array_mut().expect("records").push(term("kz-cc-999", "kz-cc-999"))
            }),
            "invalid_record",
            vec!["#20", "parent", "own code"],
        ),
        (
            variant(&v, "orphan.json", |d| {
                d["records"].as_array_mut().expect("records").push(term("kz-cc-999", "kz-cc-nope"))
            }),
            "invalid_record",
            vec!["#20", "parent", "kz-cc-nope"],
        ),
    ];
    for (file, code, texts) in cases {
        for dry in [false, true] {
            let mut args = vec!["import"];
            if dry {
                args.push("--dry-run");
            }
            let path = file.to_str().expect("path");
            args.push(path);
            let (got, exit, stderr) = refused(&v, &args);
            assert_eq!((got.as_str(), exit), (code, 20), "{path}: {stderr}");
            for t in &texts {
                assert!(stderr.contains(t), "{path}: the error should say {t:?}: {stderr}");
            }
            assert_eq!(before, v.export(), "{path}: a refused import changed the vault");
        }
    }
    // Bytes that are not UTF-8 (Latin-1 é in a name): invalid_input naming the record, not io_error.
    let latin1 = root.join("latin1.json");
    let bytes = compact.replacen("Lawyer X", "Lawyer \u{1}", 1).into_bytes();
    let bytes: Vec<u8> = bytes.into_iter().map(|b| if b == 1 { 0xE9 } else { b }).collect();
    std::fs::write(&latin1, bytes).expect("write");
    let (code, exit, stderr) = refused(&v, &["import", latin1.to_str().expect("path")]);
    assert_eq!((code.as_str(), exit), ("invalid_input", 20), "{stderr}");
    assert!(stderr.contains("not UTF-8") && stderr.contains("record #8"), "{stderr}");
    assert_eq!(before, v.export());
}

#[test]
fn dry_run_shows_the_changes_a_plain_import_refuses_them_and_update_applies_them() {
    let v = TestVault::new();
    v.cmd().args(["import", EVERY_KIND]).assert().success();
    let before = v.export();
    let changed = variant(&v, "changed.json", |d| {
        d["records"][6]["birth_date"] = Value::from("1964");
        d["records"][6]["notes"] = Value::from("n".repeat(500));
    });
    let file = changed.to_str().expect("path");

    let preview = v.json(&["import", "--dry-run", file]);
    assert_eq!((preview["created"].as_u64(), preview["updated"].as_u64()), (Some(0), Some(1)), "{preview}");
    assert_eq!(preview["unchanged"].as_u64(), Some(18), "{preview}");
    let change = &preview["changes"][0];
    assert_eq!((change["position"].as_u64(), change["kind"].as_str()), (Some(7), Some("person")), "{change}");
    let fields = change["fields"].as_array().expect("fields");
    let field = |name: &str| fields.iter().find(|f| f["field"] == name).unwrap_or_else(|| panic!("{name}: {change}"));
    assert_eq!(
        (field("birth_date")["before"].as_str(), field("birth_date")["after"].as_str()),
        (Some("\"~1963\""), Some("\"1964\""))
    );
    let notes = field("notes")["after"].as_str().expect("after");
    assert!(notes.len() < 200 && notes.contains("502 characters"), "a long value is shortened: {notes}");
    assert_eq!(fields.len(), 2, "only the changed fields: {change}");
    let text = v.cmd().args(["import", "--dry-run", file]).assert().success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert!(text.contains("birth_date: \"~1963\" → \"1964\"") && text.contains("update 1"), "{text}");
    assert_eq!(before, v.export(), "a dry run wrote something");

    let (code, exit, stderr) = refused(&v, &["import", file]);
    assert_eq!((code.as_str(), exit), ("confirmation_needed", 23), "{stderr}");
    assert!(stderr.contains("--dry-run") && stderr.contains("--update"), "{stderr}");
    assert_eq!(before, v.export(), "a refused update wrote something");

    let applied = v.json(&["import", "--update", file]);
    assert_eq!((applied["updated"].as_u64(), applied["unchanged"].as_u64()), (Some(1), Some(18)), "{applied}");
    let after = v.export();
    assert!(after.contains("\"birth_date\": \"1964\"") && !after.contains("~1963"), "the update was not applied");
    // The same file again: nothing to update, so no confirmation is needed.
    let again = v.json(&["import", file]);
    assert_eq!((again["updated"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(19)), "{again}");
    assert_eq!(after, v.export());
}
