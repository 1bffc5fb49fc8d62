// Shows a recorded date exactly as precise as it was recorded ("December 2023", "11–20 July 2024",
// "≈ 2022"), in the interface language. Never shows a day nobody recorded.
import type { Language } from "./i18n";

type Part = "early" | "mid" | "late";
interface Point { y: number; m?: number; d?: number; part?: Part }

function parsePoint(text: string): Point | null {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}|early|mid|late))?)?$/.exec(text);
  if (!m) return null;
  const point: Point = { y: Number(m[1]) };
  if (m[2]) point.m = Number(m[2]);
  if (m[3]) {
    if (m[3] === "early" || m[3] === "mid" || m[3] === "late") point.part = m[3];
    else point.d = Number(m[3]);
  }
  return point;
}

function formatPoint(p: Point, lang: Language, partWords: Record<Part, string>): string {
  if (p.m === undefined) return String(p.y);
  const date = new Date(Date.UTC(p.y, p.m - 1, p.d ?? 1));
  if (p.d !== undefined) {
    return new Intl.DateTimeFormat(lang, { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(date);
  }
  const monthYear = new Intl.DateTimeFormat(lang, { month: "long", year: "numeric", timeZone: "UTC" }).format(date);
  return p.part ? `${partWords[p.part]} ${monthYear}` : monthYear;
}

export function formatPartialDate(
  value: unknown,
  lang: Language,
  partWords: Record<Part, string> = { early: "early", mid: "mid", late: "late" },
): string {
  if (typeof value !== "string" || value === "") return "";
  const approximate = value.startsWith("~");
  const body = approximate ? value.slice(1) : value;
  const [a, b] = body.split("/");
  const start = a ? parsePoint(a) : null;
  if (!start) return value;
  let text: string;
  const end = b ? parsePoint(b) : null;
  if (end && start.d !== undefined && end.d !== undefined && start.y === end.y && start.m === end.m) {
    const monthYear = new Intl.DateTimeFormat(lang, { month: "long", year: "numeric", timeZone: "UTC" })
      .format(new Date(Date.UTC(start.y, (start.m ?? 1) - 1, end.d)));
    text = lang === "en" ? `${start.d}–${end.d} ${monthYear}` : `${start.d}–${end.d} ${monthYear}`;
  } else if (end) {
    text = `${formatPoint(start, lang, partWords)} – ${formatPoint(end, lang, partWords)}`;
  } else {
    text = formatPoint(start, lang, partWords);
  }
  return approximate ? `≈ ${text}` : text;
}

/** A court time "2023-11-10T10:00" in the court's zone, shown as recorded, with the zone named. */
export function formatCourtTime(scheduled: unknown, zone: unknown, lang: Language): string {
  if (typeof scheduled !== "string") return "";
  const [day, time] = scheduled.split("T");
  const dayText = day ? formatPartialDate(day, lang) : scheduled;
  return time ? `${dayText}, ${time} (${String(zone ?? "")})` : dayText;
}

/** Whole days from a day to another, counting both ends (days in custody). */
export function daysBetween(from: string, to: string): number {
  const a = Date.parse(from.slice(0, 10));
  const b = Date.parse(to.slice(0, 10));
  return Math.floor((b - a) / 86_400_000) + 1;
}
