// Starts a real nats-server (NATS_SERVER_BIN, or the build that
// `scripts/deps.sh peers` caches) with the operator-mode configuration a
// development gatepass writes in its folder (nats-server.conf), its
// listeners moved to free loopback ports and a monitoring port added, and
// connects to it with the official Node client, @nats-io/transport-node.
// Every server started here is killed when its test ends, or when this
// process exits, whatever happened.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { connect, jwtAuthenticator, PermissionViolationError } from "@nats-io/transport-node";

import { freePort } from "./gatepass.mjs";
import { peerBin, runPeer } from "./peer.mjs";

/** NATS_SERVER_VERSION is the version test/peers builds. */
export const NATS_SERVER_VERSION = "v2.15.3";

const TIMEOUT_MS = 10_000;

/** natsServerBin returns the server binary; it throws saying how to build it when there is none. */
export function natsServerBin() {
  return peerBin({ name: "nats-server", version: NATS_SERVER_VERSION, envVar: "NATS_SERVER_BIN", cacheName: `nats-server-${NATS_SERVER_VERSION}` });
}

/**
 * startDevelopmentNATS starts nats-server with the nats-server.conf of the
 * development folder devDir, on free ports, and waits until GET /healthz
 * answers. It returns { url, logs, stop }.
 */
export async function startDevelopmentNATS(t, devDir) {
  const bin = natsServerBin();
  const [client, ws, monitor] = [await freePort(), await freePort(), await freePort()];
  const conf =
    readFileSync(join(devDir, "nats-server.conf"), "utf8")
      .replace('"127.0.0.1:4222"', `"127.0.0.1:${client}"`)
      .replace('"127.0.0.1:4223"', `"127.0.0.1:${ws}"`) + `\nhttp: "127.0.0.1:${monitor}"\n`;
  const dir = mkdtempSync(join(tmpdir(), "nats-interop-"));
  const path = join(dir, "nats-server.conf");
  writeFileSync(path, conf, { mode: 0o600 });
  const peer = await runPeer(t, { name: "nats-server", bin, args: ["-c", path], dir, port: monitor, readyPath: "/healthz" });
  return { ...peer, url: `nats://127.0.0.1:${client}` };
}

/**
 * connectWith connects to url with a gatepass NATS grant as a client given
 * it does: its user JWT, no key (a bearer JWT), its inbox prefix. The
 * returned connection collects the permission violations the server
 * reports in violations.
 */
export async function connectWith(url, grant) {
  const nc = await connect({
    servers: url,
    authenticator: jwtAuthenticator(grant.user_jwt),
    inboxPrefix: grant.inbox_prefix,
    reconnect: false,
    timeout: TIMEOUT_MS,
  });
  const violations = [];
  const waiting = [];
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) {
        violations.push(s.error);
        waiting.splice(0).forEach((resolve) => resolve());
      }
    }
  })();
  return {
    nc,
    violations,
    /** violation resolves to the next permission violation (or the first one already seen). */
    async violation(timeoutMs = TIMEOUT_MS) {
      if (violations.length === 0) {
        await Promise.race([
          new Promise((resolve) => waiting.push(resolve)),
          new Promise((_, reject) => setTimeout(() => reject(new Error("no permission violation reported")), timeoutMs).unref()),
        ]);
      }
      return violations.shift();
    },
  };
}
