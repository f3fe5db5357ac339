package natscallout_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/natscallout"
)

// The harness's setup is what a callout service needs: a service that
// answers with the issuer key and a user JWT signed by the target
// account's signing key gets its client in, and one that answers with an
// error keeps it out. The service here is a few lines of the NATS
// libraries, so the harness is proven apart from gatepass.
func TestHarnessAdmitsWhatTheCalloutSigns(t *testing.T) {
	t.Parallel()
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			t.Parallel()
			s := natscallout.Start(t, natscallout.Config{Encrypted: encrypted})
			serve(t, s)
			nc := s.ConnectWhenServed(t, "let-me-in", 10*time.Second)
			if got := nc.ConnectedUrl(); got == "" {
				t.Fatal("not connected")
			}
			if _, err := s.Connect(t, "keep-me-out"); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
				t.Fatalf("refused connect: err = %v, want an authorization violation", err)
			}
		})
	}
}

// serve answers the server's callout requests: "let-me-in" gets a user of
// the target account, anything else an error.
func serve(t *testing.T, s *natscallout.Server) {
	t.Helper()
	nc, err := nats.Connect(s.URL, nats.UserCredentials(s.ServiceCreds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	issuer := keyFile(t, s.IssuerFile, nkeys.FromSeed)
	signing, err := nkeys.FromSeed([]byte(s.AccountSigningSeed))
	if err != nil {
		t.Fatal(err)
	}
	var curve nkeys.KeyPair
	if s.XKeyFile != "" {
		curve = keyFile(t, s.XKeyFile, nkeys.FromCurveSeed)
	}
	_, err = nc.Subscribe("$SYS.REQ.USER.AUTH", func(m *nats.Msg) {
		data := m.Data
		serverXKey := m.Header.Get("Nats-Server-Xkey")
		if curve != nil {
			if data, err = curve.Open(m.Data, serverXKey); err != nil {
				t.Errorf("open request: %v", err)
				return
			}
		}
		req, err := jwt.DecodeAuthorizationRequestClaims(string(data))
		if err != nil {
			t.Errorf("decode request: %v", err)
			return
		}
		res := jwt.NewAuthorizationResponseClaims(req.UserNkey)
		res.Audience = req.Server.ID
		if req.ConnectOptions.Token == "let-me-in" {
			u := jwt.NewUserClaims(req.UserNkey)
			u.IssuerAccount = s.Account
			u.Name = "someone"
			u.Expires = time.Now().Add(time.Minute).Unix()
			if res.Jwt, err = u.Encode(signing); err != nil {
				t.Errorf("encode user: %v", err)
				return
			}
		} else {
			res.Error = "not you"
		}
		out, err := res.Encode(issuer)
		if err != nil {
			t.Errorf("encode response: %v", err)
			return
		}
		answer := []byte(out)
		if curve != nil {
			if answer, err = curve.Seal(answer, serverXKey); err != nil {
				t.Errorf("seal response: %v", err)
				return
			}
		}
		if err := m.Respond(answer); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			t.Errorf("respond: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func keyFile(t *testing.T, path string, parse func([]byte) (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := parse([]byte(strings.TrimSpace(string(b))))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}
