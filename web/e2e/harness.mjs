// The e2e harness: starts the REAL server on a free port with a fresh SQLite database in a temp
// directory, serving web/dist; launches Debian's Chromium through playwright-core (no browser is
// ever downloaded); runs axe-core in pages; saves screenshots.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, createWriteStream } from "node:fs";
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

/** Starts the server and resolves once it prints `listening on http://ADDR` and /api/health/ answers. */
export async function startServer() {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`e2e: no server binary at ${bin}. Build it (cargo build -p server) or set SERVER_BIN.`);
  const dist = join(webDir, "dist");
  if (!existsSync(join(dist, "index.html"))) throw new Error("e2e: web/dist/index.html is missing. Run `npm run build` first.");

  mkdirSync(artifactsDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "users-e2e-"));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dataDir, "db.sqlite")}?mode=rwc`,
    BIND: "127.0.0.1:0",
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
