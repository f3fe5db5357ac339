// @gatepass/client (clients/typescript) against the real gatepass binary
// in development mode and the real peers: centrifuge-js connects and
// subscribes through its getToken callbacks, and stops at a final refusal;
// the NATS Node client connects through its authenticator and inbox
// prefix; officeRouter().connect() reaches the office-router Worker on
// workerd and stops when a revocation closes it with 4003; exchange()
// obtains grants from /oauth2/token and renews a revoked identity token
// once. Every request the client sends to gatepass is counted, so "not
// retried" is asserted, not assumed.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { createGatepass, GatepassError } from "@gatepass/client";
import { connect as natsConnect } from "@nats-io/transport-node";
import { Centrifuge, UnauthorizedError } from "centrifuge";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import WebSocket from "ws";

import { nextPublication } from "./lib/centrifugo.mjs";
import { startCentrifugo } from "./lib/centrifugo.mjs";
import { AUDIENCE, CENTRIFUGO_AUDIENCE, centrifugoTrust, freePort, ISSUER, startGatepass } from "./lib/gatepass.mjs";
import { startDevelopmentNATS } from "./lib/nats.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { wsURL } from "./lib/sockets.mjs";

const ADMIN_TOKEN = "interop-admin-token-client-0123456789abcdef0123";
const NODE_BACKEND = resolve(dirname(fileURLToPath(import.meta.url)), "../../examples/node-backend/exchange.mjs");

/** runNodeBackend runs examples/node-backend with args and env; it resolves to { code, stdout, stderr }. */
function runNodeBackend(args, env) {
  return new Promise((done) => {
    execFile(process.execPath, [NODE_BACKEND, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
}
const TIMEOUT_MS = 10_000;

/** within rejects after ms with what, unless promise settles first. */
function within(promise, what, ms = TIMEOUT_MS) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
  ]);
}

describe("@gatepass/client against gatepass and the real peers", { timeout: 120_000 }, () => {
  let gatepass, centrifugo, nats, worker, admin;

  before(async () => {
    // Centrifugo and the Worker fetch gatepass's JWKS only when a token
    // comes, so they start first, on gatepass's port chosen in advance;
    // gatepass names the Worker in its office grants and fans revocations
    // out to it.
    const port = await freePort();
    const adminPort = await freePort();
    centrifugo = await startCentrifugo(undefined, centrifugoTrust(port));
    worker = await startWorker(null, {
      CONN_JWT_ISSUER: ISSUER,
      CONN_JWT_AUDIENCE: AUDIENCE,
      CONN_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    });
    admin = `http://127.0.0.1:${adminPort}`;
    gatepass = await startGatepass(null, {
      port,
      extraEnv: {
        CENTRIFUGO_URL: centrifugo.wsURL,
        WEBSOCKET_BASE_URL: wsURL(worker.url),
        ADMIN_ADDR: `127.0.0.1:${adminPort}`,
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        OFFICE_ROUTER_ADMIN_URL: new URL("/admin/revoke", worker.url).href,
      },
    });
    nats = await startDevelopmentNATS(undefined, gatepass.devDir);
  });
  after(async () => {
    await nats?.stop();
    await gatepass?.stop();
    await worker?.stop();
    await centrifugo?.stop();
  });

  /**
   * user makes a client for caller: its identity token is minted once and
   * handed out until the client asks for a refreshed one (refresh: true),
   * when mint() gives the next. paths lists each request sent to gatepass.
   */
  async function user(caller, { mint = () => gatepass.devToken(caller), ...options } = {}) {
    let identity = await gatepass.devToken(caller);
    const paths = [];
    const asked = [];
    const gp = createGatepass({
      baseUrl: gatepass.baseURL,
      accessToken: async ({ refresh }) => {
        asked.push(refresh);
        if (refresh) identity = await mint();
        return identity;
      },
      fetch: (url, init) => {
        paths.push(new URL(url).pathname);
        return fetch(url, init);
      },
      WebSocket,
      ...options,
    });
    return { gp, paths, asked, count: (path) => paths.filter((p) => p === path).length };
  }

  /** revoke records a revocation of user in org through gatepass's admin API; it fans out to the Worker. */
  async function revoke(userId, orgId) {
    const res = await fetch(`${admin}/admin/v1/revocations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ user_id: userId, org_id: orgId, reason: "client interop" }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const answer = await res.json();
    assert.equal(res.status, 202, JSON.stringify(answer));
    return answer;
  }

  /** identityAfter mints identity tokens for caller until one is issued at or after cutOff (seconds). */
  async function identityAfter(caller, cutOff) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const token = await gatepass.devToken(caller);
      if (decodeJwt(token).iat >= cutOff) return token;
      if (Date.now() > deadline) throw new Error(`no identity token issued at or after ${cutOff} within 5 s`);
      await sleep(100);
    }
  }

  test("centrifuge-js connects and subscribes through getToken and getSubscriptionToken", async (t) => {
    const { gp, count } = await user({ user: "user_c1", org: "org_c", role: "member" });
    const tokens = gp.centrifugo({ UnauthorizedError });
    const url = await tokens.url();
    assert.equal(url, centrifugo.wsURL, "the connection grant names CENTRIFUGO_URL");
    const client = new Centrifuge(url, { websocket: WebSocket, getToken: tokens.getToken });
    t.after(() => client.disconnect());
    const connected = new Promise((resolve) => client.once("connected", resolve));
    client.connect();
    await within(connected, "connected");

    const sub = client.newSubscription("org:org_c", { getToken: tokens.getSubscriptionToken });
    const subscribed = new Promise((resolve) => sub.once("subscribed", resolve));
    sub.subscribe();
    await within(subscribed, "subscribed");
    const received = nextPublication(sub);
    await centrifugo.publish("org:org_c", { hello: "from the client" });
    assert.deepEqual(await received, { hello: "from the client" });
    // url() and getToken shared one connection grant.
    assert.equal(count("/api/v1/centrifugo/connection-token"), 1);
    assert.equal(count("/api/v1/centrifugo/subscription-token"), 1);
  });

  test("a channel the policy refuses (403 channel_not_allowed) is centrifuge's UnauthorizedError, asked for once", async (t) => {
    const { gp, count } = await user({ user: "user_c2", org: "org_c", role: "member" });
    const tokens = gp.centrifugo({ UnauthorizedError });
    await assert.rejects(tokens.getSubscriptionToken({ channel: "org:org_other" }), (err) => {
      assert.ok(err instanceof UnauthorizedError, `want centrifuge's UnauthorizedError, got ${err}`);
      assert.equal(err.code, "channel_not_allowed");
      assert.equal(err.status, 403);
      return true;
    });
    assert.equal(count("/api/v1/centrifugo/subscription-token"), 1);

    // Through centrifuge: the subscription ends as unauthorized and is not retried.
    const client = new Centrifuge(centrifugo.wsURL, { websocket: WebSocket, getToken: tokens.getToken });
    t.after(() => client.disconnect());
    const connected = new Promise((resolve) => client.once("connected", resolve));
    client.connect();
    await within(connected, "connected");
    const refused = client.newSubscription("org:org_other", { getToken: tokens.getSubscriptionToken });
    const unsubscribed = new Promise((resolve) => refused.once("unsubscribed", resolve));
    refused.subscribe();
    const ctx = await within(unsubscribed, "unsubscribed");
    assert.equal(ctx.code, 1, `unsubscribed as unauthorized, got ${JSON.stringify(ctx)}`);
    // A subscription that passes, after it: the refused one asked nothing more meanwhile.
    const allowed = client.newSubscription("org:org_c.chat", { getToken: tokens.getSubscriptionToken });
    const subscribed = new Promise((resolve) => allowed.once("subscribed", resolve));
    allowed.subscribe();
    await within(subscribed, "subscribed");
    assert.equal(count("/api/v1/centrifugo/subscription-token"), 3, "the refused channel was asked for again");
    assert.equal(refused.state, "unsubscribed");
  });

  test("the NATS Node client connects with the authenticator and inbox prefix", async (t) => {
    const { gp, count } = await user({ user: "user_n1", org: "org_n", role: "member" });
    const { gp: peer } = await user({ user: "user_n2", org: "org_n", role: "member" });
    const grants = gp.nats();
    t.after(() => grants.close());
    const opts = await grants.connectOptions({ transport: "tcp" });
    // The grant names the development address; the test's nats-server
    // listens on a free port instead.
    assert.deepEqual(opts.servers, ["nats://127.0.0.1:4222"]);
    assert.equal(opts.inboxPrefix, "_INBOX.user_n1");
    const nc = await natsConnect({ ...opts, servers: nats.url, reconnect: false, timeout: TIMEOUT_MS });
    t.after(() => nc.close());
    const peerOpts = await peer.nats().connectOptions({ transport: "tcp" });
    const pc = await natsConnect({ ...peerOpts, servers: nats.url, reconnect: false, timeout: TIMEOUT_MS });
    t.after(() => pc.close());

    // A request's reply comes back on the caller's own inbox, which only
    // the right prefix may subscribe to.
    const svc = pc.subscribe("org.org_n.echo", { callback: (_, m) => m.respond(`echo ${m.string()}`) });
    await pc.flush();
    const reply = await nc.request("org.org_n.echo", "hi", { timeout: TIMEOUT_MS });
    assert.equal(reply.string(), "echo hi");
    svc.unsubscribe();
    assert.equal(count("/api/v1/nats/token"), 1);
  });

  test("officeRouter().connect() relays through the Worker, and a revocation's 4003 ends its reconnects", async (t) => {
    const alice = await user({ user: "user_o1", org: "org_o", role: "member" });
    const bob = await user({ user: "user_o2", org: "org_o", role: "member" });
    const received = [];
    let heard;
    const heardOnce = new Promise((resolve) => (heard = resolve));
    const closes = [];
    const a = alice.gp.officeRouter().connect({ onClose: (info) => closes.push(info) });
    t.after(() => a.close());
    const b = bob.gp.officeRouter().connect({
      onMessage: (e) => {
        received.push(JSON.parse(String(e.data)));
        heard();
      },
    });
    t.after(() => b.close());
    for (const [name, conn] of [["alice", a], ["bob", b]]) {
      const deadline = Date.now() + TIMEOUT_MS;
      while (conn.state !== "open") {
        assert.ok(Date.now() < deadline, `${name}'s connection did not open: ${conn.state}`);
        await sleep(20);
      }
      assert.equal(conn.socket.protocol, "bearer", "the Worker selected the bearer subprotocol");
    }
    a.send("hello office");
    await within(heardOnce, "bob hears alice");
    assert.deepEqual(received[0], { from: "user_o1", role: "member", data: "hello office" });

    const answer = await revoke("user_o1", "org_o");
    assert.deepEqual(answer.fanout.office_router, { status: "done", count: 1 }, JSON.stringify(answer));
    // ws reports the close once workerd ends the connection (see officerouter-revoke.test.mjs).
    const stop = await within(a.stopped, "alice's connection stops", 35_000);
    assert.deepEqual(stop, { reason: "revoked", code: 4003, closeReason: "revoked" });
    assert.equal(a.state, "stopped");
    assert.deepEqual(closes, [], "a reconnect was scheduled after 4003");
    assert.equal(alice.count("/api/v1/cloudflare/request-access"), 1, "a grant was asked for after 4003");
    assert.equal(b.state, "open", "another user's connection was closed");
  });

  test("exchange() gets grants from /oauth2/token that the peers' keys verify", async () => {
    const { gp, count } = await user({ user: "user_x1", org: "org_x", role: "member" });
    const conn = await gp.exchange({ audience: "centrifugo" });
    assert.equal(conn.issued_token_type, "urn:ietf:params:oauth:token-type:jwt");
    assert.equal(conn.url, centrifugo.wsURL);
    const jwks = createRemoteJWKSet(new URL(gatepass.jwksURL));
    const { payload } = await jwtVerify(conn.access_token, jwks, { issuer: ISSUER, audience: CENTRIFUGO_AUDIENCE });
    assert.equal(payload.sub, "user_x1");
    // Reused, as the dedicated endpoints' grants are.
    assert.equal((await gp.exchange({ audience: "centrifugo" })).access_token, conn.access_token);
    const sub = await gp.exchange({ audience: "centrifugo", scope: "channel:org:org_x" });
    assert.equal(decodeJwt(sub.access_token).channel, "org:org_x");
    const nats = await gp.exchange({ audience: "nats" });
    assert.equal(nats.inbox_prefix, "_INBOX.user_x1");
    assert.equal(count("/oauth2/token"), 3);

    await assert.rejects(gp.exchange({ audience: "centrifugo", scope: "channel:org:org_other" }), (err) => {
      assert.ok(err instanceof GatepassError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.code, "invalid_target");
      return true;
    });
    assert.equal(count("/oauth2/token"), 4, "a final refusal was retried");
  });

  test("exchange() after a revocation: invalid_grant asks for a new identity token once, which passes", async () => {
    const caller = { user: "user_x2", org: "org_x", role: "member" };
    let cutOff;
    const { gp, asked, count } = await user(caller, { mint: () => identityAfter(caller, cutOff) });
    await gp.exchange({ audience: "supabase-realtime" });
    cutOff = Date.parse((await revoke(caller.user, caller.org)).not_before) / 1000;
    const fresh = await gp.exchange({ audience: "office-router" });
    const { payload } = await jwtVerify(fresh.access_token, createRemoteJWKSet(new URL(gatepass.jwksURL)), { issuer: ISSUER, audience: AUDIENCE });
    assert.equal(payload.sub, caller.user);
    assert.ok(payload.iat >= cutOff, "the grant was issued to the old identity");
    assert.deepEqual(asked, [false, false, true]);
    assert.equal(count("/oauth2/token"), 3);
  });

  test("examples/node-backend exchanges a user's identity token, and names a refusal's code", async () => {
    const identity = await gatepass.devToken({ user: "user_b1", org: "org_b", role: "member" });
    const env = { ACCESS_TOKEN: identity, GATEPASS_URL: gatepass.baseURL };
    const ok = await runNodeBackend(["--audience", "livekit", "--scope", "room:standup"], env);
    assert.equal(ok.code, 0, ok.stderr);
    const grant = JSON.parse(ok.stdout);
    assert.match(grant.server_url, /^wss?:\/\//);
    const livekitKey = new TextEncoder().encode(readFileSync(join(gatepass.devDir, "livekit-secret"), "utf8").trim());
    const { payload } = await jwtVerify(grant.access_token, livekitKey);
    assert.equal(payload.video.room, "org_b/standup");
    assert.equal(payload.sub, "user_b1");

    const refused = await runNodeBackend(["--audience", "centrifugo", "--scope", "channel:org:org_other"], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused: 400 invalid_target/);
    assert.ok(!refused.stderr.includes(identity.split(".")[2]), "the error output holds the identity token");
  });

  test("supabaseRealtime() and livekit().fetch() give tokens signed with the development secrets", async () => {
    const { gp } = await user({ user: "user_s1", org: "org_s", role: "member" });
    const realtime = await gp.supabaseRealtime()();
    const supabaseKey = new TextEncoder().encode(readFileSync(join(gatepass.devDir, "supabase-secret"), "utf8").trim());
    const rt = await jwtVerify(realtime, supabaseKey, { audience: "authenticated" });
    assert.equal(rt.payload.sub, "user_s1");
    assert.equal(rt.payload.app_metadata.org_id, "org_s");

    const details = await gp.livekit({ roomName: "standup", participantName: "Ada" }).fetch();
    assert.match(details.serverUrl, /^wss?:\/\//);
    const livekitKey = new TextEncoder().encode(readFileSync(join(gatepass.devDir, "livekit-secret"), "utf8").trim());
    const lk = await jwtVerify(details.participantToken, livekitKey);
    assert.equal(lk.payload.video.room, "org_s/standup");
    assert.equal(lk.payload.name, "Ada");
  });
});
