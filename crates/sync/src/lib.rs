//! The device's side of talking to `casebook-server` (docs/sync.md). The vault does all the
//! cryptography and merging (casebook_core::sync); this crate only moves sealed bytes, so the
//! CLI and the desktop shell share one implementation.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use casebook_core::sync::{
    request_message, ApplyReport, Invitation, JoinRequest, JoinResponse, PullResponse, RegisterRequest, RequestSigner,
    RevokeRequest, SealedBatch, TeamConfig, TeamDevice, WrappedKey,
};
use casebook_core::{Error, Result, Vault};
use serde::Serialize;

/// Batches per pull request (about 10 MB): the next page is fetched while this one is applied.
const PULL_PAGE: usize = 32;

/// A self-signed server certificate, trusted because its SHA-256 is the pinned one.
mod pinned {
    use std::sync::Arc;

    use casebook_core::{Error, Result};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use sha2::{Digest, Sha256};

    pub const MISMATCH: &str = "certificate is not the pinned one";

    #[derive(Debug)]
    struct Pinned {
        sha256: Vec<u8>,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Pinned {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            if Sha256::digest(end_entity.as_ref()).as_slice() == self.sha256.as_slice() {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General(MISMATCH.into()))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }

    pub fn config(pin: &str) -> Result<rustls::ClientConfig> {
        let sha256 =
            hex::decode(pin.trim().replace(':', "").to_ascii_lowercase()).ok().filter(|b| b.len() == 32).ok_or_else(
                || Error::InvalidInput(format!("'{pin}' is not a SHA-256 certificate fingerprint (64 hex digits)")),
            )?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Storage(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { sha256, provider }))
            .with_no_client_auth();
        Ok(config)
    }
}

/// What one `sync` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub pushed_batches: u32,
    pub pulled: ApplyReport,
    pub uploaded_chunks: u32,
    pub downloaded_chunks: u32,
    pub new_keys: u32,
    pub conflicts: u64,
}

/// Where a long sync is: a phase and how far it got.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub phase: &'static str,
    pub done: u64,
    pub total: Option<u64>,
}

fn server_code(code: &str) -> &'static str {
    match code {
        "unknown_device" => "sync_unknown_device",
        "device_revoked" => "sync_device_revoked",
        "bad_signature" => "sync_bad_signature",
        "batch_replayed" => "sync_batch_replayed",
        "batch_fork" => "sync_batch_fork",
        "batch_gap" => "sync_batch_gap",
        "invalid_batch" => "sync_invalid_batch",
        "invite_invalid" => "sync_invite_invalid",
        "invite_expired" => "sync_invite_expired",
        "device_exists" => "sync_device_exists",
        "token_invalid" => "sync_token_invalid",
        "unknown_team" => "sync_unknown_team",
        "request_expired" => "sync_request_expired",
        "chunk_missing" => "sync_chunk_missing",
        "unsigned_request" => "sync_unsigned_request",
        _ => "sync_server_error",
    }
}

struct Connection {
    agent: ureq::Agent,
    base: String,
    team: String,
}

impl Connection {
    fn new(server: &str, team: &str, cert_sha256: Option<&str>) -> Result<Connection> {
        let base = server.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(Error::InvalidInput(format!(
                "The server address must start with https:// or http://, not \"{server}\"."
            )));
        }
        let mut builder =
            ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(10)).timeout(Duration::from_secs(300));
        if let Some(pin) = cert_sha256 {
            builder = builder.tls_config(Arc::new(pinned::config(pin)?));
        }
        Ok(Connection { agent: builder.build(), base, team: team.to_string() })
    }

    fn of(vault: &Vault) -> Result<Connection> {
        let team = vault.team()?.ok_or_else(|| {
            Error::sync(
                "sync_not_configured",
                "This vault is not in a team. Create one (casebook team create) or join one (casebook team join).",
            )
        })?;
        Connection::new(&team.server, &team.team, team.cert_sha256.as_deref())
    }

    /// One request; `signer` signs it unless it is a registration or a join.
    fn call(&self, signer: Option<&RequestSigner>, method: &str, path: &str, body: &[u8]) -> Result<Vec<u8>> {
        let path = format!("/v1/teams/{}{path}", self.team);
        let mut request = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(signer) = signer {
            let time = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
            let signature = signer.sign(&request_message(method, &path, time, body));
            request = request
                .set("x-casebook-device", signer.device())
                .set("x-casebook-time", &time.to_string())
                .set("x-casebook-signature", &signature);
        }
        let result = if method == "GET" { request.call() } else { request.send_bytes(body) };
        match result {
            Ok(response) => {
                let mut out = Vec::new();
                response.into_reader().read_to_end(&mut out).map_err(|e| self.offline(e))?;
                Ok(out)
            }
            Err(ureq::Error::Status(status, response)) => {
                let text = response.into_string().unwrap_or_default();
                let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let code = parsed["error"]["code"].as_str().unwrap_or_default();
                let message = parsed["error"]["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("the server answered {status}"));
                Err(Error::sync(server_code(code), format!("The team server refused: {message}")))
            }
            Err(ureq::Error::Transport(t)) if t.to_string().contains(pinned::MISMATCH) => Err(Error::sync(
                "sync_certificate_mismatch",
                format!("The server at {} shows a different TLS certificate than the one this team pinned. Someone may be intercepting the connection, or the server's certificate was replaced; nothing was sent. Ask whoever runs the server.", self.base),
            )),
            Err(ureq::Error::Transport(t)) => Err(self.offline(t)),
        }
    }

    fn offline(&self, e: impl std::fmt::Display) -> Error {
        Error::sync(
            "sync_offline",
            format!("The team server at {} cannot be reached ({e}). Your work is safe in this vault; sync again when there is a connection.", self.base),
        )
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        signer: Option<&RequestSigner>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<T> {
        let bytes = self.call(signer, method, path, body)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::sync("sync_server_error", format!("The team server sent an answer this Casebook cannot read: {e}"))
        })
    }
}

fn public_keys(vault: &mut Vault) -> Result<(String, String)> {
    let card = vault.identity()?;
    Ok((card.signing_key, card.recipient))
}

/// Registers this vault as the first device of `team` (made with `casebook-server team create`)
/// and generates the team key. Returns the team's fingerprint.
pub fn create_team(
    vault: &mut Vault,
    server: &str,
    team: &str,
    token: &str,
    cert_sha256: Option<String>,
) -> Result<String> {
    if vault.team()?.is_some() {
        return Err(Error::sync("sync_already_in_team", "This vault is already in a team. Nothing was changed."));
    }
    let connection = Connection::new(server, team, cert_sha256.as_deref())?;
    let (signing_key, recipient) = public_keys(vault)?;
    let request =
        RegisterRequest { token: token.to_string(), device: vault.device_id().to_string(), signing_key, recipient };
    connection.call(None, "POST", "/register", &serde_json::to_vec(&request)?)?;
    vault.create_team(&TeamConfig { server: connection.base.clone(), team: team.to_string(), cert_sha256 })
}

/// A new invitation, registered on the server.
pub fn invite(vault: &mut Vault) -> Result<Invitation> {
    let connection = Connection::of(vault)?;
    let signer = vault.request_signer()?;
    let (invitation, upload) = vault.invite()?;
    connection.call(Some(&signer), "POST", "/invites", &serde_json::to_vec(&upload)?)?;
    Ok(invitation)
}

/// Joins the team of an invitation. Returns the team's fingerprint, to compare with the inviter's.
pub fn join(vault: &mut Vault, invitation: &Invitation) -> Result<String> {
    if vault.team()?.is_some() {
        return Err(Error::sync("sync_already_in_team", "This vault is already in a team. Nothing was changed."));
    }
    let connection = Connection::new(&invitation.server, &invitation.team, invitation.cert_sha256.as_deref())?;
    let (signing_key, recipient) = public_keys(vault)?;
    let request = JoinRequest {
        invite: invitation.invite.clone(),
        token: invitation.token()?,
        device: vault.device_id().to_string(),
        signing_key,
        recipient,
    };
    let response: JoinResponse = connection.json(None, "POST", "/join", &serde_json::to_vec(&request)?)?;
    vault.join_team(invitation, &response.wrapped)
}

pub fn devices(vault: &mut Vault) -> Result<Vec<TeamDevice>> {
    let connection = Connection::of(vault)?;
    connection.json(Some(&vault.request_signer()?), "GET", "/devices", b"")
}

/// Revokes a device: the server refuses its pushes from now on, and every remaining device gets a
/// new team key. What the revoked device already holds stays with it.
pub fn revoke(vault: &mut Vault, device: &str) -> Result<()> {
    let connection = Connection::of(vault)?;
    let signer = vault.request_signer()?;
    let all: Vec<TeamDevice> = connection.json(Some(&signer), "GET", "/devices", b"")?;
    if !all.iter().any(|d| d.device == device) {
        return Err(Error::NotFound(format!("no device {device} in the team")));
    }
    let remaining: Vec<TeamDevice> = all.into_iter().filter(|d| d.device != device && d.revoked_at.is_none()).collect();
    let keys = vault.rekey(&remaining)?;
    connection.call(
        Some(&signer),
        "POST",
        &format!("/devices/{device}/revoke"),
        &serde_json::to_vec(&RevokeRequest { keys })?,
    )?;
    let mine: Vec<WrappedKey> = connection.json(Some(&signer), "GET", "/keys", b"")?;
    vault.accept_keys(&mine)?;
    Ok(())
}

/// How a sync reaches the vault. The CLI owns it; the desktop app shares it with the window's
/// other commands and lends it for one step at a time (a seal, an apply), never across a request
/// to the server, so a slow link never keeps the window waiting.
pub trait VaultAccess {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T>;
}

/// A vault the caller holds for the whole sync.
pub struct Held<'a>(std::cell::RefCell<&'a mut Vault>);

impl VaultAccess for Held<'_> {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        f(&mut self.0.borrow_mut())
    }
}

/// A vault shared between threads; `None` while locked, which stops a sync between two steps
/// (each step is its own transaction, so nothing is half-applied).
impl VaultAccess for std::sync::Mutex<Option<Vault>> {
    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        let locked = || {
            Error::sync(
                "sync_vault_locked",
                "The vault was locked during the sync; what had arrived is kept, and the next sync goes on from there.",
            )
        };
        let mut guard = self.lock().map_err(|_| locked())?;
        f(guard.as_mut().ok_or_else(locked)?)
    }
}

/// Push this vault's changes, pull everyone else's, and fetch attachment contents.
pub fn sync(vault: &mut Vault, progress: &mut dyn FnMut(Progress)) -> Result<SyncReport> {
    sync_shared(&Held(std::cell::RefCell::new(vault)), progress)
}

/// `sync` over a vault lent one step at a time.
pub fn sync_shared(vault: &impl VaultAccess, progress: &mut dyn FnMut(Progress)) -> Result<SyncReport> {
    let (connection, signer) = vault.with(|v| Ok((Connection::of(v)?, v.request_signer()?)))?;
    let mut report = SyncReport::default();
    let keys: Vec<WrappedKey> = connection.json(Some(&signer), "GET", "/keys", b"")?;
    report.new_keys = vault.with(|v| {
        let added = v.accept_keys(&keys)?;
        v.prepare_uploads()?;
        Ok(added)
    })?;

    for blob in vault.with(|v| v.pending_uploads())? {
        for index in 0..blob.chunks.len() {
            let sealed = vault.with(|v| v.chunk_ciphertext(&blob, index))?;
            connection.call(Some(&signer), "PUT", &format!("/chunks/{}", blob.chunks[index]), &sealed)?;
            report.uploaded_chunks += 1;
            progress(Progress { phase: "upload", done: report.uploaded_chunks as u64, total: None });
        }
        vault.with(|v| v.upload_done(blob.attachment))?;
    }

    push(&connection, &signer, vault, &mut report, progress)?;
    pull(&connection, &signer, vault, &mut report, progress)?;

    for blob in vault.with(|v| v.pending_downloads())? {
        let mut chunks = Vec::with_capacity(blob.chunks.len());
        for address in &blob.chunks {
            chunks.push(connection.call(Some(&signer), "GET", &format!("/chunks/{address}"), b"")?);
            report.downloaded_chunks += 1;
            progress(Progress { phase: "download", done: report.downloaded_chunks as u64, total: None });
        }
        vault.with(|v| v.store_download(&blob, &chunks))?;
    }
    report.conflicts = vault.with(|v| {
        v.note_synced()?;
        Ok(v.sync_conflicts()?.len() as u64)
    })?;
    Ok(report)
}

/// Sends one group of sealed batches. If a cut connection had stored some of them, sends them one
/// by one and counts those the server already holds (the very same bytes) as sent.
fn send_group(connection: &Connection, signer: &RequestSigner, group: &[SealedBatch]) -> Result<()> {
    match connection.call(Some(signer), "POST", "/batches", &serde_json::to_vec(group)?) {
        Err(e) if e.code() == "sync_batch_replayed" => {
            for batch in group {
                match connection.call(Some(signer), "POST", "/batches", &serde_json::to_vec(batch)?) {
                    // The server answers "replayed" only for the same hash at that place.
                    Err(e) if e.code() == "sync_batch_replayed" => {}
                    other => other.map(drop)?,
                }
            }
            Ok(())
        }
        other => other.map(drop),
    }
}

/// Seals the outbox a group at a time while a second thread sends the group before: the server's
/// database work overlaps with this device's. A group counts as sent once the server stored it.
fn push(
    connection: &Connection,
    signer: &RequestSigner,
    vault: &impl VaultAccess,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let total = vault.with(|v| v.batches_to_send())?;
    std::thread::scope(|scope| {
        let (to_send, outgoing) = std::sync::mpsc::sync_channel::<Vec<SealedBatch>>(1);
        let (sent, acks) = std::sync::mpsc::channel::<Result<(u64, u32)>>();
        scope.spawn(move || {
            for group in outgoing {
                let last = group.last().map(|b| (b.seq, group.len() as u32)).unwrap_or_default();
                let result = send_group(connection, signer, &group).map(|()| last);
                let failed = result.is_err();
                if sent.send(result).is_err() || failed {
                    break;
                }
            }
        });
        let mut acked = |ack: Result<(u64, u32)>| -> Result<()> {
            let (seq, count) = ack?;
            vault.with(|v| v.mark_sent(seq))?;
            report.pushed_batches += count;
            progress(Progress { phase: "push", done: report.pushed_batches as u64, total: Some(total) });
            Ok(())
        };
        let mut queued = 0;
        let mut sealing = true;
        let outcome = loop {
            while let Ok(ack) = acks.try_recv() {
                acked(ack)?;
            }
            let group = vault.with(|v| v.next_unsent(queued))?;
            match group.last() {
                Some(last) => {
                    queued = last.seq;
                    if to_send.send(group).is_err() {
                        // The sender stopped on an error, which waits in `acks`.
                        break Ok(());
                    }
                }
                None if !sealing => break Ok(()),
                None => {}
            }
            if sealing {
                sealing = vault.with(|v| v.seal_group())? > 0;
            }
        };
        drop(to_send);
        for ack in acks {
            acked(ack)?;
        }
        outcome
    })
}

/// Pulls every other device's batches and applies them a page at a time (each verified whole,
/// then applied in one transaction), fetching the next page while this one is applied.
fn pull(
    connection: &Connection,
    signer: &RequestSigner,
    vault: &impl VaultAccess,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let devices: Vec<TeamDevice> = connection.json(Some(signer), "GET", "/devices", b"")?;
    let fetch = |after: &BTreeMap<String, u64>| -> Result<PullResponse> {
        let after: Vec<String> = after.iter().map(|(d, s)| format!("{d}:{s}")).collect();
        connection.json(Some(signer), "GET", &format!("/batches?after={}&limit={PULL_PAGE}", after.join(",")), b"")
    };
    let mut after = vault.with(|v| v.sync_vector())?;
    let mut page = fetch(&after)?;
    std::thread::scope(|scope| -> Result<()> {
        while !page.batches.is_empty() {
            // What the server sends next, whether or not this page applies in full.
            for batch in &page.batches {
                let seen = after.entry(batch.device.clone()).or_default();
                *seen = (*seen).max(batch.seq);
            }
            let next = page.more.then(|| {
                let after = after.clone();
                scope.spawn(move || fetch(&after))
            });
            let applied = vault.with(|v| v.apply(&page.batches, &devices))?;
            add(&mut report.pulled, &applied);
            progress(Progress { phase: "pull", done: report.pulled.batches as u64, total: None });
            let Some(next) = next else { break };
            let fetched = next.join().unwrap_or_else(|_| Err(Error::Storage("the pull thread stopped".into())))?;
            if applied.batches == 0 {
                break;
            }
            page = if applied.waiting > 0 {
                // Some wait for batches on the next page: ask again from what was applied.
                after = vault.with(|v| v.sync_vector())?;
                fetch(&after)?
            } else {
                fetched
            };
        }
        Ok(())
    })
}

fn add(total: &mut ApplyReport, more: &ApplyReport) {
    total.batches += more.batches;
    total.changes += more.changes;
    total.records += more.records;
    total.waiting = more.waiting;
    total.duplicates += more.duplicates;
    total.downloads = more.downloads;
}

/// Whether the team's server answers a TCP connection within `timeout`, tried without the vault:
/// a front holding the vault for a sync first asks this, so an unreachable server never keeps
/// the vault (and the window) waiting for the client's longer timeouts.
pub fn reachable(team: &TeamConfig, timeout: Duration) -> Result<()> {
    use std::net::{TcpStream, ToSocketAddrs};
    let offline = |why: String| {
        Error::sync(
            "sync_offline",
            format!("The team server at {} cannot be reached ({why}). Your work is safe in this vault; sync again when there is a connection.", team.server),
        )
    };
    let (default_port, rest) = match team.server.split_once("://") {
        Some(("https", rest)) => (443, rest),
        Some((_, rest)) => (80, rest),
        None => (80, team.server.as_str()),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let address = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    let addrs: Vec<_> = address.to_socket_addrs().map_err(|e| offline(e.to_string()))?.collect();
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(offline(last))
}
