// Package jwksidentity verifies callers' access tokens (WorkOS AuthKit in
// production) against the identity provider's JWKS. Tokens are parsed and
// checked by github.com/golang-jwt/jwt/v5, keys are parsed by
// github.com/MicahParks/jwkset and selected by github.com/MicahParks/keyfunc/v3;
// fetching, filtering and refreshing the provider's key set is this
// package's (see RemoteKeys).
package jwksidentity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
)

// Errors of the verifier beyond the domain's. Every verification failure
// wraps a *domain.CredentialError, and so domain.ErrInvalidCredentials.
var (
	ErrForbiddenHeader  = errors.New("token header names a key source or critical extension")
	ErrTokenType        = errors.New("token header typ is not that of an access token")
	ErrKeyType          = errors.New("key set returned a key that is not an asymmetric public key")
	ErrWeakKey          = errors.New("key is too weak to verify signatures")
	ErrBadAlgorithmList = errors.New("algorithm allow-list is empty or holds none or an HMAC algorithm")
	ErrNoIssuer         = errors.New("issuer is required")
	ErrAudienceConflict = errors.New("an audience is configured and tokens are said to carry none")
	ErrNotCompact       = errors.New("token is not three canonical base64url segments")
	ErrDateOutOfRange   = errors.New("exp, nbf or iat is not a date between 1970 and 9999")
	ErrUnexpectedAud    = errors.New("token carries an aud, and the provider's access tokens carry none")
	ErrClaimType        = errors.New("claim has the wrong JSON type")
	ErrShortSecret      = errors.New("HMAC secret is shorter than 32 bytes")
)

// KeySource returns the verification key for a parsed, not yet verified
// token; keyfunc.Keyfunc's KeyfuncCtx fits.
type KeySource interface {
	KeyfuncCtx(ctx context.Context) jwt.Keyfunc
}

// Options are the verification rules.
type Options struct {
	Issuer string
	// Audience, when set, must be in the token's aud.
	Audience string
	// NoAudience says the provider's access tokens carry no aud (WorkOS
	// AuthKit's without a configured audience): a token that carries one
	// was minted for something else and is refused. It excludes Audience.
	// With neither set, aud is not checked.
	NoAudience bool
	Algorithms []string
	Leeway     time.Duration
	OrgClaim   string // default org_id
	RoleClaim  string // default role
	// PermissionsClaim names the caller's permissions, an array of
	// strings (WorkOS's permissions); absent means none. Default
	// permissions.
	PermissionsClaim string
	Now              func() time.Time
}

var _ domain.IdentityVerifier = (*Verifier)(nil)

// Verifier verifies bearer tokens strictly: the algorithm allow-list, no
// header that names another key or a critical extension, an access token's
// typ when there is one, a required exp, the exact issuer, the audience
// rule, only typed public keys from the configured key set, and identity
// claims of the right type and spelling.
type Verifier struct {
	keys       KeySource
	parser     *jwt.Parser
	algorithms []string
	noAudience bool
	orgClaim   string
	roleClaim  string
	permsClaim string
	// checkKey refuses keys of the wrong kind for this verifier.
	checkKey func(any) error
}

// New returns a Verifier over keys.
func New(keys KeySource, o Options) (*Verifier, error) {
	if err := CheckAlgorithms(o.Algorithms); err != nil {
		return nil, err
	}
	return newVerifier(keys, o, checkPublicKey)
}

// NewWithSecret returns a Verifier of HMAC-signed tokens (HS256, HS384,
// HS512) under secret, with every other rule of New. It exists for
// operators checking gatepass's own Supabase Realtime tokens; the service
// never verifies a caller's token with a shared secret.
func NewWithSecret(secret []byte, o Options) (*Verifier, error) {
	if len(secret) < 32 {
		return nil, ErrShortSecret
	}
	if len(o.Algorithms) == 0 {
		return nil, ErrBadAlgorithmList
	}
	for _, a := range o.Algorithms {
		if a != "HS256" && a != "HS384" && a != "HS512" {
			return nil, fmt.Errorf("%w: %q is not an HMAC algorithm", ErrBadAlgorithmList, a)
		}
	}
	keys := keyFunc(func(*jwt.Token) (any, error) { return secret, nil })
	return newVerifier(keys, o, func(k any) error {
		if _, ok := k.([]byte); !ok {
			return ErrKeyType
		}
		return nil
	})
}

// keyFunc is a KeySource of one jwt.Keyfunc.
type keyFunc jwt.Keyfunc

func (f keyFunc) KeyfuncCtx(context.Context) jwt.Keyfunc { return jwt.Keyfunc(f) }

func newVerifier(keys KeySource, o Options, checkKey func(any) error) (*Verifier, error) {
	if strings.TrimSpace(o.Issuer) == "" {
		return nil, ErrNoIssuer
	}
	if o.Audience != "" && o.NoAudience {
		return nil, ErrAudienceConflict
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
	v := &Verifier{keys: keys, parser: jwt.NewParser(popts...), algorithms: slices.Clone(o.Algorithms),
		noAudience: o.NoAudience, orgClaim: o.OrgClaim, roleClaim: o.RoleClaim, permsClaim: o.PermissionsClaim, checkKey: checkKey}
	if v.permsClaim == "" {
		v.permsClaim = "permissions"
	}
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

// minRSABits is the smallest RSA modulus trusted to verify a signature.
const minRSABits = 2048

// checkPublicKey accepts the asymmetric public keys a JWKS may hold, RSA
// ones only from 2048 bits.
func checkPublicKey(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("%w: RSA key of %d bits", ErrWeakKey, k.N.BitLen())
		}
		return nil
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return nil
	default:
		return ErrKeyType
	}
}

// forbiddenHeaders may point a verifier at an attacker's key or demand
// semantics this verifier does not implement.
var forbiddenHeaders = []string{"jku", "x5u", "jwk", "x5c", "crit"}

// accessTokenTypes are the typ values of an access token (RFC 9068 and
// plain JWT), compared case-insensitively. Any other typ (logout+jwt, an ID
// token's, a DPoP proof's) marks a token minted for another purpose.
var accessTokenTypes = []string{"jwt", "at+jwt", "application/at+jwt"}

func checkType(header map[string]any) error {
	raw, present := header["typ"]
	if !present {
		return nil
	}
	if typ, ok := raw.(string); ok && slices.Contains(accessTokenTypes, strings.ToLower(typ)) {
		return nil
	}
	return ErrTokenType
}

// refused is the error of a refused token: a CredentialError wrapping, for
// diagnosis, the cause.
func refused(reason domain.AuthFailureReason, claim string, cause error) error {
	ce := &domain.CredentialError{Reason: reason, Claim: claim}
	if cause == nil {
		return ce
	}
	return fmt.Errorf("%w: %w", ce, cause)
}

// VerifyIdentity verifies bearer and maps its claims to a Principal. Every
// error wraps a *domain.CredentialError saying why.
func (v *Verifier) VerifyIdentity(ctx context.Context, bearer string) (domain.Principal, error) {
	p, _, err := v.verify(ctx, bearer)
	return p, err
}

// VerifyIdentityUntil is VerifyIdentity that also tells the token's exp,
// so grants can be bound by it.
func (v *Verifier) VerifyIdentityUntil(ctx context.Context, bearer string) (domain.Principal, time.Time, error) {
	return v.verify(ctx, bearer)
}

var _ domain.ExpiringIdentityVerifier = (*Verifier)(nil)

// verify is VerifyIdentity that also returns the token's exp.
func (v *Verifier) verify(ctx context.Context, bearer string) (domain.Principal, time.Time, error) {
	if !compactAlphabet(bearer) {
		return domain.Principal{}, time.Time{}, refused(domain.ReasonMalformed, "", ErrNotCompact)
	}
	keyfunc := v.keys.KeyfuncCtx(ctx)
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(bearer, claims, func(t *jwt.Token) (any, error) {
		for _, h := range forbiddenHeaders {
			if _, present := t.Header[h]; present {
				return nil, refused(domain.ReasonForbiddenHeader, h, ErrForbiddenHeader)
			}
		}
		if err := checkType(t.Header); err != nil {
			return nil, refused(domain.ReasonWrongType, "typ", err)
		}
		key, err := keyfunc(t)
		if err != nil {
			return nil, keyError(err)
		}
		if err := v.checkKey(key); err != nil {
			return nil, refused(domain.ReasonUnknownKey, "kid", err)
		}
		return key, nil
	})
	if err != nil {
		return domain.Principal{}, time.Time{}, v.classify(tok, claims, err)
	}
	if tok == nil || !tok.Valid {
		return domain.Principal{}, time.Time{}, refused(domain.ReasonMalformed, "", nil)
	}
	if _, present := claims["aud"]; present && v.noAudience {
		return domain.Principal{}, time.Time{}, refused(domain.ReasonWrongAudience, "aud", ErrUnexpectedAud)
	}
	if name, err := datesInRange(claims); err != nil {
		return domain.Principal{}, time.Time{}, refused(domain.ReasonMalformedClaim, name, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return domain.Principal{}, time.Time{}, refused(domain.ReasonMissingClaim, "exp", err)
	}
	p, err := v.principal(claims)
	if err != nil {
		return domain.Principal{}, time.Time{}, err
	}
	return p, exp.Time, nil
}

// principal maps the identity claims to a Principal. A claim of the wrong
// JSON type, empty, or spelled with white space or control characters is
// refused, never trimmed nor defaulted; only an absent role defaults.
func (v *Verifier) principal(claims jwt.MapClaims) (domain.Principal, error) {
	values := map[string]string{}
	for _, name := range []string{"sub", v.orgClaim, v.roleClaim} {
		raw, present := claims[name]
		if !present {
			if name == "sub" {
				return domain.Principal{}, refused(domain.ReasonMissingClaim, name, nil)
			}
			continue
		}
		s, ok := raw.(string)
		if !ok || s == "" {
			return domain.Principal{}, refused(domain.ReasonMalformedClaim, name, ErrClaimType)
		}
		if err := domain.CheckIdentifier(s); err != nil {
			return domain.Principal{}, refused(domain.ReasonMalformedClaim, name, err)
		}
		values[name] = s
	}
	p, err := domain.NewPrincipal(values["sub"], values[v.orgClaim], values[v.roleClaim])
	if err != nil {
		return domain.Principal{}, refused(domain.ReasonMalformedClaim, "", err)
	}
	if p.Permissions, err = v.permissions(claims); err != nil {
		return domain.Principal{}, err
	}
	// iat and sid are what a revocation is compared with: an identity
	// without iat matches every revocation of its user.
	if iat, err := claims.GetIssuedAt(); err == nil && iat != nil {
		p.IssuedAt = iat.Time
	}
	if raw, present := claims["sid"]; present {
		sid, ok := raw.(string)
		if !ok || sid == "" {
			return domain.Principal{}, refused(domain.ReasonMalformedClaim, "sid", ErrClaimType)
		}
		if err := domain.CheckIdentifier(sid); err != nil {
			return domain.Principal{}, refused(domain.ReasonMalformedClaim, "sid", err)
		}
		p.SessionID = sid
	}
	return p, nil
}

// permissions reads the permissions claim: absent or null is none; an
// array of strings is the set; anything else is refused.
func (v *Verifier) permissions(claims jwt.MapClaims) (domain.Permissions, error) {
	raw, present := claims[v.permsClaim]
	if !present || raw == nil {
		return domain.Permissions{}, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return domain.Permissions{}, refused(domain.ReasonMalformedClaim, v.permsClaim, ErrClaimType)
	}
	names := make([]string, len(list))
	for i, item := range list {
		if names[i], ok = item.(string); !ok {
			return domain.Permissions{}, refused(domain.ReasonMalformedClaim, v.permsClaim, ErrClaimType)
		}
	}
	perms, err := domain.NewPermissions(names)
	if err != nil {
		return domain.Permissions{}, refused(domain.ReasonMalformedClaim, v.permsClaim, err)
	}
	return perms, nil
}

// keyError classifies a key source's failure.
func keyError(err error) error {
	var ce *domain.CredentialError
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, ErrKeysNotLoaded):
		return refused(domain.ReasonKeysUnavailable, "", err)
	default:
		return refused(domain.ReasonUnknownKey, "kid", err)
	}
}

// classify turns the parser's error into a refusal that says why.
func (v *Verifier) classify(tok *jwt.Token, claims jwt.MapClaims, err error) error {
	var ce *domain.CredentialError
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refused(domain.ReasonMalformed, "", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The only way here without a key source's error: no alg, or one
		// golang-jwt does not know ("NONE").
		return refused(domain.ReasonAlgorithmNotAllowed, "alg", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok == nil || tok.Method == nil || !slices.Contains(v.algorithms, tok.Method.Alg()) {
			return refused(domain.ReasonAlgorithmNotAllowed, "alg", err)
		}
		return refused(domain.ReasonBadSignature, "", err)
	case errors.Is(err, jwt.ErrInvalidType):
		return refused(domain.ReasonMalformedClaim, mistypedClaim(claims), err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refused(domain.ReasonMissingClaim, missingClaim(claims), err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return refused(domain.ReasonExpired, "exp", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refused(domain.ReasonNotYetValid, "nbf", err)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refused(domain.ReasonIssuedInFuture, "iat", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return refused(domain.ReasonWrongIssuer, "iss", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return refused(domain.ReasonWrongAudience, "aud", err)
	default:
		return refused(domain.ReasonMalformed, "", err)
	}
}

// mistypedClaim names the first registered claim of the wrong JSON type.
func mistypedClaim(claims jwt.MapClaims) string {
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := claims[name]; ok {
			if _, num := v.(float64); !num {
				return name
			}
		}
	}
	for _, name := range []string{"iss", "sub"} {
		if v, ok := claims[name]; ok {
			if _, str := v.(string); !str {
				return name
			}
		}
	}
	return "aud"
}

// missingClaim names the first required registered claim that is absent.
func missingClaim(claims jwt.MapClaims) string {
	for _, name := range []string{"exp", "iss"} {
		if v, ok := claims[name]; !ok || v == float64(0) || v == "" {
			return name
		}
	}
	return "aud"
}

// maxNumericDate is 9999-12-31T23:59:59Z. golang-jwt turns a NumericDate
// into a time with a float-to-int64 conversion whose result is
// platform-dependent out of range: on amd64 an nbf or iat of 1e30 became a
// date in the past and passed, on arm64 an exp of 1e30 never expires.
const maxNumericDate = 253402300799

// datesInRange refuses exp, nbf and iat outside 1970 to 9999, so that no
// time check depends on an overflow; it names the claim at fault.
func datesInRange(claims jwt.MapClaims) (string, error) {
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, present := claims[name]
		if !present {
			continue
		}
		if f, ok := v.(float64); !ok || f < 0 || f > maxNumericDate {
			return name, fmt.Errorf("%w: %s", ErrDateOutOfRange, name)
		}
	}
	return "", nil
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
