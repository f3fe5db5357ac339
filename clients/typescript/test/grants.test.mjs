// The rules every grant follows: one request in flight per grant, reuse
// until the refresh point, a new identity drops the cache, and which
// answers are retried, asked again with a new identity token, or final.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { GatepassError, GatepassUnavailableError, MAX_RETRY_AFTER_MS, retryAfterMs } from "../dist/index.js";
import { client, deferred, grantAnswer, json, networkError, problem, tokens } from "./script.mjs";

describe("one request in flight per grant", () => {
  test("concurrent callers of one grant share one request and its token", async () => {
    const held = deferred();
    const { gp, net } = client({ answers: [held.promise] });
    const token = gp.supabaseRealtime();
    const calls = Array.from({ length: 5 }, () => token());
    // Every caller has asked before the answer comes.
    await new Promise((r) => setImmediate(r));
    assert.equal(net.requests.length, 1);
    held.resolve(grantAnswer("rt-1"));
    assert.deepEqual(await Promise.all(calls), Array(5).fill("rt-1"));
    assert.equal(net.requests.length, 1);
    assert.equal(net.requests[0].path, "/api/v1/realtime/token");
    assert.equal(net.requests[0].authorization, "Bearer id-1");
  });

  test("grants of different channels, rooms or audiences are requested apart; equal ones shared", async () => {
    const { gp, net } = client({
      answers: [
        (req) => grantAnswer(`sub-${req.json.channel}`),
        (req) => grantAnswer(`sub-${req.json.channel}`),
        (req) => json(201, { server_url: "ws://lk", participant_token: `lk-${req.json.room_name}`, expiresIn: 100 }),
        (req) => json(201, { server_url: "ws://lk", participant_token: `lk-${req.json.room_name}`, expiresIn: 100 }),
        (req) => json(200, { access_token: `x-${req.form.scope}`, issued_token_type: "jwt", token_type: "N_A", expires_in: 100 }),
        (req) => json(200, { access_token: `x-${req.form.scope}`, issued_token_type: "jwt", token_type: "N_A", expires_in: 100 }),
      ],
    });
    const c = gp.centrifugo({ UnauthorizedError: class extends Error {} });
    const [a, a2, b] = await Promise.all([
      c.getSubscriptionToken({ channel: "org:o.a" }),
      c.getSubscriptionToken({ channel: "org:o.a" }),
      c.getSubscriptionToken({ channel: "org:o.b" }),
    ]);
    assert.deepEqual([a, a2, b], ["sub-org:o.a", "sub-org:o.a", "sub-org:o.b"]);
    const [r1, r1again, r2] = await Promise.all([
      gp.livekit({ roomName: "standup" }).fetch(),
      gp.livekit({ roomName: "standup" }).fetch(),
      gp.livekit({ roomName: "retro" }).fetch(),
    ]);
    assert.deepEqual([r1.participantToken, r1again.participantToken, r2.participantToken], ["lk-standup", "lk-standup", "lk-retro"]);
    const [x1, x2] = await Promise.all([
      gp.exchange({ audience: "livekit", scope: "room:a" }),
      gp.exchange({ audience: "livekit", scope: "room:b" }),
    ]);
    assert.deepEqual([x1.access_token, x2.access_token], ["x-room:a", "x-room:b"]);
    assert.equal(net.requests.length, 6);
  });
});

describe("a grant is reused until 80% of its lifetime, give or take 10%", () => {
  // With a lifetime of 100 s, random r puts the refresh point at
  // 80 s × (1 + 0.1 × (2r − 1)): 72 s for r = 0, 80 s for 0.5, 88 s for 1.
  for (const [random, point] of [
    [0, 72_000],
    [0.5, 80_000],
    [0.999999, 88_000],
  ]) {
    test(`random ${random}: reused until ${point / 1000} s, then asked again`, async () => {
      const { gp, net, time } = client({ answers: [grantAnswer("rt-1"), grantAnswer("rt-2")], random: () => random });
      const token = gp.supabaseRealtime();
      assert.equal(await token(), "rt-1");
      time.advance(point - 10);
      assert.equal(await token(), "rt-1");
      assert.equal(net.requests.length, 1);
      time.advance(20);
      assert.equal(await token(), "rt-2");
      assert.equal(net.requests.length, 2);
    });
  }

  test("a grant without a lifetime is not reused", async () => {
    const { gp, net } = client({ answers: [grantAnswer("rt-1", null), grantAnswer("rt-2", null)] });
    const token = gp.supabaseRealtime();
    assert.equal(await token(), "rt-1");
    assert.equal(await token(), "rt-2");
    assert.equal(net.requests.length, 2);
  });

  test("another identity token drops every cached grant", async () => {
    const accessToken = tokens("id-alice", "id-alice", "id-bob");
    const { gp, net } = client({ accessToken, answers: [grantAnswer("alice"), grantAnswer("bob")] });
    const token = gp.supabaseRealtime();
    assert.equal(await token(), "alice");
    assert.equal(await token(), "alice");
    assert.equal(await token(), "bob");
    assert.deepEqual(
      net.requests.map((r) => r.authorization),
      ["Bearer id-alice", "Bearer id-bob"],
    );
  });

  test("a request in flight for the old identity is not shared with the new one, nor cached", async () => {
    const held = deferred();
    const accessToken = tokens("id-alice", "id-bob");
    const { gp, net } = client({ accessToken, answers: [held.promise, grantAnswer("bob")] });
    const token = gp.supabaseRealtime();
    const alice = token();
    await new Promise((r) => setImmediate(r));
    assert.equal(await token(), "bob");
    held.resolve(grantAnswer("alice"));
    assert.equal(await alice, "alice");
    assert.equal(await token(), "bob", "the old identity's grant replaced the new one's");
    assert.equal(net.requests.length, 2);
  });

  test("clear() drops the cache, and requests in flight end with an AbortError", async () => {
    const held = deferred();
    const { gp, net } = client({ answers: [grantAnswer("rt-1"), held.promise, grantAnswer("rt-3")] });
    const token = gp.supabaseRealtime();
    assert.equal(await token(), "rt-1");
    gp.clear();
    const pending = token();
    await new Promise((r) => setImmediate(r));
    gp.clear();
    held.resolve(grantAnswer("rt-2"));
    await assert.rejects(pending, { name: "AbortError" });
    assert.equal(await token(), "rt-3");
    assert.equal(net.requests.length, 3);
  });
});

describe("retries", () => {
  test("a network error is retried after a backoff", async () => {
    const { gp, net, time } = client({ answers: [networkError, networkError, grantAnswer("rt-1")] });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.equal(net.requests.length, 3);
    // Equal jitter with random 0.5: 3/4 of 500 ms, then of 1000 ms.
    assert.deepEqual(time.sleeps, [375, 750]);
  });

  test("429 and 503 wait for Retry-After", async () => {
    const { gp, net, time } = client({
      answers: [problem(429, "rate_limited", { "Retry-After": "7" }), problem(503, "identity_unavailable", { "Retry-After": "5" }), grantAnswer("rt-1")],
    });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.equal(net.requests.length, 3);
    assert.deepEqual(time.sleeps, [7000, 5000]);
  });

  test("a Retry-After over 60 s is waited for 60 s only", async () => {
    const { gp, time } = client({ answers: [problem(429, "rate_limited", { "Retry-After": "3600" }), grantAnswer("rt-1")] });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.deepEqual(time.sleeps, [MAX_RETRY_AFTER_MS]);
  });

  test("Retry-After as an HTTP date, and unreadable", () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    assert.equal(retryAfterMs("Tue, 01 Dec 2026 10:00:09 GMT", now), 9000);
    assert.equal(retryAfterMs("Tue, 01 Dec 2026 09:00:00 GMT", now), 0);
    assert.equal(retryAfterMs("soon", now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });

  test("a 503 without Retry-After, and other 5xx, are retried after a growing backoff", async () => {
    const { gp, net, time } = client({
      answers: [problem(500, "internal"), problem(503, "rate_limiter_unavailable"), problem(502, "bad_gateway"), grantAnswer("rt-1")],
    });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.equal(net.requests.length, 4);
    assert.deepEqual(time.sleeps, [375, 750, 1500]);
  });

  test("after the last retry, a retryable GatepassUnavailableError", async () => {
    const answers = Array.from({ length: 3 }, () => problem(500, "internal"));
    const { gp, net, time } = client({ answers, retries: 2 });
    await assert.rejects(gp.supabaseRealtime()(), (err) => {
      assert.ok(err instanceof GatepassUnavailableError, String(err));
      assert.equal(err.retryable, true);
      assert.equal(err.status, 500);
      assert.equal(err.code, "internal");
      return true;
    });
    assert.equal(net.requests.length, 3);
    assert.equal(time.sleeps.length, 2);
  });

  test("the backoff is capped at maxDelayMs", async () => {
    const answers = [...Array.from({ length: 6 }, () => networkError), grantAnswer("rt-1")];
    const { gp, time } = client({ answers, retries: 6, random: () => 0.999999, maxDelayMs: 3000 });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.ok(time.sleeps.every((ms) => ms <= 3000), String(time.sleeps));
    assert.ok(time.sleeps.slice(3).every((ms) => ms > 2990), String(time.sleeps));
  });
});

describe("401: the identity token is asked for once more", () => {
  test("a second token that passes gets the grant", async () => {
    const accessToken = tokens("id-old", "id-new");
    const { gp, net } = client({ accessToken, answers: [problem(401, "invalid_token"), grantAnswer("rt-1")] });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.deepEqual(accessToken.calls, [{ refresh: false }, { refresh: true }]);
    assert.deepEqual(
      net.requests.map((r) => r.authorization),
      ["Bearer id-old", "Bearer id-new"],
    );
  });

  test("the grant the refreshed token got is cached", async () => {
    const accessToken = tokens("id-old", "id-new");
    const { gp, net } = client({ accessToken, answers: [problem(401, "invalid_token"), grantAnswer("rt-1")] });
    const token = gp.supabaseRealtime();
    assert.equal(await token(), "rt-1");
    assert.equal(await token(), "rt-1");
    assert.equal(net.requests.length, 2);
  });

  test("a second 401 is final, with the problem's code, and nothing waits", async () => {
    const accessToken = tokens("id-1", "id-1", "id-1");
    const { gp, net, time } = client({ accessToken, answers: [problem(401, "revoked"), problem(401, "revoked")] });
    await assert.rejects(gp.supabaseRealtime()(), (err) => {
      assert.ok(err instanceof GatepassError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.code, "revoked");
      assert.equal(err.retryable, false);
      return true;
    });
    assert.equal(net.requests.length, 2);
    assert.equal(accessToken.calls.length, 2);
    assert.deepEqual(time.sleeps, []);
  });

  test("the token exchange's invalid_grant counts as a 401", async () => {
    const accessToken = tokens("id-revoked", "id-fresh");
    const { gp, net } = client({
      accessToken,
      answers: [
        json(400, { error: "invalid_grant", error_description: "Access was revoked" }),
        json(200, { access_token: "x-1", issued_token_type: "urn:ietf:params:oauth:token-type:jwt", token_type: "N_A", expires_in: 600 }),
      ],
    });
    const out = await gp.exchange({ audience: "centrifugo" });
    assert.equal(out.access_token, "x-1");
    assert.deepEqual(
      net.requests.map((r) => r.form.subject_token),
      ["id-revoked", "id-fresh"],
    );
    assert.equal(net.requests[1].authorization, null, "the exchange sends the subject token in the form only");
  });

  test("the token exchange's invalid_request (an expired subject token) asks for a fresh one once", async () => {
    const accessToken = tokens("id-expired", "id-still-expired");
    const { gp, net } = client({
      accessToken,
      answers: [
        json(400, { error: "invalid_request", error_description: "The subject token is invalid, expired or not accepted here." }),
        json(400, { error: "invalid_request", error_description: "The subject token is invalid, expired or not accepted here." }),
      ],
    });
    await assert.rejects(gp.exchange({ audience: "centrifugo" }), (err) => err.status === 400 && err.code === "invalid_request");
    assert.deepEqual(net.requests.map((r) => r.form.subject_token), ["id-expired", "id-still-expired"]);
    assert.deepEqual(accessToken.calls.map((c) => c.refresh), [false, true]);
  });
});

describe("final refusals are raised at once, with the problem's code", () => {
  for (const [status, code] of [
    [400, "invalid_channel"],
    [403, "channel_not_allowed"],
    [403, "no_organization"],
    [404, "transport_disabled"],
    [413, "body_too_large"],
    [415, "unsupported_media_type"],
  ]) {
    test(`${status} ${code}`, async () => {
      const { gp, net, time, accessToken } = client({ answers: [problem(status, code)] });
      await assert.rejects(gp.centrifugo({ UnauthorizedError: Error }).getSubscriptionToken({ channel: "org:x" }), (err) => {
        assert.equal(err.cause instanceof GatepassError, true);
        assert.equal(err.cause.status, status);
        assert.equal(err.cause.code, code);
        assert.equal(err.cause.detail, `because ${code}`);
        return true;
      });
      assert.equal(net.requests.length, 1);
      assert.equal(accessToken.calls.length, 1);
      assert.deepEqual(time.sleeps, []);
    });
  }

  test("the token exchange's invalid_target carries the OAuth error as its code", async () => {
    const { gp, net } = client({ answers: [json(400, { error: "invalid_target", error_description: "The policy does not grant this target" })] });
    await assert.rejects(gp.exchange({ audience: "centrifugo", scope: "channel:org:other" }), (err) => {
      assert.ok(err instanceof GatepassError);
      assert.equal(err.code, "invalid_target");
      assert.equal(err.status, 400);
      return true;
    });
    assert.equal(net.requests.length, 1);
  });

  test("a refusal is not cached: the next call asks again", async () => {
    const { gp, net } = client({ answers: [problem(403, "no_organization"), grantAnswer("rt-1")] });
    const token = gp.supabaseRealtime();
    await assert.rejects(token(), GatepassError);
    assert.equal(await token(), "rt-1");
    assert.equal(net.requests.length, 2);
  });
});

describe("accessToken", () => {
  test("may be async", async () => {
    const { gp, net } = client({ accessToken: async () => "id-async", answers: [grantAnswer("rt-1")] });
    assert.equal(await gp.supabaseRealtime()(), "rt-1");
    assert.equal(net.requests[0].authorization, "Bearer id-async");
  });

  test("an empty token is refused before any request", async () => {
    const { gp, net } = client({ accessToken: () => "", answers: [] });
    await assert.rejects(gp.supabaseRealtime()(), /accessToken returned no token/);
    assert.equal(net.requests.length, 0);
  });

  test("its own failure reaches the caller as it is", async () => {
    const { gp } = client({
      accessToken: () => {
        throw new Error("not signed in");
      },
    });
    await assert.rejects(gp.supabaseRealtime()(), /not signed in/);
  });
});
