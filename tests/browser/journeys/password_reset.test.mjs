// A forgotten password: from the sign-in page a person asks for a link,
// opens it from the e-mail the demo wrote into its mail folder, chooses a
// new password and signs in with it; the spent link then refuses.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, visitor, accessible, screenshots, PASSWORD } from "../lib/support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const EMAIL = "blake@clients.example";

/** The reset link in the newest e-mail to `to` in the demo's mail folder. */
async function resetLink(server, to) {
  const dir = server.output().match(/E-mail is written into (\S+)/)?.[1];
  assert.ok(dir, `the demo says where e-mail goes:\n${server.output()}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".eml"))) {
      // Quoted-printable soft breaks and escapes, undone.
      const text = readFileSync(join(dir, name), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
      if (!text.includes("Subject: Reset your Circles password") || !text.includes(to)) continue;
      const link = text.match(/https?:\/\/[^\s"<]+\/password-reset\/cir_[A-Za-z0-9_-]{43}/)?.[0];
      if (link) return new URL(link).pathname;
    }
    if (Date.now() > deadline) throw new Error(`no reset e-mail to ${to} in ${dir}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function journey(javaScript) {
  const server = await startServer();
  const shots = javaScript;
  const { context, page } = await visitor(browser, server, { javaScript });
  try {
    await page.goto("/");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL(/\/password-reset$/);
    await accessible(page);
    if (shots) await screenshots(page, "password-reset-ask");
    await page.getByLabel("E-mail").fill(EMAIL);
    await page.getByRole("button", { name: "Send the link" }).click();
    await page.waitForURL(/\/password-reset\/sent$/);
    assert.match(await page.locator("main").innerText(), /If an account has that address/);
    await accessible(page);

    const link = await resetLink(server, EMAIL);
    await page.goto(link);
    await accessible(page);
    if (shots) await screenshots(page, "password-reset-choose");
    assert.match(await page.locator("main").innerText(), /This link works once, until \w{3} \d+ \w{3}, \d\d:\d\d/);
    // The usual password rule, said next to the field.
    await page.getByLabel("New password").fill("short");
    await page.getByRole("button", { name: "Set the password" }).click();
    assert.match(await page.locator("#f-new_password-error").innerText(), /10/);
    await accessible(page);
    await page.getByLabel("New password").fill("a brand new secret");
    await page.getByRole("button", { name: "Set the password" }).click();
    await page.waitForURL(/\/password-reset\/done$/);
    await accessible(page);

    await page.getByRole("link", { name: "Sign in" }).click();
    await page.getByLabel("E-mail").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.match(await page.locator("main").innerText(), /wrong/i, "the old password no longer works");
    await page.getByLabel("Password").fill("a brand new secret");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/orgs\/[0-9a-f-]+$/);

    const spent = await page.goto(link);
    assert.equal(spent.status(), 410);
    assert.match(await page.locator("main").innerText(), /already used/);
    await accessible(page);
  } finally {
    await context.close();
    await server.stop();
  }
}

describe("a forgotten password", { concurrency: true }, () => {
  it("with JavaScript", () => journey(true));
  it("without JavaScript", () => journey(false));
});
