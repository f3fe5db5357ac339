// npm run build: builds @gatepass/client (a local package, linked by npm
// with its sources, not its output), then bundles the page into dist/ with
// esbuild. dist/ is what a static server serves, with /config.json beside
// it (scripts/dev-stack.sh serves both).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const client = resolve(here, "../../clients/typescript");
const npm = (args, cwd) => execFileSync("npm", args, { cwd, stdio: "inherit" });

if (!existsSync(join(client, "node_modules"))) npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], client);
npm(["run", "--silent", "build"], client);

const out = join(here, "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
await build({
  entryPoints: [join(here, "src/main.js")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: join(out, "main.js"),
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) cpSync(join(here, file), join(out, file));
console.log(`built ${out}`);
