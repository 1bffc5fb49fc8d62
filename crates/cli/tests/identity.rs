//! The vault's identity for bundles and the partner directory, through the real CLI, with
//! Debian's `age` binary as the independent check that the keys are real age keys.

mod common;

use common::{contains, error_of, snapshot, TestVault};

#[test]
fn the_identity_is_stable_secret_and_works_with_stock_age() {
    let v = TestVault::new();
    let card = v.json(&["identity", "show"]);
    assert_eq!(v.json(&["identity", "show"]), card, "created once, then the same");
    let recipient = card["recipient"].as_str().expect("recipient").to_string();
    assert!(recipient.starts_with("age1") && recipient.len() == 62, "{recipient}");
    assert!(card["signing_key"].as_str().is_some_and(|k| k.starts_with("ed25519:")));
    let fp = card["fingerprint"].as_str().expect("fingerprint");
    assert!(fp.len() == 19 && fp.split('-').all(|g| g.len() == 4), "{fp}");

    // The secret half is nowhere on disk, not in the export either.
    let identity_file = v.root.path().join("identity.txt");
    v.cmd().args(["identity", "export-age", "--out", identity_file.to_str().expect("path")]).assert().success();
    let text = std::fs::read_to_string(&identity_file).expect("identity file");
    let secret = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-1")).expect("secret line").to_string();
    std::fs::remove_file(&identity_file).expect("remove");
    let export = v.export();
    assert!(!export.contains(&secret) && !export.contains("AGE-SECRET-KEY"));
    for (path, bytes) in snapshot(v.root.path()) {
        assert!(!contains(&bytes, secret.as_bytes()), "{} holds the secret key", path.display());
        assert!(!contains(&bytes, b"AGE-SECRET-KEY"), "{} holds a secret key", path.display());
    }

    // Debian's age encrypts to the recipient; the exported identity decrypts it.
    std::fs::write(v.root.path().join("identity.txt"), &text).expect("write");
    let message = v.root.path().join("message.txt");
    std::fs::write(&message, "hearing moved to 11:30").expect("write");
    let sealed = v.root.path().join("message.age");
    let ok = std::process::Command::new("age")
        .args(["-r", &recipient, "-o", sealed.to_str().expect("p"), message.to_str().expect("p")])
        .status()
        .expect("age runs");
    assert!(ok.success());
    let opened = std::process::Command::new("age")
        .args(["-d", "-i", v.root.path().join("identity.txt").to_str().expect("p"), sealed.to_str().expect("p")])
        .output()
        .expect("age runs");
    assert_eq!(String::from_utf8_lossy(&opened.stdout), "hearing moved to 11:30");

    // export-age never overwrites a file.
    let (code, _) = error_of(
        v.cmd()
            .args([
                "--json",
                "identity",
                "export-age",
                "--out",
                v.root.path().join("identity.txt").to_str().expect("p"),
            ])
            .assert()
            .failure(),
    );
    assert_eq!(code, "io_error");
}

#[test]
fn partners_are_added_with_checked_keys_and_removed() {
    let ours = TestVault::new();
    let theirs = TestVault::new();
    let card = theirs.json(&["identity", "show"]);
    let id = ours.add(
        "partner",
        &[
            "name=Legal aid partner",
            &format!("age_recipient={}", card["recipient"].as_str().expect("r")),
            &format!("signing_key={}", card["signing_key"].as_str().expect("k")),
        ],
    );
    assert_eq!(ours.json(&["partner", "list"])["total"], 1);
    ours.cmd().args(["partner", "edit", &id, "--set", "fingerprint_verified=true"]).assert().success();

    let before = ours.export();
    for (field, value) in [("age_recipient", "age1notakey"), ("signing_key", "ed25519:short"), ("signing_key", "AAAA")]
    {
        let (code, status) = error_of(
            ours.cmd()
                .args(["--json", "partner", "add", "--set", "name=Broken", "--set", &format!("{field}={value}")])
                .assert()
                .failure(),
        );
        assert_eq!((code.as_str(), status), ("invalid_record", 20), "{field}={value}");
    }
    assert_eq!(ours.export(), before, "refused partners leave nothing behind");
    ours.cmd().args(["partner", "remove", &id]).assert().success();
    assert_eq!(ours.json(&["partner", "list"])["total"], 0);
}
