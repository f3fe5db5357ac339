// Test doubles for the unit tests: a scripted fetch that records every
// request and answers from a queue, a clock that only moves when the code
// under test sleeps, and a WebSocket whose life the test drives.
import { createGatepass } from "../dist/index.js";

export const BASE = "http://gatepass.test";

/** json is an answer with a JSON body. */
export function json(status, body, headers = {}) {
  return { status, body, headers };
}

/** problem is gatepass's problem+json refusal. */
export function problem(status, code, headers = {}) {
  return { status, body: { type: `urn:gatepass:problem:${code}`, title: "refused", status, detail: `because ${code}`, code }, headers };
}

/** networkError makes the scripted fetch reject, as fetch does when it cannot connect. */
export const networkError = { network: true };

/** deferred is a promise with its resolve exposed. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * scripted returns a fetch that records each request ({ url, path, method,
 * headers, body, form }) and answers with the next of answers: an answer
 * object, networkError, a function of the request returning one, or a
 * promise of one (so a test can hold a request in flight).
 */
export function scripted(answers = []) {
  const requests = [];
  const queue = [...answers];
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    const headers = new Headers(init.headers);
    const body = init.body;
    const req = {
      url: u.href,
      path: u.pathname,
      method: init.method ?? "GET",
      headers,
      authorization: headers.get("Authorization"),
      body,
      json: headers.get("Content-Type") === "application/json" && body ? JSON.parse(body) : undefined,
      form: headers.get("Content-Type") === "application/x-www-form-urlencoded" ? Object.fromEntries(new URLSearchParams(body)) : undefined,
    };
    requests.push(req);
    if (queue.length === 0) throw new Error(`unscripted request ${req.method} ${req.path}`);
    let next = queue.shift();
    if (typeof next === "function") next = next(req);
    // As fetch does, an abort ends the wait for the answer.
    const signal = init.signal;
    if (signal?.aborted) throw signal.reason;
    next = await new Promise((resolve, reject) => {
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      Promise.resolve(next).then(resolve, reject);
    });
    if (next === networkError) throw new TypeError("fetch failed");
    return new Response(typeof next.body === "string" ? next.body : JSON.stringify(next.body), {
      status: next.status,
      headers: { "Content-Type": next.status < 300 ? "application/json" : "application/problem+json", ...next.headers },
    });
  };
  return { fetch, requests, push: (...a) => queue.push(...a), remaining: () => queue.length };
}

/**
 * clock is a fake time: sleep records the delay and moves the time on at
 * once (rejecting when its signal is aborted), so no test waits.
 */
export function clock(start = Date.parse("2026-12-01T10:00:00Z")) {
  const c = {
    t: start,
    sleeps: [],
    now: () => c.t,
    advance: (ms) => (c.t += ms),
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      c.sleeps.push(ms);
      c.t += ms;
      await Promise.resolve();
      if (signal?.aborted) throw signal.reason;
    },
  };
  return c;
}

/** tokens returns an accessToken function that hands out the given tokens in turn (the last one forever) and records its calls. */
export function tokens(...list) {
  const calls = [];
  let i = 0;
  const fn = (ctx) => {
    calls.push(ctx);
    const t = list[Math.min(i, list.length - 1)];
    i++;
    return t;
  };
  return Object.assign(fn, { calls });
}

/** client makes a Gatepass over a scripted fetch and a fake clock, random fixed at 0.5 (no jitter). */
export function client({ answers = [], accessToken = tokens("id-1"), random = () => 0.5, ...rest } = {}) {
  const net = scripted(answers);
  const time = clock();
  const gp = createGatepass({ baseUrl: BASE, accessToken, fetch: net.fetch, now: time.now, sleep: time.sleep, random, ...rest });
  return { gp, net, time, accessToken };
}

/** grantAnswer is a grant endpoint's answer with a token and lifetime. */
export function grantAnswer(token, expiresIn = 100, extra = {}) {
  return json(200, { token, tokenType: "Bearer", expiresIn, expiresAt: "2026-12-01T10:01:40Z", ...extra });
}

/**
 * FakeSockets is a WebSocket constructor whose sockets the test opens,
 * closes and inspects; next() resolves to the next socket built.
 */
export function fakeSockets() {
  const built = [];
  const waiting = [];
  let taken = 0;
  class FakeWebSocket {
    static OPEN = 1;
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.protocol = "";
      this.sent = [];
      this.closedWith = undefined;
      this.listeners = {};
      built.push(this);
      const w = waiting.shift();
      if (w) {
        taken++;
        w(this);
      }
    }
    addEventListener(type, fn) {
      (this.listeners[type] ??= []).push(fn);
    }
    emit(type, event = {}) {
      for (const fn of this.listeners[type] ?? []) fn(event);
    }
    send(data) {
      this.sent.push(data);
    }
    close(code, reason) {
      this.closedWith = { code, reason };
      this.readyState = 3;
    }
    // The test's side: the server accepts, sends, closes, or refuses the upgrade.
    serverOpen() {
      this.readyState = 1;
      this.protocol = "bearer";
      this.emit("open");
    }
    serverMessage(data) {
      this.emit("message", { data });
    }
    serverClose(code, reason = "") {
      this.readyState = 3;
      this.emit("close", { code, reason });
    }
    failUpgrade() {
      this.readyState = 3;
      this.emit("error");
      this.emit("close", { code: 1006, reason: "" });
    }
  }
  return {
    WebSocket: FakeWebSocket,
    built,
    /** next resolves to the next socket built that no earlier next() returned. */
    next: () => (built.length > taken ? Promise.resolve(built[taken++]) : new Promise((r) => waiting.push(r))),
  };
}

/**
 * until yields to the event loop until cond() holds, at most 1000 turns:
 * for work the code under test does in the background, with no timer.
 */
export async function until(cond) {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`not reached within 1000 turns of the event loop: ${cond}`);
}
