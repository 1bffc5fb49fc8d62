// Case bundles in the desktop app, with the `casebook` CLI as the partner organisation's vault:
// receive a bundle from a sender not yet in the partner list (accept it by fingerprint), see the
// same man proposed as a duplicate across spellings, merge him, then send the trial back without
// contact details and check, with Debian's age, that no contact string is in what was sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync, rmSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { Driver } from "./webdriver.mjs";
import { root, application, cliBinary, shots, isolatedHome, filesUnder } from "./helpers.mjs";

const FIXTURE = join(root, "crates", "cli", "tests", "fixtures", "every-kind.json");
const PHOTO = join(root, "crates", "cli", "tests", "fixtures", "court-notice.jpg");
const TRIAL = "fa334bc2-10f6-5243-8e18-22d2071448ca";
const HEARING = "3413715a-03e4-5879-8eda-7d31fb0ddd08";
const CONTACT = "+7 700 000 0000";
const PHOTO_CANARY = Buffer.from("CANARY-court-notice-5d1e9f");

test("a bundle from a partner, a duplicate merged, the trial sent back without contacts", { timeout: 180_000 }, async () => {
  const { home, env } = isolatedHome("casebook-e2e-bundles-");
  const partnerEnv = { ...env, CASEBOOK_VAULT: join(home, "partner"), CASEBOOK_PASSPHRASE: "the partner's own passphrase" };
  const partner = (...args) => JSON.parse(execFileSync(cliBinary, ["--json", ...args], { env: partnerEnv, encoding: "utf8" }) || "null");
  partner("init", "--kdf-memory-mib", "8", "--kdf-iterations", "1");
  partner("import", FIXTURE);
  partner("attach", HEARING, PHOTO);
  const partnerCard = partner("identity", "show");

  const d = await Driver.start({ application, env });
  let step = 0;
  const shot = async (name) => {
    const path = join(shots, `bundles-${String(++step).padStart(2, "0")}-${name}.png`);
    writeFileSync(path, await d.screenshot());
    return path;
  };
  try {
    await d.find('[data-testid="create-passphrase"]', { timeout: 30_000 });
    await d.choose("select", "en");
    await d.type('[data-testid="create-passphrase"]', "monitor in a courthouse corridor");
    await d.type('[data-testid="create-confirm"]', "monitor in a courthouse corridor");
    await d.click('[data-testid="create-submit"]');
    await d.click('[data-testid="recovery-done"]', { timeout: 30_000 });
    await d.click('[data-testid="import-example"]', { timeout: 20_000 });
    await d.find('[data-testid="import-done"]', { timeout: 30_000 });

    // The partner puts this vault's public card in its directory and sends the trial.
    await d.click('[data-testid="nav.exchange"]');
    const recipient = await d.text('[data-testid="own-recipient"]');
    const signingKey = await d.text('[data-testid="own-signing-key"]');
    const fingerprint = await d.text('[data-testid="own-fingerprint"]');
    assert.match(fingerprint, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    await shot("own-card");
    const us = partner("partner", "add", "--set", "name=Courthouse monitors", "--set", `age_recipient=${recipient}`,
      "--set", `signing_key=${signingKey}`, "--set", "fingerprint_verified=true");
    const incoming = join(home, "from-partner.casebundle");
    partner("bundle", "export", "--case", TRIAL, "--to", us.id, "--from", "Legal aid partner", "--out", incoming);

    // Receive: verified, previewed, the unknown sender's fingerprint shown and accepted.
    const input = await d.find('[data-testid="bundle-input"]');
    await d.cmd("POST", `/element/${input}/value`, { text: incoming });
    const preview = await d.text('[data-testid="receive-preview"]', { timeout: 30_000 });
    assert.ok(preview.includes(partnerCard.fingerprint), `the sender's fingerprint is shown: ${preview}`);
    await d.find('[data-testid="unknown-sender"]');
    await shot("import-preview");
    await d.click('[data-testid="accept-sender"]');
    await d.click('[data-testid="receive-import"]');
    await d.find('[data-testid="receive-done"]', { timeout: 30_000 });

    // The same man, in the example as "Марат Жыланбаев" and from the partner as "Жыланбаев Марат".
    const proposal = await d.text('[data-testid="duplicate"]', { text: "Жыланбаев" });
    assert.ok(proposal.includes("Марат Жыланбаев") && proposal.includes("Жыланбаев Марат"), proposal);
    await d.run('document.querySelector("[data-testid=receive-done]").scrollIntoView();');
    const screenshot = await shot("duplicate-proposed");
    copyFileSync(screenshot, join(root, "docs", "screenshot-bundle.png"));
    await d.click('[data-testid="duplicate-merge"]');
    await d.click('[data-testid="open-search"]', { timeout: 20_000 });
    await d.type('[data-testid="search-input"]', "Zhylanbaev");
    await d.click('[data-testid="search-result"]', { text: "Жыланбаев" });
    // One person now holds the example's case and the partner's trial.
    await d.find('[data-testid="person-case"]', { text: "Marat Zhylanbaev: extremism trial" });
    await d.find('[data-testid="person-case"]', { text: "Zhylanbaev: extremism trial" });
    const titles = await d.run('return [...document.querySelectorAll("[data-testid=person-case]")].map((e) => e.textContent);');
    assert.ok(titles.some((t) => t.trim().startsWith("Zhylanbaev: extremism trial")), `the partner's trial: ${titles}`);
    await shot("merged-person");

    // A third organisation's card, typed into the partner form after comparing the fingerprint.
    await d.click('[data-testid="nav.exchange"]');
    const thirdEnv = { ...partnerEnv, CASEBOOK_VAULT: join(home, "third") };
    execFileSync(cliBinary, ["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"], { env: thirdEnv });
    const third = JSON.parse(execFileSync(cliBinary, ["--json", "identity", "show"], { env: thirdEnv, encoding: "utf8" }));
    await d.type('[data-testid="partner-name"]', "Regional monitors");
    await d.type('[data-testid="partner-recipient"]', third.recipient);
    await d.type('[data-testid="partner-key"]', third.signing_key);
    await d.click('[data-testid="partner-verified"]');
    await d.click('[data-testid="partner-add"]');
    const added = await d.text('[data-testid="partner"]', { text: "Regional monitors" });
    assert.ok(added.includes("fingerprint verified"), added);

    // Send the trial back without contact details, to the partner accepted on import.
    await d.click(`[data-testid="send-case"][data-id="${TRIAL}"]`);
    const chosen = await d.run(
      'const box = [...document.querySelectorAll("[data-testid=send-partner]")].find((b) => b.parentElement.textContent.includes("Legal aid partner")); box.click(); return box.checked;',
    );
    assert.equal(chosen, true, "the accepted partner is chosen as recipient");
    await d.click('[data-testid="send-preview"]');
    const removed = await d.text('[data-testid="removed-contacts"]');
    assert.match(removed, /\b1\b/, `one contact is removed: ${removed}`);
    await shot("send-preview");
    await d.click('[data-testid="send-write"]');
    const written = await d.text('[data-testid="send-written"]', { timeout: 30_000 });
    const path = written.match(/(\/\S+\.casebundle)/)?.[1];
    assert.ok(path, written);

    // The partner opens it with Debian's age: no contact string anywhere; Casebook imports it.
    const identity = join(home, "partner-identity.txt");
    partner("identity", "export-age", "--out", identity);
    const plaintext = execFileSync("age", ["-d", "-i", identity, path]);
    assert.ok(plaintext.includes(Buffer.from("manifest.json")), "the stock tool decrypts the bundle");
    assert.ok(!plaintext.includes(Buffer.from(CONTACT)), "no contact string in what was sent");
    const result = partner("bundle", "import", path);
    assert.equal(result.sender.known, true);
    assert.ok(plaintext.includes(PHOTO_CANARY), "the photo travelled inside the bundle");
    // The photo went in and out of both vaults: no file anyone wrote holds it in plaintext.
    for (const [file, bytes] of filesUnder(home)) {
      assert.ok(!bytes.includes(PHOTO_CANARY), `${file} holds the photo's bytes in plaintext`);
    }
  } catch (e) {
    await shot("failure").catch(() => {});
    throw e;
  } finally {
    await d.quit();
    rmSync(home, { recursive: true, force: true });
  }
});
