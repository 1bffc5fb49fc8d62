//! The commands the UI may call. No business logic here: unwrap arguments, call the core, map errors.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use casebook_core::bundle::{ExportPreview, ExportRequest, ExportSummary, Source};
use casebook_core::exchange::{read_document, ImportPreview, ImportSummary, Updates};
use casebook_core::identity::PublicCard;
use casebook_core::legal::{CalendarItem, CalendarQuery, Custody};
use casebook_core::merge::{BundleImport, BundlePreview, Conflict, DuplicateProposal, MergeResult};
use casebook_core::report::{Report, ReportQuery};
use casebook_core::search::{SearchPage, SearchQuery};
use casebook_core::store::{ListOptions, RecordJson};
use casebook_core::sync::{FieldConflict, Invitation, SyncStatus, TeamConfig, TeamDevice};
use casebook_core::views::{CaseFile, Dashboard, PersonFile};
use casebook_core::{Error, Filters, KdfParams, Kind, Passphrase, Summary, Unlock, Vault};
use casebook_sync::VaultAccess;
use serde::Serialize;
use serde_json::{Map, Value};
use tauri::State;
use uuid::Uuid;

const EXAMPLE: &str = include_str!("../../examples/kazakhstan-2023h2.json");

/// The one error shape the UI sees.
#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        IpcError { code: e.code().to_string(), message: e.to_string() }
    }
}

type Reply<T> = Result<T, IpcError>;

pub struct AppState {
    dir: PathBuf,
    vault: Arc<Mutex<Option<Vault>>>,
    /// Held for a whole sync, which holds the vault only step by step: one sync at a time.
    syncing: Arc<Mutex<()>>,
    /// A bundle chosen in the window and previewed, waiting for the user's "Import" (ciphertext).
    pending_bundle: Mutex<Option<Vec<u8>>>,
    /// A JSON document chosen in the window, with the preview the user was shown, waiting for "Import".
    pending_document: Mutex<Option<(Vec<u8>, ImportPreview)>>,
}

impl AppState {
    pub fn from_env() -> Self {
        let dir = std::env::var_os("CASEBOOK_VAULT")
            .map(PathBuf::from)
            .unwrap_or_else(|| dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("casebook").join("vault"));
        AppState {
            dir,
            vault: Arc::new(Mutex::new(None)),
            syncing: Arc::new(Mutex::new(())),
            pending_bundle: Mutex::new(None),
            pending_document: Mutex::new(None),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> casebook_core::Result<T>) -> Reply<T> {
        let mut guard = self.vault.lock().map_err(|_| locked())?;
        let vault = guard.as_mut().ok_or_else(locked)?;
        Ok(f(vault)?)
    }
}

/// Where files the user asked for (calendars, bundles, reports) are written: documents, else home.
fn documents_folder() -> PathBuf {
    dirs::document_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir)
}

fn locked() -> IpcError {
    IpcError { code: "vault_locked".into(), message: "The vault is locked. Unlock it to continue.".into() }
}

fn parse_id(text: &str) -> Reply<Uuid> {
    Uuid::parse_str(text).map_err(|_| Error::InvalidInput(format!("'{text}' is not a record id.")).into())
}

fn parse_kind(text: &str) -> Reply<Kind> {
    Kind::parse(text).ok_or_else(|| Error::InvalidInput(format!("'{text}' is not a record kind.")).into())
}

#[derive(Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Status {
    exists: bool,
    unlocked: bool,
    path: String,
}

#[tauri::command]
pub fn status(state: State<'_, AppState>) -> Status {
    let unlocked = state.vault.lock().map(|v| v.is_some()).unwrap_or(false);
    Status { exists: Vault::exists(&state.dir), unlocked, path: state.dir.display().to_string() }
}

#[derive(Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Created {
    recovery_key: String,
}

/// Argon2id runs on a blocking thread, so the window stays responsive while it works.
#[tauri::command]
pub async fn create_vault(state: State<'_, AppState>, passphrase: String) -> Reply<Created> {
    let (dir, slot) = (state.dir.clone(), state.vault.clone());
    tauri::async_runtime::spawn_blocking(move || {
        let passphrase = Passphrase::new(passphrase);
        let (vault, recovery) = Vault::create(&dir, &passphrase, KdfParams::default())?;
        *slot.lock().map_err(|_| locked())? = Some(vault);
        Ok(Created { recovery_key: recovery.display().to_string() })
    })
    .await
    .map_err(|e| IpcError { code: "internal".into(), message: e.to_string() })?
}

#[tauri::command]
pub async fn unlock(state: State<'_, AppState>, passphrase: String) -> Reply<()> {
    let (dir, slot) = (state.dir.clone(), state.vault.clone());
    tauri::async_runtime::spawn_blocking(move || {
        let passphrase = Passphrase::new(passphrase);
        let vault = Vault::open(&dir, Unlock::Passphrase(&passphrase))?;
        *slot.lock().map_err(|_| locked())? = Some(vault);
        Ok(())
    })
    .await
    .map_err(|e| IpcError { code: "internal".into(), message: e.to_string() })?
}

/// Drops the vault: SQLCipher wipes its key on close and the core zeroizes its copy.
#[tauri::command]
pub fn lock(state: State<'_, AppState>) {
    if let Ok(mut guard) = state.vault.lock() {
        if let Some(vault) = guard.take() {
            vault.lock();
        }
    }
    if let Ok(mut pending) = state.pending_bundle.lock() {
        *pending = None;
    }
    if let Ok(mut pending) = state.pending_document.lock() {
        *pending = None;
    }
}

/// Argon2id memory of the passphrase slot, in MiB.
#[tauri::command]
pub fn kdf_strength(state: State<'_, AppState>) -> Reply<u32> {
    state.with(|v| v.passphrase_kdf()).map(|p| p.map(|p| p.memory_kib / 1024).unwrap_or(0))
}

/// Rewrap the passphrase slot with another Argon2id cost (and optionally another passphrase).
#[tauri::command]
pub async fn change_passphrase(
    state: State<'_, AppState>,
    current: String,
    new: Option<String>,
    memory_mib: u32,
) -> Reply<()> {
    let slot = state.vault.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let current = Passphrase::new(current);
        let new = new.map(Passphrase::new);
        let params = KdfParams::with_memory_mib(memory_mib, KdfParams::default().iterations)?;
        let mut guard = slot.lock().map_err(|_| locked())?;
        let vault = guard.as_mut().ok_or_else(locked)?;
        vault.change_passphrase_checked(&current, new.as_ref().unwrap_or(&current), Some(params))?;
        Ok(())
    })
    .await
    .map_err(|e| IpcError { code: "internal".into(), message: e.to_string() })?
}

#[tauri::command]
pub fn import_example(state: State<'_, AppState>) -> Reply<ImportSummary> {
    let doc: Value = serde_json::from_str(EXAMPLE).map_err(Error::from)?;
    state.with(|v| v.import_document(doc))
}

/// A Casebook JSON document chosen in the window (raw bytes): read strictly, previewed (nothing is
/// written), and kept with its preview for `import_document`.
#[tauri::command]
pub fn inspect_document(state: State<'_, AppState>, request: tauri::ipc::Request<'_>) -> Reply<ImportPreview> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(Error::InvalidInput("the file's content did not arrive".into()).into());
    };
    if let Ok(mut pending) = state.pending_document.lock() {
        *pending = None;
    }
    let doc = read_document(bytes)?;
    let preview = state.with(|v| v.preview_import(doc))?;
    if let Ok(mut pending) = state.pending_document.lock() {
        *pending = Some((bytes.clone(), preview.clone()));
    }
    Ok(preview)
}

/// Imports the previewed document. Without `update`, a document that would change records that
/// exist is refused (`confirmation_needed`). With it, the updates are applied only if they are still
/// the ones the user was shown: the vault may have changed since the preview.
#[tauri::command]
pub fn import_document(state: State<'_, AppState>, update: bool) -> Reply<ImportSummary> {
    let pending = state.pending_document.lock().ok().and_then(|mut p| p.take());
    let (bytes, shown) = pending.ok_or_else(|| Error::InvalidInput("Choose the file again.".into()))?;
    let result = state.with(|v| {
        let doc = read_document(&bytes)?;
        if !update {
            return v.import_document_with(doc, Updates::Refuse);
        }
        if v.preview_import(doc.clone())? != shown {
            return Err(Error::ConfirmationNeeded(
                "The vault changed after the preview, so this import would now do something else. Nothing was written: choose the file again and look at the changes."
                    .into(),
            ));
        }
        v.import_document_with(doc, Updates::Apply)
    });
    if let Err(e) = &result {
        // Kept, so the user can confirm the updates without choosing the file again.
        if e.code == "confirmation_needed" && !update {
            if let Ok(mut pending) = state.pending_document.lock() {
                *pending = Some((bytes, shown));
            }
        }
    }
    result
}

#[derive(Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Page {
    #[ts(type = "number")]
    total: u64,
    items: Vec<Summary>,
}

#[tauri::command]
pub fn list_records(
    state: State<'_, AppState>,
    kind: String,
    filter: Option<String>,
    filters: Option<Filters>,
    limit: u32,
    offset: u32,
) -> Reply<Page> {
    let kind = parse_kind(&kind)?;
    let opts = ListOptions {
        limit: limit.min(1000),
        offset,
        label_contains: filter.filter(|f| !f.is_empty()),
        filters: filters.unwrap_or_default(),
    };
    state.with(|v| v.list(kind, &opts)).map(|(items, total)| Page { total, items })
}

#[tauri::command]
pub fn get_record(state: State<'_, AppState>, id: String) -> Reply<RecordJson> {
    let id = parse_id(&id)?;
    state.with(|v| v.get(id).map(|r| r.view()))
}

#[tauri::command]
pub fn add_record(state: State<'_, AppState>, kind: String, fields: Map<String, Value>) -> Reply<RecordJson> {
    let kind = parse_kind(&kind)?;
    state.with(|v| v.add(kind, Value::Object(fields)).map(|r| r.view()))
}

#[tauri::command]
pub fn patch_record(state: State<'_, AppState>, id: String, fields: Map<String, Value>) -> Reply<RecordJson> {
    let id = parse_id(&id)?;
    state.with(|v| v.patch(id, fields).map(|r| r.view()))
}

#[tauri::command]
pub fn delete_record(state: State<'_, AppState>, id: String) -> Reply<()> {
    let id = parse_id(&id)?;
    state.with(|v| v.delete(id))
}

#[tauri::command]
pub fn case_file(state: State<'_, AppState>, id: String) -> Reply<CaseFile> {
    let id = parse_id(&id)?;
    state.with(|v| v.case_file(id))
}

#[tauri::command]
pub fn person_file(state: State<'_, AppState>, id: String) -> Reply<PersonFile> {
    let id = parse_id(&id)?;
    state.with(|v| v.person_file(id))
}

#[tauri::command]
pub fn dashboard(state: State<'_, AppState>) -> Reply<Dashboard> {
    state.with(|v| v.dashboard(chrono::Local::now().date_naive()))
}

#[tauri::command]
pub fn search(state: State<'_, AppState>, query: SearchQuery) -> Reply<SearchPage> {
    state.with(|v| v.search(&query))
}

#[tauri::command]
pub fn vocabulary(state: State<'_, AppState>, name: String) -> Reply<Vec<RecordJson>> {
    state.with(|v| v.vocabulary(&name))
}

#[tauri::command]
pub fn calendar(state: State<'_, AppState>, query: CalendarQuery) -> Reply<Vec<CalendarItem>> {
    state.with(|v| v.calendar(&query))
}

#[tauri::command]
pub fn detained_on(state: State<'_, AppState>, day: chrono::NaiveDate) -> Reply<Vec<Custody>> {
    state.with(|v| v.detained_on(day))
}

#[tauri::command]
pub fn postpone_hearing(
    state: State<'_, AppState>,
    id: String,
    to: String,
    reason: Option<String>,
) -> Reply<RecordJson> {
    let id = parse_id(&id)?;
    state.with(|v| v.postpone_hearing(id, &to, reason.as_deref()).map(|r| r.view()))
}

/// Writes the calendar as an .ics file in the user's documents folder (or home) and returns its
/// path. The UI asks first: the file is not encrypted.
#[tauri::command]
pub fn export_calendar(state: State<'_, AppState>, query: CalendarQuery) -> Reply<String> {
    let items = state.with(|v| v.calendar(&query))?;
    let text = casebook_core::ics::to_ics(&items, chrono::Utc::now());
    let folder = documents_folder();
    let path = folder.join(format!("casebook-calendar-{}.ics", chrono::Local::now().format("%Y-%m-%d-%H%M%S")));
    let mut file = casebook_core::vault::create_private(&path, true)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| IpcError::from(Error::io(&path, e)))?;
    Ok(path.display().to_string())
}

/// The attachments of a record, newest first.
#[tauri::command]
pub fn attachments_of(state: State<'_, AppState>, id: String) -> Reply<Vec<RecordJson>> {
    let id = parse_id(&id)?;
    state.with(|v| {
        let mut out = Vec::new();
        for r in v.referrers(id)?.into_iter().filter(|r| r.kind == Kind::Attachment) {
            out.push(v.get(r.id)?.view());
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(out)
    })
}

/// A file chosen in the window: its bytes come as the raw request body (no JSON, no base64), the
/// record and the file name as headers.
#[tauri::command]
pub fn attach_bytes(state: State<'_, AppState>, request: tauri::ipc::Request<'_>) -> Reply<RecordJson> {
    let header = |name: &str| -> Reply<String> {
        let value = request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        // File names may be any script: the UI sends them percent-encoded.
        percent_decode(value).ok_or_else(|| Error::InvalidInput(format!("the {name} header is not valid")).into())
    };
    let record = parse_id(&header("x-record")?)?;
    let name = header("x-name")?;
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(Error::InvalidInput("the file's content did not arrive".into()).into());
    };
    state.with(|v| v.attach(record, &name, std::io::Cursor::new(bytes), None).map(|r| r.view()))
}

/// A file dropped on the window: the shell reads it from its path, streaming.
#[tauri::command]
pub fn attach_path(state: State<'_, AppState>, id: String, path: PathBuf) -> Reply<RecordJson> {
    let record = parse_id(&id)?;
    let file = std::fs::File::open(&path).map_err(|e| IpcError::from(Error::io(&path, e)))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("attachment").to_string();
    state.with(|v| v.attach(record, &name, std::io::BufReader::new(file), None).map(|r| r.view()))
}

/// "Save a decrypted copy", after the UI's warning: into Downloads (or home), never overwriting.
#[tauri::command]
pub fn save_attachment_copy(state: State<'_, AppState>, id: String) -> Reply<String> {
    let id = parse_id(&id)?;
    let folder = dirs::download_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir);
    state.with(|v| {
        let record = v.get(id)?;
        let casebook_core::Body::Attachment(a) = &record.body else {
            return Err(Error::InvalidInput("not an attachment".into()));
        };
        let safe: String = a.name.chars().map(|c| if "/\\:\0".contains(c) { '_' } else { c }).collect();
        let mut path = folder.join(&safe);
        for n in 1.. {
            if !path.exists() {
                break;
            }
            path = folder.join(format!("{n}-{safe}"));
        }
        let file = casebook_core::vault::create_private(&path, false)?;
        let mut writer = std::io::BufWriter::new(file);
        if let Err(e) = v.read_attachment(id, &mut writer) {
            drop(writer);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        std::io::Write::flush(&mut writer).map_err(|e| Error::io(&path, e))?;
        Ok(path.display().to_string())
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `casebook://localhost/attachment/ID`: an attachment's bytes, decrypted in memory for the viewer
/// and thumbnails, never cached (no-store) and refused while the vault is locked.
pub fn serve_attachment(state: &AppState, path: &str) -> tauri::http::Response<Vec<u8>> {
    let respond = |status: u16, media_type: &str, body: Vec<u8>| {
        tauri::http::Response::builder()
            .status(status)
            .header("Content-Type", media_type)
            .header("Cache-Control", "no-store")
            .header("X-Content-Type-Options", "nosniff")
            .body(body)
            .unwrap_or_default()
    };
    let Some(id) = path.strip_prefix("/attachment/").and_then(|id| Uuid::parse_str(id).ok()) else {
        return respond(404, "text/plain", Vec::new());
    };
    let result = state.with(|v| {
        let casebook_core::Body::Attachment(a) = v.get(id)?.body else {
            return Err(Error::NotFound("not an attachment".into()));
        };
        let mut bytes = Vec::with_capacity(usize::try_from(a.size).unwrap_or(0));
        v.read_attachment(id, &mut bytes)?;
        Ok((a.media_type, bytes))
    });
    match result {
        Ok((media_type, bytes)) => respond(200, &media_type, bytes),
        Err(e) if e.code == "vault_locked" => respond(403, "text/plain", Vec::new()),
        Err(_) => respond(404, "text/plain", Vec::new()),
    }
}

// ------------------------------------------------------------------------------- bundles

#[tauri::command]
pub fn identity(state: State<'_, AppState>) -> Reply<PublicCard> {
    state.with(|v| v.identity())
}

#[tauri::command]
pub fn preview_bundle(state: State<'_, AppState>, request: ExportRequest) -> Reply<ExportPreview> {
    state.with(|v| v.preview_bundle(&request))
}

/// Writes the bundle (ciphertext) into the documents folder (or home) and returns its path.
#[tauri::command]
pub fn export_bundle(state: State<'_, AppState>, request: ExportRequest) -> Reply<ExportedBundle> {
    let folder = documents_folder();
    let path = folder.join(format!("casebook-{}.casebundle", chrono::Local::now().format("%Y-%m-%d-%H%M%S")));
    let summary = state.with(|v| v.export_bundle(&request, &path))?;
    Ok(ExportedBundle { path: path.display().to_string(), summary })
}

#[derive(Serialize, ts_rs::TS)]
#[ts(export)]
pub struct ExportedBundle {
    path: String,
    summary: ExportSummary,
}

/// A bundle chosen in the window (raw bytes): verified completely, previewed, and kept for import.
#[tauri::command]
pub fn inspect_bundle(state: State<'_, AppState>, request: tauri::ipc::Request<'_>) -> Reply<BundlePreview> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(Error::InvalidInput("the bundle's content did not arrive".into()).into());
    };
    let preview = state.with(|v| v.inspect_bundle(Source::Bytes(bytes)))?;
    if let Ok(mut pending) = state.pending_bundle.lock() {
        *pending = Some(bytes.clone());
    }
    Ok(preview)
}

/// Imports the previewed bundle. `accept` is the fingerprint the user compared, for an unknown sender.
#[tauri::command]
pub fn import_bundle(state: State<'_, AppState>, accept: Option<String>) -> Reply<BundleImport> {
    let bytes = state.pending_bundle.lock().ok().and_then(|mut p| p.take());
    let bytes = bytes.ok_or_else(|| Error::InvalidInput("Choose the bundle file again.".into()))?;
    let result = state.with(|v| v.import_bundle(Source::Bytes(&bytes), accept.as_deref()));
    if result.is_err() {
        // Kept, so the user can accept the sender and try again without choosing the file again.
        if let Ok(mut pending) = state.pending_bundle.lock() {
            *pending = Some(bytes);
        }
    }
    result
}

#[tauri::command]
pub fn duplicate_proposals(state: State<'_, AppState>) -> Reply<Vec<DuplicateProposal>> {
    state.with(|v| v.duplicate_proposals())
}

#[tauri::command]
pub fn merge_people(state: State<'_, AppState>, keep: String, other: String) -> Reply<MergeResult> {
    let (keep, other) = (parse_id(&keep)?, parse_id(&other)?);
    state.with(|v| v.merge_people(keep, other))
}

#[tauri::command]
pub fn undo_merge(state: State<'_, AppState>, merge: i64) -> Reply<()> {
    state.with(|v| v.undo_merge(merge))
}

#[tauri::command]
pub fn dismiss_duplicate(state: State<'_, AppState>, a: String, b: String) -> Reply<()> {
    let (a, b) = (parse_id(&a)?, parse_id(&b)?);
    state.with(|v| v.dismiss_duplicate(a, b))
}

#[tauri::command]
pub fn conflicts(state: State<'_, AppState>) -> Reply<Vec<Conflict>> {
    state.with(|v| v.conflicts())
}

#[tauri::command]
pub fn resolve_conflict(state: State<'_, AppState>, record: String, theirs: bool) -> Reply<()> {
    let record = parse_id(&record)?;
    state.with(|v| v.resolve_conflict(record, theirs))
}

// ------------------------------------------------------------------------------- reports

#[tauri::command]
pub fn report(state: State<'_, AppState>, query: ReportQuery) -> Reply<Report> {
    state.with(|v| v.report(&query))
}

/// Writes the report as csv, xlsx or html into the documents folder (or home), after the UI's
/// warning that the file is not encrypted; returns its path.
#[tauri::command]
pub fn export_report(state: State<'_, AppState>, query: ReportQuery, format: String) -> Reply<String> {
    if format == "json" {
        return Err(Error::InvalidInput("Export a report as csv, xlsx or html.".into()).into());
    }
    let report = state.with(|v| v.report(&query))?;
    let bytes = casebook_core::report_output::render(&report, &format)?;
    let folder = documents_folder();
    let path = folder.join(format!("casebook-report-{}-{}.{format}", query.from, query.to));
    let mut file = casebook_core::vault::create_private(&path, true)?;
    std::io::Write::write_all(&mut file, &bytes).map_err(|e| IpcError::from(Error::io(&path, e)))?;
    Ok(path.display().to_string())
}

// ------------------------------------------------------------------------------- team sync

/// Runs `f` on the vault on a blocking thread. For the sync commands: a running sync holds the
/// vault for its few requests, and waiting for it here keeps the window responsive.
async fn on_vault_thread<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut Vault) -> casebook_core::Result<T> + Send + 'static,
) -> Reply<T> {
    let slot = state.vault.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut guard = slot.lock().map_err(|_| locked())?;
        let vault = guard.as_mut().ok_or_else(locked)?;
        Ok(f(vault)?)
    })
    .await
    .map_err(|e| IpcError { code: "internal".into(), message: e.to_string() })?
}

/// Team, last sync, changes waiting to be sent and open conflicts; no network.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Reply<SyncStatus> {
    on_vault_thread(&state, |v| v.sync_status()).await
}

/// What one "Sync now" did, and the state after it.
#[derive(Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Synced {
    /// Batches of this device's changes sent.
    sent: u32,
    /// Changes received from the team.
    received: u32,
    /// Attachment chunks received.
    files: u32,
    status: SyncStatus,
}

/// Push this vault's changes and pull the team's, on a blocking thread. The vault is lent to the
/// sync one step at a time (a seal, an apply) and never while a request travels, so the window's
/// other commands go on during a slow sync; the server is first tried for 2 s so an unreachable
/// one fails fast. Errors keep their stable codes (sync_offline, sync_device_revoked, ...).
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> Reply<Synced> {
    if let Some(team) = on_vault_thread(&state, |v| v.team()).await? {
        reach(team).await?;
    }
    let (slot, syncing) = (state.vault.clone(), state.syncing.clone());
    tauri::async_runtime::spawn_blocking(move || -> Reply<Synced> {
        let _only_sync = syncing.lock().map_err(|_| locked())?;
        let report = casebook_sync::sync_shared(&*slot, &mut |_| {})?;
        Ok(Synced {
            sent: report.pushed_batches,
            received: report.pulled.changes,
            files: report.downloaded_chunks,
            status: slot.with(|v| v.sync_status())?,
        })
    })
    .await
    .map_err(|e| IpcError { code: "internal".into(), message: e.to_string() })?
}

#[tauri::command]
pub async fn sync_conflicts(state: State<'_, AppState>) -> Reply<Vec<FieldConflict>> {
    on_vault_thread(&state, |v| v.sync_conflicts()).await
}

/// Keeps one version (by its clock) of a contested field; the team gets the decision at the next sync.
#[tauri::command]
pub async fn resolve_sync_conflict(
    state: State<'_, AppState>,
    record: String,
    field: String,
    hlc: String,
) -> Reply<()> {
    let record = parse_id(&record)?;
    on_vault_thread(&state, move |v| v.resolve_sync_conflict(record, &field, &hlc)).await
}

// ------------------------------------------------------------------------------- team membership

/// Tries the server for two seconds without holding the vault (like `sync_now`), so an
/// unreachable server fails fast with `sync_offline` and never keeps the window waiting.
async fn reach(team: TeamConfig) -> Reply<()> {
    if !team.server.starts_with("http://") && !team.server.starts_with("https://") {
        return Ok(()); // the client refuses such an address with its own clear message
    }
    tauri::async_runtime::spawn_blocking(move || casebook_sync::reachable(&team, std::time::Duration::from_secs(2)))
        .await
        .map_err(|e| IpcError { code: "internal".into(), message: e.to_string() })??;
    Ok(())
}

/// The vault's team, or `sync_not_configured`; the server is tried first, as above.
async fn reach_own_team(state: &AppState) -> Reply<()> {
    let team = on_vault_thread(state, |v| {
        v.team()?.ok_or_else(|| {
            Error::sync("sync_not_configured", "This vault is not in a team. Create one or join one first.")
        })
    })
    .await?;
    reach(team).await
}

/// Refuses early, before any network, when the vault is already in a team.
async fn not_in_team(state: &AppState) -> Reply<()> {
    if on_vault_thread(state, |v| v.team()).await?.is_some() {
        return Err(Error::sync("sync_already_in_team", "This vault is already in a team. Nothing was changed.").into());
    }
    Ok(())
}

/// Joins the team of an invitation, given as the file's text (what the window read from the file
/// the user chose) or as a path to it. Returns the team fingerprint, for the person to compare
/// with the inviting device's. A damaged, used or expired invitation changes nothing
/// (sync_invite_invalid, sync_invite_expired).
#[tauri::command]
pub async fn team_join(state: State<'_, AppState>, invitation: String) -> Reply<String> {
    let text = if invitation.trim_start().starts_with('{') {
        invitation
    } else {
        let path = PathBuf::from(invitation.trim());
        std::fs::read_to_string(&path).map_err(|e| IpcError::from(Error::io(&path, e)))?
    };
    let invitation = Invitation::read(&text)?;
    not_in_team(&state).await?;
    reach(TeamConfig {
        server: invitation.server.clone(),
        team: invitation.team.clone(),
        cert_sha256: invitation.cert_sha256.clone(),
    })
    .await?;
    on_vault_thread(&state, move |v| casebook_sync::join(v, &invitation)).await
}

/// Makes this vault the first device of a team made on the server (`casebook-server team create`
/// printed the team id and the one-time token). Returns the team fingerprint.
#[tauri::command]
pub async fn team_create(
    state: State<'_, AppState>,
    server: String,
    team: String,
    token: String,
    cert_sha256: Option<String>,
) -> Reply<String> {
    let (server, team, token) = (server.trim().to_string(), team.trim().to_string(), token.trim().to_string());
    let cert_sha256 = cert_sha256.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    for (value, what) in [(&server, "the server address"), (&team, "the team id"), (&token, "the token")] {
        if value.is_empty() {
            return Err(Error::InvalidInput(format!("Fill in {what}.")).into());
        }
    }
    not_in_team(&state).await?;
    reach(TeamConfig { server: server.clone(), team: team.clone(), cert_sha256: cert_sha256.clone() }).await?;
    on_vault_thread(&state, move |v| casebook_sync::create_team(v, &server, &team, &token, cert_sha256)).await
}

/// Registers a new invitation on the server and writes it, readable by this user only, to `path`
/// (chosen in the save dialog). Returns the team fingerprint the joining device must show. The
/// file is a secret that works once, for 7 days.
#[tauri::command]
pub async fn team_invite(state: State<'_, AppState>, path: PathBuf) -> Reply<String> {
    reach_own_team(&state).await?;
    on_vault_thread(&state, move |v| {
        // The file first: a place that cannot be written fails before the server holds an invitation.
        let mut file = casebook_core::vault::create_private(&path, true)?;
        let written = casebook_sync::invite(v).and_then(|invitation| {
            std::io::Write::write_all(&mut file, serde_json::to_string_pretty(&invitation)?.as_bytes())
                .map_err(|e| Error::io(&path, e))?;
            Ok(invitation.team_fingerprint)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        written
    })
    .await
}

/// The team's devices as the server lists them, revoked ones included.
#[tauri::command]
pub async fn team_devices(state: State<'_, AppState>) -> Reply<Vec<TeamDevice>> {
    reach_own_team(&state).await?;
    on_vault_thread(&state, casebook_sync::devices).await
}

/// Removes a device from the team: the server refuses it from now on and the remaining devices
/// get a new team key. It keeps what it had already received.
#[tauri::command]
pub async fn team_revoke(state: State<'_, AppState>, device: String) -> Reply<()> {
    reach_own_team(&state).await?;
    on_vault_thread(&state, move |v| casebook_sync::revoke(v, &device)).await
}
