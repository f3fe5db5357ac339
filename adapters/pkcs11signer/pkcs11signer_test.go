//go:build cgo

package pkcs11signer_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/adapters/pkcs11signer"
	"github.com/gatepass/gatepass/adapters/pkcs11signer/softhsmtest"
	"github.com/gatepass/gatepass/adapters/signertest"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/test/signerkinds"
)

// algorithms are those crypto11 signs with: no Ed25519.
var algorithms = []string{jwa.RS256, jwa.PS256, jwa.ES256}

const keyLabel = "office-signing"

func open(t testing.TB, cfg pkcs11signer.Config) *pkcs11signer.Signer {
	t.Helper()
	s, err := pkcs11signer.Open(cfg)
	if err != nil {
		t.Fatalf("Open(%v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	signertest.RunConformanceTests(t, func(t *testing.T, alg string) crypto.Signer {
		tok := softhsmtest.New(t)
		tok.Generate(t, alg, keyLabel)
		return open(t, tok.Config(keyLabel))
	}, algorithms, signerkinds.Centrifugo)
}

// TestSameTokenAsGoSigner imports a Go key into the token: RS256 (PKCS#1
// v1.5) is deterministic, so the token's grant must be byte-identical to
// the Go signer's.
func TestSameTokenAsGoSigner(t *testing.T) {
	key, err := gosigner.Generate(jwa.RS256)
	if err != nil {
		t.Fatal(err)
	}
	tok := softhsmtest.New(t)
	tok.Import(t, key, keyLabel)
	hsm := open(t, tok.Config(keyLabel))

	want := signertest.SignFixed(t, key, jwa.RS256)
	if got := signertest.SignFixed(t, hsm, jwa.RS256); got != want {
		t.Errorf("PKCS#11 token differs from Go's:\n got %s\nwant %s", got, want)
	}
}

func TestImportedECKey(t *testing.T) {
	key, err := gosigner.Generate(jwa.ES256)
	if err != nil {
		t.Fatal(err)
	}
	tok := softhsmtest.New(t)
	tok.Import(t, key, keyLabel)
	hsm := open(t, tok.Config(keyLabel))
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if !hsm.Public().(equaler).Equal(key.Public()) {
		t.Error("the token's public key is not the imported key's")
	}
}

func TestOpenErrors(t *testing.T) {
	tok := softhsmtest.New(t)
	tok.Generate(t, jwa.ES256, keyLabel)
	tok.Generate(t, jwa.RS256, "twin")
	tok.Generate(t, jwa.ES256, "twin")
	good := tok.Config(keyLabel)
	with := func(change func(*pkcs11signer.Config)) pkcs11signer.Config {
		c := good
		change(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     pkcs11signer.Config
		wantErr error
	}{
		{"no module", with(func(c *pkcs11signer.Config) { c.Module = "" }), pkcs11signer.ErrConfig},
		{"no token label", with(func(c *pkcs11signer.Config) { c.TokenLabel = "" }), pkcs11signer.ErrConfig},
		{"no PIN", with(func(c *pkcs11signer.Config) { c.PIN = "" }), pkcs11signer.ErrConfig},
		{"no key label", with(func(c *pkcs11signer.Config) { c.KeyLabel = "" }), pkcs11signer.ErrConfig},
		{"module does not exist", with(func(c *pkcs11signer.Config) { c.Module = t.TempDir() + "/missing.so" }), pkcs11signer.ErrToken},
		{"unknown token", with(func(c *pkcs11signer.Config) { c.TokenLabel = "no-such-token" }), pkcs11signer.ErrToken},
		{"wrong PIN", with(func(c *pkcs11signer.Config) { c.PIN = "9999" }), pkcs11signer.ErrToken},
		{"unknown key", with(func(c *pkcs11signer.Config) { c.KeyLabel = "no-such-key" }), pkcs11signer.ErrKeyNotFound},
		{"two keys with the label", with(func(c *pkcs11signer.Config) { c.KeyLabel = "twin" }), pkcs11signer.ErrKeyNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := pkcs11signer.Open(tt.cfg)
			if err == nil {
				_ = s.Close()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open() err = %v, want %v", err, tt.wantErr)
			}
			if tt.cfg.PIN != "" && strings.Contains(err.Error(), tt.cfg.PIN) {
				t.Errorf("error quotes the PIN: %v", err)
			}
		})
	}
	// And the token is still usable after all that.
	open(t, good)
}

func TestCloseTwiceAndSignAfterClose(t *testing.T) {
	tok := softhsmtest.New(t)
	tok.Generate(t, jwa.ES256, keyLabel)
	s, err := pkcs11signer.Open(tok.Config(keyLabel))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	digest := sha256.Sum256([]byte("message"))
	if _, err := s.Sign(nil, digest[:], crypto.SHA256); err == nil {
		t.Error("Sign after Close succeeded")
	}
}

func TestConfigNeverPrintsPIN(t *testing.T) {
	cfg := pkcs11signer.Config{Module: "/lib/x.so", TokenLabel: "tok", PIN: "s3cret-pin", KeyLabel: "key"}
	if s := cfg.String(); strings.Contains(s, cfg.PIN) || !strings.Contains(s, "masked") {
		t.Errorf("String() = %q", s)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("signer", "pkcs11", cfg)
	if out := buf.String(); strings.Contains(out, cfg.PIN) || !strings.Contains(out, `"pin_set":true`) {
		t.Errorf("JSON log = %s", out)
	}
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			tok := softhsmtest.New(b)
			tok.Generate(b, alg, keyLabel)
			s := open(b, tok.Config(keyLabel))
			signertest.BenchmarkSign(b, s, alg)
		})
	}
}
