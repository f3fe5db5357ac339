package natscallout_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natscallout"
)

// fakeServer plays nats-server's part of the callout protocol, so that the
// answers themselves can be read: gatepass serves the callout subject on a
// plain nats-server, and the test sends it authorization requests signed
// with a server key of its own.
type fakeServer struct {
	nc    *nats.Conn
	key   nkeys.KeyPair
	id    string
	curve nkeys.KeyPair // the server's curve key; nil for plain requests
	// serviceCurve is gatepass's curve public key (the account's xkey).
	serviceCurve string
	account      string // NATS_ACCOUNT
	issuer       string // the issuer key's public key
}

func newFakeServer(t *testing.T, encrypted bool, over map[string]string) (*fakeServer, *kit.Service) {
	t.Helper()
	_, url := natscallout.RunConfig(t, "listen: \"127.0.0.1:4222\"\n")
	newKey := func(create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
		kp, err := create()
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	pub := func(kp nkeys.KeyPair) string {
		p, err := kp.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	seed := func(kp nkeys.KeyPair) string {
		s, err := kp.Seed()
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	account, signing, issuer := newKey(nkeys.CreateAccount), newKey(nkeys.CreateAccount), newKey(nkeys.CreateAccount)
	service := newKey(nkeys.CreateUser)
	serviceJWT, err := jwt.NewUserClaims(pub(service)).Encode(issuer)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(serviceJWT, []byte(seed(service)))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"NATS_URL": url, "NATS_ACCOUNT": pub(account), "NATS_ACCOUNT_SIGNING_KEY": seed(signing),
		"NATS_AUTH_CALLOUT": "true", "NATS_CALLOUT_URL": url,
		"NATS_CALLOUT_CREDS_FILE":      natscallout.WriteFile(t, string(creds)),
		"NATS_CALLOUT_ISSUER_KEY_FILE": natscallout.WriteFile(t, seed(issuer)),
	}
	f := &fakeServer{key: newKey(nkeys.CreateServer), account: pub(account), issuer: pub(issuer)}
	f.id = pub(f.key)
	if encrypted {
		service := newKey(nkeys.CreateCurveKeys)
		env["NATS_CALLOUT_XKEY_FILE"] = natscallout.WriteFile(t, seed(service))
		f.curve = newKey(nkeys.CreateCurveKeys)
		f.serviceCurve = pub(service)
	}
	gp := inproc.ServeService(t, env, over)
	if f.nc, err = nats.Connect(url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.nc.Close)
	return f, gp
}

// ask sends an authorization request for a fresh user key, from client
// host with token, and returns the user key and the answer, opened.
func (f *fakeServer) ask(t *testing.T, host, token string) (string, *jwt.AuthorizationResponseClaims) {
	t.Helper()
	ukp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	user, _ := ukp.PublicKey()
	req := jwt.NewAuthorizationRequestClaims(f.account)
	req.Audience = "nats-authorization-request"
	req.UserNkey = user
	req.Server = jwt.ServerID{Name: "fake", ID: f.id}
	req.ClientInformation = jwt.ClientInformation{Host: host, Kind: "Client", Type: "nats"}
	req.ConnectOptions = jwt.ConnectOptions{Token: token, Protocol: 1}
	req.Expires = time.Now().Add(5 * time.Second).Unix()
	msg := nats.NewMsg("$SYS.REQ.USER.AUTH")
	if f.curve != nil {
		req.Server.XKey, _ = f.curve.PublicKey()
	}
	signed, err := req.Encode(f.key)
	if err != nil {
		t.Fatal(err)
	}
	msg.Data = []byte(signed)
	if f.curve != nil {
		if msg.Data, err = f.curve.Seal(msg.Data, f.serviceCurve); err != nil {
			t.Fatal(err)
		}
		msg.Header.Set("Nats-Server-Xkey", req.Server.XKey)
	}
	var res *nats.Msg
	if !kit.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		res, err = f.nc.RequestMsg(msg, 5*time.Second)
		return err == nil
	}) {
		t.Fatalf("no answer to the authorization request: %v", err)
	}
	data := res.Data
	if f.curve != nil {
		if bytes.HasPrefix(data, []byte("eyJ")) {
			t.Fatal("the answer to an encrypted request is not sealed")
		}
		if data, err = f.curve.Open(data, f.serviceCurve); err != nil {
			t.Fatalf("open the answer: %v", err)
		}
	}
	answer, err := jwt.DecodeAuthorizationResponseClaims(string(data))
	if err != nil {
		t.Fatalf("decode the answer: %v", err)
	}
	return user, answer
}

// The answer to a verified caller is the authorization response the server
// checks: for the user key it chose, to its id, signed by the issuer key,
// carrying a user JWT of that key in the account with the policy's rights
// and lifetime; the answer to a refused one carries the refusal's code and
// no JWT. Sealed when the request was.
func TestCalloutAnswers(t *testing.T) {
	t.Parallel()
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			t.Parallel()
			f, gp := newFakeServer(t, encrypted, map[string]string{"NATS_TOKEN_TTL": "5m"})
			before := time.Now()
			user, answer := f.ask(t, "192.0.2.7", gp.IDP.Token(t, "alice", "org_a", "viewer", time.Hour))
			switch {
			case answer.Subject != user, answer.Audience != f.id, answer.Issuer != f.issuer:
				t.Fatalf("answer sub %s aud %s iss %s, want %s, %s, %s", answer.Subject, answer.Audience, answer.Issuer, user, f.id, f.issuer)
			case answer.Error != "" || answer.Jwt == "":
				t.Fatalf("answer error %q, jwt %q: want a JWT", answer.Error, answer.Jwt)
			}
			if logs := gp.Logs(); !strings.Contains(logs, `"request_id":"`+user+`"`) || !strings.Contains(logs, `"result":"issued"`) {
				t.Errorf("no log line names the connect by its user key, with its result:\n%s", logs)
			}
			u, err := jwt.DecodeUserClaims(answer.Jwt)
			if err != nil {
				t.Fatal(err)
			}
			exp := time.Unix(u.Expires, 0)
			switch {
			case u.Subject != user, u.IssuerAccount != f.account, u.Name != "alice", u.BearerToken:
				t.Fatalf("user JWT sub %s account %s name %s bearer %v", u.Subject, u.IssuerAccount, u.Name, u.BearerToken)
			case exp.Before(before.Add(5*time.Minute-time.Second)) || exp.After(time.Now().Add(5*time.Minute+time.Second)):
				t.Fatalf("user JWT expires at %s, want NATS_TOKEN_TTL (5m) from now", exp)
			case len(u.Pub.Allow) != 0 || u.Resp == nil:
				// A viewer publishes replies only.
				t.Fatalf("viewer's publish rights %v, resp %v", u.Pub.Allow, u.Resp)
			case !u.Sub.Allow.Contains("org.org_a.>") || !u.Sub.Allow.Contains("_INBOX.alice.>"):
				t.Fatalf("subscribe rights %v", u.Sub.Allow)
			}

			forger := kit.NewSigningKey(t, gp.IDP.KID, 2048)
			user, answer = f.ask(t, "192.0.2.7", gp.IDP.TokenOf(t, forger, "alice", "org_a", "admin", time.Hour))
			if answer.Subject != user || answer.Audience != f.id || answer.Error != "invalid_token" || answer.Jwt != "" {
				t.Fatalf("refusal: sub %s aud %s error %q jwt %q; want invalid_token and no JWT", answer.Subject, answer.Audience, answer.Error, answer.Jwt)
			}
			_, answer = f.ask(t, "192.0.2.7", gp.IDP.Token(t, "nobody", "", "", time.Hour))
			if answer.Error != "no_organization" || answer.Jwt != "" {
				t.Fatalf("no organization: error %q jwt %q", answer.Error, answer.Jwt)
			}
		})
	}
}

// The failure budget is the client address's that the request names: once
// 192.0.2.7 has spent it, its bad tokens are refused as rate_limited while
// another address's still get invalid_token.
func TestCalloutBudgetsTheReportedClientAddress(t *testing.T) {
	t.Parallel()
	f, gp := newFakeServer(t, false, map[string]string{
		"RATE_LIMIT_AUTH_FAILURE_BURST": "1", "RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h",
	})
	forged := gp.IDP.TokenOf(t, kit.NewSigningKey(t, gp.IDP.KID, 2048), "mallory", "org_a", "admin", time.Hour)
	for i, want := range []struct{ host, code string }{
		{"192.0.2.7", "invalid_token"}, {"192.0.2.7", "rate_limited"}, {"192.0.2.8", "invalid_token"},
	} {
		if _, answer := f.ask(t, want.host, forged); answer.Error != want.code {
			t.Fatalf("request %d from %s: %q, want %q", i, want.host, answer.Error, want.code)
		}
	}
	if logs := gp.Logs(); strings.Contains(logs, forged[:strings.LastIndex(forged, ".")]) {
		t.Error("the logs hold the token")
	}
}
