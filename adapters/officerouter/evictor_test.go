package officerouter_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/officerouter"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

const (
	issuer   = "gatepass-test"
	audience = domain.DefaultOfficeRouterAdminAudience
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

type seqIDs struct{ n atomic.Int64 }

func (s *seqIDs) NewID() (string, error) { return "id-" + strconv.FormatInt(s.n.Add(1), 10), nil }

// worker is a stand-in for the office-router's POST /admin/revoke that
// verifies the admin grant as the Worker does (alg, iss, aud, exp, the
// body's hash) and answers with answer.
type worker struct {
	t      *testing.T
	public any
	now    time.Time
	status int
	answer string
	calls  atomic.Int64
	body   atomic.Value
}

func (w *worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	w.body.Store(body)
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return w.public, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return w.now }))
	sum := sha256.Sum256(body)
	switch {
	case !ok || err != nil:
		w.t.Errorf("admin grant refused: %v", err)
		rw.WriteHeader(http.StatusUnauthorized)
	case claims["sha256"] != base64.RawURLEncoding.EncodeToString(sum[:]):
		w.t.Errorf("sha256 claim %v is not the body's hash", claims["sha256"])
		rw.WriteHeader(http.StatusForbidden)
	case claims["sub"] != domain.OfficeRouterAdminSubject || claims["jti"] == "":
		w.t.Errorf("sub or jti: %v", claims)
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		w.t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	if exp, _ := claims.GetExpirationTime(); exp != nil && exp.Sub(w.now) != officerouter.AdminGrantTTL {
		w.t.Errorf("admin grant lives %s, want %s", exp.Sub(w.now), officerouter.AdminGrantTTL)
	}
	rw.WriteHeader(w.status)
	_, _ = io.WriteString(rw, w.answer)
}

func newEvictor(t *testing.T, status int, answer string) (*officerouter.Evictor, *worker) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwtsigner.NewOfficeSigner(key, jwa.ES256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	w := &worker{t: t, public: key.Public(), now: now, status: status, answer: answer}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	e, err := officerouter.New(officerouter.Config{
		Settings: domain.OfficeRouterAdminSettings{URL: srv.URL + "/admin/revoke", Issuer: issuer, Audience: audience, GrantTTL: time.Minute},
		Others:   []domain.NamedAudience{{Name: "JWT_AUDIENCE", Audience: "office-router"}},
		Signer:   signer, Client: srv.Client(), Clock: fixedClock{now}, IDs: &seqIDs{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, w
}

func revocation(mut func(*domain.Revocation)) domain.Revocation {
	r := domain.Revocation{
		ID:                "rev-1",
		RevocationRequest: domain.RevocationRequest{UserID: "user_r", OrgID: "org_r"},
		NotBefore:         time.Date(2026, 12, 7, 9, 59, 58, 0, time.UTC),
	}
	if mut != nil {
		mut(&r)
	}
	return r
}

func TestEvictSendsTheRevocationAndCountsClosedSockets(t *testing.T) {
	t.Parallel()
	e, w := newEvictor(t, http.StatusOK, `{"closed":2}`)
	if e.Transport() != domain.TransportOfficeRouter {
		t.Fatalf("transport %q", e.Transport())
	}
	got, err := e.Evict(context.Background(), revocation(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got != (domain.Eviction{Status: domain.EvictionDone, Count: 2}) {
		t.Fatalf("eviction %+v", got)
	}
	var body map[string]string
	if err := json.Unmarshal(w.body.Load().([]byte), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"user_id": "user_r", "org_id": "org_r", "not_before": "2026-12-07T09:59:58Z", "expires_at": "2026-12-07T10:00:58Z"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body %s = %q, want %q", k, body[k], v)
		}
	}
}

func TestEvictDecidesWithoutCallingWhatTheWorkerCannotDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(*domain.Revocation)
		want domain.EvictionStatus
	}{
		{"all organizations", func(r *domain.Revocation) { r.OrgID, r.AllOrganizations = "", true }, domain.EvictionNeedsOrg},
		{"one session", func(r *domain.Revocation) { r.SessionID = "sess_1" }, domain.EvictionNotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, w := newEvictor(t, http.StatusOK, `{"closed":1}`)
			got, err := e.Evict(context.Background(), revocation(tt.mut))
			if err != nil || got.Status != tt.want {
				t.Fatalf("Evict = %+v, %v; want %s", got, err, tt.want)
			}
			if n := w.calls.Load(); n != 0 {
				t.Fatalf("the Worker was called %d times", n)
			}
		})
	}
}

func TestEvictFailsOnAnAnswerThatIsNotACount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		answer  string
		message string
	}{
		{"refused", http.StatusUnauthorized, `{"error":"invalid_token","message":"x"}`, "status 401: invalid_token"},
		{"unavailable", http.StatusServiceUnavailable, `oops`, "status 503"},
		{"no count", http.StatusOK, `{}`, "count"},
		{"negative count", http.StatusOK, `{"closed":-1}`, "count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newEvictor(t, tt.status, tt.answer)
			_, err := e.Evict(context.Background(), revocation(nil))
			if !errors.Is(err, officerouter.ErrRefused) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("Evict error %v, want ErrRefused saying %q", err, tt.message)
			}
		})
	}
}

func TestEvictFailsWhenTheWorkerIsUnreachable(t *testing.T) {
	t.Parallel()
	e, _ := newEvictor(t, http.StatusOK, `{"closed":0}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evict(ctx, revocation(nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Evict error %v, want context.Canceled", err)
	}
}

func TestNewRefusesAnAdminAudienceSharedWithAnotherGrant(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwtsigner.NewOfficeSigner(key, jwa.ES256)
	if err != nil {
		t.Fatal(err)
	}
	others := []domain.NamedAudience{{Name: "JWT_AUDIENCE", Audience: "office-router"}, {Name: "CENTRIFUGO_AUDIENCE", Audience: "centrifugo"}}
	tests := []struct {
		name     string
		audience string
		signer   domain.OfficeRouterAdminSigner
		wantErr  error
		says     string
	}{
		{"the office grants'", "office-router", signer, domain.ErrAudienceShared, "must differ from JWT_AUDIENCE"},
		{"Centrifugo's", "centrifugo", signer, domain.ErrAudienceShared, "must differ from CENTRIFUGO_AUDIENCE"},
		{"none", "", signer, domain.ErrAudienceMissing, "Audience: must not be empty"},
		{"no signer", audience, nil, nil, "missing dependency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := officerouter.New(officerouter.Config{
				Settings: domain.OfficeRouterAdminSettings{URL: "https://office.example.com/admin/revoke", Issuer: issuer, Audience: tt.audience, GrantTTL: time.Minute},
				Others:   others, Signer: tt.signer, Client: http.DefaultClient, Clock: fixedClock{}, IDs: &seqIDs{},
			})
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("New error %v, want %v saying %q", err, tt.wantErr, tt.says)
			}
		})
	}
}
