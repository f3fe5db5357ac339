package natscallout_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/adapters/natscallout"
	"github.com/gatepass/gatepass/domain"
)

func seedOf(t *testing.T, create func() (nkeys.KeyPair, error)) []byte {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), s...)
}

func credsFile(t *testing.T) string {
	t.Helper()
	account, _ := nkeys.CreateAccount()
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	token, err := jwt.NewUserClaims(pub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	b, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "service.creds")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	creds := credsFile(t)
	notCreds := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(notCreds, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	account := seedOf(t, nkeys.CreateAccount)
	user := seedOf(t, nkeys.CreateUser)
	curve := seedOf(t, nkeys.CreateCurveKeys)
	seedOnly := filepath.Join(t.TempDir(), "seed.creds")
	if err := os.WriteFile(seedOnly, user, 0o600); err != nil {
		t.Fatal(err)
	}
	good := natscallout.Settings{URL: "nats://127.0.0.1:4222", CredsFile: creds, IssuerSeed: account}
	tests := []struct {
		name      string
		edit      func(*natscallout.Settings)
		wantErr   error
		wantField string
		encrypted bool
	}{
		{name: "plain", edit: func(*natscallout.Settings) {}},
		{name: "encrypted", edit: func(s *natscallout.Settings) { s.XKeySeed = curve }, encrypted: true},
		{name: "tls and loopback servers", edit: func(s *natscallout.Settings) { s.URL = "tls://nats.example.com:4222, nats://localhost:4222" }},
		{name: "no URL", edit: func(s *natscallout.Settings) { s.URL = "" }, wantErr: natscallout.ErrURL, wantField: "URL"},
		{name: "plain nats to a remote host", edit: func(s *natscallout.Settings) { s.URL = "nats://nats.example.com:4222" }, wantErr: natscallout.ErrURL, wantField: "URL"},
		{name: "credentials in the URL", edit: func(s *natscallout.Settings) { s.URL = "tls://a:b@nats.example.com" }, wantErr: natscallout.ErrURL, wantField: "URL"},
		{name: "no creds file", edit: func(s *natscallout.Settings) { s.CredsFile = "" }, wantErr: natscallout.ErrCreds, wantField: "CredsFile"},
		{name: "missing creds file", edit: func(s *natscallout.Settings) { s.CredsFile = creds + ".gone" }, wantErr: natscallout.ErrCreds, wantField: "CredsFile"},
		{name: "not a creds file", edit: func(s *natscallout.Settings) { s.CredsFile = notCreds }, wantErr: natscallout.ErrCreds, wantField: "CredsFile"},
		{name: "a seed without its JWT", edit: func(s *natscallout.Settings) { s.CredsFile = seedOnly }, wantErr: natscallout.ErrCreds, wantField: "CredsFile"},
		{name: "no issuer", edit: func(s *natscallout.Settings) { s.IssuerSeed = nil }, wantErr: natscallout.ErrIssuerKey, wantField: "IssuerKey"},
		{name: "a user seed as issuer", edit: func(s *natscallout.Settings) { s.IssuerSeed = user }, wantErr: natscallout.ErrIssuerKey, wantField: "IssuerKey"},
		{name: "a curve seed as issuer", edit: func(s *natscallout.Settings) { s.IssuerSeed = curve }, wantErr: natscallout.ErrIssuerKey, wantField: "IssuerKey"},
		{name: "an account seed as xkey", edit: func(s *natscallout.Settings) { s.XKeySeed = account }, wantErr: natscallout.ErrXKey, wantField: "XKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := good
			tt.edit(&s)
			c, err := natscallout.NewConfig(s)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				var se *domain.SettingError
				if !errors.As(err, &se) || se.Field != tt.wantField {
					t.Fatalf("err = %v, want a setting error of %s", err, tt.wantField)
				}
				for _, secret := range [][]byte{account, user, curve} {
					if strings.Contains(err.Error(), string(secret)) {
						t.Fatalf("the error quotes a seed: %v", err)
					}
				}
				return
			}
			if c.Encrypted() != tt.encrypted {
				t.Fatalf("Encrypted() = %v, want %v", c.Encrypted(), tt.encrypted)
			}
		})
	}
}
