//! Monitoring reports through the real CLI on the Adil Soz July 2024 example: every figure the
//! example encodes, as JSON; the XLSX read back by an independent reader (openpyxl); publication
//! exports that name nobody.

mod common;

use std::collections::HashMap;

use common::{error_of, TestVault};
use serde_json::Value;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/adilsoz-2024-07.json");

fn vault() -> TestVault {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    v
}

fn rows(report: &Value) -> HashMap<String, Value> {
    report["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|r| (r["code"].as_str().expect("code").to_string(), r.clone()))
        .collect()
}

#[test]
fn the_report_reproduces_the_figures_of_adil_soz_july_2024() {
    let v = vault();
    let july = v.json(&["report", "--from", "2024-07-01", "--to", "2024-07-31"]);
    let by = rows(&july);
    let count = |code: &str| by.get(code).map(|r| r["count"].clone()).unwrap_or(Value::from(0));
    // "11 reports of violations of the rights of journalists, media outlets, and newsmakers, including: 3, 1, 6, 1"
    for (code, n) in [
        ("journalists_rights", 11),
        ("interference_with_journalists", 3),
        ("threat_to_media", 1),
        ("misuse_of_image", 6),
        ("copyright_violation", 1),
        // "26 reports related to the right to freely receive and disseminate information: 19, 1, 1, 5"
        ("right_to_information", 26),
        ("refusal_of_information", 19),
        ("blocking", 1),
        ("media_closure", 1),
        ("cyberattack", 5),
        // "14 reports of pretrial and court claims and lawsuits: 2 criminal, 10 civil, 2 administrative"
        ("legal_pressure", 14),
        ("criminal_accusation", 2),
        ("civil_claim", 10),
        ("administrative_accusation", 2),
    ] {
        assert_eq!(count(code), n, "July 2024, {code}");
    }
    assert_eq!(july["undated"], 1, "the incident dated only \"2024\" is not counted in July");
    let notable: Vec<&str> =
        july["notable"].as_array().expect("notable").iter().filter_map(|n| n["title"].as_str()).collect();
    assert!(notable.iter().any(|t| t.contains("Vera.kz")), "{notable:?}");
    assert_eq!(
        july["regions"]
            .as_array()
            .expect("regions")
            .iter()
            .find(|r| r["code"] == "Shymkent")
            .map(|r| r["count"].clone()),
        Some(Value::from(1))
    );

    // "During the first seven months of 2024, 87 legal cases … 1.5 times more than in the same period last year (55 cases)."
    let ytd = v.json(&["report", "--from", "2024-01-01", "--to", "2024-07-31", "--compare-previous-year"]);
    assert_eq!((ytd["previous_from"].as_str(), ytd["previous_to"].as_str()), (Some("2023-01-01"), Some("2023-07-31")));
    let by = rows(&ytd);
    for (code, now, before, words) in [
        ("legal_pressure", 87, 55, "1.5 times more"),
        ("criminal_accusation", 9, 7, "1.2 times more"),
        ("civil_claim", 57, 35, "1.6 times more"),
        ("administrative_accusation", 21, 13, "1.6 times more"),
        ("defamation_charge", 9, 7, "1.2 times more"),
    ] {
        let row = &by[code];
        assert_eq!((row["count"].as_u64(), row["previous"].as_u64()), (Some(now), Some(before)), "{code}");
        assert_eq!(row["wording"], words, "{code}");
        assert_eq!(row["change"].as_i64(), Some(now as i64 - before as i64), "{code}");
    }

    // A whole-year report counts the incident dated only "2024".
    let year = v.json(&["report", "--from", "2024-01-01", "--to", "2024-12-31"]);
    assert_eq!(year["undated"], 0);
    assert_eq!(year["incidents"].as_u64(), ytd["incidents"].as_u64().map(|n| n + 1));

    // Periods that cut months: only incidents wholly inside count, the rest are undated.
    let cut = v.json(&["report", "--from", "2024-07-11", "--to", "2024-08-15"]);
    assert_eq!(
        (cut["incidents"].as_u64(), cut["undated"].as_u64()),
        (Some(1), Some(51)),
        "only Vera.kz (11–20 July) lies inside"
    );
    let around = v.json(&["report", "--from", "2024-06-15", "--to", "2024-08-31"]);
    assert_eq!(around["incidents"], july["incidents"], "whole July inside, June's month-dated incidents not");

    // Editing and deleting incidents changes the figures at once (the report facts follow every write).
    let vera =
        v.json(&["search", "Vera.kz", "--kind", "event"])["hits"][0]["id"].as_str().expect("Vera.kz").to_string();
    v.cmd().args(["event", "edit", &vera, "--set", "categories=[\"cyberattack\",\"blocking\"]"]).assert().success();
    let edited = rows(&v.json(&["report", "--from", "2024-07-01", "--to", "2024-07-31"]));
    assert_eq!(
        (edited["blocking"]["count"].as_u64(), edited["right_to_information"]["count"].as_u64()),
        (Some(2), Some(26))
    );
    v.cmd().args(["delete", &vera]).assert().success();
    let deleted = rows(&v.json(&["report", "--from", "2024-07-01", "--to", "2024-07-31"]));
    assert_eq!(
        (deleted["cyberattack"]["count"].as_u64(), deleted["right_to_information"]["count"].as_u64()),
        (Some(4), Some(25))
    );
}

#[test]
fn the_xlsx_read_by_openpyxl_matches_the_json() {
    let v = vault();
    let args = ["report", "--from", "2024-01-01", "--to", "2024-07-31", "--compare-previous-year"];
    let json = v.json(&args);
    let xlsx = v.root.path().join("report.xlsx");
    let mut with_out = args.to_vec();
    with_out.extend(["--format", "xlsx", "--out", xlsx.to_str().expect("path")]);
    v.cmd().args(&with_out).assert().success();
    let script = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
rows = list(book["Categories"].iter_rows(values_only=True))
header = rows[0]
print(json.dumps([dict(zip(header, r)) for r in rows[1:]]))
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script, xlsx.to_str().expect("path")])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "openpyxl: {}", String::from_utf8_lossy(&out.stderr));
    let cells: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON from python");
    let expected = json["categories"].as_array().expect("categories");
    assert_eq!(cells.len(), expected.len());
    for (cell, row) in cells.iter().zip(expected) {
        assert_eq!(cell["code"], row["code"]);
        assert_eq!(cell["count"].as_f64(), row["count"].as_f64(), "{}", row["code"]);
        assert_eq!(cell["previous"].as_f64(), row["previous"].as_f64(), "{}", row["code"]);
        assert_eq!(cell["wording"], row["wording"], "{}", row["code"]);
        assert_eq!(cell["label"].as_str().map(str::trim), row["label"].as_str(), "{}", row["code"]);
    }
}

#[test]
fn a_publication_export_names_nobody_and_hides_small_counts() {
    let v = vault();
    let args = ["report", "--from", "2024-07-01", "--to", "2024-07-31", "--aggregate-only", "--suppress-below", "3"];
    let json = v.json(&args);
    assert_eq!(json["notable"].as_array().map(Vec::len), Some(0));
    let by = rows(&json);
    assert_eq!(by["threat_to_media"]["count"], "<3");
    assert_eq!(by["legal_pressure"]["count"], 14);
    assert_eq!(json["regions"][0]["count"], 50);
    for format in ["json", "csv", "html"] {
        let mut all = args.to_vec();
        all.extend(["--format", format]);
        let out = v.cmd().args(&all).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        for secret in ["Vera.kz", "Sadykov", "Placeholder"] {
            assert!(!text.contains(secret), "{format} output names \"{secret}\"");
        }
        let uuid_like = text
            .split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .any(|w| w.len() == 36 && w.matches('-').count() == 4);
        assert!(!uuid_like, "{format} output holds a record id");
        assert!(text.contains("&lt;3") || text.contains("<3"), "{format}: small counts are suppressed");
    }
    let csv =
        v.cmd().args(["report", "--from", "2024-07-01", "--to", "2024-07-31", "--format", "csv"]).assert().success();
    let csv = String::from_utf8_lossy(&csv.get_output().stdout).to_string();
    assert!(csv.lines().any(|l| l.starts_with("category,refusal_of_information,") && l.contains(",19,")), "{csv}");
    let html =
        v.cmd().args(["report", "--from", "2024-07-01", "--to", "2024-07-31", "--format", "html"]).assert().success();
    let html = String::from_utf8_lossy(&html.get_output().stdout).to_string();
    assert!(
        html.contains("<svg") && html.contains("Vera.kz") && !html.contains("<script"),
        "printable, chart, no scripts"
    );
}

#[test]
fn bad_periods_get_clear_errors() {
    let v = vault();
    let (code, status) =
        error_of(v.cmd().args(["--json", "report", "--from", "2024-07-32", "--to", "2024-07-31"]).assert().failure());
    assert_eq!((code.as_str(), status), ("invalid_input", 20));
    let (code, _) =
        error_of(v.cmd().args(["--json", "report", "--from", "2024-08-01", "--to", "2024-07-31"]).assert().failure());
    assert_eq!(code, "invalid_input");
    let (code, _) = error_of(
        v.cmd()
            .args(["--json", "report", "--from", "2024-07-01", "--to", "2024-07-31", "--format", "xlsx"])
            .assert()
            .failure(),
    );
    assert_eq!(code, "invalid_input", "xlsx needs --out");
}
