// Runs the real peer servers of the interop suites (livekit-server,
// centrifugo): finds the binary the way test/peers builds it, starts it on
// a loopback port with a configuration file in its own folder, waits until
// it answers, and kills it when its test ends, or when this process exits,
// whatever happened.
import { spawn } from "node:child_process";
import { accessSync, constants, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * watchChild kills child with this process, whatever ended it, and returns
 * a promise of its exit { code, signal }.
 */
export function watchChild(child) {
  running.add(child);
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  exited.then(() => running.delete(child));
  return exited;
}

/**
 * stopChild ends a child process still running: SIGTERM, then SIGKILL when
 * it has not exited within five seconds. exited settles when it exits.
 */
export async function stopChild(child, exited) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const done = await Promise.race([exited, sleep(5_000, "timeout", { ref: false })]);
    if (done === "timeout") {
      child.kill("SIGKILL");
      await exited;
    }
  }
}

/**
 * peerBin returns a peer's binary: $envVar when set, otherwise the build
 * `scripts/deps.sh peers` caches as .cache/peers/<cacheName>; it throws
 * saying how to build it when there is none. Tests never skip for want of
 * it.
 */
export function peerBin({ name, version, envVar, cacheName }) {
  const fromEnv = process.env[envVar];
  const bin = fromEnv || join(REPO_ROOT, ".cache", "peers", cacheName);
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      fromEnv
        ? `${envVar}=${bin} is not an executable file`
        : `${name} ${version} is not built at ${bin}: run scripts/deps.sh peers, or set ${envVar}`,
    );
  }
  return bin;
}

/**
 * runPeer starts bin with args in dir (removed when the peer stops) and
 * waits until GET http://127.0.0.1:<port><readyPath> answers 200. It
 * returns { logs, stop }; stop also runs through t.after when a test
 * context t is given.
 */
export async function runPeer(t, { name, bin, args, dir, port, readyPath, pollMs = 50 }) {
  const child = spawn(bin, args, {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = watchChild(child);
  let output = "";
  const keep = (d) => (output = (output + d).slice(-8192));
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);

  const peer = {
    logs: () => output,
    async stop() {
      await stopChild(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.after(() => peer.stop());

  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await Promise.race([
      fetch(`http://127.0.0.1:${port}${readyPath}`, { signal: AbortSignal.timeout(1_000) }).then(
        (res) => (res.status === 200 ? "ready" : "waiting"),
        () => "waiting",
      ),
      exited.then(() => "exited"),
    ]);
    if (state === "ready") return peer;
    if (state === "exited" || Date.now() > deadline) {
      await peer.stop();
      throw new Error(`${name} did not become ready (${state}):\n${output}`);
    }
    await sleep(pollMs);
  }
}
