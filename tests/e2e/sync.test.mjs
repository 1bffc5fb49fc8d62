// Team sync in the desktop app against a real casebook-server on a throwaway PostgreSQL cluster
// (started as crates/cli/tests/common/pg.rs does). Device A is the vault the app opens; device B
// is a second vault driven through the real CLI. B's new record arrives in the app with "Sync
// now"; a field both devices changed shows up as a conflict in the app, is settled there, and the
// whole team ends on the chosen version. With the server gone, the indicator says offline and the
// app keeps working. Screenshots go to docs/screenshot-sync-status.png and -sync-conflict.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Driver } from "./webdriver.mjs";
import { root, application, cliBinary, shots, isolatedHome, withTeamServer } from "./helpers.mjs";

const PASSPHRASE = "two devices, one archive";

// ------------------------------------------------------------------ the test

test("sync in the app: a record from another device, a conflict settled in the app, offline", { timeout: 300_000 }, async () => {
  let d;
  await withTeamServer("sync-failure.png", () => d, async ({ server, team, token }) => {

    const a = isolatedHome("casebook-e2e-sync-a-");
    const b = isolatedHome("casebook-e2e-sync-b-");
    const cli = (home, ...args) => execFileSync(cliBinary, args, { env: { ...home.env, CASEBOOK_PASSPHRASE: PASSPHRASE }, encoding: "utf8" });
    const json = (home, ...args) => JSON.parse(cli(home, "--json", ...args));
    for (const home of [a, b]) cli(home, "init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");

    // A holds a person before the team exists, creates the team, sends it, and invites B.
    const person = json(a, "person", "add", "--set", 'names=[{"value":"Aigerim Sadykova (e2e)"}]', "--set", "notes=Detained on 3 May").id;
    json(a, "team", "create", "--server", server.url, "--team", team, "--token", token);
    json(a, "sync");
    const invitation = join(a.home, "invitation.json");
    json(a, "team", "invite", "--out", invitation);
    json(b, "team", "join", invitation);
    json(b, "sync");
    assert.equal(json(b, "show", person).notes, "Detained on 3 May", "B received A's archive");
    const deviceB = json(b, "sync", "status").device;

    // A edits the notes while not connected: a change waiting to be sent when the app opens.
    cli(a, "person", "edit", person, "--set", "notes=Released on 5 May (device A)");

    d = await Driver.start({ application, env: a.env });
    await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
    await d.click('[data-testid="unlock-submit"]');
    await d.find('[data-testid="sync-status"][data-state="ok"]', { timeout: 30_000 });
    const pending = await d.run(`return document.querySelector('[data-testid="sync-status"]').dataset.pending;`);
    assert.ok(Number(pending) > 0, `the indicator counts A's unsent edit (${pending})`);
    await d.find('[data-testid="sync-pending"]');

    // B adds a record and syncs; "Sync now" in the app brings it, and sends A's edit.
    json(b, "person", "add", "--set", 'names=[{"value":"Added on device B (e2e)"}]');
    json(b, "sync");
    await d.click('[data-testid="sync-now"]');
    await d.find('[data-testid="sync-status"][data-state="ok"][data-pending="0"]', { timeout: 30_000 });
    await d.click('[data-testid="nav.people"]');
    await d.find(".page", { text: "Added on device B (e2e)", timeout: 20_000 });

    // B changes the same notes without having seen A's edit, and syncs: a conflict on both devices.
    cli(b, "person", "edit", person, "--set", "notes=Still held in SIZO-1 (device B)");
    json(b, "sync");
    await d.click('[data-testid="sync-now"]');
    await d.find('[data-testid="sync-status"][data-state="ok"][data-conflicts="1"]', { timeout: 30_000 });
    await d.click('[data-testid="nav.dashboard"]');
    await d.find('[data-testid="sync-conflicts-count"]');
    await sleep(300); // WebKit can paint a frame after the DOM changed
    writeFileSync(join(shots, "sync-status.png"), await d.screenshot());
    copyFileSync(join(shots, "sync-status.png"), join(root, "docs", "screenshot-sync-status.png"));

    // The conflict in the app: the record, the field, both versions with their devices.
    await d.click('[data-testid="sync-conflicts-count"]');
    const conflict = `[data-testid="sync-conflict"][data-record="${person}"][data-field="notes"]`;
    await d.find(conflict, { text: "Aigerim Sadykova (e2e)", timeout: 20_000 });
    await d.find(`${conflict} [data-testid="sync-version"]`, { text: "Released on 5 May (device A)" });
    await d.find(`${conflict} [data-testid="sync-version"][data-device="${deviceB}"]`, { text: "Still held in SIZO-1 (device B)" });
    await d.find(`${conflict} [data-testid="sync-version"]`, { text: "this device" });
    await sleep(300);
    writeFileSync(join(shots, "sync-conflict.png"), await d.screenshot());
    copyFileSync(join(shots, "sync-conflict.png"), join(root, "docs", "screenshot-sync-conflict.png"));

    // Keep B's version: the conflict goes away, and the decision reaches the team at the next sync.
    await d.click(`${conflict} [data-testid="sync-version"][data-device="${deviceB}"] [data-testid="sync-keep"]`);
    for (let i = 0; ; i++) {
      const left = await d.run(`return document.querySelectorAll('[data-testid="sync-conflict"]').length;`);
      if (left === 0) break;
      assert.ok(i < 100, "the settled conflict disappears");
      await sleep(100);
    }
    await d.find('[data-testid="sync-status"][data-conflicts="0"]', { timeout: 10_000 });
    await d.click('[data-testid="sync-now"]');
    await d.find('[data-testid="sync-status"][data-state="ok"][data-pending="0"]', { timeout: 30_000 });
    json(b, "sync");
    assert.deepEqual(json(b, "sync", "conflicts"), [], "B's copy of the conflict is settled by A's choice");
    assert.equal(json(b, "show", person).notes, "Still held in SIZO-1 (device B)");

    // The server goes away: "Sync now" only changes the indicator; the app keeps working.
    server.stop();
    await d.click('[data-testid="sync-now"]');
    await d.find('[data-testid="sync-status"][data-state="offline"]', { timeout: 30_000 });
    await d.click('[data-testid="sync-offline"]');
    await d.find('[data-testid="sync-problem"]', { text: "cannot be reached" });
    await d.click('[data-testid="nav.people"]');
    await d.find(".page", { text: "Aigerim Sadykova (e2e)", timeout: 20_000 });
    const missing = await d.run("return window.__casebookMissingKeys;");
    assert.deepEqual(missing, [], "every string has a translation");

    // With the app closed, A's own CLI reads the kept version from the vault.
    await d.quit();
    d = undefined;
    assert.equal(json(a, "show", person).notes, "Still held in SIZO-1 (device B)");
    assert.deepEqual(json(a, "sync", "conflicts"), []);
  });
});
