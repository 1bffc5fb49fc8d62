//! `casebook-server`: the team sync server (docs/sync.md). It keeps, per team, the devices'
//! public keys, their encrypted batches and attachment chunks, in PostgreSQL. It authenticates
//! every request by the device's Ed25519 signature, refuses revoked devices, checks each batch's
//! signature and chain, and never holds a key that decrypts anything.

mod api;
mod db;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "casebook-server", version, about = "Casebook's team sync server: stores ciphertext only")]
struct Cli {
    /// PostgreSQL connection: a URL (postgres://user@host/db) or key=value words (host=/run/postgresql dbname=casebook).
    #[arg(long, env = "CASEBOOK_SERVER_DATABASE", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or update the server's tables (numbered migrations; safe to run again).
    Init,
    /// Answer devices' requests.
    Serve {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// TLS certificate chain (PEM); with --tls-key. Without them the server speaks plain HTTP
        /// (behind a TLS terminator, or on loopback for tests).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Make a self-signed TLS certificate (cert.pem, key.pem) and print the SHA-256 devices pin.
    Cert {
        /// Folder for cert.pem and key.pem (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Host names or addresses the server is reached by.
        #[arg(long = "name", required = true)]
        names: Vec<String>,
    },
    /// Teams on this server.
    #[command(subcommand)]
    Team(TeamCommand),
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team; prints its id and a one-time token for the first device (`casebook team create`).
    Create {
        /// A name for the server's operator; devices never send it and it stays on the server.
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("casebook-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("casebook-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Cert { out, names } = &cli.command {
        let fingerprint = tls::self_signed(out, names.clone())?;
        println!(
            "{}",
            serde_json::json!({"cert": out.join("cert.pem"), "key": out.join("key.pem"), "cert_sha256": fingerprint})
        );
        return Ok(());
    }
    let database = cli.database.ok_or("give the database with --database or CASEBOOK_SERVER_DATABASE")?;
    let client = db::connect(&database).await?;
    match cli.command {
        Command::Init => {
            let applied = db::migrate(&client).await?;
            println!("{}", serde_json::json!({"migrations_applied": applied, "schema": db::MIGRATIONS.len()}));
        }
        Command::Team(TeamCommand::Create { name }) => {
            db::migrate(&client).await?;
            let (team, token) = db::create_team(&client, &name).await?;
            println!("{}", serde_json::json!({"team": team, "token": token}));
        }
        Command::Serve { listen, tls_cert, tls_key } => {
            db::migrate(&client).await?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    let (acceptor, fingerprint) = tls::acceptor(&cert, &key)?;
                    // The test harness and systemd read this line to learn the port.
                    println!("listening on https://{local} cert_sha256={fingerprint}");
                    api::serve(tls::TlsListener::new(listener, acceptor).map_err(|e| e.to_string())?, client).await?;
                }
                _ => {
                    println!("listening on http://{local}");
                    api::serve(listener, client).await?;
                }
            }
        }
        Command::Cert { .. } => unreachable!("handled above"),
    }
    Ok(())
}
