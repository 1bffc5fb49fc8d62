//! Shared set-up for the end-to-end CLI tests: a real `casebook` binary on a real SQLCipher vault
//! in a private temporary folder, with its own TMPDIR so tests can inspect every file it leaves.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod pg;

use assert_cmd::Command;
use serde_json::Value;

pub const PASSPHRASE: &str = "correct horse battery staple";

pub struct TestVault {
    pub root: tempfile::TempDir,
    pub dir: PathBuf,
    pub tmp: PathBuf,
    pub recovery_key: String,
}

impl TestVault {
    /// A fresh vault with a deliberately cheap KDF (8 MiB, 1 pass) so the suite stays fast.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("vault");
        let tmp = root.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp");
        let mut v = TestVault { root, dir, tmp, recovery_key: String::new() };
        let out = v.cmd().args(["--json", "init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"]).assert().success();
        let json: Value = serde_json::from_slice(&out.get_output().stdout).expect("init prints JSON");
        v.recovery_key = json["recovery_key"].as_str().expect("recovery key").to_string();
        v
    }

    pub fn cmd(&self) -> Command {
        self.cmd_with(PASSPHRASE)
    }

    pub fn cmd_with(&self, passphrase: &str) -> Command {
        let mut c = Command::cargo_bin("casebook").expect("binary");
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("TMPDIR", &self.tmp)
            .env("CASEBOOK_VAULT", &self.dir)
            .env("CASEBOOK_PASSPHRASE", passphrase);
        c
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.cmd().args(&all).assert().success();
        serde_json::from_slice(&out.get_output().stdout).expect("JSON on stdout")
    }

    pub fn add(&self, kind: &str, fields: &[&str]) -> String {
        let mut args = vec![kind, "add"];
        for f in fields {
            args.push("--set");
            args.push(f);
        }
        self.json(&args)["id"].as_str().expect("id").to_string()
    }

    pub fn export(&self) -> String {
        let out = self.cmd().args(["export", "--out", "-"]).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).expect("utf-8")
    }
}

/// Every file below `dir` with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.insert(p, bytes);
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The JSON error a failing command printed on stderr, and its exit status.
pub fn error_of(assert: assert_cmd::assert::Assert) -> (String, i32) {
    let out = assert.get_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("stderr is not a JSON error: {stderr}"));
    (json["error"]["code"].as_str().unwrap_or_default().to_string(), out.status.code().unwrap_or(-1))
}

/// Adds `other` to `v`'s partner directory with a verified fingerprint; returns the partner id.
pub fn befriend(v: &TestVault, other: &TestVault, name: &str) -> String {
    let card = other.json(&["identity", "show"]);
    v.add(
        "partner",
        &[
            &format!("name={name}"),
            &format!("age_recipient={}", card["recipient"].as_str().expect("recipient")),
            &format!("signing_key={}", card["signing_key"].as_str().expect("key")),
            "fingerprint_verified=true",
        ],
    )
}
