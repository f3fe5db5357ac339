// gatepass's tokens as a JavaScript verifier sees them: jose verifies the
// office-router grant with the PEM from `gatepass keys public` and with the
// served JWK Set, and the Supabase Realtime token with the shared secret;
// every claim of the contract is checked.
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  importSPKI,
  jwtVerify,
} from "jose";

import {
  AUDIENCE,
  ISSUER,
  rsaKeyPair,
  runGatepass,
  startGatepass,
  supabaseSecret,
  WEBSOCKET_URL,
} from "./lib/gatepass.mjs";

const OFFICE_TTL = 60;
const REALTIME_TTL = 3600;
const REALTIME_ISSUER = "qubital-backend";

// jti: at least 128 bits of randomness, base64url.
const JTI = /^[A-Za-z0-9_-]{22,}$/;

async function thumbprintOf(spkiPEM) {
  return calculateJwkThumbprint(await exportJWK(createPublicKey(spkiPEM)), "sha256");
}

/** checkExpiresAt checks an RFC 3339 expiresAt against the token's exp. */
function checkExpiresAt(expiresAt, exp) {
  assert.equal(typeof expiresAt, "string");
  assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(Math.floor(Date.parse(expiresAt) / 1000), exp, "expiresAt is exp");
}

/** checkFresh checks iat against the wall clock and exp - iat against ttl. */
function checkFresh(payload, ttl) {
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number.isInteger(payload.iat), "iat is an integer NumericDate");
  assert.ok(Number.isInteger(payload.exp), "exp is an integer NumericDate");
  assert.ok(Math.abs(payload.iat - now) <= 5, `iat ${payload.iat} is now (${now})`);
  assert.equal(payload.exp - payload.iat, ttl);
}

describe("office-router grant verified by jose", { timeout: 60_000 }, () => {
  const key = rsaKeyPair();
  let server;
  let grant;

  before(async () => {
    server = await startGatepass(null, { privateKey: key.privateKey, secret: supabaseSecret() });
    const res = await server.requestAccess(await server.devToken({ user: "user_a", org: "org_1", role: "admin" }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    grant = res.body;
  });
  after(() => server?.stop());

  test("the response carries the contract's fields", () => {
    assert.deepEqual(Object.keys(grant).sort(), ["expiresAt", "expiresIn", "token", "tokenType", "url"]);
    assert.equal(grant.url, WEBSOCKET_URL);
    assert.equal(grant.tokenType, "Bearer");
    assert.equal(grant.expiresIn, OFFICE_TTL);
  });

  test("importSPKI of `gatepass keys public` verifies it, with every claim", async () => {
    const pem = await runGatepass(["keys", "public"], server.env);
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(
      createPublicKey(pem).export({ format: "pem", type: "spki" }),
      createPublicKey(key.privateKey).export({ format: "pem", type: "spki" }),
      "keys public prints the configured key's public half",
    );
    const { payload, protectedHeader } = await jwtVerify(grant.token, await importSPKI(pem, "RS256"), {
      algorithms: ["RS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "JWT",
    });
    assert.deepEqual(Object.keys(protectedHeader).sort(), ["alg", "kid", "typ"]);
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(protectedHeader.kid, await thumbprintOf(key.publicKey), "kid is the RFC 7638 thumbprint");

    assert.deepEqual(Object.keys(payload).sort(), [
      "aud", "exp", "iat", "iss", "jti", "nbf", "orgId", "role", "sub", "userId",
    ]);
    assert.equal(payload.iss, ISSUER);
    assert.equal(payload.aud, AUDIENCE, "aud is a single string");
    assert.equal(payload.sub, "user_a");
    assert.equal(payload.userId, "user_a");
    assert.equal(payload.orgId, "org_1");
    assert.equal(payload.role, "admin");
    assert.match(payload.jti, JTI);
    checkFresh(payload, OFFICE_TTL);
    assert.equal(payload.nbf, payload.iat);
    checkExpiresAt(grant.expiresAt, payload.exp);
  });

  test("each grant has its own jti", async () => {
    const again = await server.grant({ user: "user_a", org: "org_1", role: "admin" });
    const jti = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url")).jti;
    assert.notEqual(jti(again.token), jti(grant.token));
  });

  test("createRemoteJWKSet on /.well-known/jwks.json verifies it", async () => {
    const jwksURL = new URL("/.well-known/jwks.json", server.baseURL);
    const { payload, protectedHeader } = await jwtVerify(grant.token, createRemoteJWKSet(jwksURL), {
      algorithms: ["RS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    assert.equal(payload.userId, "user_a");
    assert.equal(protectedHeader.kid, await thumbprintOf(key.publicKey));
  });

  test("the JWK Set has the public members only, and is cacheable", async () => {
    const res = await fetch(new URL("/.well-known/jwks.json", server.baseURL));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "public, max-age=300");
    assert.match(res.headers.get("content-type"), /^application\/(jwk-set\+)?json/);
    const set = await res.json();
    assert.equal(set.keys.length, 1);
    const [jwk] = set.keys;
    assert.deepEqual(Object.keys(jwk).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
    assert.equal(jwk.kty, "RSA");
    assert.equal(jwk.use, "sig");
    assert.equal(jwk.alg, "RS256");
    assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, "sha256"), "kid is the key's own thumbprint");
    assert.equal(jwk.kid, decodeProtectedHeader(grant.token).kid);
    const cli = JSON.parse(await runGatepass(["keys", "jwks"], server.env));
    assert.deepEqual(cli, set, "`gatepass keys jwks` prints what the server publishes");
  });

  test("a key pair from `gatepass keys generate` signs grants its public.pem verifies", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "gatepass-keys-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, "new");
    await runGatepass(["keys", "generate", "--out", out], { PATH: process.env.PATH });
    assert.equal(statSync(join(out, "private.pem")).mode & 0o777, 0o600, "private.pem is 0600");
    const pub = readFileSync(join(out, "public.pem"), "utf8");
    const other = await startGatepass(t, { privateKey: readFileSync(join(out, "private.pem"), "utf8") });
    const g = await other.grant({ user: "user_k", org: "org_k", role: "member" });
    const { protectedHeader } = await jwtVerify(g.token, await importSPKI(pub, "RS256"), {
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    assert.equal(protectedHeader.kid, await thumbprintOf(pub));
    await assert.rejects(
      runGatepass(["keys", "generate", "--out", out], { PATH: process.env.PATH }),
      /exists/,
      "generate refuses to overwrite a key",
    );
  });

  test("the PEM of another key does not verify it", async () => {
    const other = await importSPKI(rsaKeyPair().publicKey, "RS256");
    await assert.rejects(jwtVerify(grant.token, other, { issuer: ISSUER, audience: AUDIENCE }), {
      code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
  });
});

describe("Supabase Realtime token verified by jose", { timeout: 60_000 }, () => {
  const secret = supabaseSecret();
  let server;

  before(async () => {
    server = await startGatepass(null, { privateKey: rsaKeyPair().privateKey, secret });
  });
  after(() => server?.stop());

  async function realtime(user, org, role) {
    const res = await server.realtimeToken(await server.devToken({ user, org, role }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  test("HS256 with the secret, every claim of the contract", async () => {
    const body = await realtime("user_r", "org_r", "owner");
    assert.deepEqual(Object.keys(body).sort(), ["expiresAt", "expiresIn", "token", "tokenType"]);
    assert.equal(body.tokenType, "Bearer");
    assert.equal(body.expiresIn, REALTIME_TTL);

    const { payload, protectedHeader } = await jwtVerify(body.token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      issuer: REALTIME_ISSUER,
      audience: "authenticated",
    });
    assert.equal(protectedHeader.alg, "HS256");
    assert.equal(protectedHeader.typ, "JWT");
    assert.deepEqual(Object.keys(payload).sort(), ["app_metadata", "aud", "exp", "iat", "iss", "jti", "role", "sub"]);
    assert.equal(payload.iss, REALTIME_ISSUER);
    assert.equal(payload.aud, "authenticated", "aud is a single string");
    assert.equal(payload.role, "authenticated");
    assert.equal(payload.sub, "user_r");
    assert.match(payload.jti, JTI);
    assert.equal(payload.nbf, undefined, "Supabase tokens carry no nbf");
    checkFresh(payload, REALTIME_TTL);
    checkExpiresAt(body.expiresAt, payload.exp);
    assert.deepEqual(payload.app_metadata, { org_id: "org_r", org_role: "owner" });
  });

  test("no app_metadata when the caller has no organization", async () => {
    const body = await realtime("user_solo", "", "member");
    const { payload } = await jwtVerify(body.token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      issuer: REALTIME_ISSUER,
      audience: "authenticated",
    });
    assert.equal(payload.sub, "user_solo");
    assert.equal(payload.app_metadata, undefined);
  });

  test("another secret does not verify it", async () => {
    const body = await realtime("user_r", "org_r", "member");
    await assert.rejects(jwtVerify(body.token, new TextEncoder().encode(supabaseSecret())), {
      code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
  });
});
