// Every JWT_SIGNER mints grants that jose and the reference Worker accept:
// go (crypto/*), openssl (libcrypto through cgo), pkcs11 (a SoftHSM2 token
// made here, the key imported as an operator would) and auto, which picks
// openssl when libcrypto loads, as it does on the machines these tests
// run on. Each case checks that the signer asked for is the one serving,
// from the start log and from the admin listener's /readyz.
//
// One key per algorithm is shared by every signer, so the served key set
// and the kid must come out the same whichever signer holds the key.
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from "jose";

import { ALGORITHMS, AUDIENCE, ISSUER, keyPair, serveExit, startGatepass } from "./lib/gatepass.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { relay, wsURL } from "./lib/sockets.mjs";
import { createToken } from "./lib/softhsm.mjs";

// [JWT_SIGNER, the signer that must serve, the algorithms it is run with]
const SIGNERS = [
  ["go", "go", ALGORITHMS],
  ["openssl", "openssl", ALGORITHMS],
  ["auto", "openssl", ALGORITHMS],
  // gatepass's PKCS#11 signer has no EdDSA.
  ["pkcs11", "pkcs11", ["RS256", "PS256", "ES256"]],
];

const keys = Object.fromEntries(ALGORITHMS.map((alg) => [alg, keyPair(alg)]));

/** expectedJWKS is the key set gatepass must publish for alg's key. */
async function expectedJWKS(alg) {
  const jwk = await exportJWK(createPublicKey(keys[alg].publicKey));
  return { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk, "sha256"), use: "sig", alg }] };
}

describe("office grants from every JWT_SIGNER", { timeout: 180_000 }, () => {
  let token;

  before(async () => {
    token = await createToken(null, { pin: "pin-interop-1618" });
    for (const alg of ["RS256", "PS256", "ES256"]) await token.importKey(keys[alg].privateKey, `office-${alg}`);
  });
  after(() => token?.remove());

  for (const [signer, serving, algorithms] of SIGNERS) {
    for (const alg of algorithms) {
      describe(`JWT_SIGNER=${signer} JWT_ALGORITHM=${alg}`, () => {
        let server;
        let want;

        before(async () => {
          want = await expectedJWKS(alg);
          const options = { signer, algorithm: alg, logLevel: "info" };
          if (signer === "pkcs11") options.extraEnv = token.env(`office-${alg}`);
          else options.privateKey = keys[alg].privateKey;
          server = await startGatepass(null, options);
        });
        after(() => server?.stop());

        test(`${serving} signs, says the start log and the admin /readyz`, async () => {
          const { kid } = want.keys[0];
          const record = await server.startRecord();
          assert.ok(record, `no "gatepass serving" record in:\n${server.logs()}`);
          assert.equal(record.signer, serving);
          assert.equal(record.office_alg, alg);
          assert.equal(record.office_kid, kid);
          assert.match(record.admin_addr, /^127\.0\.0\.1:\d+$/);
          const admin = await server.readyz(`http://${record.admin_addr}`);
          assert.equal(admin.status, 200, JSON.stringify(admin.body));
          assert.equal(admin.body.status, "ready");
          assert.equal(admin.body.checks.signer.status, "ok");
          assert.equal(admin.body.checks.signer.detail, `${serving} ${alg} kid=${kid} (self-test passed at start)`);
          // The public listener says only whether it is ready.
          const pub = await server.readyz(server.baseURL);
          assert.equal(pub.status, 200, JSON.stringify(pub.body));
          assert.deepEqual(pub.body, { status: "ready" });
          if (signer === "pkcs11") assert.ok(!server.logs().includes(token.pin), "the PIN is logged");
        });

        test("the JWK Set is the key's, whichever signer holds it", async () => {
          assert.deepEqual(await server.jwks(), want);
        });

        test("jose verifies a grant against the JWK Set, and the Worker admits it", async (t) => {
          const [a, b] = await Promise.all([
            server.grant({ user: "user_a", org: `org_${signer}`, role: "admin" }),
            server.grant({ user: "user_b", org: `org_${signer}`, role: "member" }),
          ]);
          for (const g of [a, b]) {
            const { protectedHeader, payload } = await jwtVerify(g.token, createRemoteJWKSet(new URL(server.jwksURL)), {
              algorithms: [alg],
              issuer: ISSUER,
              audience: AUDIENCE,
              typ: "JWT",
            });
            assert.equal(protectedHeader.kid, want.keys[0].kid);
            assert.equal(payload.orgId, `org_${signer}`);
          }
          const worker = await startWorker(t, {
            CONN_JWT_ISSUER: ISSUER,
            CONN_JWT_AUDIENCE: AUDIENCE,
            CONN_JWKS_URL: server.jwksURL,
            CONN_JWT_ALGORITHMS: alg,
          });
          assert.deepEqual(await relay(wsURL(worker.url), a.token, b.token, `signed by ${signer}`), {
            from: "user_a",
            role: "admin",
            data: `signed by ${signer}`,
          });
        });
      });
    }
  }
});

describe("JWT_SIGNER=pkcs11 refuses to start on a token it cannot sign with", { timeout: 120_000 }, () => {
  let token;

  before(async () => {
    token = await createToken(null, { pin: "pin-2718" });
    await token.importKey(keys.RS256.privateKey, "office-rsa");
    await token.importKey(keys.EdDSA.privateKey, "office-ed25519");
  });
  after(() => token?.remove());

  async function refused(options) {
    const { code, stderr } = await serveExit({ signer: "pkcs11", ...options });
    assert.equal(code, 1, stderr);
    return stderr;
  }

  test("EdDSA: the PKCS#11 signer has none, refused by the settings check", async () => {
    const stderr = await refused({ algorithm: "EdDSA", extraEnv: token.env("office-ed25519") });
    assert.match(stderr, /JWT_ALGORITHM: EdDSA is not offered with JWT_SIGNER=pkcs11/);
    assert.ok(!stderr.includes("pin-2718"), "the PIN is not echoed");
  });

  test("a key of another type than JWT_ALGORITHM", async () => {
    const stderr = await refused({ algorithm: "ES256", extraEnv: token.env("office-rsa") });
    assert.match(stderr, /JWT_ALGORITHM=ES256/);
  });

  test("a key label the token does not hold", async () => {
    const stderr = await refused({ algorithm: "RS256", extraEnv: token.env("no-such-key") });
    assert.match(stderr, /no-such-key/);
  });

  test("a wrong PIN, which is not echoed", async () => {
    const pin = "wrong-pin-31337";
    const stderr = await refused({ algorithm: "RS256", extraEnv: { ...token.env("office-rsa"), PKCS11_PIN: pin } });
    assert.match(stderr, /PIN_INCORRECT/);
    assert.ok(!stderr.includes(pin), "the PIN is in the output");
  });

  test("JWT_PRIVATE_KEY set as well: the key must live in the token only", async () => {
    const stderr = await refused({
      algorithm: "RS256",
      privateKey: keys.RS256.privateKey,
      extraEnv: token.env("office-rsa"),
    });
    assert.match(stderr, /JWT_PRIVATE_KEY/);
    assert.ok(!stderr.includes(keys.RS256.privateKey.split("\n")[1]), "the key is in the output");
  });
});
