package eviction_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/gatepass/gatepass/test/centrifugoserver"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
	"github.com/gatepass/gatepass/test/natsserver"
	"github.com/gatepass/gatepass/test/redisserver"
)

const (
	adminToken = "an-admin-api-token-of-at-least-32-bytes"
	// channel is the Centrifugo channel every user of org subscribes to.
	channel = "org:" + org
	org     = "org_evict"
	room    = "standup"
)

// stack is every peer of the test: two gatepass replicas on one
// redis-server, livekit-server (its webhook calling replica B),
// Centrifugo, nats-server in operator mode with a system account, and the
// office-router Worker on workerd.
type stack struct {
	idp    *kit.IdentityProvider
	a, b   *kit.Process
	lk     *livekitserver.Server
	cf     *centrifugoserver.Server
	ns     *natsserver.Server
	worker *url.URL
	// workerLog is what the Worker's runner writes: its refusals as they
	// come.
	workerLog *kit.Buffer
}

// startStack starts the peers first (they learn replica A's address, which
// is chosen before it listens), then the replicas with the peers' APIs.
func startStack(tb testing.TB) *stack {
	tb.Helper()
	s := &stack{idp: kit.NewIdentityProvider(tb)}
	redis := redisserver.Start(tb)
	addrA := kit.FreeAddr(tb)
	jwks := "http://" + addrA + kit.JWKSPath

	relay := kit.NewRelay(tb)
	s.lk = livekitserver.Start(tb, livekitserver.Config{WebhookURLs: []string{relay.URL + "/webhooks/livekit"}})
	s.cf = centrifugoserver.Start(tb, centrifugoserver.Config{JWKSURL: jwks, Issuer: kit.GrantIssuer, Audience: "centrifugo"})
	s.ns = natsserver.Start(tb, natsserver.Config{})
	s.worker, s.workerLog = startWorker(tb, map[string]string{
		"CONN_JWT_ISSUER": kit.GrantIssuer, "CONN_JWT_AUDIENCE": kit.GrantAudience, "CONN_JWKS_URL": jwks,
	})

	// One office key for both replicas: the Worker and Centrifugo know
	// replica A's JWKS only.
	_, keyPEM := kit.NewRSAKey(tb, 2048)
	env := kit.ProductionEnv(s.idp, keyPEM, map[string]string{
		"JWT_SIGNER": "go", "REDIS_URL": redis.URL(), "ADMIN_API_TOKEN": adminToken,
		"LIVEKIT_URL": s.lk.URL(), "LIVEKIT_API_KEY": s.lk.APIKey, "LIVEKIT_API_SECRET": s.lk.APISecret,
		"CENTRIFUGO_URL": s.cf.WebSocketURL(), "CENTRIFUGO_API_URL": s.cf.HTTPURL() + "/api", "CENTRIFUGO_API_KEY": s.cf.APIKey,
		"OFFICE_ROUTER_ADMIN_URL": s.worker.String() + "admin/revoke",
		"NATS_URL":                s.ns.URL(), "NATS_ACCOUNT": s.ns.AccountPublic, "NATS_ACCOUNT_SIGNING_KEY": s.ns.SigningSeed,
		"NATS_SYSTEM_CREDS_FILE": s.ns.SystemCreds,
		// Each user asks every door several times; the bench, for many users.
		"RATE_LIMIT_OFFICE_BURST": "1000", "RATE_LIMIT_LIVEKIT_BURST": "1000",
		"RATE_LIMIT_CENTRIFUGO_CONNECTION_BURST": "1000", "RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_BURST": "1000",
		"RATE_LIMIT_NATS_BURST": "1000",
	})
	s.a = inproc.Serve(tb, kit.With(env, map[string]string{"HTTP_ADDR": addrA}))
	s.b = inproc.Serve(tb, env)
	relay.To(tb, s.b.URL)
	return s
}

// startWorker runs the office-router Worker on workerd with vars through
// officerouter.mjs, and returns its base URL and what the runner writes
// (the Worker's refusals, one JSON line each); it stops when the test ends.
func startWorker(tb testing.TB, vars map[string]string) (*url.URL, *kit.Buffer) {
	tb.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Dir(here)
	if _, err := os.Stat(filepath.Join(dir, "..", "node_modules", "miniflare")); err != nil {
		tb.Fatalf("the office-router Worker needs the tests' Node packages: run scripts/deps.sh npm (%v)", err)
	}
	arg, err := json.Marshal(vars)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(dir, "officerouter.mjs"), string(arg))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	logs := &kit.Buffer{}
	cmd.Stderr = logs
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		tb.Fatalf("node: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	tb.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("office-router Worker output:\n%s", logs.String())
		}
	})
	started := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		started <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-started:
	case <-time.After(60 * time.Second):
		tb.Fatalf("the office-router Worker did not start within 60s:\n%s", logs.String())
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(line), &out); err != nil || out.URL == "" {
		tb.Fatalf("the office-router Worker did not start (%q):\n%s", line, logs.String())
	}
	u, err := url.Parse(out.URL)
	if err != nil {
		tb.Fatal(err)
	}
	return u, logs
}

// workerRefused counts the Worker's refusals of an upgrade for reason.
func (s *stack) workerRefused(reason string) int {
	n := 0
	for line := range strings.Lines(s.workerLog.String()) {
		var r struct{ Msg, Reason string }
		if json.Unmarshal([]byte(line), &r) == nil && r.Msg == "upgrade refused" && r.Reason == reason {
			n++
		}
	}
	return n
}

// post calls one of gp's grant endpoints for bearer with a JSON body (none
// when empty) and wants status.
func post(tb testing.TB, gp *kit.Process, path, bearer, body string, status int) kit.Response {
	tb.Helper()
	opts := []kit.Option{kit.Bearer(bearer)}
	if body != "" {
		opts = append(opts, kit.JSONBody(body))
	}
	r := kit.Post(tb, gp.URL+path, opts...)
	if r.Status != status {
		tb.Fatalf("POST %s: %s", path, r)
	}
	return r
}

// str is a string member of r's JSON body.
func str(tb testing.TB, r kit.Response, key string) string {
	tb.Helper()
	v, _ := r.JSON(tb)[key].(string)
	if v == "" {
		tb.Fatalf("no %s in %s", key, r)
	}
	return v
}

// officeSocket is a WebSocket held open on the office-router Worker; it
// records the close frame the Worker sends, the moment it arrives.
type officeSocket struct {
	conn     *websocket.Conn
	received chan string
	closed   chan struct{}
	code     int
	reason   string
	at       time.Time
}

// dialOffice opens a WebSocket on the Worker with an office grant in the
// Authorization header; a refused upgrade answers its status.
func dialOffice(ctx context.Context, worker *url.URL, grant string) (*officeSocket, int, error) {
	u := *worker
	u.Scheme = "ws"
	u.Path = "/ws"
	conn, res, err := websocket.DefaultDialer.DialContext(ctx, u.String(), http.Header{"Authorization": {"Bearer " + grant}})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		return nil, status, err
	}
	s := &officeSocket{conn: conn, received: make(chan string, 16), closed: make(chan struct{})}
	go s.read()
	return s, http.StatusSwitchingProtocols, nil
}

// read queues text messages until the connection ends; a close frame's
// code and reason are kept. workerd sends the close frame at once but
// ends the TCP connection only later: the frame is the eviction.
func (s *officeSocket) read() {
	defer close(s.closed)
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.at = time.Now()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				s.code, s.reason = ce.Code, ce.Text
			}
			return
		}
		select {
		case s.received <- string(data):
		default:
		}
	}
}

// Close closes the socket.
func (s *officeSocket) Close() { s.conn.Close() }

// user is one user of org holding a connection on every transport.
type user struct {
	id           string
	devices      []*livekitserver.Participant
	centrifugo   *centrifugoserver.Client
	subscription *centrifugoserver.Subscription
	office       *officeSocket
	officeGrant  string
	nats         *natsserver.Client
	natsClosed   chan struct{}
	natsClosedAt time.Time
}

// connect connects id on every transport with grants from gp: two LiveKit
// participants (id, and id#phone) in org's room, a Centrifugo client
// subscribed to org's channel, an office-router WebSocket, and a NATS
// connection with a bearer user JWT from replica B (replica A's evictor
// finds its key in the store the replicas share).
func (s *stack) connect(ctx context.Context, tb testing.TB, gp *kit.Process, id string) *user {
	tb.Helper()
	bearer := s.idp.Token(tb, id, org, "member", time.Hour)
	u := &user{id: id}
	for _, identity := range []string{id, id + "#phone"} {
		p, err := livekitserver.ConnectMedia(ctx, s.lk.URL(), s.liveKitGrant(tb, gp, id, identity))
		if err != nil {
			tb.Fatalf("%s joins LiveKit: %v", identity, err)
		}
		tb.Cleanup(p.Close)
		u.devices = append(u.devices, p)
	}

	conn := str(tb, post(tb, gp, "/api/v1/centrifugo/connection-token", bearer, "", http.StatusOK), "token")
	client, err := centrifugoserver.Connect(ctx, s.cf.WebSocketURL(), conn)
	if err != nil {
		tb.Fatalf("%s connects to Centrifugo: %v", id, err)
	}
	tb.Cleanup(client.Close)
	sub := str(tb, post(tb, gp, "/api/v1/centrifugo/subscription-token", bearer, `{"channel":"`+channel+`"}`, http.StatusOK), "token")
	if u.subscription, err = client.Subscribe(ctx, channel, sub); err != nil {
		tb.Fatalf("%s subscribes on Centrifugo: %v", id, err)
	}
	u.centrifugo = client

	u.officeGrant = str(tb, post(tb, gp, kit.OfficePath, bearer, "", http.StatusOK), "token")
	ws, status, err := dialOffice(ctx, s.worker, u.officeGrant)
	if err != nil {
		tb.Fatalf("%s opens an office-router WebSocket: %d %v", id, status, err)
	}
	tb.Cleanup(ws.Close)
	u.office = ws

	r := post(tb, s.b, "/api/v1/nats/token", bearer, "", http.StatusCreated)
	var g struct {
		UserJWT     string `json:"user_jwt"`
		InboxPrefix string `json:"inbox_prefix"`
	}
	if err := json.Unmarshal(r.Body, &g); err != nil || g.UserJWT == "" {
		tb.Fatalf("NATS grant: %s", r)
	}
	u.natsClosed = make(chan struct{})
	nc, err := natsserver.Connect(tb, s.ns.URL(), g.UserJWT, nil, nats.CustomInboxPrefix(g.InboxPrefix),
		nats.ClosedHandler(func(*nats.Conn) {
			u.natsClosedAt = time.Now()
			close(u.natsClosed)
		}))
	if err != nil {
		tb.Fatalf("%s connects to NATS: %v", id, err)
	}
	u.nats = nc
	return u
}

// liveKitGrant is a grant from gp for id to join org's room as identity.
func (s *stack) liveKitGrant(tb testing.TB, gp *kit.Process, id, identity string) string {
	tb.Helper()
	bearer := s.idp.Token(tb, id, org, "member", time.Hour)
	return str(tb, post(tb, gp, "/api/v1/livekit/token", bearer,
		`{"room_name":"`+room+`","participant_identity":"`+identity+`"}`, http.StatusCreated), "participant_token")
}

// evictions waits for each of u's connections to end: when each
// transport evicted u, or the error of a connection that did not end as an
// eviction within ctx.
type evictions struct {
	mu   sync.Mutex
	at   map[string]time.Time
	errs []error
	wg   sync.WaitGroup
}

// watch starts waiting for u's connections to end.
func watch(ctx context.Context, u *user) *evictions {
	e := &evictions{at: map[string]time.Time{}}
	done := func(transport string, at time.Time, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s: %w", transport, err))
			return
		}
		e.at[transport] = at
	}
	e.wg.Add(4)
	go func() {
		defer e.wg.Done()
		var last time.Time
		for _, p := range u.devices {
			select {
			case <-p.Left():
				last = time.Now()
			case <-ctx.Done():
				done("livekit", time.Time{}, fmt.Errorf("%s still in the room", p.Joined.Identity))
				return
			}
		}
		done("livekit", last, nil)
	}()
	go func() {
		defer e.wg.Done()
		gone, err := u.centrifugo.Disconnected(ctx)
		at := time.Now()
		if err == nil && gone.Code != 3503 {
			err = fmt.Errorf("disconnected with %d %q, want 3503", gone.Code, gone.Reason)
		}
		done("centrifugo", at, err)
	}()
	go func() {
		defer e.wg.Done()
		select {
		case <-u.office.closed:
			var err error
			if u.office.code != 4003 || u.office.reason != "revoked" {
				err = fmt.Errorf("closed with %d %q, want 4003 revoked", u.office.code, u.office.reason)
			}
			done("office_router", u.office.at, err)
		case <-ctx.Done():
			done("office_router", time.Time{}, errors.New("the WebSocket is still open"))
		}
	}()
	go func() {
		defer e.wg.Done()
		select {
		case <-u.natsClosed:
			done("nats", u.natsClosedAt, nil)
		case <-ctx.Done():
			done("nats", time.Time{}, errors.New("the connection is still open"))
		}
	}()
	return e
}

// wait waits for every watched connection, fails tb with what did not end
// as an eviction, and returns each transport's eviction time after start.
func (e *evictions) wait(tb testing.TB, start time.Time) map[string]time.Duration {
	tb.Helper()
	e.wg.Wait()
	if len(e.errs) > 0 {
		tb.Fatal(errors.Join(e.errs...))
	}
	times := map[string]time.Duration{}
	for tr, at := range e.at {
		times[tr] = at.Sub(start)
	}
	return times
}

// revoke records a revocation of id in org through gp's admin API and
// returns its id.
func revoke(tb testing.TB, gp *kit.Process, id string) string {
	tb.Helper()
	r := kit.Post(tb, gp.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken),
		kit.JSONBody(`{"user_id":"`+id+`","org_id":"`+org+`"}`))
	if r.Status != http.StatusAccepted {
		tb.Fatalf("revoke %s: %s", id, r)
	}
	return str(tb, r, "id")
}

// fanoutState is one transport's entry of a revocation's fan-out.
type fanoutState struct {
	Status    string `json:"status"`
	Count     *int   `json:"count"`
	ExpiresAt string `json:"expires_at"`
}

// fanout is revocation id's fan-out as gp's admin API shows it.
func fanout(tb testing.TB, gp *kit.Process, id string) (map[string]fanoutState, kit.Response) {
	tb.Helper()
	r := kit.Get(tb, gp.AdminURL+"/admin/v1/revocations/"+id, kit.Bearer(adminToken))
	var out struct {
		Fanout map[string]fanoutState `json:"fanout"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil {
		tb.Fatalf("GET revocation %s: %s", id, r)
	}
	return out.Fanout, r
}

// participants are the identities in org's room, as livekit-server lists
// them.
func (s *stack) participants(tb testing.TB) []string {
	tb.Helper()
	return s.lk.Participants(tb, org+"/"+room)
}

// joinedRemoved counts the participant_joined webhooks gp logged for which
// it removed a participant.
func joinedRemoved(gp *kit.Process) int {
	n := 0
	for line := range strings.Lines(gp.Logs()) {
		var l struct {
			Msg     string `json:"msg"`
			Event   string `json:"event"`
			Removed int    `json:"removed"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "livekit webhook" && l.Event == "participant_joined" && l.Removed > 0 {
			n++
		}
	}
	return n
}
