//! The vault's promises, checked through the real binary: no plaintext on disk, clear errors that
//! leave the files untouched, passphrase change and recovery, backup and restore, migrations.

mod common;

use common::{contains, error_of, snapshot, TestVault, PASSPHRASE};

#[test]
fn no_plaintext_reaches_any_file() {
    let v = TestVault::new();
    let canary = "CANARY-a81f3c9e-Жыланбаев-қазақ";
    let person =
        v.add("person", &[&format!(r#"names=[{{"value":"{canary} name"}}]"#), &format!("notes={canary} note")]);
    v.add(
        "case",
        &[&format!("title={canary} case"), "case_kind=criminal", "status=trial", &format!("summary={canary}")],
    );
    v.cmd().args(["person", "edit", &person, "--set", &format!("notes={canary} edited")]).assert().success();
    v.cmd().args(["person", "show", &person]).assert().success();
    // Search terms and indexed text live only inside the encrypted file too.
    v.cmd().args(["search", canary]).assert().success();
    v.cmd().args(["search", "CANARY-a81f3c9e"]).assert().success();
    v.cmd().args(["reindex"]).assert().success();
    // A writer killed mid-stream leaves its WAL behind: that must be ciphertext too.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("casebook"))
        .args(["dev", "write-loop", "--prefix", canary])
        .env("CASEBOOK_VAULT", &v.dir)
        .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
        .env("TMPDIR", &v.tmp)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    for _ in 0..20 {
        line.clear();
        std::io::BufRead::read_line(&mut reader, &mut line).expect("read");
    }
    let during = snapshot(v.root.path());
    child.kill().expect("kill");
    child.wait().expect("wait");
    let after = snapshot(v.root.path());
    assert!(
        after.keys().any(|p| p.to_string_lossy().ends_with("-wal")),
        "the killed writer should leave a WAL to inspect"
    );
    for (path, bytes) in during.iter().chain(after.iter()) {
        for needle in [canary.as_bytes(), "CANARY-a81f3c9e".as_bytes()] {
            assert!(!contains(bytes, needle), "plaintext found in {}", path.display());
        }
    }
    // And the records are all there for whoever has the passphrase.
    let list = v.json(&["person", "list", "--all"]);
    assert!(list["total"].as_u64().unwrap_or(0) >= 21);
}

#[test]
fn bad_unlocks_and_damaged_files_give_their_code_and_change_nothing() {
    let v = TestVault::new();
    v.add("person", &[r#"names=[{"value":"Aset Abishev"}]"#]);
    let pristine = snapshot(&v.dir);

    let restore = |files: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| {
        for entry in std::fs::read_dir(&v.dir).expect("dir").flatten() {
            std::fs::remove_file(entry.path()).expect("rm");
        }
        for (p, b) in files {
            std::fs::write(p, b).expect("write");
        }
    };
    let db = v.dir.join("vault.db");
    let slots = v.dir.join("keyslots.json");
    type Damage = Box<dyn Fn()>;
    let cases: Vec<(&str, Damage, &str, i32)> = vec![
        ("wrong passphrase", Box::new(|| {}), "wrong_passphrase", 10),
        (
            "truncated database",
            Box::new({
                let db = db.clone();
                move || {
                    let b = std::fs::read(&db).expect("r");
                    std::fs::write(&db, &b[..b.len() / 2]).expect("w")
                }
            }),
            "vault_corrupt",
            11,
        ),
        (
            "random bytes",
            Box::new({
                let db = db.clone();
                move || {
                    let b: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
                    std::fs::write(&db, b).expect("w")
                }
            }),
            "vault_corrupt",
            11,
        ),
        (
            "empty database file",
            Box::new({
                let db = db.clone();
                move || std::fs::write(&db, b"").expect("w")
            }),
            "vault_corrupt",
            11,
        ),
        (
            "missing key slots",
            Box::new({
                let s = slots.clone();
                move || std::fs::remove_file(&s).expect("rm")
            }),
            "keyslot_missing",
            11,
        ),
        (
            "damaged key slot",
            Box::new({
                let s = slots.clone();
                move || {
                    let text = std::fs::read_to_string(&s).expect("r");
                    let i = text.find("\"wrapped_key\": \"").expect("field") + 16;
                    let mut bytes = text.into_bytes();
                    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                    std::fs::write(&s, bytes).expect("w")
                }
            }),
            "keyslot_damaged",
            11,
        ),
        (
            "unreadable key file",
            Box::new({
                let s = slots.clone();
                move || std::fs::write(&s, b"{not json").expect("w")
            }),
            "keyslot_damaged",
            11,
        ),
        (
            "key file from a newer Casebook",
            Box::new({
                let s = slots.clone();
                move || {
                    let text = std::fs::read_to_string(&s).expect("r").replace("\"format\": 1", "\"format\": 7");
                    std::fs::write(&s, text).expect("w")
                }
            }),
            "vault_too_new",
            12,
        ),
    ];
    for (name, damage, code, status) in cases {
        restore(&pristine);
        damage();
        let before = snapshot(&v.dir);
        let pass = if name == "wrong passphrase" { "not the passphrase" } else { PASSPHRASE };
        let (got, exit) = error_of(v.cmd_with(pass).args(["person", "list"]).assert().failure());
        assert_eq!((got.as_str(), exit), (code, status), "{name}");
        assert_eq!(before, snapshot(&v.dir), "{name}: the files changed");
    }

    // A database stamped by a newer schema.
    restore(&pristine);
    {
        let dir = v.dir.clone();
        let p = casebook_core::Passphrase::new(PASSPHRASE.into());
        let vault = casebook_core::Vault::open(&dir, casebook_core::Unlock::Passphrase(&p)).expect("open");
        vault.debug_set_schema_version(casebook_core::schema::LATEST + 1).expect("stamp");
    }
    let before = snapshot(&v.dir);
    let (got, exit) = error_of(v.cmd().args(["person", "list"]).assert().failure());
    assert_eq!((got.as_str(), exit), ("vault_too_new", 12));
    assert_eq!(before, snapshot(&v.dir), "too-new vault was modified");
}

#[test]
fn passwd_rewraps_the_slot_and_the_recovery_key_still_opens() {
    let v = TestVault::new();
    v.add("person", &[r#"names=[{"value":"Bibigul Imangalieva"}]"#]);
    let db_before = std::fs::read(v.dir.join("vault.db")).expect("db");
    v.cmd().env("CASEBOOK_NEW_PASSPHRASE", "a new long passphrase").args(["passwd"]).assert().success();
    // The database was not re-encrypted: only the key slot changed.
    assert_eq!(db_before, std::fs::read(v.dir.join("vault.db")).expect("db"));
    let (code, exit) = error_of(v.cmd().args(["person", "list"]).assert().failure());
    assert_eq!((code.as_str(), exit), ("wrong_passphrase", 10));
    v.cmd_with("a new long passphrase")
        .args(["person", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Bibigul"));
    let by_recovery = v
        .cmd_with("irrelevant")
        .env("CASEBOOK_RECOVERY_KEY", &v.recovery_key)
        .args(["person", "list"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&by_recovery.get_output().stdout).contains("Bibigul"));
    // A lost passphrase: set a new one with the recovery key.
    v.cmd_with("forgotten")
        .env("CASEBOOK_RECOVERY_KEY", &v.recovery_key)
        .env("CASEBOOK_NEW_PASSPHRASE", "third passphrase here")
        .args(["passwd"])
        .assert()
        .success();
    v.cmd_with("third passphrase here").args(["person", "list"]).assert().success();
    let (code, _) =
        error_of(v.cmd_with("x").env("CASEBOOK_RECOVERY_KEY", "AAAA-BBBB").args(["person", "list"]).assert().failure());
    assert_eq!(code, "wrong_recovery_key");
}

#[test]
fn backup_taken_during_writes_restores_to_a_consistent_vault() {
    let v = TestVault::new();
    v.add("person", &[r#"names=[{"value":"Madina Koketaeva"}]"#]);
    let mut writer = std::process::Command::new(assert_cmd::cargo::cargo_bin("casebook"))
        .args(["dev", "write-loop", "--count", "400"])
        .env("CASEBOOK_VAULT", &v.dir)
        .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let backup = v.root.path().join("backup.casebook-backup");
    v.cmd().args(["backup", "--out"]).arg(&backup).assert().success();
    writer.wait().expect("writer");
    let restored = v.root.path().join("restored");
    let out =
        v.cmd().env("CASEBOOK_VAULT", &restored).args(["--json", "restore", "--from"]).arg(&backup).assert().success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(report["check"]["ok"], true, "{report}");
    let list =
        v.cmd().env("CASEBOOK_VAULT", &restored).args(["person", "list", "--filter", "Koketaeva"]).assert().success();
    assert!(String::from_utf8_lossy(&list.get_output().stdout).contains("Madina Koketaeva"));
    // The backup file is ciphertext, apart from its small header and the key slots.
    let bytes = std::fs::read(&backup).expect("backup");
    assert!(!contains(&bytes, b"Koketaeva"));
    // And it opens with the recovery key too.
    v.cmd_with("wrong")
        .env("CASEBOOK_VAULT", &restored)
        .env("CASEBOOK_RECOVERY_KEY", &v.recovery_key)
        .args(["check"])
        .assert()
        .success();
}

#[test]
fn every_older_schema_version_migrates() {
    for version in 1..casebook_core::schema::LATEST {
        let root = tempfile::tempdir().expect("tmp");
        let dir = root.path().join("v");
        let p = casebook_core::Passphrase::new(PASSPHRASE.into());
        let kdf = casebook_core::KdfParams::with_memory_mib(8, 1).expect("kdf");
        let (old, _) = casebook_core::Vault::create_at_version(&dir, &p, kdf, version).expect("create old");
        assert_eq!(old.schema_version().expect("v"), version);
        old.lock();
        let mut cmd = assert_cmd::Command::cargo_bin("casebook").expect("bin");
        let out = cmd
            .env("CASEBOOK_VAULT", &dir)
            .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
            .args(["--json", "check"])
            .assert()
            .success();
        let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
        assert_eq!(report["ok"], true);
        let vault = casebook_core::Vault::open(&dir, casebook_core::Unlock::Passphrase(&p)).expect("open");
        assert_eq!(vault.schema_version().expect("v"), casebook_core::schema::LATEST);
        assert!(vault.count(casebook_core::Kind::Term).expect("terms") > 100, "vocabularies seeded by the migration");
    }
}
