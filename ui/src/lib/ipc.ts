// The only module that talks to the desktop shell. Every command's input and output type is here;
// errors arrive as `{code, message}` with the same stable codes as the CLI (docs/cli.md).
import { invoke } from "@tauri-apps/api/core";

export type Kind =
  | "term" | "partner" | "source" | "organisation" | "person" | "case"
  | "event" | "detention" | "proceeding" | "charge" | "hearing" | "decision";

export interface RecordJson {
  id: string;
  kind: Kind;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

export interface Summary {
  id: string;
  kind: Kind;
  label: string;
  date_from?: string;
  updated_at: string;
}

export interface Status { exists: boolean; unlocked: boolean; path: string }
export interface Created { recovery_key: string }
export interface Page { total: number; items: Summary[] }
export interface ImportSummary { created: number; updated: number; unchanged: number }
export interface Party { role: string; record: RecordJson }
export interface CaseFile {
  case: RecordJson;
  participants: Party[];
  proceedings: RecordJson[];
  charges: RecordJson[];
  hearings: RecordJson[];
  decisions: RecordJson[];
  events: RecordJson[];
  detentions: RecordJson[];
  sources: RecordJson[];
}
export interface PersonFile {
  person: RecordJson;
  cases: Party[];
  detentions: RecordJson[];
  charges: RecordJson[];
  organisations: RecordJson[];
}
export interface Dashboard {
  upcoming_hearings: RecordJson[];
  detained_today: RecordJson[];
  recent_cases: Summary[];
  counts: [Kind, number][];
}

export class IpcError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

function toIpcError(e: unknown): IpcError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    return new IpcError(String(code), String(message));
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

export const shell = {
  status: () => call<Status>("status"),
  createVault: (passphrase: string) => call<Created>("create_vault", { passphrase }),
  unlock: (passphrase: string) => call<void>("unlock", { passphrase }),
  lock: () => call<void>("lock"),
  importExample: () => call<ImportSummary>("import_example"),
  list: (kind: Kind, filter: string, limit: number, offset: number) =>
    call<Page>("list_records", { kind, filter, limit, offset }),
  get: (id: string) => call<RecordJson>("get_record", { id }),
  add: (kind: Kind, fields: Record<string, unknown>) => call<RecordJson>("add_record", { kind, fields }),
  patch: (id: string, fields: Record<string, unknown>) => call<RecordJson>("patch_record", { id, fields }),
  remove: (id: string) => call<void>("delete_record", { id }),
  caseFile: (id: string) => call<CaseFile>("case_file", { id }),
  personFile: (id: string) => call<PersonFile>("person_file", { id }),
  dashboard: () => call<Dashboard>("dashboard"),
  search: (text: string) => call<Summary[]>("search", { text }),
  vocabulary: (name: string) => call<RecordJson[]>("vocabulary", { name }),
};
