//! Power-cut safety: a writer is killed with SIGKILL at random moments. After every kill the vault
//! opens, `check` passes, and every record the writer reported as committed is there.
//! Trials: 50 by default; `CASEBOOK_CRASH_TRIALS=1000` (scripts/crash-trials.sh) for the long run.

mod common;

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{TestVault, PASSPHRASE};

/// xorshift: reproducible from the printed seed, no dependency needed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_committed_record() {
    let trials: u32 = std::env::var("CASEBOOK_CRASH_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(50);
    let seed = std::env::var("CASEBOOK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1
    });
    eprintln!("crash trials: {trials}, seed {seed} (CASEBOOK_CRASH_SEED={seed} repeats this run)");
    let mut rng = Rng(seed);
    let v = TestVault::new();
    let mut committed: HashSet<String> = HashSet::new();
    let start = Instant::now();
    for trial in 0..trials {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("casebook"))
            .args(["dev", "write-loop", "--prefix", &format!("Trial {trial}")])
            .env("CASEBOOK_VAULT", &v.dir)
            .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
            .env("TMPDIR", &v.tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Kill somewhere between "still unlocking" and "mid-stream of commits".
        let delay = Duration::from_millis(rng.next() % 400);
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        let reported: Vec<String> = rx.try_iter().collect();
        committed.extend(reported);

        let check = v.json(&["check"]);
        assert_eq!(check["ok"], true, "trial {trial} (seed {seed}): check failed after kill at {delay:?}: {check}");
        let list = v.json(&["person", "list", "--all"]);
        let present: HashSet<String> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect();
        let missing: Vec<&String> = committed.iter().filter(|id| !present.contains(*id)).collect();
        assert!(missing.is_empty(), "trial {trial} (seed {seed}): committed records lost: {missing:?}");
    }
    eprintln!(
        "{trials} trials, {} committed records verified, {:.1} s",
        committed.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(!committed.is_empty(), "no trial got as far as a commit: the kill delays are too short to test anything");
}
