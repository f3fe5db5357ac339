package natsjwt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/adapters/natsjwt"
	"github.com/gatepass/gatepass/domain"
)

// keyStore is a GrantKeyStore that keeps what it is given, failing once
// its context is done.
type keyStore struct{ kept []domain.GrantKey }

func (s *keyStore) RecordGrantKey(ctx context.Context, tr domain.Transport, k domain.GrantKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tr == domain.TransportNATS {
		s.kept = append(s.kept, k)
	}
	return nil
}

func (s *keyStore) GrantKeys(context.Context, domain.Transport, string, string) ([]string, error) {
	return nil, errors.New("not asked")
}

// TestRecordingKeepsTheKeyBeforeSigning: the user key is kept by user and
// organization until the JWT's expiry; a key that cannot be kept fails
// the signature, and nothing is signed.
func TestRecordingKeepsTheKeyBeforeSigning(t *testing.T) {
	store := &keyStore{}
	signed := 0
	sign := natsjwt.Recording(store, func(context.Context, domain.NATSUserClaims) (string, error) {
		signed++
		return "jwt", nil
	})
	c := domain.NATSUserClaims{Name: "user_a", OrgID: "org_1"}
	c.Subject, c.ExpiresAt = "UKEY", time.Now().Add(time.Minute)
	if tok, err := sign(context.Background(), c); err != nil || tok != "jwt" {
		t.Fatalf("sign = %q, %v", tok, err)
	}
	want := domain.GrantKey{UserID: "user_a", OrgID: "org_1", Key: "UKEY", ExpiresAt: c.ExpiresAt}
	if len(store.kept) != 1 || store.kept[0] != want {
		t.Fatalf("kept %+v, want %+v", store.kept, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	signed = 0
	if _, err := sign(ctx, c); !errors.Is(err, context.Canceled) || signed != 0 {
		t.Fatalf("with the store failing: %v, signed %d times", err, signed)
	}
}

func TestCheckCreds(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	account, _ := nkeys.CreateAccount()
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	userJWT, err := jwt.NewUserClaims(pub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	userSeed, _ := user.Seed()
	accountSeed, _ := account.Seed()
	good, _ := jwt.FormatUserConfig(userJWT, userSeed)
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"a credentials file", write("good.creds", good), nil},
		{"missing", filepath.Join(dir, "missing.creds"), natsjwt.ErrCreds},
		{"a seed alone", write("seed.nk", userSeed), natsjwt.ErrCreds},
		{"a JWT alone", write("user.jwt", []byte(userJWT)), natsjwt.ErrCreds},
		{"an account seed beside the JWT", write("account.creds", append([]byte(userJWT+"\n"), accountSeed...)), natsjwt.ErrCreds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := natsjwt.CheckCreds(tt.path)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("CheckCreds = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
