// Package signertest is the conformance suite every office-signing backend
// runs (gosigner, opensslsigner, pkcs11signer): whatever holds the key, the
// crypto.Signer it provides must make tokens that golang-jwt verifies,
// whose kid is the key's thumbprint, whose key publishes as a JWK Set, and
// it must sign safely from many goroutines at once.
package signertest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/jwks"
)

// The claims every test and benchmark signs.
const (
	issuer   = "gatepass-conformance"
	audience = "office-router"
	userID   = "user_01"
	orgID    = "org_01"
	role     = "admin"
)

// now is fixed so expiry checks are exact.
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Concurrency of the concurrent-signing test: goroutines times signatures each.
const (
	goroutines   = 16
	perGoroutine = 8
)

// Kind is a kind of token that a signer makes over the office signer's
// key besides office grants. It signs its tokens through office with
// registered claims reg (strings that JSON must escape among them) and
// returns each with the wire form of its claims as the kind's verifier
// reads them, for golang-jwt to make the reference token from. A kind
// whose verifier cannot check office's algorithm asserts that it is
// refused and returns none.
type Kind func(t *testing.T, office *jwtsigner.OfficeSigner, reg domain.Registered) []Reference

// Reference is one token a Kind signed, with its claims as the kind's
// verifier reads them: a struct embedding Registered.
type Reference struct {
	Name   string
	Token  string
	Claims jwt.Claims
}

// RunConformanceTests runs the suite for each of algs against the key
// newSigner returns for it; the golang-jwt reference test covers office
// grants and the tokens of kinds. newSigner is called once per algorithm,
// inside that algorithm's subtest, so it may tie clean-up (closing a token
// session) to t. Subtests are not parallel, so newSigner may use t.Setenv.
func RunConformanceTests(t *testing.T, newSigner func(t *testing.T, alg string) crypto.Signer, algs []string, kinds ...Kind) {
	t.Helper()
	if len(algs) == 0 {
		t.Fatal("signertest: no algorithms to test")
	}
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			key := newSigner(t, alg)
			if key == nil {
				t.Fatalf("newSigner(%s) returned nil", alg)
			}
			tests := []struct {
				name string
				run  func(t *testing.T, key crypto.Signer, alg string)
			}{
				{"KeyMatches", testKeyMatches},
				{"SignVerify", testSignVerify},
				{"SignatureShape", testSignatureShape},
				{"KeyID", testKeyID},
				{"JWKS", testJWKS},
				{"Tampered", testTampered},
				{"WrongAlgorithm", testWrongAlgorithm},
				{"Concurrent", testConcurrent},
				{"GolangJWTReference", func(t *testing.T, key crypto.Signer, alg string) { testGolangJWTReference(t, key, alg, kinds) }},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, key, alg) })
			}
		})
	}
}

// BenchmarkSign measures SignOffice, a whole office grant, with key for
// alg. Adapters call it from their own BenchmarkSign, one sub-benchmark per
// algorithm.
func BenchmarkSign(b *testing.B, key crypto.Signer, alg string) {
	s, err := jwtsigner.NewOfficeSigner(key, alg)
	if err != nil {
		b.Fatal(err)
	}
	c := claims(b, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignOffice(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func claims(t testing.TB, id string) domain.OfficeClaims {
	t.Helper()
	p, err := domain.NewPrincipal(userID, orgID, role)
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.NewOfficeClaims(p, domain.Issuance{
		Issuer: issuer, Audience: audience, ID: id, Now: now, TTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newOfficeSigner(t *testing.T, key crypto.Signer, alg string) *jwtsigner.OfficeSigner {
	t.Helper()
	s, err := jwtsigner.NewOfficeSigner(key, alg)
	if err != nil {
		t.Fatalf("NewOfficeSigner(%s): %v", alg, err)
	}
	return s
}

func sign(t *testing.T, s *jwtsigner.OfficeSigner, id string) string {
	t.Helper()
	tok, err := s.SignOffice(context.Background(), claims(t, id))
	if err != nil {
		t.Fatalf("SignOffice: %v", err)
	}
	return tok
}

// officeClaims is how a verifier reads the grant.
type officeClaims struct {
	jwt.RegisteredClaims
	UserID string `json:"userId"`
	OrgID  string `json:"orgId"`
	Role   string `json:"role"`
}

// verify parses tok as the office-router would, accepting only alg.
func verify(tok string, pub crypto.PublicKey, alg string) (*jwt.Token, *officeClaims, error) {
	var c officeClaims
	parsed, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now.Add(time.Second) }),
	)
	return parsed, &c, err
}

func testKeyMatches(t *testing.T, key crypto.Signer, alg string) {
	if err := jwa.KeyMatches(alg, key.Public()); err != nil {
		t.Fatalf("KeyMatches(%s, %T): %v", alg, key.Public(), err)
	}
}

func testSignVerify(t *testing.T, key crypto.Signer, alg string) {
	s := newOfficeSigner(t, key, alg)
	if got := s.Algorithm(); got != alg {
		t.Errorf("Algorithm() = %q, want %q", got, alg)
	}
	tok := sign(t, s, "jti-verify")
	parsed, c, err := verify(tok, key.Public(), alg)
	if err != nil {
		t.Fatalf("verify with golang-jwt: %v", err)
	}
	if got := parsed.Header["alg"]; got != alg {
		t.Errorf("alg header = %v, want %s", got, alg)
	}
	if got := parsed.Header["typ"]; got != "JWT" {
		t.Errorf("typ header = %v, want JWT", got)
	}
	want := officeClaims{UserID: userID, OrgID: orgID, Role: role}
	if c.UserID != want.UserID || c.OrgID != want.OrgID || c.Role != want.Role {
		t.Errorf("claims userId/orgId/role = %q/%q/%q, want %q/%q/%q",
			c.UserID, c.OrgID, c.Role, want.UserID, want.OrgID, want.Role)
	}
	if c.Subject != userID || c.ID != "jti-verify" {
		t.Errorf("sub/jti = %q/%q, want %q/%q", c.Subject, c.ID, userID, "jti-verify")
	}
	if c.IssuedAt == nil || !c.IssuedAt.Equal(now) || c.ExpiresAt == nil || !c.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Errorf("iat/exp = %v/%v, want %v/%v", c.IssuedAt, c.ExpiresAt, now, now.Add(time.Minute))
	}
}

// testSignatureShape pins what golang-jwt's verification lets pass but
// other verifiers do not: the PSS salt length, and fixed-size signatures.
func testSignatureShape(t *testing.T, key crypto.Signer, alg string) {
	tok := sign(t, newOfficeSigner(t, key, alg), "jti-shape")
	signingString, sig := split(t, tok)
	switch alg {
	case jwa.RS256, jwa.PS256:
		pub := key.Public().(*rsa.PublicKey)
		if len(sig) != pub.Size() {
			t.Errorf("signature is %d bytes, want the modulus size %d", len(sig), pub.Size())
		}
		if alg == jwa.PS256 {
			// golang-jwt accepts any salt length; jose and RFC 7518 expect
			// one as long as the hash.
			digest := sha256.Sum256([]byte(signingString))
			opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
			if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, opts); err != nil {
				t.Errorf("PS256 salt is not 32 bytes: %v", err)
			}
		}
	case jwa.ES256, jwa.EdDSA:
		if len(sig) != 64 {
			t.Errorf("signature is %d bytes, want 64", len(sig))
		}
	}
}

func testKeyID(t *testing.T, key crypto.Signer, alg string) {
	want, err := jwks.Thumbprint(key.Public())
	if err != nil {
		t.Fatalf("Thumbprint: %v", err)
	}
	s := newOfficeSigner(t, key, alg)
	if got := s.KeyID(); got != want {
		t.Errorf("KeyID() = %q, want thumbprint %q", got, want)
	}
	parsed, _, err := verify(sign(t, s, "jti-kid"), key.Public(), alg)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got := parsed.Header["kid"]; got != want {
		t.Errorf("kid header = %v, want thumbprint %q", got, want)
	}
}

func testJWKS(t *testing.T, key crypto.Signer, alg string) {
	s := newOfficeSigner(t, key, alg)
	raw, err := jwks.SetJSON([]jwks.Key{{Public: s.Public(), Algorithm: alg, KID: s.KeyID()}})
	if err != nil {
		t.Fatalf("SetJSON: %v", err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWK Set is not JSON: %v", err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWK Set has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k["kid"] != s.KeyID() || k["alg"] != alg || k["use"] != "sig" {
		t.Errorf("JWK kid/alg/use = %v/%v/%v, want %s/%s/sig", k["kid"], k["alg"], k["use"], s.KeyID(), alg)
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("JWK publishes the private member %q", private)
		}
	}
}

func testTampered(t *testing.T, key crypto.Signer, alg string) {
	tok := sign(t, newOfficeSigner(t, key, alg), "jti-tamper")
	parts := strings.Split(tok, ".")

	// A claim changed after signing.
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), `"role":"`+role+`"`, `"role":"owner"`, 1)
	if forged == string(payload) {
		t.Fatal("test cannot find the role claim to forge")
	}
	claimsForged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	if _, _, err := verify(claimsForged, key.Public(), alg); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("forged claims: err = %v, want %v", err, jwt.ErrTokenSignatureInvalid)
	}

	// One bit of the signature flipped.
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	sigForged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	if _, _, err := verify(sigForged, key.Public(), alg); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("flipped signature bit: err = %v, want %v", err, jwt.ErrTokenSignatureInvalid)
	}

	// The right token, but a verifier that expects another algorithm.
	if _, _, err := verify(tok, key.Public(), otherAlgorithm(alg)); err == nil {
		t.Errorf("token verified under %s though signed with %s", otherAlgorithm(alg), alg)
	}
}

// testWrongAlgorithm checks that the key refuses to sign under an
// algorithm it does not fit, rather than making a token with a false header.
func testWrongAlgorithm(t *testing.T, key crypto.Signer, alg string) {
	wrong := map[string]string{
		jwa.RS256: jwa.ES256,
		jwa.PS256: jwa.EdDSA,
		jwa.ES256: jwa.RS256,
		jwa.EdDSA: jwa.ES256,
	}[alg]
	s, err := jwtsigner.NewOfficeSigner(key, wrong)
	if err != nil {
		// Refusing at construction is as good.
		return
	}
	if _, err := s.SignOffice(context.Background(), claims(t, "jti-wrong")); !errors.Is(err, jwa.ErrKeyMismatch) {
		t.Errorf("a key for %s signed as %s: err = %v, want %v", alg, wrong, err, jwa.ErrKeyMismatch)
	}
}

func testConcurrent(t *testing.T, key crypto.Signer, alg string) {
	s := newOfficeSigner(t, key, alg)
	work := make([][]domain.OfficeClaims, goroutines)
	for g := range work {
		for i := range perGoroutine {
			work[g] = append(work[g], claims(t, fmt.Sprintf("jti-%d-%d", g, i)))
		}
	}
	tokens := make(chan string, goroutines*perGoroutine)
	errs := make(chan error, goroutines*perGoroutine)
	var wg sync.WaitGroup
	for _, mine := range work {
		wg.Go(func() {
			for _, c := range mine {
				tok, err := s.SignOffice(context.Background(), c)
				if err != nil {
					errs <- err
					continue
				}
				tokens <- tok
			}
		})
	}
	wg.Wait()
	close(tokens)
	close(errs)
	if n := len(errs); n > 0 {
		t.Errorf("%d of %d concurrent SignOffice calls failed, first: %v", n, goroutines*perGoroutine, <-errs)
	}
	seen := map[string]bool{}
	var bad int
	for tok := range tokens {
		_, c, err := verify(tok, key.Public(), alg)
		if err != nil {
			if bad++; bad == 1 {
				t.Errorf("a concurrently signed token does not verify: %v", err)
			}
			continue
		}
		if seen[c.ID] {
			t.Errorf("jti %q seen twice", c.ID)
		}
		seen[c.ID] = true
	}
	if len(seen) != goroutines*perGoroutine {
		t.Errorf("%d tokens verified, want %d", len(seen), goroutines*perGoroutine)
	}
}

func otherAlgorithm(alg string) string {
	if alg == jwa.RS256 {
		return jwa.PS256
	}
	return jwa.RS256
}

func split(t *testing.T, tok string) (signingString string, sig []byte) {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	if i < 0 || strings.Count(tok, ".") != 2 {
		t.Fatalf("not a compact JWS: %d dots", strings.Count(tok, "."))
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatalf("signature is not base64url: %v", err)
	}
	return tok[:i], sig
}

// SignFixed signs one fixed set of office claims with key: the same input
// for every backend, so tests can compare their tokens byte for byte
// (RS256 and EdDSA are deterministic).
func SignFixed(t testing.TB, key crypto.Signer, alg string) string {
	t.Helper()
	s, err := jwtsigner.NewOfficeSigner(key, alg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := domain.NewPrincipal("user_1", "org_1", "member")
	if err != nil {
		t.Fatal(err)
	}
	c, err := domain.NewOfficeClaims(p, domain.Issuance{
		Issuer: "gatepass", Audience: "office-router", ID: "jti-1",
		Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), TTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.SignOffice(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// Registered is the wire form of the registered claims, for golang-jwt's
// generic encoding to make reference tokens from: the office grant's own
// reference and a Kind's embed it.
type Registered struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf,omitempty"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// The office claims as the office-router reads them.
type refOffice struct {
	Registered
	UserID string `json:"userId"`
	OrgID  string `json:"orgId"`
	Role   string `json:"role"`
}

// golang-jwt only verifies with these; reference tokens are never parsed
// into them.
func (Registered) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (Registered) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (Registered) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (Registered) GetIssuer() (string, error)                   { return "", nil }
func (Registered) GetSubject() (string, error)                  { return "", nil }
func (Registered) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// RegisteredOf is r in its wire form, with nbf when the kind's tokens
// carry one.
func RegisteredOf(r domain.Registered, nbf bool) Registered {
	out := Registered{Iss: r.Issuer, Sub: r.Subject, Aud: r.Audience, Iat: r.IssuedAt.Unix(), Exp: r.ExpiresAt.Unix(), Jti: r.ID}
	if nbf {
		out.Nbf = r.NotBefore.Unix()
	}
	return out
}

// signerMethod is golang-jwt's generic signing with a crypto.Signer for the
// deterministic algorithms: the digest of the signing string (or, EdDSA,
// the string itself) handed to the key.
type signerMethod struct{ jwt.SigningMethod }

func (m signerMethod) Sign(signingString string, key any) ([]byte, error) {
	signer := key.(crypto.Signer)
	if m.Alg() == jwa.EdDSA {
		return signer.Sign(nil, []byte(signingString), crypto.Hash(0))
	}
	d := sha256.Sum256([]byte(signingString))
	return signer.Sign(nil, d[:], crypto.SHA256)
}

// testGolangJWTReference holds the signer's tokens to golang-jwt's output
// for the reference claims and the same key: the signing input byte for
// byte for every algorithm, the whole token for the deterministic RS256
// and EdDSA, and golang-jwt verifies the signature; for office grants and
// every kind's tokens, with strings that JSON must escape.
func testGolangJWTReference(t *testing.T, key crypto.Signer, alg string, kinds []Kind) {
	s := newOfficeSigner(t, key, alg)
	ctx := context.Background()
	reg := domain.Registered{Issuer: issuer, Subject: "user_<01>", Audience: audience, ID: "jti-ref&\u2028",
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute)}
	office := domain.OfficeClaims{Registered: reg, UserID: "user_<01>", OrgID: "org_\"01\"", Role: "admin\u2029é"}
	officeToken, err := s.SignOffice(ctx, office)
	if err != nil {
		t.Fatalf("office: %v", err)
	}
	cases := []Reference{{Name: "office", Token: officeToken,
		Claims: refOffice{Registered: RegisteredOf(reg, true), UserID: office.UserID, OrgID: office.OrgID, Role: office.Role}}}
	for _, kind := range kinds {
		cases = append(cases, kind(t, s, reg)...)
	}
	for _, tc := range cases {
		got := tc.Token
		tok := jwt.NewWithClaims(signerMethod{jwt.GetSigningMethod(alg)}, tc.Claims)
		tok.Header["kid"] = s.KeyID()
		refInput, err := tok.SigningString()
		if err != nil {
			t.Fatal(err)
		}
		gotInput, _ := split(t, got)
		if gotInput != refInput {
			t.Fatalf("%s: signing input differs from golang-jwt's:\n got %s\nwant %s", tc.Name, gotInput, refInput)
		}
		if alg == jwa.RS256 || alg == jwa.EdDSA {
			ref, err := tok.SignedString(key)
			if err != nil {
				t.Fatalf("%s: golang-jwt reference signature: %v", tc.Name, err)
			}
			if got != ref {
				t.Fatalf("%s: the %s token differs from golang-jwt's", tc.Name, alg)
			}
		}
		if _, err := jwt.Parse(got, func(*jwt.Token) (any, error) { return key.Public(), nil }, jwt.WithValidMethods([]string{alg}),
			jwt.WithTimeFunc(func() time.Time { return now.Add(time.Second) })); err != nil {
			t.Fatalf("%s: golang-jwt does not verify the token: %v", tc.Name, err)
		}
	}
}
