package ginhttp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/natsjwt"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// natsAPI is the real router with the NATS kind registered and signed by
// the real signer.
func natsAPI(t *testing.T) api {
	t.Helper()
	officeKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	idKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	office, err := jwtsigner.NewOfficeSigner(officeKey, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	realtime, _ := jwtsigner.NewRealtimeSigner([]byte("a-supabase-secret-of-at-least-32-bytes"))
	set, _ := devidentity.KeySetJSON(idKey)
	kf, _ := jwksidentity.NewStaticKeys(set)
	verifier, err := jwksidentity.New(kf, jwksidentity.Options{Issuer: devidentity.Issuer, Algorithms: []string{"RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := statickeys.New(&officeKey.PublicKey, "RS256", nil)
	account, _ := nkeys.CreateAccount()
	accountPub, _ := account.PublicKey()
	signing, _ := nkeys.CreateAccount()
	seed, _ := signing.Seed()
	signer, err := natsjwt.NewSigner(accountPub, seed)
	if err != nil {
		t.Fatal(err)
	}
	def, err := domain.NATSDefinition(domain.NATSSettings{
		Servers: []string{"tls://nats.example:4222", "wss://nats.example"}, Account: accountPub, SigningKey: signer.SigningKey(), TTL: 10 * time.Minute,
	}, natsjwt.UserKeys{})
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(t, application.Ports{
		Identity: verifier, Clock: systemclock.Clock{}, IDs: cryptorand.IDs{}, Keys: keys,
	}, application.Grants{
		Kinds: builtIn(t, office.SignOffice, realtime.SignRealtime,
			application.RegisterGrant(def, application.ExpiryBoundNone, signer.SignNATSUser),
		),
	}, application.RateLimitPolicy{},
		[]application.ReadinessCheck{{Name: "signer", Probe: func(context.Context) (string, error) { return "go RS256", nil }}})
	h, err := ginhttp.NewRouter(app, ginhttp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return api{handler: h, idKey: idKey}
}

// TestNATSAnswersMatchTheOpenAPIDocument: the NATS endpoint's answers and
// the audience nats of the token exchange, as the document describes them.
func TestNATSAnswersMatchTheOpenAPIDocument(t *testing.T) {
	a := natsAPI(t)
	_, router := loadDocument(t)
	member, loner := a.bearer(t, "org_1"), a.bearer(t, "")
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	tests := []struct {
		name, path, bearer, contentType, body, wantIn string
		status                                        int
	}{
		{name: "bearer JWT", path: "/api/v1/nats/token", bearer: member, status: 201, wantIn: `"inbox_prefix":"_INBOX.user_1"`},
		{name: "JWT for a key", path: "/api/v1/nats/token", bearer: member, contentType: "application/json",
			body: `{"user_public_key":"` + userPub + `"}`, status: 201, wantIn: `"servers":["tls://nats.example:4222","wss://nats.example"]`},
		{name: "not a user key", path: "/api/v1/nats/token", bearer: member, contentType: "application/json",
			body: `{"user_public_key":"` + strings.Repeat("U", 56) + `"}`, status: 400, wantIn: `"code":"invalid_user_key"`},
		{name: "no organization", path: "/api/v1/nats/token", bearer: loner, status: 403, wantIn: `"code":"no_organization"`},
		{name: "token exchange", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded",
			body: exchangeForm(member, "nats"), status: 200, wantIn: `"inbox_prefix":"_INBOX.user_1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "http://gatepass.test"+tt.path, strings.NewReader(tt.body))
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			a.handler.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.wantIn) {
				t.Fatalf("status %d, want %d with %s: %s", rec.Code, tt.status, tt.wantIn, rec.Body)
			}
			validate(t, router, req, rec)
		})
	}
}
