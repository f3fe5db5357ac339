// WebSocket clients for the office-router tests, on the ws package: a
// connection that queues what it receives, and an attempt that reports a
// refused upgrade's status and body.
import WebSocket from "ws";

const TIMEOUT_MS = 5_000;

/** wsURL turns the Worker's http:// URL into the ws:// URL of path. */
export function wsURL(base, path = "/ws") {
  const u = new URL(path, base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/**
 * attempt opens a WebSocket with the grant sent as via says: "header"
 * (Authorization: Bearer), "protocol" (subprotocols bearer, <jwt>) or
 * "none". It resolves to { ok: true, socket } on 101, or to
 * { ok: false, status, headers, body } when the server answers the upgrade
 * request with anything else.
 */
export function attempt(url, token, via = "header", extraHeaders = {}) {
  const headers = { ...extraHeaders };
  let protocols;
  if (via === "header") headers.Authorization = `Bearer ${token}`;
  if (via === "protocol") protocols = ["bearer", token];
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: TIMEOUT_MS });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        ws.terminate();
        resolve({ ok: false, status: res.statusCode, headers: res.headers, body });
      });
    });
    ws.once("open", () => resolve({ ok: true, socket: new Socket(ws) }));
    ws.once("error", (err) => reject(new Error(`WebSocket to ${url} failed: ${err.message}`)));
  });
}

/** connect is attempt that must succeed. */
export async function connect(url, token, via = "header") {
  const r = await attempt(url, token, via);
  if (!r.ok) throw new Error(`upgrade refused with ${r.status}: ${r.body}`);
  return r.socket;
}

/**
 * relay connects two grants of one organization, the first by header and
 * the second by subprotocol, sends text from the first and resolves to what
 * the second received. Both sockets are closed before it returns.
 */
export async function relay(url, senderToken, receiverToken, text = "hello") {
  const sender = await connect(url, senderToken, "header");
  try {
    const receiver = await connect(url, receiverToken, "protocol");
    try {
      sender.send(text);
      return await receiver.next();
    } finally {
      receiver.close();
    }
  } finally {
    sender.close();
  }
}

/** Socket queues the JSON messages it receives. */
export class Socket {
  #queue = [];
  #waiters = [];
  #closed;

  constructor(ws) {
    this.ws = ws;
    this.#closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => {
        this.closeReason = reason.toString("utf8");
        resolve(code);
      }),
    );
    ws.on("message", (data, isBinary) => {
      const msg = isBinary ? data : JSON.parse(data.toString("utf8"));
      const w = this.#waiters.shift();
      if (w) w(msg);
      else this.#queue.push(msg);
    });
  }

  /** protocol is the subprotocol the server selected ("" for none). */
  get protocol() {
    return this.ws.protocol;
  }

  send(text) {
    this.ws.send(text);
  }

  /** next resolves to the next message, or rejects after timeoutMs. */
  next(timeoutMs = TIMEOUT_MS) {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
      this.#waiters.push(waiter);
    });
  }

  /** pending is what was received and not yet taken by next. */
  pending() {
    return [...this.#queue];
  }

  /**
   * closed resolves to the close code once the socket is closed; the
   * reason is then closeReason.
   */
  closed(timeoutMs = TIMEOUT_MS) {
    return Promise.race([
      this.#closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }

  close() {
    this.ws.terminate();
  }
}
