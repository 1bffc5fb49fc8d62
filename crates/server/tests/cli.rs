//! The server binary's own commands, without a database. (The sync tests in crates/cli run this
//! binary against a real PostgreSQL; this file also makes `cargo test` build it.)

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_casebook-server"))
}

#[test]
fn cert_writes_a_private_key_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out =
        server().args(["cert", "--out"]).arg(dir.path()).args(["--name", "sync.example.org"]).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(printed["cert_sha256"].as_str().map(str::len), Some(64));
    let key = dir.path().join("key.pem");
    assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
    let before = std::fs::read(&key).expect("key");
    let again = server().args(["cert", "--out"]).arg(dir.path()).args(["--name", "other"]).output().expect("run");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    assert_eq!(std::fs::read(&key).expect("key"), before);
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let out = server()
        .args(["init", "--database", "host=127.0.0.1 port=9 user=nobody dbname=none connect_timeout=2"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("cannot reach the database"), "{text}");
}
