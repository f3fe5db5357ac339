package jwtsigner

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

var _ domain.CentrifugoSigner = (*CentrifugoSigner)(nil)

// CentrifugoSigner signs Centrifugo connection and subscription tokens
// with the office-router signing key: the same key, algorithm and kid, so
// Centrifugo verifies them with gatepass's JWKS.
type CentrifugoSigner struct {
	office *OfficeSigner
}

// ErrCentrifugoAlgorithm means Centrifugo cannot verify tokens of the
// office key's algorithm.
var ErrCentrifugoAlgorithm = errors.New("centrifugo verifies RSA keys from a JWKS with PKCS#1 v1.5 (RS256) only")

// CentrifugoVerifies reports whether Centrifugo verifies tokens signed
// with alg from a JWKS: every algorithm gatepass signs with but PS256.
func CentrifugoVerifies(alg string) error {
	if alg == jwa.PS256 {
		return ErrCentrifugoAlgorithm
	}
	return nil
}

// NewCentrifugoSigner returns a signer that signs through office. It
// refuses an office key whose algorithm Centrifugo cannot verify
// (ErrCentrifugoAlgorithm): every token would be refused.
func NewCentrifugoSigner(office *OfficeSigner) (*CentrifugoSigner, error) {
	if office == nil {
		return nil, errors.New("centrifugo signer: no office signer")
	}
	if err := CentrifugoVerifies(office.Algorithm()); err != nil {
		return nil, fmt.Errorf("centrifugo signer: %s: %w", office.Algorithm(), err)
	}
	return &CentrifugoSigner{office: office}, nil
}

// SignCentrifugoConnection signs a connection token: sub, iss, aud, iat,
// exp, jti, info, and channels when there are server-side subscriptions.
func (s *CentrifugoSigner) SignCentrifugoConnection(_ context.Context, c domain.CentrifugoConnectionClaims) (string, error) {
	claims := centrifugoConnectionJWT{
		registeredJWT: centrifugoRegistered(c.Registered),
		Info:          fromCentrifugoInfo(c.Info),
		Channels:      c.Channels,
	}
	return s.office.sign(claims)
}

// SignCentrifugoSubscription signs a subscription token: sub, channel,
// iss, aud, iat, exp, jti, info.
func (s *CentrifugoSigner) SignCentrifugoSubscription(_ context.Context, c domain.CentrifugoSubscriptionClaims) (string, error) {
	claims := centrifugoSubscriptionJWT{
		registeredJWT: centrifugoRegistered(c.Registered),
		Channel:       c.Channel,
		Info:          fromCentrifugoInfo(c.Info),
	}
	return s.office.sign(claims)
}

// centrifugoRegistered leaves nbf out: Centrifugo's tokens carry none.
func centrifugoRegistered(r domain.Registered) registeredJWT {
	reg := fromRegistered(r)
	reg.Nbf = 0
	return reg
}

type centrifugoInfoJWT struct {
	OrgID string `json:"orgId"`
	Role  string `json:"role"`
}

func fromCentrifugoInfo(i domain.CentrifugoInfo) centrifugoInfoJWT {
	return centrifugoInfoJWT{OrgID: i.OrgID, Role: i.Role}
}

type centrifugoConnectionJWT struct {
	registeredJWT
	Info     centrifugoInfoJWT `json:"info"`
	Channels []string          `json:"channels,omitempty"`
}

type centrifugoSubscriptionJWT struct {
	registeredJWT
	Channel string            `json:"channel"`
	Info    centrifugoInfoJWT `json:"info"`
}
