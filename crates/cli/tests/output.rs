//! Output to a pipe that its reader closes early (`casebook … | head -c1`): the command ends
//! quietly, without the panic (exit status 101) the standard print macros give.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{TestVault, PASSPHRASE};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/kazakhstan-2023h2.json");

/// Run the real binary with stdout on a pipe, read one byte, close the pipe; (status, stderr).
fn read_one_byte_and_close(v: &TestVault, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("casebook"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", v.root.path())
        .env("TMPDIR", &v.tmp)
        .env("CASEBOOK_VAULT", &v.dir)
        .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).expect("one byte");
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    (child.wait().expect("wait").code(), stderr)
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let v = TestVault::new();
    v.cmd().args(["import", EXAMPLE]).assert().success();
    // Enough lines that the output cannot fit in the pipe's buffer before the reader closes it.
    v.cmd().args(["dev", "generate", "--people", "3000", "--cases", "0", "--events", "0"]).assert().success();
    for args in [
        &["export", "--out", "-"][..],              // one large write
        &["person", "list", "--all"][..],           // a println! per line
        &["--json", "person", "list", "--all"][..], // one large println!
    ] {
        let (status, stderr) = read_one_byte_and_close(&v, args);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_ne!(status, Some(101), "{args:?} panicked: {stderr}");
        assert_eq!(status, Some(141), "{args:?}: a closed stdout ends with 128 + SIGPIPE: {stderr}");
    }
}
