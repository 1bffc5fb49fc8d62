//! Evidence files through the real CLI on a real vault: intake facts, no plaintext left behind,
//! tampering detected by `check` with the record named, deletion that gives the space back.

mod common;

use std::path::Path;

use common::{contains, error_of, snapshot, TestVault, PASSPHRASE};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/kazakhstan-2023h2.json");
const PHOTO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/court-notice.jpg");
/// The Zhylanbaev appeal hearing that was held online (example data).
const HEARING: &str = "6cf48e8f-fb66-5282-acf8-d48c3b1a0b4a";

fn sha256_of(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("digest").to_string()
}

fn vault_file_size(v: &TestVault) -> u64 {
    std::fs::metadata(v.dir.join("vault.db")).expect("vault.db").len()
}

#[test]
fn a_photo_is_stored_with_its_intake_facts_and_comes_back_unchanged() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    // Named .txt on purpose: the type is sniffed from the content.
    let misnamed = v.root.path().join("notice.txt");
    std::fs::copy(PHOTO, &misnamed).expect("copy");
    let a =
        v.json(&["attach", HEARING, misnamed.to_str().expect("path"), "--notes", "photo of the notice on the door"]);
    assert_eq!(a["media_type"], "image/jpeg");
    assert_eq!(a["name"], "notice.txt");
    assert_eq!(a["size"], std::fs::metadata(PHOTO).expect("photo").len());
    assert_eq!(a["sha256"].as_str(), Some(sha256_of(Path::new(PHOTO)).as_str()));
    assert_eq!(a["camera"], "Canon EOS 80D");
    assert_eq!(a["taken_at"], "2026-11-25 09:41:00");
    let (lat, lon) = (a["gps"]["latitude"].as_f64().expect("lat"), a["gps"]["longitude"].as_f64().expect("lon"));
    assert!((lat - 43.258_333).abs() < 1e-5 && (lon - 76.945_833).abs() < 1e-5, "{lat}, {lon}");
    let id = a["id"].as_str().expect("id").to_string();

    // Read back through standard output and through a file: the same bytes.
    let out = v.cmd().args(["save-copy", &id, "--out", "-"]).assert().success();
    assert_eq!(out.get_output().stdout, std::fs::read(PHOTO).expect("photo"));
    let copy = v.root.path().join("copy.jpg");
    v.cmd().args(["save-copy", &id, "--out", copy.to_str().expect("path")]).assert().success();
    assert_eq!(sha256_of(&copy), sha256_of(Path::new(PHOTO)));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&copy).expect("copy").permissions().mode() & 0o777, 0o600);
    }

    // The hearing lists it; only the notes may be edited; the generic add is refused.
    let hearing = v.json(&["show", HEARING]);
    assert!(hearing.to_string().contains(&id), "the hearing shows what refers to it: {hearing}");
    v.cmd().args(["attachment", "edit", &id, "--set", "notes=door of courtroom 4"]).assert().success();
    let (code, _) = error_of(
        v.cmd()
            .args(["--json", "attachment", "edit", &id, "--set", &format!("sha256={}", "0".repeat(64))])
            .assert()
            .failure(),
    );
    assert_eq!(code, "invalid_record");
    let (code, _) = error_of(v.cmd().args(["--json", "attachment", "add", "--set", "name=x"]).assert().failure());
    assert_eq!(code, "invalid_input");
    // The hearing cannot be deleted from under its evidence.
    let (code, _) = error_of(v.cmd().args(["--json", "delete", HEARING]).assert().failure());
    assert_eq!(code, "record_in_use");
    v.cmd().arg("check").assert().success();
}

#[test]
fn no_plaintext_of_an_attachment_is_left_on_disk() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    let canary = format!("CANARY-{}-witness-statement", std::process::id());
    let source = v.root.path().join("incoming").join("statement.txt");
    std::fs::create_dir_all(source.parent().expect("parent")).expect("dir");
    std::fs::write(&source, format!("{canary}\n").repeat(50_000)).expect("write"); // ~2 MiB: several chunks
    let id = v.json(&["attach", HEARING, source.to_str().expect("path")])["id"].as_str().expect("id").to_string();
    let out = v.cmd().args(["save-copy", &id, "--out", "-"]).assert().success();
    assert!(contains(&out.get_output().stdout, canary.as_bytes()), "viewing gives the content back");
    v.cmd().args(["search", "statement"]).assert().success();
    std::fs::remove_dir_all(source.parent().expect("parent")).expect("remove the original");

    // Everything under the test's home (vault folder, TMPDIR, ~/.cache…) is free of it.
    for (path, bytes) in snapshot(v.root.path()) {
        assert!(!contains(&bytes, canary.as_bytes()), "{} holds the attachment's text", path.display());
    }
}

#[test]
fn a_changed_byte_is_found_by_check_which_names_the_record() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    let id = v.json(&["attach", HEARING, PHOTO])["id"].as_str().expect("id").to_string();
    {
        let p = casebook_core::Passphrase::new(PASSPHRASE.into());
        let mut vault = casebook_core::Vault::open(&v.dir, casebook_core::Unlock::Passphrase(&p)).expect("open");
        vault.debug_damage_attachment(uuid_of(&id)).expect("damage");
    }
    let out = v.cmd().arg("check").assert().failure();
    assert_eq!(out.get_output().status.code(), Some(11));
    let report = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(report.contains(&id) && report.contains(HEARING), "check names the attachment and its hearing: {report}");
    assert!(report.contains("changed since intake"), "{report}");

    // A copy is refused rather than handed out altered, and nothing is left behind.
    let copy = v.root.path().join("copy.jpg");
    let (code, status) =
        error_of(v.cmd().args(["--json", "save-copy", &id, "--out", copy.to_str().expect("path")]).assert().failure());
    assert_eq!((code.as_str(), status), ("vault_corrupt", 11));
    assert!(!copy.exists());
}

#[test]
fn deleting_an_attachment_removes_its_bytes_and_compact_shrinks_the_file() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    let big = v.root.path().join("video.bin");
    // Incompressible, 6 MiB.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..6 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&big, &bytes).expect("write");
    let id = v.json(&["attach", HEARING, big.to_str().expect("path")])["id"].as_str().expect("id").to_string();
    v.cmd().arg("compact").assert().success();
    let with = vault_file_size(&v);
    v.cmd().args(["attachment", "delete", &id]).assert().success();
    let compacted = v.json(&["compact"]);
    let without = vault_file_size(&v);
    assert!(with - without >= 5 << 20, "vault {with} → {without} bytes: {compacted}");
    let (code, _) = error_of(v.cmd().args(["--json", "save-copy", &id, "--out", "-"]).assert().failure());
    assert_eq!(code, "not_found");
    v.cmd().arg("check").assert().success();
}

fn uuid_of(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).expect("uuid")
}
