// Serves the example page (examples/web/dist) for the development stack,
// and /config.json telling it where gatepass is; a placeholder page when
// the example has not been built. Only GET and HEAD; nothing outside the
// folder is served.
//
//   node scripts/dev-static.mjs HOST PORT GATEPASS_URL [DIST]
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const [host, port, gatepassUrl, distArg] = process.argv.slice(2);
if (!gatepassUrl) {
  console.error("usage: dev-static.mjs HOST PORT GATEPASS_URL [DIST]");
  process.exit(2);
}
const root = fileURLToPath(new URL("..", import.meta.url));
const dist = resolve(distArg ?? join(root, "examples", "web", "dist"));
const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml",
  ".png": "image/png", ".ico": "image/x-icon", ".wasm": "application/wasm", ".txt": "text/plain; charset=utf-8",
};
const config = JSON.stringify({ gatepassUrl });
const placeholder = `<!doctype html><meta charset="utf-8"><title>gatepass development stack</title>
<h1>gatepass development stack</h1>
<p>The example page is not built: examples/web/dist does not exist. gatepass is at
<a href="${gatepassUrl}/openapi.json">${gatepassUrl}</a>; <a href="/config.json">/config.json</a> says so to the page.</p>
`;

async function file(path) {
  try {
    const s = await stat(path);
    if (s.isDirectory()) return file(join(path, "index.html"));
    return { body: await readFile(path), type: types[extname(path)] ?? "application/octet-stream" };
  } catch {
    return null;
  }
}

const server = createServer(async (req, res) => {
  const send = (status, type, body) => {
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/config.json") return send(200, "application/json", config);
  const target = normalize(join(dist, path));
  if (target !== dist && !target.startsWith(dist + sep)) return send(404, "text/plain", "not found\n");
  const found = await file(target);
  if (found) return send(200, found.type, found.body);
  if (path === "/" || path === "/index.html") return send(200, "text/html; charset=utf-8", placeholder);
  return send(404, "text/plain", "not found\n");
});
server.listen(Number(port), host, () => console.log(`static server on http://${host}:${port}/ (${dist})`));
const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
