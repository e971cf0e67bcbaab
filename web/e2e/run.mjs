// End-to-end flows in Chromium against the real server (see harness.mjs). Run: npm run e2e
// (after npm run build). Screenshots go to e2e/artifacts/ and, for the README, docs/.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  ADMIN,
  apiRequestReset,
  apiSignUp,
  artifactsDir,
  axeReport,
  checkAccessibility,
  launchBrowser,
  newPage,
  resetLinkFrom,
  screenshot,
  startMailSink,
  startServer,
} from "./harness.mjs";

const SEEDED = 25;
const seedUser = (n) => ({
  email: `seed${String(n).padStart(2, "0")}@example.com`,
  fullName: `Seed User ${String(n).padStart(2, "0")}`,
  password: "Quiet-harbour-lantern-58",
});
const ADA = { fullName: "Ada Lovelace", email: "ada@example.com", password: "Analytical-engine-notes-1843" };
const ADA_NEW = { fullName: "Ada King", email: "ada.king@example.com", password: "Difference-engine-punched-1822" };
const CHARLES = { fullName: "Charles Babbage", email: "charles@example.com", password: "Brass-gears-and-levers-1822" };
const CHARLES_NEW_PASSWORD = "Jacquard-loom-woven-portrait-1839";
// The SMTP server for tests refuses for good (550) every recipient whose address starts with
// "reject", and asks to try again later (451) for those starting with "defer".
const REJECTED = { fullName: "Rex Jected", email: "reject.e2e@example.com", password: "Returned-to-sender-parcel-77" };
const DEFERRED = { fullName: "Dee Ferred", email: "defer.e2e@example.com", password: "Postponed-until-tomorrow-88" };

let mail;
let server;
let browser;
const pagesWithProblems = [];

before(async () => {
  // The server mails through the repository's SMTP server for tests; the flows read the mail.
  mail = await startMailSink();
  server = await startServer({ mail });
  browser = await launchBrowser();
  for (let n = 1; n <= SEEDED; n++) await apiSignUp(server.url, seedUser(n));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mail?.stop();
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(join(artifactsDir, "axe-report.json"), JSON.stringify(axeReport, null, 2));
  const total = axeReport.reduce((sum, entry) => sum + entry.violations.length, 0);
  const blocking = axeReport.flatMap((entry) => entry.violations.filter((v) => v.impact === "serious" || v.impact === "critical"));
  console.log(`axe: ${axeReport.length} page states checked, ${total} violation(s), ${blocking.length} serious or critical`);
});

async function expectAccessible(page, name) {
  const blocking = await checkAccessibility(page, name);
  assert.deepEqual(blocking, [], `axe found serious/critical violations on ${name}: ${JSON.stringify(blocking, null, 2)}`);
}

async function heading(page, text) {
  await page.getByRole("heading", { level: 1, name: text }).waitFor();
}

async function logIn(page, { email, password }) {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Clicks the page's Refresh button until `locator` shows: the outbox changes on its own, as the
 * server's worker delivers, retries or gives up. */
async function refreshUntil(page, locator, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await locator.waitFor({ timeout: 1_000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`e2e: ${what} did not show within ${timeoutMs} ms: ${error.message}`);
    }
    await page.getByRole("button", { name: "Refresh" }).click();
  }
}

function noProblems(problems, where) {
  assert.deepEqual(problems, [], `${where}: ${problems.join("\n")}`);
}

test("the server serves the SPA with a CSP the app lives within", async () => {
  const response = await fetch(`${server.url}/profile/sessions`);
  assert.equal(response.status, 200, "SPA fallback: a client-side route must serve index.html");
  assert.match(await response.text(), /<div id="root">/);
  const csp = response.headers.get("content-security-policy");
  console.log(`# Content-Security-Policy: ${csp ?? "(none)"}`);
});

test("a user signs up, edits the profile, manages sessions, changes the password, logs out and back in", async () => {
  const { context, page, problems } = await newPage(browser);
  await page.goto(`${server.url}/signup`);
  await heading(page, "Create your account");
  await expectAccessible(page, "sign up (empty)");

  // A password the client already knows is too weak shows the meter and blocks the submit.
  await page.getByLabel("Full name", { exact: true }).fill(ADA.fullName);
  await page.getByLabel("Email", { exact: true }).fill(ADA.email);
  await page.getByLabel("Password", { exact: true }).fill("12345678");
  await page.getByText("Estimated strength: Very weak").waitFor();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByText("This password is entirely numeric.").waitFor();
  await expectAccessible(page, "sign up (errors)");

  await page.getByLabel("Password", { exact: true }).fill(ADA.password);
  await page.getByText(/Estimated strength: (Strong|Very strong)/).waitFor();
  await screenshot(page, "signup", { docs: true });
  await page.getByRole("button", { name: "Create account" }).click();

  await heading(page, "Your profile");
  await page.getByLabel("Full name", { exact: true }).waitFor();
  assert.equal(await page.getByLabel("Full name", { exact: true }).inputValue(), ADA.fullName);
  await expectAccessible(page, "profile");
  await screenshot(page, "profile", { docs: true });

  // The server's 409 comes back on the email field.
  await page.getByLabel("Email", { exact: true }).fill(seedUser(1).email);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByText("This email is already used by another account.").waitFor();

  await page.getByLabel("Full name", { exact: true }).fill(ADA_NEW.fullName);
  await page.getByLabel("Email", { exact: true }).fill(ADA_NEW.email);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByText("Your profile was saved.").waitFor();
  await page.getByRole("banner").getByText(ADA_NEW.fullName).waitFor();

  // A reload keeps the session: the refresh token survives in sessionStorage.
  await page.reload();
  await heading(page, "Your profile");
  assert.equal(await page.getByLabel("Email", { exact: true }).inputValue(), ADA_NEW.email);

  // A second device signs in; the first sees it and signs it out.
  const other = await newPage(browser, { userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" });
  await other.page.goto(`${server.url}/login`);
  await logIn(other.page, { email: ADA_NEW.email, password: ADA.password });
  await heading(other.page, "Your profile");

  await page.getByRole("link", { name: "Sessions", exact: true }).click();
  await heading(page, "Your sessions");
  await page.getByText("This device").waitFor();
  const signOutOther = page.getByRole("button", { name: /^Sign out Firefox on Linux/ });
  await signOutOther.waitFor();
  await expectAccessible(page, "sessions");
  await screenshot(page, "sessions");
  await signOutOther.click();
  await page.getByText("Firefox on Linux was signed out.").waitFor();
  // The revoked device is thrown out at its next request.
  await other.page.getByRole("link", { name: "Sessions", exact: true }).click();
  await heading(other.page, "Log in");
  await other.context.close();

  await page.getByRole("link", { name: "Password", exact: true }).click();
  await heading(page, "Change password");
  await page.getByLabel("Current password", { exact: true }).fill("not-my-password");
  await page.getByLabel("New password", { exact: true }).fill(ADA_NEW.password);
  await page.getByLabel("Confirm new password", { exact: true }).fill(ADA_NEW.password);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.locator('[aria-invalid="true"]').first().waitFor();
  await page.getByLabel("Current password", { exact: true }).fill(ADA.password);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Password changed").waitFor();
  await expectAccessible(page, "change password");
  await screenshot(page, "change-password");

  // The fresh pair from the password change is in use: the session still works.
  await page.getByRole("link", { name: "Profile", exact: true }).click();
  await heading(page, "Your profile");

  await page.getByRole("button", { name: "Log out" }).click();
  await heading(page, "Log in");
  await page.getByText("You have been logged out.").waitFor();
  await expectAccessible(page, "log in");
  await screenshot(page, "login");

  await logIn(page, { email: ADA_NEW.email, password: ADA.password });
  await page.getByText("Incorrect email or password").waitFor();
  await expectAccessible(page, "log in (wrong password)");
  await logIn(page, { email: ADA_NEW.email, password: ADA_NEW.password });
  await heading(page, "Your profile");

  // A plain user never sees admin links or pages.
  assert.equal(await page.getByRole("link", { name: "Audit log", exact: true }).count(), 0);
  await page.goto(`${server.url}/admin/users`);
  await heading(page, "Page not found");
  await expectAccessible(page, "not found");
  await screenshot(page, "not-found");

  noProblems(problems, "user flow");
  await context.close();
});

test("an admin pages, searches, deactivates and reactivates a user, and changes a role", async () => {
  const { context, page, problems } = await newPage(browser);
  await page.goto(`${server.url}/admin/users`);
  // Signed out: the guard sends the admin to log in, then back to the users table.
  await heading(page, "Log in");
  await logIn(page, ADMIN);
  await heading(page, "Users");

  const summary = page.getByText(/^Showing \d+–\d+ of \d+ users$/);
  await summary.waitFor();
  const total = Number((await summary.textContent()).match(/of (\d+)/)[1]);
  assert.ok(total >= SEEDED + 1, `expected at least ${SEEDED + 1} users, got ${total}`);
  assert.equal(await page.locator("tbody tr").count(), 10);
  await expectAccessible(page, "admin users");
  await screenshot(page, "admin-users", { docs: true });

  await page.getByRole("button", { name: "Next page" }).click();
  await page.getByText(`Showing 11–20 of ${total} users`).waitFor();
  await page.getByRole("button", { name: "Last page" }).click();
  const lastPage = Math.ceil(total / 10);
  await page.getByRole("navigation", { name: "Pagination" }).getByText(`Page ${lastPage} of ${lastPage}`).waitFor();
  // The page number changes before the rows arrive: wait for the rows themselves.
  const lastRows = total - (lastPage - 1) * 10;
  await page.getByText(`Showing ${(lastPage - 1) * 10 + 1}–${total} of ${total} users`).waitFor();
  await page.waitForFunction((count) => document.querySelectorAll("tbody tr").length === count, lastRows);
  assert.equal(await page.locator("tbody tr").count(), lastRows);
  await page.goBack();
  await page.getByText(`Showing 11–20 of ${total} users`).waitFor();

  // Filters: role, then ordering.
  await page.getByLabel("Role", { exact: true }).selectOption("admin");
  await page.getByText("Showing 1–1 of 1 user").waitFor();
  await page.getByRole("button", { name: `Deactivate ${ADMIN.fullName}` }).and(page.locator(":disabled")).waitFor();
  await page.getByLabel("Role", { exact: true }).selectOption("");
  await page.getByLabel("Order", { exact: true }).selectOption("-email");
  await page.locator("tbody tr").first().getByText("seed25@example.com").waitFor();
  await page.getByLabel("Order", { exact: true }).selectOption("-date_joined");

  // Search, deactivate with confirmation.
  const target = seedUser(7);
  await page.getByRole("searchbox", { name: "Search" }).fill("seed07");
  await page.getByText("Showing 1–1 of 1 user").waitFor();
  await page.getByRole("button", { name: `Deactivate ${target.fullName}` }).click();
  const dialog = page.getByRole("alertdialog", { name: `Deactivate ${target.fullName}?` });
  await dialog.waitFor();
  await expectAccessible(page, "admin users (confirm dialog)");
  await screenshot(page, "admin-users-confirm");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await page.getByRole("button", { name: `Deactivate ${target.fullName}` }).click();
  await dialog.getByRole("button", { name: "Deactivate" }).click();
  await page.getByText(`${target.fullName} was deactivated.`).waitFor();

  // The deactivated user is told so at login.
  const victim = await newPage(browser);
  await victim.page.goto(`${server.url}/login`);
  await logIn(victim.page, target);
  await victim.page.getByText("This account has been deactivated").waitFor();
  await expectAccessible(victim.page, "log in (deactivated)");
  await screenshot(victim.page, "login-deactivated");

  // Reactivate; now the login works.
  await page.getByRole("button", { name: `Reactivate ${target.fullName}` }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Reactivate" }).click();
  await page.getByText(`${target.fullName} was reactivated.`).waitFor();
  await logIn(victim.page, target);
  await heading(victim.page, "Your profile");
  noProblems(victim.problems, "deactivated user");
  await victim.context.close();

  // User detail: change a role.
  await page.getByRole("link", { name: target.fullName }).click();
  await heading(page, target.fullName);
  await page.getByLabel("Role", { exact: true }).selectOption("admin");
  await page.getByRole("button", { name: "Save role" }).click();
  await page.getByText(`${target.fullName} is now an admin.`).waitFor();
  await expectAccessible(page, "admin user detail");
  await screenshot(page, "admin-user-detail");

  await page.getByRole("link", { name: "Audit log", exact: true }).click();
  await heading(page, "Audit log");
  await page.locator("tbody tr").first().waitFor();
  await page.getByLabel("Action", { exact: true }).selectOption("admin_toggle_active");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByText(/^2 events$/).waitFor();
  await expectAccessible(page, "audit log");
  await screenshot(page, "admin-audit");

  noProblems(problems, "admin flow");
  await context.close();
});

test("the app works at 375 px wide, with the keyboard", async () => {
  const { context, page, problems } = await newPage(browser, { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  await page.goto(`${server.url}/login`);
  await heading(page, "Log in");
  // The first Tab lands on the skip link.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
  await screenshot(page, "mobile-login");

  await logIn(page, ADMIN);
  await heading(page, "Your profile");
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(await fits(), "the profile page scrolls sideways at 375 px");
  await expectAccessible(page, "profile (mobile)");
  await screenshot(page, "mobile-profile");

  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await heading(page, "Users");
  // Route change moves focus to the new page's heading.
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
  await page.getByText(/^Showing 1–10 of \d+ users$/).waitFor();
  assert.ok(await fits(), "the users page scrolls sideways at 375 px");
  await expectAccessible(page, "admin users (mobile)");
  await screenshot(page, "mobile-admin-users");

  await page.goto(`${server.url}/signup`);
  await heading(page, "Your profile"); // Signed in: sign-up redirects away.
  noProblems(problems, "mobile");
  await context.close();
});

test("a user who forgot the password gets a link by mail, chooses a new one, and logs in with it", async () => {
  const otherDevice = await apiSignUp(server.url, CHARLES);
  const { context, page, problems } = await newPage(browser);
  const consoleLines = [];
  page.on("console", (message) => consoleLines.push(message.text()));

  await page.goto(`${server.url}/login`);
  await heading(page, "Log in");
  await page.getByLabel("Email", { exact: true }).fill(CHARLES.email);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await heading(page, "Forgot your password?");
  // The address typed on the login page came along.
  assert.equal(await page.getByLabel("Email", { exact: true }).inputValue(), CHARLES.email);
  await expectAccessible(page, "forgot password");
  await screenshot(page, "forgot-password");

  // An address the browser's loose check lets through but the server refuses comes back on the field.
  await page.getByLabel("Email", { exact: true }).fill("charles@localhost");
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByText("Enter a valid email address.").waitFor();
  assert.equal(await page.getByLabel("Email", { exact: true }).getAttribute("aria-invalid"), "true");
  await expectAccessible(page, "forgot password (error)");

  await page.getByLabel("Email", { exact: true }).fill(CHARLES.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await heading(page, "Check your email");
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
  await page.getByText(`If an account uses ${CHARLES.email}, a link to choose a new password is on its way.`).waitFor();
  await expectAccessible(page, "forgot password (sent)");
  await screenshot(page, "forgot-password-sent");

  const message = await mail.nextMessageTo(CHARLES.email);
  assert.equal(message.subject, "Reset your password");
  const link = resetLinkFrom(message);
  assert.ok(link.startsWith(`${server.url}/reset-password?token=`), `the link should start with PUBLIC_URL: ${link}`);
  const token = new URL(link).searchParams.get("token");
  assert.ok(token && token.length >= 20, "the link carries a token");

  // The first load of the link carries the token in its URL: no Referer may repeat it.
  const linkPage = await fetch(link);
  assert.equal(linkPage.status, 200);
  assert.equal(linkPage.headers.get("referrer-policy"), "no-referrer");

  await page.goto(link);
  await heading(page, "Choose a new password");
  // The token leaves the address bar at once.
  await page.waitForURL((url) => url.search === "");
  assert.equal(page.url(), `${server.url}/reset-password`);
  await expectAccessible(page, "reset password");

  // The client blocks what it knows is wrong; the server lists every rule it finds broken.
  await page.getByLabel("New password", { exact: true }).fill("12345678");
  await page.getByText("Estimated strength: Very weak").waitFor();
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByText("This password is entirely numeric.").waitFor();
  await page.getByLabel("New password", { exact: true }).fill("charles babbage");
  await page.getByLabel("Confirm new password", { exact: true }).fill("charles babbage");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByText("The password is too similar to the full name.").waitFor();
  const newPasswordField = page.getByLabel("New password", { exact: true });
  assert.equal(await newPasswordField.getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "new_password");
  await expectAccessible(page, "reset password (errors)");
  await screenshot(page, "reset-password-errors");

  await newPasswordField.fill(CHARLES_NEW_PASSWORD);
  await page.getByText(/Estimated strength: (Strong|Very strong)/).waitFor();
  await page.getByLabel("Confirm new password", { exact: true }).fill(CHARLES_NEW_PASSWORD);
  await screenshot(page, "reset-password");
  await page.getByRole("button", { name: "Set new password" }).click();

  // Signed in with a new session, where a login goes, told what happened.
  await heading(page, "Your profile");
  await page.getByText("Your password was changed, and every other device signed in to your account was signed out.").waitFor();
  await page.getByRole("banner").getByText(CHARLES.fullName).waitFor();
  assert.equal(page.url(), `${server.url}/profile`);
  await expectAccessible(page, "profile (after reset)");
  await screenshot(page, "profile-after-reset");

  // Every other session ended: the sign-up's refresh token is refused.
  const refreshed = await fetch(`${server.url}/api/auth/token/refresh/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh: otherDevice.refresh }),
  });
  assert.equal(refreshed.status, 401, "the other device's session should have ended");

  await page.getByRole("button", { name: "Log out" }).click();
  await heading(page, "Log in");
  await logIn(page, { email: CHARLES.email, password: CHARLES.password });
  await page.getByText("Incorrect email or password").waitFor();
  await logIn(page, { email: CHARLES.email, password: CHARLES_NEW_PASSWORD });
  await heading(page, "Your profile");

  // The link worked once.
  await page.goto(link);
  await heading(page, "Choose a new password");
  await page.getByLabel("New password", { exact: true }).fill("Another-fresh-passphrase-2024");
  await page.getByLabel("Confirm new password", { exact: true }).fill("Another-fresh-passphrase-2024");
  await page.getByRole("button", { name: "Set new password" }).click();
  await heading(page, "This reset link can't be used");
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
  await expectAccessible(page, "reset password (used link)");
  await screenshot(page, "reset-password-invalid");
  // The refused token is forgotten: a reload does not bring back a form that cannot succeed.
  await page.reload();
  await heading(page, "This reset link can't be used");

  // A link without its token says so at once, and leads to a new one.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.goto(`${server.url}/profile`);
  await heading(page, "Your profile");
  await page.goto(`${server.url}/reset-password`);
  await heading(page, "This reset link can't be used");
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(await fits(), "the invalid-link page scrolls sideways at 375 px");
  await expectAccessible(page, "reset password (no token, mobile)");
  await page.getByRole("link", { name: "Ask for a new link" }).click();
  await heading(page, "Forgot your password?");
  assert.ok(await fits(), "the forgot-password page scrolls sideways at 375 px");
  await expectAccessible(page, "forgot password (mobile)");

  // The token was never written to the browser's console nor to the server's log.
  assert.deepEqual(consoleLines.filter((line) => line.includes(token)), [], "the token reached the console");
  assert.ok(!server.output().includes(token), "the token reached the server's log");
  noProblems(problems, "password reset flow");
  await context.close();
});

test("an admin sends a user a password reset link, and sees it sent in the outbox", async () => {
  const target = seedUser(12);
  const { context, page, problems } = await newPage(browser);
  await page.goto(`${server.url}/login`);
  await logIn(page, ADMIN);
  await heading(page, "Your profile");
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await heading(page, "Users");
  await page.getByRole("searchbox", { name: "Search" }).fill("seed12");
  await page.getByText("Showing 1–1 of 1 user").waitFor();
  await page.getByRole("link", { name: target.fullName }).click();
  await heading(page, target.fullName);

  await page.getByRole("button", { name: "Send password reset link" }).click();
  const dialog = page.getByRole("alertdialog", { name: `Send a password reset link to ${target.fullName}?` });
  await dialog.waitFor();
  await expectAccessible(page, "admin user detail (reset confirm)");
  await dialog.getByRole("button", { name: "Send link" }).click();
  await page.getByText("Reset link sent").waitFor();
  await page.getByText(`A link to choose a new password is on its way to ${target.email}.`, { exact: false }).waitFor();
  await expectAccessible(page, "admin user detail (reset sent)");
  await screenshot(page, "admin-user-reset-sent");

  const message = await mail.nextMessageTo(target.email);
  assert.ok(resetLinkFrom(message).startsWith(`${server.url}/reset-password?token=`));

  // The outbox: the link just sent is listed as sent, beside one message the mail server
  // refuses for good and one it keeps deferring.
  for (const person of [REJECTED, DEFERRED]) {
    await apiSignUp(server.url, person);
    await apiRequestReset(server.url, person.email);
  }
  await page.getByRole("link", { name: "Mail", exact: true }).click();
  await heading(page, "Mail");
  const status = page.getByRole("group", { name: "Status" });
  assert.equal(await status.getByRole("radio", { name: "All" }).isChecked(), true);
  const rowFor = (email) => page.getByRole("row").filter({ hasText: email });

  await status.getByRole("radio", { name: "Sent" }).check();
  await page.waitForURL((url) => url.searchParams.get("status") === "sent");
  // The sink has the message; the server marks it sent once the sink's answer is back.
  await refreshUntil(page, rowFor(target.email), `the sent message to ${target.email}`);
  const sentRow = rowFor(target.email);
  await sentRow.getByText("Sent", { exact: true }).waitFor();
  await sentRow.getByText("Password reset", { exact: true }).filter({ visible: true }).waitFor();
  await sentRow.getByText("Delivered", { exact: true }).filter({ visible: true }).waitFor();
  // The list the filter replaced may still be on screen for a moment: wait for the refused
  // message's row to go, and fail if it stays.
  await rowFor(REJECTED.email)
    .waitFor({ state: "detached", timeout: 10_000 })
    .catch(() => assert.fail("the sent filter lists a refused message"));
  assert.equal(await rowFor(REJECTED.email).count(), 0, "the sent filter lists a refused message");

  // The filter is one radio group: the arrow keys move along it.
  await status.getByRole("radio", { name: "Sent" }).focus();
  await page.keyboard.press("ArrowRight");
  await page.waitForURL((url) => url.searchParams.get("status") === "failed");
  assert.equal(await status.getByRole("radio", { name: "Failed" }).isChecked(), true);
  await refreshUntil(page, rowFor(REJECTED.email), `the refused message to ${REJECTED.email}`);
  const failedRow = rowFor(REJECTED.email);
  await failedRow.getByText("Failed", { exact: true }).waitFor();
  await failedRow.getByText(/550.*Rejected by the test sink/).filter({ visible: true }).waitFor();
  await expectAccessible(page, "admin mail (failed)");

  await status.getByRole("radio", { name: "Pending" }).check();
  await page.waitForURL((url) => url.searchParams.get("status") === "pending");
  await refreshUntil(page, rowFor(DEFERRED.email), `the deferred message to ${DEFERRED.email}`);
  const pendingRow = rowFor(DEFERRED.email);
  await pendingRow.getByText("Pending", { exact: true }).waitFor();
  await pendingRow.getByText("Next attempt", { exact: true }).filter({ visible: true }).waitFor();

  await status.getByRole("radio", { name: "All" }).check();
  await page.waitForURL((url) => !url.searchParams.has("status"));
  for (const email of [target.email, REJECTED.email, DEFERRED.email, CHARLES.email]) await rowFor(email).first().waitFor();
  await page.locator('table[aria-busy="false"]').waitFor();
  await expectAccessible(page, "admin mail");
  await screenshot(page, "admin-mail");

  // At 375 px the table folds its columns into the recipient's cell instead of scrolling.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.goto(`${server.url}/profile`);
  await heading(page, "Your profile");
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("link", { name: "Mail", exact: true }).click();
  await heading(page, "Mail");
  await rowFor(REJECTED.email).waitFor();
  await rowFor(REJECTED.email).getByText(/550.*Rejected by the test sink/).filter({ visible: true }).waitFor();
  await rowFor(DEFERRED.email).getByText("Next attempt", { exact: true }).filter({ visible: true }).waitFor();
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(await fits(), "the mail page scrolls sideways at 375 px");
  const tableFits = await page.locator("table").evaluate((table) => table.parentElement.scrollWidth <= table.parentElement.clientWidth);
  assert.ok(tableFits, "the mail table scrolls sideways at 375 px");
  await expectAccessible(page, "admin mail (mobile)");
  await screenshot(page, "mobile-admin-mail");

  noProblems(problems, "admin reset");
  await context.close();
});
