// The example page (examples/web) in a real browser: two pages, two users
// of one organization, against the whole development stack
// (scripts/dev-stack.sh). Every transport's grant comes from gatepass
// through @gatepass/client; the page's DOM says what each transport did.
// Short TTLs make the refresh paths run within the test: Centrifugo's
// connection and subscription tokens and the Supabase token are replaced
// on open connections, and nats-server closes a connection when its user
// JWT expires, after which the page must reconnect with a fresh grant.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { eventually, launchChromium, namespaceAddress, startDevStack } from "./lib/stack.mjs";

const ORG = "org_browser";
const USERS = ["user_browser_a", "user_browser_b"];
const ROOM = "browser";
// The shortest lifetimes gatepass accepts for Centrifugo and NATS (1 m);
// Supabase tokens may be shorter.
const TTL = { CENTRIFUGO_TOKEN_TTL: "1m", CENTRIFUGO_SUBSCRIPTION_TTL: "1m", NATS_TOKEN_TTL: "1m", SUPABASE_JWT_TTL: "15s" };
// Long enough for a 1 m grant to expire and its replacement to arrive.
const EXPIRY_WAIT_MS = 120_000;
const WAIT_MS = 30_000;

const artifacts = process.env.BROWSER_ARTIFACTS ?? tmpdir();
const word = () => randomBytes(6).toString("hex");

describe("the example page in Chromium against the development stack", () => {
  const devDir = mkdtempSync(join(tmpdir(), "gatepass-browser-dev-"));
  let stack;
  const pages = [];
  const consoles = [[], []];
  // The expiry of the first NATS user JWT page 0 connected with.
  let firstNatsExp;
  const cleanups = [];
  const cleanup = (fn) => cleanups.push(fn);
  let failed = false;
  // it is test, noting a failure so that after prints what the pages and
  // the stack said.
  const it = (name, fn) =>
    test(name, async (t) => {
      try {
        await fn(t);
      } catch (err) {
        failed = true;
        throw err;
      }
    });

  before(async () => {
    const started = Date.now();
    const ip = namespaceAddress();
    stack = await startDevStack(cleanup, {
      DEV_STACK_HOST: "127.0.0.1",
      DEV_LIVEKIT_NODE_IP: ip,
      DEV_DIR: devDir,
      DEV_STACK_DIR: join(devDir, "stack"),
      LOG_LEVEL: "warn",
      ...TTL,
    });
    console.log(`dev-stack ready in ${Date.now() - started} ms at ${stack.url}`);
    const context = await launchChromium(cleanup);
    for (const [i, user] of USERS.entries()) {
      const page = await context.newPage();
      page.on("console", (m) => consoles[i].push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (err) => consoles[i].push(`pageerror: ${err.message}`));
      const url = new URL(stack.url);
      url.search = new URLSearchParams({ user, org: ORG, role: "member", room: ROOM }).toString();
      await page.goto(url.toString());
      await page.waitForSelector("body[data-ready=true]", { timeout: WAIT_MS });
      await page.click("#connect");
      pages.push(page);
    }
    console.log(`two pages connecting ${Date.now() - started} ms after the start`);
  }, { timeout: 240_000 });

  after(async () => {
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: join(artifacts, i === 0 ? "browser.png" : `browser-${i + 1}.png`), fullPage: true }).catch(() => {});
    }
    // On a failure, what the pages and the stack said is the first thing to read.
    if (failed || pages.length < USERS.length) {
      for (const [i, lines] of consoles.entries()) console.log(`--- page ${USERS[i]} console ---\n${lines.slice(-80).join("\n")}`);
      console.log(`--- dev-stack ---\n${stack?.logs().slice(-16_000) ?? ""}`);
      const stackDir = join(devDir, "stack");
      for (const log of existsSync(stackDir) ? readdirSync(stackDir, { withFileTypes: true }) : []) {
        if (log.isFile() && log.name.endsWith(".log")) {
          console.log(`--- ${log.name} ---\n${readFileSync(join(stackDir, log.name), "utf8").slice(-6_000)}`);
        }
      }
    }
    for (const fn of cleanups.reverse()) await fn();
    rmSync(devDir, { recursive: true, force: true });
  }, { timeout: 60_000 });

  // status waits until a section of page i shows status.
  const status = (i, section, want, timeout = WAIT_MS) =>
    pages[i].waitForSelector(`#${section}[data-status="${want}"]`, { timeout }).catch(async (err) => {
      const got = await pages[i].locator(`#${section} h2 .status`).textContent().catch(() => "?");
      throw new Error(`${USERS[i]}'s ${section} is "${got}", want ${want}: ${err.message}`);
    });
  const attr = (i, selector, name) => pages[i].locator(selector).getAttribute(name);
  const num = async (i, selector, name) => Number(await attr(i, selector, name));

  // send types text into section's form on page from and waits until page
  // to lists it as from that user.
  async function exchange(section, from, to) {
    const text = `${section}-${word()}`;
    await pages[from].fill(`#${section} form.send input`, text);
    await pages[from].click(`#${section} form.send button`);
    await pages[to].waitForSelector(`#${section} .messages li[data-from="${USERS[from]}"][data-text="${text}"]`, { timeout: WAIT_MS });
  }

  it("two pages of one organization exchange messages through the office-router", async () => {
    await status(0, "office", "connected");
    await status(1, "office", "connected");
    await exchange("office", 0, 1);
    await exchange("office", 1, 0);
  });

  it("two pages exchange messages through NATS over WebSocket", async () => {
    await status(0, "nats", "connected");
    await status(1, "nats", "connected");
    assert.equal(await pages[0].locator("#nats .subject").textContent(), `org.${ORG}.chat`);
    assert.equal(await num(0, "#nats", "data-grants"), 1);
    firstNatsExp = await num(0, "#nats", "data-exp");
    await exchange("nats", 0, 1);
    await exchange("nats", 1, 0);
  });

  it("a Centrifugo subscription receives a publication", async () => {
    await status(0, "centrifugo", "connected");
    await pages[0].waitForSelector(`#centrifugo[data-subscription="subscribed"]`, { timeout: WAIT_MS });
    await status(1, "centrifugo", "connected");
    await pages[1].waitForSelector(`#centrifugo[data-subscription="subscribed"]`, { timeout: WAIT_MS });
    await exchange("centrifugo", 0, 1);
  });

  it("both pages join the LiveKit room and see each other", async () => {
    await status(0, "livekit", "connected");
    await status(1, "livekit", "connected");
    await pages[0].waitForSelector(`#livekit-participants li[data-identity^="${USERS[1]}"]`, { timeout: WAIT_MS });
    await pages[1].waitForSelector(`#livekit-participants li[data-identity^="${USERS[0]}"]`, { timeout: WAIT_MS });
  });

  it("the Supabase token passes gatepass token verify", async () => {
    await status(0, "supabase", "connected");
    const token = (await pages[0].locator("#supabase-token").textContent()).trim();
    const out = await verify(token, ["--secret-file", join(devDir, "supabase-secret"), "--issuer", "qubital-backend", "--audience", "authenticated"]);
    assert.match(out, new RegExp(USERS[0]));
    assert.match(out, new RegExp(ORG));
  });

  it("Centrifugo and Supabase tokens are refreshed without a disconnect", async () => {
    await eventually(async () => (await num(0, "#centrifugo", "data-token-refreshes")) >= 1, {
      timeoutMs: EXPIRY_WAIT_MS,
      what: "a Centrifugo connection token refresh",
    });
    await eventually(async () => (await num(0, "#centrifugo", "data-subscription-refreshes")) >= 1, {
      timeoutMs: EXPIRY_WAIT_MS,
      what: "a Centrifugo subscription token refresh",
    });
    await eventually(async () => (await num(0, "#supabase", "data-refreshes")) >= 1, {
      timeoutMs: EXPIRY_WAIT_MS,
      what: "a Supabase token refresh",
    });
    assert.equal(await num(0, "#centrifugo", "data-disconnects"), 0, "Centrifugo disconnected on a refresh");
    assert.equal(await attr(0, "#centrifugo", "data-status"), "connected");
    assert.equal(await attr(0, "#centrifugo", "data-subscription"), "subscribed");
    // The refreshed subscription still delivers.
    await exchange("centrifugo", 1, 0);
  });

  it("NATS reconnects with a fresh grant when its JWT expires", async () => {
    assert.ok(firstNatsExp > 0, "the first NATS test saw no grant");
    await eventually(async () => (await num(0, "#nats", "data-reconnects")) >= 1 && (await num(0, "#nats", "data-grants")) >= 2, {
      timeoutMs: EXPIRY_WAIT_MS,
      what: "a NATS reconnect with a second grant",
    });
    await status(0, "nats", "connected");
    // The server closed the connection because the JWT expired.
    assert.match((await attr(0, "#nats", "data-last-error")) ?? "", /authentication expired/i);
    assert.ok((await num(0, "#nats", "data-exp")) > firstNatsExp, "the new user JWT expires later than the first");
    // Page 1's grant was issued moments after page 0's and expires as
    // moments later: a message sent before its reconnect would reach a
    // connection about to close (NATS delivers at most once).
    await eventually(async () => (await num(1, "#nats", "data-reconnects")) >= 1 && (await num(1, "#nats", "data-grants")) >= 2, {
      timeoutMs: EXPIRY_WAIT_MS,
      what: "page 1's NATS reconnect with a second grant",
    });
    await status(1, "nats", "connected", EXPIRY_WAIT_MS);
    await exchange("nats", 0, 1);
    await exchange("nats", 1, 0);
  });
});

// verify runs gatepass token verify on token and returns what it printed;
// it rejects with its message when the token fails.
function verify(token, args) {
  return new Promise((resolve, reject) => {
    const child = execFile(process.env.GATEPASS_BIN, ["token", "verify", ...args, "-"], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`gatepass token verify failed: ${stderr.trim()}`));
      else resolve(stdout);
    });
    child.stdin.end(token);
  });
}
