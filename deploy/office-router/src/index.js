// Reference office-router Worker: admits a WebSocket only with a valid
// gatepass connection grant, then hands it to the Durable Object of the
// grant's organization, which relays messages between that org's sockets.
//
// Settings (wrangler vars or secrets):
//   CONN_JWT_ISSUER       required; gatepass's JWT_ISSUER
//   CONN_JWT_AUDIENCE     required; gatepass's JWT_AUDIENCE
//   CONN_JWKS_URL         gatepass's /.well-known/jwks.json (keys rotate with
//                         no redeploy), or
//   CONN_JWT_PUBLIC_KEY   one SPKI PEM public key (literal \n accepted)
//   CONN_JWT_ALGORITHMS   comma-separated allow-list, default RS256; set it
//                         to gatepass's JWT_ALGORITHM (RS256, PS256, ES256
//                         or EdDSA: WebCrypto on Workers verifies all four)
//   CONN_JWKS_CACHE_SECONDS  how long fetched keys are trusted, default 300
//                            (gatepass's Cache-Control max-age)
import { DurableObject } from "cloudflare:workers";
import { createRemoteJWKSet, errors, importSPKI, jwtVerify } from "jose";

const CLOCK_TOLERANCE_SECONDS = 5;
const BEARER_PROTOCOL = "bearer";

export default {
  async fetch(request, env) {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      // No Upgrade header here: the runtime strips it as hop-by-hop.
      return problem(426, "upgrade_required", "connect with a WebSocket upgrade");
    }
    const credential = readCredential(request);
    if (credential.error) {
      return problem(400, "invalid_request", credential.error);
    }
    if (!credential.token) {
      return problem(401, "unauthorized", "a bearer token is required", { "WWW-Authenticate": "Bearer" });
    }
    let grant;
    try {
      grant = await verifyGrant(credential.token, env);
    } catch (err) {
      // jose's code, or a configuration error: never the token.
      console.log("grant refused:", err?.code ?? err?.message);
      const expired = err instanceof errors.JWTExpired;
      return problem(401, "invalid_token", expired ? "the token has expired" : "the token is not valid", {
        "WWW-Authenticate": 'Bearer error="invalid_token"',
      });
    }
    // Only what the Durable Object needs crosses over: the client's own
    // headers (its token among them) stay here. The identity rides in the
    // internal URL: header values are byte strings by the Fetch standard,
    // and ids may be any Unicode.
    const stub = env.WEBSOCKET_SERVER.get(env.WEBSOCKET_SERVER.idFromName(grant.orgId));
    const inner = new URL("https://office.internal/connect");
    inner.searchParams.set("userId", grant.userId);
    inner.searchParams.set("role", grant.role);
    const headers = new Headers({ Upgrade: "websocket" });
    if (credential.viaProtocol) headers.set("Sec-WebSocket-Protocol", BEARER_PROTOCOL);
    return stub.fetch(inner, { headers });
  },
};

// readCredential takes the grant from the Authorization header (non-browser
// clients) or from the subprotocols "bearer, <jwt>" (browsers cannot set
// headers on a WebSocket). Never from the query string: URLs end up in logs.
function readCredential(request) {
  const auth = request.headers.get("Authorization");
  const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const at = offered.indexOf(BEARER_PROTOCOL);
  const fromProtocol = at >= 0 ? offered[at + 1] : undefined;
  if (auth !== null && at >= 0) {
    return { error: "send the token in one place: Authorization or the bearer subprotocol" };
  }
  if (auth !== null) {
    const m = /^Bearer +([^ ]+) *$/i.exec(auth);
    return { token: m?.[1] };
  }
  return { token: fromProtocol, viaProtocol: at >= 0 };
}

// Verification keys live for the isolate's lifetime; the remote set refetches
// on its own when its cache ages out or a token names an unknown kid.
let keyCache = { source: "", key: null };

function verificationKey(env) {
  const source = env.CONN_JWKS_URL
    ? `jwks ${env.CONN_JWKS_URL} ${env.CONN_JWKS_CACHE_SECONDS ?? ""}`
    : `pem ${env.CONN_JWT_PUBLIC_KEY ?? ""}`;
  if (keyCache.source === source) return keyCache.key;
  let key;
  if (env.CONN_JWKS_URL) {
    const cacheMs = Number(env.CONN_JWKS_CACHE_SECONDS ?? 300) * 1000;
    if (!(cacheMs > 0)) throw new Error("CONN_JWKS_CACHE_SECONDS must be a positive number");
    key = createRemoteJWKSet(new URL(env.CONN_JWKS_URL), {
      cacheMaxAge: cacheMs,
      cooldownDuration: Math.min(cacheMs, 30_000),
    });
  } else if (env.CONN_JWT_PUBLIC_KEY) {
    const pem = env.CONN_JWT_PUBLIC_KEY.replace(/\\n/g, "\n");
    const byAlg = new Map();
    // An SPKI key is imported once per algorithm it is used with.
    key = (header) => {
      if (!byAlg.has(header.alg)) byAlg.set(header.alg, importSPKI(pem, header.alg));
      return byAlg.get(header.alg);
    };
  } else {
    throw new Error("set CONN_JWKS_URL or CONN_JWT_PUBLIC_KEY");
  }
  keyCache = { source, key };
  return key;
}

async function verifyGrant(token, env) {
  if (!env.CONN_JWT_ISSUER || !env.CONN_JWT_AUDIENCE) {
    throw new Error("set CONN_JWT_ISSUER and CONN_JWT_AUDIENCE");
  }
  const algorithms = (env.CONN_JWT_ALGORITHMS ?? "RS256")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  const { payload } = await jwtVerify(token, verificationKey(env), {
    algorithms,
    issuer: env.CONN_JWT_ISSUER,
    audience: env.CONN_JWT_AUDIENCE,
    typ: "JWT",
    requiredClaims: ["exp", "sub"],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  });
  for (const name of ["userId", "orgId", "role"]) {
    if (typeof payload[name] !== "string" || payload[name] === "") {
      throw new errors.JWTClaimValidationFailed(`"${name}" must be a non-empty string`, payload, name, "invalid");
    }
  }
  if (payload.sub !== payload.userId) {
    throw new errors.JWTClaimValidationFailed('"sub" and "userId" differ', payload, "sub", "check_failed");
  }
  return { userId: payload.userId, orgId: payload.orgId, role: payload.role };
}

function problem(status, error, message, headers = {}) {
  return Response.json({ error, message }, { status, headers });
}

// WebSocketServer is one organization's office: one instance per orgId. It
// uses the hibernation API, so idle offices cost nothing and sockets survive
// the object being evicted from memory.
export class WebSocketServer extends DurableObject {
  async fetch(request) {
    const { searchParams } = new URL(request.url);
    const userId = searchParams.get("userId");
    const role = searchParams.get("role");
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ userId, role });
    const headers = new Headers();
    // A browser that offered "bearer" fails the connection unless it is selected.
    if (request.headers.get("Sec-WebSocket-Protocol") === BEARER_PROTOCOL) {
      headers.set("Sec-WebSocket-Protocol", BEARER_PROTOCOL);
    }
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  async webSocketMessage(ws, message) {
    if (typeof message !== "string") {
      ws.close(1003, "text messages only");
      return;
    }
    const { userId, role } = ws.deserializeAttachment();
    const out = JSON.stringify({ from: userId, role, data: message });
    for (const peer of this.ctx.getWebSockets()) {
      if (peer === ws) continue;
      try {
        peer.send(out);
      } catch {
        // A peer closing right now misses this message; nothing to do.
      }
    }
  }

  async webSocketClose(ws, code, reason) {
    // Complete the closing handshake (1005/1006 may not be sent back).
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }
}
