//! Team sync under faults: a TCP proxy of the test's own drops, delays and cuts connections
//! mid-push and mid-pull, and the client and the server are each killed with SIGKILL
//! mid-transfer. Afterwards a plain `casebook sync` completes, nothing is duplicated or lost.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use casebook_core::{Kind, Passphrase, Unlock, Vault};
use common::pg::{Cluster, Server};
use common::{error_of, TestVault, PASSPHRASE};
use serde_json::json;

const PASS: usize = 0;
const DROP: usize = 1;
const DELAY: usize = 2;
const CUT: usize = 3;

/// Forwards loopback connections to the server, misbehaving as `mode` says.
struct Proxy {
    url: String,
    mode: Arc<AtomicUsize>,
    /// In CUT mode: bytes (both directions) after which a connection is cut.
    cut_at: Arc<AtomicUsize>,
}

fn pump(mut from: TcpStream, mut to: TcpStream, mode: Arc<AtomicUsize>, budget: Arc<AtomicUsize>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match mode.load(Ordering::SeqCst) {
            DELAY => std::thread::sleep(Duration::from_millis(15)),
            CUT => {
                let left = budget.fetch_sub(n.min(budget.load(Ordering::SeqCst)), Ordering::SeqCst);
                if left <= n {
                    let _ = to.write_all(&buf[..left]);
                    break;
                }
            }
            _ => {}
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Proxy {
    fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let mode = Arc::new(AtomicUsize::new(PASS));
        let cut_at = Arc::new(AtomicUsize::new(usize::MAX));
        let (m, c) = (mode.clone(), cut_at.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if m.load(Ordering::SeqCst) == DROP {
                    drop(client);
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(&target) else { continue };
                let budget = Arc::new(AtomicUsize::new(c.load(Ordering::SeqCst)));
                let (c2, u2) = (client.try_clone().expect("clone"), upstream.try_clone().expect("clone"));
                let (m1, m2, b2) = (m.clone(), m.clone(), budget.clone());
                std::thread::spawn(move || pump(client, upstream, m1, budget));
                std::thread::spawn(move || pump(u2, c2, m2, b2));
            }
        });
        Proxy { url, mode, cut_at }
    }

    fn set(&self, mode: usize, cut_at: usize) {
        self.cut_at.store(cut_at, Ordering::SeqCst);
        self.mode.store(mode, Ordering::SeqCst);
    }
}

fn team_via(server: &Server, url: &str) -> (TestVault, TestVault) {
    let (team, token) = server.create_team("Faults NGO");
    let a = TestVault::new();
    a.json(&["team", "create", "--server", url, "--team", &team, "--token", &token]);
    let b = TestVault::new();
    let invitation = a.root.path().join("invite.json");
    a.json(&["team", "invite", "--out", invitation.to_str().expect("path")]);
    b.json(&["team", "join", invitation.to_str().expect("path")]);
    (a, b)
}

fn add_people(v: &TestVault, n: usize, tag: &str) {
    let mut vault = Vault::open(&v.dir, Unlock::Passphrase(&Passphrase::new(PASSPHRASE.into()))).expect("open");
    let records: Vec<(Kind, serde_json::Value)> = (0..n)
        .map(|i| (Kind::Person, json!({"names": [{"value": format!("{tag} person {i}")}], "notes": "x".repeat(200)})))
        .collect();
    vault.add_batch(records).expect("add");
}

/// Every device's batches are numbered 1..n on the server with no gap and no repeat.
fn assert_server_chains_whole(cluster: &Cluster) {
    let rows = cluster.psql("SELECT device, count(*), count(DISTINCT seq), max(seq) FROM batches GROUP BY device");
    for line in rows.lines() {
        let cols: Vec<&str> = line.split('|').collect();
        assert!(cols[1] == cols[2] && cols[2] == cols[3], "batches of device {} are whole: {line}", cols[0]);
    }
}

fn sync_fails(v: &TestVault) -> String {
    error_of(v.cmd().args(["--json", "sync"]).assert().failure()).0
}

#[test]
fn cut_delayed_and_dropped_connections_then_a_plain_sync_completes() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let proxy = Proxy::start(server.addr());
    let (a, b) = team_via(&server, &proxy.url);
    add_people(&a, 3_000, "first");

    // Mid-push: connections cut after a few kilobytes, at several points, and refused.
    for cut in [2_000, 40_000, 400_000] {
        proxy.set(CUT, cut);
        let code = sync_fails(&a);
        assert!(code == "sync_offline" || code == "sync_server_error", "cut at {cut}: {code}");
    }
    proxy.set(DROP, 0);
    assert_eq!(sync_fails(&a), "sync_offline");
    proxy.set(DELAY, 0);
    a.json(&["sync"]);
    assert_server_chains_whole(&cluster);
    assert_eq!(a.json(&["sync", "status"])["unsent_batches"], 0);

    // Mid-pull: the same for the receiving device.
    for cut in [3_000, 200_000] {
        proxy.set(CUT, cut);
        sync_fails(&b);
    }
    proxy.set(PASS, 0);
    b.json(&["sync"]);
    assert_eq!(b.export(), a.export(), "nothing lost, nothing duplicated");
    assert_server_chains_whole(&cluster);
}

#[test]
fn the_client_and_the_server_killed_mid_transfer_then_a_plain_sync_completes() {
    let cluster = Cluster::start();
    let mut server = Server::start(&cluster);
    let addr = server.addr();
    let proxy = Proxy::start(addr.clone());
    let (a, b) = team_via(&server, &proxy.url);
    add_people(&a, 4_000, "killed");

    // The client killed at several moments of a slow push.
    proxy.set(DELAY, 0);
    for wait in [150, 400, 900, 1_500] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_casebook"))
            .args(["--json", "sync"])
            .env("CASEBOOK_VAULT", &a.dir)
            .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
            .env("HOME", a.root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sync");
        std::thread::sleep(Duration::from_millis(wait));
        let _ = child.kill();
        let _ = child.wait();
        eprintln!(
            "killed after {wait} ms: {} batches on the server",
            cluster.psql("SELECT count(*) FROM batches").trim()
        );
    }
    assert_server_chains_whole(&cluster);

    // The server killed while B pulls slowly, then started again on the same address.
    add_people(&a, 1_000, "second");
    proxy.set(PASS, 0);
    a.json(&["sync"]);
    proxy.set(DELAY, 0);
    let puller = {
        let dir = b.dir.clone();
        let home = b.root.path().to_path_buf();
        std::thread::spawn(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_casebook"))
                .args(["--json", "sync"])
                .env("CASEBOOK_VAULT", dir)
                .env("CASEBOOK_PASSPHRASE", PASSPHRASE)
                .env("HOME", home)
                .output()
                .expect("sync")
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let out = puller.join().expect("puller");
    eprintln!("B had applied {} batches when its server died", b.json(&["sync", "status"])["vector"]);
    assert!(!out.status.success(), "the pull could not finish without its server");
    let restarted = Server::start_on(&cluster, &addr);
    proxy.set(PASS, 0);
    a.json(&["sync"]);
    b.json(&["sync"]);
    assert_eq!(b.export(), a.export(), "nothing lost, nothing duplicated");
    assert_server_chains_whole(&cluster);
    drop(restarted);
}

/// The desktop app shares its vault with the window's other commands: a sync over a slow link
/// lends it for each step and never holds it while a request travels.
#[test]
fn a_slow_sync_leaves_the_vault_free_for_other_work_while_it_waits_on_the_network() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let proxy = Proxy::start(server.addr());
    let (a, b) = team_via(&server, &proxy.url);
    add_people(&b, 3_000, "from B");
    b.json(&["sync"]);
    // A has its own to send, so its push is slow too.
    add_people(&a, 3_000, "from A");
    let holder = a.add("person", &[r#"names=[{"value":"Photographed at the courthouse"}]"#]);
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();

    let shared = Arc::new(std::sync::Mutex::new(Some(
        Vault::open(&a.dir, Unlock::Passphrase(&Passphrase::new(PASSPHRASE.into()))).expect("open"),
    )));
    proxy.set(DELAY, 0);
    let started = std::time::Instant::now();
    let syncing = {
        let shared = shared.clone();
        std::thread::spawn(move || casebook_sync::sync_shared(&*shared, &mut |_| {}))
    };
    let (mut added_meanwhile, mut longest_wait) = (0, Duration::ZERO);
    while !syncing.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        let asked = std::time::Instant::now();
        let mut guard = shared.lock().expect("lock");
        longest_wait = longest_wait.max(asked.elapsed());
        if syncing.is_finished() {
            break;
        }
        let vault = guard.as_mut().expect("unlocked");
        if added_meanwhile == 0 {
            // Added while the push runs: its content is not on the server yet, so no device may be
            // told of it before the next sync uploads it.
            let holder = uuid::Uuid::parse_str(&holder).expect("id");
            vault.attach(holder, "notice.jpg", photo.as_slice(), None).expect("attach");
        }
        vault
            .add(Kind::Person, json!({"names": [{"value": format!("typed during the sync {added_meanwhile}")}]}))
            .expect("add");
        added_meanwhile += 1;
    }
    let report = syncing.join().expect("sync thread").expect("the slow sync completes");
    let took = started.elapsed();
    eprintln!(
        "sync took {took:?}, {added_meanwhile} records added meanwhile, longest wait for the vault {longest_wait:?}"
    );
    assert!(report.pulled.records >= 3_000, "B's people arrived");
    assert!(took > Duration::from_secs(1), "the link was slow enough to matter: {took:?}");
    assert!(added_meanwhile >= 5, "other work went on during the sync ({added_meanwhile} records)");
    assert!(
        longest_wait < took / 2,
        "the vault was never held across the transfer: waited {longest_wait:?} of {took:?}"
    );

    drop(shared);
    proxy.set(PASS, 0);
    b.json(&["sync"]);
    a.json(&["sync"]);
    b.json(&["sync"]);
    assert_eq!(b.export(), a.export(), "what was typed during the sync reached B too");
    assert!(b.export().contains("typed during the sync 0"));
    let attachment = b.json(&["attachment", "list"])["items"][0]["id"].as_str().expect("attachment").to_string();
    let saved = b.root.path().join("notice.jpg");
    b.cmd().args(["save-copy", &attachment, "--out", saved.to_str().expect("path")]).assert().success();
    assert!(std::fs::read(&saved).expect("saved") == photo, "the photo added mid-sync arrived whole");
}
