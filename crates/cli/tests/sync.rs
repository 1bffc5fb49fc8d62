//! Team sync end to end: real PostgreSQL (a throwaway cluster), the real `casebook-server`
//! binary and real CLI vaults.

mod common;

use common::pg::{Cluster, Server};
use common::{contains, error_of, TestVault, PASSPHRASE};
use serde_json::Value;

/// A team of `n` vaults on `server`; the first created it, the others joined by invitation.
pub fn team(server: &Server, n: usize) -> Vec<TestVault> {
    let (team, token) = server.create_team("Test NGO");
    let first = TestVault::new();
    let created = first.json(&["team", "create", "--server", &server.url, "--team", &team, "--token", &token]);
    let fingerprint = created["team_fingerprint"].as_str().expect("fingerprint").to_string();
    let mut vaults = vec![first];
    for _ in 1..n {
        let v = TestVault::new();
        let invitation = vaults[0].root.path().join(format!("invite-{}.json", vaults.len()));
        vaults[0].json(&["team", "invite", "--out", invitation.to_str().expect("path")]);
        let joined = v.json(&["team", "join", invitation.to_str().expect("path")]);
        assert_eq!(joined["team_fingerprint"].as_str(), Some(fingerprint.as_str()), "both sides show one fingerprint");
        vaults.push(v);
    }
    vaults
}

fn sync(v: &TestVault) -> Value {
    v.json(&["sync"])
}

/// The export without the vault's own identity: what the team shares.
fn shared(v: &TestVault) -> String {
    v.export()
}

#[test]
fn a_record_made_on_one_device_arrives_on_the_others_and_an_invitation_works_once() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let vaults = team(&server, 3);
    let person = vaults[0].add("person", &[r#"names=[{"value":"Жыланбаев Нурлан"}]"#]);
    sync(&vaults[0]);
    for v in &vaults[1..] {
        let report = sync(v);
        assert!(report["pulled"]["changes"].as_u64().expect("changes") > 0);
        assert_eq!(v.json(&["show", &person])["names"][0]["value"], "Жыланбаев Нурлан");
    }
    // B edits, A and C learn it.
    vaults[1].cmd().args(["person", "edit", &person, "--set", "notes=Held in SIZO-1"]).assert().success();
    sync(&vaults[1]);
    sync(&vaults[0]);
    sync(&vaults[2]);
    let reference = shared(&vaults[0]);
    assert!(reference.contains("Held in SIZO-1"));
    for v in &vaults[1..] {
        assert_eq!(shared(v), reference);
    }
    let status = vaults[0].json(&["sync", "status"]);
    assert_eq!(status["pending_changes"], 0);
    assert_eq!(status["conflicts"], 0);
    assert!(status["last_synced"].is_string());

    // The invitation file the second device used does not work again.
    let late = TestVault::new();
    let used = vaults[0].root.path().join("invite-1.json");
    let (code, status) =
        error_of(late.cmd().args(["--json", "team", "join", used.to_str().expect("path")]).assert().failure());
    assert_eq!((code.as_str(), status), ("sync_invite_invalid", 50));
    assert!(late.json(&["sync", "status"])["team"].is_null(), "the refused join left the vault out of the team");
}

#[test]
fn the_server_holds_only_ciphertext_and_refuses_what_it_cannot_trust() {
    const CANARY: &str = "CANARY-Qx7Zhylanbaev";
    let cluster = Cluster::start();
    let mut server = Server::start(&cluster);
    let vaults = team(&server, 3);
    let (a, b, c) = (&vaults[0], &vaults[1], &vaults[2]);
    let person =
        a.add("person", &[&format!(r#"names=[{{"value":"{CANARY} Person"}}]"#), &format!("notes=notes {CANARY}")]);
    let photo = a.root.path().join("notice.txt");
    std::fs::write(&photo, format!("court notice {CANARY} {}", "x".repeat(300_000))).expect("file");
    a.cmd().args(["attach", &person, photo.to_str().expect("path")]).assert().success();
    sync(a);
    sync(b);
    let exported = shared(b);
    assert!(exported.contains(CANARY), "B received the records");
    let attachments = b.json(&["attachment", "list"]);
    let attachment = attachments["items"][0]["id"].as_str().expect("attachment").to_string();
    let saved = b.root.path().join("saved.txt");
    b.cmd().args(["save-copy", &attachment, "--out", saved.to_str().expect("path")]).assert().success();
    assert_eq!(std::fs::read(&saved).expect("saved"), std::fs::read(&photo).expect("photo"), "the file arrived whole");

    let dump = cluster.pg_dump();
    assert!(dump.len() > 10_000, "the dump holds the batches");
    assert!(!contains(&dump, CANARY.as_bytes()), "pg_dump shows no canary");
    assert!(!contains(&dump, "Person".as_bytes()), "pg_dump shows no field value");
    let log = std::fs::read(&server.log).expect("log");
    assert!(!log.is_empty());
    assert!(!contains(&log, CANARY.as_bytes()), "the server log shows no canary");

    // A byte flipped in a stored batch: B refuses it and keeps its vault as it was.
    a.cmd().args(["person", "edit", &person, "--set", "notes=second version"]).assert().success();
    sync(a);
    cluster.psql(
        "UPDATE batches SET ciphertext = set_byte(ciphertext, 7, get_byte(ciphertext, 7) # 1) WHERE id = (SELECT max(id) FROM batches)",
    );
    let before = shared(b);
    let (code, status) = error_of(b.cmd().args(["--json", "sync"]).assert().failure());
    assert_eq!((code.as_str(), status), ("sync_batch_tampered", 50));
    assert_eq!(shared(b), before, "nothing of the tampered pull was applied");
    cluster.psql(
        "UPDATE batches SET ciphertext = set_byte(ciphertext, 7, get_byte(ciphertext, 7) # 1) WHERE id = (SELECT max(id) FROM batches)",
    );
    sync(b);
    assert!(shared(b).contains("second version"), "once repaired, the batch applies");

    // A revoked device is refused, and keeps what it had.
    let devices = a.json(&["team", "devices"]);
    assert_eq!(devices.as_array().expect("devices").len(), 3);
    let c_device = c.json(&["sync", "status"])["device"].as_str().expect("device").to_string();
    sync(c);
    a.cmd().args(["team", "revoke", &c_device]).assert().success();
    c.cmd().args(["person", "edit", &person, "--set", "notes=from a revoked device"]).assert().success();
    let (code, status) = error_of(c.cmd().args(["--json", "sync"]).assert().failure());
    assert_eq!((code.as_str(), status), ("sync_device_revoked", 50));
    assert!(shared(c).contains(CANARY), "the revoked device keeps what it already had");
    sync(a);
    sync(b);
    assert!(!shared(b).contains("from a revoked device"));
    // After the new key, the remaining devices still exchange changes.
    b.cmd().args(["person", "edit", &person, "--set", "notes=after the revocation"]).assert().success();
    sync(b);
    sync(a);
    assert!(shared(a).contains("after the revocation"));
    assert_eq!(a.json(&["sync", "status"])["epoch"], 2);

    server.kill();
    let log = std::fs::read(&server.log).expect("log");
    assert!(!contains(&log, CANARY.as_bytes()) && !contains(&log, b"after the revocation"));
    let _ = PASSPHRASE;
}

// ------------------------------------------------------------------------------- a simulated week

use casebook_core::generate::Rng;
use casebook_core::{Kind, Passphrase, Unlock, Vault};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// One write of a scalar field (or a delete, `field` = "_deleted"), as the workload made it.
#[derive(Clone, Debug)]
struct Write {
    device: usize,
    step: u64,
    record: Uuid,
    field: &'static str,
    value: String,
}

struct Ledger {
    writes: Vec<Write>,
    /// Steps at which each device synced successfully (push, then pull).
    syncs: Vec<Vec<u64>>,
}

impl Ledger {
    /// Whether device `who` had seen `w` when it wrote at `step`.
    fn saw(&self, w: &Write, who: usize, step: u64) -> bool {
        if w.device == who {
            return w.step < step;
        }
        self.syncs[w.device]
            .iter()
            .filter(|s| **s > w.step)
            .any(|pushed| self.syncs[who].iter().any(|pulled| pulled > pushed && *pulled < step))
    }
}

fn open(v: &TestVault) -> Vault {
    Vault::open(&v.dir, Unlock::Passphrase(&Passphrase::new(PASSPHRASE.into()))).expect("open vault")
}

fn live(v: &Vault, kind: Kind) -> Vec<Uuid> {
    let options = casebook_core::ListOptions { limit: 100_000, ..Default::default() };
    v.list(kind, &options).expect("list").0.into_iter().map(|s| s.id).collect()
}

/// One random edit on device `who`; returns whether a write was made.
fn work(v: &mut Vault, rng: &mut Rng, who: usize, step: u64, ledger: &mut Ledger) -> bool {
    let cases = live(v, Kind::Case);
    let people = live(v, Kind::Person);
    let pick = |rng: &mut Rng, list: &[Uuid]| (!list.is_empty()).then(|| list[rng.index(list.len())]);
    let mut log = |record: Uuid, field: &'static str, value: String| {
        ledger.writes.push(Write { device: who, step, record, field, value });
    };
    let roll = rng.index(100);
    match roll {
        0..=5 => {
            let value = format!("Person {who}-{step}");
            let r = v.add(Kind::Person, json!({"names": [{"value": value}], "notes": format!("n{who}-{step}")}));
            r.map(|r| log(r.id, "notes", format!("n{who}-{step}"))).is_ok()
        }
        6..=11 => {
            let title = format!("Case {who}-{step}");
            let r = v.add(Kind::Case, json!({"title": title, "case_kind": "criminal", "status": "open"}));
            r.map(|r| log(r.id, "title", title)).is_ok()
        }
        12..=44 => match pick(rng, &cases) {
            Some(c) => {
                let title = format!("Title {who}-{step}");
                let fields = json!({"title": title}).as_object().cloned().unwrap_or_default();
                v.patch(c, fields).map(|_| log(c, "title", title)).is_ok()
            }
            None => false,
        },
        45..=64 => match pick(rng, &cases) {
            Some(c) => {
                let summary = format!("Summary {who}-{step}");
                let fields = json!({"summary": summary}).as_object().cloned().unwrap_or_default();
                v.patch(c, fields).map(|_| log(c, "summary", summary)).is_ok()
            }
            None => false,
        },
        65..=74 => match pick(rng, &people) {
            Some(p) => {
                let notes = format!("Notes {who}-{step}");
                let fields = json!({"notes": notes}).as_object().cloned().unwrap_or_default();
                v.patch(p, fields).map(|_| log(p, "notes", notes)).is_ok()
            }
            None => false,
        },
        75..=86 => match (pick(rng, &people), pick(rng, &cases)) {
            (Some(p), Some(c)) => v.link(p, c, Some(["defendant", "victim", "witness"][rng.index(3)])).is_ok(),
            _ => false,
        },
        87..=89 => match pick(rng, &cases) {
            // A proceeding with a hearing, then the hearing postponed (the legal track's chain).
            Some(c) => {
                let Ok(p) =
                    v.add(Kind::Proceeding, json!({"case": c, "proceeding_kind": "trial", "stage": "first_instance"}))
                else {
                    return false;
                };
                let Ok(h) = v.add(
                    Kind::Hearing,
                    json!({"proceeding": p.id, "scheduled": "2026-12-10T10:00", "status": "scheduled"}),
                ) else {
                    return false;
                };
                v.postpone_hearing(h.id, "2026-12-17T10:00", Some("judge ill")).is_ok()
            }
            None => false,
        },
        90 => match pick(rng, &people) {
            Some(p) => {
                let bytes = format!("photo of the notice {who}-{step}").repeat(50);
                v.attach(p, &format!("notice-{who}-{step}.txt"), bytes.as_bytes(), None).is_ok()
            }
            None => false,
        },
        91..=94 => match pick(rng, &people) {
            Some(p) => v.delete(p).map(|_| log(p, "_deleted", String::new())).is_ok(),
            None => false,
        },
        95..=96 => match pick(rng, &cases) {
            Some(c) => v.delete(c).map(|_| log(c, "_deleted", String::new())).is_ok(),
            None => false,
        },
        _ => {
            // The same person entered twice here, then merged as duplicates.
            let name = json!({"names": [{"value": format!("Twin {who}-{step}")}]});
            let (Ok(a), Ok(b)) = (v.add(Kind::Person, name.clone()), v.add(Kind::Person, name)) else { return false };
            v.merge_people(a.id, b.id).map(|_| log(b.id, "_deleted", String::new())).is_ok()
        }
    }
}

#[test]
fn a_simulated_week_of_three_devices_converges_and_loses_no_edit() {
    let seed: u64 = std::env::var("CASEBOOK_SYNC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_203);
    let per_device: usize = std::env::var("CASEBOOK_SYNC_EDITS").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let vaults = team(&server, 3);
    let mut rng = Rng(seed.max(1));
    let mut ledger = Ledger { writes: Vec::new(), syncs: vec![Vec::new(); 3] };
    let mut made = [0usize; 3];
    let mut step = 0u64;
    while made.iter().any(|m| *m < per_device) {
        let who = loop {
            let d = rng.index(3);
            if made[d] < per_device {
                break d;
            }
        };
        let mut v = open(&vaults[who]);
        for _ in 0..(50 + rng.index(250)) {
            step += 1;
            if work(&mut v, &mut rng, who, step, &mut ledger) {
                made[who] += 1;
            }
        }
        drop(v);
        step += 1;
        // Offline for a while, or a sync: of this device, sometimes of another too.
        if rng.index(3) > 0 {
            sync(&vaults[who]);
            ledger.syncs[who].push(step);
        }
        if rng.index(4) == 0 {
            let other = rng.index(3);
            step += 1;
            sync(&vaults[other]);
            ledger.syncs[other].push(step);
        }
    }
    for round in 0..2 {
        for (who, v) in vaults.iter().enumerate() {
            step += 1;
            let report = sync(v);
            assert_eq!(report["pulled"]["waiting"], 0, "round {round}: every batch applied");
            ledger.syncs[who].push(step);
        }
    }

    let reference = shared(&vaults[0]);
    for v in &vaults[1..] {
        assert!(shared(v) == reference, "the three exports are identical");
    }
    let conflicts = vaults[0].json(&["sync", "conflicts"]);
    for v in &vaults[1..] {
        assert_eq!(v.json(&["sync", "conflicts"]), conflicts, "every device lists the same conflicts");
    }

    // The final state, and the conflicts as (record, field) -> values.
    let doc: Value = serde_json::from_str(&reference).expect("export");
    let records: BTreeMap<String, &Value> = doc["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| (r["id"].as_str().unwrap_or_default().to_string(), r))
        .collect();
    let mut listed: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for c in conflicts.as_array().expect("list") {
        let key =
            (c["record"].as_str().unwrap_or_default().to_string(), c["field"].as_str().unwrap_or_default().to_string());
        for version in c["versions"].as_array().expect("versions") {
            let value = match &version["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            listed.entry(key.clone()).or_default().insert(value);
        }
    }

    let (mut winning, mut in_conflicts, mut overwritten, mut deleted_after_seen, mut lost) = (0, 0, 0, 0, Vec::new());
    for w in ledger.writes.iter().filter(|w| w.field != "_deleted") {
        let id = w.record.to_string();
        let Some(record) = records.get(&id) else {
            let seen_by_delete = ledger
                .writes
                .iter()
                .any(|d| d.record == w.record && d.field == "_deleted" && ledger.saw(w, d.device, d.step));
            if seen_by_delete {
                deleted_after_seen += 1;
            } else {
                lost.push(w.clone());
            }
            continue;
        };
        let knowingly_overwritten = ledger
            .writes
            .iter()
            .any(|o| o.record == w.record && o.field == w.field && o.step != w.step && ledger.saw(w, o.device, o.step));
        if record[w.field].as_str() == Some(w.value.as_str()) {
            winning += 1;
        } else if listed.get(&(id.clone(), w.field.to_string())).is_some_and(|vs| vs.contains(&w.value)) {
            in_conflicts += 1;
        } else if knowingly_overwritten {
            overwritten += 1;
        } else {
            lost.push(w.clone());
        }
    }

    // Independently of the vault: the writes no later write had seen, per field. Two or more
    // with different values on a record still there must be a listed conflict.
    let mut heads: BTreeMap<(Uuid, &str), Vec<&Write>> = BTreeMap::new();
    for w in ledger.writes.iter().filter(|w| w.field != "_deleted") {
        let superseded = ledger
            .writes
            .iter()
            .any(|o| o.record == w.record && o.field == w.field && o.step != w.step && ledger.saw(w, o.device, o.step));
        if !superseded {
            heads.entry((w.record, w.field)).or_default().push(w);
        }
    }
    let mut concurrent = 0;
    for ((record, field), hs) in &heads {
        if hs.len() < 2 || !records.contains_key(&record.to_string()) {
            continue;
        }
        concurrent += 1;
        let values: BTreeSet<String> = hs.iter().map(|w| w.value.clone()).collect();
        let shown = listed.get(&(record.to_string(), field.to_string()));
        assert_eq!(shown, Some(&values), "concurrent edits of {field} of {record} are listed as a conflict");
    }
    // A link made while another device deleted its target, unseen: the export still has the
    // link, to a record it no longer holds, and each such link is listed to keep or remove.
    let mut dangling: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (id, record) in &records {
        for (field, value) in record.as_object().into_iter().flatten().filter(|(f, _)| f.as_str() != "id") {
            let mut stack = vec![value];
            while let Some(v) = stack.pop() {
                match v {
                    Value::String(s) if Uuid::parse_str(s).is_ok() && !records.contains_key(s) => {
                        dangling.insert((id.clone(), field.clone(), s.clone()));
                    }
                    Value::Array(items) => stack.extend(items),
                    Value::Object(o) => stack.extend(o.values()),
                    _ => {}
                }
            }
        }
    }
    let listed_links: BTreeSet<(String, String, String)> = conflicts
        .as_array()
        .expect("list")
        .iter()
        .flat_map(|c| {
            c["versions"].as_array().into_iter().flatten().filter_map(move |v| {
                let target = v["value"]["deleted"].as_str()?;
                Some((c["record"].as_str()?.to_string(), c["field"].as_str()?.to_string(), target.to_string()))
            })
        })
        .collect();
    assert_eq!(listed_links, dangling, "every link to a record deleted meanwhile is listed, and only those");
    eprintln!(
        "seed {seed}: {} writes over {step} steps, {} syncs; {winning} winning, {in_conflicts} in conflicts, {overwritten} overwritten after being seen, {deleted_after_seen} on records deleted after being seen; {concurrent} concurrent fields, {} listed conflicts ({} links to records deleted meanwhile); {} lost",
        ledger.writes.len(),
        ledger.syncs.iter().map(Vec::len).sum::<usize>(),
        listed.len(),
        dangling.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost edits: {:?}", &lost[..lost.len().min(5)]);

    let field_conflicts = listed
        .keys()
        .filter(|(r, f)| f != "_deleted" && !listed_links.iter().any(|(lr, lf, _)| lr == r && lf == f))
        .count();
    assert_eq!(field_conflicts, concurrent, "no conflict is listed that the writes do not explain");
    assert!(concurrent > 10 && in_conflicts > 10, "the workload made concurrent edits of the same field");
    assert!(made.iter().all(|m| *m >= per_device));
}

#[test]
fn over_tls_with_a_pinned_self_signed_certificate() {
    let cluster = Cluster::start();
    let certs = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(common::pg::server_binary())
        .args(["cert", "--out", certs.path().to_str().expect("path"), "--name", "127.0.0.1", "--name", "localhost"])
        .output()
        .expect("cert");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pin =
        serde_json::from_slice::<Value>(&out.stdout).expect("json")["cert_sha256"].as_str().expect("pin").to_string();
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    let server = Server::start_with(
        &cluster,
        "127.0.0.1:0",
        &["--tls-cert", cert.to_str().expect("path"), "--tls-key", key.to_str().expect("path")],
    );
    assert!(server.url.starts_with("https://"));
    let (team, token) = server.create_team("TLS NGO");
    let a = TestVault::new();
    a.json(&["team", "create", "--server", &server.url, "--team", &team, "--token", &token, "--cert-sha256", &pin]);
    let invitation = a.root.path().join("invite.json");
    a.json(&["team", "invite", "--out", invitation.to_str().expect("path")]);
    let person = a.add("person", &[r#"names=[{"value":"Over TLS"}]"#]);
    // Connections that never start their handshake hold up no one else's.
    let stalled: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(server.url.trim_start_matches("https://")).expect("connect"))
        .collect();
    let started = std::time::Instant::now();
    sync(&a);
    let b = TestVault::new();
    b.json(&["team", "join", invitation.to_str().expect("path")]);
    sync(&b);
    assert_eq!(b.json(&["show", &person])["names"][0]["value"], "Over TLS");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "three stalled handshakes did not delay the syncs: {:?}",
        started.elapsed()
    );
    drop(stalled);

    // An invitation whose pin does not match the server's certificate: nothing is sent.
    let another = a.root.path().join("invite-2.json");
    a.json(&["team", "invite", "--out", another.to_str().expect("path")]);
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&another).expect("read")).expect("json");
    forged["cert_sha256"] = Value::String("00".repeat(32));
    let forged_path = a.root.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_string()).expect("write");
    let c = TestVault::new();
    let (code, status) =
        error_of(c.cmd().args(["--json", "team", "join", forged_path.to_str().expect("path")]).assert().failure());
    assert_eq!((code.as_str(), status), ("sync_certificate_mismatch", 50));
    c.json(&["team", "join", another.to_str().expect("path")]);
    assert_eq!(sync(&c)["pulled"]["waiting"], 0);
}

/// A request signed by `vault`'s device, as the sync client makes it; returns (status, error code).
fn raw_post(vault: &mut Vault, server: &Server, team: &str, path: &str, body: &[u8]) -> (u16, String) {
    let path = format!("/v1/teams/{team}{path}");
    let time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let signature =
        vault.request_signer().expect("signer").sign(&casebook_core::sync::request_message("POST", &path, time, body));
    let result = ureq::post(&format!("{}{path}", server.url))
        .set("x-casebook-device", vault.device_id())
        .set("x-casebook-time", &time.to_string())
        .set("x-casebook-signature", &signature)
        .send_bytes(body);
    match result {
        Ok(r) => (r.status(), String::new()),
        Err(ureq::Error::Status(status, r)) => {
            let v: Value = serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or_default();
            (status, v["error"]["code"].as_str().unwrap_or_default().to_string())
        }
        Err(e) => panic!("transport: {e}"),
    }
}

#[test]
fn the_server_refuses_a_stranger_s_signature_and_a_replayed_batch_and_an_existing_vault_joins() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    // An existing vault with its own records joins: they reach the team.
    let existing = TestVault::new();
    let old_case = existing.add("case", &["title=Case kept before the team", "case_kind=criminal", "status=trial"]);
    let mut vaults = team(&server, 2);
    let invitation = vaults[0].root.path().join("invite-existing.json");
    vaults[0].json(&["team", "invite", "--out", invitation.to_str().expect("path")]);
    existing.json(&["team", "join", invitation.to_str().expect("path")]);
    sync(&existing);
    sync(&vaults[0]);
    assert_eq!(vaults[0].json(&["show", &old_case])["title"], "Case kept before the team");
    vaults.push(existing);
    let team_id = vaults[0].json(&["sync", "status"])["team"]["team"].as_str().expect("team").to_string();

    let a = &vaults[0];
    a.add("person", &[r#"names=[{"value":"First batch"}]"#]);
    sync(a);
    for v in &vaults[1..] {
        sync(v);
    }
    let exports: Vec<String> = vaults.iter().map(shared).collect();
    let batches_before = cluster.psql("SELECT count(*) FROM batches");

    let mut vault = open(a);
    // The batch A already sent, sent again: refused as a replay, not stored twice.
    let acked = cluster
        .psql(&format!("SELECT seq FROM batches WHERE device = '{}' ORDER BY seq DESC LIMIT 1", vault.device_id()));
    let seq: u64 = acked.trim().parse().expect("seq");
    vault.add(Kind::Person, json!({"names": [{"value": "Second batch"}]})).expect("person");
    vault.seal().expect("seal");
    let next = vault.unsent().expect("unsent").remove(0);
    assert_eq!(next.seq, seq + 1);
    let mut replay = next.clone();
    replay.seq = seq;
    replay.prev = cluster
        .psql(&format!("SELECT prev FROM batches WHERE device = '{}' AND seq = {seq}", vault.device_id()))
        .trim()
        .to_string();
    let stored_ciphertext = cluster.psql(&format!(
        "SELECT encode(ciphertext, 'base64') FROM batches WHERE device = '{}' AND seq = {seq}",
        vault.device_id()
    ));
    replay.ciphertext = stored_ciphertext.split_whitespace().collect();
    let nonce = cluster.psql(&format!(
        "SELECT encode(nonce, 'base64'), encode(signature, 'base64') FROM batches WHERE device = '{}' AND seq = {seq}",
        vault.device_id()
    ));
    let (n, s) = nonce.trim().split_once('|').expect("row");
    replay.nonce = n.split_whitespace().collect();
    replay.signature = s.split_whitespace().collect();
    let body = serde_json::to_vec(&replay).expect("json");
    assert_eq!(raw_post(&mut vault, &server, &team_id, "/batches", &body), (409, "batch_replayed".to_string()));

    // The next batch, re-signed with a key the server does not know.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let mut forged = next.clone();
    use ed25519_dalek::Signer;
    forged.signature = data_encoding::BASE64.encode(&stranger.sign(forged.hash().as_bytes()).to_bytes());
    let body = serde_json::to_vec(&forged).expect("json");
    assert_eq!(raw_post(&mut vault, &server, &team_id, "/batches", &body), (401, "bad_signature".to_string()));
    assert_eq!(cluster.psql("SELECT count(*) FROM batches"), batches_before, "nothing was stored");
    drop(vault);
    for (v, before) in vaults[1..].iter().zip(&exports[1..]) {
        sync(v);
        assert!(&shared(v) == before, "no client's data changed");
    }
    // The genuine batch still goes through afterwards.
    sync(a);
    sync(&vaults[1]);
    assert!(shared(&vaults[1]).contains("Second batch"));
}

#[test]
fn an_attachment_deleted_here_while_edited_elsewhere_comes_back_with_its_content() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let vaults = team(&server, 2);
    let (a, b) = (&vaults[0], &vaults[1]);
    let person = a.add("person", &[r#"names=[{"value":"Zhylanbaev"}]"#]);
    let photo = a.root.path().join("notice.txt");
    std::fs::write(&photo, format!("notice of the hearing {}", "y".repeat(200_000))).expect("file");
    a.cmd().args(["attach", &person, photo.to_str().expect("path")]).assert().success();
    sync(a);
    sync(b);
    let attachment = b.json(&["attachment", "list"])["items"][0]["id"].as_str().expect("attachment").to_string();

    // B deletes the file (its content goes from B's vault) while A, not knowing, describes it.
    b.cmd().args(["attachment", "delete", &attachment]).assert().success();
    a.cmd().args(["attachment", "edit", &attachment, "--set", "notes=door of courtroom 4"]).assert().success();
    sync(b);
    sync(a);
    let report = sync(b);

    // The delete missed A's edit: the attachment stays, listed, and B fetched its content again.
    assert!(report["downloaded_chunks"].as_u64().unwrap_or_default() > 0, "{report}");
    let listed = b.json(&["sync", "conflicts"]);
    assert!(
        listed.as_array().expect("list").iter().any(|c| c["record"] == attachment.as_str() && c["field"] == "_deleted"),
        "{listed}"
    );
    let saved = b.root.path().join("saved.txt");
    b.cmd().args(["save-copy", &attachment, "--out", saved.to_str().expect("path")]).assert().success();
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        std::fs::read(&photo).expect("photo"),
        "the content is whole again"
    );
    assert_eq!(shared(a), shared(b));
}
