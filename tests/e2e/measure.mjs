// Desktop figures for docs/performance.md: launch → unlock screen, unlock time, memory (PSS) of all
// the app's processes with the example vault open, release binary size. Run: scripts/measure-desktop
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Driver } from "./webdriver.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const app = join(root, "target", "release", "casebook-desktop");
const cli = join(root, "target", "release", "casebook");
const PASS = "measure the desktop app";
const runs = Number(process.env.RUNS ?? 3);

function pss(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
function tree(rootPid) {
  const parent = new Map();
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  const out = [rootPid];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out;
}

const home = mkdtempSync(join(tmpdir(), "casebook-measure-"));
const env = { ...process.env, HOME: home, XDG_DATA_HOME: join(home, "d"), XDG_CACHE_HOME: join(home, "c"), CASEBOOK_VAULT: join(home, "vault"), CASEBOOK_PASSPHRASE: PASS };
// The example vault, with the default (production) key-derivation cost.
execFileSync(cli, ["init"], { env, stdio: "ignore" });
execFileSync(cli, ["import", join(root, "examples", "kazakhstan-2023h2.json")], { env, stdio: "ignore" });
delete env.CASEBOOK_PASSPHRASE;

const results = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const d = await Driver.start({ application: app, env });
  try {
    await d.find('[data-testid="unlock-passphrase"]', { timeout: 30_000 });
    const launch = performance.now() - t0;
    await d.type('[data-testid="unlock-passphrase"]', PASS);
    const t1 = performance.now();
    await d.click('[data-testid="unlock-submit"]');
    await d.find('[data-testid="nav.cases"]', { timeout: 30_000 });
    const unlock = performance.now() - t1;
    await d.find('[data-testid="open-search"]');
    await new Promise((r) => setTimeout(r, 1500)); // let the dashboard settle
    const pid = Number(execFileSync("pgrep", ["-n", "-f", app]).toString().trim());
    const memory = tree(pid).reduce((sum, p) => sum + pss(p), 0);
    results.push({ launch, unlock, memory });
  } finally {
    await d.quit();
  }
}
rmSync(home, { recursive: true, force: true });
const med = (k) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
console.log(`runs: ${runs}`);
console.log(`launch → unlock screen (median): ${(med("launch") / 1000).toFixed(2)} s   [${results.map((r) => (r.launch / 1000).toFixed(2)).join(", ")}]`);
console.log(`unlock → overview shown (median): ${(med("unlock") / 1000).toFixed(2)} s   [${results.map((r) => (r.unlock / 1000).toFixed(2)).join(", ")}]`);
console.log(`memory, all app processes (PSS, median): ${(med("memory") / 1024).toFixed(0)} MiB`);
console.log(`release binary: ${(statSync(app).size / 1048576).toFixed(1)} MiB (stripped)`);
