// Team membership in the desktop app against a real casebook-server on a throwaway PostgreSQL
// cluster. Device B creates the team with the real CLI and invites; device C (CLI) uses up one
// invitation. In the app, device A: a file that is no invitation and the used invitation are
// refused with a clear message and change nothing; a fresh invitation from B joins A to the team,
// and the app shows the fingerprint the CLI printed; a group entered in the app reaches B after
// "Sync now"; the device list shows A, B and C; C is removed after a plain confirmation and shows
// as removed on B too; "Invite a device…" writes an invitation where the save dialog was answered
// (xdotool), and a fourth device joins with it. Screenshots: docs/screenshot-team-error.png,
// -team-joined.png, -team-devices.png, -team-invited.png.
// A second test: the first device creates the team in the app (a mistyped token is refused first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Driver } from "./webdriver.mjs";
import { root, application, cliBinary, shots, isolatedHome, withTeamServer, answerSaveDialog } from "./helpers.mjs";

const PASSPHRASE = "one team, three laptops";
const GROUP = "Monitors stopped at the checkpoint (entered in the app, e2e)";
const FROM_B = "Registered on device B (e2e)";

test("team in the app: refused invitations change nothing, join, fingerprint, sync, devices, remove", { timeout: 300_000 }, async () => {
  let d;
  const shot = async (name, doc) => {
    await sleep(300); // WebKit can paint a frame after the DOM changed
    const path = join(shots, `team-${name}.png`);
    writeFileSync(path, await d.screenshot());
    if (doc) copyFileSync(path, join(root, "docs", `screenshot-team-${name}.png`));
  };
  await withTeamServer("team-failure.png", () => d, async ({ server, team, token }) => {

    const a = isolatedHome("casebook-e2e-team-a-");
    const b = isolatedHome("casebook-e2e-team-b-");
    const c = isolatedHome("casebook-e2e-team-c-");
    const cli = (home, ...args) => execFileSync(cliBinary, args, { env: { ...home.env, CASEBOOK_PASSPHRASE: PASSPHRASE }, encoding: "utf8" });
    const json = (home, ...args) => JSON.parse(cli(home, "--json", ...args));
    for (const home of [a, b, c]) cli(home, "init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");

    // B creates the team with the CLI and holds a record; C joins with B's first invitation, using it up.
    const created = json(b, "team", "create", "--server", server.url, "--team", team, "--token", token);
    json(b, "person", "add", "--set", `names=[{"value":"${FROM_B}"}]`);
    json(b, "sync");
    const used = join(b.home, "used-invitation.json");
    json(b, "team", "invite", "--out", used);
    const deviceC = json(c, "team", "join", used).device;
    const deviceB = created.device;

    // A, in the app: not in a team; the indicator leads to Settings → Team.
    d = await Driver.start({ application, env: a.env });
    await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
    await d.click('[data-testid="unlock-submit"]');
    await d.click('[data-testid="sync-status"][data-state="none"] [data-testid="sync-not-in-team"]', { timeout: 30_000 });
    await d.find('[data-testid="team"][data-in-team="no"]');
    const choose = async (path) => {
      const input = await d.find('[data-testid="team-join-input"]:not([disabled])', { timeout: 20_000 });
      await d.cmd("POST", `/element/${input}/value`, { text: path });
    };

    // A file that is no invitation: a clear message, nothing changed.
    const notAnInvitation = join(a.home, "notes.json");
    writeFileSync(notAnInvitation, JSON.stringify({ title: "Hearing notes", text: "not an invitation" }));
    await choose(notAnInvitation);
    await d.find('[data-testid="team-error"]', { text: "cannot be used", timeout: 20_000 });
    await d.find('[data-testid="team"][data-in-team="no"]');

    // The invitation C already used: the server refuses it; still nothing changed, here or on the server.
    await choose(used);
    await d.find('[data-testid="team-error"]', { text: "already used", timeout: 20_000 });
    await d.find('[data-testid="team"][data-in-team="no"]');
    await d.find('[data-testid="sync-status"][data-state="none"]');
    await shot("error", true);
    const before = json(b, "team", "devices").map((x) => x.device).sort();
    assert.deepEqual(before, [deviceB, deviceC].sort(), "the refused joins registered no device");

    // A fresh invitation from B: A joins and shows exactly the fingerprint the CLI printed.
    const fresh = join(b.home, "invitation.json");
    const invited = json(b, "team", "invite", "--out", fresh);
    assert.equal(invited.team_fingerprint, created.team_fingerprint);
    await choose(fresh);
    await d.find('[data-testid="team-done"][data-kind="joined"]', { timeout: 30_000 });
    const shown = await d.run(`return document.querySelector('[data-testid="team-done-fingerprint"]').dataset.value;`);
    assert.equal(shown, invited.team_fingerprint, "the app shows the fingerprint the inviting CLI printed");
    const groupsText = await d.text('[data-testid="team-done-fingerprint"]');
    for (const group of invited.team_fingerprint.split("-")) assert.ok(groupsText.includes(group), `group ${group} is on screen: ${groupsText}`);
    await d.find('[data-testid="team-done"]', { text: "Compare these four groups" });
    // The header's indicator now knows the team (its store was refreshed), and so does the section.
    await d.find('[data-testid="sync-status"][data-state="ok"]', { timeout: 10_000 });
    await d.find(`[data-testid="team-fingerprint"][data-value="${invited.team_fingerprint}"]`);
    const deviceA = (await d.text('[data-testid="team-this-device"]')).trim();
    await d.find(`[data-testid="team-device"][data-device="${deviceA}"]`, { timeout: 20_000 });
    await shot("joined", true);

    // A group entered in the app reaches B after "Sync now"; B's record arrives in the app.
    await d.click('[data-testid="nav.groups"]');
    await d.click('[data-testid="add-record"]');
    await d.type('[data-testid="field-description"]', GROUP);
    await d.click('[data-testid="form-save"]');
    await d.find('[data-testid="record-edit"]', { timeout: 20_000 });
    await d.click('[data-testid="sync-now"]');
    await d.find('[data-testid="sync-status"][data-state="ok"][data-pending="0"]', { timeout: 30_000 });
    json(b, "sync");
    const groupsOnB = JSON.stringify(json(b, "group", "list", "--all"));
    assert.ok(groupsOnB.includes(GROUP), `B received the group entered in the app: ${groupsOnB.slice(0, 300)}`);
    await d.click('[data-testid="nav.people"]');
    await d.find(".page", { text: FROM_B, timeout: 20_000 });

    // The device list: A (this device), B and C; remove C after a confirmation that says what it keeps.
    await d.click('[data-testid="nav.settings"]');
    for (const device of [deviceA, deviceB, deviceC]) await d.find(`[data-testid="team-device"][data-device="${device}"][data-revoked="no"]`, { timeout: 20_000 });
    await d.find(`[data-testid="team-device"][data-device="${deviceA}"]`, { text: "this device" });
    assert.equal(await d.run(`return document.querySelectorAll('[data-testid="team-device"][data-device="${deviceA}"] [data-testid="team-remove"]').length;`), 0, "this device offers no removal");
    await d.click(`[data-testid="team-device"][data-device="${deviceC}"] [data-testid="team-remove"]`);
    await d.find('[data-testid="team-remove-confirm"]', { text: "keeps everything it has already received" });
    await d.run(`document.querySelector('[data-testid="team-remove-confirm"]').scrollIntoView({ block: "center" });`);
    await shot("remove-confirm");
    await d.click(`[data-testid="team-device-confirm"][data-device="${deviceC}"] [data-testid="team-remove-yes"]`);
    await d.find(`[data-testid="team-device"][data-device="${deviceC}"][data-revoked="yes"] [data-testid="team-revoked"]`, { timeout: 30_000 });
    await d.run(`document.querySelector('[data-testid="team-devices"]').scrollIntoView({ block: "center" });`);
    await shot("devices", true);
    const onB = json(b, "team", "devices");
    assert.ok(onB.find((x) => x.device === deviceC)?.revoked_at, "B's CLI sees C removed");
    assert.equal(onB.filter((x) => !x.revoked_at).length, 2);

    // "Invite a device…": the save dialog, the file where it was asked for (readable by this user
    // only), its fingerprint and what it is; a fourth device joins with it through the CLI.
    const d4 = isolatedHome("casebook-e2e-team-d-");
    cli(d4, "init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");
    const stick = join(a.home, "usb-stick");
    mkdirSync(stick);
    const written = join(stick, "for-the-new-laptop.json");
    await d.click('[data-testid="team-invite"]');
    await answerSaveDialog("Save the invitation", written);
    await d.find('[data-testid="team-done"][data-kind="invited"]', { text: written, timeout: 30_000 });
    await d.find('[data-testid="team-done"]', { text: "works once, within 7 days" });
    assert.equal(statSync(written).mode & 0o777, 0o600, "the invitation is readable by its owner only");
    const appFingerprint = await d.run(`return document.querySelector('[data-testid="team-done-fingerprint"]').dataset.value;`);
    assert.equal(appFingerprint, created.team_fingerprint);
    await shot("invited", true);
    const joinedD = json(d4, "team", "join", written);
    assert.equal(joinedD.team_fingerprint, appFingerprint, "the new device shows the fingerprint the app showed");

    // The section in Kazakh (its letters in the bundled font), for a look; then every key was translated.
    await d.choose('[data-testid="settings-language"]', "kk");
    await d.find('[data-testid="team"]', { text: "Команда саусақ ізі" });
    await d.run(`document.querySelector('[data-testid="team"]').scrollIntoView({ block: "start" });`);
    await shot("kk");
    const missing = await d.run("return window.__casebookMissingKeys;");
    assert.deepEqual(missing, [], "every string has a translation");

    // With the app closed, A's own CLI agrees: in the team, nothing waiting, B's record here.
    await d.quit();
    d = undefined;
    const status = json(a, "sync", "status");
    assert.equal(status.team.team, team);
    assert.equal(status.team_fingerprint, created.team_fingerprint);
    assert.equal(status.pending_changes + status.unsent_batches, 0);
  });
});

test("team in the app: the first device creates the team with the server's one-time token", { timeout: 180_000 }, async () => {
  let d;
  await withTeamServer("team-create-failure.png", () => d, async ({ server, team, token }) => {
    const e = isolatedHome("casebook-e2e-team-e-");
    const cli = (...args) => execFileSync(cliBinary, args, { env: { ...e.env, CASEBOOK_PASSPHRASE: PASSPHRASE }, encoding: "utf8" });
    cli("init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");

    d = await Driver.start({ application, env: e.env });
    await d.type('[data-testid="unlock-passphrase"]', PASSPHRASE);
    await d.click('[data-testid="unlock-submit"]');
    await d.click('[data-testid="sync-not-in-team"]', { timeout: 30_000 });
    await d.click('[data-testid="team-create-open"]');
    await d.type('[data-testid="team-server"]', server.url);
    await d.type('[data-testid="team-id"]', team);

    // A mistyped token: the server refuses it, the message says what to do, nothing changed.
    await d.type('[data-testid="team-token"]', `${token}x`);
    await d.click('[data-testid="team-create-submit"]');
    await d.find('[data-testid="team-error"]', { text: "refused the token", timeout: 20_000 });
    await d.find('[data-testid="team"][data-in-team="no"]');
    await d.find('[data-testid="sync-status"][data-state="none"]');

    // The right one: this vault is the team's first device, with its fingerprint and the indicator on.
    await d.type('[data-testid="team-token"]', token);
    await d.click('[data-testid="team-create-submit"]');
    await d.find('[data-testid="team-done"][data-kind="created"]', { timeout: 30_000 });
    const shown = await d.run(`return document.querySelector('[data-testid="team-done-fingerprint"]').dataset.value;`);
    assert.match(shown, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    await d.find('[data-testid="sync-status"][data-state="ok"]', { timeout: 10_000 });
    await d.find('[data-testid="team-device"]', { text: "this device", timeout: 20_000 });
    const missing = await d.run("return window.__casebookMissingKeys;");
    assert.deepEqual(missing, [], "every string has a translation");
    await d.quit();
    d = undefined;

    const status = JSON.parse(cli("--json", "sync", "status"));
    assert.equal(status.team.team, team);
    assert.equal(status.team_fingerprint, shown, "the vault holds the team whose fingerprint the app showed");
  });
});
