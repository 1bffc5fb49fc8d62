// The record forms for what real reports say: a group with an "at least" count, a decision with an
// approximate fine ("about 140 EUR"), and a detention moved to a penal colony. Entered in the app,
// then read back from the vault with the real CLI (after the app has quit): the structure is kept,
// not free text. Screenshots of each form go to docs/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { Driver } from "./webdriver.mjs";
import { root, application, cliBinary, shots, isolatedHome } from "./helpers.mjs";

const PASSPHRASE = "structure, not free text";
const SEED = join(root, "crates", "cli", "tests", "fixtures", "seed-situations.json");
const RFE = "5eed0000-0000-4000-8000-000000000003";
const ZHYLANBAEV = "5eed0000-0000-4000-8000-000000000010";
const GROUP = "Journalists detained outside the akimat (e2e)";

test("a group, an approximate fine and a custody transfer through the record forms", { timeout: 240_000 }, async () => {
  const { env } = isolatedHome("casebook-e2e-forms-");
  const cli = (...args) => execFileSync(cliBinary, args, { env: { ...env, CASEBOOK_PASSPHRASE: PASSPHRASE }, encoding: "utf8" });
  cli("init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");
  cli("import", SEED);

  const d = await Driver.start({ application, env });
  const shot = async (name, doc) => {
    const path = join(shots, `forms-${name}.png`);
    writeFileSync(path, await d.screenshot());
    if (doc) copyFileSync(path, join(root, "docs", `screenshot-${doc}.png`));
  };
  try {
    await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
    await d.click('[data-testid="unlock-submit"]');

    // A group: "at least 12 journalists", perpetrators the police.
    await d.click('[data-testid="nav.groups"]', { timeout: 30_000 });
    await d.click('[data-testid="add-record"]');
    await d.type('[data-testid="field-description"]', GROUP);
    await d.choose('[data-testid="field-count-qualifier"]', "at_least");
    await d.type('[data-testid="field-count"]', "12");
    await d.choose('[data-testid="field-perpetrator_type"]', "police");
    await shot("group", "form-group");
    await d.click('[data-testid="form-save"]');
    await d.find('[data-testid="record-edit"]', { timeout: 20_000 });

    // A decision on the RFE/RL case (which already holds the "about 200 EUR" fine): about 140 EUR.
    await d.click('[data-testid="open-search"]');
    await d.type('[data-testid="search-input"]', "RFE/RL Kazakhstan office fined");
    await d.click('[data-testid="search-result"]', { text: "RFE/RL" });
    await d.find('[data-testid="case-title"]', { text: "RFE/RL" });
    await d.click('[data-testid="case-add-decision"]');
    await d.type('[data-testid="field-date"]', "2023-11-16");
    await d.choose('[data-testid="field-decision_kind"]', "administrative_penalty");
    await d.click('[data-testid="outcomes-add"]');
    await d.find(`[data-testid="outcome-0-defendant"] option[value="${RFE}"]`, { timeout: 20_000 });
    await d.choose('[data-testid="outcome-0-defendant"]', RFE);
    await d.choose('[data-testid="outcome-0-outcome"]', "penalised");
    await d.click('[data-testid="outcome-0-add-part"]');
    await d.choose('[data-testid="outcome-0-part-0-type"]', "fine");
    await d.type('[data-testid="outcome-0-part-0-amount"]', "140");
    await d.type('[data-testid="outcome-0-part-0-currency"]', "EUR");
    await d.click('[data-testid="outcome-0-part-0-approximate"]');
    await shot("approximate-fine", "form-fine");
    await d.click('[data-testid="form-save"]');
    await d.text('[data-testid="timeline"]', { text: "≈ 140 EUR", timeout: 20_000 });

    // Zhylanbaev's custody: began in May 2023 in Astana, moved to a penal colony in February 2024.
    await d.click('[data-testid="open-search"]');
    await d.type('[data-testid="search-input"]', "extremism trial");
    await d.click('[data-testid="search-result"]', { text: "extremism trial" });
    await d.find('[data-testid="case-title"]', { text: "Zhylanbaev" });
    await d.click('[data-testid="case-add-detention"]');
    await d.find(`[data-testid="field-person"] option[value="${ZHYLANBAEV}"]`, { timeout: 20_000 });
    await d.choose('[data-testid="field-person"]', ZHYLANBAEV);
    await d.choose('[data-testid="field-detention_kind"]', "prison");
    await d.type('[data-testid="field-start"]', "2023-11");
    await d.click('[data-testid="transfers-add"]');
    await d.type('[data-testid="transfer-0-date"]', "2024-02");
    await d.type('[data-testid="transfer-0-site"]', "Penal colony No. 3 (e2e)");
    await d.type('[data-testid="transfer-0-city"]', "Pavlodar");
    await shot("custody-transfer", "form-transfer");
    await d.click('[data-testid="form-save"]');
    await d.find('[data-testid="case-title"]', { text: "Zhylanbaev", timeout: 20_000 });
  } catch (e) {
    await d.screenshot().then((png) => writeFileSync(join(shots, "forms-failure.png"), png)).catch(() => {});
    throw e;
  } finally {
    await d.quit();
  }

  // Read back with the CLI: the app stored structure.
  const records = JSON.parse(cli("export", "--out", "-")).records;
  const group = records.find((r) => r.kind === "group" && r.description === GROUP);
  assert.deepEqual(group?.count, { value: 12, qualifier: "at_least" });
  assert.equal(group?.perpetrator_type, "police");
  const fine = records.find((r) => r.kind === "decision" && r.outcomes?.[0]?.sentence?.[0]?.amount === "140");
  assert.equal(fine?.outcomes?.[0]?.defendant, RFE);
  assert.deepEqual(fine?.outcomes?.[0]?.sentence, [{ type: "fine", amount: "140", currency: "EUR", approximate: true }]);
  const custody = records.find((r) => r.kind === "detention" && r.detention_kind === "prison");
  assert.deepEqual(custody?.transfers, [{ date: "2024-02", place: { site: "Penal colony No. 3 (e2e)", city: "Pavlodar" } }]);
  const held = JSON.parse(cli("--json", "detained", "--on", "2024-03-01")).filter((c) => c.person === ZHYLANBAEV);
  assert.equal(held.length, 1, "one row for him, whatever the number of detention records");
  assert.ok(held[0].place.includes("Penal colony No. 3"), held[0].place);
});
