// Centrifugo v6 against the real gatepass binary: gatepass, with
// CENTRIFUGO_URL set, issues connection and subscription tokens over HTTP;
// a real centrifugo server verifies them through gatepass's own JWKS; the
// official JavaScript client (centrifuge, over ws) connects and subscribes
// with them. Centrifugo refuses what gatepass signs for another audience
// (an office-router grant) and a subscription token for another channel.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { decodeJwt, decodeProtectedHeader } from "jose";

import { assertRefused, connect, nextPublication, startCentrifugo, subscribe } from "./lib/centrifugo.mjs";
import { AUDIENCE, CENTRIFUGO_AUDIENCE, centrifugoTrust, freePort, ISSUER, startGatepass } from "./lib/gatepass.mjs";

/** assertSigned asserts token is signed under a kid of gatepass's JWK Set. */
async function assertSigned(server, token) {
  const { kid } = decodeProtectedHeader(token);
  const { keys } = await server.jwks();
  assert.ok(
    keys.some((k) => k.kid === kid),
    `kid ${kid} is not in gatepass's JWK Set`,
  );
}

describe("centrifugo verifies the tokens gatepass issues", { timeout: 90_000 }, () => {
  let gatepass, centrifugo;
  const caller = { user: "user_x", org: "org_x", role: "member" };

  before(async () => {
    // Each needs the other's address: gatepass hands out Centrifugo's URL,
    // Centrifugo fetches gatepass's JWKS (only when a token arrives, so it
    // may start first on gatepass's port chosen in advance).
    const port = await freePort();
    centrifugo = await startCentrifugo(undefined, centrifugoTrust(port));
    gatepass = await startGatepass(null, { port, extraEnv: { CENTRIFUGO_URL: centrifugo.wsURL } });
  });
  after(async () => {
    await gatepass?.stop();
    await centrifugo?.stop();
  });

  /** tokens asks gatepass for a connection token and a subscription token to channel. */
  async function tokens(identity, channel) {
    const conn = await gatepass.centrifugoConnectionToken(identity);
    assert.equal(conn.status, 200, JSON.stringify(conn.body));
    const sub = await gatepass.centrifugoSubscriptionToken(identity, channel);
    assert.equal(sub.status, 200, JSON.stringify(sub.body));
    return { conn: conn.body, sub: sub.body };
  }

  test("a gatepass connection token connects and its subscription token subscribes to org:<orgId>", async (t) => {
    const identity = await gatepass.devToken(caller);
    const { conn, sub } = await tokens(identity, "org:org_x");

    assert.equal(conn.url, centrifugo.wsURL, "the connection answer names CENTRIFUGO_URL");
    assert.equal(conn.tokenType, "Bearer");
    assert.ok(Number.isInteger(conn.expiresIn) && conn.expiresIn > 0 && conn.expiresIn <= 600, `expiresIn ${conn.expiresIn}`);
    const connClaims = decodeJwt(conn.token);
    assert.equal(connClaims.exp, Date.parse(conn.expiresAt) / 1000, "exp and expiresAt agree");
    assert.equal(connClaims.iss, ISSUER);
    assert.equal(connClaims.aud, CENTRIFUGO_AUDIENCE);
    assert.equal(connClaims.sub, caller.user);
    assert.equal(connClaims.info?.orgId, caller.org);
    assert.equal(connClaims.channel, undefined, "a connection token names no channel");
    const subClaims = decodeJwt(sub.token);
    assert.equal(subClaims.channel, "org:org_x");
    assert.equal(subClaims.sub, caller.user);
    assert.equal(subClaims.aud, CENTRIFUGO_AUDIENCE);
    await assertSigned(gatepass, conn.token);
    await assertSigned(gatepass, sub.token);

    const { client, clientId } = await connect(conn.url, conn.token, { t });
    assert.ok(clientId, "the server gives the connection an id");
    const subscription = await subscribe(client, "org:org_x", sub.token);
    const received = nextPublication(subscription);
    await centrifugo.publish("org:org_x", { hello: "org x" });
    assert.deepEqual(await received, { hello: "org x" });
  });

  test("an office-router grant from request-access is refused as a connection token", async (t) => {
    const grant = await gatepass.grant(caller);
    // Same key, kid and issuer as a Centrifugo token: only the audience
    // keeps Centrifugo from taking it.
    await assertSigned(gatepass, grant.token);
    const claims = decodeJwt(grant.token);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, AUDIENCE);
    assert.notEqual(claims.aud, CENTRIFUGO_AUDIENCE);
    await assertRefused(connect(centrifugo.wsURL, grant.token, { t }), "connect", 3500);
  });

  test("a subscription token for org X does not open org:Y, and gatepass will not mint one", async (t) => {
    const identity = await gatepass.devToken(caller);
    const refused = await gatepass.centrifugoSubscriptionToken(identity, "org:org_y");
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.headers.get("content-type"), /^application\/problem\+json/);
    assert.equal(refused.body.code, "channel_not_allowed");
    assert.equal(refused.body.token, undefined, "a refusal carries no token");

    const { conn, sub } = await tokens(identity, "org:org_x");
    const { client } = await connect(conn.url, conn.token, { t });
    // A verified token for another channel costs the connection (3500).
    await assertRefused(subscribe(client, "org:org_y", sub.token), "subscribe", 3500);
    // The same token still opens its own channel on a new connection.
    const again = await connect(conn.url, conn.token, { t });
    await subscribe(again.client, "org:org_x", sub.token);
  });
});
