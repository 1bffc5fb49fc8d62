// The desktop app, driven as a user would drive it, in English, Russian and Kazakh:
// create a vault, open the example archive, find "Жыланбаев", open his case, schedule a closed-door
// hearing and postpone it, see both dates in the timeline and the new one in the calendar, lock,
// fail to unlock with a wrong passphrase, unlock, find the hearing again.
// Every step saves a screenshot to tests/e2e/screenshots/; a missing expected text fails the step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Driver } from "./webdriver.mjs";
import { root, application, shots, isolatedHome, filesUnder } from "./helpers.mjs";


const catalogue = (lang) => JSON.parse(readFileSync(join(root, "ui", "src", "locales", `${lang}.json`), "utf8"));
const PASSPHRASE = "monitor in a courthouse corridor";
const MARKER = "Judge ill; the public was not let in (e2e)";
const SCHEDULED = { en: "Scheduled", ru: "Назначено", kk: "Тағайындалды" };
const PHOTO = join(root, "crates", "cli", "tests", "fixtures", "court-notice.jpg");
// A string inside the photo's EXIF: if it appears in any file the app wrote, plaintext leaked.
const PHOTO_CANARY = Buffer.from("CANARY-court-notice-5d1e9f");
// The hearing is scheduled for tomorrow at 10:00 and postponed to 11:30 the same day, so that a
// two-day reminder is due when the vault is unlocked again.
const day = (offset) => {
  const d = new Date();
  d.setDate(d.getDate() + offset);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};
const FIRST_DATE = day(1);
const NEW_DATE = day(1);
const monthsAhead = (Number(NEW_DATE.slice(0, 4)) - new Date().getFullYear()) * 12 + Number(NEW_DATE.slice(5, 7)) - (new Date().getMonth() + 1);

for (const lang of ["en", "ru", "kk"]) {
  test(`the courthouse scenario in ${lang}`, { timeout: 180_000 }, async () => {
    const L = catalogue(lang);
    const { home, env } = isolatedHome(`casebook-e2e-${lang}-`);
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

      // 4. Schedule a closed hearing, then postpone it with a reason: both dates stay in the timeline.
      await d.click('[data-testid="case-add-hearing"]');
      await d.type('[data-testid="field-scheduled"]', `${FIRST_DATE}T10:00`);
      await d.choose('[data-testid="field-status"]', "scheduled");
      await d.click('[data-testid="field-closed_door"]');
      await shot("hearing-form");
      await d.click('[data-testid="form-save"]');
      await d.click('[data-testid="hearing-postpone"]');
      await d.type('[data-testid="postpone-to"]', `${NEW_DATE}T11:30`);
      await d.type('[data-testid="postpone-reason"]', MARKER);
      await shot("postpone-form");
      await d.click('[data-testid="postpone-save"]');
      const entry = await d.text('[data-testid="timeline"] li', { text: MARKER });
      assert.ok(entry.includes(L.hearing.closed_door), `closed-door badge missing: ${entry}`);
      assert.ok(entry.includes("10:00"), `the postponed date is missing: ${entry}`);
      const moved = await d.text('[data-testid="timeline"] li', { text: "11:30" });
      assert.ok(moved.includes("10:00"), `the new hearing does not show the date it was postponed from: ${moved}`);
      await shot("hearing-postponed-in-timeline");

      // 4a. Attach a photo of the notice to the new hearing and view it: decrypted in memory only.
      await d.click('[data-testid="timeline-hearing"]', { text: SCHEDULED[lang] });
      const input = await d.find('[data-testid="attach-input"]');
      await d.cmd("POST", `/element/${input}/value`, { text: PHOTO });
      await d.click('[data-testid="attachment-thumb"]', { timeout: 30_000 });
      await d.find('[data-testid="viewer-image"]');
      for (let i = 0; i < 50; i++) {
        if (await d.run('const i = document.querySelector("[data-testid=viewer-image]"); return i.complete && i.naturalWidth > 0;')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const width = await d.run('return document.querySelector("[data-testid=viewer-image]").naturalWidth;');
      assert.equal(width, 320, "the viewer shows the decrypted photo");
      assert.equal(await d.text('[data-testid="viewer-taken"]'), "2026-11-25 09:41:00");
      await shot("attachment-viewer");
      await d.click('[data-testid="viewer-close"]');
      for (const [path, bytes] of filesUnder(home)) {
        assert.ok(!bytes.includes(PHOTO_CANARY), `${path} holds the photo's bytes in plaintext`);
      }

      // 4b. The calendar shows the new date (agenda and month), with the earlier date beside it.
      await d.click('[data-testid="nav.calendar"]');
      const agenda = await d.text('[data-testid="calendar-agenda"] [data-testid="calendar-item"]', { text: "11:30" });
      assert.ok(agenda.includes(`${FIRST_DATE} 10:00`), `earlier date missing in the agenda: ${agenda}`);
      assert.ok(agenda.includes(L.hearing.closed_door), `closed-door badge missing in the agenda: ${agenda}`);
      await shot("calendar-agenda");
      await d.click('[data-testid="calendar-mode-month"]');
      for (let i = 0; i < monthsAhead; i++) await d.click('[data-testid="calendar-next"]');
      await d.find(`[data-day="${NEW_DATE}"] [data-testid="calendar-item"]`, { text: "11:30" });
      // WebKit can paint a frame after the DOM changed: let it catch up before the screenshot.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await shot("calendar-month");

      // 5. Ask for reminders two days ahead, then lock: no record text may stay in the DOM.
      await d.click('[data-testid="nav.settings"]');
      await d.choose('[data-testid="settings-reminder"]', "2880");
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
      // Unlocking checks reminders: tomorrow's hearing is within the two days asked for.
      const reminder = await d.text('[data-testid="reminder"]', { text: "11:30", timeout: 20_000 });
      assert.ok(reminder.includes(NEW_DATE), `reminder without the hearing's date: ${reminder}`);
      await shot("reminder");
      await d.click('[data-testid="open-search"]', { timeout: 20_000 });
      await d.type('[data-testid="search-input"]', "Zhylanbaev");
      await d.click('[data-testid="search-result"]', { text: "Жыланбаев" });
      await d.click('[data-testid="person-case"]', { text: "extremism trial" });
      await d.find('[data-testid="timeline"] li', { text: MARKER });
      await shot("hearing-after-unlock");

      // Nothing the app wrote while running (vault, cache, config, temp) holds the photo in plaintext.
      for (const [path, bytes] of filesUnder(home)) {
        assert.ok(!bytes.includes(PHOTO_CANARY), `${path} holds the photo's bytes in plaintext`);
      }

      const missing = await d.run("return window.__casebookMissingKeys;");
      assert.deepEqual(missing, [], `untranslated keys shown in ${lang}`);
    } catch (e) {
      // What the window showed when a step failed.
      await shot("failure").catch(() => {});
      throw e;
    } finally {
      await d.quit();
      rmSync(home, { recursive: true, force: true });
    }
  });
}
