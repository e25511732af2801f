// A client cannot reach another client's record; signed-out visitors reach
// nothing; every page is marked uncacheable and locked down.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, person, visit, accessible, screenshots, notice } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

async function journey(javaScript) {
  const server = await startServer();
  const contexts = [];
  try {
    const admin = await person(browser, server, "admin@riverside.example", { javaScript });
    const avery = await person(browser, server, "avery@clients.example", { javaScript });
    contexts.push(admin.context, avery.context);

    await visit(admin.page, `${admin.orgPath}/people`);
    if (javaScript) await screenshots(admin.page, "admin-people");
    const blakePath = await admin.page.getByRole("link", { name: "Blake Carter" }).getAttribute("href");
    const shown = await admin.page.goto(blakePath);
    assert.equal(shown.status(), 200);

    // The admin enrols a client in the screened group and records the screening.
    await visit(admin.page, `${admin.orgPath}/groups`);
    await admin.page.getByRole("link", { name: "Thursday Anxiety Group" }).click();
    await admin.page.getByLabel("Add a member").selectOption({ label: "Avery Brooks" });
    // The group is closed and has met: an admin adds a member only with a reason.
    await admin.page.getByLabel(/Reason for adding/).fill("Referred by her therapist after intake");
    await admin.page.getByRole("button", { name: "Add", exact: true }).click();
    assert.match(await notice(admin.page), /pending screening/);
    await accessible(admin.page);
    await admin.page.getByLabel("Notes on Avery Brooks").fill("Intake interview done");
    await admin.page.getByRole("button", { name: "Approve the screening of Avery Brooks" }).click();
    assert.match(await notice(admin.page), /Screening approved/);
    if (javaScript) await screenshots(admin.page, "admin-group-roster");

    // Another client's record is not there for Avery.
    const refused = await avery.page.goto(blakePath);
    assert.equal(refused.status(), 404);
    assert.doesNotMatch(await avery.page.content(), /Blake|blake@clients/);
    // Their own pages are private and never cached.
    const own = await visit(avery.page, `${avery.orgPath}/schedule`);
    assert.equal(own.headers()["cache-control"], "no-store");
    assert.match(own.headers()["content-security-policy"], /script-src 'self'/);
    await visit(avery.page, `${avery.orgPath}/profile`);
    if (javaScript) await screenshots(avery.page, "client-profile");

    // Signing out ends the session: the pages send the visitor to sign in.
    await avery.page.getByRole("button", { name: "Sign out" }).click();
    await avery.page.waitForURL(`${server.base}/`);
    await avery.page.goto(`${avery.orgPath}/schedule`);
    assert.equal(new URL(avery.page.url()).pathname, "/");
    await visit(avery.page, "/");
    if (javaScript) await screenshots(avery.page, "sign-in");
  } catch (error) {
    throw new Error(`${error.message}\n--- server output ---\n${server.output().slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
    await server.stop();
  }
}

describe("privacy between clients", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
