package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestTokenVerifyNATSAccount: `gatepass token verify --nats-account`
// accepts a user JWT gatepass signed for that account and refuses one for
// another account, an altered one, and a second key source.
func TestTokenVerifyNATSAccount(t *testing.T) {
	t.Parallel()
	account, _ := nkeys.CreateAccount()
	accountPub, _ := account.PublicKey()
	signing, _ := nkeys.CreateAccount()
	seed, _ := signing.Seed()
	other, _ := nkeys.CreateAccount()
	otherPub, _ := other.PublicKey()
	idp := kit.NewIdentityProvider(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	gp := inproc.Serve(t, kit.ProductionEnv(idp, keyPEM, map[string]string{
		"NATS_URL": "tls://nats.example:4222", "NATS_ACCOUNT": accountPub, "NATS_ACCOUNT_SIGNING_KEY": string(seed),
	}))
	r := kit.Post(t, gp.URL+"/api/v1/nats/token", kit.Bearer(idp.Token(t, "user_1", "org_1", "member", time.Hour)))
	userJWT, _ := r.JSON(t)["user_jwt"].(string)
	if r.Status != 201 || userJWT == "" {
		t.Fatalf("grant %s", r)
	}
	out, stderr, err := kit.Run(t, nil, "token", "verify", "--nats-account", accountPub, userJWT)
	if err != nil || !strings.Contains("\n"+stderr, "\nVALID\n") || !strings.Contains(out, `"issuer_account"`) {
		t.Fatalf("refused: %s\n%s", kit.ExitError(err, stderr), out)
	}
	altered := userJWT[:len(userJWT)-3] + "AAA"
	for name, args := range map[string][]string{
		"another account":       {"--nats-account", otherPub, userJWT},
		"an altered JWT":        {"--nats-account", accountPub, altered},
		"a malformed key":       {"--nats-account", "Anot-a-key", userJWT},
		"two key sources":       {"--nats-account", accountPub, "--jwks", "https://example.com/jwks", userJWT},
		"a seed as the account": {"--nats-account", string(seed), userJWT},
	} {
		if _, stderr, err := kit.Run(t, nil, append([]string{"token", "verify"}, args...)...); err == nil {
			t.Errorf("%s: accepted: %s", name, stderr)
		}
	}
}
