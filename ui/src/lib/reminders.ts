// Reminders: while the vault is open, a desktop notification a set time before each hearing or
// deadline; on unlock, one for anything whose reminder fell while Casebook was closed.
// Notifications carry no names or case titles: the system keeps them in its own history, outside
// the vault. Only the time of the last check is stored (in the webview's local storage).
import type { CalendarItem } from "./ipc";

const LEAD_KEY = "casebook.reminder_minutes";
const CHECKED_KEY = "casebook.reminders_checked";
export const LEAD_CHOICES = [0, 60, 120, 1440, 2880] as const;

/** Minutes before a hearing or deadline to remind; 0 turns reminders off. */
export function reminderMinutes(): number {
  const value = Number(localStorage.getItem(LEAD_KEY) ?? "1440");
  return Number.isFinite(value) && value >= 0 ? value : 1440;
}

export function setReminderMinutes(minutes: number) {
  localStorage.setItem(LEAD_KEY, String(minutes));
}

export function lastChecked(now: number): number {
  const value = Number(localStorage.getItem(CHECKED_KEY) ?? "");
  return Number.isFinite(value) && value > 0 && value <= now ? value : now;
}

export function markChecked(now: number) {
  localStorage.setItem(CHECKED_KEY, String(now));
}

/** When the item happens: the hearing's moment, or the start of a whole-day item in local time. */
export function itemMoment(item: CalendarItem): number {
  if (item.utc) return Date.parse(item.utc);
  const [y, m, d] = item.date.split("-").map(Number);
  return new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1, 9, 0).getTime();
}

export interface Reminder {
  item: CalendarItem;
  /** It already took place or passed while the app was closed. */
  missed: boolean;
}

/**
 * What to remind of now: items within `leadMinutes` ahead that were not shown yet, and items that
 * took place after `since` (the last check, possibly before the app was closed) without a reminder.
 */
export function dueReminders(
  items: CalendarItem[],
  since: number,
  now: number,
  leadMinutes: number,
  shown: ReadonlySet<string>,
): Reminder[] {
  if (leadMinutes <= 0) return [];
  const lead = leadMinutes * 60_000;
  return items
    .filter((i) => i.item !== "release" && !shown.has(i.uid))
    .filter((i) => i.item !== "hearing" || i.status === "scheduled")
    .map((item) => ({ item, at: itemMoment(item) }))
    .filter(({ at }) => (at > now && at - lead <= now) || (at > since && at <= now))
    .map(({ item, at }) => ({ item, missed: at <= now }));
}
