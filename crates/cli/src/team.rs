//! `casebook team …` and `casebook sync …`: team membership and sync through casebook-server.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use casebook_core::sync::Invitation;
use casebook_core::{Error, Result, Vault};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{print_json, say};

#[derive(Subcommand)]
pub enum TeamCmd {
    /// Make this vault the first device of a team created on the server with `casebook-server team create`.
    Create {
        /// The server's address, e.g. https://sync.example.org:8443
        #[arg(long)]
        server: String,
        /// The team id `casebook-server team create` printed.
        #[arg(long)]
        team: String,
        /// The one-time token `casebook-server team create` printed.
        #[arg(long, env = "CASEBOOK_TEAM_TOKEN")]
        token: String,
        /// SHA-256 of the server's self-signed certificate, to pin it.
        #[arg(long)]
        cert_sha256: Option<String>,
    },
    /// Write an invitation for a new device (a secret: hand it over in person; it works once, for 7 days).
    Invite {
        #[arg(long)]
        out: PathBuf,
    },
    /// Join a team with an invitation file; shows the team's fingerprint to compare with the inviter's.
    Join { file: PathBuf },
    /// The team's devices, with their fingerprints.
    Devices,
    /// Remove a device: the server refuses it from now on and the others get a new team key.
    Revoke { device: String },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncArgs {
    #[command(subcommand)]
    cmd: Option<SyncCmd>,
}

#[derive(Subcommand)]
pub enum SyncCmd {
    /// Push this vault's changes and pull the team's (the default).
    Now,
    /// Team, last sync, pending changes and conflicts, without contacting the server.
    Status,
    /// Fields two devices changed without seeing each other's change, and deletes that missed an edit.
    Conflicts,
    /// Settle a conflict by keeping one version (its clock, from `sync conflicts`).
    Resolve {
        record: String,
        #[arg(long)]
        field: String,
        #[arg(long)]
        keep: String,
    },
}

pub fn team(vault: &mut Vault, json_out: bool, cmd: &TeamCmd) -> Result<()> {
    match cmd {
        TeamCmd::Create { server, team, token, cert_sha256 } => {
            let fingerprint = casebook_sync::create_team(vault, server, team, token, cert_sha256.clone())?;
            say(
                json_out,
                json!({"team": team, "device": vault.device_id(), "team_fingerprint": fingerprint}),
                &format!("This vault is now the first device of team {team}. Team fingerprint: {fingerprint}"),
            );
        }
        TeamCmd::Invite { out } => {
            let invitation = casebook_sync::invite(vault)?;
            let mut file = casebook_core::vault::create_private(out, false)?;
            file.write_all(serde_json::to_string_pretty(&invitation)?.as_bytes()).map_err(|e| Error::io(out, e))?;
            say(
                json_out,
                json!({"invitation": out, "team_fingerprint": invitation.team_fingerprint}),
                &format!(
                    "Invitation written to {}. It is a secret: hand it over in person or over a channel you trust; it works once, for 7 days.\nThe joining device must show this team fingerprint: {}",
                    out.display(),
                    invitation.team_fingerprint
                ),
            );
        }
        TeamCmd::Join { file } => {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            let invitation = Invitation::read(&text)?;
            let fingerprint = casebook_sync::join(vault, &invitation)?;
            say(
                json_out,
                json!({"team": invitation.team, "device": vault.device_id(), "team_fingerprint": fingerprint}),
                &format!("Joined team {}. Compare this team fingerprint with the inviting device: {fingerprint}\nRun `casebook sync` to receive the team's archive.", invitation.team),
            );
        }
        TeamCmd::Devices => {
            let devices = casebook_sync::devices(vault)?;
            if json_out {
                print_json(&serde_json::to_value(&devices)?);
            } else {
                for d in devices {
                    let me = if d.device == vault.device_id() { " (this device)" } else { "" };
                    let state = d
                        .revoked_at
                        .map(|r| format!("revoked {r}"))
                        .unwrap_or_else(|| format!("enrolled {}", d.enrolled_at));
                    println!("{}  {}  {state}{me}", d.device, d.fingerprint);
                }
            }
        }
        TeamCmd::Revoke { device } => {
            casebook_sync::revoke(vault, device)?;
            say(
                json_out,
                json!({"revoked": device}),
                &format!("Device {device} is revoked: the server refuses it, and the team has a new key. It keeps what it had already received."),
            );
        }
    }
    Ok(())
}

pub fn sync(vault: &mut Vault, json_out: bool, args: &SyncArgs) -> Result<()> {
    match args.cmd.as_ref().unwrap_or(&SyncCmd::Now) {
        SyncCmd::Now => {
            let interactive = !json_out && std::io::stderr().is_terminal();
            let report = casebook_sync::sync(vault, &mut |p| {
                if interactive {
                    eprint!("\r{} {}{}   ", p.phase, p.done, p.total.map(|t| format!("/{t}")).unwrap_or_default());
                }
            })?;
            if interactive {
                eprintln!();
            }
            say(
                json_out,
                serde_json::to_value(&report)?,
                &format!(
                    "Synced: sent {} batches, received {} ({} changes), {} conflicts to settle.",
                    report.pushed_batches, report.pulled.batches, report.pulled.changes, report.conflicts
                ),
            );
        }
        SyncCmd::Status => {
            let status = vault.sync_status()?;
            let text = match &status.team {
                None => "This vault is not in a team.".to_string(),
                Some(t) => format!(
                    "Team {} at {}; last synced {}; {} changes waiting to be sent; {} conflicts.",
                    t.team,
                    t.server,
                    status.last_synced.as_deref().unwrap_or("never"),
                    status.pending_changes + status.unsent_batches,
                    status.conflicts
                ),
            };
            say(json_out, serde_json::to_value(&status)?, &text);
        }
        SyncCmd::Conflicts => {
            let list = vault.sync_conflicts()?;
            if json_out {
                print_json(&serde_json::to_value(&list)?);
            } else if list.is_empty() {
                println!("No sync conflicts.");
            } else {
                for c in list {
                    println!("{} {} \"{}\" field {}:", c.kind, c.record, c.label, c.field);
                    for (i, v) in c.versions.iter().enumerate() {
                        let shown = if i == 0 { " (shown now)" } else { "" };
                        println!("    {}  device {}: {}{shown}", v.hlc, v.device, v.value);
                    }
                }
            }
        }
        SyncCmd::Resolve { record, field, keep } => {
            let record = vault.resolve(record)?;
            vault.resolve_sync_conflict(record, field, keep)?;
            say(
                json_out,
                json!({"record": record, "field": field, "kept": keep}),
                "Conflict settled; the team gets the decision at the next sync.",
            );
        }
    }
    Ok(())
}
