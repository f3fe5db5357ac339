package jwtsigner

import (
	"context"
	"crypto"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/jwks"
)

var _ domain.OfficeSigner = (*OfficeSigner)(nil)

// OfficeSigner signs office-router grants with an asymmetric key.
type OfficeSigner struct {
	key    crypto.Signer
	method *cryptoSignerMethod
	kid    string
}

// NewOfficeSigner returns a signer for alg with key. The key id stamped on
// every token is the RFC 7638 thumbprint of the key's public half. A key
// that does not fit alg (jwa.KeyMatches) is refused: it would sign under a
// false alg header.
func NewOfficeSigner(key crypto.Signer, alg string) (*OfficeSigner, error) {
	method, err := methodFor(alg)
	if err != nil {
		return nil, err
	}
	if err := jwa.KeyMatches(method.Alg(), key.Public()); err != nil {
		return nil, fmt.Errorf("office signer: %w", err)
	}
	kid, err := jwks.Thumbprint(key.Public())
	if err != nil {
		return nil, fmt.Errorf("office signer key id: %w", err)
	}
	return &OfficeSigner{key: key, method: method, kid: kid}, nil
}

// KeyID is the kid header of the tokens this signer makes.
func (s *OfficeSigner) KeyID() string { return s.kid }

// Algorithm is the alg header of the tokens this signer makes.
func (s *OfficeSigner) Algorithm() string { return s.method.Alg() }

// Public is the verification key of this signer's tokens.
func (s *OfficeSigner) Public() crypto.PublicKey { return s.key.Public() }

// SignOffice signs c as a JWT with the office-router claim names.
func (s *OfficeSigner) SignOffice(_ context.Context, c domain.OfficeClaims) (string, error) {
	return s.sign(officeJWT{
		registeredJWT: fromRegistered(c.Registered),
		UserID:        c.UserID,
		OrgID:         c.OrgID,
		Role:          c.Role,
	})
}

// sign signs claims as every kind verified with the office key is signed:
// by golang-jwt, with the key's algorithm and its kid in the header.
func (s *OfficeSigner) sign(claims jwt.Claims) (string, error) {
	tok := jwt.NewWithClaims(s.method, claims)
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", s.method.Alg(), err)
	}
	return signed, nil
}

// SelfTest signs a probe token and verifies it with the public key, so a
// signer that cannot sign (a locked token, a broken library) is found at
// start rather than by the first caller.
func (s *OfficeSigner) SelfTest(ctx context.Context) error {
	now := time.Now().Truncate(time.Second)
	tok, err := s.SignOffice(ctx, domain.OfficeClaims{
		Registered: domain.Registered{Issuer: "gatepass-self-test", Subject: "self-test", Audience: "self-test", ID: "self-test",
			IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute)},
		UserID: "self-test", OrgID: "self-test", Role: "self-test",
	})
	if err != nil {
		return err
	}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{s.method.Alg()})).Parse(tok, func(*jwt.Token) (any, error) { return s.key.Public(), nil })
	return err
}
