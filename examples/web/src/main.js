// The gatepass example page: signs in as a development user, then connects
// to every transport with a grant from @gatepass/client, which fetches,
// shares and refreshes the grants. Each section's state is in the DOM
// (data-status and the counters in data-* attributes) so a person and the
// browser test read the same thing.
import { createGatepass } from "@gatepass/client";
import { Centrifuge, UnauthorizedError } from "centrifuge";
import { wsconnect } from "@nats-io/nats-core";
import { Room, RoomEvent, TokenSource } from "livekit-client";
import { createClient } from "@supabase/supabase-js";

const $ = (selector, root = document) => root.querySelector(selector);

// --- what the page shows -------------------------------------------------

function log(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("#log-lines").prepend(li);
}

function setStatus(section, status, detail) {
  const el = $(`#${section}`);
  el.dataset.status = status;
  $("h2 .status", el).textContent = detail ? `${status}: ${detail}` : status;
}

// count adds one to a section's counter: its data-* attribute and the
// number shown in its [data-counter] element.
function count(section, key) {
  const el = $(`#${section}`);
  el.dataset[key] = String(Number(el.dataset[key] ?? 0) + 1);
  const shown = $(`[data-counter="${key}"]`, el);
  if (shown) shown.textContent = el.dataset[key];
}

function addMessage(section, from, text) {
  const li = document.createElement("li");
  li.dataset.from = from;
  li.dataset.text = text;
  li.textContent = `${from}: ${text}`;
  $(`#${section} .messages`).append(li);
}

function showExpiry(section, exp) {
  const el = $(`#${section} .expires`);
  el.dateTime = new Date(exp * 1000).toISOString();
  el.textContent = new Date(exp * 1000).toLocaleTimeString();
  $(`#${section}`).dataset.exp = String(exp);
}

// claims decodes a JWT's payload for display; the page never trusts it.
function claims(jwt) {
  const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part));
}

// subjectMatches reports whether a NATS subject pattern (with * and >)
// covers subject.
function subjectMatches(pattern, subject) {
  const p = pattern.split("."), t = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return i < t.length;
    if (i >= t.length || (p[i] !== "*" && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

// onSubmit wires a section's send form to send(text).
function onSubmit(section, send) {
  const form = $(`#${section} form.send`);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.text.value.trim();
    if (!text) return;
    try {
      await send(text);
      addMessage(section, "me", text);
      form.elements.text.value = "";
    } catch (err) {
      log(`${section}: send failed: ${err.message}`);
    }
  });
}

// --- signing in (development only) ---------------------------------------

// devIdentity signs in through gatepass's development route, which mints
// the access token an identity provider would. A real application passes
// its identity provider's SDK call (AuthKit's getAccessToken, say) instead.
function devIdentity(gatepassUrl, who) {
  let current = null;
  async function signIn() {
    const res = await fetch(`${gatepassUrl}/dev/identity-token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(who),
    });
    if (!res.ok) throw new Error(`sign-in refused: ${res.status} ${await res.text()}`);
    const body = await res.json();
    current = { token: body.access_token, renewAt: Date.now() + body.expires_in * 800 };
    return current.token;
  }
  // The accessToken function createGatepass calls before each grant;
  // refresh is true when gatepass refused the last token.
  return async ({ refresh } = {}) => (current && !refresh && Date.now() < current.renewAt ? current.token : signIn());
}

// --- the transports ------------------------------------------------------

function startOffice(gp) {
  setStatus("office", "connecting");
  const connection = gp.officeRouter().connect({
    // Every attempt opens with a fresh office grant (never reused).
    onOpen() {
      count("office", "opens");
      setStatus("office", "connected");
      log("office-router: connected");
    },
    onMessage(event) {
      const { from, data } = JSON.parse(event.data);
      addMessage("office", from, data);
    },
    onClose(info) {
      count("office", "reconnects");
      setStatus("office", "reconnecting", `closed ${info.code}, again in ${Math.round(info.reconnectInMs / 1000)} s`);
    },
    onError(err, info) {
      setStatus("office", "reconnecting", `${err.message}, again in ${Math.round(info.reconnectInMs / 1000)} s`);
    },
    onStop(stop) {
      setStatus("office", "closed", stop.error?.code ?? stop.reason);
      log(`office-router: stopped (${stop.reason})`);
    },
  });
  onSubmit("office", async (text) => connection.send(text));
  return connection;
}

async function startNATS(gp, who) {
  const subject = `org.${who.org}.chat`;
  $("#nats .subject").textContent = subject;
  setStatus("nats", "connecting");
  // Browsers connect over WebSocket: the grant also lists nats:// servers.
  const opts = await gp.nats().connectOptions({ transport: "websocket" });
  let lastJwt = "";
  const nc = await wsconnect({
    servers: opts.servers,
    inboxPrefix: opts.inboxPrefix,
    // The package's authenticator answers with a fresh user JWT at every
    // (re)connect; this wrapper only counts and shows the grants used.
    authenticator: (nonce) => {
      const auth = opts.authenticator(nonce);
      if (auth?.jwt && auth.jwt !== lastJwt) {
        lastJwt = auth.jwt;
        count("nats", "grants");
        showExpiry("nats", claims(auth.jwt).exp);
      }
      return auth;
    },
    name: "gatepass-example",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  setStatus("nats", "connected");
  log(`nats: connected to ${nc.getServer()}`);
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") setStatus("nats", "reconnecting", "disconnected");
      if (s.type === "error") {
        $("#nats").dataset.lastError = s.error?.message ?? String(s.error);
        log(`nats: ${s.error?.message ?? s.error}`);
      }
      if (s.type === "reconnect") {
        count("nats", "reconnects");
        setStatus("nats", "connected");
        log("nats: reconnected");
      }
    }
  })();
  nc.closed().then((err) => {
    setStatus("nats", "closed", err?.message);
    log(`nats: closed ${err?.message ?? ""}`);
  });
  // NATS carries what the sender writes: "from" is the sender's claim.
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return log(`nats: ${err.message}`);
      const { from, text } = msg.json();
      if (from !== who.user) addMessage("nats", from, text);
    },
  });
  onSubmit("nats", async (text) => {
    // nats-server refuses a publish the user JWT does not allow only
    // asynchronously (a status error), so check the grant's rights first:
    // a viewer's allow replies only.
    const allow = claims(lastJwt).nats?.pub?.allow ?? [];
    if (!allow.some((pattern) => subjectMatches(pattern, subject))) {
      throw new Error(`your grant may not publish to ${subject} (role ${who.role || "none"})`);
    }
    nc.publish(subject, JSON.stringify({ from: who.user, text }));
    await nc.flush();
  });
  return nc;
}

async function startCentrifugo(gp, who) {
  const channel = `org:${who.org}`;
  $("#centrifugo .channel").textContent = channel;
  // A final refusal is raised as centrifuge's own UnauthorizedError, so
  // centrifuge stops asking; anything else it retries.
  const tokens = gp.centrifugo({ UnauthorizedError });
  // The connection grant names the server (gatepass's CENTRIFUGO_URL).
  const url = await tokens.url();
  let connectedOnce = false;
  let subscribedOnce = false;
  const client = new Centrifuge(url, {
    // Called for the first connection and again before the token expires.
    getToken: async (ctx) => {
      if (connectedOnce) count("centrifugo", "tokenRefreshes");
      return tokens.getToken(ctx);
    },
  });
  client.on("connecting", (ctx) => setStatus("centrifugo", "connecting", ctx.reason));
  client.on("connected", () => {
    connectedOnce = true;
    setStatus("centrifugo", "connected");
    log("centrifugo: connected");
  });
  client.on("disconnected", (ctx) => {
    count("centrifugo", "disconnects");
    setStatus("centrifugo", "disconnected", ctx.reason);
  });
  client.on("error", (ctx) => log(`centrifugo: ${ctx.error?.message ?? ctx.type}`));
  const sub = client.newSubscription(channel, {
    getToken: async (ctx) => {
      if (subscribedOnce) count("centrifugo", "subscriptionRefreshes");
      return tokens.getSubscriptionToken(ctx);
    },
  });
  const showSub = (state, detail) => {
    $("#centrifugo").dataset.subscription = state;
    $("#centrifugo .subscription").textContent = detail ? `${state}: ${detail}` : state;
  };
  sub.on("subscribing", (ctx) => showSub("subscribing", ctx.reason));
  sub.on("subscribed", () => {
    subscribedOnce = true;
    showSub("subscribed");
  });
  sub.on("unsubscribed", (ctx) => showSub("unsubscribed", ctx.reason));
  sub.on("publication", (ctx) => {
    const data = ctx.data ?? {};
    // ctx.info is the publisher's connection (its user, verified by
    // Centrifugo); a publication from the server API has none.
    const from = ctx.info?.user ?? "server";
    if (from !== who.user) addMessage("centrifugo", from, data.text ?? JSON.stringify(data));
  });
  // Publishing from the page needs a namespace that lets subscribers
  // publish; a backend publishes through Centrifugo's server API instead.
  onSubmit("centrifugo", (text) => sub.publish({ text }));
  sub.subscribe();
  setStatus("centrifugo", "connecting");
  client.connect();
  return client;
}

async function startLiveKit(gp, roomName) {
  $("#livekit .room").textContent = roomName;
  setStatus("livekit", "connecting");
  const grants = gp.livekit({ roomName });
  // livekit-client's token source, fed by gatepass's LiveKit endpoint.
  const source = TokenSource.custom(() => grants.fetch());
  const { serverUrl, participantToken } = await source.fetch({ roomName });
  const room = new Room();
  const list = $("#livekit-participants");
  const show = () => {
    list.replaceChildren(
      ...[...room.remoteParticipants.values()].map((p) => {
        const li = document.createElement("li");
        li.dataset.identity = p.identity;
        li.textContent = `${p.name || p.identity} (${p.attributes?.role ?? "?"})`;
        return li;
      }),
    );
  };
  room
    .on(RoomEvent.ParticipantConnected, show)
    .on(RoomEvent.ParticipantDisconnected, show)
    .on(RoomEvent.Reconnecting, () => setStatus("livekit", "reconnecting"))
    .on(RoomEvent.Reconnected, () => setStatus("livekit", "connected"))
    .on(RoomEvent.Disconnected, (reason) => setStatus("livekit", "closed", String(reason ?? "")));
  await room.connect(serverUrl, participantToken);
  setStatus("livekit", "connected", room.name);
  log(`livekit: joined ${room.name} as ${room.localParticipant.identity}`);
  show();
  return room;
}

// startSupabase shows the Realtime token. With a Supabase project in
// config.json it also connects supabase-js, which calls the same function
// at every join and heartbeat.
function startSupabase(gp, config, who) {
  const accessToken = gp.supabaseRealtime();
  let last = "";
  async function refresh() {
    try {
      const token = await accessToken();
      if (token !== last) {
        if (last) count("supabase", "refreshes");
        last = token;
        $("#supabase-token").textContent = token;
        showExpiry("supabase", claims(token).exp);
      }
      setStatus("supabase", "connected", config.supabaseUrl ? "" : "token only");
    } catch (err) {
      setStatus("supabase", "error", err.message);
    }
  }
  refresh();
  // supabase-js asks on each heartbeat (25 s); asking more often here shows
  // short-lived development tokens being replaced.
  const timer = setInterval(refresh, 2_000);
  if (config.supabaseUrl && config.supabaseAnonKey) {
    const supabase = createClient(config.supabaseUrl, config.supabaseAnonKey, { accessToken });
    supabase
      .channel(`org:${who.org}`)
      .on("broadcast", { event: "message" }, ({ payload }) => log(`supabase: ${JSON.stringify(payload)}`))
      .subscribe((status) => log(`supabase: ${status}`));
  }
  return () => clearInterval(timer);
}

// --- start -----------------------------------------------------------------

async function start(config, form) {
  const who = { user: form.elements.user.value, org: form.elements.org.value, role: form.elements.role.value };
  const gp = createGatepass({ baseUrl: config.gatepassUrl, accessToken: devIdentity(config.gatepassUrl, who) });
  form.dataset.status = "signed-in";
  $("#signin-status").textContent = `${who.user} of ${who.org || "no organization"} (${who.role})`;
  window.gatepassExample = { gp };
  const run = async (section, fn) => {
    try {
      window.gatepassExample[section] = await fn();
    } catch (err) {
      setStatus(section, "error", err.code ?? err.message);
      log(`${section}: ${err.message}`);
    }
  };
  await Promise.all([
    run("office", () => startOffice(gp)),
    run("nats", () => startNATS(gp, who)),
    run("centrifugo", () => startCentrifugo(gp, who)),
    run("livekit", () => startLiveKit(gp, form.elements.room.value)),
    run("supabase", () => startSupabase(gp, config, who)),
  ]);
}

async function main() {
  const config = await (await fetch("/config.json")).json();
  const form = $("#signin");
  // ?user=…&org=…&role=…&room=… fill the form, so two windows can be two users.
  const params = new URLSearchParams(location.search);
  for (const name of ["user", "org", "role", "room"]) {
    if (params.has(name)) form.elements[name].value = params.get(name);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    form.elements.connect.disabled = true;
    start(config, form).catch((err) => log(`start: ${err.message}`));
  });
  document.body.dataset.ready = "true";
}

main().catch((err) => log(`config: ${err.message}`));
