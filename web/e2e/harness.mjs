// The e2e harness: starts the REAL server on a free port with a fresh SQLite database in a temp
// directory, serving web/dist, and optionally the repository's real SMTP server for tests
// (scripts/smtp-sink.py) for it to mail through; launches Debian's Chromium through
// playwright-core (no browser is ever downloaded); runs axe-core in pages; saves screenshots.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoDir = resolve(webDir, "..");
export const artifactsDir = join(webDir, "e2e/artifacts");
export const docsDir = join(webDir, "docs");

export const ADMIN = { email: "admin@example.com", password: "Admin-e2e-Passphrase-9731!", fullName: "Grace Hopper" };

function serverBinary() {
  if (process.env.SERVER_BIN) return resolve(process.env.SERVER_BIN);
  const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repoDir, process.env.CARGO_TARGET_DIR) : join(repoDir, "target");
  return join(targetDir, "debug/server");
}

const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*m/g, "");

/** A port that was free a moment ago. The caller binds it soon, and retries if another process
 * took it meanwhile. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Tries `start` a few times: a port picked by `freePort()` may be taken before it is bound. */
async function withRetries(what, start, attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts) throw error;
      console.log(`# ${what}: attempt ${attempt} failed (${String(error.message).split("\n")[0]}); retrying`);
    }
  }
}

/**
 * Starts the server and resolves once it prints `listening on http://ADDR` and /api/health/
 * answers. With `mail` (from `startMailSink()`), the server sends its mail through that SMTP
 * server and listens on a port chosen beforehand, so that PUBLIC_URL, the start of every link it
 * mails, is the very address the browser uses.
 */
export async function startServer({ mail = null } = {}) {
  if (!mail) return launchServer({ BIND: "127.0.0.1:0" });
  return withRetries("server", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = await launchServer({
      BIND: `127.0.0.1:${port}`,
      PUBLIC_URL: url,
      EMAIL_BACKEND: "smtp",
      SMTP_URL: mail.smtpUrl,
      // Keep a test's wait for a message short: mail queued by this instance leaves at once,
      // and retries of a failed delivery come quickly.
      MAIL_RETRY_DELAY: "1",
    });
    if (server.url !== url) {
      await server.stop();
      throw new Error(`e2e: the server listens on ${server.url}, not on PUBLIC_URL ${url}`);
    }
    return server;
  });
}

async function launchServer(extraEnv) {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`e2e: no server binary at ${bin}. Build it (cargo build -p server) or set SERVER_BIN.`);
  const dist = join(webDir, "dist");
  if (!existsSync(join(dist, "index.html"))) throw new Error("e2e: web/dist/index.html is missing. Run `npm run build` first.");

  mkdirSync(artifactsDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "users-e2e-"));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dataDir, "db.sqlite")}?mode=rwc`,
    SECRET_KEY: randomBytes(48).toString("hex"),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ADMIN_FULL_NAME: ADMIN.fullName,
    WEB_DIST: dist,
    ALLOWED_HOSTS: "127.0.0.1,localhost",
    // The flows below sign up and log in far faster than a person: keep the limiter out of the way.
    RATE_LIMIT_BURST: "100000",
    RATE_LIMIT_PER_SECOND: "100000",
    RUST_LOG: process.env.RUST_LOG ?? "info",
    NO_COLOR: "1",
    ...extraEnv,
  };
  const child = spawn(bin, [], { cwd: dataDir, env, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(join(artifactsDir, "server.log"));
  let output = "";

  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`e2e: the server did not report "listening on" within 60 s.\n${output.slice(-4000)}`)), 60_000);
    const onData = (chunk) => {
      const text = chunk.toString();
      log.write(text);
      output += stripAnsi(text);
      const match = output.match(/listening on (https?:\/\/[^\s"',}]+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1].replace(/\/+$/, "").replace("0.0.0.0", "127.0.0.1"));
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`e2e: the server exited (${code ?? signal}) before listening.\n${output.slice(-4000)}`));
    });
  }).catch((error) => {
    child.kill("SIGKILL");
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/api/health/`);
      if (response.ok) break;
    } catch {
      // Not yet accepting connections.
    }
    if (Date.now() > deadline) throw new Error("e2e: /api/health/ never answered 200.");
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    /** Everything the server has written to stdout and stderr so far. */
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timeout = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timeout);
      }
      log.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`e2e: no Chromium at ${executablePath} (apt-get install -y chromium).`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** A page that records CSP violations and uncaught errors, so a test can assert there were none. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return { context, page, problems };
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
export const axeReport = [];

/** Runs axe-core on the page as it is now; returns the serious and critical violations. */
export async function checkAccessibility(page, name) {
  // Evaluated through the DevTools protocol rather than a <script> tag: the server's CSP
  // (rightly) refuses inline scripts.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node) => node.target.join(" ")).slice(0, 5),
    }));
  });
  axeReport.push({ page: name, url: page.url(), violations });
  return violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical");
}

export async function screenshot(page, name, { docs = false } = {}) {
  mkdirSync(artifactsDir, { recursive: true });
  // Park the pointer so no hover state leaks into the picture.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
  // The README's pictures change only when asked, so a test run leaves the work tree clean.
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS) {
    mkdirSync(docsDir, { recursive: true });
    await page.screenshot({ path: join(docsDir, `${name}.png`), fullPage: true });
  }
}

/** Signs a user up through the API (fast seeding). */
export async function apiSignUp(baseUrl, user) {
  const response = await fetch(`${baseUrl}/api/auth/signup/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: user.email, password: user.password, full_name: user.fullName }),
  });
  if (response.status !== 201) throw new Error(`seed signup ${user.email}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

/** Asks for a password reset link by mail through the API, as the forgot-password page does. */
export async function apiRequestReset(baseUrl, email) {
  const response = await fetch(`${baseUrl}/api/auth/password-reset/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email }),
  });
  if (response.status !== 202) throw new Error(`reset request for ${email}: HTTP ${response.status} ${await response.text()}`);
}

/**
 * Starts the repository's SMTP server for tests, `scripts/smtp-sink.py`, on a free port with a
 * fresh directory. Each accepted message lands there as `<pid>-<n>.eml` with a decoded
 * `<pid>-<n>.json` (`{to, from, subject, text, html}`), each renamed into place once whole.
 */
export async function startMailSink() {
  return withRetries("smtp-sink", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "users-e2e-mail-"));
    const child = spawn("python3", [join(repoDir, "scripts/smtp-sink.py"), "--port", String(port), "--dir", dir], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    try {
      await new Promise((resolveReady, reject) => {
        const timer = setTimeout(() => reject(new Error(`e2e: smtp-sink did not print "ready" within 20 s.\n${output}`)), 20_000);
        child.stdout.on("data", (chunk) => {
          output += chunk.toString();
          if (/^ready$/m.test(output)) {
            clearTimeout(timer);
            resolveReady();
          }
        });
        child.stderr.on("data", (chunk) => {
          output += chunk.toString();
        });
        child.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on("exit", (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`e2e: smtp-sink exited (${code ?? signal}) before it was ready.\n${output}`));
        });
      });
    } catch (error) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }

    const taken = new Set();
    return {
      dir,
      smtpUrl: `smtp://127.0.0.1:${port}`,
      /** Resolves with the next message to `to` not handed out before; polls the directory. */
      async nextMessageTo(to, { timeoutMs = 15_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const names = readdirSync(dir)
            .filter((name) => name.endsWith(".json") && !name.startsWith(".") && !taken.has(name))
            .sort();
          for (const name of names) {
            const message = JSON.parse(readFileSync(join(dir, name), "utf8"));
            if (message.to.some((address) => address.toLowerCase() === to.toLowerCase())) {
              taken.add(name);
              return message;
            }
          }
          if (Date.now() > deadline) throw new Error(`e2e: no mail to ${to} within ${timeoutMs} ms (${readdirSync(dir).length} file(s) in ${dir}).`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          const timeout = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timeout);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

/** The reset link of a password-reset mail, from its text part. */
export function resetLinkFrom(message) {
  const match = (message.text ?? "").match(/https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9%_.~-]+/);
  if (!match) throw new Error(`e2e: no reset link in the mail "${message.subject}":\n${message.text}`);
  return match[0];
}
