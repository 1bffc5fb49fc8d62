// Importing a Casebook JSON document in the desktop app: the Adil Soz July 2024 example is
// previewed (182 new) and imported; a corrected version of one of its incidents (another title, a
// date now only approximate) lists both fields before → after, cannot be imported until the update
// is confirmed (the shell refuses it too), and once confirmed is in the vault (read back with the
// CLI) and marked "~" on the July report. Malformed files (a key twice, a byte-order mark, cut-off
// JSON) show the core's message in the interface language's framing and change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, rmSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Driver } from "./webdriver.mjs";
import { root, application, cliBinary, shots, isolatedHome } from "./helpers.mjs";

const PASSPHRASE = "what the file would change";
const EXAMPLE = join(root, "examples", "adilsoz-2024-07.json");
// "Vera.kz hit by a series of DDoS attacks and account takeovers", dated 2024-07-11/2024-07-20.
const VERA = "34239b98-6ae3-5811-996a-360fceb07093";
const CORRECTED = "Vera.kz: DDoS attacks and account takeovers (dates unconfirmed)";

test("a JSON document previewed and imported, an update confirmed, malformed files refused", { timeout: 240_000 }, async () => {
  const { home, env } = isolatedHome("casebook-e2e-import-");
  const cli = (...args) => execFileSync(cliBinary, args, { env: { ...env, CASEBOOK_PASSPHRASE: PASSPHRASE }, encoding: "utf8" });
  cli("init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");

  // The files the user chooses.
  const example = JSON.parse(readFileSync(EXAMPLE, "utf8"));
  const vera = example.records.find((r) => r.id === VERA);
  assert.equal(vera?.date, "2024-07-11/2024-07-20");
  const update = join(home, "vera-corrected.json");
  const corrected = { ...vera, title: CORRECTED, date: "~2024-07" };
  writeFileSync(update, JSON.stringify({ format: "casebook-export", version: 2, records: [corrected] }, null, 2));
  const fresh = { id: "0e2e0000-0000-4000-8000-00000000001a", kind: "event", title: "Must not be imported (e2e)", event_type: "cyberattack", date: "2024-07-05" };
  const twice = join(home, "key-twice.json");
  const freshText = JSON.stringify(fresh).replace('"title":', '"title":"First title (e2e)","title":');
  writeFileSync(twice, `{"format":"casebook-export","version":2,"records":[${freshText}]}`);
  const bom = join(home, "with-bom.json");
  writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ format: "casebook-export", version: 2, records: [fresh] }))]));
  const cut = join(home, "cut-off.json");
  writeFileSync(cut, JSON.stringify({ format: "casebook-export", version: 2, records: [fresh] }).slice(0, 90));

  const d = await Driver.start({ application, env });
  let step = 0;
  const shot = async (name) => {
    const path = join(shots, `import-${String(++step).padStart(2, "0")}-${name}.png`);
    writeFileSync(path, await d.screenshot());
    return path;
  };
  const choose = async (path) => {
    const input = await d.find('[data-testid="document-input"]');
    await d.cmd("POST", `/element/${input}/value`, { text: path });
  };
  const count = async (which) => (await d.text(`[data-testid="document-${which}"] strong`)).trim();
  try {
    await d.find('[data-testid="unlock-passphrase"]', { timeout: 30_000 });
    await d.choose("select", "en");
    await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
    await d.click('[data-testid="unlock-submit"]');
    await d.click('[data-testid="nav.exchange"]', { timeout: 30_000 });

    // 1. The example: all new, nothing to confirm.
    await choose(EXAMPLE);
    await d.find('[data-testid="document-preview"]', { timeout: 30_000 });
    assert.equal(await count("created"), "182");
    assert.equal(await count("updated"), "0");
    assert.equal(await count("unchanged"), "0");
    assert.equal(await d.run('return document.querySelector("[data-testid=document-confirm]");'), null, "nothing to confirm");
    await shot("example-preview");
    await d.click('[data-testid="document-import"]');
    const done = await d.text('[data-testid="document-done"]', { timeout: 30_000 });
    assert.ok(done.includes("182 new, 0 updated, 0 unchanged"), done);

    // The same file again: everything is already here.
    await choose(EXAMPLE);
    await d.find('[data-testid="document-nothing"]', { timeout: 30_000 });
    assert.equal(await count("unchanged"), "182");
    await d.click('[data-testid="document-cancel"]');

    // 2. A corrected version of one incident: the changed fields, before → after.
    await choose(update);
    await d.find('[data-testid="document-change"]', { timeout: 30_000 });
    assert.equal(await count("created"), "0");
    assert.equal(await count("updated"), "1");
    assert.equal(await count("unchanged"), "0");
    const row = async (field) => ({
      before: await d.text(`[data-testid="document-field"][data-field="${field}"] [data-testid="document-before"]`),
      after: await d.text(`[data-testid="document-field"][data-field="${field}"] [data-testid="document-after"]`),
    });
    assert.deepEqual(await row("title"), { before: vera.title, after: CORRECTED });
    const date = await row("date");
    assert.ok(date.before.includes("11–20 July 2024") && date.before.includes("2024-07-11/2024-07-20"), date.before);
    assert.ok(date.after.includes("≈ July 2024") && date.after.includes("~2024-07"), date.after);
    const fields = await d.run('return [...document.querySelectorAll("[data-testid=document-field]")].map((r) => r.dataset.field);');
    assert.deepEqual(fields.sort(), ["date", "title"], "only the two changed fields are listed");

    // Not without confirming: the button is disabled, and the shell itself refuses.
    assert.equal(await d.run('return document.querySelector("[data-testid=document-import]").disabled;'), true);
    await d.find('[data-testid="document-confirm-hint"]');
    await d.run(
      'window.__e2eImport = null; window.__TAURI_INTERNALS__.invoke("import_document", { update: false }).then((r) => (window.__e2eImport = { ok: r }), (e) => (window.__e2eImport = { err: e })); return true;',
    );
    let refused = null;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = await d.run("return window.__e2eImport;");
      if (!refused) await sleep(100);
    }
    assert.equal(refused?.err?.code, "confirmation_needed", JSON.stringify(refused));
    assert.equal(JSON.parse(cli("--json", "show", VERA)).date, "2024-07-11/2024-07-20", "not written before confirming");

    await d.run('document.querySelector("[data-testid=document-import-card]").scrollIntoView();');
    copyFileSync(await shot("update-preview"), join(root, "docs", "screenshot-import-preview.png"));
    await d.click('[data-testid="document-confirm"]');
    assert.equal(await d.run('return document.querySelector("[data-testid=document-import]").disabled;'), false);
    await d.click('[data-testid="document-import"]');
    const updated = await d.text('[data-testid="document-done"]', { timeout: 30_000 });
    assert.ok(updated.includes("0 new, 1 updated, 0 unchanged"), updated);
    const stored = JSON.parse(cli("--json", "show", VERA));
    assert.equal(stored.title, CORRECTED);
    assert.equal(stored.date, "~2024-07");

    // 3. The July 2024 report marks the incident now dated only approximately.
    await d.click('[data-testid="nav.reports"]');
    await d.choose('[data-testid="report-span"]', "month");
    await d.run(
      'const i = document.querySelector("[data-testid=report-month]"); i.value = "2024-07"; i.dispatchEvent(new Event("input", { bubbles: true }));',
    );
    await d.click('[data-testid="report-run"]');
    await d.find('[data-testid="report-table"]', { timeout: 20_000 });
    const cell = async (code, which) => (await d.text(`tr[data-code="${code}"] [data-testid="report-${which}"]`)).trim();
    assert.equal(await cell("cyberattack", "count"), "5", "still counted in July");
    assert.equal(await cell("cyberattack", "approximate"), "~1");
    assert.equal(await cell("refusal_of_information", "approximate"), "", "no mark where every date is exact");
    const badge = await d.text('[data-testid="report-approximate-total"]');
    assert.ok(badge.includes("1") && badge.includes("~"), badge);
    await shot("report-approximate");

    // 4. Malformed files: the core's message, framed in the interface language; nothing changes.
    const before = cli("export", "--out", "-");
    await d.click('[data-testid="nav.exchange"]');
    for (const [file, message] of [
      [twice, "appears twice"],
      [bom, "byte-order mark"],
      [cut, "not valid JSON"],
    ]) {
      await choose(file);
      const error = await d.text('[data-testid="document-error"]', { text: message, timeout: 30_000 });
      assert.ok(error.includes("cannot be imported. Nothing was changed."), error);
      assert.equal(await d.run('return document.querySelector("[data-testid=document-preview]");'), null, "no preview");
    }
    await shot("malformed");
    await d.click('[data-testid="nav.settings"]');
    await d.choose('[data-testid="settings-language"]', "ru");
    await d.click('[data-testid="nav.exchange"]');
    await choose(twice);
    const russian = await d.text('[data-testid="document-error"]', { text: "appears twice", timeout: 30_000 });
    assert.ok(russian.includes("нельзя импортировать. Ничего не изменено."), russian);
    assert.ok(russian.includes("key-twice.json"), russian);
    await shot("malformed-ru");
    const missing = await d.run("return window.__casebookMissingKeys;");
    assert.deepEqual(missing, [], `untranslated keys: ${missing}`);
    assert.equal(cli("export", "--out", "-"), before, "the malformed files changed nothing");
  } catch (e) {
    await shot("failure").catch(() => {});
    throw e;
  } finally {
    await d.quit();
  }
  const records = JSON.parse(cli("export", "--out", "-")).records;
  assert.equal(records.filter((r) => r.title === "Must not be imported (e2e)").length, 0);
  rmSync(home, { recursive: true, force: true });
});
