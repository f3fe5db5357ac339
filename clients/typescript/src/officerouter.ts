// The office-router WebSocket: a fresh grant for every attempt, the
// grant in the `bearer` subprotocol (browsers cannot set headers on a
// WebSocket), reconnects with backoff until a final refusal or a 4003
// "revoked" close.
import { backoff, type Grants, type GrantSpec, secondsOf, stringOf } from "./core.js";
import { GatepassError } from "./errors.js";

/** REVOKED_CLOSE_CODE is the close code the Worker closes a revoked user's sockets with. */
export const REVOKED_CLOSE_CODE = 4003;
/** BEARER_PROTOCOL is the subprotocol that precedes the grant; the Worker selects it. */
export const BEARER_PROTOCOL = "bearer";

/** WebSocketLike is the part of the WHATWG WebSocket the client uses (browsers' own, or the ws package's). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
}

/** WebSocketConstructor builds a WebSocket: globalThis.WebSocket in browsers, `ws`'s default export in Node 20. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** OfficeGrant is request-access's answer. */
export interface OfficeGrant {
  url: string;
  token: string;
  expiresIn: number | undefined;
}

/** OfficeRouterOptions shape the office-router connection. */
export interface OfficeRouterOptions {
  /** The organization to enter; it must be the caller's current one (default: the identity's). */
  orgId?: string;
  /** The first reconnect delay (default 1 s); each later one doubles, jittered. */
  minDelayMs?: number;
  /** The longest reconnect delay (default 30 s). */
  maxDelayMs?: number;
}

/** OfficeStop says why a connection stopped for good. */
export type OfficeStop =
  /** close() or the client's clear() ended it. */
  | { reason: "closed" }
  /** The Worker closed the socket with 4003: the user's access was revoked. */
  | { reason: "revoked"; code: number; closeReason: string }
  /** gatepass refused the grant for good (403 no_organization, 401 after a second identity token...). */
  | { reason: "refused"; error: GatepassError };

/** OfficeHandlers are called as the connection lives; every one is optional. */
export interface OfficeHandlers {
  /** A socket opened (the first, or a reconnect). */
  onOpen?(socket: WebSocketLike): void;
  /** A message arrived on the open socket. */
  onMessage?(event: MessageEvent): void;
  /**
   * A socket closed, or an upgrade failed (opened false), and another
   * attempt follows after reconnectInMs.
   */
  onClose?(info: { code: number; reason: string; opened: boolean; reconnectInMs: number }): void;
  /** A grant could not be had this time (network, 5xx, 429); another attempt follows after reconnectInMs. */
  onError?(error: unknown, info: { reconnectInMs: number }): void;
  /** The connection stopped for good. */
  onStop?(stop: OfficeStop): void;
}

/** OfficeState is where an OfficeConnection is. */
export type OfficeState = "connecting" | "open" | "waiting" | "stopped";

/** OfficeConnection is a live office-router connection that reconnects on its own. */
export interface OfficeConnection {
  /** The current socket, if one is open or opening. */
  readonly socket: WebSocketLike | undefined;
  readonly state: OfficeState;
  /** How many sockets have been opened so far. */
  readonly opens: number;
  /** send sends on the open socket; it throws when none is open. */
  send(data: string): void;
  /** close closes the socket and stops reconnecting. */
  close(code?: number, reason?: string): void;
  /** stopped settles when the connection stops for good. */
  readonly stopped: Promise<OfficeStop>;
}

/** OfficeRouter opens office-router connections. */
export interface OfficeRouter {
  connect(handlers?: OfficeHandlers): OfficeConnection;
}

const OPEN = 1;

export function officeSpec(orgId: string | undefined): GrantSpec<OfficeGrant> {
  return {
    key: `office\0${orgId ?? ""}`,
    build: (token) => ({
      path: "/api/v1/cloudflare/request-access",
      init: {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, ...(orgId ? { "Content-Type": "application/json" } : {}) },
        body: orgId ? JSON.stringify({ orgId }) : undefined,
      },
    }),
    read: (answer) => {
      const expiresIn = secondsOf(answer, "expiresIn");
      return { value: { url: stringOf(answer, "url"), token: stringOf(answer, "token"), expiresIn }, lifetimeSeconds: expiresIn };
    },
  };
}

/** officeRouter builds the office-router connector over grants. */
export function officeRouter(grants: Grants, WS: WebSocketConstructor | undefined, opts: OfficeRouterOptions = {}): OfficeRouter {
  const spec = officeSpec(opts.orgId);
  const minDelay = opts.minDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  return {
    connect(handlers: OfficeHandlers = {}): OfficeConnection {
      const Ctor = WS ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (typeof Ctor !== "function") {
        throw new TypeError("gatepass: no WebSocket: pass one as createGatepass's WebSocket option (in Node 20, the ws package's)");
      }
      const rt = grants.runtime;
      const stopper = new AbortController();
      let socket: WebSocketLike | undefined;
      let state: OfficeState = "connecting";
      let opens = 0;
      let settle!: (s: OfficeStop) => void;
      const stopped = new Promise<OfficeStop>((resolve) => (settle = resolve));

      let forget = () => {};
      // A function, so the compiler does not narrow state across awaits.
      const isStopped = () => state === "stopped";
      const stop = (s: OfficeStop) => {
        if (state === "stopped") return;
        state = "stopped";
        stopper.abort();
        forget();
        settle(s);
        handlers.onStop?.(s);
      };

      // attempt opens one socket with grant and settles when it closes.
      const attempt = (grant: OfficeGrant) =>
        new Promise<{ opened: boolean; code: number; reason: string }>((resolve) => {
          let opened = false;
          let ws: WebSocketLike;
          try {
            ws = new Ctor(grant.url, [BEARER_PROTOCOL, grant.token]);
          } catch (err) {
            // A URL the platform refuses: nothing to wait for.
            resolve({ opened: false, code: 1006, reason: err instanceof Error ? err.message : String(err) });
            return;
          }
          socket = ws;
          ws.addEventListener("open", () => {
            opened = true;
            opens++;
            if (state === "stopped") {
              ws.close(1000, "closed");
              return;
            }
            state = "open";
            handlers.onOpen?.(ws);
          });
          ws.addEventListener("message", (event: MessageEvent) => handlers.onMessage?.(event));
          ws.addEventListener("close", (event: { code?: number; reason?: string }) => {
            if (socket === ws) socket = undefined;
            resolve({ opened, code: event.code ?? 1006, reason: event.reason ?? "" });
          });
          // An error event is followed by close; the browser does not say why an upgrade failed.
          ws.addEventListener("error", () => {});
        });

      const run = async () => {
        let failures = 0;
        while (!isStopped()) {
          state = "connecting";
          let grant: OfficeGrant;
          try {
            grant = (await grants.fresh(spec)).value;
          } catch (err) {
            if (isStopped()) return;
            if (err instanceof GatepassError) return stop({ reason: "refused", error: err });
            const delay = backoff(failures++, minDelay, maxDelay, rt.random);
            handlers.onError?.(err, { reconnectInMs: delay });
            if (!(await wait(delay))) return;
            continue;
          }
          if (isStopped()) return;
          const closed = await attempt(grant);
          if (isStopped()) return;
          if (closed.code === REVOKED_CLOSE_CODE) {
            return stop({ reason: "revoked", code: closed.code, closeReason: closed.reason });
          }
          // A socket that opened was fine: the next drop starts the backoff over.
          if (closed.opened) failures = 0;
          const delay = backoff(failures++, minDelay, maxDelay, rt.random);
          state = "waiting";
          handlers.onClose?.({ code: closed.code, reason: closed.reason, opened: closed.opened, reconnectInMs: delay });
          if (!(await wait(delay))) return;
        }
      };

      const wait = async (ms: number) => {
        try {
          await rt.sleep(ms, stopper.signal);
          return state !== "stopped";
        } catch {
          return false;
        }
      };

      const conn: OfficeConnection = {
        get socket() {
          return socket;
        },
        get state() {
          return state;
        },
        get opens() {
          return opens;
        },
        send(data: string) {
          if (!socket || socket.readyState !== OPEN) throw new Error("gatepass: the office-router socket is not open");
          socket.send(data);
        },
        close(code = 1000, reason = "closed") {
          const s = socket;
          stop({ reason: "closed" });
          try {
            s?.close(code, reason);
          } catch {
            // Closing already.
          }
        },
        stopped,
      };
      // Signing out closes the socket: no connection outlives its user.
      forget = grants.onClear(() => conn.close(1000, "signed out"));
      void run();
      return conn;
    },
  };
}
