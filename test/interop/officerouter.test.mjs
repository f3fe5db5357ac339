// End to end on real workerd: gatepass hands out grants, the reference
// office-router Worker admits WebSockets with them and relays messages
// within one organization. Run once per key mode: a static SPKI PEM
// (`gatepass keys public`) and the served JWK Set.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { CompactSign, decodeProtectedHeader, importPKCS8 } from "jose";

import { AUDIENCE, ISSUER, rsaKeyPair, runGatepass, startGatepass } from "./lib/gatepass.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { attempt, connect, wsURL } from "./lib/sockets.mjs";

const MODES = {
  "a static PEM": async (server) => ({ CONN_JWT_PUBLIC_KEY: await runGatepass(["keys", "public"], server.env) }),
  "the JWKS URL": async (server) => ({ CONN_JWKS_URL: new URL("/.well-known/jwks.json", server.baseURL).href }),
};

const payloadOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url"));

/**
 * resign signs claims with privatePEM under the header of a real grant (so
 * the same kid): how the refusal tests make tokens gatepass would never
 * issue, such as an expired one, without waiting for one to expire.
 */
async function resign(grantToken, claims, privatePEM, header = decodeProtectedHeader(grantToken)) {
  const key = await importPKCS8(privatePEM, "RS256");
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader(header).sign(key);
}

/**
 * assertRefused asserts a 401 (or status) before upgrade, with a JSON body
 * that does not echo token, and that the Worker logged one JSON line for
 * it naming reason (and claim, expected when given), again without the
 * token.
 */
async function assertRefused(worker, url, token, via, { status = 401, error, extraHeaders, reason, claim, expected } = {}) {
  const seen = worker.refusals().length;
  const r = await attempt(url, token, via, extraHeaders);
  assert.equal(r.ok, false, "the upgrade was accepted");
  assert.equal(r.status, status, r.body);
  assert.match(r.headers["content-type"], /^application\/json/);
  const body = JSON.parse(r.body);
  assert.equal(typeof body.error, "string");
  assert.equal(typeof body.message, "string");
  if (error) assert.equal(body.error, error);
  const parts = (token?.split(".") ?? []).filter((part) => part.length > 8);
  for (const part of parts) assert.ok(!r.body.includes(part), "the body echoes the token");
  if (status === 401) assert.match(r.headers["www-authenticate"], /^Bearer/);

  const logged = await newRefusals(worker, seen);
  assert.equal(logged.length, 1, `one refusal logged, got ${JSON.stringify(logged)}`);
  const [record] = logged;
  assert.equal(record.status, status);
  if (reason) assert.equal(record.reason, reason, JSON.stringify(record));
  if (claim) assert.equal(record.claim, claim, JSON.stringify(record));
  if (expected) assert.equal(record.expected, expected, JSON.stringify(record));
  const output = worker.warnings().join("\n") + worker.logs();
  for (const part of parts) assert.ok(!output.includes(part), "the Worker logged the token");
  return body;
}

/** newRefusals waits for the refusal records logged after the first seen. */
async function newRefusals(worker, seen) {
  // The record travels through workerd's stdout: give it a moment.
  for (let i = 0; i < 40 && worker.refusals().length <= seen; i++) await sleep(50);
  await sleep(50);
  return worker.refusals().slice(seen);
}

for (const [mode, keyVars] of Object.entries(MODES)) {
  describe(`office-router Worker on workerd, keys from ${mode}`, { timeout: 90_000 }, () => {
    const key = rsaKeyPair();
    let server;
    let worker;
    let url;

    before(async () => {
      server = await startGatepass(null, { privateKey: key.privateKey });
      worker = await startWorker(null, { CONN_JWT_ISSUER: ISSUER, CONN_JWT_AUDIENCE: AUDIENCE, ...(await keyVars(server)) });
      url = wsURL(worker.url);
    });
    after(async () => {
      await worker?.stop();
      await server?.stop();
    });

    test("users of one org hear each other; another org hears neither", async (t) => {
      const [grantA, grantB, grantC, grantD] = await Promise.all([
        server.grant({ user: "user_a", org: "org_1", role: "admin" }),
        server.grant({ user: "user_b", org: "org_1", role: "member" }),
        server.grant({ user: "user_c", org: "org_2", role: "member" }),
        server.grant({ user: "user_d", org: "org_2", role: "owner" }),
      ]);
      const a = await connect(url, grantA.token, "header");
      t.after(() => a.close());
      const b = await connect(url, grantB.token, "protocol");
      t.after(() => b.close());
      const c = await connect(url, grantC.token, "header");
      t.after(() => c.close());
      const d = await connect(url, grantD.token, "protocol");
      t.after(() => d.close());
      assert.equal(a.protocol, "", "no subprotocol for a header client");
      assert.equal(b.protocol, "bearer", "the bearer subprotocol is selected for a browser client");

      a.send("hello from a");
      assert.deepEqual(await b.next(), { from: "user_a", role: "admin", data: "hello from a" });
      b.send("hello from b");
      assert.deepEqual(await a.next(), { from: "user_b", role: "member", data: "hello from b" });
      // Org 2 works on its own: its sockets hear each other.
      d.send("hello from d");
      assert.deepEqual(await c.next(), { from: "user_d", role: "owner", data: "hello from d" });

      // One more round trip in each org, then a pause, so a message routed
      // to the wrong org would have arrived by now.
      a.send("again");
      await b.next();
      c.send("again");
      await d.next();
      await sleep(300);
      assert.deepEqual(c.pending(), [], "org 2 heard org 1");
      assert.deepEqual(d.pending(), [], "org 2 heard org 1");
      assert.deepEqual(a.pending(), [], "org 1 heard org 2, or a sender heard itself");
      assert.deepEqual(b.pending(), [], "org 1 heard org 2, or a sender heard itself");
    });

    test("identities outside ASCII reach peers intact", async (t) => {
      const [x, y] = await Promise.all([
        server.grant({ user: "zoë-✓", org: "org_ü", role: "rôle" }),
        server.grant({ user: "user_y", org: "org_ü", role: "member" }),
      ]);
      const sx = await connect(url, x.token);
      t.after(() => sx.close());
      const sy = await connect(url, y.token, "protocol");
      t.after(() => sy.close());
      sx.send("héllo");
      assert.deepEqual(await sy.next(), { from: "zoë-✓", role: "rôle", data: "héllo" });
    });

    test("a binary message closes the socket with 1003", async (t) => {
      const g = await server.grant({ user: "user_bin", org: "org_bin", role: "member" });
      const s = await connect(url, g.token);
      t.after(() => s.close());
      s.ws.send(Buffer.from([1, 2, 3]));
      assert.equal(await s.closed(), 1003);
    });

    test("a request that is not a WebSocket upgrade gets 426", async () => {
      const g = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
      const res = await fetch(worker.url, { headers: { Authorization: `Bearer ${g.token}` } });
      assert.equal(res.status, 426);
      assert.equal((await res.json()).error, "upgrade_required");
    });

    test("no token, or a token only in the query string, gets 401", async () => {
      const g = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
      await assertRefused(worker, url, undefined, "none", { error: "unauthorized", reason: "missing_token" });
      for (const name of ["access_token", "token", "jwt"]) {
        const withQuery = `${url}?${name}=${encodeURIComponent(g.token)}`;
        await assertRefused(worker, withQuery, g.token, "none", { error: "unauthorized", reason: "missing_token" });
      }
      await assertRefused(worker, url, g.token, "none", {
        error: "unauthorized",
        reason: "missing_token",
        extraHeaders: { Authorization: `Basic ${Buffer.from(`u:${g.token}`).toString("base64")}` },
      });
    });

    test("a token in both the header and the subprotocol gets 400", async () => {
      const g = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
      await assertRefused(worker, url, g.token, "protocol", {
        status: 400,
        error: "invalid_request",
        reason: "token_in_two_places",
        extraHeaders: { Authorization: `Bearer ${g.token}` },
      });
    });

    for (const via of ["header", "protocol"]) {
      describe(`bad tokens sent by ${via} get 401 before upgrade`, () => {
        let grant;
        let claims;
        before(async () => {
          grant = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
          claims = payloadOf(grant.token);
        });

        test("control: the same claims re-signed with gatepass's key are admitted", async () => {
          const s = await connect(url, await resign(grant.token, claims, key.privateKey), via);
          s.close();
        });

        test("expired", async () => {
          const now = Math.floor(Date.now() / 1000);
          const expired = { ...claims, iat: now - 120, nbf: now - 120, exp: now - 60 };
          const body = await assertRefused(worker, url, await resign(grant.token, expired, key.privateKey), via, {
            error: "invalid_token",
            reason: "expired",
            claim: "exp",
          });
          assert.match(body.message, /expired/);
        });

        test("not yet valid, or of another type", async () => {
          const now = Math.floor(Date.now() / 1000);
          const early = await resign(grant.token, { ...claims, nbf: now + 120, exp: now + 180 }, key.privateKey);
          await assertRefused(worker, url, early, via, { error: "invalid_token", reason: "not_yet_valid", claim: "nbf" });
          const typed = await resign(grant.token, claims, key.privateKey, { ...decodeProtectedHeader(grant.token), typ: "at+jwt" });
          await assertRefused(worker, url, typed, via, { error: "invalid_token", reason: "wrong_type", expected: "JWT" });
        });

        test("signed by another key, under gatepass's kid or its own", async () => {
          const other = rsaKeyPair().privateKey;
          await assertRefused(worker, url, await resign(grant.token, claims, other), via, { error: "invalid_token", reason: "bad_signature" });
          const otherServer = await startGatepass(null, { privateKey: other });
          try {
            const foreign = await otherServer.grant({ user: "user_a", org: "org_1", role: "admin" });
            assert.notEqual(decodeProtectedHeader(foreign.token).kid, decodeProtectedHeader(grant.token).kid);
            // The JWK Set has no key of that kid; one PEM key is tried on any.
            await assertRefused(worker, url, foreign.token, via, {
              error: "invalid_token",
              reason: mode === "the JWKS URL" ? "unknown_key" : "bad_signature",
            });
          } finally {
            await otherServer.stop();
          }
        });

        test("for another audience, or from another issuer", async () => {
          const cases = [
            { changed: { aud: "some-other-service" }, reason: "wrong_audience", claim: "aud", expected: AUDIENCE },
            { changed: { iss: "someone-else" }, reason: "wrong_issuer", claim: "iss", expected: ISSUER },
          ];
          for (const { changed, ...why } of cases) {
            const token = await resign(grant.token, { ...claims, ...changed }, key.privateKey);
            await assertRefused(worker, url, token, via, { error: "invalid_token", ...why });
          }
        });

        test("tampered: another org in the payload, signature kept", async () => {
          const [h, , sig] = grant.token.split(".");
          const forged = Buffer.from(JSON.stringify({ ...claims, orgId: "org_2" })).toString("base64url");
          await assertRefused(worker, url, `${h}.${forged}.${sig}`, via, { error: "invalid_token", reason: "bad_signature" });
          await assertRefused(worker, url, `${grant.token.slice(0, -4)}AAAA`, via, {
            error: "invalid_token",
            reason: "bad_signature",
          });
        });

        test("missing or empty userId, orgId or role, or sub differing from userId", async () => {
          for (const name of ["userId", "orgId", "role"]) {
            const without = { ...claims };
            delete without[name];
            const missing = { reason: "missing_claim", claim: name };
            await assertRefused(worker, url, await resign(grant.token, without, key.privateKey), via, missing);
            const malformed = { reason: "malformed_claim", claim: name };
            await assertRefused(worker, url, await resign(grant.token, { ...claims, [name]: "" }, key.privateKey), via, malformed);
            await assertRefused(worker, url, await resign(grant.token, { ...claims, [name]: 7 }, key.privateKey), via, malformed);
          }
          await assertRefused(worker, url, await resign(grant.token, { ...claims, sub: "user_z" }, key.privateKey), via, {
            reason: "malformed_claim",
            claim: "sub",
          });
          const noExp = { ...claims };
          delete noExp.exp;
          await assertRefused(worker, url, await resign(grant.token, noExp, key.privateKey), via, {
            reason: "missing_claim",
            claim: "exp",
          });
        });

        test("algorithm confusion: alg none, and HS256 keyed with the public PEM", async () => {
          const header = decodeProtectedHeader(grant.token);
          const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
          await assertRefused(worker, url, `${b64({ ...header, alg: "none" })}.${b64(claims)}.`, via, {
            reason: "algorithm_not_allowed",
          });
          const pem = await runGatepass(["keys", "public"], server.env);
          const hs = await new CompactSign(Buffer.from(JSON.stringify(claims)))
            .setProtectedHeader({ ...header, alg: "HS256" })
            .sign(new TextEncoder().encode(pem));
          await assertRefused(worker, url, hs, via, { error: "invalid_token", reason: "algorithm_not_allowed" });
        });
      });
    }
  });
}

// What the grant cannot help: the Worker's own settings, and a JWK Set it
// cannot fetch. The caller is not told its grant is bad (401 would send it
// to gatepass for another); the log says what to fix.
describe("office-router Worker refusals that are not the grant's fault", { timeout: 60_000 }, () => {
  const token = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyX2EifQ.c2lnbmF0dXJlLW9mLW5vLWtleQ";

  test("a JWK Set that cannot be fetched: 503 with Retry-After, logged as keys_unavailable", async (t) => {
    const closed = await closedPort();
    const worker = await startWorker(t, {
      CONN_JWT_ISSUER: ISSUER,
      CONN_JWT_AUDIENCE: AUDIENCE,
      CONN_JWKS_URL: `http://127.0.0.1:${closed}/.well-known/jwks.json`,
    });
    const url = wsURL(worker.url);
    await assertRefused(worker, url, token, "header", { status: 503, error: "temporarily_unavailable", reason: "keys_unavailable" });
    const r = await attempt(url, token, "protocol");
    assert.equal(r.status, 503);
    assert.match(r.headers["retry-after"], /^[1-9][0-9]*$/);
  });

  test("no key source set: 500, logged as misconfigured with the setting to fix", async (t) => {
    const worker = await startWorker(t, { CONN_JWT_ISSUER: ISSUER, CONN_JWT_AUDIENCE: AUDIENCE });
    await assertRefused(worker, wsURL(worker.url), token, "header", { status: 500, error: "server_error", reason: "misconfigured" });
    assert.match(worker.refusals().at(-1).detail, /CONN_JWKS_URL/);
  });
});

/** closedPort returns a loopback port nothing listens on. */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
