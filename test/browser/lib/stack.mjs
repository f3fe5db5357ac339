// Starts scripts/dev-stack.sh, the whole development stack with the static
// server of examples/web, and Debian's Chromium through playwright-core.
// Both run in the network namespace test/browser/run.sh made; every process
// started here is stopped when the test ends, or when this process exits.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

import { chromium } from "playwright-core";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CHROMIUM = "/usr/bin/chromium";

// The flags the browser runs with: no sandbox (CI runs as root), no GPU,
// and nothing it would fetch on its own (QUIC, updates, sync, first-run
// pages). playwright-core adds its own automation flags.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const READY = /^dev-stack: ready: open (\S+)/m;

/**
 * namespaceAddress returns NETNS_IP when this process runs in the network
 * namespace run.sh made (an interface holds it), and throws otherwise:
 * WebRTC between two headless pages needs it.
 */
export function namespaceAddress() {
  const ip = process.env.NETNS_IP;
  if (!ip) throw new Error("NETNS_IP is not set: run test/browser/run.sh, which makes the network namespace");
  const held = Object.values(networkInterfaces())
    .flat()
    .some((a) => a?.address === ip);
  if (!held) throw new Error(`no interface holds ${ip}: run test/browser/run.sh, which makes the network namespace`);
  return ip;
}

/**
 * startDevStack runs scripts/dev-stack.sh with env added to this process's
 * environment (dev-stack passes what it does not read on to gatepass) and
 * waits for its ready line. Nothing it runs may need the network: run.sh
 * installs and builds everything before it makes the namespace. It returns { url, logs, stop }; cleanup(fn)
 * is given stop, to call when the test ends.
 */
export async function startDevStack(cleanup, env, { timeoutMs = 120_000 } = {}) {
  // Its own process group, so that stopping it reaches whatever it runs
  // at that moment (a build, npm), not only the script.
  const child = spawn("bash", [join(REPO_ROOT, "scripts/dev-stack.sh")], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const kill = () => signalGroup("SIGKILL");
  process.once("exit", kill);
  let output = "";
  const keep = (d) => (output = (output + d).slice(-64 * 1024));
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);

  const stack = {
    url: "",
    logs: () => output,
    // stop sends SIGTERM, on which dev-stack stops everything it started,
    // and waits for it; SIGKILL when it has not exited within 20 s.
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup("SIGTERM");
        if ((await Promise.race([exited, sleep(20_000, "timeout", { ref: false })])) === "timeout") {
          kill();
          await exited;
        }
      }
      // Whatever is left of the group goes too, and with it the pipes
      // that would keep this process waiting.
      kill();
      child.stdout.destroy();
      child.stderr.destroy();
      process.off("exit", kill);
    },
  };
  cleanup(() => stack.stop());

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = READY.exec(output);
    if (m) {
      stack.url = m[1];
      return stack;
    }
    const done = await Promise.race([exited, sleep(100)]);
    if (done || Date.now() > deadline) {
      await stack.stop();
      throw new Error(`dev-stack did not get ready (${done ? `exited ${done.code ?? done.signal}` : `not within ${timeoutMs} ms`}):\n${output}`);
    }
  }
}

/**
 * launchChromium starts /usr/bin/chromium with a fresh profile folder and
 * returns its browser context; cleanup(fn) is given what closes the browser
 * and removes the folder, to call when the test ends.
 */
export async function launchChromium(cleanup) {
  const profile = mkdtempSync(join(tmpdir(), "gatepass-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1000 },
      timeout: 60_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium did not start (${CHROMIUM}; scripts/deps.sh chromium installs it): ${err.message}`);
  }
  cleanup(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** eventually polls fn until it returns a truthy value, and returns it; it throws what says why after timeoutMs. */
export async function eventually(fn, { timeoutMs = 30_000, intervalMs = 200, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? `: ${last.message}` : ""}`);
    await sleep(intervalMs);
  }
}
