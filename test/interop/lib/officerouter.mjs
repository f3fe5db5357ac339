// Runs the office-router Worker, the deployable package in
// deploy/office-router, on real workerd through Miniflare. The Worker is
// bundled with esbuild as wrangler would, so jose comes from node_modules
// (test/package.json pins the version deploy/office-router's lockfile
// deploys), and the settings that matter (entry point, compatibility date,
// Durable Object binding) are read from its wrangler.jsonc so the tests run
// what would be deployed.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";
import { Miniflare } from "miniflare";

const here = dirname(fileURLToPath(import.meta.url));
export const workerDir = resolve(here, "../../../deploy/office-router");
const testModules = resolve(here, "../../node_modules");

/** wranglerConfig parses the Worker's wrangler.jsonc. */
export function wranglerConfig() {
  return JSON.parse(stripJSONC(readFileSync(join(workerDir, "wrangler.jsonc"), "utf8")));
}

// stripJSONC drops // and /* */ comments outside strings, and trailing commas.
function stripJSONC(text) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

let bundled;

/** bundleWorker bundles the Worker once per test process and returns its path. */
export function bundleWorker() {
  bundled ??= (async () => {
    const cfg = wranglerConfig();
    const outdir = mkdtempSync(join(tmpdir(), "officerouter-"));
    process.on("exit", () => rmSync(outdir, { recursive: true, force: true }));
    const outfile = join(outdir, "index.js");
    await build({
      entryPoints: [join(workerDir, cfg.main)],
      outfile,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      external: ["cloudflare:*"],
      // The package's own node_modules (after `npm ci` there) comes first;
      // otherwise the tests' jose, the same version (test/deploy checks).
      nodePaths: [testModules],
      logLevel: "error",
    });
    return outfile;
  })();
  return bundled;
}

/**
 * newWorker is the Worker on workerd through Miniflare, with vars as its
 * environment, listening on host:port (127.0.0.1 and a free port unless
 * told), as wrangler.jsonc deploys it: what startWorker runs for a test,
 * and scripts/dev-office-router.mjs for the development stack. The
 * remaining options go to Miniflare as they are.
 */
export async function newWorker(vars, { host = "127.0.0.1", port = 0, persist, ...options } = {}) {
  const cfg = wranglerConfig();
  const binding = cfg.durable_objects?.bindings?.find((b) => b.name === "WEBSOCKET_SERVER");
  if (!binding) throw new Error("wrangler.jsonc binds no WEBSOCKET_SERVER Durable Object");
  const sqlite = cfg.migrations?.some((m) => m.new_sqlite_classes?.includes(binding.class_name)) ?? false;
  const scriptPath = await bundleWorker();
  return new Miniflare({
    modules: true,
    scriptPath,
    // Module names are paths relative to this root, which must contain them.
    modulesRoot: dirname(scriptPath),
    compatibilityDate: cfg.compatibility_date,
    compatibilityFlags: cfg.compatibility_flags ?? [],
    durableObjects: { WEBSOCKET_SERVER: { className: binding.class_name, useSQLite: sqlite } },
    ...(persist ? { durableObjectsPersist: persist } : {}),
    bindings: vars,
    host,
    port,
    ...options,
  });
}

/**
 * startWorker runs the Worker with vars as its environment and returns its
 * http:// URL, a stop function (also run by t.after), its raw output (for
 * failure messages), and refusals(): the JSON lines it logged with
 * console.warn for each refused upgrade, in order. With persist (a
 * folder), the Durable Objects' storage is kept there, so a Worker started
 * again on the same folder finds it: a restart.
 */
export async function startWorker(t, vars, { persist } = {}) {
  const logs = [];
  const warnings = [];
  const mf = await newWorker(vars, {
    persist,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.setEncoding("utf8").on("data", (d) => logs.push(d));
    },
    // workerd's structured logs: one record per console call, with its level.
    handleStructuredLogs({ level, message }) {
      if (level === "warn") warnings.push(message);
    },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await mf.dispose();
    } catch {
      // A runtime that failed to start rejects here with the error that
      // startWorker already reported.
    }
  };
  if (t) t.after(stop);
  let url;
  try {
    url = await mf.ready;
  } catch (err) {
    await stop();
    throw new Error(`the office-router Worker did not start on workerd: ${err.message}\n${logs.join("")}`);
  }
  const refusals = () =>
    warnings.flatMap((m) => {
      try {
        const record = JSON.parse(m);
        return record?.msg === "upgrade refused" || record?.msg === "revoke refused" ? [record] : [];
      } catch {
        return [];
      }
    });
  return { url: new URL(url), stop, logs: () => logs.join(""), warnings: () => [...warnings], refusals };
}
