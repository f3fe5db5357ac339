package jwksidentity_test

// FuzzVerifyIdentity mutates access tokens and checks that the verifier
// accepts nothing a strict, independent RS256 check over the exact input
// would refuse. Its seeds run as ordinary tests; fuzz it with:
//
//	go test -run='^$' -fuzz=FuzzVerifyIdentity -fuzztime=60s ./adapters/jwksidentity/

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
)

// The fuzz key is fixed (a test-only key in testdata) and so is the clock,
// so a token the fuzzer saves under testdata/fuzz reproduces exactly.
const (
	fuzzIssuer   = "https://auth.fuzz.example"
	fuzzAudience = "client_fuzz"
	fuzzKID      = "fuzz-key-1"
)

var fuzzNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fuzzKey(f *testing.F) *rsa.PrivateKey {
	f.Helper()
	raw, err := os.ReadFile("testdata/fuzz_identity_key.pem")
	if err != nil {
		f.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		f.Fatal("testdata/fuzz_identity_key.pem holds no PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	return key.(*rsa.PrivateKey)
}

func FuzzVerifyIdentity(f *testing.F) {
	key := fuzzKey(f)
	pub := &key.PublicKey
	keys, err := jwksidentity.NewStaticKeys(kit.KeySet(kit.RSAJWK(fuzzKID, "RS256", pub)))
	if err != nil {
		f.Fatal(err)
	}
	v, err := jwksidentity.New(keys, jwksidentity.Options{
		Issuer: fuzzIssuer, Audience: fuzzAudience, Algorithms: []string{"RS256"},
		Leeway: 30 * time.Second, Now: func() time.Time { return fuzzNow },
	})
	if err != nil {
		f.Fatal(err)
	}

	header := `{"alg":"RS256","typ":"JWT","kid":"` + fuzzKID + `"}`
	claims := fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"user_1","org_id":"org_1","role":"admin","iat":%d,"exp":%d}`,
		fuzzIssuer, fuzzAudience, fuzzNow.Unix(), fuzzNow.Add(time.Hour).Unix())
	valid := kit.JWS(f, header, claims, kit.RS256(key))
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	withHeader := func(h string) string { return kit.JWS(f, h, claims, kit.RS256(key)) }
	parts := strings.Split(valid, ".")

	for _, seed := range []string{
		valid,
		kit.JWS(f, `{"alg":"none","typ":"JWT"}`, claims, kit.Unsigned),
		kit.JWS(f, `{"alg":"None","kid":"`+fuzzKID+`"}`, claims, kit.Unsigned),
		kit.JWS(f, `{"alg":"HS256","kid":"`+fuzzKID+`"}`, claims, kit.HS256(pubPEM)),
		kit.JWS(f, `{"alg":"HS256","kid":"`+fuzzKID+`"}`, claims, kit.HS256(pub.N.Bytes())),
		withHeader(`{"alg":"RS256","kid":"` + fuzzKID + `","jku":"https://evil.example/jwks"}`),
		withHeader(`{"alg":"RS256","kid":"` + fuzzKID + `","crit":["exp"]}`),
		withHeader(`{"alg":"RS256","kid":7}`),
		withHeader(`{"alg":"RS256","kid":"../../etc/passwd"}`),
		kit.JWS(f, header, `{"iss":"`+fuzzIssuer+`","aud":"`+fuzzAudience+`","sub":"a","sub":"b","exp":1e30}`, kit.RS256(key)),
		// Out-of-range dates: golang-jwt's float-to-int64 conversion wraps
		// them on amd64, so a far-future nbf or iat read as the past.
		kit.JWS(f, header, strings.Replace(claims, `"iat":`, `"nbf":1e30,"iat":`, 1), kit.RS256(key)),
		kit.JWS(f, header, strings.Replace(claims, fmt.Sprintf(`"iat":%d`, fuzzNow.Unix()), `"iat":1e30`, 1), kit.RS256(key)),
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])/2],
		// The signature segment spelled differently: padding, a line
		// break, non-zero trailing bits of the last character.
		valid + "==",
		parts[0] + "." + parts[1] + "." + parts[2][:100] + "\n" + parts[2][100:],
		parts[0] + "." + parts[1] + "." + kit.OtherTrailingBits(parts[2]),
		"garbage",
		"a.b.c",
		"..",
		"",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.VerifyIdentity(context.Background(), token)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidCredentials) {
				t.Fatalf("error %v does not wrap ErrInvalidCredentials", err)
			}
			if p != (domain.Principal{}) {
				t.Fatalf("refused token yielded %+v", p)
			}
			return
		}
		sub, err := strictRS256(token, pub)
		if err != nil {
			t.Fatalf("verifier accepted a token the strict check refuses (%v): %q", err, token)
		}
		if p.UserID != sub {
			t.Fatalf("principal %q, token sub %q", p.UserID, sub)
		}
	})
}

// strictRS256 is an RS256 check written from RFC 7515 and 7519 with the
// standard library alone: exactly three canonical base64url segments, a
// JSON header naming RS256 and the fuzz kid and nothing that points at
// another key, a valid PKCS #1 v1.5 signature over the exact signing input,
// and the claims the verifier is configured to demand. It returns sub.
func strictRS256(token string, pub *rsa.PublicKey) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not three segments")
	}
	var raw [3][]byte
	for i, part := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(part)
		if err != nil {
			return "", fmt.Errorf("segment %d: %w", i, err)
		}
		// The decoder skips CR and LF; the canonical spelling has none.
		if kit.B64(b) != part {
			return "", fmt.Errorf("segment %d is not canonical base64url", i)
		}
		raw[i] = b
	}
	var header map[string]any
	if err := json.Unmarshal(raw[0], &header); err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	if header["alg"] != "RS256" || header["kid"] != fuzzKID {
		return "", fmt.Errorf("header alg %v kid %v", header["alg"], header["kid"])
	}
	for _, name := range []string{"jku", "x5u", "jwk", "x5c", "crit"} {
		if _, ok := header[name]; ok {
			return "", fmt.Errorf("header %s", name)
		}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw[2]); err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(raw[1]))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	if claims["iss"] != fuzzIssuer {
		return "", fmt.Errorf("iss %v", claims["iss"])
	}
	if !audienceHolds(claims["aud"]) {
		return "", fmt.Errorf("aud %v", claims["aud"])
	}
	exp, ok := claims["exp"].(json.Number)
	if !ok {
		return "", errors.New("no numeric exp")
	}
	if e, err := exp.Float64(); err != nil || e+30 <= float64(fuzzNow.Unix()) {
		return "", fmt.Errorf("exp %v", exp)
	}
	for _, name := range []string{"nbf", "iat"} {
		v, present := claims[name]
		if !present {
			continue
		}
		n, ok := v.(json.Number)
		if !ok {
			return "", fmt.Errorf("%s %v", name, v)
		}
		if f, err := n.Float64(); err != nil || f-30 > float64(fuzzNow.Unix()) {
			return "", fmt.Errorf("%s %v in the future", name, n)
		}
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return "", errors.New("no sub")
	}
	return sub, nil
}

func audienceHolds(aud any) bool {
	switch a := aud.(type) {
	case string:
		return a == fuzzAudience
	case []any:
		for _, x := range a {
			if x == fuzzAudience {
				return true
			}
		}
	}
	return false
}
