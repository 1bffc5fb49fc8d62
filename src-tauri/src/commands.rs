//! The commands the UI may call. No business logic here: unwrap arguments, call the core, map errors.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use casebook_core::legal::{CalendarItem, CalendarQuery, Custody};
use casebook_core::search::{SearchPage, SearchQuery};
use casebook_core::store::{ListOptions, RecordJson};
use casebook_core::views::{CaseFile, Dashboard, PersonFile};
use casebook_core::{Error, Filters, KdfParams, Kind, Passphrase, Summary, Unlock, Vault};
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
}

impl AppState {
    pub fn from_env() -> Self {
        let dir = std::env::var_os("CASEBOOK_VAULT")
            .map(PathBuf::from)
            .unwrap_or_else(|| dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("casebook").join("vault"));
        AppState { dir, vault: Arc::new(Mutex::new(None)) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vault) -> casebook_core::Result<T>) -> Reply<T> {
        let mut guard = self.vault.lock().map_err(|_| locked())?;
        let vault = guard.as_mut().ok_or_else(locked)?;
        Ok(f(vault)?)
    }
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
pub fn import_example(state: State<'_, AppState>) -> Reply<casebook_core::exchange::ImportSummary> {
    let doc: Value = serde_json::from_str(EXAMPLE).map_err(Error::from)?;
    state.with(|v| v.import_document(doc))
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
    let folder = dirs::document_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir);
    let path = folder.join(format!("casebook-calendar-{}.ics", chrono::Local::now().format("%Y-%m-%d-%H%M%S")));
    std::fs::write(&path, text).map_err(|e| IpcError::from(Error::io(&path, e)))?;
    Ok(path.display().to_string())
}
