//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// budgets are checked only without it (make test runs them in a pass of
// their own: `make allocs`).

package ginhttp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

// Allocation budgets of one request through the whole public handler
// chain (security headers, client address, request id, request log line
// in JSON, metrics, authentication, the use case, real signers, the
// response), in process. Measured values plus a small margin; a change
// that allocates more per request fails here without timing anything.
// BENCHMARKS.md lists the budgets; their history is in its git log.
const (
	realtimeAllocBudget = 9
	officeAllocBudget   = 34
	liveKitAllocBudget  = 13
)

func allocsHandler(t *testing.T) http.Handler {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	office, err := jwtsigner.NewOfficeSigner(key, jwa.RS256)
	if err != nil {
		t.Fatal(err)
	}
	realtime, err := jwtsigner.NewRealtimeSigner([]byte("a-supabase-secret-of-at-least-32-bytes"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := statickeys.New(&key.PublicKey, jwa.RS256, nil)
	if err != nil {
		t.Fatal(err)
	}
	liveKit, err := jwtsigner.NewLiveKitSigner("APIgatepass", []byte("a-livekit-secret-of-at-least-32-bytes"))
	if err != nil {
		t.Fatal(err)
	}
	metrics := prom.New()
	def, err := domain.LiveKitDefinition(domain.LiveKitSettings{APIKey: "APIgatepass", TTL: time.Hour, URL: "wss://livekit.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(t, application.Ports{
		Identity: staticIdentity{domain.Principal{UserID: "user_01", OrgID: "org_01", Role: "member"}},
		Clock:    systemclock.Clock{}, IDs: cryptorand.IDs{}, Keys: keys, Meter: metrics,
	}, application.Grants{Kinds: []application.GrantRegistration{
		officeKind(t, domain.OfficeSettings{Issuer: "gatepass", Audience: "office-router", TTL: time.Minute, URL: "wss://office.example/ws"}, office.SignOffice),
		realtimeKind(t, domain.RealtimeSettings{Issuer: "gatepass", TTL: time.Hour}, realtime.SignRealtime),
		application.RegisterGrant(def, application.ExpiryBoundNone, liveKit.SignLiveKit),
	}}, application.RateLimitPolicy{}, nil)
	// One JSON line per request, as in production (LOG_LEVEL=info, the
	// request line written by hand through slogctx.NewJSON).
	logger := slog.New(slogctx.NewJSON(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}, application.RequestID))
	h, err := ginhttp.NewRouter(app, ginhttp.Options{Logger: logger, Observer: metrics})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// allocsPerRequest is the allocations of serving one request with body
// (none when empty), the test's own request and recorder excluded.
func allocsPerRequest(t *testing.T, h http.Handler, path, body string, want, runs int) float64 {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, nil)
	req.RemoteAddr = "192.0.2.10:5555"
	req.Header.Set("Authorization", "Bearer static-bearer")
	content := &rewindReader{body: body}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Body, req.ContentLength = content, int64(len(body))
	}
	rec := httptest.NewRecorder()
	reset := func() {
		clear(rec.HeaderMap)
		rec.Body.Reset()
		rec.Code, rec.Flushed = 200, false
		content.r.Reset(body)
	}
	serve := func() {
		reset()
		h.ServeHTTP(rec, req)
	}
	serve()
	if rec.Code != want {
		t.Fatalf("%s answered %d: %s", path, rec.Code, rec.Body)
	}
	return testing.AllocsPerRun(runs, serve) - testing.AllocsPerRun(runs, reset)
}

// rewindReader is a request body the test rewinds between runs instead
// of allocating a new one.
type rewindReader struct {
	body string
	r    strings.Reader
}

func (b *rewindReader) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *rewindReader) Close() error               { return nil }

func TestAllocsRealtimeChain(t *testing.T) {
	checkChainAllocs(t, "a realtime token request", ginhttp.RouteRealtimeToken, "", http.StatusOK, 500, realtimeAllocBudget)
}

func TestAllocsOfficeChain(t *testing.T) {
	checkChainAllocs(t, "an office grant request", ginhttp.RouteOfficeAccess, "", http.StatusOK, 50, officeAllocBudget)
}

func TestAllocsLiveKitChain(t *testing.T) {
	checkChainAllocs(t, "a LiveKit token request", ginhttp.RouteLiveKitToken, `{"room_name":"standup"}`, http.StatusCreated, 500, liveKitAllocBudget)
}

// checkChainAllocs holds one request to path, served runs times, to budget
// allocations.
func checkChainAllocs(t *testing.T, what, path, body string, status, runs, budget int) {
	t.Helper()
	got := allocsPerRequest(t, allocsHandler(t), path, body, status, runs)
	t.Logf("%s: %.1f allocations (budget %d)", what, got, budget)
	if got > float64(budget) {
		t.Errorf("%s allocates %.1f times, budget %d", what, got, budget)
	}
}
