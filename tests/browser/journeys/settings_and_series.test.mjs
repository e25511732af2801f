// An admin chooses their own time zone, switches organisation, changes a
// role and the organisation's rules, creates a weekly group, edits its
// settings, generates its sessions and changes the series; a client reads
// their own attendance and cannot reach the admin's pages.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, person, visit, accessible, screenshots, local, notice } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const DAY = 24 * 60 * 60 * 1000;

/** The next Thursday at least a week ahead, as YYYY-MM-DD in New York. */
function nextThursday() {
  let at = new Date(Date.now() + 7 * DAY);
  while (local(at).weekday !== "Thu") at = new Date(at.getTime() + DAY);
  return at;
}

async function journey(javaScript) {
  const server = await startServer();
  const shots = javaScript;
  const contexts = [];
  try {
    const admin = await person(browser, server, "admin@riverside.example", { javaScript });
    const blake = await person(browser, server, "blake@clients.example", { javaScript });
    contexts.push(admin.context, blake.context);
    const page = admin.page;
    const main = async () => (await page.locator("main").textContent()).replace(/\s+/g, " ");

    // Their own time zone: a wrong name is refused next to the field, a
    // right one changes every page.
    await visit(page, `${admin.orgPath}/profile`);
    await page.getByLabel("Time zone").fill("Mars/Olympus");
    await page.getByRole("button", { name: "Save time zone" }).click();
    await accessible(page);
    assert.match(await page.locator("#f-timezone-error").textContent(), /time zone/i);
    assert.equal(await page.getByLabel("Time zone").inputValue(), "Mars/Olympus");
    await page.getByLabel("Time zone").fill("Europe/Lisbon");
    await page.getByRole("button", { name: "Save time zone" }).click();
    assert.match(await notice(page), /Europe\/Lisbon/);
    await visit(page, `${admin.orgPath}/schedule`);
    assert.match(await page.locator("footer").textContent(), /Times in Europe\/Lisbon/);
    if (shots) await screenshots(page, "admin-schedule-lisbon");
    await visit(page, `${admin.orgPath}/audit`);
    assert.match(await main(), /\d\d:\d\d WES?T/, "the audit log's times carry Lisbon's abbreviation");
    assert.doesNotMatch(await main(), /\d\d:\d\d ES?T/);
    await visit(page, `${admin.orgPath}/profile`);
    if (shots) await screenshots(page, "admin-profile-zone");
    await page.getByLabel("Time zone").fill("");
    await page.getByRole("button", { name: "Save time zone" }).click();
    assert.match(await notice(page), /organisation/);
    assert.match(await page.locator("footer").textContent(), /Times in America\/New_York/);

    // A second organisation (made with an API token, as a script would):
    // the header then offers to switch between them.
    await page.getByLabel("What the token is for").fill("journey");
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = (await page.locator("#new-token").textContent()).trim();
    const created = await fetch(`${server.base}/api/v1/orgs`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Lakeside Clinic", timezone: "Europe/Lisbon" }),
    });
    assert.equal(created.status, 201, await created.text());
    await visit(page, admin.orgPath);
    await page.getByLabel("Organisation").selectOption({ label: "Lakeside Clinic (admin)" });
    await page.getByRole("button", { name: "Switch" }).click();
    await page.waitForURL((url) => url.pathname !== admin.orgPath && /^\/orgs\/[0-9a-f-]+$/.test(url.pathname));
    await accessible(page);
    assert.match(await page.locator("header .org").textContent(), /Lakeside Clinic/);
    assert.match(await page.locator("footer").textContent(), /Europe\/Lisbon/, "the other organisation's zone");
    await page.getByLabel("Organisation").selectOption({ label: "Riverside Counselling (admin)" });
    await page.getByRole("button", { name: "Switch" }).click();
    await page.waitForURL(`${server.base}${admin.orgPath}`);

    // A role change from the people page.
    await visit(page, `${admin.orgPath}/people`);
    await page.getByLabel("Role of Dr. Jonah Fields", { exact: true }).selectOption("moderator");
    await page.getByRole("button", { name: "Change the role of Dr. Jonah Fields" }).click();
    assert.match(await notice(page), /Dr\. Jonah Fields is now moderator/);
    assert.equal(await page.getByLabel("Role of Dr. Jonah Fields", { exact: true }).inputValue(), "moderator");
    assert.equal(await page.getByLabel("Role of Alex Rivera", { exact: true }).count(), 0, "never one's own role");
    await accessible(page);

    // The organisation's rules.
    await visit(page, `${admin.orgPath}/settings`);
    if (shots) await screenshots(page, "admin-org-settings");
    await page.getByLabel(/Refuse attendance recorded more than 30 days/).check();
    await page.getByRole("button", { name: "Save settings" }).click();
    assert.match(await notice(page), /now refused/);
    assert.equal(await page.getByLabel(/Refuse attendance recorded/).isChecked(), true);
    // Reminders: two days and half an hour before, in words once saved.
    await page.getByLabel(/Remind people this many minutes before each session/).fill("2880, 30");
    await page.getByRole("button", { name: "Save settings" }).click();
    await notice(page);
    assert.equal(await page.getByLabel(/Remind people this many minutes/).inputValue(), "2880, 30");
    assert.match(await page.locator("#f-reminders-hint").innerText(), /2 days and 30 minutes before/);
    await accessible(page);

    // A new weekly group; a missing name is said next to the field.
    const name = `Thursday Grief Group (${javaScript ? "script" : "plain"})`;
    const first = nextThursday();
    await visit(page, `${admin.orgPath}/groups`);
    await page.getByRole("link", { name: "New group" }).click();
    await page.waitForURL(/\/groups\/new$/);
    await accessible(page);
    await page.getByLabel("Thursday").check();
    await page.getByLabel("First date").fill(local(first).date);
    await page.getByLabel("Starts at").fill("18:00");
    await page.getByRole("button", { name: "Create the group" }).click();
    await accessible(page);
    assert.match(await page.locator("#f-name-error").textContent(), /must not be empty/i);
    assert.equal(await page.getByLabel("Thursday").isChecked(), true, "what was chosen stays");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Kind").selectOption("SUPPORT");
    await page.getByLabel("Dr. Mei Chen").check();
    if (shots) await screenshots(page, "admin-new-group");
    await page.getByRole("button", { name: "Create the group" }).click();
    await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
    assert.match(await notice(page), /is created/);
    const groupPath = new URL(page.url()).pathname;

    // Its settings: a refused number is shown by its field, then saved.
    await page.getByRole("link", { name: "Settings and rules" }).click();
    await page.waitForURL(/\/settings$/);
    await accessible(page);
    if (shots) await screenshots(page, "admin-group-settings");
    await page.getByLabel("Seats in a session unless chosen otherwise").fill("999");
    await page.getByLabel("Who proposes sessions").selectOption("ALL_MEMBERS");
    await page.getByRole("button", { name: "Save the settings" }).click();
    await accessible(page);
    assert.ok(await page.locator("#f-default_capacity-error").isVisible());
    assert.equal(await page.getByLabel("Who proposes sessions").inputValue(), "ALL_MEMBERS");
    await page.getByLabel("Seats in a session unless chosen otherwise").fill("10");
    assert.equal(await page.getByLabel("Seats in a session unless chosen otherwise").inputValue(), "10");
    // Sessions only on Thursday and Friday evenings: one row per window.
    for (const [row, day] of [["Window 1", "thursday"], ["Window 2", "friday"]]) {
      const window = page.getByRole("group", { name: row });
      await window.getByLabel("Day").selectOption(day);
      await window.getByLabel("From").fill("17:00");
      await window.getByLabel("Until").fill("22:00");
    }
    await page.getByRole("button", { name: "Save the settings" }).click();
    await page.waitForURL(`${server.base}${groupPath}`, { timeout: 5000 }).catch(async (e) => {
      throw new Error(`not saved: ${await main()}`);
    });
    assert.match(await notice(page), /are saved/);
    assert.match(await main(), /Any member may propose a session/);
    assert.match(await main(), /Capacity 10/);
    assert.match(await main(), /Thursdays 17:00–22:00; Fridays 17:00–22:00/);

    // The series: generate four weeks and read the report.
    await page.getByRole("link", { name: "The series" }).click();
    await page.waitForURL(/\/series$/);
    await accessible(page);
    assert.match(await main(), /Every week on Thursday, 18:00/);
    await page.getByLabel("Generate from").fill(local(first).date);
    await page.getByLabel("Until").fill(local(new Date(first.getTime() + 27 * DAY)).date);
    await page.getByLabel(/Make what can be made/).check();
    await page.getByRole("button", { name: "Generate" }).click();
    await accessible(page);
    if ((await page.locator("#report").count()) === 0) throw new Error(`no report: ${await main()}`);
    assert.match(await page.locator("#report").textContent(), /(\d) new sessions/);
    const made = Number((await page.locator("#report").textContent()).match(/(\d) new sessions/)[1]);
    assert.ok(made >= 3, `most Thursdays are made (${made})`);
    if (shots) await screenshots(page, "admin-series-report");

    // Change the series from its second occurrence on: later sessions move.
    await page.getByRole("link", { name: "Change the series from this one on" }).nth(1).click();
    await page.waitForURL(/\?from=\d{4}-\d{2}-\d{2}/);
    await accessible(page);
    await page.getByLabel("New start time").fill("19:00");
    await page.getByRole("button", { name: "Change the series" }).click();
    await accessible(page);
    assert.match(await page.locator("#report").textContent(), /generated sessions moved with it/);
    assert.match(await main(), /Every week on Thursday, 19:00/);

    // Move only the first one, a day later.
    await visit(page, `${groupPath}/series`);
    const firstMove = page.locator("details").first();
    await firstMove.locator("summary").click();
    const input = firstMove.getByLabel(/New start/);
    const [date, clock] = (await input.inputValue()).split("T");
    const later = new Date(`${date}T12:00:00Z`).getTime() + DAY;
    await input.fill(`${new Date(later).toISOString().slice(0, 10)}T${clock}`);
    await firstMove.getByRole("button", { name: "Move" }).click();
    assert.match(await notice(page), /Moved to Fri/);

    // A client reads their own attendance; the admin's pages are not theirs.
    await visit(blake.page, `${blake.orgPath}/my-attendance`);
    assert.match(await blake.page.locator("main").textContent(), /Attendance rate/);
    if (shots) await screenshots(blake.page, "client-attendance");
    const refused = await blake.page.goto(`${blake.orgPath}/settings`);
    assert.equal(refused.status(), 403);
    const series = await blake.page.goto(`${groupPath.replace(admin.orgPath, blake.orgPath)}/settings`);
    assert.ok([403, 404].includes(series.status()), `a client does not edit a group (${series.status()})`);
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
}

describe("settings, people and a group's series", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
