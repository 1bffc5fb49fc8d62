// Every visible string comes from the catalogues. A key missing from the active catalogue is
// recorded in `missingKeys` (read by the end-to-end test) and shown as the key, never silently.
import i18next from "i18next";
import { derived, writable } from "svelte/store";
import en from "../locales/en.json";
import ru from "../locales/ru.json";
import kk from "../locales/kk.json";
import vocabularySeed from "../../../crates/core/src/vocab_seed.txt?raw";

export const languages = [
  { code: "en", name: "English" },
  { code: "ru", name: "Русский" },
  { code: "kk", name: "Қазақша" },
] as const;
export type Language = (typeof languages)[number]["code"];

export const missingKeys: string[] = [];
(window as unknown as { __casebookMissingKeys: string[] }).__casebookMissingKeys = missingKeys;

/** Labels of the seeded vocabularies, from the same file the core seeds vaults with: one source. */
function vocabularyLabels(): Record<Language, Record<string, Record<string, string>>> {
  const out: Record<Language, Record<string, Record<string, string>>> = { en: {}, ru: {}, kk: {} };
  for (const line of vocabularySeed.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const [vocabulary, code, , en, ru, kkLabel] = line.split("|");
    if (!vocabulary || !code) continue;
    const labels: [Language, string | undefined][] = [["en", en], ["ru", ru], ["kk", kkLabel]];
    for (const [lang, label] of labels) {
      (out[lang][vocabulary] ??= {})[code] = label || en || code;
    }
  }
  return out;
}
const vocab = vocabularyLabels();

const stored = localStorage.getItem("casebook.language");
const initial: Language = stored === "ru" || stored === "kk" ? stored : "en";

await i18next.init({
  lng: initial,
  fallbackLng: false,
  resources: {
    en: { translation: { ...vocab.en, ...en } },
    ru: { translation: { ...vocab.ru, ...ru } },
    kk: { translation: { ...vocab.kk, ...kk } },
  },
  interpolation: { escapeValue: false },
  saveMissing: true,
  missingKeyHandler: (_lngs, _ns, key) => {
    if (!missingKeys.includes(key)) missingKeys.push(key);
    console.error(`missing translation: ${key}`);
  },
  returnEmptyString: false,
});

export const language = writable<Language>(initial);

export const t = derived(language, (lang) => {
  void i18next.changeLanguage(lang);
  document.documentElement.lang = lang;
  return (key: string, options?: Record<string, unknown>): string => i18next.t(key, { lng: lang, ...options });
});

/** Whether the catalogues name `key` (for labels built from data, which may have none). */
export function hasTranslation(key: string): boolean {
  return i18next.exists(key);
}

export function setLanguage(lang: Language): void {
  localStorage.setItem("casebook.language", lang);
  language.set(lang);
}

/** A vocabulary entry's label in the interface language, falling back to English, then the code. */
export function termLabel(term: Record<string, unknown> | undefined, lang: Language): string {
  if (!term) return "";
  const labels = (term.labels ?? {}) as Record<string, string>;
  return labels[lang] ?? labels["en"] ?? String(term.code ?? "");
}

/** Whether the catalogues define `key` (for optional labels, without recording it as missing). */
export function hasKey(key: string): boolean {
  return i18next.exists(key);
}
