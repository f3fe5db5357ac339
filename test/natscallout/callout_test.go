package natscallout_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natscallout"
)

// served is a callout-configured nats-server and the gatepass that answers
// its callout.
type served struct {
	nats *natscallout.Server
	gp   *kit.Service
}

func serveCallout(t *testing.T, cfg natscallout.Config, over ...map[string]string) served {
	t.Helper()
	s := natscallout.Start(t, cfg)
	gp := inproc.ServeService(t, append([]map[string]string{s.Env()}, over...)...)
	return served{nats: s, gp: gp}
}

// violations collects a connection's asynchronous errors: the server's
// permission violations.
type violations chan error

func (v violations) option() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { v <- err })
}

// next is the next violation, or fails the test: the server answers a
// refused publish with -ERR on the same connection, which a flush after it
// has surely brought in.
func (v violations) next(t *testing.T, nc *nats.Conn) error {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-v:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no permission violation reported")
		return nil
	}
}

// A caller with a valid identity token gets in through the callout with
// the default policy's rights, judged by the server: members of one
// organization talk on org.<orgId>.chat and answer each other's requests
// on their own inboxes, a member cannot publish to another organization's
// subject, a viewer publishes nothing but replies. The same holds when
// the server encrypts its requests to gatepass's curve key.
func TestCalloutAdmitsAVerifiedCallerWithThePolicysRights(t *testing.T) {
	t.Parallel()
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			t.Parallel()
			admitsWithThePolicysRights(t, serveCallout(t, natscallout.Config{Encrypted: encrypted}))
		})
	}
	// One account may be both: its signing key signs the users and the
	// answers, so NATS_CALLOUT_ISSUER_KEY may equal NATS_ACCOUNT_SIGNING_KEY.
	t.Run("one account", func(t *testing.T) {
		t.Parallel()
		admitsWithThePolicysRights(t, serveCallout(t, natscallout.Config{OneAccount: true}))
	})
}

func admitsWithThePolicysRights(t *testing.T, x served) {
	t.Helper()
	idp := x.gp.IDP
	aliceErrs := make(violations, 8)
	alice := x.nats.ConnectWhenServed(t, idp.Token(t, "alice", "org_a", "member", time.Hour), 20*time.Second,
		nats.CustomInboxPrefix("_INBOX.alice"), aliceErrs.option())
	bob, err := x.nats.Connect(t, idp.Token(t, "bob", "org_a", "member", time.Hour), nats.CustomInboxPrefix("_INBOX.bob"))
	if err != nil {
		t.Fatalf("bob: %v", err)
	}

	chat, err := bob.SubscribeSync("org.org_a.chat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Subscribe("org.org_a.service", func(m *nats.Msg) { _ = m.Respond([]byte("pong " + string(m.Data))) }); err != nil {
		t.Fatal(err)
	}
	if err := bob.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Publish("org.org_a.chat", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	m, err := chat.NextMsg(10 * time.Second)
	if err != nil || string(m.Data) != "hello" {
		t.Fatalf("bob received %v, %v; want hello", m, err)
	}
	reply, err := alice.Request("org.org_a.service", []byte("ping"), 10*time.Second)
	if err != nil || string(reply.Data) != "pong ping" {
		t.Fatalf("request: %v, %v; want pong ping", reply, err)
	}

	if err := alice.Publish("org.org_b.chat", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := aliceErrs.next(t, alice); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), "org.org_b.chat") {
		t.Fatalf("publish to another organization: %v, want a permission violation", err)
	}

	viewerErrs := make(violations, 8)
	viewer, err := x.nats.Connect(t, idp.Token(t, "vera", "org_a", "viewer", time.Hour), viewerErrs.option())
	if err != nil {
		t.Fatalf("viewer: %v", err)
	}
	if err := viewer.Publish("org.org_a.chat", []byte("may I?")); err != nil {
		t.Fatal(err)
	}
	if err := viewerErrs.next(t, viewer); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("viewer's publish: %v, want a permission violation", err)
	}

	metrics := kit.Scrape(t, x.gp.AdminURL+"/metrics")
	if got := metrics.Sum("gatepass_grants_total", "kind", "nats", "result", "issued"); got != 3 {
		t.Errorf("nats grants issued = %v, want 3 (alice, bob, the viewer)", got)
	}
}

// A forged identity token (signed by another key under the provider's
// kid) and an expired one are refused by gatepass: the client's connect
// fails with an authorization violation, the server never got a user JWT,
// and gatepass counts both refusals under kind nats with the verifier's
// reasons, as it counts a refused bearer.
func TestCalloutRefusesForgedAndExpiredTokens(t *testing.T) {
	t.Parallel()
	x := serveCallout(t, natscallout.Config{})
	idp := x.gp.IDP
	x.nats.ConnectWhenServed(t, idp.Token(t, "alice", "org_a", "member", time.Hour), 20*time.Second)

	forger := kit.NewSigningKey(t, idp.KID, 2048)
	for name, token := range map[string]string{
		"forged":  idp.TokenOf(t, forger, "mallory", "org_a", "admin", time.Hour),
		"expired": idp.Token(t, "alice", "org_a", "member", -time.Minute),
		"empty":   "",
	} {
		if _, err := x.nats.Connect(t, token); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s token: connect err = %v, want an authorization violation", name, err)
		}
	}

	metrics := kit.Scrape(t, x.gp.AdminURL+"/metrics")
	for _, want := range []struct {
		name   string
		labels []string
		value  float64
	}{
		{"gatepass_grants_total", []string{"kind", "nats", "result", "issued"}, 1},
		{"gatepass_grants_total", []string{"kind", "nats", "result", "invalid_token"}, 2},
		{"gatepass_grants_total", []string{"kind", "nats", "result", "missing_credentials"}, 1},
		{"gatepass_auth_failures_total", []string{"reason", "bad_signature"}, 1},
		{"gatepass_auth_failures_total", []string{"reason", "expired"}, 1},
		{"gatepass_auth_failures_total", []string{"reason", "missing_credentials"}, 1},
	} {
		if got := metrics.Sum(want.name, want.labels...); got != want.value {
			t.Errorf("%s%v = %v, want %v", want.name, want.labels, got, want.value)
		}
	}
	if logs := x.gp.Logs(); strings.Contains(logs, idp.Token(t, "alice", "org_a", "member", -time.Minute)[:40]) {
		t.Error("a token's header and payload appear in the logs")
	}
}

// Failed connects spend the failure budget of the client address the
// server reports, as failed bearers do: once spent, a bad token is refused
// as rate_limited, and a valid token from the same address still gets in.
func TestCalloutSpendsTheClientAddresssFailureBudget(t *testing.T) {
	t.Parallel()
	x := serveCallout(t, natscallout.Config{}, map[string]string{
		"RATE_LIMIT_AUTH_FAILURE_BURST": "2", "RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h",
	})
	idp := x.gp.IDP
	x.nats.ConnectWhenServed(t, idp.Token(t, "alice", "org_a", "member", time.Hour), 20*time.Second)
	forger := kit.NewSigningKey(t, idp.KID, 2048)
	for i := range 3 {
		if _, err := x.nats.Connect(t, idp.TokenOf(t, forger, "mallory", "org_a", "admin", time.Hour)); !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("forged token %d: %v, want an authorization violation", i, err)
		}
	}
	if _, err := x.nats.Connect(t, idp.Token(t, "bob", "org_a", "member", time.Hour)); err != nil {
		t.Fatalf("a valid token from the spent address: %v", err)
	}
	metrics := kit.Scrape(t, x.gp.AdminURL+"/metrics")
	for result, want := range map[string]float64{"invalid_token": 2, "rate_limited": 1, "issued": 2} {
		if got := metrics.Sum("gatepass_grants_total", "kind", "nats", "result", result); got != want {
			t.Errorf("nats grants %s = %v, want %v", result, got, want)
		}
	}
	if got := metrics.Sum("gatepass_rate_limit_rejections_total", "limit", "authfail"); got != 1 {
		t.Errorf("authfail rejections = %v, want 1", got)
	}
}

// Once gatepass stops, the callout is no longer answered: a connect with a
// valid token is refused (the server times the callout out).
func TestCalloutStopsWithTheServer(t *testing.T) {
	t.Parallel()
	x := serveCallout(t, natscallout.Config{AuthTimeout: 500 * time.Millisecond})
	token := x.gp.IDP.Token(t, "alice", "org_a", "member", time.Hour)
	x.nats.ConnectWhenServed(t, token, 20*time.Second)
	x.gp.Kill()
	if _, err := x.nats.Connect(t, token); err == nil {
		t.Fatal("connected after gatepass stopped")
	}
}

// The callout's settings refuse the start, naming the variable and never
// quoting a key.
func TestCalloutSettingsRefuseTheStart(t *testing.T) {
	t.Parallel()
	s := natscallout.Start(t, natscallout.Config{})
	user := natscallout.UserSeed(t)
	idp := kit.NewIdentityProvider(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	for _, tt := range []struct {
		name, variable string
		over           map[string]string
	}{
		{"missing creds file", "NATS_CALLOUT_CREDS_FILE", map[string]string{"NATS_CALLOUT_CREDS_FILE": s.SentinelCreds + ".missing"}},
		{"no creds file", "NATS_CALLOUT_CREDS_FILE", map[string]string{"NATS_CALLOUT_CREDS_FILE": ""}},
		{"a user seed as issuer", "NATS_CALLOUT_ISSUER_KEY_FILE", map[string]string{"NATS_CALLOUT_ISSUER_KEY_FILE": natscallout.WriteFile(t, user)}},
		{"an account seed as xkey", "NATS_CALLOUT_XKEY_FILE", map[string]string{"NATS_CALLOUT_XKEY_FILE": s.IssuerFile}},
		{"no URL", "NATS_CALLOUT_URL", map[string]string{"NATS_CALLOUT_URL": ""}},
		{"an http URL", "NATS_CALLOUT_URL", map[string]string{"NATS_CALLOUT_URL": "http://127.0.0.1:4222"}},
		{"a callout setting without NATS_AUTH_CALLOUT", "NATS_CALLOUT_URL", map[string]string{"NATS_AUTH_CALLOUT": ""}},
		{"without the NATS grant", "NATS_AUTH_CALLOUT", map[string]string{"NATS_URL": "", "NATS_ACCOUNT": "", "NATS_ACCOUNT_SIGNING_KEY": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := inproc.ServeErr(t, kit.ProductionEnv(idp, keyPEM, s.Env(), tt.over))
			if err == nil || !strings.Contains(err.Error(), tt.variable) {
				t.Fatalf("start: %v, want a refusal naming %s", err, tt.variable)
			}
			if strings.Contains(err.Error(), user) || strings.Contains(err.Error(), "SA") && strings.Contains(err.Error(), s.AccountSigningSeed) {
				t.Fatalf("the refusal quotes a seed: %v", err)
			}
		})
	}
}

// A restarted server drops gatepass's connection with the others; gatepass
// reconnects by itself and answers the callout again.
func TestCalloutReconnectsToARestartedServer(t *testing.T) {
	t.Parallel()
	x := serveCallout(t, natscallout.Config{})
	token := x.gp.IDP.Token(t, "alice", "org_a", "member", time.Hour)
	x.nats.ConnectWhenServed(t, token, 20*time.Second).Close()
	x.nats.Restart(t)
	x.nats.ConnectWhenServed(t, token, 30*time.Second)
	if got := kit.Scrape(t, x.gp.AdminURL+"/metrics").Sum("gatepass_grants_total", "kind", "nats", "result", "issued"); got != 2 {
		t.Errorf("nats grants issued = %v, want 2 (before and after the restart)", got)
	}
}

// Every connect spends the caller's nats budget, as the HTTP endpoint's
// requests do: once spent, the caller's next connect is refused as
// rate_limited, and another caller still gets in.
func TestCalloutSpendsTheCallersNATSBudget(t *testing.T) {
	t.Parallel()
	x := serveCallout(t, natscallout.Config{}, map[string]string{
		"RATE_LIMIT_NATS_BURST": "1", "RATE_LIMIT_NATS_RATE": "1", "RATE_LIMIT_NATS_PERIOD": "1h",
	})
	idp := x.gp.IDP
	x.nats.ConnectWhenServed(t, idp.Token(t, "alice", "org_a", "member", time.Hour), 20*time.Second)
	if _, err := x.nats.Connect(t, idp.Token(t, "alice", "org_a", "member", time.Hour)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("alice's second connect: %v, want an authorization violation", err)
	}
	if _, err := x.nats.Connect(t, idp.Token(t, "bob", "org_a", "member", time.Hour)); err != nil {
		t.Fatalf("bob: %v", err)
	}
	metrics := kit.Scrape(t, x.gp.AdminURL+"/metrics")
	for result, want := range map[string]float64{"issued": 2, "rate_limited": 1} {
		if got := metrics.Sum("gatepass_grants_total", "kind", "nats", "result", result); got != want {
			t.Errorf("nats grants %s = %v, want %v", result, got, want)
		}
	}
}

// With the sentinel as the server's default_sentinel, a client sends only
// its identity token, and is judged the same way.
func TestCalloutWithTheServersDefaultSentinel(t *testing.T) {
	t.Parallel()
	x := serveCallout(t, natscallout.Config{DefaultSentinel: true})
	connect := func(token string) (*nats.Conn, error) {
		nc, err := nats.Connect(x.nats.URL, nats.Token(token), nats.NoReconnect())
		if err == nil {
			t.Cleanup(nc.Close)
		}
		return nc, err
	}
	var err error
	if !kit.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		_, err = connect(x.gp.IDP.Token(t, "alice", "org_a", "member", time.Hour))
		return err == nil
	}) {
		t.Fatalf("a token alone: %v", err)
	}
	if _, err := connect(x.gp.IDP.Token(t, "alice", "org_a", "member", -time.Minute)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("an expired token alone: %v, want an authorization violation", err)
	}
}

// A revoked identity is refused at the callout as at every other door:
// the token the member connected with is refused after the revocation,
// counted as revoked, and an identity token issued after the cut-off gets
// in again.
func TestCalloutRefusesARevokedIdentity(t *testing.T) {
	t.Parallel()
	const admin = "callout-admin-token-0123456789abcdef"
	x := serveCallout(t, natscallout.Config{}, map[string]string{"ADMIN_API_TOKEN": admin})
	idp := x.gp.IDP
	before := idp.Token(t, "rita", "org_r", "member", time.Hour)
	x.nats.ConnectWhenServed(t, before, 20*time.Second).Close()

	r := kit.Post(t, x.gp.AdminURL+"/admin/v1/revocations", kit.Bearer(admin), kit.JSONBody(`{"user_id":"rita","org_id":"org_r"}`))
	if r.Status != 202 {
		t.Fatalf("revoke: %s", r)
	}
	if _, err := x.nats.Connect(t, before); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("revoked identity: connect err = %v, want an authorization violation", err)
	}
	if !kit.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		nc, err := x.nats.Connect(t, idp.Token(t, "rita", "org_r", "member", time.Hour))
		if err == nil {
			nc.Close()
		}
		return err == nil
	}) {
		t.Fatal("an identity issued after the cut-off is still refused")
	}

	metrics := kit.Scrape(t, x.gp.AdminURL+"/metrics")
	if got := metrics.Sum("gatepass_grants_total", "kind", "nats", "result", "revoked"); got < 1 {
		t.Errorf(`gatepass_grants_total{kind="nats",result="revoked"} = %v, want at least 1`, got)
	}
	if got := metrics.Sum("gatepass_auth_failures_total", "reason", "revoked"); got < 1 {
		t.Errorf(`gatepass_auth_failures_total{reason="revoked"} = %v, want at least 1`, got)
	}
}

// TestCalloutConnectionsOfARevokedUserAreClosed: a connection admitted
// through the callout is listed under the user id; a revocation closes the
// revoked user's in the organization, and leaves the user's in another
// organization and another member's open.
func TestCalloutConnectionsOfARevokedUserAreClosed(t *testing.T) {
	t.Parallel()
	const admin = "callout-admin-token-0123456789abcdef"
	s := natscallout.Start(t, natscallout.Config{})
	x := served{nats: s, gp: inproc.ServeService(t, s.Env(), map[string]string{"ADMIN_API_TOKEN": admin, "NATS_SYSTEM_CREDS_FILE": s.SystemCreds})}
	idp := x.gp.IDP
	connect := func(user, org string) (*nats.Conn, chan struct{}) {
		closed := make(chan struct{})
		nc := x.nats.ConnectWhenServed(t, idp.Token(t, user, org, "member", time.Hour), 20*time.Second,
			nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		return nc, closed
	}
	_, revokedClosed := connect("rita", "org_r")
	elsewhere, _ := connect("rita", "org_s")
	other, _ := connect("oscar", "org_r")

	r := kit.Post(t, x.gp.AdminURL+"/admin/v1/revocations", kit.Bearer(admin), kit.JSONBody(`{"user_id":"rita","org_id":"org_r"}`))
	if r.Status != 202 {
		t.Fatalf("revoke: %s", r)
	}
	select {
	case <-revokedClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked user's callout connection is still open")
	}
	for name, nc := range map[string]*nats.Conn{"the user in another organization": elsewhere, "another member": other} {
		if nc.IsClosed() || nc.Flush() != nil {
			t.Fatalf("%s: connection closed", name)
		}
	}
}
