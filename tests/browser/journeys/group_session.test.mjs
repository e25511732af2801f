// A moderator proposes a group session, both therapists accept, members
// join until it is full and the next is refused, the therapist marks
// attendance once it has begun, and the admin sees the group's statistics.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, person, visit, accessible, screenshots, local, notice } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const COMMUNITY = "Riverside Peer Support Circle";

async function journey(javaScript) {
  const server = await startServer();
  const shots = javaScript; // one set of pictures is enough
  const contexts = [];
  try {
    const join = async (email) => {
      const p = await person(browser, server, email, { javaScript });
      contexts.push(p.context);
      return p;
    };
    const [morgan, hannah, samuel, blake, casey, dana, admin] = await Promise.all([
      join("morgan@riverside.example"), join("hannah@riverside.example"), join("samuel@riverside.example"),
      join("blake@clients.example"), join("casey@clients.example"), join("dana@clients.example"), join("admin@riverside.example"),
    ]);
    const title = `Evening check-in (${javaScript ? "script" : "plain"})`;

    // The moderator proposes, with the group's rules beside the form.
    await visit(morgan.page, `${morgan.orgPath}/groups`);
    if (shots) await screenshots(morgan.page, "moderator-groups");
    await morgan.page.getByRole("link", { name: COMMUNITY }).click();
    await morgan.page.waitForURL(/\/groups\//);
    await visit(morgan.page, morgan.page.url());
    assert.match(await morgan.page.locator("main").textContent(), /Any member may propose a session/);
    if (shots) await screenshots(morgan.page, "moderator-group");

    // A refused proposal keeps what was typed and names the field.
    await morgan.page.getByLabel("Title").fill(title);
    await morgan.page.getByRole("button", { name: "Propose the session" }).click();
    await accessible(morgan.page);
    assert.equal(await morgan.page.getByLabel("Title").inputValue(), title);
    assert.match(await morgan.page.locator("#f-starts_at-error").textContent(), /must be/i);

    const startsAt = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3 * 60_000);
    await morgan.page.getByLabel("Starts").fill(local(startsAt).input);
    await morgan.page.getByLabel("Length in minutes").fill("15");
    await morgan.page.getByLabel("Seats").fill("2");
    await morgan.page.getByLabel("Dr. Hannah Okafor").check();
    await morgan.page.getByLabel("Dr. Samuel Ortiz").check();
    await morgan.page.getByRole("button", { name: "Propose the session" }).click();
    await morgan.page.waitForURL(/\/sessions\//);
    assert.match(await notice(morgan.page), /Proposed/);
    const sessionPath = new URL(morgan.page.url()).pathname;
    await visit(morgan.page, sessionPath);
    assert.match(await morgan.page.locator("main").textContent(), /Dr\. Hannah Okafor — invited, no answer yet/);
    if (shots) await screenshots(morgan.page, "moderator-session-board");

    // Both therapists accept from their invitations.
    for (const therapist of [hannah, samuel]) {
      await visit(therapist.page, `${therapist.orgPath}/invitations`);
      if (shots && therapist === hannah) await screenshots(therapist.page, "therapist-invitations");
      const card = therapist.page.locator("section.card", { hasText: title });
      await card.getByRole("button", { name: "Accept" }).click();
      await therapist.page.waitForURL(/\/invitations$/);
      assert.match(await notice(therapist.page), new RegExp(`You accepted “${title.replace(/[()]/g, "\\$&")}”`));
    }
    await visit(morgan.page, sessionPath);
    assert.match(await morgan.page.locator("main").textContent(), /scheduled/);

    // Members join until it is full; the next is told why in words.
    for (const client of [blake, casey]) {
      await visit(client.page, `${client.orgPath}/join`);
      await client.page.getByRole("button", { name: `Join ${title}` }).click();
      assert.match(await notice(client.page), /You have a seat/);
    }
    await visit(dana.page, `${dana.orgPath}/join`);
    if (shots) await screenshots(dana.page, "client-join");
    await dana.page.getByRole("button", { name: `Join ${title}` }).click();
    assert.match(await notice(dana.page), /All 2 seats are taken/);
    await visit(blake.page, blake.orgPath);
    assert.match(await blake.page.locator("main").textContent(), new RegExp("2/2 seats"));

    // Once it has begun, the therapist marks attendance on one sheet.
    const wait = startsAt.getTime() - Date.now() + 1_000;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await visit(hannah.page, sessionPath);
    await hannah.page.getByRole("link", { name: "Attendance sheet" }).click();
    await visit(hannah.page, hannah.page.url());
    await hannah.page.getByLabel("Attendance of Blake Carter").selectOption("ATTENDED");
    await hannah.page.getByLabel("Minutes Blake Carter was late").fill("5");
    await hannah.page.getByLabel("Attendance of Casey Diaz").selectOption("NO_SHOW");
    if (shots) await screenshots(hannah.page, "therapist-attendance");
    await hannah.page.getByRole("button", { name: "Save attendance" }).click();
    assert.match(await notice(hannah.page), /Attendance saved for 2 participants/);
    assert.match(await hannah.page.locator("main").textContent(), /Blake Carter — attended, 5 min late/);

    // The admin sees the group's statistics with the no-show counted.
    await visit(admin.page, `${admin.orgPath}/groups`);
    await admin.page.getByRole("link", { name: COMMUNITY }).click();
    await visit(admin.page, admin.page.url());
    const stats = await admin.page.locator("#stats + dl").textContent();
    assert.match(stats, /No-show rate\s*50%/);
    if (shots) await screenshots(admin.page, "admin-group-stats");
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
}

describe("a group session from proposal to statistics", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
