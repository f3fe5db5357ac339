// Package signerkinds holds the grant kinds whose tokens the signer
// conformance suite (adapters/signertest) checks through each signing
// backend, so that the suite itself names no transport and every backend's
// test passes the same kinds.
package signerkinds

import (
	"context"
	"errors"
	"testing"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/signertest"
	"github.com/gatepass/gatepass/domain"
)

// Centrifugo is a signertest.Kind: Centrifugo's two kinds of token, signed through the
// office signer, for the conformance suite's golang-jwt reference test:
// the claims as Centrifugo reads them (no nbf), with strings that JSON
// must escape. Centrifugo's signer refuses the algorithms Centrifugo
// cannot verify.
func Centrifugo(t *testing.T, office *jwtsigner.OfficeSigner, reg domain.Registered) []signertest.Reference {
	cs, err := jwtsigner.NewCentrifugoSigner(office)
	if jwtsigner.CentrifugoVerifies(office.Algorithm()) != nil {
		if !errors.Is(err, jwtsigner.ErrCentrifugoAlgorithm) {
			t.Fatalf("NewCentrifugoSigner(%s): %v, want %v", office.Algorithm(), err, jwtsigner.ErrCentrifugoAlgorithm)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("NewCentrifugoSigner(%s): %v", office.Algorithm(), err)
	}
	type info struct {
		OrgID string `json:"orgId"`
		Role  string `json:"role"`
	}
	type connection struct {
		signertest.Registered
		Info     info     `json:"info"`
		Channels []string `json:"channels,omitempty"`
	}
	type subscription struct {
		signertest.Registered
		Channel string `json:"channel"`
		Info    info   `json:"info"`
	}
	ctx := context.Background()
	conn := domain.CentrifugoConnectionClaims{Registered: reg, Info: domain.CentrifugoInfo{OrgID: "org_01", Role: "<member>"},
		Channels: []string{"org:org_01", "user:user_<01>"}}
	sub := domain.CentrifugoSubscriptionClaims{Registered: reg, Channel: "org:org_01&x", Info: domain.CentrifugoInfo{OrgID: "org_01", Role: "admin"}}
	connToken, err := cs.SignCentrifugoConnection(ctx, conn)
	if err != nil {
		t.Fatalf("centrifugo connection: %v", err)
	}
	subToken, err := cs.SignCentrifugoSubscription(ctx, sub)
	if err != nil {
		t.Fatalf("centrifugo subscription: %v", err)
	}
	return []signertest.Reference{
		{Name: "centrifugo connection", Token: connToken,
			Claims: connection{Registered: signertest.RegisteredOf(reg, false), Info: info(conn.Info), Channels: conn.Channels}},
		{Name: "centrifugo subscription", Token: subToken,
			Claims: subscription{Registered: signertest.RegisteredOf(reg, false), Channel: sub.Channel, Info: info(sub.Info)}},
	}
}
