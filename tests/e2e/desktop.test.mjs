// The desktop app, driven as a user would drive it, in English, Russian and Kazakh:
// create a vault, open the example archive, find "Жыланбаев", open his case, log a postponed
// closed-door hearing, lock, fail to unlock with a wrong passphrase, unlock, find the hearing again.
// Every step saves a screenshot to tests/e2e/screenshots/; a missing expected text fails the step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Driver } from "./webdriver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const application = process.env.CASEBOOK_DESKTOP_BIN ?? join(root, "target", "release", "casebook-desktop");
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

const catalogue = (lang) => JSON.parse(readFileSync(join(root, "ui", "src", "locales", `${lang}.json`), "utf8"));
const PASSPHRASE = "monitor in a courthouse corridor";
const MARKER = "Judge ill; the public was not let in (e2e)";

for (const lang of ["en", "ru", "kk"]) {
  test(`the courthouse scenario in ${lang}`, { timeout: 180_000 }, async () => {
    const L = catalogue(lang);
    const home = mkdtempSync(join(tmpdir(), `casebook-e2e-${lang}-`));
    const env = {
      ...process.env,
      HOME: home,
      XDG_DATA_HOME: join(home, "data"),
      XDG_CACHE_HOME: join(home, "cache"),
      XDG_CONFIG_HOME: join(home, "config"),
      CASEBOOK_VAULT: join(home, "vault"),
    };
    const d = await Driver.start({ application, env });
    let step = 0;
    const shot = async (name) => writeFileSync(join(shots, `${lang}-${String(++step).padStart(2, "0")}-${name}.png`), await d.screenshot());
    try {
      // 1. First run: choose the language, create the vault, see the recovery key once.
      await d.find('[data-testid="create-passphrase"]', { timeout: 30_000 });
      await d.choose("select", lang);
      await d.text("h1", { text: L.create.title });
      await d.type('[data-testid="create-passphrase"]', PASSPHRASE);
      await d.type('[data-testid="create-confirm"]', PASSPHRASE);
      await shot("create");
      await d.click('[data-testid="create-submit"]');
      const key = await d.text('[data-testid="recovery-key"]', { timeout: 30_000 });
      assert.match(key, /^[A-Z2-7]{4}(-[A-Z2-7]{1,4}){12}$/);
      await shot("recovery-key");
      await d.click('[data-testid="recovery-done"]');

      // 2. Open the example archive.
      await d.click('[data-testid="import-example"]', { timeout: 20_000 });
      await d.find('[data-testid="import-done"]', { timeout: 30_000 });
      await shot("example-imported");

      // 3. Type the name in Cyrillic, open the person, then the case.
      await d.click('[data-testid="open-search"]');
      await d.type('[data-testid="search-input"]', "Жыланбаев");
      await d.click('[data-testid="search-result"]', { text: "Жыланбаев" });
      await d.find('[data-testid="person-name"]', { text: "Жыланбаев" });
      await shot("person");
      await d.click('[data-testid="person-case"]', { text: "extremism trial" });
      await d.find('[data-testid="case-title"]', { text: "Zhylanbaev" });
      await shot("case");

      // 4. Log a hearing that was postponed and held behind closed doors.
      await d.click('[data-testid="case-add-hearing"]');
      await d.type('[data-testid="field-scheduled"]', "2026-12-15T10:00");
      await d.choose('[data-testid="field-status"]', "postponed");
      await d.click('[data-testid="field-closed_door"]');
      await d.type('[data-testid="field-postponement_reason"]', MARKER);
      await shot("hearing-form");
      await d.click('[data-testid="form-save"]');
      const entry = await d.text('[data-testid="timeline"] li', { text: MARKER });
      assert.ok(entry.includes(L.hearing.closed_door), `closed-door badge missing: ${entry}`);
      assert.ok(entry.includes(L.hearing_status?.postponed ?? ""), `status missing: ${entry}`);
      await shot("hearing-in-timeline");

      // 5. Lock: no record text may stay in the DOM.
      await d.click('[data-testid="lock"]');
      await d.find('[data-testid="unlock-passphrase"]');
      const dom = await d.run("return document.documentElement.outerHTML + document.body.innerText;");
      for (const secret of ["Zhylanbaev", "Жыланбаев", MARKER, "extremism"]) {
        assert.ok(!dom.includes(secret), `"${secret}" is still in the DOM after locking`);
      }
      await shot("locked");

      // 6. A wrong passphrase is refused with a clear message.
      await d.type('[data-testid="unlock-passphrase"]', "not my passphrase");
      await d.click('[data-testid="unlock-submit"]');
      const error = await d.text('[data-testid="unlock-error"]', { timeout: 20_000 });
      assert.equal(error, L.unlock.wrong);
      await shot("wrong-passphrase");

      // 7. The right one opens it, and the hearing is there.
      await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
      await d.click('[data-testid="unlock-submit"]');
      await d.click('[data-testid="open-search"]', { timeout: 20_000 });
      await d.type('[data-testid="search-input"]', "Zhylanbaev");
      await d.click('[data-testid="search-result"]', { text: "Жыланбаев" });
      await d.click('[data-testid="person-case"]', { text: "extremism trial" });
      await d.find('[data-testid="timeline"] li', { text: MARKER });
      await shot("hearing-after-unlock");

      const missing = await d.run("return window.__casebookMissingKeys;");
      assert.deepEqual(missing, [], `untranslated keys shown in ${lang}`);
    } finally {
      await d.quit();
      rmSync(home, { recursive: true, force: true });
    }
  });
}
