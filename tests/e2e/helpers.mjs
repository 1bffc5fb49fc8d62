// What every desktop test needs: where the built binaries and screenshots are, a private home
// for the app (data, cache, config, temp, vault), and a way to scan every file the app wrote
// there for plaintext. For the team-sync tests: a throwaway PostgreSQL cluster and a real
// casebook-server on it.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const application = process.env.CASEBOOK_DESKTOP_BIN ?? join(root, "target", "release", "casebook-desktop");
export const cliBinary = join(root, "target", "release", "casebook");
export const serverBinary = join(root, "target", "release", "casebook-server");
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

// ------------------------------------------------------------------ PostgreSQL and the server

/** Debian's PostgreSQL binaries (the newest /usr/lib/postgresql/VERSION/bin), or CASEBOOK_PG_BIN. */
function pgBin(tool) {
  if (process.env.CASEBOOK_PG_BIN) return join(process.env.CASEBOOK_PG_BIN, tool);
  const versions = readdirSync("/usr/lib/postgresql").map(Number).filter(Number.isFinite).sort((a, b) => a - b);
  return join("/usr/lib/postgresql", String(versions.at(-1) ?? 15), "bin", tool);
}

/** PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user. */
const isRoot = process.getuid?.() === 0;
const asOwner = (tool, args) =>
  isRoot ? execFileSync("runuser", ["-u", "postgres", "--", pgBin(tool), ...args], { encoding: "utf8" }) : execFileSync(pgBin(tool), args, { encoding: "utf8" });

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startCluster() {
  const dir = mkdtempSync(join(tmpdir(), "casebook-e2e-pg-"));
  const data = join(dir, "data");
  if (isRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  asOwner("initdb", ["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", data]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  asOwner("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "postgres.log"), "-w", "start"]);
  return {
    url: `host=127.0.0.1 port=${port} user=postgres dbname=postgres`,
    stop() {
      try {
        asOwner("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `casebook-server serve` on a free loopback port; resolves with its address once it listens. */
export function startServer(database, log) {
  const child = spawn(serverBinary, ["serve", "--listen", "127.0.0.1:0", "--database", database], {
    stdio: ["ignore", "pipe", openSync(log, "w")],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`casebook-server exited (${code}) before listening: ${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        child.stdout.removeAllListeners("data");
        child.stdout.resume();
        resolve({ url: m[1], stop: () => child.kill("SIGKILL") });
      }
    });
  });
}

/**
 * Runs `body` against a throwaway PostgreSQL cluster, a real casebook-server on it and a team made
 * there: `body({ server, team, token })`. On failure it saves the app's last frame as
 * `screenshots/<failureShot>` (`window()` gives the test's driver, if one is open) and prints the
 * server's log; it always closes the app and stops both.
 */
export async function withTeamServer(failureShot, window, body) {
  const cluster = await startCluster();
  const serverLog = join(mkdtempSync(join(tmpdir(), "casebook-e2e-server-")), "server.log");
  let server;
  try {
    server = await startServer(cluster.url, serverLog);
    const { team, token } = JSON.parse(execFileSync(serverBinary, ["team", "create", "E2E NGO", "--database", cluster.url], { encoding: "utf8" }));
    await body({ server, team, token });
  } catch (e) {
    await window()?.screenshot().then((png) => writeFileSync(join(shots, failureShot), png)).catch(() => {});
    console.error(`casebook-server log:\n${readFileSync(serverLog, "utf8")}`);
    throw e;
  } finally {
    await window()?.quit();
    server?.stop();
    cluster.stop();
  }
}

// ------------------------------------------------------------------ native dialogs

/**
 * Answers a native GTK save dialog (which WebDriver cannot reach) the way a person does: waits for
 * the window titled `title`, types `path` into its name field and presses Enter. Uses xdotool on
 * the test's X display (Xvfb).
 */
export async function answerSaveDialog(title, path, { timeout = 20_000 } = {}) {
  const end = Date.now() + timeout;
  let window = "";
  while (!window) {
    try {
      window = execFileSync("xdotool", ["search", "--onlyvisible", "--name", title], { encoding: "utf8" }).trim().split("\n")[0];
    } catch {
      /* not shown yet: xdotool exits 1 when nothing matches */
    }
    if (!window) {
      if (Date.now() > end) throw new Error(`no dialog titled "${title}" within ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500)); // GTK focuses the name field once mapped
  execFileSync("xdotool", ["windowfocus", "--sync", window]);
  execFileSync("xdotool", ["key", "--clearmodifiers", "ctrl+a"]);
  execFileSync("xdotool", ["type", "--delay", "15", path]);
  execFileSync("xdotool", ["key", "Return"]);
}
