// Package jwksidentity verifies callers' access tokens (WorkOS AuthKit in
// production) against the identity provider's JWKS, fetched, cached and
// refreshed by github.com/MicahParks/keyfunc/v3.
package jwksidentity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
)

// Errors of the verifier beyond the domain's. Every verification failure
// also wraps domain.ErrInvalidCredentials.
var (
	ErrForbiddenHeader  = errors.New("token header names a key source or critical extension")
	ErrKeyType          = errors.New("key set returned a key that is not an asymmetric public key")
	ErrBadAlgorithmList = errors.New("algorithm allow-list is empty or holds none or an HMAC algorithm")
	ErrNoIssuer         = errors.New("issuer is required")
	ErrNotCompact       = errors.New("token is not three canonical base64url segments")
	ErrDateOutOfRange   = errors.New("exp, nbf or iat is not a date between 1970 and 9999")
)

// KeySource returns the verification key for a parsed, not yet verified
// token; keyfunc.Keyfunc's KeyfuncCtx fits.
type KeySource interface {
	KeyfuncCtx(ctx context.Context) jwt.Keyfunc
}

// Options are the verification rules.
type Options struct {
	Issuer     string
	Audience   string // optional; when set aud must contain it
	Algorithms []string
	Leeway     time.Duration
	OrgClaim   string // default org_id
	RoleClaim  string // default role
	Now        func() time.Time
}

var _ domain.IdentityVerifier = (*Verifier)(nil)

// Verifier verifies bearer tokens strictly: the algorithm allow-list, a
// required exp, the exact issuer, the audience when configured, and only
// typed public keys from the configured key set.
type Verifier struct {
	keys      KeySource
	parser    *jwt.Parser
	orgClaim  string
	roleClaim string
}

// New returns a Verifier over keys.
func New(keys KeySource, o Options) (*Verifier, error) {
	if strings.TrimSpace(o.Issuer) == "" {
		return nil, ErrNoIssuer
	}
	if err := CheckAlgorithms(o.Algorithms); err != nil {
		return nil, err
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(o.Algorithms),
		jwt.WithIssuer(o.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithIssuedAt(),
		// One spelling per token: non-zero trailing bits in a segment's last
		// character are refused, not ignored.
		jwt.WithStrictDecoding(),
	}
	if o.Audience != "" {
		popts = append(popts, jwt.WithAudience(o.Audience))
	}
	if o.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(o.Now))
	}
	v := &Verifier{keys: keys, parser: jwt.NewParser(popts...), orgClaim: o.OrgClaim, roleClaim: o.RoleClaim}
	if v.orgClaim == "" {
		v.orgClaim = "org_id"
	}
	if v.roleClaim == "" {
		v.roleClaim = "role"
	}
	return v, nil
}

// CheckAlgorithms accepts a non-empty allow-list of asymmetric JWS
// algorithms: keys come from a public JWKS, so "none" and HMAC are refused.
func CheckAlgorithms(algs []string) error {
	if len(algs) == 0 {
		return ErrBadAlgorithmList
	}
	for _, a := range algs {
		switch a {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		default:
			return fmt.Errorf("%w: %q", ErrBadAlgorithmList, a)
		}
	}
	return nil
}

// forbiddenHeaders may point a verifier at an attacker's key or demand
// semantics this verifier does not implement.
var forbiddenHeaders = []string{"jku", "x5u", "jwk", "x5c", "crit"}

// VerifyIdentity verifies bearer and maps its claims to a Principal.
func (v *Verifier) VerifyIdentity(ctx context.Context, bearer string) (domain.Principal, error) {
	p, _, err := v.verify(ctx, bearer)
	return p, err
}

// verify is VerifyIdentity that also returns the token's exp.
func (v *Verifier) verify(ctx context.Context, bearer string) (domain.Principal, time.Time, error) {
	if !compactAlphabet(bearer) {
		return domain.Principal{}, time.Time{}, fmt.Errorf("%w: %w", domain.ErrInvalidCredentials, ErrNotCompact)
	}
	keyfunc := v.keys.KeyfuncCtx(ctx)
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(bearer, claims, func(t *jwt.Token) (any, error) {
		for _, h := range forbiddenHeaders {
			if _, present := t.Header[h]; present {
				return nil, fmt.Errorf("%w: %s", ErrForbiddenHeader, h)
			}
		}
		key, err := keyfunc(t)
		if err != nil {
			return nil, err
		}
		switch key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			return key, nil
		default:
			return nil, ErrKeyType
		}
	})
	if err != nil {
		return domain.Principal{}, time.Time{}, fmt.Errorf("%w: %w", domain.ErrInvalidCredentials, err)
	}
	if tok == nil || !tok.Valid {
		return domain.Principal{}, time.Time{}, domain.ErrInvalidCredentials
	}
	if err := datesInRange(claims); err != nil {
		return domain.Principal{}, time.Time{}, fmt.Errorf("%w: %w", domain.ErrInvalidCredentials, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return domain.Principal{}, time.Time{}, domain.ErrInvalidCredentials
	}
	sub, _ := claims["sub"].(string)
	org, _ := claims[v.orgClaim].(string)
	role, _ := claims[v.roleClaim].(string)
	p, err := domain.NewPrincipal(sub, org, role)
	if err != nil {
		return domain.Principal{}, time.Time{}, fmt.Errorf("%w: %w", domain.ErrInvalidCredentials, err)
	}
	return p, exp.Time, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z. golang-jwt turns a NumericDate
// into a time with a float-to-int64 conversion whose result is
// platform-dependent out of range: on amd64 an nbf or iat of 1e30 became a
// date in the past and passed, on arm64 an exp of 1e30 never expires.
const maxNumericDate = 253402300799

// datesInRange refuses exp, nbf and iat outside 1970 to 9999, so that no
// time check depends on an overflow.
func datesInRange(claims jwt.MapClaims) error {
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, present := claims[name]
		if !present {
			continue
		}
		if f, ok := v.(float64); !ok || f < 0 || f > maxNumericDate {
			return fmt.Errorf("%w: %s", ErrDateOutOfRange, name)
		}
	}
	return nil
}

// compactAlphabet reports whether s holds only base64url characters and
// dots. Go's base64 decoders skip CR and LF, so without this check a token
// with line breaks in its signature would verify as the original.
func compactAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
