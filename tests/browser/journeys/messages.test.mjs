// What reaches people outside Circles: a client turns a kind of e-mail off
// (the essential ones cannot be), makes a calendar feed link, rotates and
// revokes it; an admin reads the messages sent, registers a webhook endpoint
// that a local receiver verifies, reads its delivery log and sends one again.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startServer, launch, person, visit, accessible, screenshots, notice } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** A local endpoint that keeps every webhook call it receives. */
async function receiver() {
  const calls = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/circles`, calls, close: () => server.close() };
}

async function until(what, check, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function journey(javaScript) {
  const server = await startServer({ env: { CIRCLES_ALLOW_PRIVATE_WEBHOOKS: "true" } });
  const hooks = await receiver();
  const shots = javaScript;
  const contexts = [];
  try {
    const blake = await person(browser, server, "blake@clients.example", { javaScript });
    const admin = await person(browser, server, "admin@riverside.example", { javaScript });
    contexts.push(blake.context, admin.context);
    const page = blake.page;

    // E-mail choices: reminders off; a cancellation cannot be turned off.
    await visit(page, `${blake.orgPath}/profile`);
    await page.getByRole("link", { name: "Messages and calendar" }).click();
    await accessible(page);
    const reminder = page.getByLabel("Reminder", { exact: true });
    assert.equal(await reminder.isChecked(), true, "every kind is sent until the person says otherwise");
    const cancelled = page.getByLabel("Session cancelled", { exact: true });
    assert.equal(await cancelled.isDisabled(), true, "an essential kind cannot be unticked");
    await reminder.uncheck();
    await page.getByRole("button", { name: "Save my choices" }).click();
    assert.match(await notice(page), /choices are saved/);
    assert.equal(await page.getByLabel("Reminder", { exact: true }).isChecked(), false);
    assert.equal(await page.getByLabel("Session cancelled", { exact: true }).isChecked(), true);
    const prefs = await page.request.get(`${server.base}/api/v1/me/preferences`);
    const reminderChoice = (await prefs.json()).channels.find((c) => c.kind === "reminder" && c.channel === "email");
    assert.equal(reminderChoice.enabled, false, "the page saved what the API reads");

    // A feed link: its address is shown once; it serves the schedule
    // without titles (limited, a client's default), until rotated or revoked.
    await page.getByRole("button", { name: "Create a feed link" }).click();
    await accessible(page);
    const first = (await page.locator("#new-feed").textContent()).trim();
    assert.match(first, /\/ical\/[^/]+\.ics$/);
    assert.match(await page.getByRole("link", { name: "Subscribe in my calendar program" }).getAttribute("href"), /^webcal:\/\//);
    const feed = await fetch(first);
    assert.equal(feed.status, 200);
    const ics = await feed.text();
    assert.match(ics, /BEGIN:VCALENDAR/);
    assert.match(ics, /SUMMARY:(Group session|Busy)/);
    assert.doesNotMatch(ics, /SUMMARY:(?!Group session|Busy)/, "a limited feed names no session");
    if (shots) await screenshots(page, "client-messages-feed");
    await visit(page, `${blake.orgPath}/profile/messages`);
    assert.equal(await page.locator("#new-feed").count(), 0, "the address is not shown again");
    assert.match(await page.locator("main").textContent(), /Limited link — created .*, last read by a calendar/);
    // The demo gave Blake a link of its own at start, never read yet.
    const read = page.locator("li", { hasText: "last read by a calendar" });
    assert.equal(await read.count(), 1, "one link has been read");
    await read.getByRole("button", { name: /^Rotate the limited link created / }).click();
    const second = (await page.locator("#new-feed").textContent()).trim();
    assert.notEqual(second, first);
    assert.equal((await fetch(first)).status, 404, "the rotated address is dead");
    assert.equal((await fetch(second)).status, 200);
    await visit(page, `${blake.orgPath}/profile/messages`);
    await page.locator("li", { hasText: "last read by a calendar" }).getByRole("button", { name: /^Revoke the / }).click();
    assert.match(await notice(page), /revoked/);
    assert.equal((await fetch(second)).status, 404);

    // Admins' pages are not a client's.
    const refused = await page.goto(`${blake.orgPath}/webhooks`);
    assert.ok([403, 404].includes(refused.status()), `a client has no webhooks page (${refused.status()})`);

    // An admin reads what was sent, by the recipients' names.
    const desk = admin.page;
    await visit(desk, admin.orgPath);
    await desk.getByRole("link", { name: "Messages sent" }).click();
    await accessible(desk);
    await desk.getByLabel("Show messages that are").selectOption("sent");
    await desk.getByRole("button", { name: "Show" }).click();
    await accessible(desk);
    const written = (await desk.locator("main").textContent()).replace(/\s+/g, " ");
    assert.ok((await desk.locator("main tbody tr").count()) > 0, "the demo's sent messages are listed");
    assert.match(written, /[A-Z][a-z]+ [A-Z][a-z]+ \(email\)/, "by the recipient's name");
    assert.doesNotMatch(written, /[0-9a-f]{8}-[0-9a-f]{4}-/, "no raw ids");
    if (shots) await screenshots(desk, "admin-messages-sent");

    // A webhook endpoint: a form without kinds is refused next to them.
    await desk.getByRole("link", { name: "Webhook endpoints" }).click();
    await accessible(desk);
    await desk.getByLabel("Address (https://…)").fill(hooks.url);
    await desk.getByRole("button", { name: "Add endpoint" }).click();
    await accessible(desk);
    assert.match(await desk.locator("main").textContent(), /name at least one notification kind/i);
    assert.equal(await desk.getByLabel("Address (https://…)").inputValue(), hooks.url, "what was typed stays");
    await desk.getByLabel("Session cancelled", { exact: true }).check();
    await desk.getByLabel("What it is for").fill("Front desk board");
    await desk.getByRole("button", { name: "Add endpoint" }).click();
    const secret = (await desk.locator("#new-secret").textContent()).trim();
    assert.match(secret, /^whsec_/);
    if (shots) await screenshots(desk, "admin-webhooks");

    // A cancellation reaches the endpoint, signed.
    await visit(desk, `${admin.orgPath}/profile`);
    await desk.getByLabel("What the token is for").fill("journey");
    await desk.getByRole("button", { name: "Create token" }).click();
    const bearer = { authorization: `Bearer ${(await desk.locator("#new-token").textContent()).trim()}` };
    const api = `${server.base}/api/v1${admin.orgPath}`;
    const sessions = await (await fetch(`${api}/sessions?status=scheduled&limit=100`, { headers: bearer })).json();
    const victim = sessions.items.find((s) => new Date(s.starts_at) > new Date());
    const cancel = await fetch(`${api}/sessions/${victim.id}/cancel`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ reason: "Room flooded" }),
    });
    assert.ok(cancel.ok, await cancel.text());
    await until("the webhook call", async () => hooks.calls.length > 0);
    assert.match(hooks.calls[0].headers["webhook-signature"], /^v1,/);
    assert.doesNotMatch(hooks.calls[0].body, /Room flooded/, "no free text in a payload");

    // Its delivery log, by kind and local time; send one again.
    await visit(desk, `${admin.orgPath}/webhooks`);
    await desk.getByRole("link", { name: hooks.url }).click();
    await accessible(desk);
    await until("the log to show the call", async () => {
      await desk.reload();
      return /Session cancelled.*Sent/s.test(await desk.locator("main").textContent());
    });
    const before = hooks.calls.length;
    await desk.getByRole("button", { name: "Send again" }).first().click();
    assert.match(await notice(desk), /same webhook-id/);
    await until("the redelivery", async () => hooks.calls.length > before);
    assert.equal(hooks.calls.at(-1).headers["webhook-id"], hooks.calls[0].headers["webhook-id"]);
    if (shots) await screenshots(desk, "admin-webhook-log");

    // Switched off, it says so.
    await visit(desk, `${admin.orgPath}/webhooks`);
    await desk.getByRole("button", { name: "Switch off" }).click();
    assert.match(await notice(desk), /switched off/);
    assert.match(await desk.locator("main").textContent(), /Off, switched off/);
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    hooks.close();
    await server.stop();
  }
}

describe("messages, calendar feeds and webhooks", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
