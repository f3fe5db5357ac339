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
//   CONN_ADMIN_AUDIENCE   gatepass's OFFICE_ROUTER_ADMIN_AUDIENCE, default
//                         office-router-admin: the aud of the grants that
//                         may call POST /admin/revoke; must differ from
//                         CONN_JWT_AUDIENCE
//
// Each refused upgrade logs one JSON line naming the check that failed
// ({"msg":"upgrade refused","reason":...}), never the token; the README
// maps each reason to its usual cause. POST /admin/revoke is gatepass's:
// it closes a revoked user's sockets in one organization and refuses
// their older grants (see adminRevoke).
import { DurableObject } from "cloudflare:workers";
import { createRemoteJWKSet, errors, importSPKI, jwtVerify } from "jose";

const CLOCK_TOLERANCE_SECONDS = 5;
const BEARER_PROTOCOL = "bearer";
const RETRY_AFTER_SECONDS = 5;

const ADMIN_REVOKE_PATH = "/admin/revoke";
const DEFAULT_ADMIN_AUDIENCE = "office-router-admin";
// An admin grant is minted for one call: older ones are refused even
// before they expire.
const ADMIN_GRANT_MAX_AGE_SECONDS = 120;
const ADMIN_BODY_MAX_BYTES = 4096;
const MAX_ID_BYTES = 1024;
// A revocation is kept at most this long after its cut-off: longer than
// any office grant lives (gatepass's JWT_TTL is at most an hour).
const MAX_REVOCATION_KEEP_SECONDS = 24 * 3600;
// The close code and reason of a revoked user's sockets.
const REVOKED_CLOSE_CODE = 4003;
const REVOKED_CLOSE_REASON = "revoked";

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === ADMIN_REVOKE_PATH) return adminRevoke(request, env);
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      // No Upgrade header here: the runtime strips it as hop-by-hop.
      return problem(426, "upgrade_required", "connect with a WebSocket upgrade");
    }
    const credential = readCredential(request);
    if (credential.error) {
      return refuse(new Refusal(400, "token_in_two_places"), credential, "invalid_request", credential.error);
    }
    if (!credential.token) {
      return refuse(new Refusal(401, "missing_token"), credential, "unauthorized", "a bearer token is required");
    }
    let grant;
    try {
      grant = await verifyGrant(credential.token, env);
    } catch (err) {
      const refusal = refusalOf(err, env);
      if (refusal.status === 503) {
        return refuse(refusal, credential, "temporarily_unavailable", "the verification keys cannot be fetched; retry", {
          "Retry-After": String(RETRY_AFTER_SECONDS),
        });
      }
      if (refusal.status === 500) {
        return refuse(refusal, credential, "server_error", "the Worker is not configured");
      }
      const expired = refusal.reason === "expired";
      return refuse(refusal, credential, "invalid_token", expired ? "the token has expired" : "the token is not valid");
    }
    // Only what the Durable Object needs crosses over: the client's own
    // headers (its token among them) stay here. The identity rides in the
    // internal URL: header values are byte strings by the Fetch standard,
    // and ids may be any Unicode.
    const stub = env.WEBSOCKET_SERVER.get(env.WEBSOCKET_SERVER.idFromName(grant.orgId));
    const inner = new URL("https://office.internal/connect");
    inner.searchParams.set("userId", grant.userId);
    inner.searchParams.set("role", grant.role);
    // The issue time decides whether a revocation refuses the grant.
    if (grant.iat !== undefined) inner.searchParams.set("iat", String(grant.iat));
    const headers = new Headers({ Upgrade: "websocket" });
    if (credential.viaProtocol) headers.set("Sec-WebSocket-Protocol", BEARER_PROTOCOL);
    return stub.fetch(inner, { headers });
  },
};

// Refusal says why an upgrade was refused: the HTTP status, a reason from
// a closed set (see the README's "Why was an upgrade refused?"), and where
// it helps the claim concerned and the value this Worker expected. It never
// holds the token or a value taken from it.
class Refusal extends Error {
  constructor(status, reason, { claim, expected, detail } = {}) {
    super(reason);
    this.status = status;
    this.reason = reason;
    this.claim = claim;
    this.expected = expected;
    this.detail = detail;
  }
}

// KeysUnavailable: the JWK Set could not be fetched or read, which is no
// fault of the caller's grant (503, so clients retry instead of asking
// gatepass for a new grant).
class KeysUnavailable extends Error {}

// Misconfigured: a setting is missing or unusable (500).
class Misconfigured extends Error {}

// refusalOf maps a verification error to its Refusal. jose's errors carry
// the failed check in their class, and a claim's in err.claim and
// err.reason.
function refusalOf(err, env, audience = env.CONN_JWT_AUDIENCE) {
  if (err instanceof Refusal) return err;
  if (err instanceof Misconfigured) return new Refusal(500, "misconfigured", { detail: err.message });
  if (err instanceof KeysUnavailable) return new Refusal(503, "keys_unavailable", { detail: err.message });
  if (err instanceof errors.JWTExpired) return new Refusal(401, "expired", { claim: "exp" });
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (err.reason === "missing") return new Refusal(401, "missing_claim", { claim });
    if (err.reason === "invalid") return new Refusal(401, "malformed_claim", { claim });
    switch (claim) {
      case "iss":
        return new Refusal(401, "wrong_issuer", { claim, expected: env.CONN_JWT_ISSUER });
      case "aud":
        return new Refusal(401, "wrong_audience", { claim, expected: audience });
      case "typ":
        return new Refusal(401, "wrong_type", { claim, expected: "JWT" });
      case "nbf":
        return new Refusal(401, "not_yet_valid", { claim });
      case "iat":
        return new Refusal(401, "issued_in_future", { claim });
      default:
        return new Refusal(401, "malformed_claim", { claim });
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new Refusal(401, "algorithm_not_allowed");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new Refusal(401, "bad_signature");
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new Refusal(401, "unknown_key");
  }
  // Outside the key lookup, jose refuses as unsupported only a critical
  // header parameter it does not know (the allow-list admits only
  // algorithms it supports).
  if (err instanceof errors.JOSENotSupported) return new Refusal(401, "forbidden_header");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new Refusal(401, "malformed");
  return new Refusal(401, "unexpected_error", { detail: err?.name ?? typeof err });
}

// refuse logs one JSON line saying why (Workers Logs indexes its fields;
// never the token) and answers with a problem, before any upgrade.
function refuse(refusal, credential, error, message, headers = {}, msg = "upgrade refused") {
  const { status, reason, claim, expected, detail } = refusal;
  const via = credential.viaProtocol ? "protocol" : credential.token ? "header" : undefined;
  console.warn(JSON.stringify({ msg, status, reason, claim, expected, detail, via }));
  if (status === 401) headers = { ...headers, "WWW-Authenticate": reason === "missing_token" ? "Bearer" : 'Bearer error="invalid_token"' };
  return problem(status, error, message, headers);
}

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
    if (!(cacheMs > 0)) throw new Misconfigured("CONN_JWKS_CACHE_SECONDS must be a positive number");
    let url;
    try {
      url = new URL(env.CONN_JWKS_URL);
    } catch {
      throw new Misconfigured("CONN_JWKS_URL is not a URL");
    }
    const jwks = createRemoteJWKSet(url, {
      cacheMaxAge: cacheMs,
      cooldownDuration: Math.min(cacheMs, 30_000),
    });
    // A key the set does not have is the grant's fault; a set that cannot
    // be fetched or read is not.
    key = async (header, token) => {
      try {
        return await jwks(header, token);
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        throw new KeysUnavailable(`${err?.name ?? "Error"}: ${err?.message ?? err}`);
      }
    };
  } else if (env.CONN_JWT_PUBLIC_KEY) {
    const pem = env.CONN_JWT_PUBLIC_KEY.replace(/\\n/g, "\n");
    const byAlg = new Map();
    // An SPKI key is imported once per algorithm it is used with. A key that
    // does not fit the grant's algorithm (an RSA key for an ES256 grant)
    // refuses the grant.
    key = (header) => {
      if (!byAlg.has(header.alg)) {
        byAlg.set(
          header.alg,
          importSPKI(pem, header.alg).catch(() => {
            throw new Refusal(401, "key_mismatch", { expected: "a grant of the key's algorithm" });
          }),
        );
      }
      return byAlg.get(header.alg);
    };
  } else {
    throw new Misconfigured("set CONN_JWKS_URL or CONN_JWT_PUBLIC_KEY");
  }
  keyCache = { source, key };
  return key;
}

// settingsOf checks the settings every route reads: the issuer, both
// audiences (which must differ, or either route would take the other's
// grants) and the algorithm allow-list.
function settingsOf(env) {
  if (!env.CONN_JWT_ISSUER || !env.CONN_JWT_AUDIENCE) {
    throw new Misconfigured("set CONN_JWT_ISSUER and CONN_JWT_AUDIENCE");
  }
  const adminAudience = env.CONN_ADMIN_AUDIENCE || DEFAULT_ADMIN_AUDIENCE;
  if (adminAudience === env.CONN_JWT_AUDIENCE) {
    throw new Misconfigured("CONN_ADMIN_AUDIENCE must differ from CONN_JWT_AUDIENCE");
  }
  const algorithms = (env.CONN_JWT_ALGORITHMS ?? "RS256")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  return { adminAudience, algorithms };
}

async function verifyGrant(token, env) {
  const { algorithms } = settingsOf(env);
  const { payload } = await jwtVerify(token, verificationKey(env), {
    algorithms,
    issuer: env.CONN_JWT_ISSUER,
    audience: env.CONN_JWT_AUDIENCE,
    typ: "JWT",
    requiredClaims: ["exp", "sub"],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  });
  for (const claim of ["userId", "orgId", "role"]) {
    if (payload[claim] === undefined) throw new Refusal(401, "missing_claim", { claim });
    if (typeof payload[claim] !== "string" || payload[claim] === "") {
      throw new Refusal(401, "malformed_claim", { claim, expected: "a non-empty string" });
    }
  }
  if (payload.sub !== payload.userId) {
    throw new Refusal(401, "malformed_claim", { claim: "sub", expected: "equal to userId" });
  }
  const iat = typeof payload.iat === "number" ? payload.iat : undefined;
  return { userId: payload.userId, orgId: payload.orgId, role: payload.role, iat };
}

// verifyAdminGrant verifies a grant for POST /admin/revoke: the office key
// and issuer, the admin audience exactly (an office grant's aud differs),
// at most ADMIN_GRANT_MAX_AGE_SECONDS old, and the SHA-256 of the body it
// was minted for (base64url), so a grant authorizes that one revocation.
async function verifyAdminGrant(token, env) {
  const { adminAudience, algorithms } = settingsOf(env);
  const { payload } = await jwtVerify(token, verificationKey(env), {
    algorithms,
    issuer: env.CONN_JWT_ISSUER,
    audience: adminAudience,
    typ: "JWT",
    requiredClaims: ["exp", "iat"],
    maxTokenAge: ADMIN_GRANT_MAX_AGE_SECONDS,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  });
  if (typeof payload.sha256 !== "string" || payload.sha256 === "") {
    throw new Refusal(401, "malformed_claim", { claim: "sha256", expected: "a non-empty string" });
  }
  return { sha256: payload.sha256 };
}

// adminRevoke applies one revocation gatepass sends: POST /admin/revoke
// with an admin grant in Authorization and the JSON body
// {"user_id","org_id","not_before","expires_at"} (RFC 3339 times). The
// organization's Durable Object closes the user's sockets admitted with a
// grant issued before not_before (4003 "revoked"), and refuses such grants
// until expires_at, by when every one has expired. It answers
// {"closed": n}. A revocation for every organization never comes here:
// the Worker cannot list its organizations.
async function adminRevoke(request, env) {
  if (request.method !== "POST") {
    return problem(405, "method_not_allowed", "POST a revocation", { Allow: "POST" });
  }
  const credential = { token: /^Bearer +([^ ]+) *$/i.exec(request.headers.get("Authorization") ?? "")?.[1] };
  if (!credential.token) {
    return adminRefuse(new Refusal(401, "missing_token"), credential, "unauthorized", "an admin grant is required");
  }
  const declared = Number(request.headers.get("Content-Length") ?? 0);
  if (declared > ADMIN_BODY_MAX_BYTES) {
    return problem(413, "payload_too_large", `the body is limited to ${ADMIN_BODY_MAX_BYTES} bytes`);
  }
  let grant;
  try {
    grant = await verifyAdminGrant(credential.token, env);
  } catch (err) {
    const refusal = refusalOf(err, env, env.CONN_ADMIN_AUDIENCE || DEFAULT_ADMIN_AUDIENCE);
    if (refusal.status === 503) {
      return adminRefuse(refusal, credential, "temporarily_unavailable", "the verification keys cannot be fetched; retry", {
        "Retry-After": String(RETRY_AFTER_SECONDS),
      });
    }
    if (refusal.status === 500) return adminRefuse(refusal, credential, "server_error", "the Worker is not configured");
    return adminRefuse(refusal, credential, "invalid_token", "the admin grant is not valid");
  }
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > ADMIN_BODY_MAX_BYTES) {
    return problem(413, "payload_too_large", `the body is limited to ${ADMIN_BODY_MAX_BYTES} bytes`);
  }
  const digest = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", body)));
  if (digest !== grant.sha256) {
    return adminRefuse(new Refusal(403, "body_mismatch", { claim: "sha256" }), credential, "forbidden", "the admin grant was minted for another body");
  }
  const revocation = revocationOf(body);
  if (revocation.error) return problem(400, "invalid_request", revocation.error);
  const { userId, orgId, notBefore, until } = revocation;
  const stub = env.WEBSOCKET_SERVER.get(env.WEBSOCKET_SERVER.idFromName(orgId));
  const closed = await stub.revoke(userId, notBefore, until);
  console.log(JSON.stringify({ msg: "revocation applied", closed, not_before: notBefore, until }));
  return Response.json({ closed });
}

function adminRefuse(refusal, credential, error, message, headers = {}) {
  return refuse(refusal, credential, error, message, headers, "revoke refused");
}

// revocationOf reads the revocation body, or says which field is wrong.
function revocationOf(body) {
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { error: "the body is not JSON" };
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { error: "the body is not a JSON object" };
  for (const field of ["user_id", "org_id", "not_before", "expires_at"]) {
    if (typeof doc[field] !== "string" || doc[field] === "") return { error: `${field} must be a non-empty string` };
    // Durable Object storage keys are at most 2 KiB; gatepass's ids 255 bytes.
    if (new TextEncoder().encode(doc[field]).byteLength > MAX_ID_BYTES) return { error: `${field} is longer than ${MAX_ID_BYTES} bytes` };
  }
  const notBefore = Date.parse(doc.not_before) / 1000;
  const until = Date.parse(doc.expires_at) / 1000;
  if (!Number.isFinite(notBefore)) return { error: "not_before must be an RFC 3339 time" };
  if (!Number.isFinite(until) || until <= notBefore || until > notBefore + MAX_REVOCATION_KEEP_SECONDS) {
    return { error: "expires_at must be an RFC 3339 time after not_before, by at most 24 h" };
  }
  return { userId: doc.user_id, orgId: doc.org_id, notBefore, until };
}

function base64url(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function problem(status, error, message, headers = {}) {
  return Response.json({ error, message }, { status, headers });
}

// Storage keys of the revocations a Durable Object keeps, by user id.
const REVOKED_PREFIX = "revoked:";

// WebSocketServer is one organization's office: one instance per orgId. It
// uses the hibernation API, so idle offices cost nothing and sockets survive
// the object being evicted from memory. Revocations live in its storage
// until they expire (an alarm sweeps them), so a restart keeps them.
export class WebSocketServer extends DurableObject {
  async fetch(request) {
    const { searchParams } = new URL(request.url);
    const userId = searchParams.get("userId");
    const role = searchParams.get("role");
    const iat = searchParams.has("iat") ? Number(searchParams.get("iat")) : undefined;
    const viaProtocol = request.headers.get("Sec-WebSocket-Protocol") === BEARER_PROTOCOL;
    const cutOff = await this.cutOff(userId);
    // A grant issued before the cut-off, or that does not say when it was
    // issued, is refused: the client asks gatepass for a new one, which
    // gatepass grants only to an identity issued after the cut-off.
    if (cutOff !== undefined && !(iat >= cutOff)) {
      return refuse(new Refusal(401, "revoked", { claim: "iat" }), { token: true, viaProtocol }, "invalid_token", "the grant was revoked; ask gatepass for a new one");
    }
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ userId, role, iat });
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

  // cutOff is the user's revocation cut-off (seconds) while it lasts.
  async cutOff(userId) {
    const entry = await this.ctx.storage.get(REVOKED_PREFIX + userId);
    if (!entry || entry.until * 1000 <= Date.now()) return undefined;
    return entry.notBefore;
  }

  // revoke records that userId's grants issued before notBefore are
  // refused until until (seconds; kept CLOCK_TOLERANCE_SECONDS longer, as
  // grants are admitted that much past exp), closes the sockets admitted
  // with such grants, and returns how many it closed. A later revocation
  // of the same user moves the cut-off forward, never back.
  async revoke(userId, notBefore, until) {
    const key = REVOKED_PREFIX + userId;
    const old = await this.ctx.storage.get(key);
    const entry = {
      notBefore: Math.max(old?.notBefore ?? 0, notBefore),
      until: Math.max(old?.until ?? 0, until + CLOCK_TOLERANCE_SECONDS),
    };
    await this.ctx.storage.put(key, entry);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > entry.until * 1000) await this.ctx.storage.setAlarm(entry.until * 1000);
    let closed = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const attached = ws.deserializeAttachment();
      // A socket admitted with a grant issued after the cut-off belongs to
      // an identity issued after it: a retried revocation leaves it open.
      if (attached?.userId !== userId || attached.iat >= entry.notBefore) continue;
      try {
        ws.close(REVOKED_CLOSE_CODE, REVOKED_CLOSE_REASON);
        closed++;
      } catch {
        // Closing already.
      }
    }
    return closed;
  }

  // alarm drops the revocations that have expired and waits for the next.
  async alarm() {
    const now = Date.now() / 1000;
    const expired = [];
    let next;
    for (const [key, entry] of await this.ctx.storage.list({ prefix: REVOKED_PREFIX })) {
      if (entry.until <= now) expired.push(key);
      else next = Math.min(next ?? Infinity, entry.until);
    }
    for (let i = 0; i < expired.length; i += 128) await this.ctx.storage.delete(expired.slice(i, i + 128));
    if (next !== undefined) await this.ctx.storage.setAlarm(next * 1000);
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
