// Centrifugo v6 as the real-time peer of gatepass's grants: a real
// centrifugo server verifies RS256 connection and subscription tokens
// against a JWKS served by this test, and the official JavaScript client
// (centrifuge) connects and subscribes with them. Tokens are signed here
// with jose, so every refusal can be made to order; the tokens gatepass
// itself issues are in centrifugo-gatepass.test.mjs.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { exportJWK, generateKeyPair, SignJWT } from "jose";

import { assertRefused, connect, nextPublication, startCentrifugo, subscribe } from "./lib/centrifugo.mjs";

const ISSUER = "gatepass-interop";
const AUDIENCE = "centrifugo-interop";
const KID = "interop-key-1";

/** signer makes an RS256 key and signs Centrifugo tokens with it. */
async function signer() {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  const sign = (claims, { ttl = 60 } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + ttl, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: KID, typ: "JWT" })
      .sign(privateKey);
  };
  return {
    jwk,
    connection: (sub, extra = {}, opts) => sign({ sub, info: { name: `Name of ${sub}` }, ...extra }, opts),
    subscription: (sub, channel, extra = {}, opts) => sign({ sub, channel, info: { role: "member" }, ...extra }, opts),
  };
}

/** serveJWKS serves { keys } on a free loopback port until the suite ends. */
async function serveJWKS(keys) {
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise((resolve, reject) => server.listen(0, "127.0.0.1", resolve).on("error", reject));
  return {
    url: `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("centrifugo verifies connection and subscription tokens", { timeout: 60_000 }, () => {
  let keys, other, jwks, server;

  before(async () => {
    keys = await signer();
    other = await signer(); // same kid, another key: not in the JWKS
    jwks = await serveJWKS([keys.jwk]);
    server = await startCentrifugo(undefined, { jwksURL: jwks.url, issuer: ISSUER, audience: AUDIENCE });
  });
  after(async () => {
    await server?.stop();
    await jwks?.close();
  });

  test("a connection token connects, a subscription token subscribes to org:<id>", async (t) => {
    const { client, clientId } = await connect(server.wsURL, await keys.connection("user-1"), { t });
    assert.ok(clientId, "the server gives the connection an id");
    const sub = await subscribe(client, "org:42", await keys.subscription("user-1", "org:42"));
    const received = nextPublication(sub);
    await server.publish("org:42", { hello: "org 42" });
    assert.deepEqual(await received, { hello: "org 42" });
  });

  test("a connection token is refused for the wrong audience, issuer or key", async (t) => {
    await assertRefused(connect(server.wsURL, await keys.connection("user-1", { aud: "someone-else" }), { t }), "connect", 3500);
    await assertRefused(connect(server.wsURL, await keys.connection("user-1", { iss: "someone-else" }), { t }), "connect", 3500);
    await assertRefused(connect(server.wsURL, await other.connection("user-1"), { t }), "connect", 3500);
  });

  test("org channels take a valid subscription token", async (t) => {
    const connected = async () => (await connect(server.wsURL, await keys.connection("user-1"), { t })).client;
    await assertRefused(subscribe(await connected(), "org:1", undefined), "subscribe", 103);
    await assertRefused(subscribe(await connected(), "org:2", await keys.subscription("user-1", "org:2", { aud: "someone-else" })), "subscribe", 103);
    await assertRefused(subscribe(await connected(), "org:3", await other.subscription("user-1", "org:3")), "subscribe", 103);
    // Expired (the server's 109): without getToken the client gives up
    // with its own code 1, unauthorized.
    await assertRefused(subscribe(await connected(), "org:4", await keys.subscription("user-1", "org:4", {}, { ttl: -3600 })), "subscribe", 1);
    // A verified token for another channel costs the connection.
    await assertRefused(subscribe(await connected(), "org:5", await keys.subscription("user-1", "org:6")), "subscribe", 3500);
  });
});
