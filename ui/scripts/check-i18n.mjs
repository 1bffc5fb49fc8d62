// Fails when a catalogue lacks a key another one has, or when the code uses a static key that no
// catalogue defines. Plural forms are compared by their base key (Russian has more forms).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const flatten = (obj, prefix = "") =>
  Object.entries(obj).flatMap(([k, v]) => (typeof v === "object" ? flatten(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
const base = (key) => key.replace(/_(zero|one|two|few|many|other)$/, "");
const catalogues = Object.fromEntries(
  ["en", "ru", "kk"].map((l) => [l, new Set(flatten(JSON.parse(readFileSync(`src/locales/${l}.json`, "utf8"))).map(base))]),
);
let problems = 0;
for (const [lang, keys] of Object.entries(catalogues)) {
  for (const key of catalogues.en) if (!keys.has(key)) { console.error(`${lang}: missing ${key}`); problems++; }
  for (const key of keys) if (!catalogues.en.has(key)) { console.error(`${lang}: ${key} is not in en`); problems++; }
}
const files = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
for (const file of files("src").filter((f) => /\.(svelte|ts)$/.test(f))) {
  for (const [, key] of readFileSync(file, "utf8").matchAll(/\$t\("([a-z0-9_.]+)"/g)) {
    if (!catalogues.en.has(key)) { console.error(`${file}: uses ${key}, which no catalogue defines`); problems++; }
  }
}
if (problems) { console.error(`${problems} translation problem(s)`); process.exit(1); }
console.log(`translations: ${catalogues.en.size} keys in en, ru and kk`);
