// Starts and drives a real Centrifugo v6 server (CENTRIFUGO_BIN, or the
// build that `scripts/deps.sh peers` caches) and talks to it with the
// official JavaScript client, centrifuge, over the ws package. The server
// listens on a free loopback port and verifies connection and subscription
// tokens against the JWKS URL it is given. Every server started here is
// killed when its test ends, or when this process exits, whatever happened.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Centrifuge } from "centrifuge";
import WebSocket from "ws";

import { freePort } from "./gatepass.mjs";
import { peerBin, runPeer } from "./peer.mjs";

/** CENTRIFUGO_VERSION is the version test/peers builds. */
export const CENTRIFUGO_VERSION = "v6.9.1";

const TIMEOUT_MS = 10_000;


/**
 * centrifugoBin returns the server binary: CENTRIFUGO_BIN when set,
 * otherwise the cached build; it throws saying how to build it when there
 * is none. Tests never skip for want of it.
 */
export function centrifugoBin() {
  return peerBin({ name: "centrifugo", version: CENTRIFUGO_VERSION, envVar: "CENTRIFUGO_BIN", cacheName: `centrifugo-${CENTRIFUGO_VERSION}` });
}

/**
 * centrifugoConfig is Centrifugo v6's JSON configuration: HTTP on
 * 127.0.0.1:port; tokens verified against jwksURL with the issuer and
 * audience given; channels of each namespace subscribable only with a
 * subscription token; the server API behind apiKey; no usage statistics.
 */
export function centrifugoConfig({ port, jwksURL, issuer, audience, namespaces = ["org"], apiKey }) {
  return {
    http_server: { address: "127.0.0.1", port },
    log: { level: "info" },
    client: {
      token: { jwks_public_endpoint: jwksURL, issuer, audience },
      allow_anonymous_connect_without_token: false,
      disallow_anonymous_connection_tokens: true,
    },
    channel: {
      namespaces: namespaces.map((name) => ({
        name,
        allow_subscribe_for_client: false,
        allow_subscribe_for_anonymous: false,
        allow_publish_for_client: false,
        allow_presence_for_client: false,
        allow_history_for_client: false,
      })),
    },
    http_api: { key: apiKey },
    health: { enabled: true },
    usage_stats: { disabled: true },
  };
}

/**
 * startCentrifugo starts the server with centrifugoConfig's settings
 * (jwksURL, issuer and audience are required) and waits until GET /health
 * answers 200. The returned server is stopped by stop(), and by t.after
 * when a test context t is given.
 */
export async function startCentrifugo(t, { jwksURL, issuer, audience, namespaces } = {}) {
  if (!jwksURL || !issuer || !audience) throw new Error("startCentrifugo needs jwksURL, issuer and audience");
  const bin = centrifugoBin();
  const dir = mkdtempSync(join(tmpdir(), "centrifugo-interop-"));
  const port = await freePort();
  const apiKey = randomBytes(24).toString("base64url");
  const configPath = join(dir, "config.json");
  // The file holds the API key.
  writeFileSync(configPath, JSON.stringify(centrifugoConfig({ port, jwksURL, issuer, audience, namespaces, apiKey })), {
    mode: 0o600,
  });
  const httpURL = `http://127.0.0.1:${port}`;
  const server = {
    port,
    httpURL,
    wsURL: `ws://127.0.0.1:${port}/connection/websocket`,
    apiKey,
    logs: () => peer.logs(),
    /** publish sends data to channel through the server API. */
    async publish(channel, data) {
      const res = await fetch(`${httpURL}/api/publish`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-API-Key": apiKey },
        body: JSON.stringify({ channel, data }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = await res.json().catch(() => ({}));
      if (res.status !== 200 || body.error) {
        throw new Error(`centrifugo publish to ${channel}: ${res.status} ${JSON.stringify(body.error ?? body)}`);
      }
    },
    stop: () => peer.stop(),
  };
  const peer = await runPeer(t, { name: "centrifugo", bin, args: ["--config", configPath], dir, port, readyPath: "/health" });
  return server;
}

/**
 * CentrifugoError is the server's refusal: op is "connect" or "subscribe",
 * code the disconnect or error code (3500 invalid token, 3507 permission
 * denied, 103 permission denied, 109 token expired) and reason its text.
 */
export class CentrifugoError extends Error {
  constructor(op, code, reason) {
    super(`centrifugo refused the ${op}: code ${code}: ${reason}`);
    this.name = "CentrifugoError";
    this.op = op;
    this.code = code;
    this.reason = reason;
  }
}

/**
 * assertRefused asserts that promise (a connect or subscribe of this
 * module) rejects with the server's refusal of op with code.
 */
export async function assertRefused(promise, op, code) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof CentrifugoError, `want a CentrifugoError, got ${err}`);
    assert.equal(err.op, op);
    assert.equal(err.code, code, `code of ${err.message}`);
    return true;
  });
}

/**
 * connect connects a centrifuge client to wsURL with a connection token. It
 * resolves to { client, clientId } once the server has accepted the token,
 * and rejects with a CentrifugoError when the server refuses it, or with an
 * Error (naming the last transport error, never the token) after
 * timeoutMs. The client is disconnected by t.after when t is given.
 */
export function connect(wsURL, token, { t, timeoutMs = TIMEOUT_MS } = {}) {
  const client = new Centrifuge(wsURL, { websocket: WebSocket, token, name: "gatepass-interop" });
  t?.after(() => client.disconnect());
  let lastError;
  client.on("error", (ctx) => (lastError = ctx.error));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.disconnect();
      const why = lastError ? ` (last error: code ${lastError.code}: ${lastError.message})` : "";
      reject(new Error(`centrifugo connect to ${wsURL} timed out after ${timeoutMs} ms${why}`));
    }, timeoutMs);
    client.once("connected", (ctx) => {
      clearTimeout(timer);
      resolve({ client, clientId: ctx.client });
    });
    client.once("disconnected", (ctx) => {
      clearTimeout(timer);
      reject(new CentrifugoError("connect", ctx.code, ctx.reason));
    });
    client.connect();
  });
}

/**
 * subscribe subscribes client to channel with a subscription token (or
 * none). It resolves to the subscription once the server has accepted it,
 * and rejects with a CentrifugoError when the server refuses: an error
 * reply (103 for no token or one that does not verify), or the client's
 * disconnect (3500) that answers a verified token for another channel or
 * user. The server's 109 (token expired) reaches here as the client's own
 * code 1 (unauthorized): with a fixed token and no getToken, the client
 * gives up the subscription.
 */
export function subscribe(client, channel, token, { timeoutMs = TIMEOUT_MS } = {}) {
  const sub = client.newSubscription(channel, token ? { token } : {});
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.off("disconnected", onDisconnected);
      if (err) {
        client.removeSubscription(sub);
        reject(err);
      } else {
        resolve(sub);
      }
    };
    const onDisconnected = (ctx) => done(new CentrifugoError("subscribe", ctx.code, ctx.reason));
    const timer = setTimeout(() => done(new Error(`centrifugo subscribe to ${channel} timed out after ${timeoutMs} ms`)), timeoutMs);
    sub.once("subscribed", () => done());
    sub.on("error", (ctx) => {
      if (ctx.error && !ctx.error.temporary && ctx.error.code >= 100) {
        done(new CentrifugoError("subscribe", ctx.error.code, ctx.error.message));
      }
    });
    sub.once("unsubscribed", (ctx) => done(new CentrifugoError("subscribe", ctx.code, ctx.reason)));
    client.on("disconnected", onDisconnected);
    sub.subscribe();
  });
}

/** nextPublication resolves to the data of the next publication on sub. */
export function nextPublication(sub, { timeoutMs = TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.off("publication", onPublication);
      reject(new Error(`no publication on ${sub.channel} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onPublication = (ctx) => {
      clearTimeout(timer);
      sub.off("publication", onPublication);
      resolve(ctx.data);
    };
    sub.on("publication", onPublication);
  });
}
