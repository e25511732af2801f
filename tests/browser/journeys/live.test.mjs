// Live pages: a client's unread count follows a notice staff cause, the
// facilitator's live room shows a member checking in, and a therapist's
// invitations page shows a new invitation, without a reload when the page
// runs script and on reload when it does not. Staff also read
// a weekly group's attendance and check-ins over time as charts.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, person, visit, screenshots, notice, PASSWORD } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** The admin's API token and the demo organisation's API path. */
async function api(server) {
  const login = await fetch(`${server.base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@riverside.example", password: PASSWORD }),
  });
  const { token } = await login.json();
  const me = await (await fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json();
  const org = me.memberships.find((m) => m.org_name === "Riverside Counselling").org_id;
  const call = async (method, path, body) => {
    const res = await fetch(`${server.base}/api/v1/orgs/${org}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  return { call };
}

const unread = async (page) => page.locator("a.inbox").getAttribute("aria-label");

async function journey(javaScript) {
  const server = await startServer();
  const shots = javaScript;
  const contexts = [];
  try {
    const join = async (email) => {
      const p = await person(browser, server, email, { javaScript });
      contexts.push(p.context);
      return p;
    };
    const [avery, emery, hannah, priya, mei] = await Promise.all([
      join("avery@clients.example"), join("emery@clients.example"), join("hannah@riverside.example"), join("priya@riverside.example"),
      join("mei@riverside.example"),
    ]);
    const admin = await api(server);
    const sessions = (await admin.call("GET", "/sessions?limit=1000")).items;

    // A client on their home page; staff cancel a session they hold a seat in.
    await visit(avery.page, avery.orgPath);
    const before = await unread(avery.page);
    const sleep = sessions.find((s) => s.title === "Sleep and mood");
    await admin.call("POST", `/sessions/${sleep.id}/cancel`, { reason: "The facilitator is unwell" });
    if (javaScript) {
      await avery.page.waitForFunction(
        (was) => document.querySelector("a.inbox").getAttribute("aria-label") !== was, before, { timeout: 10_000 });
    } else {
      await visit(avery.page, avery.orgPath);
    }
    const after = await unread(avery.page);
    assert.notEqual(after, before, "the unread count moved");
    assert.match(after, /Notifications, \d+ unread/);
    await visit(avery.page, avery.page.url());
    if (shots) await screenshots(avery.page, "client-unread-live");

    // The facilitator watches the running drop-in; a member checks in.
    const dropIn = sessions.find((s) => s.title === "Drop-in check-in");
    const room = `${hannah.orgPath}/sessions/${dropIn.id}/room`;
    await visit(hannah.page, room);
    assert.match(await hannah.page.locator("#presence h2").textContent(), /Present \(4\)/);
    await visit(emery.page, `${emery.orgPath}/sessions/${dropIn.id}/room`);
    await emery.page.getByRole("button", { name: "I'm here" }).click();
    assert.match(await notice(emery.page), /You are checked in/);
    if (javaScript) {
      await hannah.page.locator("#presence h2", { hasText: "Present (5)" }).waitFor({ timeout: 10_000 });
    } else {
      await visit(hannah.page, room);
    }
    assert.match(await hannah.page.locator("#presence").textContent(), /Emery Foster/);
    await visit(hannah.page, hannah.page.url());
    if (shots) await screenshots(hannah.page, "facilitator-live-room");

    // A therapist on her invitations page; the admin invites her to the
    // community's proposal.
    await visit(mei.page, `${mei.orgPath}/invitations`);
    const waiting = mei.page.locator("#invitations-waiting");
    assert.doesNotMatch(await waiting.textContent(), /Handling holiday stress/);
    const holiday = sessions.find((s) => s.title === "Handling holiday stress");
    const therapists = (await admin.call("GET", "/people?role=therapist")).items;
    const meiId = therapists.find((t) => t.name === "Dr. Mei Chen").id;
    await admin.call("POST", `/sessions/${holiday.id}/invitations`, { therapist_id: meiId });
    if (javaScript) {
      await waiting.getByText("Handling holiday stress").waitFor({ timeout: 10_000 });
    } else {
      await visit(mei.page, mei.page.url());
    }
    assert.match(await waiting.textContent(), /Handling holiday stress/);
    assert.equal(await waiting.getByRole("button", { name: "Accept" }).count(), 1);

    // The group's moderator reads eight weeks of attendance and check-ins.
    await visit(priya.page, `${priya.orgPath}/groups`);
    await priya.page.getByRole("link", { name: "Thursday Anxiety Group" }).click();
    await priya.page.waitForURL(/\/groups\//);
    await priya.page.getByRole("link", { name: "Attendance and check-ins over time" }).click();
    await priya.page.waitForURL(/\/statistics/);
    await visit(priya.page, priya.page.url());
    const main = await priya.page.locator("main").textContent();
    assert.match(main, /Attendance rate by week/);
    assert.match(main, /Mood: mean total by session/);
    assert.match(main, /PHQ-9: mean total by session/);
    assert.equal(await priya.page.locator("svg.chart").count(), 3);
    if (shots) await screenshots(priya.page, "moderator-group-over-time");
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
}

describe("live pages and statistics over time", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
