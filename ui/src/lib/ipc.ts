// The only module that talks to the desktop shell. Every command's input and output type is here;
// errors arrive as `{code, message}` with the same stable codes as the CLI (docs/cli.md).
import { invoke } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { isPermissionGranted, requestPermission, sendNotification } from "@tauri-apps/plugin-notification";
import { save } from "@tauri-apps/plugin-dialog";

// Types generated from the Rust types by ts-rs (`cargo test` writes ./bindings; scripts/test
// fails when they are stale), so the shell and the UI cannot drift apart.
import type { Kind } from "./bindings/Kind";
import type { RecordJson } from "./bindings/RecordJson";
import type { Summary } from "./bindings/Summary";
import type { Status } from "./bindings/Status";
import type { Created } from "./bindings/Created";
import type { Page } from "./bindings/Page";
import type { ImportSummary } from "./bindings/ImportSummary";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { RecordChange } from "./bindings/RecordChange";
import type { FieldChange } from "./bindings/FieldChange";
import type { Filters } from "./bindings/Filters";
import type { Party } from "./bindings/Party";
import type { CaseFile } from "./bindings/CaseFile";
import type { PersonFile } from "./bindings/PersonFile";
import type { Dashboard } from "./bindings/Dashboard";
import type { IpcError as IpcErrorShape } from "./bindings/IpcError";
import type { SearchQuery } from "./bindings/SearchQuery";
import type { SearchPage } from "./bindings/SearchPage";
import type { Hit } from "./bindings/Hit";
import type { CalendarItem } from "./bindings/CalendarItem";
import type { CalendarQuery } from "./bindings/CalendarQuery";
import type { Custody } from "./bindings/Custody";
import type { ItemKind } from "./bindings/ItemKind";
import type { PublicCard } from "./bindings/PublicCard";
import type { ExportRequest } from "./bindings/ExportRequest";
import type { ExportPreview } from "./bindings/ExportPreview";
import type { ExportedBundle } from "./bindings/ExportedBundle";
import type { BundlePreview } from "./bindings/BundlePreview";
import type { BundleImport } from "./bindings/BundleImport";
import type { DuplicateProposal } from "./bindings/DuplicateProposal";
import type { MergeResult } from "./bindings/MergeResult";
import type { Conflict } from "./bindings/Conflict";
import type { Redaction } from "./bindings/Redaction";
import type { Report } from "./bindings/Report";
import type { ReportQuery } from "./bindings/ReportQuery";
import type { CategoryRow } from "./bindings/CategoryRow";
import type { Count } from "./bindings/Count";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { Synced } from "./bindings/Synced";
import type { FieldConflict } from "./bindings/FieldConflict";
import type { ConflictVersion } from "./bindings/ConflictVersion";
import type { TeamDevice } from "./bindings/TeamDevice";
import type { TeamConfig } from "./bindings/TeamConfig";

export type { SearchQuery, SearchPage, Hit, CalendarItem, CalendarQuery, Custody, ItemKind };
export type { Report, ReportQuery, CategoryRow, Count };
export type { ImportPreview, RecordChange, FieldChange };
export type { SyncStatus, Synced, FieldConflict, ConflictVersion, TeamDevice, TeamConfig };
export type { PublicCard, ExportRequest, ExportPreview, BundlePreview, BundleImport, DuplicateProposal, Conflict, Redaction };
export type { Kind, RecordJson, Summary, Status, Created, Page, ImportSummary, Filters, Party, CaseFile, PersonFile, Dashboard };

export class IpcError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

function toIpcError(e: unknown): IpcError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const { code, message } = e as IpcErrorShape;
    return new IpcError(code, message);
  }
  return new IpcError("internal", String(e));
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

/** A command whose body is a file's raw bytes (no JSON or base64 copy of it). */
async function callWithFile<T>(command: string, file: File, headers: Record<string, string> = {}): Promise<T> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    return await invoke<T>(command, bytes, { headers });
  } catch (e) {
    throw toIpcError(e);
  }
}

export const shell = {
  status: () => call<Status>("status"),
  createVault: (passphrase: string) => call<Created>("create_vault", { passphrase }),
  unlock: (passphrase: string) => call<void>("unlock", { passphrase }),
  lock: () => call<void>("lock"),
  importExample: () => call<ImportSummary>("import_example"),
  /** Sends a chosen Casebook JSON document as raw bytes; the shell reads it strictly, previews the
   *  import (nothing written) and keeps it for `importDocument`. */
  inspectDocument: (file: File) => callWithFile<ImportPreview>("inspect_document", file),
  /** Imports the previewed document; `update` confirms overwriting the existing records it listed. */
  importDocument: (update: boolean) => call<ImportSummary>("import_document", { update }),
  kdfStrength: () => call<number>("kdf_strength"),
  changePassphrase: (current: string, next: string | null, memoryMib: number) =>
    call<void>("change_passphrase", { current, new: next, memoryMib }),
  list: (kind: Kind, filter: string, limit: number, offset: number, filters: Filters = {}) =>
    call<Page>("list_records", { kind, filter, filters, limit, offset }),
  get: (id: string) => call<RecordJson>("get_record", { id }),
  add: (kind: Kind, fields: Record<string, unknown>) => call<RecordJson>("add_record", { kind, fields }),
  patch: (id: string, fields: Record<string, unknown>) => call<RecordJson>("patch_record", { id, fields }),
  remove: (id: string) => call<void>("delete_record", { id }),
  caseFile: (id: string) => call<CaseFile>("case_file", { id }),
  personFile: (id: string) => call<PersonFile>("person_file", { id }),
  dashboard: () => call<Dashboard>("dashboard"),
  search: (query: SearchQuery) => call<SearchPage>("search", { query }),
  vocabulary: (name: string) => call<RecordJson[]>("vocabulary", { name }),
  calendar: (query: CalendarQuery) => call<CalendarItem[]>("calendar", { query }),
  detainedOn: (day: string) => call<Custody[]>("detained_on", { day }),
  postponeHearing: (id: string, to: string, reason: string | null) =>
    call<RecordJson>("postpone_hearing", { id, to, reason }),
  exportCalendar: (query: CalendarQuery) => call<string>("export_calendar", { query }),
  attachmentsOf: (id: string) => call<RecordJson[]>("attachments_of", { id }),
  /** A chosen file, sent as raw bytes (no JSON or base64 copy of it). */
  attachFile: (record: string, file: File) =>
    callWithFile<RecordJson>("attach_bytes", file, { "x-record": record, "x-name": encodeURIComponent(file.name) }),
  attachPath: (id: string, path: string) => call<RecordJson>("attach_path", { id, path }),
  saveAttachmentCopy: (id: string) => call<string>("save_attachment_copy", { id }),
  /** Where the viewer loads an attachment from: decrypted in memory by the shell, never cached. */
  attachmentUrl: (id: string) =>
    navigator.userAgent.includes("Windows") ? `http://casebook.localhost/attachment/${id}` : `casebook://localhost/attachment/${id}`,
  /** Files dropped on the window, as paths; returns the function that stops listening. */
  onFilesDropped: async (handler: (paths: string[]) => void, hovering: (over: boolean) => void): Promise<() => void> =>
    getCurrentWebview().onDragDropEvent((event) => {
      if (event.payload.type === "drop") {
        hovering(false);
        handler(event.payload.paths);
      } else if (event.payload.type === "leave") hovering(false);
      else hovering(true);
    }),
  identity: () => call<PublicCard>("identity"),
  previewBundle: (request: ExportRequest) => call<ExportPreview>("preview_bundle", { request }),
  /** Writes the encrypted bundle into the documents folder; returns where. */
  exportBundle: (request: ExportRequest) => call<ExportedBundle>("export_bundle", { request }),
  /** Sends the chosen bundle (ciphertext) as raw bytes; the shell verifies it and keeps it for `importBundle`. */
  inspectBundle: (file: File) => callWithFile<BundlePreview>("inspect_bundle", file),
  importBundle: (accept: string | null) => call<BundleImport>("import_bundle", { accept }),
  duplicates: () => call<DuplicateProposal[]>("duplicate_proposals"),
  mergePeople: (keep: string, other: string) => call<MergeResult>("merge_people", { keep, other }),
  undoMerge: (merge: number) => call<void>("undo_merge", { merge }),
  dismissDuplicate: (a: string, b: string) => call<void>("dismiss_duplicate", { a, b }),
  conflicts: () => call<Conflict[]>("conflicts"),
  resolveConflict: (record: string, theirs: boolean) => call<void>("resolve_conflict", { record, theirs }),
  report: (query: ReportQuery) => call<Report>("report", { query }),
  /** Writes csv, xlsx or html (unencrypted; the UI warns first) into the documents folder; returns where. */
  exportReport: (query: ReportQuery, format: "csv" | "xlsx" | "html") => call<string>("export_report", { query, format }),
  /** Team sync: no network, just what the vault knows. */
  syncStatus: () => call<SyncStatus>("sync_status"),
  /** Push this vault's changes and pull the team's; fails with sync_offline and friends. */
  syncNow: () => call<Synced>("sync_now"),
  syncConflicts: () => call<FieldConflict[]>("sync_conflicts"),
  resolveSyncConflict: (record: string, field: string, hlc: string) =>
    call<void>("resolve_sync_conflict", { record, field, hlc }),
  /** Joins the team of an invitation file (its text); returns the team fingerprint to compare with
   *  the inviting device's. A used, expired or damaged invitation fails and changes nothing. */
  teamJoin: (invitation: string) => call<string>("team_join", { invitation }),
  /** Makes this vault the first device of a team made with `casebook-server team create`; returns the team fingerprint. */
  teamCreate: (server: string, team: string, token: string, certSha256: string | null) =>
    call<string>("team_create", { server, team, token, certSha256 }),
  /** Asks where to save an invitation (the save dialog), then has the shell register it and write
   *  it there. Null when the person cancelled the dialog. */
  teamInvite: async (dialogTitle: string, fileName: string): Promise<{ path: string; fingerprint: string } | null> => {
    const path = await save({ title: dialogTitle, defaultPath: fileName, filters: [{ name: "JSON", extensions: ["json"] }] });
    if (!path) return null;
    return { path, fingerprint: await call<string>("team_invite", { path }) };
  },
  /** The team's devices as the server lists them (revoked ones too). */
  teamDevices: () => call<TeamDevice[]>("team_devices"),
  /** Removes a device from the team; it keeps what it already had. */
  teamRevoke: (device: string) => call<void>("team_revoke", { device }),
  /** A desktop notification; false when the system has none or the user refused them. */
  notify: async (title: string, body: string): Promise<boolean> => {
    try {
      let granted = await isPermissionGranted();
      if (!granted) granted = (await requestPermission()) === "granted";
      if (granted) sendNotification({ title, body });
      return granted;
    } catch {
      return false;
    }
  },
};
