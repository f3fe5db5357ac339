// The part every transport shares: one HTTP call to gatepass with its
// retry rules, and the grant cache with one request in flight per grant.
import { GatepassError, GatepassUnavailableError } from "./errors.js";

/** AccessTokenContext tells the accessToken function why it is asked. */
export interface AccessTokenContext {
  /**
   * true when gatepass refused the token the function gave last (401, or
   * the token exchange's `invalid_grant` or `invalid_request`): return a
   * refreshed one if the identity provider can give it. Asked once per
   * refusal.
   */
  refresh: boolean;
}

/**
 * AccessTokenSource returns the signed-in user's identity provider access
 * token (WorkOS AuthKit's, say), synchronously or not.
 */
export type AccessTokenSource = (ctx: AccessTokenContext) => string | Promise<string>;

/** SleepFunction waits ms milliseconds; it rejects with signal's reason when signal aborts. */
export type SleepFunction = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Runtime is what the client takes from its environment; tests replace each part. */
export interface Runtime {
  fetch: typeof globalThis.fetch;
  /** now is the time in milliseconds since the Unix epoch. */
  now: () => number;
  /** random is uniform in [0, 1): it spreads refreshes and retries. */
  random: () => number;
  sleep: SleepFunction;
  /** background is sleep for timers nothing awaits (in Node they keep no process alive). */
  background: SleepFunction;
}

/** RetryOptions bound how a grant request is retried. */
export interface RetryOptions {
  /** How many times a retryable failure is retried (default 4: five requests at most). */
  retries?: number;
  /** The first backoff delay (default 500 ms); each later one doubles, jittered. */
  minDelayMs?: number;
  /** The longest backoff delay (default 10 s). */
  maxDelayMs?: number;
}

/** MAX_RETRY_AFTER_MS caps how long a Retry-After makes the client wait. */
export const MAX_RETRY_AFTER_MS = 60_000;
/** A grant is reused until this share of its lifetime has passed... */
export const REFRESH_SHARE = 0.8;
/** ...give or take this share of that point, at random, so grants issued together are not refreshed together. */
export const REFRESH_JITTER = 0.1;

/**
 * backoff is the delay before retry number attempt (0 first): the
 * exponential delay capped at maxMs, of which a random half is dropped
 * ("equal jitter"), so many clients refused together do not come back
 * together.
 */
export function backoff(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return full / 2 + (full / 2) * random();
}

/**
 * retryAfterMs reads a Retry-After header (seconds or an HTTP date) as
 * milliseconds from now, capped at MAX_RETRY_AFTER_MS; undefined when
 * absent or unreadable.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Request is one HTTP request to gatepass, built for an identity token. */
export interface Request {
  path: string;
  init: RequestInit;
}

/** Answer is a successful answer's parsed JSON body. */
export type Answer = Record<string, unknown>;

/** Cached is a grant with the times it is reused until and valid until. */
export interface Cached<T> {
  value: T;
  /** When it should be replaced (ms since the epoch); a request after this gets a new one. */
  refreshAt: number;
  /** When it expires (ms since the epoch). */
  expiresAt: number;
}

/**
 * GrantSpec says how to ask for one kind of grant and read its answer.
 * lifetimeSeconds comes from the answer (expiresIn or expires_in); a grant
 * without one is never reused.
 */
export interface GrantSpec<T> {
  /** key names the grant: kind plus room, channel, audience or scope. Equal keys share requests and cache. */
  key: string;
  build: (accessToken: string) => Request;
  read: (answer: Answer) => { value: T; lifetimeSeconds: number | undefined };
}

const defaultSleep: SleepFunction = (ms, signal) => sleepTimer(ms, signal, false);
const defaultBackground: SleepFunction = (ms, signal) => sleepTimer(ms, signal, true);

function sleepTimer(ms: number, signal: AbortSignal | undefined, unref: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    // In Node, a timer nothing awaits must not keep the process running.
    if (unref) (timer as unknown as { unref?: () => void }).unref?.();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** runtimeOf fills what the caller did not inject with the platform's own. */
export function runtimeOf(parts: Partial<Runtime>): Runtime {
  const fetchFn = parts.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new TypeError("gatepass: no fetch: pass one as the fetch option");
  const sleep = parts.sleep ?? defaultSleep;
  return {
    // Called unbound, a browser's fetch throws "Illegal invocation".
    fetch: parts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    now: parts.now ?? Date.now,
    random: parts.random ?? Math.random,
    sleep,
    background: parts.background ?? (parts.sleep ? sleep : defaultBackground),
  };
}

/**
 * Grants asks gatepass for grants: it calls accessToken, sends the request,
 * retries what may pass on a second try, and keeps each grant until its
 * refresh point, one request in flight per key.
 */
export class Grants {
  readonly #base: URL;
  readonly #accessToken: AccessTokenSource;
  readonly #rt: Runtime;
  readonly #retries: number;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  #cache = new Map<string, Cached<unknown>>();
  #inflight = new Map<string, Promise<Cached<unknown>>>();
  #lastToken: string | undefined;
  // Bumped by clear(): answers to requests sent before are handed to
  // their callers but never cached.
  #clears = 0;
  // Aborted by clear(): requests and retries in progress stop.
  #abort = new AbortController();
  #onClear = new Set<() => void>();

  constructor(baseUrl: string | URL, accessToken: AccessTokenSource, rt: Runtime, retry: RetryOptions = {}) {
    if (typeof accessToken !== "function") throw new TypeError("gatepass: accessToken must be a function returning the identity token");
    this.#base = new URL(baseUrl);
    this.#accessToken = accessToken;
    this.#rt = rt;
    this.#retries = retry.retries ?? 4;
    this.#minDelay = retry.minDelayMs ?? 500;
    this.#maxDelay = retry.maxDelayMs ?? 10_000;
  }

  get runtime(): Runtime {
    return this.#rt;
  }

  /** signal aborts when clear() runs. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** onClear registers fn to run on every clear(); the function it returns unregisters it. */
  onClear(fn: () => void): () => void {
    this.#onClear.add(fn);
    return () => this.#onClear.delete(fn);
  }

  /**
   * clear drops every cached grant, abandons requests in flight (their
   * callers get an AbortError) and forgets the identity token: for logout.
   */
  clear(): void {
    this.#clears++;
    this.#cache.clear();
    this.#inflight.clear();
    this.#lastToken = undefined;
    this.#abort.abort(new DOMException("gatepass: cleared", "AbortError"));
    this.#abort = new AbortController();
    for (const fn of [...this.#onClear]) fn();
  }

  /**
   * token asks accessToken for the identity token; a token other than the
   * last one means another identity (a new sign-in, a refresh): every
   * cached grant is dropped.
   */
  async token(refresh: boolean): Promise<string> {
    const token = await this.#accessToken({ refresh });
    if (typeof token !== "string" || token === "") {
      throw new TypeError("gatepass: accessToken returned no token");
    }
    if (this.#lastToken !== undefined && token !== this.#lastToken) {
      this.#cache.clear();
      this.#inflight.clear();
    }
    this.#lastToken = token;
    return token;
  }

  /**
   * grant returns spec's grant from the cache while it is before its
   * refresh point, or joins the request in flight for the same key, or
   * sends a new one.
   */
  async grant<T>(spec: GrantSpec<T>): Promise<Cached<T>> {
    const token = await this.token(false);
    const hit = this.#cache.get(spec.key) as Cached<T> | undefined;
    if (hit && this.#rt.now() < hit.refreshAt) return hit;
    const flying = this.#inflight.get(spec.key) as Promise<Cached<T>> | undefined;
    if (flying) return flying;
    const clears = this.#clears;
    // Assigned before the body below passes its first await.
    let flight!: Promise<Cached<T>>;
    flight = (async () => {
      try {
        const sent = await this.send(spec.build, token);
        const { value, lifetimeSeconds } = spec.read(sent.answer);
        const cached = this.#stamp(value, lifetimeSeconds);
        // Kept only while the identity it was issued to is still the
        // current one (a 401 may have brought a refreshed token: that
        // one counts).
        if (clears === this.#clears && sent.token === this.#lastToken && cached.refreshAt > this.#rt.now()) {
          this.#cache.set(spec.key, cached);
        }
        return cached;
      } finally {
        if (this.#inflight.get(spec.key) === flight) this.#inflight.delete(spec.key);
      }
    })();
    this.#inflight.set(spec.key, flight);
    return flight;
  }

  /** fresh sends spec's request whatever the cache holds, and caches nothing: for grants used once. */
  async fresh<T>(spec: GrantSpec<T>): Promise<Cached<T>> {
    const token = await this.token(false);
    const { value, lifetimeSeconds } = spec.read((await this.send(spec.build, token)).answer);
    return this.#stamp(value, lifetimeSeconds);
  }

  #stamp<T>(value: T, lifetimeSeconds: number | undefined): Cached<T> {
    const now = this.#rt.now();
    if (lifetimeSeconds === undefined || !(lifetimeSeconds > 0)) return { value, refreshAt: now, expiresAt: now };
    const lifetime = lifetimeSeconds * 1000;
    const jitter = 1 + REFRESH_JITTER * (2 * this.#rt.random() - 1);
    return { value, refreshAt: now + lifetime * REFRESH_SHARE * jitter, expiresAt: now + lifetime };
  }

  /**
   * send sends build's request with token, following the retry rules:
   * network errors, 429 and 503 (after Retry-After, at most 60 s) and
   * other 5xx (after a backoff) are retried up to the retry limit; 401
   * (and the exchange's refusals of its subject token) asks accessToken
   * once more, then
   * fails; any other 4xx fails at once with a GatepassError. It returns
   * the answer and the identity token that obtained it.
   */
  async send(build: (token: string) => Request, token: string): Promise<{ answer: Answer; token: string }> {
    const signal = this.#abort.signal;
    let refreshed = false;
    let attempt = 0;
    for (;;) {
      const { path, init } = build(token);
      let res: Response;
      try {
        res = await this.#rt.fetch(new URL(path, this.#base), { ...init, signal });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (attempt >= this.#retries) {
          throw new GatepassUnavailableError(`gatepass: cannot reach ${this.#base.origin}: ${messageOf(err)}`, undefined, undefined, { cause: err });
        }
        await this.#rt.sleep(backoff(attempt++, this.#minDelay, this.#maxDelay, this.#rt.random), signal);
        continue;
      }
      const body = await readBody(res);
      if (res.ok) {
        if (body === undefined || typeof body !== "object" || body === null || Array.isArray(body)) {
          throw new GatepassUnavailableError(`gatepass answered ${res.status} without a JSON object`, res.status);
        }
        return { answer: body as Answer, token };
      }
      const { code, detail } = problemOf(res.status, body);
      if (res.status === 401 || (res.status === 400 && refusedSubject(code))) {
        if (refreshed) throw new GatepassError(res.status, code, detail);
        refreshed = true;
        token = await this.token(true);
        continue;
      }
      let delay: number;
      if (res.status === 429 || res.status === 503) {
        delay = retryAfterMs(res.headers.get("Retry-After"), this.#rt.now()) ?? backoff(attempt, this.#minDelay, this.#maxDelay, this.#rt.random);
      } else if (res.status >= 500) {
        delay = backoff(attempt, this.#minDelay, this.#maxDelay, this.#rt.random);
      } else {
        throw new GatepassError(res.status, code, detail);
      }
      if (attempt >= this.#retries) {
        throw new GatepassUnavailableError(`gatepass answered ${res.status} ${code} through ${attempt + 1} attempts`, res.status, code);
      }
      attempt++;
      await this.#rt.sleep(delay, signal);
    }
  }
}

async function readBody(res: Response): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// problemOf reads an RFC 9457 problem's code and detail, or an RFC 6749
// error's error and error_description.
function problemOf(status: number, body: unknown): { code: string; detail: string | undefined } {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof b.code === "string" ? b.code : typeof b.error === "string" ? b.error : `http_${status}`;
  const detail = typeof b.detail === "string" ? b.detail : typeof b.error_description === "string" ? b.error_description : undefined;
  return { code, detail };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** stringOf returns answer[name] when it is a non-empty string, or throws naming it. */
export function stringOf(answer: Answer, name: string): string {
  const v = answer[name];
  if (typeof v !== "string" || v === "") throw new GatepassUnavailableError(`gatepass's answer has no ${name}`);
  return v;
}

/** secondsOf returns answer[name] when it is a positive number. */
export function secondsOf(answer: Answer, name: string): number | undefined {
  const v = answer[name];
  return typeof v === "number" && v > 0 ? v : undefined;
}

/**
 * refusedSubject reports whether a token exchange error may be the subject
 * token's fault: `invalid_grant` (revoked) or `invalid_request`, which RFC
 * 8693 makes the answer to an expired or invalid subject token (and which
 * this client's own well-formed requests get for no other reason).
 */
function refusedSubject(code: string | undefined): boolean {
  return code === "invalid_grant" || code === "invalid_request";
}
