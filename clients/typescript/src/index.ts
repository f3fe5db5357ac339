/**
 * @gatepass/client keeps gatepass connection grants fresh for the
 * real-time clients that take a token callback: the office-router
 * WebSocket, supabase-js, livekit-client, centrifuge-js and the NATS
 * JavaScript clients; and calls gatepass's token exchange for backends.
 * It has no dependencies: fetch, and a WebSocket for the office-router.
 */
import {
  type AccessTokenSource,
  type Answer,
  backoff,
  type Cached,
  Grants,
  type GrantSpec,
  type RetryOptions,
  runtimeOf,
  type SleepFunction,
  secondsOf,
  stringOf,
} from "./core.js";
import { GatepassError } from "./errors.js";
import { officeRouter, type OfficeRouter, type OfficeRouterOptions, type WebSocketConstructor } from "./officerouter.js";

export type { AccessTokenContext, AccessTokenSource, RetryOptions, SleepFunction } from "./core.js";
export { backoff, MAX_RETRY_AFTER_MS, REFRESH_JITTER, REFRESH_SHARE, retryAfterMs } from "./core.js";
export { GatepassError, GatepassUnavailableError, isFinal } from "./errors.js";
export {
  BEARER_PROTOCOL,
  REVOKED_CLOSE_CODE,
  type OfficeConnection,
  type OfficeGrant,
  type OfficeHandlers,
  type OfficeRouter,
  type OfficeRouterOptions,
  type OfficeState,
  type OfficeStop,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./officerouter.js";

/** GatepassOptions configure a client for one signed-in user. */
export interface GatepassOptions extends RetryOptions {
  /** gatepass's public URL, such as https://gatepass.example.com. */
  baseUrl: string | URL;
  /** Returns the user's identity provider access token; called before every grant request. */
  accessToken: AccessTokenSource;
  /** The fetch to use (default: the platform's). */
  fetch?: typeof globalThis.fetch;
  /** The WebSocket constructor for officeRouter() (default: globalThis.WebSocket; in Node 20, pass the ws package's). */
  WebSocket?: WebSocketConstructor;
  /** A uniform random number in [0, 1) (default Math.random): jitters refreshes and backoffs. */
  random?: () => number;
  /** The time in milliseconds since the Unix epoch (default Date.now). */
  now?: () => number;
  /** Waits ms milliseconds, rejecting when signal aborts (default: a timer). */
  sleep?: SleepFunction;
}

/** LiveKitOptions are the LiveKit token endpoint's request fields, in livekit-client's names. */
export interface LiveKitOptions {
  /** The room; gatepass always places it in the caller's organization. */
  roomName: string;
  participantName?: string;
  /** The caller's user id, or the user id, "#" and a device label. */
  participantIdentity?: string;
  participantMetadata?: string;
  participantAttributes?: Record<string, string>;
  /** A LiveKit RoomConfiguration in protobuf JSON (needs the roomCreate right). */
  roomConfig?: Record<string, unknown>;
}

/** LiveKitConnectionDetails is LiveKit's token endpoint answer: what room.connect takes. */
export interface LiveKitConnectionDetails {
  serverUrl: string;
  participantToken: string;
}

/** LiveKitTokenSource is a fixed token source: livekit-client's TokenSource.custom(() => source.fetch()) takes it. */
export interface LiveKitTokenSource {
  /** fetch resolves to the connection details; options given here override those of livekit(). */
  fetch(options?: Partial<LiveKitOptions>): Promise<LiveKitConnectionDetails>;
}

/** UnauthorizedErrorClass is centrifuge-js's UnauthorizedError, or any class built from a message. */
export type UnauthorizedErrorClass = new (message: string) => Error;

/** CentrifugoTokens are centrifuge-js's getToken callbacks. */
export interface CentrifugoTokens {
  /** getToken is the Centrifuge client's getToken option: a connection token. */
  getToken(ctx?: unknown): Promise<string>;
  /** getSubscriptionToken is a Subscription's getToken option: a token for ctx.channel. */
  getSubscriptionToken(ctx: { channel: string }): Promise<string>;
  /** url resolves to the Centrifugo WebSocket URL the connection grant names (CENTRIFUGO_URL). */
  url(): Promise<string>;
}

/** NatsAuth is what a NATS authenticator returns: a bearer user JWT. */
export interface NatsAuth {
  jwt: string;
}

/** NatsAuthenticator is @nats-io/nats-core's Authenticator: synchronous, called at every (re)connect. */
export type NatsAuthenticator = (nonce?: string) => NatsAuth;

/** NatsServerFilter picks servers: "websocket" (ws:, wss:; for wsconnect), "tcp" (nats:, tls:; for transport-node) or "all". */
export interface NatsServerFilter {
  transport?: "websocket" | "tcp" | "all";
}

/** NatsConnectOptions spread into connect() or wsconnect() of the NATS JavaScript clients. */
export interface NatsConnectOptions {
  servers: string[];
  inboxPrefix: string;
  authenticator: NatsAuthenticator;
}

/** NatsGrants gives the NATS clients a user JWT that is kept fresh. */
export interface NatsGrants {
  servers(filter?: NatsServerFilter): Promise<string[]>;
  inboxPrefix(): Promise<string>;
  /**
   * authenticator returns an Authenticator for the connect options. It
   * hands out the JWT last obtained, which a timer renews before it
   * expires while the handle is in use: the server closes a connection
   * at its JWT's expiry and the client reconnects with the new one. A
   * grant must have been obtained first (servers(), inboxPrefix() or
   * connectOptions()).
   */
  authenticator(): NatsAuthenticator;
  /** connectOptions obtains a grant and resolves to { servers, inboxPrefix, authenticator }. */
  connectOptions(filter?: NatsServerFilter): Promise<NatsConnectOptions>;
  /** close stops renewing the JWT. */
  close(): void;
}

/** ExchangeRequest names the grant the token exchange issues. */
export interface ExchangeRequest {
  /** office-router, supabase-realtime, livekit, centrifugo or nats. */
  audience: string;
  /** livekit: room:NAME (required); centrifugo: channel:NAME for a subscription token. */
  scope?: string;
}

/** ExchangeResponse is the RFC 8693 answer, with gatepass's extra fields. */
export interface ExchangeResponse {
  access_token: string;
  issued_token_type: string;
  token_type: string;
  expires_in: number;
  url?: string;
  server_url?: string;
  servers?: string[];
  inbox_prefix?: string;
  [field: string]: unknown;
}

/** Gatepass is a client for one signed-in user. */
export interface Gatepass {
  /** officeRouter connects to the office-router Worker, with a fresh grant for every attempt. */
  officeRouter(opts?: OfficeRouterOptions): OfficeRouter;
  /** supabaseRealtime returns the function supabase-js's accessToken option and realtime.setAuth take. */
  supabaseRealtime(): () => Promise<string>;
  /** livekit returns a token source for a room of the caller's organization. */
  livekit(opts: LiveKitOptions): LiveKitTokenSource;
  /** centrifugo returns the getToken callbacks; final refusals are raised as UnauthorizedError. */
  centrifugo(opts: { UnauthorizedError: UnauthorizedErrorClass }): CentrifugoTokens;
  /** nats returns servers, inbox prefix and an authenticator that keeps the user JWT fresh. */
  nats(): NatsGrants;
  /** exchange asks /oauth2/token for a grant on the user's behalf (RFC 8693). */
  exchange(req: ExchangeRequest): Promise<ExchangeResponse>;
  /** clear drops every cached grant, stops renewals and closes office-router connections: call it at sign-out. */
  clear(): void;
}

/** createGatepass makes a client for the user whose identity token accessToken returns. */
export function createGatepass(options: GatepassOptions): Gatepass {
  const rt = runtimeOf({ fetch: options.fetch, now: options.now, random: options.random, sleep: options.sleep });
  const grants = new Grants(options.baseUrl, options.accessToken, rt, options);
  const get = async <T>(spec: GrantSpec<T>) => (await grants.grant(spec)).value;

  return {
    officeRouter: (opts) => officeRouter(grants, options.WebSocket, opts),

    supabaseRealtime() {
      const spec = tokenSpec("supabase", "/api/v1/realtime/token");
      return () => get(spec).then((g) => g.token);
    },

    livekit(opts) {
      if (!opts || typeof opts.roomName !== "string" || opts.roomName === "") throw new TypeError("gatepass: livekit needs a roomName");
      return {
        async fetch(overrides) {
          const all = { ...opts, ...overrides };
          const body = dropUndefined({
            room_name: all.roomName,
            participant_name: all.participantName,
            participant_identity: all.participantIdentity,
            participant_metadata: all.participantMetadata,
            participant_attributes: all.participantAttributes,
            room_config: all.roomConfig,
          });
          return get(liveKitSpec(body));
        },
      };
    },

    centrifugo({ UnauthorizedError }) {
      if (typeof UnauthorizedError !== "function") {
        throw new TypeError("gatepass: centrifugo needs centrifuge's UnauthorizedError class, so a final refusal stops its retries");
      }
      // A final refusal becomes centrifuge's UnauthorizedError (it stops
      // asking); anything else stays a plain error (it retries with backoff).
      const translate = (err: unknown): never => {
        if (err instanceof GatepassError) {
          const e = new UnauthorizedError(err.message);
          Object.assign(e, { cause: err, code: err.code, status: err.status });
          throw e;
        }
        throw err;
      };
      const connection = tokenSpec("centrifugo", "/api/v1/centrifugo/connection-token", { withUrl: true });
      return {
        getToken: () => get(connection).then((g) => g.token, translate),
        getSubscriptionToken(ctx) {
          const channel = ctx?.channel;
          if (typeof channel !== "string" || channel === "") {
            return Promise.reject(new TypeError("gatepass: getSubscriptionToken needs centrifuge's { channel } context"));
          }
          return get(subscriptionSpec(channel)).then((g) => g.token, translate);
        },
        url: () => get(connection).then((g) => stringOrThrow(g.url, "url")),
      };
    },

    nats: () => natsGrants(grants),

    async exchange(req) {
      if (!req || typeof req.audience !== "string" || req.audience === "") throw new TypeError("gatepass: exchange needs an audience");
      const spec = exchangeSpec(req);
      // An office grant is used once: never from the cache.
      return req.audience === "office-router" ? (await grants.fresh(spec)).value : get(spec);
    },

    clear: () => grants.clear(),
  };
}

interface TokenGrant {
  token: string;
  url: string | undefined;
}

function tokenSpec(key: string, path: string, { withUrl = false } = {}, body?: unknown): GrantSpec<TokenGrant> {
  return {
    key,
    build: (token) => bearerPost(path, token, body),
    read: (answer) => ({
      value: { token: stringOf(answer, "token"), url: withUrl ? stringOf(answer, "url") : undefined },
      lifetimeSeconds: secondsOf(answer, "expiresIn"),
    }),
  };
}

function subscriptionSpec(channel: string): GrantSpec<TokenGrant> {
  return tokenSpec(`centrifugo-subscription\0${channel}`, "/api/v1/centrifugo/subscription-token", {}, { channel });
}

function liveKitSpec(body: Record<string, unknown>): GrantSpec<LiveKitConnectionDetails> {
  return {
    // The room and every participant field: two different requests never share a token.
    key: `livekit\0${canonicalJSON(body)}`,
    build: (token) => bearerPost("/api/v1/livekit/token", token, body),
    read: (answer) => ({
      value: { serverUrl: stringOf(answer, "server_url"), participantToken: stringOf(answer, "participant_token") },
      lifetimeSeconds: secondsOf(answer, "expiresIn"),
    }),
  };
}

interface NatsGrant {
  jwt: string;
  servers: string[];
  inboxPrefix: string;
}

const natsSpec: GrantSpec<NatsGrant> = {
  key: "nats",
  build: (token) => bearerPost("/api/v1/nats/token", token, {}),
  read: (answer) => {
    const servers = Array.isArray(answer.servers) ? answer.servers.filter((s): s is string => typeof s === "string") : [];
    return {
      value: {
        jwt: stringOf(answer, "user_jwt"),
        servers: servers.length ? servers : [stringOf(answer, "server_url")],
        inboxPrefix: stringOf(answer, "inbox_prefix"),
      },
      lifetimeSeconds: secondsOf(answer, "expiresIn"),
    };
  },
};

const WEBSOCKET_SCHEMES = ["ws:", "wss:"];

function pickServers(servers: string[], filter: NatsServerFilter = {}): string[] {
  const transport = filter.transport ?? "all";
  if (transport === "all") return [...servers];
  return servers.filter((s) => {
    let scheme: string;
    try {
      scheme = new URL(s).protocol;
    } catch {
      // host:port without a scheme is a NATS TCP address.
      scheme = "nats:";
    }
    return WEBSOCKET_SCHEMES.includes(scheme) === (transport === "websocket");
  });
}

function natsGrants(grants: Grants): NatsGrants {
  const rt = grants.runtime;
  let current: Cached<NatsGrant> | undefined;
  // The signal of the renewal running, if one is.
  let renewing: AbortSignal | undefined;
  let stopper = new AbortController();

  // renew keeps current fresh: it waits until the grant's refresh point,
  // then asks again (the cache has let it go by then). A final refusal
  // ends it; the authenticator starts it again when next called.
  const renew = () => {
    if (renewing || !current) return;
    const signal = stopper.signal;
    renewing = signal;
    void (async () => {
      let failures = 0;
      try {
        while (!signal.aborted && current) {
          await rt.background(Math.max(0, current.refreshAt - rt.now()), signal);
          try {
            current = await grants.grant(natsSpec);
            failures = 0;
          } catch (err) {
            if (err instanceof GatepassError || signal.aborted) return;
            await rt.background(backoff(failures++, 1000, 30_000, rt.random), signal);
          }
        }
      } catch {
        // Aborted by close() or clear().
      } finally {
        if (renewing === signal) renewing = undefined;
      }
    })();
  };

  const obtain = async () => {
    current = await grants.grant(natsSpec);
    renew();
    return current.value;
  };

  const stop = () => {
    stopper.abort();
    stopper = new AbortController();
    renewing = undefined;
  };
  grants.onClear(() => {
    stop();
    current = undefined;
  });

  const authenticator: NatsAuthenticator = () => {
    if (!current) {
      throw new Error("gatepass: no NATS grant yet: await connectOptions(), servers() or inboxPrefix() before connecting");
    }
    renew();
    return { jwt: current.value.jwt };
  };

  return {
    servers: async (filter) => pickServers((await obtain()).servers, filter),
    inboxPrefix: async () => (await obtain()).inboxPrefix,
    authenticator: () => authenticator,
    async connectOptions(filter) {
      const g = await obtain();
      return { servers: pickServers(g.servers, filter), inboxPrefix: g.inboxPrefix, authenticator };
    },
    close: stop,
  };
}

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

function exchangeSpec({ audience, scope }: ExchangeRequest): GrantSpec<ExchangeResponse> {
  return {
    key: `exchange\0${audience}\0${scope ?? ""}`,
    build: (token) => {
      const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, subject_token: token, audience });
      if (scope !== undefined) form.set("scope", scope);
      return {
        path: "/oauth2/token",
        init: { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() },
      };
    },
    read: (answer: Answer) => {
      stringOf(answer, "access_token");
      return { value: answer as ExchangeResponse, lifetimeSeconds: secondsOf(answer, "expires_in") };
    },
  };
}

function bearerPost(path: string, token: string, body?: unknown) {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return { path, init: { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) } };
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

// canonicalJSON is JSON with object keys sorted, so equal requests make equal keys.
function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJSON((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function stringOrThrow(v: string | undefined, name: string): string {
  if (!v) throw new Error(`gatepass: the grant has no ${name}`);
  return v;
}
