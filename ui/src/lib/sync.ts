// Team sync as the window sees it: what the vault knows (team, changes waiting, conflicts), how
// the last attempt ended, and a sync every few minutes while the vault is unlocked and in a team.
// A failed sync only changes the indicator: work goes on offline, nothing waits for the network.
import { get, writable } from "svelte/store";
import { IpcError, shell, type SyncStatus } from "./ipc";

export interface SyncState {
  status: SyncStatus | null;
  running: boolean;
  /** How the last attempt failed (its stable code, e.g. sync_offline); null after a success. */
  error: { code: string; message: string } | null;
  /** Changes received by the last successful sync. */
  received: number;
  /** Goes up after every successful sync, so views that show synced data can reload. */
  revision: number;
}

const initial = (): SyncState => ({ status: null, running: false, error: null, received: 0, revision: 0 });
export const sync = writable<SyncState>(initial());

/** Background sync interval in minutes; 0 = only when the user presses "Sync now". */
export const SYNC_CHOICES = [0, 5, 15, 60] as const;
const KEY = "casebook.sync_minutes";
export function syncMinutes(): number {
  const n = Number(localStorage.getItem(KEY) ?? "5");
  return Number.isFinite(n) && n >= 0 ? n : 5;
}
export function setSyncMinutes(minutes: number): void {
  localStorage.setItem(KEY, String(Math.max(0, Math.round(minutes))));
}

/** Re-reads the vault's sync status (no network). */
export async function refreshSync(): Promise<void> {
  try {
    const status = await shell.syncStatus();
    sync.update((s) => ({ ...s, status }));
  } catch {
    // Locked meanwhile: the indicator goes away with the main screen.
  }
}

let lastAttempt = 0;

/** One sync, unless one is running or the vault is not in a team. Never throws. */
export async function syncNow(): Promise<void> {
  const now = get(sync);
  if (now.running || !now.status?.team) return;
  lastAttempt = Date.now();
  sync.update((s) => ({ ...s, running: true }));
  try {
    const done = await shell.syncNow();
    sync.update((s) => ({
      ...s,
      running: false,
      error: null,
      status: done.status,
      received: done.received,
      revision: s.revision + 1,
    }));
  } catch (e) {
    const error = e instanceof IpcError ? { code: e.code, message: e.message } : { code: "internal", message: String(e) };
    sync.update((s) => ({ ...s, running: false, error }));
    await refreshSync();
  }
}

/**
 * Starts watching after an unlock: the status now and every 15 s (changes waiting grow as the
 * user works), and a sync every `syncMinutes()` minutes after the unlock or the last attempt.
 * Returns the function that stops it (on lock).
 */
export function startSync(): () => void {
  sync.set(initial());
  void refreshSync();
  lastAttempt = Date.now();
  const timer = setInterval(() => {
    const minutes = syncMinutes();
    if (minutes > 0 && Date.now() - lastAttempt >= minutes * 60_000 && get(sync).status?.team) {
      void syncNow();
    } else if (!get(sync).running) {
      void refreshSync();
    }
  }, 15_000);
  return () => {
    clearInterval(timer);
    sync.set(initial());
  };
}
