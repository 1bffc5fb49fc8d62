// Sentence parts in words: "7 years' imprisonment", "ban on public activity, 3 years", "fine of 100 MCI".
type T = (key: string, options?: Record<string, unknown>) => string;

export function term(part: Record<string, unknown>, t: T): string {
  const bits: string[] = [];
  const y = Number(part.years ?? 0), m = Number(part.months ?? 0);
  if (y) bits.push(t("sentence.years", { count: y }));
  if (m) bits.push(t("sentence.months", { count: m }));
  return bits.join(" ");
}

export function describePart(part: Record<string, unknown>, t: T): string {
  const type = String(part.type);
  const span = term(part, t);
  switch (type) {
    case "imprisonment": return t("sentence.imprisonment", { term: span });
    case "suspended": return t("sentence.suspended", { term: span });
    case "restricted_freedom": return t("sentence.restricted_freedom", { term: span });
    case "activity_ban": return t("sentence.activity_ban", { activity: String(part.activity ?? ""), term: span });
    case "administrative_arrest": return t("sentence.administrative_arrest", { count: Number(part.days ?? 0) });
    case "fine":
      return part.mci !== undefined
        ? t("sentence.fine_mci", { count: Number(part.mci) })
        : t("sentence.fine", { amount: `${String(part.amount ?? "?")} ${String(part.currency ?? "")}`.trim() });
    case "compensation": return t("sentence.compensation", { amount: `${String(part.amount ?? "")} ${String(part.currency ?? "")}`.trim() });
    case "deferral": return t("sentence.deferral", { until: String(part.until ?? "") });
    case "community_service": return t("sentence.community_service", { count: Number(part.hours ?? 0) });
    default: return String(part.text ?? type);
  }
}
