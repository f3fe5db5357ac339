// A Node backend acting for a signed-in user: it trades the user's
// identity token for a gatepass grant through the token exchange
// (RFC 8693) with @gatepass/client, and prints the answer as JSON.
//
//   ACCESS_TOKEN=<the user's identity token> node exchange.mjs --audience centrifugo
//
// In a server, make one client per user (the grants it caches are that
// user's) and drop it, or call clear(), when the user signs out.
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

import { createGatepass, GatepassError } from "@gatepass/client";

/**
 * exchangeFor obtains a grant for audience (and scope) on behalf of the
 * user whose identity token is accessToken. A backend cannot refresh the
 * user's token: a 401 or invalid_grant (access revoked) is final here,
 * raised as a GatepassError, as is any other refusal; network errors,
 * 429 and 5xx are retried by the client.
 */
export function exchangeFor(accessToken, { baseUrl, audience, scope }) {
  const gatepass = createGatepass({ baseUrl, accessToken: () => accessToken });
  return gatepass.exchange({ audience, scope });
}

async function main() {
  const { values } = parseArgs({
    options: {
      gatepass: { type: "string", default: process.env.GATEPASS_URL ?? "http://127.0.0.1:8080" },
      audience: { type: "string" },
      scope: { type: "string" },
    },
  });
  if (!values.audience) throw new Error("--audience is required (office-router, supabase-realtime, livekit, centrifugo or nats)");
  const accessToken = process.env.ACCESS_TOKEN;
  if (!accessToken) throw new Error("ACCESS_TOKEN (the user's identity token) is not set");
  const grant = await exchangeFor(accessToken, { baseUrl: values.gatepass, audience: values.audience, scope: values.scope });
  process.stdout.write(`${JSON.stringify(grant, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    // A refusal names its code (invalid_target, invalid_grant...), never the token.
    const what = err instanceof GatepassError ? `refused: ${err.status} ${err.code}${err.detail ? `: ${err.detail}` : ""}` : err.message;
    process.stderr.write(`node-backend: ${what}\n`);
    process.exit(1);
  });
}
