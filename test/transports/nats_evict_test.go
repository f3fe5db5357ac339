package transports_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natsserver"
	"github.com/gatepass/gatepass/test/redisserver"
)

// closedConn is a NATS connection and a channel closed when the server
// has closed it (the client does not reconnect).
type closedConn struct {
	*natsserver.Client
	closed chan struct{}
	// at is when the client saw it closed; read after closed is.
	at *time.Time
}

func connectWatched(t *testing.T, url string, g natsGrant, seed nkeys.KeyPair) closedConn {
	t.Helper()
	closed, at := make(chan struct{}), new(time.Time)
	c, err := natsserver.Connect(t, url, g.UserJWT, seed, nats.CustomInboxPrefix(g.InboxPrefix),
		nats.ClosedHandler(func(*nats.Conn) { *at = time.Now(); close(closed) }))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return closedConn{Client: c, closed: closed, at: at}
}

func (c closedConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// TestNATSEvictsTheRevokedUser: a revocation through one replica's admin
// API kicks every connection of the revoked user in the organization, with
// a bearer JWT from the endpoint or the token exchange or one for the
// user's own key, signed by the other replica (the keys are shared
// through Redis), as the real nats-server reports them to the system
// account; another member, and the same user in another
// organization, stay connected. The bearer JWT still connects until it
// expires: the remaining window the docs name.
func TestNATSEvictsTheRevokedUser(t *testing.T) {
	t.Parallel()
	ns := natsserver.Start(t, natsserver.Config{})
	redis := redisserver.Start(t)
	idp := kit.NewIdentityProvider(t)
	replica := func() *kit.Process {
		return inproc.Serve(t, env(t, idp, natsEnv(ns, ns.URL()), map[string]string{
			"NATS_SYSTEM_CREDS_FILE": ns.SystemCreds, "ADMIN_API_TOKEN": adminToken, "REDIS_URL": redis.URL(),
		}))
	}
	signer, gp := replica(), replica()
	revokedBearer := idp.Token(t, "user_nx_revoked", "org_nx", "member", time.Hour)
	grant := func(user, body string) natsGrant {
		if user == "user_nx_revoked" {
			return issueNATS(t, signer.URL, revokedBearer, body)
		}
		return issueNATS(t, signer.URL, idp.Token(t, user, "org_nx", "member", time.Hour), body)
	}

	revokedGrant := grant("user_nx_revoked", "")
	revoked := connectWatched(t, ns.URL(), revokedGrant, nil)
	key, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey()
	revokedKeyed := connectWatched(t, ns.URL(), grant("user_nx_revoked", `{"user_public_key":"`+pub+`"}`), key)
	// And through the token exchange, audience nats.
	exchanged := kit.Post(t, signer.URL+"/oauth2/token", kit.Body("application/x-www-form-urlencoded", strings.NewReader(url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {revokedBearer},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"nats"},
	}.Encode())))
	revokedExchanged := connectWatched(t, ns.URL(), natsGrant{UserJWT: str(t, exchanged, "access_token"), InboxPrefix: str(t, exchanged, "inbox_prefix")}, nil)
	other := connectWatched(t, ns.URL(), grant("user_nx_other", ""), nil)
	// The same user in another organization is not revoked there.
	elsewhere := connectWatched(t, ns.URL(), issueNATS(t, signer.URL, idp.Token(t, "user_nx_revoked", "org_ny", "member", time.Hour), ""), nil)

	start := time.Now()
	r := kit.Post(t, gp.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(`{"user_id":"user_nx_revoked","org_id":"org_nx"}`))
	var answer fanoutAnswer
	if r.Status != http.StatusAccepted || json.Unmarshal(r.Body, &answer) != nil {
		t.Fatalf("revoke: %s", r)
	}
	if !kit.Eventually(10*time.Second, 10*time.Millisecond, func() bool {
		return revoked.isClosed() && revokedKeyed.isClosed() && revokedExchanged.isClosed()
	}) {
		t.Fatalf("the revoked user's connections are still open (bearer closed %v, keyed closed %v, exchanged closed %v)",
			revoked.isClosed(), revokedKeyed.isClosed(), revokedExchanged.isClosed())
	}
	t.Logf("nats: the revoked user's client saw its connection closed %s after the revocation call began", revoked.at.Sub(start).Round(time.Millisecond))

	var view fanoutAnswer
	done := kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		got := kit.Get(t, gp.AdminURL+"/admin/v1/revocations/"+answer.ID, kit.Bearer(adminToken))
		view = fanoutAnswer{}
		return got.Status == http.StatusOK && json.Unmarshal(got.Body, &view) == nil && view.Fanout["nats"].Status == "done"
	})
	if !done {
		t.Fatalf("nats fan-out %+v, want done", view.Fanout["nats"])
	}
	if c := view.Fanout["nats"].Count; c == nil || *c != 3 {
		t.Fatalf("nats fan-out count %v, want 3", c)
	}

	// The others are still served: a round trip through the server.
	for name, c := range map[string]closedConn{"other member": other, "same user in another organization": elsewhere} {
		if c.isClosed() || c.Flush() != nil {
			t.Fatalf("%s: connection closed", name)
		}
	}

	// The remaining window: the bearer JWT is still valid and the server
	// admits it again, until it expires (NATS_TOKEN_TTL at most).
	again := connectWatched(t, ns.URL(), revokedGrant, nil)
	if again.Flush() != nil {
		t.Fatal("the still-valid bearer JWT does not reconnect")
	}
	// gatepass itself refuses the revoked user a new JWT.
	if r := post(t, gp.URL+"/api/v1/nats/token", revokedBearer, ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("a new grant for the revoked user: %s", r)
	}
}

// TestNATSEvictionNotConfigured: without NATS_SYSTEM_CREDS_FILE the NATS
// fan-out reports not_configured.
func TestNATSEvictionNotConfigured(t *testing.T) {
	t.Parallel()
	ns := natsserver.Start(t, natsserver.Config{})
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, natsEnv(ns, ns.URL()), map[string]string{"ADMIN_API_TOKEN": adminToken}))
	r := kit.Post(t, gp.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(`{"user_id":"user_nx","all_organizations":true}`))
	var answer fanoutAnswer
	if r.Status != http.StatusAccepted || json.Unmarshal(r.Body, &answer) != nil || answer.Fanout["nats"].Status != "not_configured" {
		t.Fatalf("revoke: %s", r)
	}
}
