// officeRouter().connect(): a fresh grant on every attempt, sent as the
// "bearer" subprotocol, reconnects with backoff, and the two ways it
// stops for good: a final refusal and a 4003 close.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { BEARER_PROTOCOL, GatepassError } from "../dist/index.js";
import { client, fakeSockets, json, networkError, problem, until } from "./script.mjs";

let grantNo = 0;
const officeGrant = () => json(200, { url: "wss://office.test/ws", token: `grant-${++grantNo}`, tokenType: "Bearer", expiresIn: 60, expiresAt: "x" });

/** setup makes a client whose sleeps the test releases one by one (waits), with fake sockets. */
function setup(answers, extra = {}) {
  const sockets = fakeSockets();
  const waits = [];
  const sleep = (ms, signal) =>
    new Promise((resolve, reject) => {
      waits.push({ ms, resolve });
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  const c = client({ answers, WebSocket: sockets.WebSocket, sleep, ...extra });
  const events = [];
  const handlers = {
    onOpen: () => events.push("open"),
    onMessage: (e) => events.push(`message ${e.data}`),
    onClose: (i) => events.push(`close ${i.code} opened=${i.opened} in=${i.reconnectInMs}`),
    onError: (err, i) => events.push(`error ${err.name} in=${i.reconnectInMs}`),
    onStop: (s) => events.push(`stop ${s.reason}`),
  };
  return { ...c, sockets, waits, events, handlers };
}

describe("officeRouter().connect()", () => {
  test("opens the grant's URL with the subprotocols bearer and the grant", async () => {
    const s = setup([officeGrant()]);
    const conn = s.gp.officeRouter().connect(s.handlers);
    const ws = await s.sockets.next();
    assert.equal(ws.url, "wss://office.test/ws");
    assert.equal(ws.protocols.length, 2);
    assert.equal(ws.protocols[0], BEARER_PROTOCOL);
    assert.match(ws.protocols[1], /^grant-\d+$/);
    assert.equal(s.net.requests[0].path, "/api/v1/cloudflare/request-access");
    assert.equal(s.net.requests[0].authorization, "Bearer id-1");
    assert.equal(s.net.requests[0].body, undefined, "no body without orgId");
    ws.serverOpen();
    assert.equal(conn.state, "open");
    conn.send("hello");
    assert.deepEqual(ws.sent, ["hello"]);
    ws.serverMessage('{"from":"u2","data":"hi"}');
    assert.deepEqual(s.events, ["open", 'message {"from":"u2","data":"hi"}']);
    conn.close();
    assert.deepEqual(ws.closedWith, { code: 1000, reason: "closed" });
    assert.deepEqual(await conn.stopped, { reason: "closed" });
  });

  test("orgId is sent in the body", async () => {
    const s = setup([officeGrant()]);
    const conn = s.gp.officeRouter({ orgId: "org_1" }).connect();
    await s.sockets.next();
    assert.deepEqual(s.net.requests[0].json, { orgId: "org_1" });
    conn.close();
  });

  test("a dropped socket reconnects after a backoff with a fresh grant; never the old one", async () => {
    const s = setup([officeGrant(), officeGrant(), officeGrant()]);
    const conn = s.gp.officeRouter().connect(s.handlers);
    const first = await s.sockets.next();
    first.serverOpen();
    first.serverClose(1006);
    await until(() => s.waits.length === 1);
    // Equal jitter with random 0.5: 3/4 of the 1 s first delay.
    assert.equal(s.waits[0].ms, 750);
    assert.equal(s.net.requests.length, 1, "asked for a grant before the backoff ended");
    s.waits[0].resolve();
    const second = await s.sockets.next();
    assert.notEqual(second.protocols[1], first.protocols[1], "a grant was used twice");
    assert.equal(s.net.requests.length, 2);
    second.serverOpen();
    assert.equal(conn.opens, 2);
    // After a socket that opened, the backoff starts over.
    second.serverClose(1011);
    await until(() => s.waits.length === 2);
    assert.equal(s.waits[1].ms, 750);
    conn.close();
    assert.deepEqual(s.events, ["open", "close 1006 opened=true in=750", "open", "close 1011 opened=true in=750", "stop closed"]);
  });

  test("a failed upgrade is retried with a growing backoff, each time with a fresh grant", async () => {
    const s = setup([officeGrant(), officeGrant(), officeGrant(), officeGrant()]);
    const conn = s.gp.officeRouter({ minDelayMs: 100, maxDelayMs: 250 }).connect(s.handlers);
    for (let i = 0; i < 3; i++) {
      (await s.sockets.next()).failUpgrade();
      await until(() => s.waits.length === i + 1);
      s.waits[i].resolve();
    }
    const fourth = await s.sockets.next();
    assert.deepEqual(
      s.waits.map((w) => w.ms),
      [75, 150, 187.5],
      "doubling from 100 ms, capped at 250 ms, three quarters with random 0.5",
    );
    assert.equal(new Set(s.sockets.built.map((w) => w.protocols[1])).size, 4);
    assert.equal(s.net.requests.length, 4);
    fourth.serverOpen();
    assert.equal(conn.state, "open");
    conn.close();
  });

  test("a 4003 close (revoked) stops reconnecting", async () => {
    const s = setup([officeGrant()]);
    const conn = s.gp.officeRouter().connect(s.handlers);
    const ws = await s.sockets.next();
    ws.serverOpen();
    ws.serverClose(4003, "revoked");
    assert.deepEqual(await conn.stopped, { reason: "revoked", code: 4003, closeReason: "revoked" });
    assert.equal(conn.state, "stopped");
    assert.equal(s.waits.length, 0);
    assert.equal(s.net.requests.length, 1);
    assert.deepEqual(s.events, ["open", "stop revoked"]);
  });

  test("a final refusal of the grant stops it, carrying the code", async () => {
    const s = setup([problem(403, "no_organization")]);
    const conn = s.gp.officeRouter().connect(s.handlers);
    const stop = await conn.stopped;
    assert.equal(stop.reason, "refused");
    assert.ok(stop.error instanceof GatepassError);
    assert.equal(stop.error.code, "no_organization");
    assert.equal(s.sockets.built.length, 0);
    assert.equal(s.net.requests.length, 1);
  });

  test("a grant that cannot be had now is asked again after a backoff", async () => {
    const s = setup([networkError, officeGrant()], { retries: 0 });
    const conn = s.gp.officeRouter().connect(s.handlers);
    await until(() => s.waits.length === 1);
    assert.deepEqual(s.events, ["error GatepassUnavailableError in=750"]);
    s.waits[0].resolve();
    (await s.sockets.next()).serverOpen();
    assert.equal(conn.state, "open");
    conn.close();
  });

  test("close() during the backoff ends it, and no socket follows", async () => {
    const s = setup([officeGrant()]);
    const conn = s.gp.officeRouter().connect(s.handlers);
    (await s.sockets.next()).failUpgrade();
    await until(() => s.waits.length === 1);
    conn.close();
    assert.deepEqual(await conn.stopped, { reason: "closed" });
    await new Promise((r) => setImmediate(r));
    assert.equal(s.sockets.built.length, 1);
    assert.equal(s.net.requests.length, 1);
  });

  test("clear() (sign-out) closes the socket and stops", async () => {
    const s = setup([officeGrant()]);
    const conn = s.gp.officeRouter().connect(s.handlers);
    const ws = await s.sockets.next();
    ws.serverOpen();
    s.gp.clear();
    assert.deepEqual(await conn.stopped, { reason: "closed" });
    assert.equal(ws.closedWith.code, 1000);
  });

  test("send() throws when no socket is open", async () => {
    const s = setup([officeGrant()]);
    const conn = s.gp.officeRouter().connect();
    await s.sockets.next();
    assert.throws(() => conn.send("x"), /not open/);
    conn.close();
  });

  test("without a WebSocket constructor it says how to pass one", () => {
    const { gp } = client();
    const saved = globalThis.WebSocket;
    delete globalThis.WebSocket;
    try {
      assert.throws(() => gp.officeRouter().connect(), /WebSocket option/);
    } finally {
      if (saved) globalThis.WebSocket = saved;
    }
  });
});
