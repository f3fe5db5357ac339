// NATS against the real gatepass binary: a development gatepass writes an
// operator-mode nats-server.conf whose account lists its signing key, and
// issues user JWTs over HTTP; a real nats-server started with that
// configuration admits them; the official Node client
// (@nats-io/transport-node) connects with a bearer JWT and its inbox
// prefix, exchanges messages and answers requests within the caller's
// organization, and is refused what the policy does not give.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { decodeJwt } from "jose";

import { startGatepass } from "./lib/gatepass.mjs";
import { connectWith, startDevelopmentNATS } from "./lib/nats.mjs";

describe("nats-server admits the user JWTs gatepass issues", { timeout: 90_000 }, () => {
  let gatepass, nats;
  const open = [];

  before(async () => {
    gatepass = await startGatepass(null);
    nats = await startDevelopmentNATS(undefined, gatepass.devDir);
  });
  after(async () => {
    for (const c of open) await c.nc.close();
    await nats?.stop();
    await gatepass?.stop();
  });

  /** grant asks gatepass for a NATS user JWT for user in org with role. */
  async function grant(user, org, role) {
    const identity = await gatepass.devToken({ user, org, role });
    const res = await fetch(`${gatepass.baseURL}/api/v1/nats/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${identity}` },
      signal: AbortSignal.timeout(5_000),
    });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.equal(res.headers.get("cache-control"), "no-store");
    return body;
  }

  async function client(user, org, role) {
    const c = await connectWith(nats.url, await grant(user, org, role));
    open.push(c);
    return c;
  }

  test("the grant is a bearer user JWT with the caller's inbox prefix", async () => {
    const g = await grant("user_a", "org_n", "member");
    assert.deepEqual(g.servers, ["nats://127.0.0.1:4222", "ws://127.0.0.1:4223"]);
    assert.equal(g.server_url, g.servers[0]);
    assert.equal(g.inbox_prefix, "_INBOX.user_a");
    const claims = decodeJwt(g.user_jwt);
    assert.equal(claims.name, "user_a");
    assert.equal(claims.nats.bearer_token, true);
    assert.equal(claims.exp, Date.parse(g.expiresAt) / 1000, "exp and expiresAt agree");
  });

  test("members exchange messages and requests on their organization's subjects", async () => {
    const alice = await client("user_alice", "org_n", "member");
    const bob = await client("user_bob", "org_n", "admin");
    const sub = bob.nc.subscribe("org.org_n.chat", { max: 1 });
    const svc = bob.nc.subscribe("org.org_n.svc", { callback: (_, m) => m.respond("pong") });
    await bob.nc.flush();
    alice.nc.publish("org.org_n.chat", "hello");
    for await (const m of sub) assert.equal(m.string(), "hello");
    const reply = await alice.nc.request("org.org_n.svc", "ping", { timeout: 10_000 });
    assert.equal(reply.string(), "pong");
    svc.unsubscribe();
  });

  test("another organization's subjects and a viewer's publishing are permission violations", async () => {
    const alice = await client("user_alice2", "org_n", "member");
    alice.nc.publish("org.org_other.chat", "x");
    const v = await alice.violation();
    assert.equal(v.operation, "publish");
    assert.equal(v.subject, "org.org_other.chat");

    const vera = await client("user_vera", "org_n", "viewer");
    vera.nc.publish("org.org_n.chat", "from a viewer");
    const vv = await vera.violation();
    assert.equal(vv.operation, "publish");
    assert.equal(vv.subject, "org.org_n.chat");
  });

  test("an altered user JWT is refused at connect", async () => {
    const g = await grant("user_m", "org_n", "member");
    const [h, p, s] = g.user_jwt.split(".");
    const flipped = s[5] === "A" ? "B" : "A";
    await assert.rejects(connectWith(nats.url, { ...g, user_jwt: `${h}.${p}.${s.slice(0, 5)}${flipped}${s.slice(6)}` }));
  });
});
