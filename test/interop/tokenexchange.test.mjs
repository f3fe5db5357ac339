// gatepass's standard front door, driven by a client that knows only the
// standards: openid-client discovers gatepass from its RFC 8414 metadata
// and obtains every grant kind through the RFC 8693 token exchange (its
// generic grant request). The grants it gets are then accepted by the real
// peers the dedicated endpoints are tested against: the office grant by
// jose and by the office-router Worker on workerd, the Supabase Realtime
// token by jose with the shared secret, the LiveKit grant by a real
// livekit-server, and the Centrifugo tokens by a real Centrifugo with its
// JavaScript client.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { allowInsecureRequests, discovery, genericGrantRequest, None, ResponseBodyError } from "openid-client";

import { connect as centrifugoConnect, nextPublication, startCentrifugo, subscribe } from "./lib/centrifugo.mjs";
import {
  AUDIENCE,
  CENTRIFUGO_AUDIENCE,
  centrifugoTrust,
  freePort,
  ISSUER,
  startGatepass,
  supabaseSecret,
  WEBSOCKET_URL,
} from "./lib/gatepass.mjs";
import { joinRoom, LiveKitRefusal, startLiveKit } from "./lib/livekit.mjs";
import { startWorker } from "./lib/officerouter.mjs";
import { relay, wsURL } from "./lib/sockets.mjs";

const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
const JWT = "urn:ietf:params:oauth:token-type:jwt";
// Every audience the development gatepass enables, NATS included.
const AUDIENCES = ["office-router", "supabase-realtime", "livekit", "centrifugo", "nats"];
// gatepass's default Supabase issuer, left unset.
const REALTIME_ISSUER = "qubital-backend";
// gatepass ignores client_id (a public client); openid-client needs one.
const CLIENT_ID = "gatepass-interop";

describe("openid-client discovers gatepass and exchanges tokens the real peers accept", { timeout: 120_000 }, () => {
  const secret = supabaseSecret();
  let gatepass, centrifugo, livekit, worker, config;

  before(async () => {
    // Centrifugo fetches gatepass's JWKS only when a token arrives, so it
    // may start first, on gatepass's port chosen in advance.
    const port = await freePort();
    centrifugo = await startCentrifugo(undefined, centrifugoTrust(port));
    livekit = await startLiveKit(undefined);
    gatepass = await startGatepass(null, {
      port,
      secret,
      extraEnv: {
        CENTRIFUGO_URL: centrifugo.wsURL,
        LIVEKIT_URL: livekit.wsURL,
        LIVEKIT_API_KEY: livekit.apiKey,
        LIVEKIT_API_SECRET: livekit.apiSecret,
      },
    });
    worker = await startWorker(null, { CONN_JWT_ISSUER: ISSUER, CONN_JWT_AUDIENCE: AUDIENCE, CONN_JWKS_URL: gatepass.jwksURL });
    // gatepass serves plain HTTP on loopback in development, hence
    // allowInsecureRequests; "oauth2" discovers from RFC 8414's well-known
    // path and checks that the issuer is the URL discovered from.
    config = await discovery(new URL(gatepass.baseURL), CLIENT_ID, undefined, None(), {
      algorithm: "oauth2",
      execute: [allowInsecureRequests],
    });
  });
  after(async () => {
    await worker?.stop();
    await gatepass?.stop();
    await livekit?.stop();
    await centrifugo?.stop();
  });

  /** exchange trades a fresh identity of caller for a grant for audience (and scope). */
  async function exchange(caller, audience, scope) {
    const params = { subject_token: await gatepass.devToken(caller), subject_token_type: ACCESS_TOKEN, audience };
    if (scope !== undefined) params.scope = scope;
    return genericGrantRequest(config, GRANT_TYPE, params);
  }

  /** assertExchanged asserts the RFC 8693 answer, and that expires_in matches the token's exp. */
  function assertExchanged(res) {
    assert.equal(res.issued_token_type, JWT);
    // openid-client lower-cases token_type; gatepass answers "N_A".
    assert.equal(res.token_type, "n_a");
    assert.ok(Number.isInteger(res.expires_in) && res.expires_in > 0, `expires_in ${res.expires_in}`);
    const { exp } = decodeJwt(res.access_token);
    const left = exp - Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(left - res.expires_in) <= 5, `expires_in ${res.expires_in}, exp in ${left}s`);
    assert.equal(res.refresh_token, undefined, "no refresh token");
  }

  test("the discovered metadata names the issuer discovered from, the endpoints and every enabled audience", () => {
    const md = config.serverMetadata();
    assert.equal(new URL(md.issuer).href, new URL(gatepass.baseURL).href);
    assert.equal(md.token_endpoint, new URL("/oauth2/token", gatepass.baseURL).href);
    assert.equal(md.jwks_uri, gatepass.jwksURL);
    assert.deepEqual(md.grant_types_supported, [GRANT_TYPE]);
    assert.deepEqual(md.token_endpoint_auth_methods_supported, ["none"]);
    assert.deepEqual(md.response_types_supported, []);
    assert.deepEqual([...md.gatepass_audiences_supported].sort(), [...AUDIENCES].sort());
  });

  test("office-router: jose verifies the grant against the JWKS and the Worker on workerd admits it", async () => {
    const alice = { user: "user_a", org: "org_1", role: "admin" };
    const bob = { user: "user_b", org: "org_1", role: "member" };
    const a = await exchange(alice, "office-router");
    assertExchanged(a);
    assert.equal(a.url, WEBSOCKET_URL, "the answer names where the grant is used");

    const { payload, protectedHeader } = await jwtVerify(a.access_token, createRemoteJWKSet(new URL(gatepass.jwksURL)), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(payload.sub, alice.user);
    assert.equal(payload.userId, alice.user);
    assert.equal(payload.orgId, alice.org);
    assert.equal(payload.role, alice.role);
    // The same kind of token the dedicated endpoint issues: the same claims.
    const dedicated = await gatepass.grant(alice);
    assert.deepEqual(Object.keys(payload).sort(), Object.keys(decodeJwt(dedicated.token)).sort());

    const b = await exchange(bob, "office-router");
    assert.deepEqual(await relay(wsURL(worker.url), a.access_token, b.access_token, "over the front door"), {
      from: alice.user,
      role: alice.role,
      data: "over the front door",
    });
  });

  test("supabase-realtime: jose verifies HS256 with the shared secret", async () => {
    const res = await exchange({ user: "user_r", org: "org_r", role: "owner" }, "supabase-realtime");
    assertExchanged(res);
    assert.equal(res.url, undefined);
    assert.equal(res.server_url, undefined);
    const { payload, protectedHeader } = await jwtVerify(res.access_token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      issuer: REALTIME_ISSUER,
      audience: "authenticated",
    });
    assert.equal(protectedHeader.alg, "HS256");
    assert.equal(payload.sub, "user_r");
    assert.equal(payload.role, "authenticated");
    assert.deepEqual(payload.app_metadata, { org_id: "org_r", org_role: "owner" });
  });

  test("livekit: a real livekit-server lets the grant join its organization's room, and refuses it tampered", async () => {
    const caller = { user: "user_lk", org: "org_lk", role: "member" };
    const res = await exchange(caller, "livekit", "room:standup");
    assertExchanged(res);
    assert.equal(res.server_url, livekit.wsURL);
    const claims = decodeJwt(res.access_token);
    assert.equal(claims.iss, livekit.apiKey);
    assert.equal(claims.sub, caller.user);
    assert.equal(claims.video?.room, "org_lk/standup");

    const joined = await joinRoom(res.server_url, res.access_token);
    assert.equal(joined.room, "org_lk/standup");
    assert.equal(joined.identity, caller.user);
    assert.equal(joined.permission?.canSubscribe, true);

    // A flipped bit in the payload keeps the token well formed but breaks
    // its signature.
    const [h, p, s] = res.access_token.split(".");
    const bytes = Buffer.from(p, "base64url");
    bytes[10] ^= 1;
    const tampered = `${h}.${bytes.toString("base64url")}.${s}`;
    await assert.rejects(joinRoom(res.server_url, tampered), (err) => {
      assert.ok(err instanceof LiveKitRefusal, `want a LiveKitRefusal, got ${err}`);
      assert.equal(err.status, 401);
      return true;
    });
  });

  test("centrifugo: the connection token connects and the subscription token subscribes", async (t) => {
    const caller = { user: "user_x", org: "org_x", role: "member" };
    const conn = await exchange(caller, "centrifugo");
    assertExchanged(conn);
    assert.equal(conn.url, centrifugo.wsURL);
    const connClaims = decodeJwt(conn.access_token);
    assert.equal(connClaims.aud, CENTRIFUGO_AUDIENCE);
    assert.equal(connClaims.channel, undefined, "a connection token names no channel");

    const sub = await exchange(caller, "centrifugo", "channel:org:org_x");
    assertExchanged(sub);
    assert.equal(sub.url, undefined, "a subscription token is used on an open connection");
    assert.equal(decodeJwt(sub.access_token).channel, "org:org_x");

    const { client } = await centrifugoConnect(conn.url, conn.access_token, { t });
    const subscription = await subscribe(client, "org:org_x", sub.access_token);
    const received = nextPublication(subscription);
    await centrifugo.publish("org:org_x", { hello: "via token exchange" });
    assert.deepEqual(await received, { hello: "via token exchange" });
  });

  test("refusals reach openid-client as RFC 6749 errors that do not echo the subject token", async () => {
    const caller = { user: "user_e", org: "org_e", role: "member" };
    const cases = [
      { name: "an unknown audience", audience: "billing", error: "invalid_target" },
      { name: "another organization's channel", audience: "centrifugo", scope: "channel:org:org_other", error: "invalid_target" },
      { name: "livekit without a room", audience: "livekit", error: "invalid_scope" },
      { name: "a scope where none belongs", audience: "office-router", scope: "room:standup", error: "invalid_scope" },
      { name: "a tampered subject token", audience: "office-router", tamper: true, error: "invalid_request" },
    ];
    for (const c of cases) {
      let subject = await gatepass.devToken(caller);
      if (c.tamper) subject = `${subject.slice(0, -4)}AAAA`;
      const params = { subject_token: subject, subject_token_type: ACCESS_TOKEN, audience: c.audience };
      if (c.scope) params.scope = c.scope;
      await assert.rejects(genericGrantRequest(config, GRANT_TYPE, params), (err) => {
        assert.ok(err instanceof ResponseBodyError, `${c.name}: want a ResponseBodyError, got ${err}`);
        assert.equal(err.error, c.error, c.name);
        assert.equal(err.status, 400, c.name);
        assert.equal(typeof err.error_description, "string", c.name);
        const [, payload, signature] = subject.split(".");
        assert.ok(!JSON.stringify(err.cause).includes(payload), `${c.name}: the error echoes the subject token`);
        assert.ok(!JSON.stringify(err.cause).includes(signature), `${c.name}: the error echoes the subject token`);
        return true;
      });
    }
  });
});

