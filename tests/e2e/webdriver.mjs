// A small W3C WebDriver client over fetch: enough to drive the real Casebook window through
// tauri-driver (which forwards to Debian's WebKitWebDriver). No browser download, no npm package.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class Driver {
  constructor(base, session) {
    this.base = base;
    this.session = session;
  }

  /** `CASEBOOK_WEBDRIVER_PORT` moves tauri-driver (and WebKitWebDriver, on the next port) off
   *  4444/4445, so two runs on one machine do not meet. */
  static async start({ application, env, port = Number(process.env.CASEBOOK_WEBDRIVER_PORT ?? 4444) }) {
    const args = ["--port", String(port), "--native-port", String(port + 1)];
    const driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", args, {
      env,
      detached: true, // its own process group: killed as a whole, so no WebKitWebDriver outlives the test
      stdio: ["ignore", "inherit", "inherit"],
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`${base}/status`);
        if (r.ok) break;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    const res = await fetch(`${base}/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capabilities: { alwaysMatch: { "tauri:options": { application } } } }),
    });
    const body = await res.json();
    if (!body.value?.sessionId) throw new Error(`no WebDriver session: ${JSON.stringify(body)}`);
    const d = new Driver(base, body.value.sessionId);
    d.process = driver;
    return d;
  }

  async cmd(method, path, payload) {
    const res = await fetch(`${this.base}/session/${this.session}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(body.value)}`);
    return body.value;
  }

  async find(css, { timeout = 10_000, text } = {}) {
    const end = Date.now() + timeout;
    let last = "";
    while (Date.now() < end) {
      try {
        const found = await this.cmd("POST", "/elements", { using: "css selector", value: css });
        for (const el of found) {
          const id = el[ELEMENT];
          if (text === undefined) return id;
          const t = await this.cmd("GET", `/element/${id}/text`);
          last = t;
          if (t.includes(text)) return id;
        }
      } catch {
        /* page changing under us: retry */
      }
      await sleep(100);
    }
    throw new Error(`no element ${css}${text === undefined ? "" : ` with text "${text}" (last seen "${last}")`} within ${timeout} ms`);
  }

  async click(css, options) {
    const id = await this.find(css, options);
    await this.cmd("POST", `/element/${id}/click`, {});
  }

  async type(css, text) {
    const id = await this.find(css);
    await this.cmd("POST", `/element/${id}/clear`, {});
    await this.cmd("POST", `/element/${id}/value`, { text });
    // Keys can still be in flight when the command returns: wait until the field holds them all.
    for (let i = 0; i < 100; i++) {
      if ((await this.run("return document.querySelector(arguments[0]).value;", css)) === text) return;
      await sleep(100);
    }
    throw new Error(`${css} did not receive the typed text`);
  }

  async text(css, options) {
    const id = await this.find(css, options);
    return this.cmd("GET", `/element/${id}/text`);
  }

  async run(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Set a <select>'s value the way a user's choice does: value, then a change event. */
  async choose(css, value) {
    await this.find(css);
    await this.run(
      `const s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event("change", { bubbles: true }));`,
      css,
      value,
    );
  }

  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  async quit() {
    try {
      await this.cmd("DELETE", "");
    } catch {
      /* already gone */
    }
    try {
      process.kill(-this.process.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
