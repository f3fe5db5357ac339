// What each transport's helper asks gatepass and hands to its client
// library: Supabase, LiveKit, Centrifugo (with its UnauthorizedError),
// NATS (servers, inbox prefix, an authenticator kept fresh) and the
// token exchange.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { GatepassError } from "../dist/index.js";
import { client, grantAnswer, json, networkError, problem, until } from "./script.mjs";

// centrifuge-js's own class has this shape: an Error built from a message.
class UnauthorizedError extends Error {
  constructor(message) {
    super(message);
    this.name = "UnauthorizedError";
  }
}

const NATS_ANSWER = (jwt, expiresIn = 600) =>
  json(201, {
    server_url: "nats://127.0.0.1:4222",
    servers: ["nats://127.0.0.1:4222", "ws://127.0.0.1:4223"],
    user_jwt: jwt,
    inbox_prefix: "_INBOX.user_1",
    expiresIn,
    expiresAt: "2026-12-01T10:10:00Z",
  });

/**
 * heldSleep is a sleep the test releases by hand (waits[i].resolve()): the
 * NATS renewal runs in the background, and an instant fake sleep would let
 * it spin.
 */
function heldSleep() {
  const waits = [];
  const sleep = (ms, signal) =>
    new Promise((resolve, reject) => {
      waits.push({ ms, resolve });
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  return { waits, sleep };
}

describe("supabaseRealtime", () => {
  test("posts to /api/v1/realtime/token and resolves to the token", async () => {
    const { gp, net } = client({ answers: [grantAnswer("rt-1", 3600)] });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.equal(net.requests[0].method, "POST");
    assert.equal(net.requests[0].path, "/api/v1/realtime/token");
  });
});

describe("livekit", () => {
  test("fetch() sends LiveKit's request fields and resolves to { serverUrl, participantToken }", async () => {
    const { gp, net } = client({
      answers: [json(201, { server_url: "wss://lk.example", participant_token: "lk-1", expiresIn: 600, expiresAt: "x" })],
    });
    const source = gp.livekit({
      roomName: "standup",
      participantName: "Ada",
      participantIdentity: "user_1#laptop",
      participantMetadata: "{}",
      participantAttributes: { team: "core" },
    });
    assert.deepEqual(await source.fetch(), { serverUrl: "wss://lk.example", participantToken: "lk-1" });
    assert.equal(net.requests[0].path, "/api/v1/livekit/token");
    assert.deepEqual(net.requests[0].json, {
      room_name: "standup",
      participant_name: "Ada",
      participant_identity: "user_1#laptop",
      participant_metadata: "{}",
      participant_attributes: { team: "core" },
    });
  });

  test("options given to fetch() override livekit()'s, and make another grant", async () => {
    const { gp, net } = client({
      answers: [
        (req) => json(201, { server_url: "wss://lk", participant_token: `lk-${req.json.room_name}`, expiresIn: 600 }),
        (req) => json(201, { server_url: "wss://lk", participant_token: `lk-${req.json.room_name}`, expiresIn: 600 }),
      ],
    });
    const source = gp.livekit({ roomName: "standup" });
    assert.equal((await source.fetch()).participantToken, "lk-standup");
    assert.equal((await source.fetch({ roomName: "retro" })).participantToken, "lk-retro");
    assert.equal((await source.fetch()).participantToken, "lk-standup");
    assert.equal(net.requests.length, 2);
  });

  test("a refusal is a GatepassError with the code", async () => {
    const { gp } = client({ answers: [problem(400, "invalid_room")] });
    await assert.rejects(gp.livekit({ roomName: "bad room" }).fetch(), { name: "GatepassError", code: "invalid_room" });
  });

  test("a roomName is required", () => {
    const { gp } = client();
    assert.throws(() => gp.livekit({}), TypeError);
  });
});

describe("centrifugo", () => {
  test("getToken asks for a connection token, getSubscriptionToken for ctx.channel's", async () => {
    const { gp, net } = client({
      answers: [grantAnswer("conn-1", 600, { url: "ws://127.0.0.1:8000/connection/websocket" }), grantAnswer("sub-1", 600)],
    });
    const c = gp.centrifugo({ UnauthorizedError });
    assert.equal(await c.getToken({}), "conn-1");
    assert.equal(await c.getSubscriptionToken({ channel: "org:org_1" }), "sub-1");
    assert.equal(await c.url(), "ws://127.0.0.1:8000/connection/websocket");
    assert.deepEqual(
      net.requests.map((r) => [r.path, r.json]),
      [
        ["/api/v1/centrifugo/connection-token", undefined],
        ["/api/v1/centrifugo/subscription-token", { channel: "org:org_1" }],
      ],
    );
  });

  test("a final refusal is raised as the UnauthorizedError passed in, carrying the code", async () => {
    const { gp, net } = client({ answers: [problem(403, "channel_not_allowed")] });
    const c = gp.centrifugo({ UnauthorizedError });
    await assert.rejects(c.getSubscriptionToken({ channel: "org:other" }), (err) => {
      assert.ok(err instanceof UnauthorizedError, `want UnauthorizedError, got ${err}`);
      assert.equal(err.code, "channel_not_allowed");
      assert.equal(err.status, 403);
      assert.ok(err.cause instanceof GatepassError);
      return true;
    });
    assert.equal(net.requests.length, 1);
  });

  test("a 401 after the second identity token is an UnauthorizedError too", async () => {
    const { gp } = client({ answers: [problem(401, "invalid_token"), problem(401, "invalid_token")] });
    await assert.rejects(gp.centrifugo({ UnauthorizedError }).getToken(), UnauthorizedError);
  });

  test("what may pass on a later try stays a plain error, so centrifuge retries", async () => {
    const { gp } = client({ answers: [networkError, networkError], retries: 1 });
    await assert.rejects(gp.centrifugo({ UnauthorizedError }).getToken(), (err) => {
      assert.ok(!(err instanceof UnauthorizedError), "a retryable failure stopped centrifuge");
      assert.equal(err.retryable, true);
      return true;
    });
  });

  test("UnauthorizedError is required", () => {
    const { gp } = client();
    assert.throws(() => gp.centrifugo({}), /UnauthorizedError/);
  });
});

describe("nats", () => {
  test("connectOptions holds the servers, the inbox prefix and an authenticator giving the JWT", async () => {
    const { gp, net } = client({ answers: [NATS_ANSWER("jwt-1")], sleep: heldSleep().sleep });
    const n = gp.nats();
    const opts = await n.connectOptions();
    assert.deepEqual(opts.servers, ["nats://127.0.0.1:4222", "ws://127.0.0.1:4223"]);
    assert.equal(opts.inboxPrefix, "_INBOX.user_1");
    assert.deepEqual(opts.authenticator("nonce"), { jwt: "jwt-1" });
    assert.equal(net.requests[0].path, "/api/v1/nats/token");
    n.close();
  });

  test("servers are picked by transport: websocket for wsconnect, tcp for transport-node", async () => {
    const { gp, net } = client({ answers: [NATS_ANSWER("jwt-1")], sleep: heldSleep().sleep });
    const n = gp.nats();
    assert.deepEqual(await n.servers({ transport: "websocket" }), ["ws://127.0.0.1:4223"]);
    assert.deepEqual(await n.servers({ transport: "tcp" }), ["nats://127.0.0.1:4222"]);
    assert.deepEqual((await n.connectOptions({ transport: "websocket" })).servers, ["ws://127.0.0.1:4223"]);
    assert.equal(await n.inboxPrefix(), "_INBOX.user_1");
    assert.equal(net.requests.length, 1, "one grant serves them all");
    n.close();
  });

  test("the authenticator refuses to run before a grant was obtained", () => {
    const { gp } = client();
    assert.throws(() => gp.nats().authenticator()(), /no NATS grant yet/);
  });

  test("the JWT is renewed at its refresh point, before it expires, and the authenticator gives the new one", async () => {
    // The renewal's timer is held here until the test lets it fire.
    const { waits, sleep } = heldSleep();
    const { gp, net, time } = client({ answers: [NATS_ANSWER("jwt-1", 600), NATS_ANSWER("jwt-2", 600)], sleep });
    const n = gp.nats();
    const { authenticator } = await n.connectOptions();
    assert.deepEqual(authenticator(), { jwt: "jwt-1" });
    await until(() => waits.length === 1);
    assert.equal(waits[0].ms, 480_000, "renewed at 80% of 600 s");
    time.advance(waits[0].ms);
    waits[0].resolve();
    await until(() => waits.length === 2);
    assert.deepEqual(authenticator(), { jwt: "jwt-2" });
    assert.equal(net.requests.length, 2);
    n.close();
  });

  test("clear() stops the renewal and forgets the JWT", async () => {
    const { gp, net } = client({ answers: [NATS_ANSWER("jwt-1")], sleep: heldSleep().sleep });
    const n = gp.nats();
    const { authenticator } = await n.connectOptions();
    gp.clear();
    assert.throws(() => authenticator(), /no NATS grant yet/);
    await new Promise((r) => setImmediate(r));
    assert.equal(net.requests.length, 1);
  });
});

describe("exchange", () => {
  test("posts RFC 8693's form with the identity token as subject token", async () => {
    const { gp, net } = client({
      answers: [json(200, { access_token: "x-1", issued_token_type: "urn:ietf:params:oauth:token-type:jwt", token_type: "N_A", expires_in: 600, server_url: "wss://lk" })],
    });
    const out = await gp.exchange({ audience: "livekit", scope: "room:standup" });
    assert.equal(out.access_token, "x-1");
    assert.equal(out.server_url, "wss://lk");
    const req = net.requests[0];
    assert.equal(req.path, "/oauth2/token");
    assert.deepEqual(req.form, {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      subject_token: "id-1",
      audience: "livekit",
      scope: "room:standup",
    });
  });

  test("an exchanged grant is reused; an office-router one never is", async () => {
    const answer = (t) => json(200, { access_token: t, issued_token_type: "jwt", token_type: "N_A", expires_in: 600 });
    const { gp, net } = client({ answers: [answer("c-1"), answer("o-1"), answer("o-2")] });
    assert.equal((await gp.exchange({ audience: "centrifugo" })).access_token, "c-1");
    assert.equal((await gp.exchange({ audience: "centrifugo" })).access_token, "c-1");
    assert.equal((await gp.exchange({ audience: "office-router" })).access_token, "o-1");
    assert.equal((await gp.exchange({ audience: "office-router" })).access_token, "o-2");
    assert.equal(net.requests.length, 3);
  });
});
