// What every journey needs: a real `circles` server on a free port with a
// fresh demo database, headless Chromium, sign-in, axe and screenshots.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const PASSWORD = "circles-demo";
export const CHROMIUM = process.env.CIRCLES_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = process.env.CIRCLES_SCREENSHOTS ?? join(repo, "target/screenshots");
const BINARY = process.env.CIRCLES_BINARY ?? join(repo, "target/debug/circles");

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** Starts `circles demo` on a fresh SQLite file, with any extra settings
 * in `env`; resolves once it serves. */
export async function startServer({ env = {} } = {}) {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: run \`cargo build -p circles-server\` first`);
  const dir = mkdtempSync(join(tmpdir(), "circles-journey-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(BINARY, ["demo", "--listen", `127.0.0.1:${port}`, "--database-url", `sqlite://${join(dir, "demo.db")}`], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn", ...env },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`circles exited early:\n${output}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`circles did not start in 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is not at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (or set CIRCLES_CHROMIUM).`,
  );
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A person in their own browser context (own cookies), with or without JavaScript. */
export async function person(browser, server, email, { javaScript = true, width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ baseURL: server.base, javaScriptEnabled: javaScript, viewport: { width, height } });
  noScript.set(context, !javaScript);
  const page = await context.newPage();
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/orgs\/[0-9a-f-]+$/);
  return { context, page, email, orgPath: new URL(page.url()).pathname };
}

/** Someone not signed in, in their own browser context, with or without JavaScript. */
export async function visitor(browser, server, { javaScript = true } = {}) {
  const context = await browser.newContext({ baseURL: server.base, javaScriptEnabled: javaScript });
  noScript.set(context, !javaScript);
  return { context, page: await context.newPage() };
}

const noScript = new WeakMap();
const auditors = new WeakMap();

/** axe-core on the current page: no serious or critical violation. axe is a
 * script, so a page seen without JavaScript is checked as served, in a page
 * that may run it (same address, so the same stylesheet loads). */
export async function accessible(page) {
  let result;
  if (noScript.get(page.context())) {
    const html = await page.content();
    const url = page.url();
    const browser = page.context().browser();
    if (!auditors.has(browser)) auditors.set(browser, await browser.newContext());
    const copy = await auditors.get(browser).newPage();
    try {
      await copy.route(url, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
      await copy.goto(url);
      result = await new AxeBuilder({ page: copy }).analyze();
    } finally {
      await copy.close();
    }
  } else {
    result = await new AxeBuilder({ page }).analyze();
  }
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const described = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(described, [], `accessibility violations on ${page.url()}`);
}

/** The page at phone and desktop width, into the screenshots folder. */
export async function screenshots(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const viewport = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 780 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(viewport);
}

/** Visits a page: checks it for accessibility on the way. */
export async function visit(page, path) {
  const response = await page.goto(path);
  await accessible(page);
  return response;
}

export const ZONE = "America/New_York";

/** The wall-clock reading of an instant in the demo's zone: { date: "YYYY-MM-DD", input: "YYYY-MM-DDTHH:MM", weekday }. */
export function local(at, zone = ZONE) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", weekday: "short",
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return { date, input: `${date}T${parts.hour}:${parts.minute}`, weekday: parts.weekday };
}

/** The message a page carries over from the last form (success or refusal). */
export async function notice(page) {
  return (await page.locator("main .notice").first().textContent()).trim();
}
