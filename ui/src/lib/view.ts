import type { Kind } from "./ipc";

/** Where the main window is. Kept as data so that locking can drop it with everything else. */
export type View =
  | { name: "dashboard" }
  | { name: "list"; kind: Kind }
  | { name: "case"; id: string }
  | { name: "person"; id: string }
  | { name: "record"; id: string }
  | { name: "new"; kind: Kind; preset?: Record<string, unknown> }
  | { name: "calendar" }
  | { name: "exchange" }
  | { name: "reports" }
  | { name: "settings"; section?: "team" };

export type Go = (view: View) => void;

/** The page that shows a record best. */
export function viewFor(kind: Kind, id: string): View {
  if (kind === "case") return { name: "case", id };
  if (kind === "person") return { name: "person", id };
  return { name: "record", id };
}
