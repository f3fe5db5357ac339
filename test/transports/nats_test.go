package transports_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/adapters/natsjwt"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natsserver"
)

// natsEnv enables NATS against ns's account and signing key.
func natsEnv(ns *natsserver.Server, urls string) map[string]string {
	return map[string]string{"NATS_URL": urls, "NATS_ACCOUNT": ns.AccountPublic, "NATS_ACCOUNT_SIGNING_KEY": ns.SigningSeed}
}

// natsGrant is a 201 answer of the NATS endpoint.
type natsGrant struct {
	ServerURL   string   `json:"server_url"`
	Servers     []string `json:"servers"`
	UserJWT     string   `json:"user_jwt"`
	InboxPrefix string   `json:"inbox_prefix"`
	ExpiresIn   int      `json:"expiresIn"`
}

func issueNATS(t *testing.T, url, bearer, body string) natsGrant {
	t.Helper()
	r := post(t, url+"/api/v1/nats/token", bearer, body)
	if r.Status != http.StatusCreated || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("answer %s (Cache-Control %q, Pragma %q)", r, r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
	}
	var g natsGrant
	if err := json.Unmarshal(r.Body, &g); err != nil || g.UserJWT == "" {
		t.Fatalf("answer %s: %v", r, err)
	}
	return g
}

// connectAs connects with a grant as a client given it would: its inbox
// prefix set, no key (bearer) unless seed.
func connectAs(t *testing.T, url string, g natsGrant, seed nkeys.KeyPair) *natsserver.Client {
	t.Helper()
	c, err := natsserver.Connect(t, url, g.UserJWT, seed, nats.CustomInboxPrefix(g.InboxPrefix))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c
}

func TestNATSGrantsAreJudgedByTheRealServer(t *testing.T) {
	t.Parallel()
	ns := natsserver.Start(t, natsserver.Config{WebSocket: true})
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, natsEnv(ns, ns.URL()+","+ns.WebSocketURL())))
	grant := func(t *testing.T, user, org, role string) natsGrant {
		return issueNATS(t, gp.URL, idp.Token(t, user, org, role, time.Hour), "")
	}

	alice := grant(t, "user_alice", "org_n", "member")
	if alice.ServerURL != ns.URL() || len(alice.Servers) != 2 || alice.Servers[1] != ns.WebSocketURL() ||
		alice.InboxPrefix != "_INBOX.user_alice" || alice.ExpiresIn != 600 {
		t.Fatalf("grant %+v", alice)
	}
	a := connectAs(t, ns.URL(), alice, nil)
	b := connectAs(t, ns.URL(), grant(t, "user_bob", "org_n", "admin"), nil)
	v := connectAs(t, ns.URL(), grant(t, "user_vera", "org_n", "viewer"), nil)

	t.Run("members exchange messages on their organization's subjects", func(t *testing.T) {
		sub, err := b.SubscribeSync("org.org_n.chat")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := a.Publish("org.org_n.chat", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		msg, err := sub.NextMsg(10 * time.Second)
		if err != nil || string(msg.Data) != "hello" {
			t.Fatalf("bob received %v, %v", msg, err)
		}
	})

	t.Run("a viewer answers requests through the member's own inbox, and publishes nothing else", func(t *testing.T) {
		sub, err := v.Subscribe("org.org_n.svc", func(m *nats.Msg) { _ = m.Respond([]byte("pong")) })
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := v.Flush(); err != nil {
			t.Fatal(err)
		}
		reply, err := a.Request("org.org_n.svc", []byte("ping"), 10*time.Second)
		if err != nil || string(reply.Data) != "pong" {
			t.Fatalf("reply %v, %v", reply, err)
		}
		if err := v.Publish("org.org_n.chat", []byte("from a viewer")); err != nil {
			t.Fatal(err)
		}
		if err := v.Violation(10 * time.Second); err != nil {
			t.Fatalf("viewer publish: %v", err)
		}
	})

	t.Run("publishing to another organization is a permission violation", func(t *testing.T) {
		if err := a.Publish("org.org_other.chat", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := a.Violation(10 * time.Second); err != nil {
			t.Fatalf("cross-organization publish: %v", err)
		}
		if _, err := a.SubscribeSync("org.org_other.>"); err != nil {
			t.Fatal(err)
		}
		if err := a.Violation(10 * time.Second); err != nil {
			t.Fatalf("cross-organization subscribe: %v", err)
		}
		if _, err := a.SubscribeSync("_INBOX.>"); err != nil {
			t.Fatal(err)
		}
		if err := a.Violation(10 * time.Second); err != nil {
			t.Fatalf("subscribe to every inbox: %v", err)
		}
	})

	t.Run("an altered signature or subject is refused", func(t *testing.T) {
		g := grant(t, "user_mallory", "org_n", "member")
		parts := strings.Split(g.UserJWT, ".")
		if len(parts) != 3 {
			t.Fatalf("user JWT %q", g.UserJWT)
		}
		badSig := g
		badSig.UserJWT = parts[0] + "." + parts[1] + "." + kit.FlipBit(t, parts[2], 10)
		if _, err := natsserver.Connect(t, ns.URL(), badSig.UserJWT, nil); err == nil {
			t.Error("a JWT with an altered signature connected")
		}
		var claims map[string]any
		if err := json.Unmarshal(kit.MustDecode(t, parts[1]), &claims); err != nil {
			t.Fatal(err)
		}
		other, err := natsjwt.UserKeys{}.NewUserKey()
		if err != nil {
			t.Fatal(err)
		}
		claims["sub"] = other
		forged := parts[0] + "." + kit.B64([]byte(kit.MustJSON(t, claims))) + "." + parts[2]
		if _, err := natsserver.Connect(t, ns.URL(), forged, nil); err == nil {
			t.Error("a JWT with an altered subject connected")
		}
	})

	t.Run("an expired JWT is refused", func(t *testing.T) {
		s, err := natsjwt.NewSigner(ns.AccountPublic, []byte(ns.SigningSeed))
		if err != nil {
			t.Fatal(err)
		}
		caller, err := domain.NewPrincipal("user_late", "org_n", "member")
		if err != nil {
			t.Fatal(err)
		}
		perms, err := domain.NATSRules{}.DefaultSection().(domain.NATSRules).Rights(caller)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := natsjwt.UserKeys{}.NewUserKey()
		c, err := domain.NewNATSUserClaims(caller, key, true, ns.AccountPublic, perms, domain.Issuance{
			Issuer: s.SigningKey(), ID: "late", Now: time.Now().Add(-time.Hour), TTL: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		expired, err := s.SignNATSUser(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := natsserver.Connect(t, ns.URL(), expired, nil); err == nil {
			t.Error("an expired JWT connected")
		}
	})

	t.Run("a JWT for a caller's key needs the key's signature on the nonce", func(t *testing.T) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		g := issueNATS(t, gp.URL, idp.Token(t, "user_keyed", "org_n", "member", time.Hour), `{"user_public_key":"`+pub+`"}`)
		if _, err := natsserver.Connect(t, ns.URL(), g.UserJWT, nil); err == nil {
			t.Error("a JWT for a user key connected without the key's signature")
		}
		other, _ := nkeys.CreateUser()
		if _, err := natsserver.Connect(t, ns.URL(), g.UserJWT, other); err == nil {
			t.Error("a JWT for a user key connected with another key's signature")
		}
		c := connectAs(t, ns.URL(), g, kp)
		if err := c.Publish("org.org_n.chat", []byte("signed")); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the server closes a connection when its JWT expires", func(t *testing.T) {
		short := inproc.Serve(t, env(t, idp, natsEnv(ns, ns.URL()), map[string]string{"GRANT_EXPIRY_BOUND": "identity"}))
		g := issueNATS(t, short.URL, idp.Token(t, "user_brief", "org_n", "member", 8*time.Second), "")
		if g.ExpiresIn > 8 {
			t.Fatalf("grant bounded by the identity expires in %ds", g.ExpiresIn)
		}
		closed := make(chan struct{})
		c, err := natsserver.Connect(t, ns.URL(), g.UserJWT, nil, nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		if err != nil {
			t.Fatalf("connect before expiry: %v", err)
		}
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("the connection outlived its JWT")
		}
		if !c.IsClosed() {
			t.Fatal("closed handler ran on an open connection")
		}
	})
}

func TestNATSAccountThatDisallowsBearerAdmitsOnlyKeyedJWTs(t *testing.T) {
	t.Parallel()
	ns := natsserver.Start(t, natsserver.Config{DisallowBearer: true})
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, natsEnv(ns, ns.URL())))
	bearer := issueNATS(t, gp.URL, idp.Token(t, "user_b", "org_n", "member", time.Hour), "")
	if _, err := natsserver.Connect(t, ns.URL(), bearer.UserJWT, nil); err == nil {
		t.Error("a bearer JWT connected to an account that disallows them")
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	keyed := issueNATS(t, gp.URL, idp.Token(t, "user_k", "org_n", "member", time.Hour), `{"user_public_key":"`+pub+`"}`)
	c := connectAs(t, ns.URL(), keyed, kp)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestNATSRefusals: what the NATS endpoint refuses, and how, with the
// server's keys but no server (none is reached).
func TestNATSRefusals(t *testing.T) {
	t.Parallel()
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	accountPub, _ := account.PublicKey()
	signing, _ := nkeys.CreateAccount()
	seed, _ := signing.Seed()
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	userSeed, _ := user.Seed()
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, map[string]string{
		"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": accountPub, "NATS_ACCOUNT_SIGNING_KEY": string(seed),
		// Every case here is one user's request.
		"RATE_LIMIT_NATS_BURST": "100",
	}))
	member := idp.Token(t, "user_r", "org_r", "member", time.Hour)
	tests := []struct {
		name, bearer, body string
		status             int
		code               string
	}{
		{"no body", member, ``, 201, ""},
		{"an empty object", member, `{}`, 201, ""},
		{"a user key", member, `{"user_public_key":"` + userPub + `"}`, 201, ""},
		{"an empty user key", member, `{"user_public_key":""}`, 400, "invalid_user_key"},
		{"not a key", member, `{"user_public_key":"not-a-key"}`, 400, "invalid_user_key"},
		{"an account key", member, `{"user_public_key":"` + accountPub + `"}`, 400, "invalid_user_key"},
		{"a user seed", member, `{"user_public_key":"` + string(userSeed) + `"}`, 400, "invalid_user_key"},
		{"a user key with a broken checksum", member, `{"user_public_key":"` + userPub[:55] + "A" + `"}`, 400, "invalid_user_key"},
		{"a user key that is not a string", member, `{"user_public_key":5}`, 400, "malformed_body"},
		{"no organization", idp.Token(t, "user_r", "", "", time.Hour), ``, 403, "no_organization"},
		{"an organization id that cannot name a subject", idp.Token(t, "user_r", "org.r", "member", time.Hour), ``, 403, "unsupported_identifier"},
		{"a user id that cannot name an inbox", idp.Token(t, "user>r", "org_r", "member", time.Hour), ``, 403, "unsupported_identifier"},
		{"no bearer", "", ``, 401, "missing_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, gp.URL+"/api/v1/nats/token", tt.bearer, tt.body)
			if tt.code == "" {
				if r.Status != tt.status {
					t.Fatalf("answer %s", r)
				}
				return
			}
			kit.WantProblem(t, tt.name, r, tt.status, tt.code)
		})
	}
	// The user key asked for is the JWT's subject, and it is no bearer JWT.
	g := issueNATS(t, gp.URL, member, `{"user_public_key":"`+userPub+`"}`)
	claims := kit.PayloadOf(t, g.UserJWT)
	nc, _ := claims["nats"].(map[string]any)
	if claims["sub"] != userPub || claims["name"] != "user_r" || nc["bearer_token"] != nil || nc["issuer_account"] != accountPub {
		t.Fatalf("claims %v", claims)
	}
	bearer := kit.PayloadOf(t, issueNATS(t, gp.URL, member, ``).UserJWT)
	if nc, _ := bearer["nats"].(map[string]any); nc["bearer_token"] != true || bearer["sub"] == userPub {
		t.Fatalf("bearer claims %v", bearer)
	}
}

// TestNATSDisabledAnswersBeforeAuthentication: without NATS_* the route
// answers 404 transport_disabled, bearer or not.
func TestNATSDisabledAnswersBeforeAuthentication(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp))
	for _, bearer := range []string{"", "not-a-token", idp.Token(t, "user_d", "org_d", "member", time.Hour)} {
		kit.WantProblem(t, "disabled NATS", post(t, gp.URL+"/api/v1/nats/token", bearer, ""), http.StatusNotFound, "transport_disabled")
	}
}

// TestNATSInvalidUserKeySpendsTheBudget: a refused user key is a request
// after authentication like any other: it spends the caller's NATS budget.
func TestNATSInvalidUserKeySpendsTheBudget(t *testing.T) {
	t.Parallel()
	account, _ := nkeys.CreateAccount()
	accountPub, _ := account.PublicKey()
	signing, _ := nkeys.CreateAccount()
	seed, _ := signing.Seed()
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, map[string]string{
		"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": accountPub, "NATS_ACCOUNT_SIGNING_KEY": string(seed),
		"RATE_LIMIT_NATS_RATE": "1", "RATE_LIMIT_NATS_BURST": "2", "RATE_LIMIT_NATS_PERIOD": "1h",
	}))
	bearer := idp.Token(t, "user_s", "org_s", "member", time.Hour)
	for range 2 {
		kit.WantProblem(t, "a seed as the user key", post(t, gp.URL+"/api/v1/nats/token", bearer, `{"user_public_key":"SUAxxxx"}`), 400, "invalid_user_key")
	}
	kit.WantProblem(t, "a valid request past the budget", post(t, gp.URL+"/api/v1/nats/token", bearer, ""), 429, "rate_limited")
	if r := post(t, gp.URL+"/api/v1/nats/token", idp.Token(t, "user_t", "org_s", "member", time.Hour), ""); r.Status != http.StatusCreated {
		t.Fatalf("another user: %s", r)
	}
}
