//! A throwaway PostgreSQL cluster and a real `casebook-server` for the sync tests. PostgreSQL
//! refuses to run as root, so as root the cluster runs as the `postgres` user (runuser).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Debian's PostgreSQL binaries (/usr/lib/postgresql/VERSION/bin, the newest), or CASEBOOK_PG_BIN.
fn pg_bin(tool: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("CASEBOOK_PG_BIN") {
        return Path::new(&dir).join(tool);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort();
    let dir = versions.pop().map(|(_, p)| p).unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into());
    dir.join(tool)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// A command run as the cluster's owner.
fn as_owner(tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_bin(tool));
        c
    } else {
        Command::new(pg_bin(tool))
    }
}

pub struct Cluster {
    root: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    pub fn start() -> Cluster {
        let root = tempfile::Builder::new().prefix("casebook-pg").tempdir().expect("tempdir");
        let data = root.path().join("data");
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(root.path()).status().expect("chown");
            assert!(ok.success(), "chown of the cluster folder failed");
        }
        let out = as_owner("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("initdb (apt install postgresql)");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            root.path().display()
        );
        let out = as_owner("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(root.path().join("postgres.log"))
            .args(["-w", "start"])
            .output()
            .expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl start failed: {}", String::from_utf8_lossy(&out.stderr));
        Cluster { root, port }
    }

    pub fn url(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(pg_bin("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn pg_dump(&self) -> Vec<u8> {
        let out = Command::new(pg_bin("pg_dump"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "postgres"])
            .output()
            .expect("pg_dump");
        assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ =
            as_owner("pg_ctl").arg("-D").arg(self.root.path().join("data")).args(["-m", "immediate", "stop"]).output();
    }
}

pub fn server_binary() -> PathBuf {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_casebook"));
    let server = cli.with_file_name("casebook-server");
    assert!(server.exists(), "{} is missing: run the tests with `cargo test --workspace`", server.display());
    server
}

/// A running `casebook-server serve`, its log in a file the test can read.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
    database: String,
}

impl Server {
    pub fn start(cluster: &Cluster) -> Server {
        Server::start_on(cluster, "127.0.0.1:0")
    }

    pub fn start_on(cluster: &Cluster, listen: &str) -> Server {
        Server::start_with(cluster, listen, &[])
    }

    /// With extra `serve` arguments (e.g. --tls-cert/--tls-key).
    pub fn start_with(cluster: &Cluster, listen: &str, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("server.log");
        let mut child = Command::new(server_binary())
            .args(["serve", "--listen", listen, "--database", &cluster.url()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("casebook-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("server said {line:?}"))
            .to_string();
        Server { child, url, log, _dir: dir, database: cluster.url() }
    }

    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").trim_start_matches("https://").to_string()
    }

    /// `casebook-server team create`: (team, token).
    pub fn create_team(&self, name: &str) -> (String, String) {
        let out = Command::new(server_binary())
            .args(["team", "create", name, "--database", &self.database])
            .output()
            .expect("team create");
        assert!(out.status.success(), "team create failed: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (v["team"].as_str().expect("team").into(), v["token"].as_str().expect("token").into())
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
