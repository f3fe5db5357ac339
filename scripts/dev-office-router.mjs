// Runs the office-router Worker (deploy/office-router) on workerd through
// Miniflare for the development stack, as the interop tests run it
// (test/interop/lib/officerouter.mjs, whose node_modules has Miniflare), on
// HOST:PORT, trusting the gatepass whose JWKS URL is given; stops on SIGINT
// or SIGTERM.
//
//   node scripts/dev-office-router.mjs HOST PORT ISSUER AUDIENCE JWKS_URL
import { newWorker } from "../test/interop/lib/officerouter.mjs";

const [host, port, issuer, audience, jwksURL] = process.argv.slice(2);
if (!jwksURL) {
  console.error("usage: dev-office-router.mjs HOST PORT ISSUER AUDIENCE JWKS_URL");
  process.exit(2);
}
const mf = await newWorker(
  { CONN_JWT_ISSUER: issuer, CONN_JWT_AUDIENCE: audience, CONN_JWKS_URL: jwksURL },
  { host, port: Number(port) },
);
console.log(`office-router Worker on ${await mf.ready}`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
