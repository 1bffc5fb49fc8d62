// Sentence parts in words: "7 years' imprisonment", "ban on public activity, 3 years", "fine of 100 MCI".
type T = (key: string, options?: Record<string, unknown>) => string;

/** One part of a sentence as stored: `{type: "fine", amount: "200", currency: "EUR", approximate: true}`. */
export type Part = Record<string, unknown> & { type: string };
/** One defendant's outcome on a decision. */
export interface Outcome { defendant: string; outcome: string; sentence: Part[]; alternatives?: boolean; charges?: string[]; note?: string }

export const SENTENCE_TYPES = [
  "imprisonment", "suspended", "fine", "administrative_arrest", "restricted_freedom", "activity_ban",
  "compensation", "community_service", "deferral", "other",
];

function span(years: number, months: number, t: T): string {
  const bits: string[] = [];
  if (years) bits.push(t("sentence.years", { count: years }));
  if (months) bits.push(t("sentence.months", { count: months }));
  return bits.join(" ");
}

/** "3 years", or a range given to a group: "3 years to 5 years". */
export function term(part: Record<string, unknown>, t: T): string {
  const low = span(Number(part.years ?? 0), Number(part.months ?? 0), t);
  if (part.max_years === undefined && part.max_months === undefined) return low;
  const high = span(Number(part.max_years ?? 0), Number(part.max_months ?? 0), t);
  return t("sentence.range", { from: low || "0", to: high });
}

function money(part: Record<string, unknown>): string {
  const text = `${String(part.amount ?? "?")} ${String(part.currency ?? "")}`.trim();
  return part.approximate === true ? `≈ ${text}` : text;
}

export function describePart(part: Record<string, unknown>, t: T): string {
  const type = String(part.type);
  const length = term(part, t);
  switch (type) {
    case "imprisonment": return t("sentence.imprisonment", { term: length });
    case "suspended": return t("sentence.suspended", { term: length });
    case "restricted_freedom": return t("sentence.restricted_freedom", { term: length });
    case "activity_ban": return t("sentence.activity_ban", { activity: String(part.activity ?? ""), term: length });
    case "administrative_arrest":
      return part.max_days !== undefined
        ? t("sentence.administrative_arrest_range", { from: Number(part.days ?? 0), count: Number(part.max_days) })
        : t("sentence.administrative_arrest", { count: Number(part.days ?? 0) });
    case "fine": {
      const main = part.mci !== undefined && part.amount === undefined
        ? t("sentence.fine_mci", { count: Number(part.mci) })
        : t("sentence.fine", { amount: money(part) });
      const eq = part.equivalent as Record<string, unknown> | undefined;
      return eq ? `${main} (${money(eq)})` : main;
    }
    case "compensation": return t("sentence.compensation", { amount: money(part) });
    case "deferral": return t("sentence.deferral", { until: String(part.until ?? "") });
    case "community_service": return t("sentence.community_service", { count: Number(part.hours ?? 0) });
    default: return String(part.text ?? type);
  }
}
