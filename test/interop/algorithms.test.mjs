// Every JWT_ALGORITHM gatepass signs office grants with (RS256, PS256,
// ES256, EdDSA), as its verifiers see it: the served JWK Set and `gatepass
// keys public` describe a key of the right type, jose verifies grants with
// either, and the reference Worker on workerd admits them when it allows
// that algorithm and refuses them with 401 when it does not.
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import {
  calculateJwkThumbprint,
  CompactSign,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  importPKCS8,
  importSPKI,
  jwtVerify,
} from "jose";

import { ALGORITHMS, AUDIENCE, ISSUER, keyPair, runGatepass, serveExit, startGatepass } from "./lib/gatepass.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { attempt, connect, relay, wsURL } from "./lib/sockets.mjs";

// What each algorithm's key looks like: as a JWK, and to node:crypto.
const KEY_SHAPES = {
  RS256: { kty: "RSA", members: ["e", "n"], nodeType: "rsa" },
  PS256: { kty: "RSA", members: ["e", "n"], nodeType: "rsa" },
  ES256: { kty: "EC", crv: "P-256", members: ["crv", "x", "y"], nodeType: "ec", curve: "prime256v1" },
  EdDSA: { kty: "OKP", crv: "Ed25519", members: ["crv", "x"], nodeType: "ed25519" },
};

const workerVars = (vars) => ({ CONN_JWT_ISSUER: ISSUER, CONN_JWT_AUDIENCE: AUDIENCE, ...vars });

/** publicJWK is the JWK of a public PEM with kid, use and alg as gatepass publishes it. */
async function publicJWK(pem, alg) {
  const jwk = await exportJWK(createPublicKey(pem));
  return { ...jwk, kid: await calculateJwkThumbprint(jwk, "sha256"), use: "sig", alg };
}

/** checkKeyShape asserts that an SPKI PEM holds a public key that fits alg. */
function checkKeyShape(pem, alg) {
  const shape = KEY_SHAPES[alg];
  const key = createPublicKey(pem);
  assert.equal(key.asymmetricKeyType, shape.nodeType, `a ${alg} key`);
  if (shape.curve) assert.equal(key.asymmetricKeyDetails.namedCurve, shape.curve);
  if (shape.nodeType === "rsa") assert.ok(key.asymmetricKeyDetails.modulusLength >= 2048, "RSA of 2048 bits or more");
}

/** pkcs8Key makes a PKCS#8 PEM private key of a type no algorithm accepts. */
function pkcs8Key(type, params) {
  return generateKeyPairSync(type, { ...params, privateKeyEncoding: { type: "pkcs8", format: "pem" } }).privateKey;
}

async function assertRefused(url, token, via = "header") {
  const r = await attempt(url, token, via);
  assert.equal(r.ok, false, "the upgrade was accepted");
  assert.equal(r.status, 401, r.body);
  assert.equal(JSON.parse(r.body).error, "invalid_token");
}

/**
 * serveJWKS serves a fixed JWK Set on a loopback port: a key set that holds
 * keys of several algorithms, so that only a verifier's algorithm allow-list
 * can tell their tokens apart.
 */
async function serveJWKS(set) {
  const body = JSON.stringify(set);
  const srv = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "public, max-age=300" });
    res.end(body);
  });
  await new Promise((resolve, reject) => srv.listen(0, "127.0.0.1", resolve).on("error", reject));
  return {
    url: `http://127.0.0.1:${srv.address().port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => srv.close(resolve)),
  };
}

describe("office grants in every JWT_ALGORITHM", { timeout: 120_000 }, () => {
  // One gatepass per algorithm, each with a key made here, and a grant of
  // each for users of one organization.
  const keys = Object.fromEntries(ALGORITHMS.map((alg) => [alg, keyPair(alg)]));
  const servers = {};
  const grants = {};

  before(async () => {
    await Promise.all(
      ALGORITHMS.map(async (alg) => {
        servers[alg] = await startGatepass(null, { algorithm: alg, privateKey: keys[alg].privateKey });
        grants[alg] = await Promise.all([
          servers[alg].grant({ user: `user_${alg}_a`, org: "org_alg", role: "admin" }),
          servers[alg].grant({ user: `user_${alg}_b`, org: "org_alg", role: "member" }),
        ]);
      }),
    );
  });
  after(() => Promise.all(Object.values(servers).map((s) => s.stop())));

  for (const alg of ALGORITHMS) {
    const shape = KEY_SHAPES[alg];

    describe(`JWT_ALGORITHM=${alg}`, () => {
      test(`the JWK Set publishes the signing key as kty ${shape.kty} with alg ${alg}`, async () => {
        const set = await servers[alg].jwks();
        assert.equal(set.keys.length, 1);
        const [jwk] = set.keys;
        assert.deepEqual(Object.keys(jwk).sort(), ["alg", "kid", "kty", "use", ...shape.members].sort(), "public members only");
        assert.equal(jwk.kty, shape.kty);
        assert.equal(jwk.alg, alg);
        assert.equal(jwk.use, "sig");
        assert.equal(jwk.crv, shape.crv);
        assert.deepEqual(jwk, await publicJWK(keys[alg].publicKey, alg), "the configured key, kid its RFC 7638 thumbprint");
        const cli = JSON.parse(await runGatepass(["keys", "jwks"], servers[alg].env));
        assert.deepEqual(cli, set, "`gatepass keys jwks` prints what the server publishes");
      });

      test("`gatepass keys public` prints the SPKI PEM of the configured key", async () => {
        const pem = await runGatepass(["keys", "public"], servers[alg].env);
        assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
        checkKeyShape(pem, alg);
        assert.equal(
          createPublicKey(pem).export({ format: "pem", type: "spki" }),
          createPublicKey(keys[alg].publicKey).export({ format: "pem", type: "spki" }),
        );
      });

      test("jose verifies a grant with importSPKI of `keys public` and with the remote JWK Set", async () => {
        const [grant] = grants[alg];
        const pem = await runGatepass(["keys", "public"], servers[alg].env);
        const options = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, typ: "JWT", requiredClaims: ["exp", "jti"] };
        const fromPEM = await jwtVerify(grant.token, await importSPKI(pem, alg), options);
        const fromJWKS = await jwtVerify(grant.token, createRemoteJWKSet(new URL(servers[alg].jwksURL)), options);
        for (const { protectedHeader, payload } of [fromPEM, fromJWKS]) {
          assert.deepEqual(protectedHeader, {
            alg,
            kid: (await publicJWK(keys[alg].publicKey, alg)).kid,
            typ: "JWT",
          });
          assert.equal(payload.sub, `user_${alg}_a`);
          assert.equal(payload.userId, `user_${alg}_a`);
          assert.equal(payload.orgId, "org_alg");
          assert.equal(payload.role, "admin");
          assert.equal(payload.exp - payload.iat, 60);
        }
      });

      test(`the Worker allowing ${alg} admits grants with the JWKS URL`, async (t) => {
        const worker = await startWorker(t, workerVars({ CONN_JWKS_URL: servers[alg].jwksURL, CONN_JWT_ALGORITHMS: alg }));
        const [a, b] = grants[alg];
        assert.deepEqual(await relay(wsURL(worker.url), a.token, b.token, `hello in ${alg}`), {
          from: `user_${alg}_a`,
          role: "admin",
          data: `hello in ${alg}`,
        });
      });

      // RS256 in static PEM mode is covered by officerouter.test.mjs.
      if (alg !== "RS256") {
        test(`the Worker allowing ${alg} admits grants with the static PEM`, async (t) => {
          const pem = await runGatepass(["keys", "public"], servers[alg].env);
          const worker = await startWorker(t, workerVars({ CONN_JWT_PUBLIC_KEY: pem, CONN_JWT_ALGORITHMS: alg }));
          const url = wsURL(worker.url);
          const [a, b] = grants[alg];
          assert.equal((await relay(url, a.token, b.token)).from, `user_${alg}_a`);
          // The PEM pins the key: a grant of another gatepass of the same
          // algorithm is refused.
          const other = await startGatepass(t, { algorithm: alg });
          await assertRefused(url, (await other.grant({ user: "user_x", org: "org_alg", role: "admin" })).token);
        });
      }
    });
  }

  describe("the Worker's CONN_JWT_ALGORITHMS allow-list", () => {
    // Every server's key in one set: the Worker trusts all four keys, so a
    // refusal below can only come from the algorithm.
    let union;
    before(async () => {
      const sets = await Promise.all(ALGORITHMS.map((alg) => servers[alg].jwks()));
      union = await serveJWKS({ keys: sets.flatMap((s) => s.keys) });
    });
    after(() => union?.close());

    for (const alg of ALGORITHMS) {
      test(`allowing ${alg} only: its grants are admitted, the other algorithms' refused with 401`, async (t) => {
        const worker = await startWorker(t, workerVars({ CONN_JWKS_URL: union.url, CONN_JWT_ALGORITHMS: alg }));
        const url = wsURL(worker.url);
        for (const other of ALGORITHMS) {
          const [grant] = grants[other];
          if (other === alg) {
            (await connect(url, grant.token)).close();
          } else {
            await assertRefused(url, grant.token);
            await assertRefused(url, grant.token, "protocol");
          }
        }
      });
    }

    test('a list with spaces, "ES256, EdDSA", allows exactly those two', async (t) => {
      const worker = await startWorker(t, workerVars({ CONN_JWKS_URL: union.url, CONN_JWT_ALGORITHMS: " ES256, EdDSA " }));
      const url = wsURL(worker.url);
      for (const alg of ["ES256", "EdDSA"]) (await connect(url, grants[alg][0].token)).close();
      for (const alg of ["RS256", "PS256"]) await assertRefused(url, grants[alg][0].token);
    });

    test("an RSA key published for RS256 does not verify PS256, even when the Worker allows both", async (t) => {
      // Same key, same kid, same claims: only alg differs. The JWK's alg
      // member pins the key to RS256.
      const [grant] = grants.RS256;
      const header = { ...decodeProtectedHeader(grant.token), alg: "PS256" };
      const payload = Buffer.from(grant.token.split(".")[1], "base64url");
      const pss = await new CompactSign(payload)
        .setProtectedHeader(header)
        .sign(await importPKCS8(keys.RS256.privateKey, "PS256"));
      const worker = await startWorker(t, workerVars({ CONN_JWKS_URL: servers.RS256.jwksURL, CONN_JWT_ALGORITHMS: "RS256,PS256" }));
      const url = wsURL(worker.url);
      (await connect(url, grant.token)).close();
      await assertRefused(url, pss);
    });
  });
});

describe("development mode creates a key that fits JWT_ALGORITHM", { timeout: 120_000 }, () => {
  for (const alg of ALGORITHMS) {
    test(alg, async (t) => {
      const server = await startGatepass(t, { algorithm: alg });
      const pem = await runGatepass(["keys", "public"], server.env);
      checkKeyShape(pem, alg);
      const grant = await server.grant({ user: "user_dev", org: "org_dev", role: "member" });
      const { protectedHeader } = await jwtVerify(grant.token, createRemoteJWKSet(new URL(server.jwksURL)), {
        algorithms: [alg],
        issuer: ISSUER,
        audience: AUDIENCE,
      });
      assert.equal(protectedHeader.kid, (await publicJWK(pem, alg)).kid);
    });
  }
});

describe("a key that does not fit JWT_ALGORITHM stops gatepass before it listens", { timeout: 120_000 }, () => {
  // [alg, the key, a key of that kind, what the message must say]
  const cases = [
    ["RS256", "an EC P-256 key", () => keyPair("ES256").privateKey, /JWT_ALGORITHM=RS256/],
    ["PS256", "an Ed25519 key", () => keyPair("EdDSA").privateKey, /JWT_ALGORITHM=PS256/],
    ["ES256", "an RSA key", () => keyPair("RS256").privateKey, /JWT_ALGORITHM=ES256/],
    ["EdDSA", "an EC P-256 key", () => keyPair("ES256").privateKey, /JWT_ALGORITHM=EdDSA/],
    // Keys no algorithm takes are refused as such.
    ["ES256", "an EC P-384 key", () => pkcs8Key("ec", { namedCurve: "P-384" }), /P-384/],
    ["RS256", "an RSA key of 1024 bits", () => pkcs8Key("rsa", { modulusLength: 1024 }), /1024 bits/],
  ];
  for (const [alg, what, makeKey, says] of cases) {
    test(`JWT_ALGORITHM=${alg} with ${what}`, async () => {
      const privateKey = makeKey();
      const { code, stderr } = await serveExit({ algorithm: alg, privateKey });
      assert.equal(code, 1, stderr);
      assert.match(stderr, /JWT_PRIVATE_KEY/);
      assert.match(stderr, says);
      const body = privateKey.split("\n")[1];
      assert.ok(!stderr.includes(body), "the key is not echoed");
    });
  }

  test("JWT_VERIFICATION_KEYS with a key no algorithm takes", async () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384", publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    const { code, stderr } = await serveExit({
      algorithm: "ES256",
      privateKey: keyPair("ES256").privateKey,
      verificationKeys: publicKey,
    });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /JWT_VERIFICATION_KEYS/);
  });

  for (const alg of ["HS256", "none", "ES384", "Ed25519"]) {
    test(`JWT_ALGORITHM=${alg} is not offered`, async () => {
      const { code, stderr } = await serveExit({ algorithm: alg, privateKey: keyPair("RS256").privateKey });
      assert.equal(code, 1, stderr);
      assert.match(stderr, /JWT_ALGORITHM/);
    });
  }
});
