//! The server's PostgreSQL: numbered migrations and the team table.

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, NoTls};

pub const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_init.sql")];

pub async fn connect(database: &str) -> Result<Client, String> {
    let (client, connection) =
        tokio_postgres::connect(database, NoTls).await.map_err(|e| format!("cannot reach the database: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("casebook-server: database connection lost: {e}");
            std::process::exit(3);
        }
    });
    Ok(client)
}

/// Applies the migrations not yet applied, each in its own transaction with its version row.
pub async fn migrate(client: &Client) -> Result<usize, String> {
    let err = |e: tokio_postgres::Error| format!("migration failed: {e}");
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(err)?;
    let done: i32 =
        client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await.map_err(err)?.get(0);
    let mut applied = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i32 + 1;
        if version <= done {
            continue;
        }
        let script = format!("BEGIN; {sql}; INSERT INTO schema_migrations(version) VALUES ({version}); COMMIT;");
        client.batch_execute(&script).await.map_err(err)?;
        applied += 1;
    }
    Ok(applied)
}

pub fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(buf))
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A new team and the one-time token its first device registers with (only its hash is kept).
pub async fn create_team(client: &Client, name: &str) -> Result<(String, String), String> {
    let team = uuid::Uuid::now_v7().to_string();
    let token = random_hex(24)?;
    client
        .execute("INSERT INTO teams(id, name, token_sha256) VALUES ($1, $2, $3)", &[&team, &name, &sha256_hex(&token)])
        .await
        .map_err(|e| format!("cannot create the team: {e}"))?;
    Ok((team, token))
}
