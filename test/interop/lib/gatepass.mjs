// Starts and drives the real gatepass binary named by GATEPASS_BIN: servers
// on free loopback ports, the dev-token and keys subcommands, and the grant
// endpoints (office, realtime and Centrifugo). Every process started here
// is killed when its test ends, or when this process exits, whatever
// happened.
import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { stopChild, watchChild } from "./peer.mjs";

export const ISSUER = "gatepass-interop";
export const AUDIENCE = "office-router-interop";
export const WEBSOCKET_URL = "wss://office.example.test/ws";
// gatepass's default CENTRIFUGO_AUDIENCE: startGatepass leaves it unset, so
// the default is what Centrifugo is told to expect.
export const CENTRIFUGO_AUDIENCE = "centrifugo";

/**
 * centrifugoTrust is what startCentrifugo needs to accept the tokens of a
 * gatepass that will listen on port: its JWKS, issuer and audience. (Centrifugo
 * fetches the JWKS only when a token arrives, so it may start first.)
 */
export function centrifugoTrust(port) {
  return { jwksURL: `http://127.0.0.1:${port}/.well-known/jwks.json`, issuer: ISSUER, audience: CENTRIFUGO_AUDIENCE };
}

/** gatepassBin returns the binary under test, or throws saying how to get one. */
export function gatepassBin() {
  const bin = process.env.GATEPASS_BIN;
  if (!bin) {
    throw new Error("GATEPASS_BIN is not set: run test/interop/run.sh, which builds gatepass when it is unset");
  }
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`GATEPASS_BIN=${bin} is not an executable file`);
  }
  return bin;
}

/** freePort asks the kernel for a loopback port that is free right now. */
export async function freePort() {
  const srv = createServer();
  await new Promise((resolve, reject) => srv.listen(0, "127.0.0.1", resolve).on("error", reject));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** ALGORITHMS are the JWT_ALGORITHM values gatepass signs office grants with. */
export const ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];

// What generateKeyPairSync needs for a key that fits each algorithm.
const KEY_TYPES = {
  RS256: ["rsa", { modulusLength: 2048 }],
  PS256: ["rsa", { modulusLength: 2048 }],
  ES256: ["ec", { namedCurve: "P-256" }],
  EdDSA: ["ed25519", {}],
};

/**
 * keyPair makes a key that fits alg (RSA 2048, EC P-256 or Ed25519):
 * PKCS#8 private and SPKI public PEM.
 */
export function keyPair(alg = "RS256") {
  const [type, params] = KEY_TYPES[alg] ?? [];
  if (!type) throw new Error(`no key type for algorithm ${alg}`);
  const { privateKey, publicKey } = generateKeyPairSync(type, {
    ...params,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKey, publicKey };
}

/** rsaKeyPair makes a 2048-bit RSA key: PKCS#8 private and SPKI public PEM. */
export function rsaKeyPair() {
  return keyPair("RS256");
}

/** supabaseSecret makes an HMAC secret longer than gatepass's 32-byte minimum. */
export function supabaseSecret() {
  return randomBytes(48).toString("base64url");
}

/**
 * serverEnv is the environment of a development gatepass with its own
 * folder. privateKey and verificationKeys are PEM; verificationKeys is only
 * set when given. algorithm and signer are JWT_ALGORITHM and JWT_SIGNER
 * (gatepass's defaults when not given), logLevel is LOG_LEVEL (warn), and
 * extraEnv is added last (a PKCS#11 token's settings, say).
 */
export function serverEnv({ devDir, port, privateKey, verificationKeys, secret, ttl, algorithm, signer, logLevel, extraEnv }) {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? tmpdir(),
    APP_ENV: "development",
    DEV_DIR: devDir,
    HTTP_ADDR: `127.0.0.1:${port}`,
    // The admin listener (metrics, readiness) is not used here: any free port.
    ADMIN_ADDR: "127.0.0.1:0",
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    WEBSOCKET_BASE_URL: WEBSOCKET_URL,
    LOG_LEVEL: logLevel ?? "warn",
    // The suites ask for many grants for few users in a few seconds; the
    // budgets have their own tests in Go.
    RATE_LIMIT_ENABLED: "false",
  };
  if (privateKey) env.JWT_PRIVATE_KEY = privateKey;
  if (verificationKeys) env.JWT_VERIFICATION_KEYS = verificationKeys;
  if (secret) env.SUPABASE_JWT_SECRET = secret;
  if (ttl) env.JWT_TTL = ttl;
  if (algorithm) env.JWT_ALGORITHM = algorithm;
  if (signer) env.JWT_SIGNER = signer;
  return { ...env, ...extraEnv };
}

/** runGatepass runs a gatepass subcommand to completion and returns its stdout. */
export function runGatepass(args, env) {
  const bin = gatepassBin();
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, timeout: 15_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`gatepass ${args[0]} failed (${err.code ?? err.signal}): ${stderr.trim()}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/**
 * startGatepass starts `gatepass serve` and waits for /healthz. Options are
 * those of serverEnv; port and devDir are chosen when not given, so a
 * restart can keep both. The returned server is stopped by stop(), and by
 * t.after when a test context t is given.
 */
export async function startGatepass(t, options = {}) {
  const bin = gatepassBin();
  const devDir = options.devDir ?? mkdtempSync(join(tmpdir(), "gatepass-interop-"));
  const ownsDir = !options.devDir;
  const port = options.port ?? (await freePort());
  const env = serverEnv({ ...options, devDir, port });
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
  const exited = watchChild(child);
  let stderr = "";
  // The start record ("gatepass serving", logged at info) says which signer
  // was chosen and where the admin listener is; it is kept apart, as the
  // tail of stderr may have moved past it.
  let startRecord;
  let partial = "";
  child.stderr.setEncoding("utf8").on("data", (d) => {
    stderr = (stderr + d).slice(-8192);
    const lines = (partial + d).split("\n");
    partial = lines.pop();
    for (const line of lines) {
      if (startRecord || !line.includes('"gatepass serving"')) continue;
      try {
        startRecord = JSON.parse(line);
      } catch {
        // Not a JSON record.
      }
    }
  });

  const baseURL = `http://127.0.0.1:${port}`;
  const server = {
    baseURL,
    port,
    devDir,
    env,
    logs: () => stderr,
    /**
     * startRecord resolves to the "gatepass serving" log record (needs
     * logLevel "info"), or to undefined when it has not been written within
     * 5 s: log lines are buffered, so it may come after /healthz answers.
     */
    async startRecord() {
      const deadline = Date.now() + 5_000;
      while (!startRecord && Date.now() < deadline) await sleep(20);
      return startRecord;
    },
    /** readyz fetches GET /readyz from the public port, or from base. */
    async readyz(base = baseURL) {
      const res = await fetch(new URL("/readyz", base), { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, body: await res.json() };
    },
    /** jwks fetches the served JWK Set. */
    async jwks() {
      const res = await fetch(new URL("/.well-known/jwks.json", baseURL), { signal: AbortSignal.timeout(5_000) });
      if (res.status !== 200) throw new Error(`jwks.json answered ${res.status}`);
      return res.json();
    },
    jwksURL: new URL("/.well-known/jwks.json", baseURL).href,
    async stop() {
      await stopChild(child, exited);
      if (ownsDir) rmSync(devDir, { recursive: true, force: true });
    },
    devToken: ({ user, org, role }) => devToken(env, { user, org, role }),
    requestAccess: (identity, body) => post(`${baseURL}/api/v1/cloudflare/request-access`, identity, body),
    realtimeToken: (identity) => post(`${baseURL}/api/v1/realtime/token`, identity),
    /** centrifugoConnectionToken asks for a Centrifugo connection token (empty body). */
    centrifugoConnectionToken: (identity) => post(`${baseURL}/api/v1/centrifugo/connection-token`, identity),
    /** centrifugoSubscriptionToken asks for a Centrifugo subscription token to channel. */
    centrifugoSubscriptionToken: (identity, channel) =>
      post(`${baseURL}/api/v1/centrifugo/subscription-token`, identity, { channel }),
    /** grant mints an identity for user and returns a fresh office grant. */
    async grant({ user, org, role }) {
      const res = await server.requestAccess(await server.devToken({ user, org, role }));
      if (res.status !== 200) throw new Error(`request-access answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    },
  };
  if (t) t.after(() => server.stop());

  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = await Promise.race([exited, sleep(50, "waiting")]);
    if (state !== "waiting") {
      throw new Error(`gatepass serve exited (${state.code ?? state.signal}) before it was healthy:\n${stderr}`);
    }
    try {
      const res = await fetch(`${baseURL}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`gatepass serve was not healthy on ${baseURL} within 15s:\n${stderr}`);
    }
  }
  return server;
}

/**
 * serveExit runs `gatepass serve` with the options of startGatepass on a
 * fresh folder and port, for settings that must stop it before it listens,
 * and resolves to its exit { code, signal, stderr } (signal SIGKILL when it
 * was still running after 10 s).
 */
export async function serveExit(options = {}) {
  const bin = gatepassBin();
  const devDir = mkdtempSync(join(tmpdir(), "gatepass-interop-"));
  const env = serverEnv({ ...options, devDir, port: await freePort() });
  try {
    return await new Promise((resolve) => {
      execFile(bin, ["serve"], { env, timeout: 10_000, killSignal: "SIGKILL" }, (err, _stdout, stderr) => {
        resolve({ code: err ? err.code ?? null : 0, signal: err?.signal ?? null, stderr });
      });
    });
  } finally {
    rmSync(devDir, { recursive: true, force: true });
  }
}

/** devToken mints a development identity token with `gatepass dev-token`. */
export async function devToken(env, { user, org, role }) {
  const out = await runGatepass(["dev-token", "--user", user, "--org", org ?? "", "--role", role ?? "member"], env);
  const token = out.trim();
  if (token.split(".").length !== 3) throw new Error(`dev-token printed no JWT: ${JSON.stringify(out)}`);
  return token;
}

async function post(url, identity, body) {
  const headers = { Authorization: `Bearer ${identity}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
