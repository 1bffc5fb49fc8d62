// What every desktop test needs: where the built binaries and screenshots are, a private home
// for the app (data, cache, config, temp, vault), and a way to scan every file the app wrote
// there for plaintext.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const application = process.env.CASEBOOK_DESKTOP_BIN ?? join(root, "target", "release", "casebook-desktop");
export const cliBinary = join(root, "target", "release", "casebook");
export const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

export function isolatedHome(prefix) {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env = {
    ...process.env,
    HOME: home,
    XDG_DATA_HOME: join(home, "data"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_CONFIG_HOME: join(home, "config"),
    TMPDIR: join(home, "tmp"),
    CASEBOOK_VAULT: join(home, "vault"),
  };
  mkdirSync(env.TMPDIR, { recursive: true });
  return { home, env };
}

/** Every file below `dir`, with its bytes. */
export function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push([path, readFileSync(path)]);
  }
  return out;
}
