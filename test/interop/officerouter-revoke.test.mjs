// Revocations on real workerd: POST /admin/revoke on the office-router
// Worker closes a revoked user's sockets with 4003 "revoked" and refuses
// their older grants, authenticated by an admin grant signed with
// gatepass's office key for the admin audience; and gatepass's admin API
// reaches it through its fan-out.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { SignJWT, decodeProtectedHeader, importPKCS8 } from "jose";
import WebSocket from "ws";

import { AUDIENCE, ISSUER, freePort, rsaKeyPair, startGatepass } from "./lib/gatepass.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { attempt, connect, wsURL } from "./lib/sockets.mjs";

// gatepass's default OFFICE_ROUTER_ADMIN_AUDIENCE, and the Worker's
// default CONN_ADMIN_AUDIENCE.
const ADMIN_AUDIENCE = "office-router-admin";
const ADMIN_TOKEN = "interop-admin-token-0123456789abcdef0123456789";

const payloadOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url"));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (seconds) => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");

/** revocationBody is the JSON gatepass sends to /admin/revoke. */
function revocationBody(user, org, notBefore, keepSeconds = 60) {
  return JSON.stringify({ user_id: user, org_id: org, not_before: iso(notBefore), expires_at: iso(notBefore + keepSeconds) });
}

/**
 * adminGrant signs an admin grant for body with privatePEM under kid, as
 * gatepass mints one; claims overrides what the test changes.
 */
async function adminGrant(privatePEM, kid, body, claims = {}) {
  const now = nowSeconds();
  const sha256 = createHash("sha256").update(body).digest("base64url");
  const key = await importPKCS8(privatePEM, "RS256");
  return new SignJWT({ iss: ISSUER, sub: "gatepass", aud: ADMIN_AUDIENCE, iat: now, exp: now + 30, jti: randomUUID(), sha256, ...claims })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid })
    .sign(key);
}

/** postRevoke posts body to the Worker's /admin/revoke with token (none when undefined). */
async function postRevoke(worker, body, token, method = "POST") {
  const headers = { "Content-Type": "application/json" };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(new URL("/admin/revoke", worker.url), {
    method,
    headers,
    body: method === "POST" ? body : undefined,
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** logged waits for the Worker's refusal records after the first seen. */
async function logged(worker, seen) {
  for (let i = 0; i < 40 && worker.refusals().length <= seen; i++) await sleep(50);
  return worker.refusals().slice(seen);
}

/** assertUpgradeRevoked asserts an upgrade with token is refused as revoked, and logged so. */
async function assertUpgradeRevoked(worker, url, token, via = "header") {
  const seen = worker.refusals().length;
  const r = await attempt(url, token, via);
  assert.equal(r.ok, false, "an upgrade with a revoked grant was accepted");
  assert.equal(r.status, 401, r.body);
  assert.equal(JSON.parse(r.body).error, "invalid_token");
  assert.match(r.headers["www-authenticate"], /^Bearer error="invalid_token"/);
  const records = await logged(worker, seen);
  assert.equal(records.length, 1, JSON.stringify(records));
  assert.equal(records[0].msg, "upgrade refused");
  assert.equal(records[0].reason, "revoked");
  assert.equal(records[0].via, via);
}

/**
 * freshGrant asks gatepass for grants until one is issued at or after
 * cutOff (gatepass stamps iat in whole seconds).
 */
async function freshGrant(server, who, cutOff) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const g = await server.grant(who);
    if (payloadOf(g.token).iat >= cutOff) return g;
    if (Date.now() > deadline) throw new Error(`no grant issued at or after ${cutOff} within 5 s`);
    await sleep(100);
  }
}

/** closing waits up to 2 s for the server's close frame to reach socket. */
async function closing(socket) {
  const deadline = Date.now() + 2_000;
  while (socket.ws.readyState === WebSocket.OPEN) {
    if (Date.now() > deadline) throw new Error("no close frame within 2 s");
    await sleep(20);
  }
}

/** hears asserts that listener receives what speaker sends. */
async function hears(listener, speaker, text) {
  speaker.send(text);
  assert.equal((await listener.next()).data, text);
}

describe("office-router revocations on workerd", { timeout: 90_000 }, () => {
  const key = rsaKeyPair();
  let server;
  let worker;
  let url;
  let kid;

  before(async () => {
    server = await startGatepass(null, { privateKey: key.privateKey });
    worker = await startWorker(null, { CONN_JWT_ISSUER: ISSUER, CONN_JWT_AUDIENCE: AUDIENCE, CONN_JWKS_URL: server.jwksURL });
    url = wsURL(worker.url);
    kid = decodeProtectedHeader((await server.grant({ user: "user_kid", org: "org_kid", role: "member" })).token).kid;
  });
  after(async () => {
    await worker?.stop();
    await server?.stop();
  });

  test("the user's sockets close with 4003 revoked; others, and the user elsewhere, stay", async (t) => {
    const [r1, r2, s, other, rElsewhere, otherElsewhere] = await Promise.all([
      server.grant({ user: "user_r", org: "org_r", role: "member" }),
      server.grant({ user: "user_r", org: "org_r", role: "member" }),
      server.grant({ user: "user_s", org: "org_r", role: "member" }),
      server.grant({ user: "user_t", org: "org_r", role: "member" }),
      server.grant({ user: "user_r", org: "org_x", role: "member" }),
      server.grant({ user: "user_u", org: "org_x", role: "member" }),
    ]);
    const sockets = {
      r1: await connect(url, r1.token, "header"),
      r2: await connect(url, r2.token, "protocol"),
      s: await connect(url, s.token),
      other: await connect(url, other.token),
      rElsewhere: await connect(url, rElsewhere.token),
      otherElsewhere: await connect(url, otherElsewhere.token),
    };
    t.after(() => Object.values(sockets).forEach((k) => k.close()));

    const cutOff = Math.max(payloadOf(r1.token).iat, payloadOf(r2.token).iat) + 1;
    const body = revocationBody("user_r", "org_r", cutOff);
    const res = await postRevoke(worker, body, await adminGrant(key.privateKey, kid, body));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { closed: 2 });

    // The close frame arrives at once: the client stops sending. (workerd
    // under Miniflare ends the TCP connection, after which ws reports the
    // code, only when the object hibernates, some 10 s later.)
    for (const name of ["r1", "r2"]) await closing(sockets[name]);
    await Promise.all(
      ["r1", "r2"].map(async (name) => {
        assert.equal(await sockets[name].closed(30_000), 4003, name);
        assert.equal(sockets[name].closeReason, "revoked", name);
      }),
    );
    // Everyone else is still connected and relayed.
    await hears(sockets.s, sockets.other, "still here");
    await hears(sockets.other, sockets.s, "me too");
    await hears(sockets.rElsewhere, sockets.otherElsewhere, "another org");

    // The old grant is refused at upgrade, by either way of sending it.
    await assertUpgradeRevoked(worker, url, r1.token, "header");
    await assertUpgradeRevoked(worker, url, r2.token, "protocol");
    // The revocation is the organization's: the user's grant elsewhere is admitted.
    (await connect(url, rElsewhere.token)).close();

    // A grant issued at or after the cut-off is admitted, and not closed by
    // the same revocation arriving again (a retried fan-out).
    const fresh = await freshGrant(server, { user: "user_r", org: "org_r", role: "member" }, cutOff);
    const back = await connect(url, fresh.token);
    t.after(() => back.close());
    const again = await postRevoke(worker, body, await adminGrant(key.privateKey, kid, body));
    assert.deepEqual(again.body, { closed: 0 });
    await hears(back, sockets.s, "welcome back");
  });

  test("refused admin calls answer 401 or 403 and change nothing", async (t) => {
    const g = await server.grant({ user: "user_k", org: "org_k", role: "member" });
    const peer = await server.grant({ user: "user_l", org: "org_k", role: "member" });
    const k = await connect(url, g.token);
    t.after(() => k.close());
    const l = await connect(url, peer.token);
    t.after(() => l.close());
    const body = revocationBody("user_k", "org_k", payloadOf(g.token).iat + 1);
    const now = nowSeconds();
    const other = rsaKeyPair().privateKey;
    const cases = [
      { name: "no grant", token: undefined, status: 401, reason: "missing_token" },
      { name: "signed by another key", token: await adminGrant(other, kid, body), status: 401, reason: "bad_signature" },
      { name: "expired", token: await adminGrant(key.privateKey, kid, body, { iat: now - 90, exp: now - 60 }), status: 401, reason: "expired" },
      {
        name: "minted long ago",
        token: await adminGrant(key.privateKey, kid, body, { iat: now - 600, exp: now + 600 }),
        status: 401,
        reason: "expired",
      },
      {
        name: "for the office grants' audience",
        token: await adminGrant(key.privateKey, kid, body, { aud: AUDIENCE }),
        status: 401,
        reason: "wrong_audience",
      },
      { name: "a plain office grant", token: g.token, status: 401, reason: "wrong_audience" },
      { name: "from another issuer", token: await adminGrant(key.privateKey, kid, body, { iss: "someone-else" }), status: 401, reason: "wrong_issuer" },
      {
        name: "minted for another body",
        token: await adminGrant(key.privateKey, kid, revocationBody("user_l", "org_k", now + 1)),
        status: 403,
        reason: "body_mismatch",
      },
    ];
    for (const c of cases) {
      const seen = worker.refusals().length;
      const res = await postRevoke(worker, body, c.token);
      assert.equal(res.status, c.status, `${c.name}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error, "string", c.name);
      const records = await logged(worker, seen);
      assert.equal(records.length, 1, `${c.name}: ${JSON.stringify(records)}`);
      assert.equal(records[0].msg, "revoke refused", c.name);
      assert.equal(records[0].reason, c.reason, `${c.name}: ${JSON.stringify(records[0])}`);
      for (const part of (c.token ?? "").split(".").filter((p) => p.length > 8)) {
        assert.ok(!JSON.stringify(res.body).includes(part), `${c.name}: the answer echoes the grant`);
      }
    }
    assert.equal((await postRevoke(worker, body, await adminGrant(key.privateKey, kid, body), "GET")).status, 405);

    // Nothing changed: the socket is open and relayed, the grant admitted.
    await hears(k, l, "nothing happened");
    (await connect(url, g.token)).close();

    // Nor is an admin grant an office grant.
    const seen = worker.refusals().length;
    const r = await attempt(url, await adminGrant(key.privateKey, kid, body, { sub: "user_k", userId: "user_k", orgId: "org_k", role: "member" }));
    assert.equal(r.status, 401);
    assert.equal((await logged(worker, seen))[0]?.reason, "wrong_audience");
  });

  test("a body that is not a revocation gets 400 naming the field", async () => {
    const now = nowSeconds();
    const bodies = {
      "not JSON": "{",
      user_id: JSON.stringify({ org_id: "o", not_before: iso(now), expires_at: iso(now + 60) }),
      not_before: JSON.stringify({ user_id: "u", org_id: "o", not_before: "yesterday", expires_at: iso(now + 60) }),
      expires_at: JSON.stringify({ user_id: "u", org_id: "o", not_before: iso(now), expires_at: iso(now - 1) }),
    };
    for (const [what, body] of Object.entries(bodies)) {
      const res = await postRevoke(worker, body, await adminGrant(key.privateKey, kid, body));
      assert.equal(res.status, 400, what);
      assert.equal(res.body.error, "invalid_request");
      if (what !== "not JSON") assert.match(res.body.message, new RegExp(what));
    }
  });
});

describe("office-router revocations outlive the Durable Object", { timeout: 60_000 }, () => {
  test("a restarted Worker on the same storage still refuses the old grant", async (t) => {
    const key = rsaKeyPair();
    const server = await startGatepass(t, { privateKey: key.privateKey });
    const persist = mkdtempSync(join(tmpdir(), "officerouter-state-"));
    t.after(() => rmSync(persist, { recursive: true, force: true }));
    const vars = { CONN_JWT_ISSUER: ISSUER, CONN_JWT_AUDIENCE: AUDIENCE, CONN_JWKS_URL: server.jwksURL };

    const old = await server.grant({ user: "user_p", org: "org_p", role: "member" });
    const bystander = await server.grant({ user: "user_q", org: "org_p", role: "member" });
    const first = await startWorker(t, vars, { persist });
    const body = revocationBody("user_p", "org_p", payloadOf(old.token).iat + 1);
    const kid = decodeProtectedHeader(old.token).kid;
    const res = await postRevoke(first, body, await adminGrant(key.privateKey, kid, body));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await first.stop();

    const second = await startWorker(t, vars, { persist });
    const url = wsURL(second.url);
    await assertUpgradeRevoked(second, url, old.token);
    (await connect(url, bystander.token)).close();
  });
});

describe("office-router admin audience equal to the office grants'", { timeout: 30_000 }, () => {
  test("refuses both routes as misconfigured", async (t) => {
    const key = rsaKeyPair();
    const server = await startGatepass(t, { privateKey: key.privateKey });
    const worker = await startWorker(t, {
      CONN_JWT_ISSUER: ISSUER,
      CONN_JWT_AUDIENCE: AUDIENCE,
      CONN_ADMIN_AUDIENCE: AUDIENCE,
      CONN_JWKS_URL: server.jwksURL,
    });
    const g = await server.grant({ user: "user_m", org: "org_m", role: "member" });
    const body = revocationBody("user_m", "org_m", nowSeconds());
    const seen = worker.refusals().length;
    const res = await postRevoke(worker, body, await adminGrant(key.privateKey, decodeProtectedHeader(g.token).kid, body, { aud: AUDIENCE }));
    assert.equal(res.status, 500);
    assert.match((await logged(worker, seen))[0]?.detail ?? "", /CONN_ADMIN_AUDIENCE/);
    assert.equal((await attempt(wsURL(worker.url), g.token)).status, 500);
  });
});

describe("gatepass's fan-out reaches the office-router on workerd", { timeout: 90_000 }, () => {
  let server;
  let worker;
  let url;
  let admin;

  before(async () => {
    // The Worker fetches gatepass's JWK Set only when a grant comes, and
    // gatepass needs the Worker's address: gatepass's port is chosen first.
    const port = await freePort();
    const adminPort = await freePort();
    worker = await startWorker(null, {
      CONN_JWT_ISSUER: ISSUER,
      CONN_JWT_AUDIENCE: AUDIENCE,
      CONN_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    });
    url = wsURL(worker.url);
    admin = `http://127.0.0.1:${adminPort}`;
    server = await startGatepass(null, {
      port,
      extraEnv: {
        ADMIN_ADDR: `127.0.0.1:${adminPort}`,
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        OFFICE_ROUTER_ADMIN_URL: new URL("/admin/revoke", worker.url).href,
      },
    });
  });
  after(async () => {
    await server?.stop();
    await worker?.stop();
  });

  /** revoke records a revocation through gatepass's admin API and returns its 202 answer. */
  async function revoke(body) {
    const res = await fetch(`${admin}/admin/v1/revocations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = await res.json();
    assert.equal(res.status, 202, JSON.stringify(answer));
    return answer;
  }

  test("a revocation in an organization closes the user's sockets there: done, with the count", async (t) => {
    const who = { user: "user_f", org: "org_f", role: "member" };
    const [g1, g2, bystander, elsewhere] = await Promise.all([
      server.grant(who),
      server.grant(who),
      server.grant({ user: "user_g", org: "org_f", role: "member" }),
      server.grant({ user: "user_f", org: "org_y", role: "member" }),
    ]);
    const f1 = await connect(url, g1.token);
    const f2 = await connect(url, g2.token, "protocol");
    const g = await connect(url, bystander.token);
    const y = await connect(url, elsewhere.token);
    t.after(() => [f1, f2, g, y].forEach((s) => s.close()));

    const answer = await revoke({ user_id: "user_f", org_id: "org_f", reason: "left the team" });
    assert.deepEqual(answer.fanout.office_router, { status: "done", count: 2 }, JSON.stringify(answer));
    for (const s of [f1, f2]) await closing(s);
    await Promise.all(
      [f1, f2].map(async (s) => {
        assert.equal(await s.closed(30_000), 4003);
        assert.equal(s.closeReason, "revoked");
      }),
    );
    assert.equal(g.ws.readyState, WebSocket.OPEN, "another user's socket was closed");
    assert.equal(y.ws.readyState, WebSocket.OPEN, "the user's socket in another organization was closed");

    // The grant issued before the cut-off is refused by the Worker; gatepass
    // serves an identity issued after it, whose grant the Worker admits.
    await assertUpgradeRevoked(worker, url, g1.token);
    const cutOff = Date.parse(answer.not_before) / 1000;
    const fresh = await freshGrant(server, who, cutOff);
    (await connect(url, fresh.token)).close();

    // The final state, as GET shows it.
    const res = await fetch(`${admin}/admin/v1/revocations/${answer.id}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).fanout?.office_router, { status: "done", count: 2 });
  });

  test("a revocation for all organizations is needs_org, and closes nothing", async (t) => {
    const grant = await server.grant({ user: "user_h", org: "org_h", role: "member" });
    const h = await connect(url, grant.token);
    t.after(() => h.close());
    const answer = await revoke({ user_id: "user_h", all_organizations: true });
    assert.deepEqual(answer.fanout.office_router, { status: "needs_org" }, JSON.stringify(answer));
    const peer = await server.grant({ user: "user_i", org: "org_h", role: "member" });
    // user_h's identity is revoked at gatepass now; the Worker was not told.
    const i = await connect(url, peer.token);
    t.after(() => i.close());
    await hears(h, i, "still connected");
  });
});
