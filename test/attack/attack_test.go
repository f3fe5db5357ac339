// Package attack_test throws hostile input at gatepass, served in process
// over loopback: forged, tampered and confused tokens, key-source headers,
// hostile kids and claims, oversized bodies, requests framed twice, slow
// clients, and random methods and paths that would multiply metric series.
// Every case must get its documented answer, never a 5xx, and the service
// must keep serving valid callers after each one. (The limits on a
// request's head belong to the binary's own server: test/listener.)
package attack_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

type service struct {
	*kit.Service
	// valid is a token the service must always accept.
	valid string
}

func startService(t *testing.T) *service {
	t.Helper()
	s := &service{Service: inproc.ServeService(t, map[string]string{
		"LOG_LEVEL": "warn",
		// Failed authentications from one address are limited per IP; this
		// suite sends many from loopback on purpose. Their limit has its
		// own test.
		"RATE_LIMIT_ENABLED":       "false",
		"HTTP_READ_HEADER_TIMEOUT": "1s",
	})}
	s.valid = s.IDP.Token(t, "user_valid", "org_valid", "admin", 10*time.Minute)
	return s
}

// post sends a POST to path with authorization as the whole Authorization
// header (none when empty).
func (s *service) post(t *testing.T, path, authorization string) kit.Response {
	t.Helper()
	var opts []kit.Option
	if authorization != "" {
		opts = append(opts, kit.Authorization(authorization))
	}
	return kit.Post(t, s.URL+path, opts...)
}

// stillServes fails the test unless a valid caller still gets a grant.
func (s *service) stillServes(t *testing.T) {
	t.Helper()
	if r := s.post(t, kit.RealtimePath, "Bearer "+s.valid); r.Status != http.StatusOK {
		t.Fatalf("the service stopped serving valid callers: %s", r)
	}
}

// trap stands where a jku or x5u header points and counts every request.
type trap struct {
	*httptest.Server
	hits atomic.Int64
}

func newTrap(t *testing.T, jwks []byte) *trap {
	t.Helper()
	tr := &trap{}
	tr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	t.Cleanup(tr.Close)
	return tr
}

func TestForgedAndHostileTokens(t *testing.T) {
	t.Parallel()
	s := startService(t)
	idp := s.IDP
	now := time.Now()

	// claims are a valid access token's claims; edit may change them.
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": idp.Issuer, "aud": idp.Audience, "sub": "user_attack", "org_id": "org_attack", "role": "member",
			"sid": "session_1", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	validPayload := kit.MustJSON(t, claims(nil))
	// header is the trusted key's RS256 header with extra members.
	header := func(extra map[string]any) string {
		h := map[string]any{"alg": "RS256", "typ": "JWT", "kid": idp.KID}
		for k, v := range extra {
			if v == nil {
				delete(h, k)
				continue
			}
			h[k] = v
		}
		return kit.MustJSON(t, h)
	}
	trusted := kit.RS256(idp.Key)
	signed := func(extra map[string]any, payload string) string { return kit.JWS(t, header(extra), payload, trusted) }
	withClaims := func(edit func(map[string]any)) string { return signed(nil, kit.MustJSON(t, claims(edit))) }

	// An attacker's own keys, and a JWKS of the RSA one for the traps.
	attackerRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := kit.RSAJWK("attacker", "RS256", &attackerRSA.PublicKey)
	attackerSet := kit.KeySet(attackerJWK)
	jkuTrap, x5uTrap := newTrap(t, attackerSet), newTrap(t, attackerSet)

	// The identity key as an HMAC secret, as a confused verifier would use it.
	spki, _ := x509.MarshalPKIXPublicKey(&idp.Key.PublicKey)
	spkiPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&idp.Key.PublicKey)})

	validToken := signed(nil, validPayload)
	vh, vp, vs := kit.Segments(t, validToken)
	tamperedPayload := kit.B64([]byte(kit.MustJSON(t, claims(func(c map[string]any) { c["sub"] = "user_admin"; c["org_id"] = "org_other" }))))

	// gatepass's own grants presented as identity.
	var office, realtime map[string]any
	if r := s.post(t, kit.OfficePath, "Bearer "+s.valid); r.Status != http.StatusOK || json.Unmarshal(r.Body, &office) != nil {
		t.Fatalf("office grant: %s", r)
	}
	if r := s.post(t, kit.RealtimePath, "Bearer "+s.valid); r.Status != http.StatusOK || json.Unmarshal(r.Body, &realtime) != nil {
		t.Fatalf("realtime token: %s", r)
	}
	ownGrant, _ := office["token"].(string)
	supabaseToken, _ := realtime["token"].(string)

	noneWith := func(alg string) string {
		return kit.JWS(t, header(map[string]any{"alg": alg}), validPayload, kit.Unsigned)
	}

	tests := []struct {
		name  string
		auth  string // the whole Authorization header; "Bearer "+token when empty
		token string
	}{
		// alg none and its spellings, with and without a signature.
		{name: "alg none", token: noneWith("none")},
		{name: "alg None", token: noneWith("None")},
		{name: "alg NONE", token: noneWith("NONE")},
		{name: "alg nOnE", token: noneWith("nOnE")},
		{name: "alg none with the original signature", token: kit.B64([]byte(header(map[string]any{"alg": "none"}))) + "." + vp + "." + vs},
		{name: "alg missing", token: kit.JWS(t, header(map[string]any{"alg": nil}), validPayload, trusted)},
		{name: "alg empty", token: kit.JWS(t, header(map[string]any{"alg": ""}), validPayload, trusted)},
		{name: "alg rs256 lower case", token: kit.JWS(t, header(map[string]any{"alg": "rs256"}), validPayload, trusted)},
		{name: "alg not a string", token: kit.JWS(t, header(map[string]any{"alg": []string{"RS256"}}), validPayload, trusted)},

		// Algorithm confusion: the public identity key as an HMAC secret.
		{name: "HS256 with the SPKI PEM as secret", token: kit.JWS(t, header(map[string]any{"alg": "HS256"}), validPayload, kit.HS256(spkiPEM))},
		{name: "HS256 with the PKCS#1 PEM as secret", token: kit.JWS(t, header(map[string]any{"alg": "HS256"}), validPayload, kit.HS256(pkcs1PEM))},
		{name: "HS256 with the modulus as secret", token: kit.JWS(t, header(map[string]any{"alg": "HS256"}), validPayload, kit.HS256(idp.Key.N.Bytes()))},
		{name: "HS256 with the Supabase secret", token: kit.JWS(t, header(map[string]any{"alg": "HS256"}), validPayload, kit.HS256([]byte(kit.SupabaseSecret)))},

		// Other algorithms than the RS256 allow-list, validly signed.
		{name: "PS256 with the trusted key", token: kit.JWS(t, header(map[string]any{"alg": "PS256"}), validPayload, kit.PS256(idp.Key))},
		{name: "RS512 with the trusted key", token: kit.JWS(t, header(map[string]any{"alg": "RS512"}), validPayload, kit.RS512(idp.Key))},
		{name: "ES256 with an attacker's key and the trusted kid", token: kit.JWS(t, header(map[string]any{"alg": "ES256"}), validPayload, kit.ES256(attackerEC))},
		{name: "ES256 with an attacker's key and its own kid", token: kit.JWS(t, header(map[string]any{"alg": "ES256", "kid": "attacker-ec"}), validPayload, kit.ES256(attackerEC))},

		// Signatures stripped, cut, altered, or from another key.
		{name: "stripped signature", token: vh + "." + vp + "."},
		{name: "two segments", token: vh + "." + vp},
		{name: "four segments", token: validToken + "." + vs},
		{name: "truncated signature", token: vh + "." + vp + "." + vs[:len(vs)/2]},
		{name: "signature one byte short", token: vh + "." + vp + "." + kit.B64(kit.MustDecode(t, vs)[:255])},
		{name: "tampered signature", token: vh + "." + vp + "." + kit.FlipBit(t, vs, 128)},
		{name: "signature respelled in unused bits", token: vh + "." + vp + "." + kit.OtherTrailingBits(vs)},
		{name: "signature with padding", token: validToken + "=="},
		{name: "tampered payload", token: vh + "." + tamperedPayload + "." + vs},
		{name: "tampered header", token: kit.B64([]byte(header(map[string]any{"typ": "at+jwt"}))) + "." + vp + "." + vs},
		{name: "signed by an attacker's key with the trusted kid", token: kit.JWS(t, header(nil), validPayload, kit.RS256(attackerRSA))},

		// Key-source headers: never followed, never fetched.
		{name: "jwk header with the attacker's key", token: kit.JWS(t, header(map[string]any{"jwk": attackerJWK, "kid": "attacker"}), validPayload, kit.RS256(attackerRSA))},
		{name: "jwk header on a trusted signature", token: signed(map[string]any{"jwk": attackerJWK}, validPayload)},
		{name: "jku header to a loopback JWKS", token: kit.JWS(t, header(map[string]any{"jku": jkuTrap.URL + "/jwks.json", "kid": "attacker"}), validPayload, kit.RS256(attackerRSA))},
		{name: "jku header on a trusted signature", token: signed(map[string]any{"jku": jkuTrap.URL + "/jwks.json"}, validPayload)},
		{name: "x5u header to a loopback certificate", token: kit.JWS(t, header(map[string]any{"x5u": x5uTrap.URL + "/cert.pem", "kid": "attacker"}), validPayload, kit.RS256(attackerRSA))},
		{name: "x5u header on a trusted signature", token: signed(map[string]any{"x5u": x5uTrap.URL + "/cert.pem"}, validPayload)},
		{name: "x5c header", token: signed(map[string]any{"x5c": []string{kit.B64(spki)}}, validPayload)},
		{name: "crit header", token: signed(map[string]any{"crit": []string{"exp"}}, validPayload)},
		{name: "crit header naming an unknown extension", token: signed(map[string]any{"crit": []string{"urn:attack"}, "urn:attack": true}, validPayload)},

		// Hostile kids, all with a valid signature by the trusted key.
		{name: "kid path traversal", token: signed(map[string]any{"kid": "../../etc/passwd"}, validPayload)},
		{name: "kid file URL", token: signed(map[string]any{"kid": "file:///dev/random"}, validPayload)},
		{name: "kid SQL injection", token: signed(map[string]any{"kid": "' OR '1'='1' --"}, validPayload)},
		{name: "kid shell injection", token: signed(map[string]any{"kid": "$(curl http://127.0.0.1:1/x); `id`"}, validPayload)},
		{name: "kid with NUL and newlines", token: signed(map[string]any{"kid": idp.KID + "\x00\r\nX: y"}, validPayload)},
		{name: "kid of 10 KB", token: signed(map[string]any{"kid": strings.Repeat("k", 10<<10)}, validPayload)},
		{name: "kid of 5 KB", token: signed(map[string]any{"kid": strings.Repeat("k", 5<<10)}, validPayload)},
		{name: "kid empty", token: signed(map[string]any{"kid": ""}, validPayload)},
		{name: "kid a number", token: signed(map[string]any{"kid": 1}, validPayload)},
		{name: "kid an object", token: signed(map[string]any{"kid": map[string]any{"kid": idp.KID}}, validPayload)},
		{name: "kid an array", token: signed(map[string]any{"kid": []string{idp.KID}}, validPayload)},
		{name: "kid null", token: kit.JWS(t, `{"alg":"RS256","typ":"JWT","kid":null}`, validPayload, trusted)},
		{name: "kid case changed", token: signed(map[string]any{"kid": strings.ToUpper(idp.KID)}, validPayload)},

		// exp.
		{name: "exp missing", token: withClaims(func(c map[string]any) { delete(c, "exp") })},
		{name: "exp zero", token: withClaims(func(c map[string]any) { c["exp"] = 0 })},
		{name: "exp past", token: withClaims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })},
		{name: "exp past the leeway", token: withClaims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })},
		{name: "exp negative", token: withClaims(func(c map[string]any) { c["exp"] = -1 })},
		{name: "exp 1e30", token: signed(nil, strings.Replace(validPayload, fmt.Sprintf(`"exp":%d`, now.Add(10*time.Minute).Unix()), `"exp":1e30`, 1))},
		{name: "exp -1e30", token: signed(nil, strings.Replace(validPayload, fmt.Sprintf(`"exp":%d`, now.Add(10*time.Minute).Unix()), `"exp":-1e30`, 1))},
		{name: "exp a string", token: withClaims(func(c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) })},
		{name: "exp a boolean", token: withClaims(func(c map[string]any) { c["exp"] = true })},
		{name: "exp an array", token: withClaims(func(c map[string]any) { c["exp"] = []int64{now.Add(time.Hour).Unix()} })},
		{name: "exp null", token: withClaims(func(c map[string]any) { c["exp"] = nil })},

		// nbf and iat in the future.
		{name: "nbf in an hour", token: withClaims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })},
		{name: "nbf 1e30", token: signed(nil, strings.Replace(validPayload, `"iat":`, `"nbf":1e30,"iat":`, 1))},
		{name: "nbf a string", token: withClaims(func(c map[string]any) { c["nbf"] = "0" })},
		{name: "iat in an hour", token: withClaims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })},
		{name: "iat 1e30", token: signed(nil, strings.Replace(validPayload, fmt.Sprintf(`"iat":%d`, now.Unix()), `"iat":1e30`, 1))},
		{name: "iat a string", token: withClaims(func(c map[string]any) { c["iat"] = "now" })},

		// iss.
		{name: "iss wrong", token: withClaims(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{name: "iss missing", token: withClaims(func(c map[string]any) { delete(c, "iss") })},
		{name: "iss upper case", token: withClaims(func(c map[string]any) { c["iss"] = strings.ToUpper(idp.Issuer) })},
		{name: "iss with a trailing slash", token: withClaims(func(c map[string]any) { c["iss"] = idp.Issuer + "/" })},
		{name: "iss an array", token: withClaims(func(c map[string]any) { c["iss"] = []string{idp.Issuer} })},
		{name: "iss of gatepass's own grants", token: withClaims(func(c map[string]any) { c["iss"] = kit.GrantIssuer })},

		// aud.
		{name: "aud another client", token: withClaims(func(c map[string]any) { c["aud"] = "client_other" })},
		{name: "aud missing", token: withClaims(func(c map[string]any) { delete(c, "aud") })},
		{name: "aud case changed", token: withClaims(func(c map[string]any) { c["aud"] = strings.ToUpper(idp.Audience) })},
		{name: "aud array without ours", token: withClaims(func(c map[string]any) { c["aud"] = []string{"a", "b"} })},
		{name: "aud a number", token: withClaims(func(c map[string]any) { c["aud"] = 42 })},
		{name: "aud of gatepass's own grants", token: withClaims(func(c map[string]any) { c["aud"] = "office-router" })},

		// Subjects the principal cannot be made of.
		{name: "sub missing", token: withClaims(func(c map[string]any) { delete(c, "sub") })},
		{name: "sub a number", token: withClaims(func(c map[string]any) { c["sub"] = 42 })},
		{name: "sub empty", token: withClaims(func(c map[string]any) { c["sub"] = "" })},

		// Tokens that are valid elsewhere.
		{name: "gatepass's own office grant", token: ownGrant},
		{name: "gatepass's own Supabase token", token: supabaseToken},

		// Not JSON, not base64, not a JWT.
		{name: "header not JSON", token: kit.JWS(t, "not json", validPayload, trusted)},
		{name: "payload not JSON", token: signed(nil, "not json")},
		{name: "payload a JSON array", token: signed(nil, `["sub","user_attack"]`)},
		{name: "payload with trailing data", token: signed(nil, validPayload+`{}`)},
		{name: "header not base64url", token: "e30!." + vp + "." + vs},
		{name: "garbage", token: "garbage"},
		{name: "dots only", token: ".."},
		{name: "percent-encoded token", token: strings.ReplaceAll(validToken, ".", "%2E")},

		// The Authorization header itself.
		{name: "Authorization of 9 KiB", auth: "Bearer " + strings.Repeat("a", 9<<10)},
		{name: "Basic scheme", auth: "Basic dXNlcjpwYXNz"},
		{name: "scheme only", auth: "Bearer"},
		{name: "Bearer twice", auth: "Bearer Bearer " + validToken},
		{name: "token and a second word", auth: "Bearer " + validToken + " extra"},
		{name: "no space after the scheme", auth: "Bearer" + validToken},
		{name: "token with a non-breaking space", auth: "Bearer " + vh + "\u00a0" + vp + "." + vs},
	}
	jwksBefore := idp.Fetches.Load()
	// The cases run in parallel inside this group, which ends when they
	// all have: the counts below are read after every case.
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				auth := tt.auth
				if auth == "" {
					if tt.token == "" {
						t.Fatal("case without a token")
					}
					auth = "Bearer " + tt.token
				}
				for _, path := range []string{kit.OfficePath, kit.RealtimePath} {
					r := s.post(t, path, auth)
					kit.WantProblem(t, path, r, http.StatusUnauthorized, "invalid_token")
					if tt.token != "" && strings.Contains(string(r.Body), tt.token) {
						t.Error("the problem echoes the token")
					}
				}
				s.stillServes(t)
			})
		}
		t.Run("duplicate claims", func(t *testing.T) { duplicateClaims(t, s, signed, claims) })
	})
	if n := jkuTrap.hits.Load() + x5uTrap.hits.Load(); n != 0 {
		t.Errorf("the service fetched a jku or x5u URL %d times", n)
	}
	// Unknown kids may refresh the identity JWKS, but a flood of them does
	// not turn into a flood of fetches.
	if n := idp.Fetches.Load() - jwksBefore; n > 1 {
		t.Errorf("%d identity JWKS fetches during the attacks, want at most one", n)
	}
}

// duplicateClaims pins what a claims set with a repeated name means.
// RFC 7519 section 4 lets a parser either refuse it or take the lexically
// last member; gatepass (encoding/json) takes the last, for every claim
// alike, so the principal is always the last sub, org_id and role, the
// same one for every check. A duplicate is never a 5xx.
func duplicateClaims(t *testing.T, s *service, signed func(map[string]any, string) string, claims func(func(map[string]any)) map[string]any) {
	t.Parallel()
	base := kit.MustJSON(t, claims(func(c map[string]any) { delete(c, "sub"); delete(c, "org_id"); delete(c, "role") }))
	with := func(members string) string { return signed(nil, "{"+members+","+base[1:]) }
	issuer, past := s.IDP.Issuer, time.Now().Add(-time.Hour).Unix()
	noIssExp := kit.MustJSON(t, claims(func(c map[string]any) { delete(c, "iss"); delete(c, "exp"); delete(c, "sub") }))
	withIssExp := func(members string) string { return signed(nil, "{"+members+","+noIssExp[1:]) }

	tests := []struct {
		name           string
		token          string
		status         int
		sub, org, role string
		bodyOrg, code  string
	}{
		{name: "sub twice", token: with(`"sub":"user_a","sub":"user_b","org_id":"org_1","role":"member"`),
			status: 200, sub: "user_b", org: "org_1", role: "member"},
		{name: "org_id twice", token: with(`"sub":"user_a","org_id":"org_a","org_id":"org_b","role":"member"`),
			status: 200, sub: "user_a", org: "org_b", role: "member"},
		{name: "org_id twice, the first one requested", token: with(`"sub":"user_a","org_id":"org_a","org_id":"org_b"`),
			bodyOrg: "org_a", status: 403, code: "organization_mismatch"},
		{name: "role twice", token: with(`"sub":"user_a","org_id":"org_1","role":"admin","role":"viewer"`),
			status: 200, sub: "user_a", org: "org_1", role: "viewer"},
		{name: "sub twice, the last not a string", token: with(`"sub":"user_a","sub":42,"org_id":"org_1"`),
			status: 401, code: "invalid_token"},
		{name: "iss twice, the last foreign", token: withIssExp(fmt.Sprintf(`"iss":%q,"iss":"https://evil.example","exp":%d,"sub":"user_a"`, issuer, time.Now().Add(time.Hour).Unix())),
			status: 401, code: "invalid_token"},
		{name: "exp twice, the last past", token: withIssExp(fmt.Sprintf(`"iss":%q,"exp":%d,"exp":%d,"sub":"user_a"`, issuer, time.Now().Add(time.Hour).Unix(), past)),
			status: 401, code: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []kit.Option{kit.Bearer(tt.token)}
			if tt.bodyOrg != "" {
				opts = append(opts, kit.JSONBody(`{"orgId":"`+tt.bodyOrg+`"}`))
			}
			r := kit.Post(t, s.URL+kit.OfficePath, opts...)
			if tt.status != http.StatusOK {
				kit.WantProblem(t, tt.name, r, tt.status, tt.code)
				return
			}
			kit.WantStatus(t, tt.name, r, http.StatusOK)
			c := kit.PayloadOf(t, r.Token(t))
			if c["sub"] != tt.sub || c["userId"] != tt.sub || c["orgId"] != tt.org || c["role"] != tt.role {
				t.Errorf("grant for sub %v userId %v orgId %v role %v, want %s %s %s", c["sub"], c["userId"], c["orgId"], c["role"], tt.sub, tt.org, tt.role)
			}
			s.stillServes(t)
		})
	}
}
