// The waitlist in pages: the admin reads the board (best first, with the
// score's reasons) and the statistics page it links to, opens an entry and
// offers one of its suggested places; the client sees the place held for
// them with the time left (counting down with the script, as rendered
// without it) and accepts, then joins a waitlist again with her days, hours
// and therapist; another client declines hers with a reason; the board
// shows who answered.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, person, visit, screenshots, notice } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

async function journey(javaScript) {
  const server = await startServer();
  const contexts = [];
  try {
    const join = async (email) => {
      const p = await person(browser, server, email, { javaScript });
      contexts.push(p.context);
      return p;
    };
    const [admin, dana, avery] = await Promise.all([
      join("admin@riverside.example"), join("dana@clients.example"), join("avery@clients.example"),
    ]);

    // The board: everyone waiting, best first, each score with its reasons;
    // the demo's live offers wait for their answers.
    await visit(admin.page, `${admin.orgPath}/waitlist`);
    const board = admin.page.locator("table");
    const rows = await board.locator("tbody tr").allTextContents();
    assert.ok(rows.length >= 3, `several clients wait: ${rows}`);
    assert.match(rows.join("\n"), /Dana Ellis[\s\S]*a one-on-one appointment with Dr\. Hannah Okafor/);
    assert.match(rows.join("\n"), /waited \d+ days?/);
    const offers = await admin.page.locator("main li").allTextContents();
    assert.ok(offers.some((o) => /Avery Brooks — Mindful Skills Group/.test(o)), `Avery's offer is out: ${offers}`);
    assert.ok(await admin.page.getByRole("heading", { name: "Freed places waiting for an offer" }).isVisible());
    if (javaScript) await screenshots(admin.page, "admin-waitlist");

    // The statistics, linked from the board: per organisation, group and
    // therapist, by name.
    await admin.page.getByRole("link", { name: "Waitlist statistics" }).click();
    await admin.page.waitForURL(/\/waitlist\/stats$/);
    await visit(admin.page, new URL(admin.page.url()).pathname);
    assert.equal(await admin.page.locator("h1").textContent(), "Waitlist statistics");
    const org = await admin.page.locator("#stats-org tbody tr").textContent();
    assert.match(org, /Riverside/);
    const headers = await admin.page.locator("#stats-org thead th").allTextContents();
    for (const h of ["Mean time to match", "Offers sent", "Accepted", "Declined", "Expired", "Refilled", "Mean time to refill"]) {
      assert.ok(headers.includes(h), `the statistics show ${h}: ${headers}`);
    }
    const groups = (await admin.page.locator("#stats-groups tbody th").allTextContents()).join("\n");
    assert.match(groups, /Mindful Skills Group/);
    assert.doesNotMatch(await admin.page.locator("main").textContent(), /[0-9a-f]{8}-[0-9a-f]{4}-/, "names, not ids");
    if (javaScript) await screenshots(admin.page, "admin-waitlist-stats");
    await visit(admin.page, `${admin.orgPath}/waitlist`);

    // Dana's entry: the score's parts and the places that suit her best; the
    // admin offers the first.
    await admin.page.getByRole("link", { name: "Dana Ellis" }).click();
    await admin.page.waitForURL(/\/waitlist\/[0-9a-f-]+$/);
    await visit(admin.page, new URL(admin.page.url()).pathname);
    assert.match(await admin.page.locator("h1").textContent(), /Dana Ellis waits for a one-on-one appointment with Dr\. Hannah Okafor/);
    const places = admin.page.getByRole("button", { name: /^Offer One-on-one with Dr\. Hannah Okafor to Dana Ellis/ });
    assert.ok((await places.count()) >= 1, "a free slot of Dr. Okafor suits Dana");
    if (javaScript) await screenshots(admin.page, "admin-waitlist-entry");
    await places.first().click();
    await admin.page.waitForURL(/\/waitlist$/);
    assert.match(await notice(admin.page), /^The place is held for Dana Ellis until \w{3} \d+ \w{3}, \d\d:\d\d E[SD]T\.$/);

    // Dana sees the place held for her, with the time she has left, and takes it.
    await visit(dana.page, `${dana.orgPath}/waitlist`);
    const held = dana.page.locator("section.card").filter({ hasText: "One-on-one with Dr. Hannah Okafor" });
    const timer = held.getByRole("timer");
    if (javaScript) {
      // The time left counts down, by the second.
      const first = await timer.textContent();
      assert.match(first, /^in (\d+ h )?(\d+ min )?\d+ s$/);
      await dana.page.waitForFunction((before) => document.querySelector("[role=timer]").textContent !== before, first);
      assert.match(await held.textContent(), /Held for you until\s*\w{3} \d+ \w{3}, \d\d:\d\d E[SD]T \(in (\d+ h )?(\d+ min )?\d+ s\)/);
    } else {
      // Without the script, the time left stands as the server counted it.
      assert.match(await held.textContent(), /Held for you until\s*\w{3} \d+ \w{3}, \d\d:\d\d E[SD]T \(in (\d+ h)?( ?\d+ min)?\)/);
    }
    if (javaScript) await screenshots(dana.page, "client-waitlist");
    await held.getByRole("button", { name: "Accept the place" }).click();
    await dana.page.waitForURL(/\/waitlist$/);
    assert.match(await notice(dana.page), /One-on-one with Dr\. Hannah Okafor is yours: it is in your schedule\./);
    assert.doesNotMatch(await dana.page.locator("main").textContent(), /Held for you until/);

    // Dana puts herself on a waitlist again, with the days, hours and
    // therapist that suit her; a window ending before it starts is refused
    // by name.
    const joinForm = dana.page.locator("form").filter({ hasText: "Join a waitlist" });
    await joinForm.getByLabel("I would like").selectOption({ label: "a one-on-one appointment" });
    await joinForm.getByLabel("Monday").check();
    await joinForm.getByLabel("Thursday").check();
    await joinForm.getByLabel("From").fill("12:00");
    await joinForm.getByLabel("Until").fill("09:00");
    await joinForm.getByRole("button", { name: "Join the waitlist" }).click();
    await dana.page.waitForURL(/\/waitlist$/);
    assert.equal(await notice(dana.page), "Until: must be after start.");
    const again = dana.page.locator("form").filter({ hasText: "Join a waitlist" });
    await again.getByLabel("Monday").check();
    await again.getByLabel("Thursday").check();
    await again.getByLabel("From").fill("09:00");
    await again.getByLabel("Until").fill("12:00");
    await again.getByLabel("Therapist I would prefer (optional)").selectOption({ label: "Dr. Hannah Okafor" });
    if (javaScript) await screenshots(dana.page, "client-waitlist-join");
    await again.getByRole("button", { name: "Join the waitlist" }).click();
    await dana.page.waitForURL(/\/waitlist$/);
    assert.equal(await notice(dana.page), "You are on the waitlist. When a place frees up, it is held here for you.");
    assert.match(await dana.page.locator("main ul.plain").textContent(), /a one-on-one appointment with any therapist — since/);

    // Avery declines the group place held for her, saying why.
    await visit(avery.page, `${avery.orgPath}/waitlist`);
    const group = avery.page.locator("section.card").filter({ hasText: "Mindful Skills Group" });
    await group.getByLabel("If you decline, you may say why (optional)").fill("Tuesdays no longer suit me");
    await group.getByRole("button", { name: "Decline" }).click();
    await avery.page.waitForURL(/\/waitlist$/);
    assert.equal(await notice(avery.page), "You declined; you stay on the waitlist.");

    // The board no longer lists either offer as waiting for an answer.
    await visit(admin.page, `${admin.orgPath}/waitlist`);
    const after = (await admin.page.locator("main li").allTextContents()).join("\n");
    assert.doesNotMatch(after, /Dana Ellis — One-on-one/);
    assert.doesNotMatch(after, /Avery Brooks — Mindful Skills Group/);

    // A client reaches only her own entries: another's is 404.
    const logans = await admin.page.getByRole("link", { name: "Logan Moore" }).getAttribute("href");
    assert.equal((await avery.page.goto(logans)).status(), 404);
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
}

describe("waitlist", { concurrency: true }, () => {
  it("offers a suggested place, and clients accept or decline it (with JavaScript)", () => journey(true));
  it("offers a suggested place, and clients accept or decline it (without JavaScript)", () => journey(false));
});
