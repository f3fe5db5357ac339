// A key rotation end to end, with the office-router Worker trusting the JWKS
// URL and never restarted: gatepass signs with K1; then signs with K2 while
// still publishing K1 (JWT_VERIFICATION_KEYS); then publishes K2 alone.
//
// The Worker caches the JWK Set. Here CONN_JWKS_CACHE_SECONDS=1 and each
// phase waits past it, so the test shows that a rotation needs no redeploy;
// in production the cache (300 s, the JWKS max-age) is how long an overlap
// phase must last at least.
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK } from "jose";

import { AUDIENCE, freePort, ISSUER, keyPair, rsaKeyPair, startGatepass } from "./lib/gatepass.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { attempt, connect, wsURL } from "./lib/sockets.mjs";

const JWKS_CACHE_SECONDS = 1;
// Past the cache age and jose's refetch cooldown (both one second here).
const CACHE_WAIT_MS = JWKS_CACHE_SECONDS * 1000 + 500;

const kidOf = (token) => decodeProtectedHeader(token).kid;
const thumbprint = async (pem) => calculateJwkThumbprint(await exportJWK(createPublicKey(pem)), "sha256");

async function jwksKids(server) {
  const res = await fetch(new URL("/.well-known/jwks.json", server.baseURL));
  assert.equal(res.status, 200);
  return (await res.json()).keys.map((k) => k.kid).sort();
}

async function assertAdmitted(url, token) {
  const s = await connect(url, token);
  s.close();
}

async function assertRefused(url, token) {
  const r = await attempt(url, token);
  assert.equal(r.ok, false, "a token of a retired key was admitted");
  assert.equal(r.status, 401, r.body);
}

describe("key rotation seen by the office-router Worker (JWKS mode)", { timeout: 90_000 }, () => {
  const k1 = rsaKeyPair();
  const k2 = rsaKeyPair();
  let kid1;
  let kid2;
  let port;
  let devDir;
  let server;
  let worker;
  let url;
  let oldGrant;

  // Each phase restarts gatepass on the same port and folder, as a deploy
  // would keep the URL the Worker fetches.
  async function restart(options) {
    await server?.stop();
    server = await startGatepass(null, { port, devDir, ...options });
  }

  before(async () => {
    kid1 = await thumbprint(k1.publicKey);
    kid2 = await thumbprint(k2.publicKey);
    port = await freePort();
    devDir = mkdtempSync(join(tmpdir(), "gatepass-rotation-"));
    await restart({ privateKey: k1.privateKey });
    worker = await startWorker(null, {
      CONN_JWT_ISSUER: ISSUER,
      CONN_JWT_AUDIENCE: AUDIENCE,
      CONN_JWKS_URL: new URL("/.well-known/jwks.json", server.baseURL).href,
      CONN_JWKS_CACHE_SECONDS: String(JWKS_CACHE_SECONDS),
    });
    url = wsURL(worker.url);
  });
  after(async () => {
    await worker?.stop();
    await server?.stop();
    if (devDir) rmSync(devDir, { recursive: true, force: true });
  });

  test("phase 1: K1 signs and is published", async () => {
    assert.deepEqual(await jwksKids(server), [kid1]);
    oldGrant = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
    assert.equal(kidOf(oldGrant.token), kid1);
    await assertAdmitted(url, oldGrant.token);
  });

  test("phase 2: K2 signs, K1 is still published; both kinds of token are admitted", async () => {
    await restart({ privateKey: k2.privateKey, verificationKeys: k1.publicKey });
    assert.deepEqual(await jwksKids(server), [kid1, kid2].sort());
    const newGrant = await server.grant({ user: "user_b", org: "org_1", role: "member" });
    assert.equal(kidOf(newGrant.token), kid2, "new grants carry K2's kid");
    await sleep(CACHE_WAIT_MS);
    await assertAdmitted(url, newGrant.token);
    await assertAdmitted(url, oldGrant.token);
  });

  test("phase 3: K2 alone; K1 tokens are refused, K2 tokens admitted", async () => {
    await restart({ privateKey: k2.privateKey });
    assert.deepEqual(await jwksKids(server), [kid2]);
    const newGrant = await server.grant({ user: "user_c", org: "org_1", role: "member" });
    await sleep(CACHE_WAIT_MS);
    await assertRefused(url, oldGrant.token);
    await assertAdmitted(url, newGrant.token);
    assert.ok(Date.now() / 1000 < JSON.parse(Buffer.from(oldGrant.token.split(".")[1], "base64url")).exp,
      "the K1 grant had not simply expired");
  });
});

// Switching algorithms is a rotation to a key of another type. The Worker
// allows both algorithms through the switch; gatepass keeps the previous
// RSA key published (announced as RS256) beside the new EC key, so a grant
// of the old algorithm still in flight keeps working until that key is
// dropped.
describe("switching JWT_ALGORITHM from RS256 to ES256 (JWKS mode, Worker allowing both)", { timeout: 90_000 }, () => {
  let port;
  let devDir;
  let server;
  let worker;
  let url;
  let rsaGrant;
  const rsa = keyPair("RS256");
  const ec = keyPair("ES256");

  before(async () => {
    port = await freePort();
    devDir = mkdtempSync(join(tmpdir(), "gatepass-rotation-"));
    server = await startGatepass(null, { port, devDir, algorithm: "RS256", privateKey: rsa.privateKey });
    worker = await startWorker(null, {
      CONN_JWT_ISSUER: ISSUER,
      CONN_JWT_AUDIENCE: AUDIENCE,
      CONN_JWKS_URL: new URL("/.well-known/jwks.json", server.baseURL).href,
      CONN_JWKS_CACHE_SECONDS: String(JWKS_CACHE_SECONDS),
      CONN_JWT_ALGORITHMS: "RS256,ES256",
    });
    url = wsURL(worker.url);
  });
  after(async () => {
    await worker?.stop();
    await server?.stop();
    if (devDir) rmSync(devDir, { recursive: true, force: true });
  });

  test("before: RS256 grants are admitted", async () => {
    rsaGrant = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
    assert.equal(decodeProtectedHeader(rsaGrant.token).alg, "RS256");
    await assertAdmitted(url, rsaGrant.token);
  });

  test("switch: ES256 grants are admitted, and so is the RS256 grant in flight", async () => {
    await server.stop();
    server = await startGatepass(null, { port, devDir, algorithm: "ES256", privateKey: ec.privateKey, verificationKeys: rsa.publicKey });
    const algs = (await (await fetch(new URL("/.well-known/jwks.json", server.baseURL))).json()).keys.map((k) => k.alg);
    assert.deepEqual(algs, ["ES256", "RS256"]);
    const ecGrant = await server.grant({ user: "user_b", org: "org_1", role: "member" });
    assert.equal(decodeProtectedHeader(ecGrant.token).alg, "ES256");
    await sleep(CACHE_WAIT_MS);
    await assertAdmitted(url, ecGrant.token);
    await assertAdmitted(url, rsaGrant.token);
  });

  test("drop: without the RSA key the RS256 grant is refused", async () => {
    await server.stop();
    server = await startGatepass(null, { port, devDir, algorithm: "ES256", privateKey: ec.privateKey });
    const ecGrant = await server.grant({ user: "user_c", org: "org_1", role: "member" });
    await sleep(CACHE_WAIT_MS);
    await assertAdmitted(url, ecGrant.token);
    await assertRefused(url, rsaGrant.token);
    assert.ok(Date.now() / 1000 < JSON.parse(Buffer.from(rsaGrant.token.split(".")[1], "base64url")).exp,
      "the RS256 grant had not simply expired");
  });
});
