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
