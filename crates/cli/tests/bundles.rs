//! Case bundles between real vaults through the real CLI: round trip under a redaction profile,
//! tamper trials (each its own code, the receiver unchanged), Debian's `age` and `tar` as
//! independent readers, duplicate people across scripts, conflicts, and EXIF stripping.

mod common;

use std::path::{Path, PathBuf};

use common::{befriend, contains, error_of, snapshot, TestVault};
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/every-kind.json");
const PHOTO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/court-notice.jpg");
const TRIAL: &str = "fa334bc2-10f6-5243-8e18-22d2071448ca";
const DEFENDANT: &str = "01aa664a-b228-573e-a6e7-d5a8ee17ff92";
const HEARING: &str = "3413715a-03e4-5879-8eda-7d31fb0ddd08";
const CONTACT: &str = "+7 700 000 0000";
const PHOTO_CANARY: &str = "CANARY-court-notice-5d1e9f";

/// A sender holding the fixture (a trial with a defendant, hearings, a photo on a hearing and a
/// 300 KB file, so the bundle spans several age chunks) and a receiver that knows it.
struct Pair {
    sender: TestVault,
    receiver: TestVault,
    to_receiver: String,
}

fn pair() -> Pair {
    let sender = TestVault::new();
    let receiver = TestVault::new();
    sender.cmd().args(["import", FIXTURE]).assert().success();
    sender.cmd().args(["attach", HEARING, PHOTO]).assert().success();
    let big = sender.root.path().join("recording.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&big, bytes).expect("write");
    sender.cmd().args(["attach", TRIAL, big.to_str().expect("path")]).assert().success();
    std::fs::remove_file(&big).expect("remove");
    let to_receiver = befriend(&sender, &receiver, "Legal aid partner");
    befriend(&receiver, &sender, "Monitoring partner");
    Pair { sender, receiver, to_receiver }
}

fn export(from: &TestVault, args: &[&str], out: &Path) -> Value {
    let mut all = vec!["bundle", "export", "--out", out.to_str().expect("path")];
    all.extend_from_slice(args);
    from.json(&all)
}

/// The decrypted tar stream, via Debian's age and the receiver's identity file.
fn decrypt_with_age(receiver: &TestVault, bundle: &Path) -> PathBuf {
    let identity = receiver.root.path().join("identity.txt");
    if !identity.exists() {
        receiver.cmd().args(["identity", "export-age", "--out", identity.to_str().expect("p")]).assert().success();
    }
    let inner = receiver.root.path().join("inner.tar");
    let status = std::process::Command::new("age")
        .args([
            "-d",
            "-i",
            identity.to_str().expect("p"),
            "-o",
            inner.to_str().expect("p"),
            bundle.to_str().expect("p"),
        ])
        .status()
        .expect("age runs");
    assert!(status.success(), "Debian's age decrypts the bundle");
    inner
}

fn tar_member(tar: &Path, name: &str) -> Vec<u8> {
    let out =
        std::process::Command::new("tar").args(["-xOf", tar.to_str().expect("p"), name]).output().expect("tar runs");
    assert!(out.status.success(), "tar reads {name}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn round_trip_without_contacts_arrives_as_sent_and_opens_with_stock_age() {
    let Pair { sender, receiver, to_receiver } = pair();
    let bundle = sender.root.path().join("trial.casebundle");
    let summary = export(
        &sender,
        &["--case", TRIAL, "--to", &to_receiver, "--profile", "no-contacts", "--from", "Monitoring partner"],
        &bundle,
    );
    assert_eq!(summary["preview"]["contacts_removed"], 1);
    assert_eq!(summary["preview"]["attachments"], 2);
    let ciphertext = std::fs::read(&bundle).expect("bundle");
    assert!(!contains(&ciphertext, CONTACT.as_bytes()) && !contains(&ciphertext, b"Zhylanbaev"));

    // Interop: the stock tools read it; the manifest lists what records.jsonl holds.
    let inner = decrypt_with_age(&receiver, &bundle);
    let plaintext = std::fs::read(&inner).expect("tar");
    assert!(!contains(&plaintext, CONTACT.as_bytes()), "no contact string anywhere in the decrypted bundle");
    assert!(!contains(&plaintext, b"wife's phone"));
    let manifest: Value = serde_json::from_slice(&tar_member(&inner, "manifest.json")).expect("manifest JSON");
    assert_eq!(manifest["format"], "casebook-bundle");
    assert_eq!(manifest["redaction"]["drop_contacts"], true);
    let lines = tar_member(&inner, "records.jsonl");
    let sent: Vec<Value> = lines
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("record"))
        .collect();
    assert_eq!(sent.len(), manifest["records"].as_array().expect("records").len());
    assert!(sent.iter().all(|r| r["kind"] != "partner"), "the partner directory never travels");

    let preview = receiver.json(&["bundle", "inspect", bundle.to_str().expect("p")]);
    assert_eq!(preview["sender"]["known"], true);
    let before_files = snapshot(receiver.root.path());
    let result = receiver.json(&["bundle", "import", bundle.to_str().expect("p")]);
    assert_eq!(result["new"], preview["new"]);
    assert_eq!(result["files_stored"], 2);
    assert!(before_files.len() <= snapshot(receiver.root.path()).len());

    // What arrived equals what was sent: every record, field for field.
    for record in &sent {
        let arrived = receiver.json(&["show", record["id"].as_str().expect("id")]);
        for (field, value) in record.as_object().expect("object") {
            assert_eq!(&arrived[field], value, "{} field {field}", record["id"]);
        }
    }
    let defendant = receiver.json(&["show", DEFENDANT]);
    assert!(!defendant.to_string().contains(CONTACT), "the contact was left out");
    let photo_id = sent.iter().find(|r| r["name"] == "court-notice.jpg").expect("photo sent")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let copy = receiver.root.path().join("copy.jpg");
    receiver.cmd().args(["save-copy", &photo_id, "--out", copy.to_str().expect("p")]).assert().success();
    assert_eq!(
        std::fs::read(&copy).expect("copy"),
        std::fs::read(PHOTO).expect("photo"),
        "the file arrives byte for byte"
    );
    std::fs::remove_file(&copy).expect("remove");
    std::fs::remove_file(&inner).expect("remove");
    receiver.cmd().args(["check"]).assert().success();

    // Canary: the photo's EXIF string is in no file of either side but the encrypted stores.
    for v in [&sender, &receiver] {
        for (path, bytes) in snapshot(v.root.path()) {
            assert!(!contains(&bytes, PHOTO_CANARY.as_bytes()), "{} holds plaintext from the photo", path.display());
        }
    }

    // Importing the same bundle again changes nothing.
    let before = receiver.export();
    let again = receiver.json(&["bundle", "import", bundle.to_str().expect("p")]);
    assert_eq!(
        (again["new"].as_u64(), again["changed"].as_u64(), again["conflicts"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(receiver.export(), before);
}

#[test]
fn tampered_bundles_are_refused_each_with_its_own_code_and_the_vault_unchanged() {
    let Pair { sender, receiver, to_receiver } = pair();
    let dir = sender.root.path();
    let good = dir.join("good.casebundle");
    export(&sender, &["--case", TRIAL, "--to", &to_receiver], &good);
    let bytes = std::fs::read(&good).expect("bundle");
    assert!(bytes.len() > 3 * 65_536, "the bundle spans several age chunks");
    let before = receiver.export();

    let mut trials: Vec<(&str, PathBuf, &str)> = Vec::new();
    let write = |name: &str, content: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write");
        path
    };
    let flip = |at: usize| {
        let mut b = bytes.clone();
        b[at] ^= 0x20;
        b
    };
    // The header's MAC: a character of its base64 swapped for another valid one.
    let mac = bytes.windows(4).position(|w| w == b"\n---").expect("header MAC line") + 6;
    let mut header = bytes.clone();
    header[mac] = if header[mac] == b'A' { b'B' } else { b'A' };
    trials.push(("header MAC", write("header.cb", header), "bundle_damaged"));
    trials.push(("first chunk (manifest)", write("manifest.cb", flip(mac + 200)), "bundle_damaged"));
    trials.push(("middle chunk (a file)", write("middle.cb", flip(bytes.len() / 2)), "bundle_damaged"));
    trials.push(("last chunk", write("last.cb", flip(bytes.len() - 10)), "bundle_damaged"));
    trials.push(("cut in half", write("half.cb", bytes[..bytes.len() / 2].to_vec()), "bundle_truncated"));
    trials.push(("last byte cut", write("short.cb", bytes[..bytes.len() - 1].to_vec()), "bundle_truncated"));
    trials.push((
        "not a bundle",
        write("random.cb", b"PK\x03\x04 this is a zip file, not a bundle".to_vec()),
        "bundle_not_a_bundle",
    ));

    let stranger = TestVault::new();
    let to_stranger = befriend(&sender, &stranger, "Someone else");
    let elsewhere = dir.join("elsewhere.cb");
    export(&sender, &["--case", TRIAL, "--to", &to_stranger], &elsewhere);
    trials.push(("wrong recipient", elsewhere, "bundle_wrong_recipient"));
    for (tamper, code) in [
        ("foreign-signer", "bundle_unknown_sender"),
        ("wrong-hash", "bundle_hash_mismatch"),
        ("path-traversal", "bundle_unsafe_path"),
        ("huge-count", "bundle_too_large"),
    ] {
        let path = dir.join(format!("{tamper}.cb"));
        export(&sender, &["--case", TRIAL, "--to", &to_receiver, "--tamper", tamper], &path);
        trials.push((tamper, path, code));
    }

    for (what, path, expected) in &trials {
        for command in ["import", "inspect"] {
            if *expected == "bundle_unknown_sender" && command == "inspect" {
                continue; // inspect shows an unknown sender's fingerprint instead of refusing
            }
            let (code, status) = error_of(
                receiver.cmd().args(["--json", "bundle", command, path.to_str().expect("p")]).assert().failure(),
            );
            assert_eq!((code.as_str(), status), (*expected, 40), "{what} ({command})");
        }
        assert_eq!(receiver.export(), before, "{what}: the receiving vault is unchanged");
    }
    assert!(!dir.join("records.jsonl").exists() && !receiver.root.path().join("records.jsonl").exists());
    receiver.cmd().args(["check"]).assert().success();

    // The untouched bundle still imports.
    receiver.cmd().args(["bundle", "import", good.to_str().expect("p")]).assert().success();
}

#[test]
fn an_unknown_sender_is_refused_until_its_fingerprint_is_accepted() {
    let stranger = TestVault::new();
    let receiver = TestVault::new();
    stranger.cmd().args(["import", FIXTURE]).assert().success();
    let to_receiver = befriend(&stranger, &receiver, "Receiver");
    let bundle = stranger.root.path().join("b.cb");
    export(&stranger, &["--case", TRIAL, "--to", &to_receiver, "--from", "New NGO"], &bundle);
    let fingerprint = stranger.json(&["identity", "show"])["fingerprint"].as_str().expect("fp").to_string();

    let preview = receiver.json(&["bundle", "inspect", bundle.to_str().expect("p")]);
    assert_eq!(
        (preview["sender"]["known"].as_bool(), preview["sender"]["fingerprint"].as_str()),
        (Some(false), Some(fingerprint.as_str()))
    );
    let refused = receiver.cmd().args(["--json", "bundle", "import", bundle.to_str().expect("p")]).assert().failure();
    let message = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(message.contains(&fingerprint), "the refusal shows the fingerprint: {message}");
    let (code, _) = error_of(
        receiver
            .cmd()
            .args(["--json", "bundle", "import", bundle.to_str().expect("p"), "--accept-sender", "AAAA-BBBB-CCCC-DDDD"])
            .assert()
            .failure(),
    );
    assert_eq!(code, "bundle_unknown_sender", "a different fingerprint is not an acceptance");

    receiver.json(&["bundle", "import", bundle.to_str().expect("p"), "--accept-sender", &fingerprint]);
    let partners = receiver.json(&["partner", "list"]);
    assert_eq!(partners["items"][0]["name"], "New NGO", "the accepted sender joins the directory");
    assert!(receiver.json(&["show", TRIAL]).to_string().contains("Zhylanbaev"));
}

#[test]
fn the_same_person_under_two_spellings_is_proposed_merged_and_the_merge_undone() {
    let Pair { sender, receiver, to_receiver } = pair();
    // The receiver recorded the same man independently, in another spelling, in its own case.
    let own = receiver.add("person", &["names=[{\"value\":\"M. Jylanbaev\"}]", "birth_date=1963-04"]);
    let own_case = receiver.add("case", &["title=Picket at the akimat", "case_kind=administrative", "status=open"]);
    receiver.cmd().args(["link", &own, &own_case, "--role", "defendant"]).assert().success();

    let bundle = sender.root.path().join("b.cb");
    export(&sender, &["--case", TRIAL, "--to", &to_receiver, "--profile", "no-attachments"], &bundle);
    let result = receiver.json(&["bundle", "import", bundle.to_str().expect("p")]);
    let proposals = result["duplicates"].as_array().expect("duplicates");
    let proposal = proposals
        .iter()
        .find(|d| [d["a"].as_str(), d["b"].as_str()].contains(&Some(own.as_str())))
        .unwrap_or_else(|| panic!("M. Jylanbaev is proposed as a duplicate: {result}"));
    assert!([proposal["a"].as_str(), proposal["b"].as_str()].contains(&Some(DEFENDANT)));
    let listed = receiver.json(&["duplicates", "list"]);
    assert_eq!(listed[0]["status"], "open");

    let cases_of = |person: &str| -> Vec<String> {
        let shown = receiver.json(&["show", person]);
        let mut ids: Vec<String> = shown["referred_to_by"]
            .as_array()
            .expect("referrers")
            .iter()
            .filter(|r| r["kind"] == "case")
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect();
        ids.sort();
        ids
    };
    let before = receiver.export();
    let merge = receiver.json(&["duplicates", "merge", &own, DEFENDANT]);
    let mut both = vec![own_case.clone(), TRIAL.to_string()];
    both.sort();
    assert_eq!(cases_of(&own), both, "one person holds both records' cases");
    let merged = receiver.json(&["show", &own]).to_string();
    assert!(merged.contains("Жыланбаев Марат") && merged.contains("M. Jylanbaev"), "both spellings are kept as names");
    receiver.cmd().args(["show", DEFENDANT]).assert().failure();
    assert!(receiver.json(&["history", &own]).as_array().expect("history").iter().any(|e| e["action"] == "merge"));
    receiver.cmd().args(["check"]).assert().success();

    // Undo restores every record as it was.
    receiver.cmd().args(["duplicates", "undo", &merge["merge"].to_string()]).assert().success();
    let restored = receiver.export();
    let strip_times = |text: &str| -> Vec<Value> {
        let doc: Value = serde_json::from_str(text).expect("export");
        doc["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().expect("object").remove("updated_at");
                r
            })
            .collect()
    };
    assert_eq!(strip_times(&restored), strip_times(&before));
    assert_eq!(cases_of(DEFENDANT), vec![TRIAL.to_string()]);
    receiver.cmd().args(["check"]).assert().success();
}

#[test]
fn a_local_edit_is_never_overwritten_the_partners_version_waits_as_a_conflict() {
    let Pair { sender, receiver, to_receiver } = pair();
    let first = sender.root.path().join("1.cb");
    export(&sender, &["--case", TRIAL, "--to", &to_receiver, "--profile", "no-attachments"], &first);
    receiver.cmd().args(["bundle", "import", first.to_str().expect("p")]).assert().success();

    receiver.cmd().args(["case", "edit", TRIAL, "--set", "status=closed"]).assert().success();
    sender.cmd().args(["case", "edit", TRIAL, "--set", "summary=Verdict appealed on 1 December."]).assert().success();
    sender
        .cmd()
        .args([
            "person",
            "edit",
            "11aa527b-8f88-53a2-a17a-78572595966f",
            "--set",
            "notes=Now at a new bar association.",
        ])
        .assert()
        .success();
    let second = sender.root.path().join("2.cb");
    export(&sender, &["--case", TRIAL, "--to", &to_receiver, "--profile", "no-attachments"], &second);

    let preview = receiver.json(&["bundle", "inspect", second.to_str().expect("p")]);
    assert_eq!((preview["conflicts"].as_u64(), preview["changed"].as_u64()), (Some(1), Some(1)));
    let result = receiver.json(&["bundle", "import", second.to_str().expect("p")]);
    assert_eq!((result["conflicts"].as_u64(), result["changed"].as_u64()), (Some(1), Some(1)));
    let case = receiver.json(&["show", TRIAL]).to_string();
    assert!(case.contains("\"closed\"") && !case.contains("Verdict appealed"), "the local edit stands");
    assert!(
        receiver.json(&["show", "11aa527b-8f88-53a2-a17a-78572595966f"]).to_string().contains("new bar association"),
        "an untouched record takes the update"
    );
    let conflicts = receiver.json(&["conflicts", "list"]);
    assert_eq!(conflicts[0]["record"], TRIAL);
    assert_eq!(conflicts[0]["incoming"]["summary"], "Verdict appealed on 1 December.");

    receiver.cmd().args(["conflicts", "resolve", TRIAL, "--keep", "theirs"]).assert().success();
    assert!(receiver.json(&["show", TRIAL]).to_string().contains("Verdict appealed"));
    assert_eq!(receiver.json(&["conflicts", "list"]).as_array().map(Vec::len), Some(0));
}

#[test]
fn photos_can_travel_without_exif_while_the_vault_keeps_the_original() {
    let Pair { sender, receiver, to_receiver } = pair();
    let bundle = sender.root.path().join("b.cb");
    let summary = export(&sender, &["--case", TRIAL, "--to", &to_receiver, "--strip-exif"], &bundle);
    assert_eq!(summary["preview"]["photos_stripped"], 1);
    receiver.cmd().args(["bundle", "import", bundle.to_str().expect("p")]).assert().success();

    let photos = receiver.json(&["attachment", "list", "--filter", "court-notice"]);
    let id = photos["items"][0]["id"].as_str().expect("photo arrived").to_string();
    let record = receiver.json(&["show", &id]).to_string();
    assert!(!record.contains("43.25") && !record.contains("Canon"), "no GPS or camera in the record: {record}");
    let copy = receiver.root.path().join("stripped.jpg");
    receiver.cmd().args(["save-copy", &id, "--out", copy.to_str().expect("p")]).assert().success();
    let stripped = std::fs::read(&copy).expect("copy");
    assert!(stripped.starts_with(&[0xFF, 0xD8]), "still a JPEG");
    assert!(!contains(&stripped, PHOTO_CANARY.as_bytes()) && !contains(&stripped, b"Canon"), "EXIF removed");
    std::fs::remove_file(&copy).expect("remove");
    receiver.cmd().args(["check"]).assert().success();

    let original = sender.root.path().join("original.jpg");
    sender.cmd().args(["save-copy", &id, "--out", original.to_str().expect("p")]).assert().success();
    assert_eq!(
        std::fs::read(&original).expect("original"),
        std::fs::read(PHOTO).expect("photo"),
        "the sender's vault keeps the original"
    );
}
