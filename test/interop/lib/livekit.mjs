// Starts a real LiveKit server (LIVEKIT_SERVER_BIN, or the build that
// `scripts/deps.sh peers` caches) and joins it the way a client SDK does: a
// WebSocket to /rtc with the token as access_token, over the ws package.
// The first signal message is decoded with LiveKit's own protocol package,
// so a test sees what the server made of a grant: the room, the participant
// and its permissions. The server binds 127.0.0.1 only and uses no STUN or
// TURN server. Every server started here is killed when its test ends, or
// when this process exits, whatever happened.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { DisconnectReason, LeaveRequest, LeaveRequest_Action, SignalRequest, SignalResponse } from "@livekit/protocol";
import WebSocket from "ws";

import { freePort } from "./gatepass.mjs";
import { peerBin, runPeer } from "./peer.mjs";

/** LIVEKIT_VERSION is the version test/peers builds. */
export const LIVEKIT_VERSION = "v1.13.5";

// The signal protocol livekit-server v1.13.5 speaks.
const PROTOCOL_VERSION = 17;
const TIMEOUT_MS = 10_000;


/**
 * livekitBin returns the server binary: LIVEKIT_SERVER_BIN when set,
 * otherwise the cached build; it throws saying how to build it when there
 * is none. Tests never skip for want of it.
 */
export function livekitBin() {
  return peerBin({ name: "livekit-server", version: LIVEKIT_VERSION, envVar: "LIVEKIT_SERVER_BIN", cacheName: `livekit-server-${LIVEKIT_VERSION}` });
}

/**
 * livekitConfig is livekit-server's configuration (YAML, written as JSON,
 * which YAML reads): signal and API on 127.0.0.1:port; ICE over TCP off;
 * the node's address and ICE candidates 127.0.0.1, which also keeps it from
 * asking public STUN servers for its address; one API key.
 */
export function livekitConfig({ port, apiKey, apiSecret }) {
  return {
    port,
    bind_addresses: ["127.0.0.1"],
    rtc: {
      tcp_port: 0,
      node_ip: "127.0.0.1",
      use_external_ip: false,
      enable_loopback_candidate: true,
      ips: { includes: ["127.0.0.1/32"] },
    },
    keys: { [apiKey]: apiSecret },
    logging: { level: "info", json: true },
  };
}

/**
 * startLiveKit starts the server with a fresh API key and secret (or those
 * given) and waits until GET / answers 200, which it does once its node has
 * reported its stats. The returned server is stopped by stop(), and by
 * t.after when a test context t is given.
 */
export async function startLiveKit(t, { apiKey, apiSecret } = {}) {
  apiKey ??= `API${randomBytes(9).toString("base64url")}`;
  apiSecret ??= randomBytes(32).toString("base64url");
  const bin = livekitBin();
  const dir = mkdtempSync(join(tmpdir(), "livekit-interop-"));
  const port = await freePort();
  const configPath = join(dir, "livekit.yaml");
  // The file holds the API secret.
  writeFileSync(configPath, JSON.stringify(livekitConfig({ port, apiKey, apiSecret })), { mode: 0o600 });
  const httpURL = `http://127.0.0.1:${port}`;
  const server = {
    port,
    httpURL,
    /** wsURL is the URL clients are given (LIVEKIT_URL). */
    wsURL: `ws://127.0.0.1:${port}`,
    apiKey,
    apiSecret,
    logs: () => peer.logs(),
    stop: () => peer.stop(),
  };
  const peer = await runPeer(t, { name: "livekit-server", bin, args: ["--config", configPath], dir, port, readyPath: "/", pollMs: 100 });
  return server;
}

/**
 * LiveKitRefusal is the server's refusal of the /rtc upgrade: the HTTP
 * status (401 for a token it does not accept) and its body, with the token
 * blanked out (livekit-server quotes it back).
 */
export class LiveKitRefusal extends Error {
  constructor(status, body) {
    super(`livekit refused the connection: ${status}: ${body}`);
    this.name = "LiveKitRefusal";
    this.status = status;
    this.body = body;
  }
}

/** signalURL is the /rtc URL of a first connection (not a reconnect) that subscribes to no media. */
export function signalURL(serverURL, token) {
  const u = new URL(serverURL);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new Error(`livekit server URL scheme ${u.protocol}`);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/rtc`;
  u.search = new URLSearchParams({
    access_token: token,
    protocol: String(PROTOCOL_VERSION),
    sdk: "js",
    version: "gatepass-interop",
    auto_subscribe: "0",
    adaptive_stream: "0",
  }).toString();
  return u.toString();
}

/**
 * joinRoom connects to serverURL with token, reads the first signal message,
 * which must be a JoinResponse, leaves, and resolves to
 * { room, identity, name, permission, serverVersion }. It rejects with a
 * LiveKitRefusal when the server refuses the upgrade, and with an Error
 * (never quoting the token) otherwise.
 */
export function joinRoom(serverURL, token, { timeoutMs = TIMEOUT_MS } = {}) {
  const redact = (s) => (token ? String(s).replaceAll(token, "[token]") : String(s));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(signalURL(serverURL, token), { handshakeTimeout: timeoutMs });
    let settled = false;
    const done = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        ws.terminate();
        reject(err);
      } else {
        resolve(value);
      }
    };
    const timer = setTimeout(() => done(new Error(`livekit join: no JoinResponse within ${timeoutMs} ms`)), timeoutMs);
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => done(new LiveKitRefusal(res.statusCode, redact(body.trim()))));
    });
    ws.once("error", (err) => done(new Error(`livekit join: ${redact(err.message)}`)));
    ws.on("message", (data, isBinary) => {
      if (!isBinary) return;
      let msg;
      try {
        msg = SignalResponse.fromBinary(new Uint8Array(data));
      } catch (err) {
        done(new Error(`livekit join: decode the first signal message: ${err.message}`));
        return;
      }
      if (msg.message.case !== "join") {
        done(new Error(`livekit join: first signal message is ${msg.message.case}, want join`));
        return;
      }
      const j = msg.message.value;
      leave(ws);
      done(null, {
        room: j.room?.name,
        identity: j.participant?.identity,
        name: j.participant?.name,
        permission: j.participant?.permission,
        serverVersion: j.serverVersion,
      });
    });
  });
}

// leave tells the server the participant is leaving, so the room does not
// wait for it to come back, and closes the socket.
function leave(ws) {
  const req = new SignalRequest({
    message: {
      case: "leave",
      value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.DISCONNECT }),
    },
  });
  ws.send(req.toBinary(), () => ws.close(1000));
}
