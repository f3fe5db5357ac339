package natsjwt_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/adapters/natsjwt"
	"github.com/gatepass/gatepass/domain"
)

func keys(t *testing.T) (account string, signingSeed []byte, user nkeys.KeyPair) {
	t.Helper()
	a, _ := nkeys.CreateAccount()
	account, _ = a.PublicKey()
	s, _ := nkeys.CreateAccount()
	signingSeed, _ = s.Seed()
	user, _ = nkeys.CreateUser()
	return account, signingSeed, user
}

func TestNewSignerRefusesKeysOfTheWrongKind(t *testing.T) {
	account, seed, user := keys(t)
	userSeed, _ := user.Seed()
	userPub, _ := user.PublicKey()
	op, _ := nkeys.CreateOperator()
	opSeed, _ := op.Seed()
	tests := []struct {
		name    string
		account string
		seed    []byte
		wantErr []error
	}{
		{"account and account seed", account, seed, nil},
		{"a user seed", account, userSeed, []error{natsjwt.ErrAccountSeed}},
		{"an operator seed", account, opSeed, []error{natsjwt.ErrAccountSeed}},
		{"not a seed", account, []byte("SAnot-a-seed"), []error{natsjwt.ErrAccountSeed}},
		{"a user key as the account", userPub, seed, []error{natsjwt.ErrAccountKey}},
		{"an account key with a character more", account + "A", seed, []error{natsjwt.ErrAccountKey}},
		{"both wrong", "A", userSeed, []error{natsjwt.ErrAccountKey, natsjwt.ErrAccountSeed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := natsjwt.NewSigner(tt.account, tt.seed)
			if (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
		})
	}
}

func TestSignNATSUserIsReadByTheLibrary(t *testing.T) {
	account, seed, user := keys(t)
	s, err := natsjwt.NewSigner(account, seed)
	if err != nil {
		t.Fatal(err)
	}
	userPub, _ := user.PublicKey()
	caller := domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "Viewer"}
	perms := domain.NATSPermissions{Subscribe: []string{"org.org_1.>", "_INBOX.user_1.>"}, Respond: true}
	now := time.Now()
	c, err := domain.NewNATSUserClaims(caller, userPub, false, account, perms, domain.Issuance{Issuer: s.SigningKey(), ID: "x", Now: now, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.SignNATSUser(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	uc, err := jwt.DecodeUserClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	if uc.Issuer != s.SigningKey() || uc.Subject != userPub || uc.Name != "user_1" || uc.IssuerAccount != account || uc.BearerToken ||
		uc.Expires != c.ExpiresAt.Unix() || uc.Resp == nil || uc.Resp.MaxMsgs != 1 || len(uc.Pub.Allow) != 0 ||
		!slices.Equal([]string(uc.Sub.Allow), perms.Subscribe) || !uc.Tags.Contains("role:viewer") || !uc.Tags.Contains("org:org_1") {
		t.Fatalf("user claims %s", uc)
	}
	if err := natsjwt.VerifyUser(token, account, now); err != nil {
		t.Fatalf("verify: %v", err)
	}

	other, _ := nkeys.CreateAccount()
	otherPub, _ := other.PublicKey()
	for name, check := range map[string]func() error{
		"another account":  func() error { return natsjwt.VerifyUser(token, otherPub, now) },
		"after its expiry": func() error { return natsjwt.VerifyUser(token, account, now.Add(2*time.Hour)) },
		"an altered token": func() error { return natsjwt.VerifyUser(token[:len(token)-4]+"AAAA", account, now) },
	} {
		if err := check(); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if err := natsjwt.VerifyUser(token, "not-an-account", now); !errors.Is(err, natsjwt.ErrAccountKey) {
		t.Errorf("a malformed account: %v", err)
	}

	c.Issuer = otherPub
	if _, err := s.SignNATSUser(context.Background(), c); err == nil {
		t.Error("claims naming another signing key were signed")
	}
}

func TestUserKeys(t *testing.T) {
	var k natsjwt.UserKeys
	pub, err := k.NewUserKey()
	if err != nil || k.CheckUserKey(pub) != nil {
		t.Fatalf("a fresh key %q: %v", pub, err)
	}
	again, _ := k.NewUserKey()
	if again == pub {
		t.Fatal("two fresh keys are one")
	}
	account, seed, _ := keys(t)
	for _, bad := range []string{"", " ", account, string(seed), pub[:len(pub)-1], pub + "A"} {
		if err := k.CheckUserKey(bad); !errors.Is(err, domain.ErrInvalidUserKey) {
			t.Errorf("CheckUserKey(%.8q...) = %v", bad, err)
		}
	}
}
