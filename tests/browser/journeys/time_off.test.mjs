// A therapist asks for a day off; the admin approves it with a cover and
// moves the affected sessions; the client's schedule names the new therapist.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, person, visit, accessible, screenshots, local, notice } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** The first weekday after today in New York: Dr. Okafor's first appointments. */
function nextWeekday() {
  let at = new Date(Date.now() + 24 * 3600_000);
  while (["Sat", "Sun"].includes(local(at).weekday)) at = new Date(at.getTime() + 24 * 3600_000);
  return local(at).date;
}

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
    const [hannah, admin, avery] = await Promise.all([
      join("hannah@riverside.example"), join("admin@riverside.example"), join("avery@clients.example"),
    ]);
    const day = nextWeekday();

    // Before: Avery's appointment that day is with Dr. Okafor.
    await visit(avery.page, `${avery.orgPath}/schedule?week=${day}`);
    const before = avery.page.locator(`section[aria-labelledby="d-${day}"]`);
    assert.match(await before.textContent(), /with Dr\. Hannah Okafor/);
    if (shots) await screenshots(avery.page, "client-schedule");

    // The therapist's week: free slots, and an overlapping rule refused by name.
    await visit(hannah.page, `${hannah.orgPath}/hours`);
    if (shots) await screenshots(hannah.page, "therapist-hours");
    const rules = await hannah.page.locator('select[name="weekday"]').count();
    const blank = rules - 3;
    await hannah.page.getByLabel(`Day of rule ${blank + 1}`, { exact: true }).selectOption("monday");
    await hannah.page.getByLabel(`Start of rule ${blank + 1}`, { exact: true }).fill("10:00");
    await hannah.page.getByLabel(`End of rule ${blank + 1}`, { exact: false }).fill("11:00");
    await hannah.page.getByRole("button", { name: "Save my week" }).click();
    await accessible(hannah.page);
    assert.match(await notice(hannah.page), /correct the fields/);
    assert.match(await hannah.page.locator("main").textContent(), /overlap/i);

    // The therapist asks for the day off.
    await visit(hannah.page, `${hannah.orgPath}/time-off`);
    await hannah.page.getByLabel("Kind").selectOption("PERSONAL");
    await hannah.page.getByLabel("From").fill(`${day}T00:00`);
    await hannah.page.getByLabel("Until").fill(`${day}T23:30`);
    await hannah.page.getByLabel("Reason (optional)").fill("Moving house");
    await hannah.page.getByRole("button", { name: "Send the request" }).click();
    assert.match(await notice(hannah.page), /request is sent/);
    await accessible(hannah.page);
    if (shots) await screenshots(hannah.page, "therapist-time-off");

    // The admin sees what it affects and who could cover, approves, and moves the sessions.
    await visit(admin.page, `${admin.orgPath}/time-off`);
    await admin.page.getByRole("link", { name: "Decide on the request of Dr. Hannah Okafor" }).click();
    await visit(admin.page, admin.page.url());
    assert.match(await admin.page.locator("main").textContent(), /Individual therapy/);
    if (shots) await screenshots(admin.page, "admin-time-off-decision");
    const cover = await admin.page.getByLabel("Cover").locator("option:checked").textContent();
    const coverName = cover.split(" — ")[0].trim();
    await admin.page.getByRole("button", { name: "Approve" }).click();
    assert.match(await notice(admin.page), /Approved/);
    await admin.page.getByLabel("Cover").selectOption({ label: cover.trim() });
    await admin.page.getByRole("button", { name: "Move every affected session to this therapist" }).click();
    assert.match(await notice(admin.page), /3 sessions moved/);
    await accessible(admin.page);

    // The client's schedule now names the cover.
    await visit(avery.page, `${avery.orgPath}/schedule?week=${day}`);
    const after = avery.page.locator(`section[aria-labelledby="d-${day}"]`);
    assert.match(await after.textContent(), new RegExp(`with ${coverName.replace(".", "\\.")}`));
    assert.doesNotMatch(await after.textContent(), /Hannah Okafor/);
    await visit(avery.page, `${avery.orgPath}/notifications`);
    if (shots) await screenshots(avery.page, "client-notifications");
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
}

describe("time off approved with cover", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
