//! The legal track through the real CLI on the example data: hearing chains, sentences, who is
//! detained on a day, deadlines from their rules, and an ICS file read by Python's `icalendar`.

mod common;

use std::collections::BTreeSet;

use common::{error_of, TestVault};
use serde_json::Value;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/kazakhstan-2023h2.json");
/// Zhylanbaev's first-instance trial, closed to the public (example data).
const ZHYLANBAEV_TRIAL: &str = "354efeaa-e135-5ef7-ab0a-cd4060c300f9";
/// Tabyldieva: restricted freedom plus a five-year ban on public activity.
const TABYLDIEVA_VERDICT: &str = "7c92de4c";

fn example_vault() -> TestVault {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    v
}

fn names(list: &Value, certain: bool) -> BTreeSet<String> {
    list.as_array()
        .expect("array")
        .iter()
        .filter(|c| c["certain"].as_bool() == Some(certain))
        .map(|c| c["name"].as_str().expect("name").to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_closed_hearing_postponed_then_held_keeps_its_chain() {
    let v = example_vault();
    let first = v.add(
        "hearing",
        &[
            &format!("proceeding={ZHYLANBAEV_TRIAL}"),
            "scheduled=2023-11-01T10:00",
            "status=scheduled",
            "closed_door=true",
        ],
    );
    let out = v.json(&["hearings", "postpone", &first, "--to", "2023-11-08T11:30", "--reason", "prosecutor ill"]);
    let second = out["new_hearing"]["id"].as_str().expect("new id").to_string();
    assert_eq!(out["new_hearing"]["closed_door"], true, "the new date keeps the court details");
    v.cmd()
        .args(["hearing", "edit", &second, "--set", "status=held", "--set", "monitor_present=false"])
        .assert()
        .success();

    // Either end of the chain gives the whole chain, oldest first.
    for id in [&first, &second] {
        let chain = v.json(&["hearings", "chain", id]);
        let dates: Vec<(&str, &str)> = chain
            .as_array()
            .expect("chain")
            .iter()
            .map(|h| (h["scheduled"].as_str().expect("date"), h["status"].as_str().expect("status")))
            .collect();
        assert_eq!(dates, [("2023-11-01T10:00", "postponed"), ("2023-11-08T11:30", "held")]);
    }
    assert_eq!(v.json(&["show", &first])["postponement_reason"], "prosecutor ill");
    // The calendar shows the new date with the old one, and the hearing as closed.
    let agenda = v.json(&["calendar", "list", "--from", "2023-11-08", "--to", "2023-11-08"]);
    let item = agenda.as_array().expect("items").iter().find(|i| i["record"] == second.as_str()).expect("listed");
    assert_eq!(item["earlier_dates"], serde_json::json!(["2023-11-01T10:00"]));
    assert_eq!(item["closed_door"], true);

    // The example's own chain: the appeal hearing of 19 September, postponed, held online on 10 November.
    let chain = v.json(&["hearings", "chain", "6cf48e8f-fb66-5282-acf8-d48c3b1a0b4a"]);
    let dates: Vec<&str> =
        chain.as_array().expect("chain").iter().map(|h| h["scheduled"].as_str().expect("d")).collect();
    assert_eq!(dates, ["2023-09-19", "2023-11-10"]);

    // A held hearing cannot be postponed, and a bad date is refused; nothing changes either way.
    let before = v.export();
    let (code, _) =
        error_of(v.cmd().args(["--json", "hearings", "postpone", &second, "--to", "2023-12-01"]).assert().failure());
    assert_eq!(code, "invalid_input");
    let (code, status) =
        error_of(v.cmd().args(["--json", "hearings", "postpone", &first, "--to", "8 Nov"]).assert().failure());
    assert_eq!((code.as_str(), status), ("invalid_input", 20));
    assert_eq!(v.export(), before);
}

#[test]
fn a_multi_part_sentence_round_trips_through_export_and_import() {
    let a = example_vault();
    let decision = a.json(&["show", TABYLDIEVA_VERDICT]);
    let sentence = decision["outcomes"][0]["sentence"].clone();
    assert_eq!(
        sentence,
        serde_json::json!([
            {"type": "restricted_freedom", "years": 1, "months": 6},
            {"type": "activity_ban", "activity": "public and political activities on social media", "years": 5}
        ])
    );
    // A sentence with every part the model knows, added by hand, survives too.
    let full = serde_json::json!([
        {"type": "imprisonment", "years": 7, "regime": "maximum_security"},
        {"type": "suspended", "years": 2, "probation_months": 24},
        {"type": "fine", "mci": 200},
        {"type": "fine", "amount": "1380000", "currency": "KZT"},
        {"type": "administrative_arrest", "days": 15},
        {"type": "activity_ban", "activity": "journalism", "years": 3, "months": 6},
        {"type": "deferral", "until": "2025-06"},
        {"type": "compensation", "amount": "500000", "currency": "KZT", "to": "the victim"}
    ]);
    let outcomes = serde_json::json!([{
        "defendant": decision["outcomes"][0]["defendant"],
        "outcome": "convicted",
        "sentence": full
    }]);
    a.cmd().args(["decision", "edit", TABYLDIEVA_VERDICT, "--set", &format!("outcomes={outcomes}")]).assert().success();
    let exported = a.tmp.join("out.json");
    a.cmd().args(["export", "--out", exported.to_str().expect("path")]).assert().success();
    let b = TestVault::new();
    b.cmd().args(["import", exported.to_str().expect("path")]).assert().success();
    assert_eq!(b.json(&["show", TABYLDIEVA_VERDICT])["outcomes"][0]["sentence"], full);
    assert_eq!(a.export(), b.export(), "the second vault holds exactly what the first exported");
}

#[test]
fn detained_on_lists_the_right_people_for_three_days() {
    let v = example_vault();
    let always = ["Марат Жыланбаев", "Айгерим Тлеужан", "Калас Нурпеисов", "Думан Мухаммедкарим", "Нурлан Канатов"];

    // 7 September: two activists held for two hours that day; two arrests known only to the month.
    let day = v.json(&["detained", "--on", "2023-09-07"]);
    let mut expected = set(&always);
    expected.extend(set(&["Мадина Кокетаева", "Айна Бузик"]));
    assert_eq!(names(&day, true), expected);
    assert_eq!(names(&day, false), set(&["Асет Абишев", "Бибигуль Имангалиева"]));

    // 20 October: Musabaev's 15 days (11–26 October); an October arrest not dated to the day.
    let day = v.json(&["detained", "--on", "2023-10-20"]);
    let mut expected = set(&always);
    expected.insert("Марат Мусабаев".into());
    assert_eq!(names(&day, true), expected);
    assert_eq!(names(&day, false), set(&["Амангельды Батырбеков"]));
    let musabaev = day.as_array().expect("list").iter().find(|c| c["name"] == "Марат Мусабаев").expect("listed");
    assert_eq!((musabaev["days_in_custody"].as_i64(), musabaev["release"].as_str()), (Some(10), Some("2023-10-26")));

    // 14 November: the two Alga activists' last day of 15.
    let day = v.json(&["detained", "--on", "2023-11-14"]);
    let mut expected = set(&always);
    expected.extend(set(&["Жанибека Жунусова", "Асель Онланбеккызы"]));
    assert_eq!(names(&day, true), expected);

    let out = v.cmd().args(["--json", "detained", "--on", "14.11.2023"]).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("write it as YYYY-MM-DD"), "{stderr}");
    assert_eq!(error_of(out), ("invalid_input".to_string(), 20));
}

#[test]
fn appeal_deadlines_are_computed_from_their_rules() {
    let v = example_vault();
    let deadlines = v.json(&["deadlines", "--from", "2023-11-20", "--days", "14"]);
    let found: Vec<(&str, &str, &str)> = deadlines
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (d["date"].as_str().expect("date"), d["deadline"].as_str().expect("kind"), d["detail"].as_str().expect("d"))
        })
        .collect();
    // Kanatov's verdict of Thursday 16 November: 15 days → Friday 1 December (CPC art. 416).
    assert!(
        found.contains(&(
            "2023-12-01",
            "appeal",
            "Appeal against a first-instance verdict (Criminal Procedure Code art. 416)"
        )),
        "{found:?}"
    );
    // Tabyldieva's verdict of Friday 10 November: day 15 is Saturday 25th → Monday 27th.
    let tabyldieva = deadlines
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["record"].as_str().is_some_and(|r| r.starts_with(TABYLDIEVA_VERDICT)));
    assert_eq!(tabyldieva.and_then(|d| d["date"].as_str()), Some("2023-11-27"));
    assert!(deadlines.as_array().expect("list").iter().all(|d| d["unverified"] == true), "seeded rules are unverified");

    // Editing the rule changes the deadline: the rules are data, not code.
    let rule = v.json(&["term", "list", "--filter", "deadline_rule:kz-criminal-appeal"]);
    let rule_id = rule["items"][0]["id"].as_str().expect("rule id").to_string();
    let mut body = v.json(&["show", &rule_id])["rule"].clone();
    body["days"] = 20.into();
    body["verified"] = true.into();
    v.cmd().args(["term", "edit", &rule_id, "--set", &format!("rule={body}")]).assert().success();
    let deadlines = v.json(&["deadlines", "--from", "2023-11-20", "--days", "30"]);
    let kanatov = deadlines
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["record"].as_str().is_some_and(|r| r.starts_with("83898367")))
        .expect("listed");
    assert_eq!((kanatov["date"].as_str(), kanatov["unverified"].as_bool()), (Some("2023-12-06"), Some(false)));
}

const READ_ICS: &str = r#"
import json, sys
from datetime import datetime, timezone
import icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
zones = [str(z['TZID']) for z in cal.walk('VTIMEZONE')]
out = []
for e in cal.walk('VEVENT'):
    start = e.decoded('DTSTART')
    timed = isinstance(start, datetime)
    out.append({
        'uid': str(e['UID']),
        'summary': str(e['SUMMARY']),
        'tzid': e['DTSTART'].params.get('TZID'),
        'local': start.strftime('%Y-%m-%dT%H:%M') if timed else start.isoformat(),
        'utc': start.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ') if timed else None,
        'status': str(e.get('STATUS', '')),
    })
print(json.dumps({'zones': zones, 'events': out}))
"#;

fn read_ics(v: &TestVault, path: &std::path::Path) -> Value {
    // Debian's Python, which sees the apt-installed python3-icalendar (a pyenv python3 may not).
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(READ_ICS)
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "icalendar could not parse the file: {}", String::from_utf8_lossy(&out.stderr));
    let _ = v;
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_ics_export_is_read_by_an_independent_parser_with_the_right_zones() {
    let v = example_vault();
    // Almaty before and after Kazakhstan moved to one zone (UTC+5) on 1 March 2024, and Aqtobe.
    let before = v
        .add("hearing", &[&format!("proceeding={ZHYLANBAEV_TRIAL}"), "scheduled=2024-02-20T10:00", "status=scheduled"]);
    let after = v
        .add("hearing", &[&format!("proceeding={ZHYLANBAEV_TRIAL}"), "scheduled=2024-03-20T10:00", "status=scheduled"]);
    let aqtobe = v.add(
        "hearing",
        &[
            &format!("proceeding={ZHYLANBAEV_TRIAL}"),
            "scheduled=2024-02-20T15:30",
            "time_zone=Asia/Aqtobe",
            "status=scheduled",
        ],
    );
    let file = v.tmp.join("all.ics");
    v.cmd().args(["calendar", "export", "--out", file.to_str().expect("path")]).assert().success();
    let parsed = read_ics(&v, &file);
    let events = parsed["events"].as_array().expect("events");
    let items = v.json(&["calendar", "list"]);
    let items = items.as_array().expect("items");
    assert_eq!(events.len(), items.len(), "one event per calendar item");

    let uids: BTreeSet<&str> = events.iter().map(|e| e["uid"].as_str().expect("uid")).collect();
    assert_eq!(uids.len(), events.len(), "UIDs are unique");
    for item in items {
        let e = events.iter().find(|e| e["uid"] == item["uid"]).expect("every item is in the file");
        match item["time"].as_str() {
            Some(time) => {
                assert_eq!(e["local"].as_str(), Some(format!("{}T{time}", item["date"].as_str().expect("d")).as_str()));
                assert_eq!(e["tzid"], item["time_zone"]);
                assert_eq!(e["utc"], item["utc"]);
            }
            None => assert_eq!(e["local"], item["date"], "all-day events fall on the item's day"),
        }
    }
    let utc_of = |id: &str| {
        events.iter().find(|e| e["uid"].as_str().is_some_and(|u| u.starts_with(id))).expect("event")["utc"].clone()
    };
    assert_eq!(utc_of(&before), "2024-02-20T04:00:00Z", "Almaty was UTC+6 until 1 March 2024");
    assert_eq!(utc_of(&after), "2024-03-20T05:00:00Z", "and UTC+5 after");
    assert_eq!(utc_of(&aqtobe), "2024-02-20T10:30:00Z");
    let zones: BTreeSet<&str> = parsed["zones"].as_array().expect("zones").iter().filter_map(Value::as_str).collect();
    assert_eq!(zones, BTreeSet::from(["Asia/Almaty", "Asia/Aqtobe"]), "a VTIMEZONE for every TZID used");
    let postponed =
        events.iter().find(|e| e["uid"].as_str().is_some_and(|u| u.starts_with("878b0372"))).expect("event");
    assert_eq!(postponed["status"], "CANCELLED", "a postponed date is marked cancelled in calendars");

    // Exporting again after an edit keeps the UIDs, so calendars update the event in place.
    v.cmd().args(["hearing", "edit", &after, "--set", "scheduled=2024-03-21T09:00"]).assert().success();
    let again = v.tmp.join("again.ics");
    v.cmd().args(["calendar", "export", "--out", again.to_str().expect("path")]).assert().success();
    let reparsed = read_ics(&v, &again);
    let uids_again: BTreeSet<&str> =
        reparsed["events"].as_array().expect("events").iter().map(|e| e["uid"].as_str().expect("uid")).collect();
    assert_eq!(uids, uids_again);

    // Per case: only that case's items.
    let case_file = v.tmp.join("case.ics");
    v.cmd()
        .args(["calendar", "export", "--case", "3de761b1", "--out", case_file.to_str().expect("path")])
        .assert()
        .success();
    let case_events = read_ics(&v, &case_file)["events"].as_array().expect("events").len();
    assert!(case_events >= 4 && case_events < events.len(), "{case_events} of {}", events.len());
}
