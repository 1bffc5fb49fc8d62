// The Reports screen on the Adil Soz July 2024 example: a vault prepared with the CLI, unlocked in
// the app, the July 2024 report with the year before, its figures in the table and its chart drawn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync, rmSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { Driver } from "./webdriver.mjs";
import { root, application, cliBinary, shots, isolatedHome } from "./helpers.mjs";

const PASSPHRASE = "monthly figures for the board";

test("the July 2024 report, its figures and its chart", { timeout: 180_000 }, async () => {
  const { home, env } = isolatedHome("casebook-e2e-reports-");
  const cli = (...args) => execFileSync(cliBinary, args, { env: { ...env, CASEBOOK_PASSPHRASE: PASSPHRASE }, encoding: "utf8" });
  cli("init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");
  cli("import", join(root, "examples", "adilsoz-2024-07.json"));

  const d = await Driver.start({ application, env });
  try {
    await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
    await d.click('[data-testid="unlock-submit"]');
    await d.click('[data-testid="nav.reports"]', { timeout: 30_000 });
    await d.choose('[data-testid="report-span"]', "month");
    // WebKit's month input takes the value set directly, then an input event for Svelte.
    await d.run(
      'const i = document.querySelector("[data-testid=report-month]"); i.value = "2024-07"; i.dispatchEvent(new Event("input", { bubbles: true }));',
    );
    await d.click('[data-testid="report-run"]');
    await d.find('[data-testid="report-table"]', { timeout: 20_000 });
    const cell = async (code) => d.text(`tr[data-code="${code}"] [data-testid="report-count"]`);
    assert.equal(await cell("journalists_rights"), "11");
    assert.equal(await cell("refusal_of_information"), "19");
    assert.equal(await cell("legal_pressure"), "14");
    assert.equal(await cell("civil_claim"), "10");
    const totals = await d.text('[data-testid="report-totals"]');
    assert.ok(totals.includes("1 undated"), `the incident dated only "2024" is set apart: ${totals}`);
    // The chart has drawn: its canvas holds non-blank pixels.
    let drawn = false;
    for (let i = 0; i < 50 && !drawn; i++) {
      drawn = await d.run(
        'const c = document.querySelector("[data-testid=report-chart]"); const x = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; for (let k = 3; k < x.length; k += 4) if (x[k] > 0) return true; return false;',
      );
      if (!drawn) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(drawn, "the chart is drawn");
    const path = join(shots, "report-july-2024.png");
    writeFileSync(path, await d.screenshot());
    copyFileSync(path, join(root, "docs", "screenshot-report.png"));
  } catch (e) {
    await d.screenshot().then((png) => writeFileSync(join(shots, "report-failure.png"), png)).catch(() => {});
    throw e;
  } finally {
    await d.quit();
    rmSync(home, { recursive: true, force: true });
  }
});
