package jwtsigner

import (
	"context"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
)

// The hand-built JWS is held to golang-jwt's generic path: the same claims
// through jwt.NewWithClaims(...).SignedString must give the same signing
// input, the same token for the deterministic algorithms, and golang-jwt
// must verify every token.

// awkward are strings that encoding/json escapes one way or another.
var awkward = []string{
	"", "plain", `q"uote`, `back\slash`, "<script>&</script>", "tab\tline\ncr\r", "\x00\x1f\x7f\b\f",
	"é ü 中文 🎉", "\u2028\u2029", "bad \xff utf8", "https://a.example/?x=1&y=<2>",
}

func randomString(r *mrand.Rand) string {
	alphabet := []string{"a", "Z", "9", "<", ">", "&", `"`, `\`, "\n", "\x01", "é", "\u2028", "\xff", "🎉", " ", "/"}
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func registered(s func() string, nbf int64) registeredJWT {
	return registeredJWT{Iss: s(), Sub: s(), Aud: s(), Iat: 1_800_000_000, Nbf: nbf, Exp: 1_800_000_600, Jti: s()}
}

// TestClaimsJSONMatchesEncodingJSON checks every claims type's appendJSON
// against json.Marshal of the same value, over awkward and random strings.
func TestClaimsJSONMatchesEncodingJSON(t *testing.T) {
	r := mrand.New(mrand.NewPCG(13, 4))
	i := 0
	next := func() string {
		i++
		if i%3 == 0 {
			return randomString(r)
		}
		return awkward[i%len(awkward)]
	}
	for n := range 3000 {
		nbf := []int64{0, 1_800_000_000, -5}[n%3]
		office := officeJWT{registeredJWT: registered(next, nbf), UserID: next(), OrgID: next(), Role: next()}
		if got, want := string(office.appendJSON(nil)), marshal(t, office); got != want {
			t.Fatalf("office: %s\nencoding/json: %s", got, want)
		}
		rt := realtimeJWT{registeredJWT: registered(next, nbf), Role: next()}
		if n%2 == 0 {
			rt.App = &appMetadataJWT{OrgID: next(), OrgRole: next()}
		}
		if got, want := string(rt.appendJSON(nil)), marshal(t, rt); got != want {
			t.Fatalf("realtime: %s\nencoding/json: %s", got, want)
		}
		conn := centrifugoConnectionJWT{registeredJWT: registered(next, nbf), Info: centrifugoInfoJWT{OrgID: next(), Role: next()}}
		switch n % 3 {
		case 1:
			conn.Channels = []string{}
		case 2:
			conn.Channels = []string{next(), next(), next()}
		}
		if got, want := string(conn.appendJSON(nil)), marshal(t, conn); got != want {
			t.Fatalf("centrifugo connection: %s\nencoding/json: %s", got, want)
		}
		sub := centrifugoSubscriptionJWT{registeredJWT: registered(next, nbf), Channel: next(), Info: centrifugoInfoJWT{OrgID: next(), Role: next()}}
		if got, want := string(sub.appendJSON(nil)), marshal(t, sub); got != want {
			t.Fatalf("centrifugo subscription: %s\nencoding/json: %s", got, want)
		}
		lk := liveKitJWT{Iss: next(), Sub: next(), Iat: 1, Nbf: nbf, Exp: 2, Jti: next(), Name: next(), Metadata: next(),
			Video: liveKitVideoJWT{Room: next(), RoomJoin: true, CanPublish: n%2 == 0, CanSubscribe: n%3 == 0,
				CanPublishData: n%5 == 0, CanUpdateOwnMetadata: n%7 == 0, RoomAdmin: n%11 == 0, RoomCreate: n%4 == 0}}
		switch n % 4 {
		case 1:
			lk.Attributes = liveKitAttributesJWT{UserID: next(), OrgID: next(), Role: next()}
		case 2, 3:
			lk.Attributes = liveKitAttributesJWT{UserID: next(), OrgID: next(), Role: next(),
				Others: map[string]string{next(): next(), next(): next(), "b": next(), "a": next(), "<": next(), "role": next(), "zz": next()}}
		}
		if n%4 == 3 {
			lk.RoomConfig = json.RawMessage(`{ "name" : "<r&d>",  "emptyTimeout": 30, "agents": [ {"agentName": "a\u2028"} ] }`)
		}
		got, err := lk.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := marshal(t, lk); string(got) != want {
			t.Fatalf("livekit: %s\nencoding/json: %s", got, want)
		}
	}
	bad := liveKitJWT{RoomConfig: json.RawMessage(`{"a":`)}
	if _, err := bad.appendJSON(nil); err == nil {
		t.Fatal("a room configuration that is not JSON was encoded")
	}
}

var refTime = time.Unix(1_800_000_000, 0).UTC()

func reg(aud string) domain.Registered {
	return domain.Registered{Issuer: "gatepass <&>", Subject: "user_\u2028é", Audience: aud, ID: "jti-ref",
		IssuedAt: refTime, NotBefore: refTime, ExpiresAt: refTime.Add(time.Minute)}
}

// reference is golang-jwt's generic output for claims: the signing input,
// and the whole token signed with method and key.
func reference(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.Claims, key any) (input, token string) {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	input, err := tok.SigningString()
	if err != nil {
		t.Fatal(err)
	}
	token, err = tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return input, token
}

func signingInputOf(token string) string { return token[:strings.LastIndexByte(token, '.')] }

func TestHS256MatchesGolangJWT(t *testing.T) {
	secret := []byte("a-realtime-secret-of-at-least-32-bytes!!")
	ctx := context.Background()
	rs, err := NewRealtimeSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []*domain.AppMetadata{nil, {OrgID: "org_<1>", OrgRole: "admin&"}} {
		c := domain.RealtimeClaims{Registered: reg("authenticated"), Role: "authenticated", App: app}
		got, err := rs.SignRealtime(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		want := realtimeJWT{registeredJWT: fromRegistered(c.Registered), Role: c.Role}
		want.Nbf = 0
		if app != nil {
			want.App = &appMetadataJWT{OrgID: app.OrgID, OrgRole: app.OrgRole}
		}
		_, ref := reference(t, jwt.SigningMethodHS256, "", want, secret)
		if got != ref {
			t.Fatalf("realtime token differs from golang-jwt's:\n got %s\nwant %s", got, ref)
		}
		verifyHS256(t, got, secret)
	}

	ls, err := NewLiveKitSigner("APIkey", secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []domain.LiveKitClaims{
		{Registered: domain.Registered{Issuer: "APIkey", Subject: "user_1#<tab>", ID: "j", IssuedAt: refTime, NotBefore: refTime, ExpiresAt: refTime.Add(time.Hour)},
			Video: domain.LiveKitVideoGrant{Room: "org_1/r", Rights: domain.LiveKitRights{CanSubscribe: true}}},
		{Registered: domain.Registered{Issuer: "APIkey", Subject: "user_1", ID: "j2", IssuedAt: refTime, NotBefore: refTime, ExpiresAt: refTime.Add(time.Hour)},
			Name: "Zoë <admin>", Metadata: `{"x":"&"}`, Attributes: domain.LiveKitAttributes{UserID: "user_1", OrgID: "org_1", Role: "<admin>", Others: map[string]string{"z": "1", "a": "\u2029", "m&m": "<"}},
			Video:      domain.LiveKitVideoGrant{Room: "org_1/r", Rights: domain.LiveKitRights{CanPublish: true, RoomAdmin: true, RoomCreate: true}},
			RoomConfig: json.RawMessage(`{"emptyTimeout": 30, "name": "<x>"}`)},
	} {
		got, err := ls.SignLiveKit(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		rg := c.Video.Rights
		want := liveKitJWT{Iss: c.Issuer, Sub: c.Subject, Iat: c.IssuedAt.Unix(), Nbf: c.NotBefore.Unix(), Exp: c.ExpiresAt.Unix(), Jti: c.ID,
			Name: c.Name, Metadata: c.Metadata, Attributes: liveKitAttributesJWT(c.Attributes),
			Video: liveKitVideoJWT{Room: c.Video.Room, RoomJoin: true, CanPublish: rg.CanPublish, CanSubscribe: rg.CanSubscribe,
				CanPublishData: rg.CanPublishData, CanUpdateOwnMetadata: rg.CanUpdateOwnMetadata, RoomAdmin: rg.RoomAdmin, RoomCreate: rg.RoomCreate},
			RoomConfig: c.RoomConfig}
		_, ref := reference(t, jwt.SigningMethodHS256, "", want, secret)
		if got != ref {
			t.Fatalf("livekit token differs from golang-jwt's:\n got %s\nwant %s", got, ref)
		}
		verifyHS256(t, got, secret)
	}
}

func verifyHS256(t *testing.T, token string, secret []byte) {
	t.Helper()
	if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return refTime.Add(time.Second) })); err != nil {
		t.Fatalf("golang-jwt does not verify %s: %v", token, err)
	}
}

// TestAsymmetricMatchesGolangJWT covers the office and Centrifugo claims
// with Go keys; signertest runs the same comparison for every backend.
func TestAsymmetricMatchesGolangJWT(t *testing.T) {
	keys := keysByAlgorithm(t)
	ctx := context.Background()
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			key := keys[alg]
			s, err := NewOfficeSigner(key, alg)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := NewCentrifugoSigner(s)
			if centrifugo := CentrifugoVerifies(alg) == nil; centrifugo && err != nil || !centrifugo && !errors.Is(err, ErrCentrifugoAlgorithm) {
				t.Fatalf("NewCentrifugoSigner(%s): %v", alg, err)
			}
			office := domain.OfficeClaims{Registered: reg("office-router"), UserID: "user_<1>", OrgID: "org&1", Role: "admin\u2028"}
			conn := domain.CentrifugoConnectionClaims{Registered: reg("centrifugo"), Info: domain.CentrifugoInfo{OrgID: "org_1", Role: "member"},
				Channels: []string{"org:org_1", "user:<u>"}}
			sub := domain.CentrifugoSubscriptionClaims{Registered: reg("centrifugo"), Channel: "org:org_1", Info: domain.CentrifugoInfo{OrgID: "org_1", Role: "member"}}
			cases := []struct {
				name   string
				sign   func() (string, error)
				claims jwt.Claims
			}{
				{"office", func() (string, error) { return s.SignOffice(ctx, office) }, officeJWT{registeredJWT: fromRegistered(office.Registered),
					UserID: office.UserID, OrgID: office.OrgID, Role: office.Role}},
				{"centrifugo connection", func() (string, error) { return cs.SignCentrifugoConnection(ctx, conn) }, centrifugoConnectionJWT{
					registeredJWT: centrifugoRegistered(conn.Registered), Info: fromCentrifugoInfo(conn.Info), Channels: conn.Channels}},
				{"centrifugo subscription", func() (string, error) { return cs.SignCentrifugoSubscription(ctx, sub) }, centrifugoSubscriptionJWT{
					registeredJWT: centrifugoRegistered(sub.Registered), Channel: sub.Channel, Info: fromCentrifugoInfo(sub.Info)}},
			}
			if cs == nil {
				cases = cases[:1] // Centrifugo cannot verify this algorithm: office grants only.
			}
			for _, tc := range cases {
				got, err := tc.sign()
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				refInput, ref := reference(t, s.method, s.KeyID(), tc.claims, key)
				if signingInputOf(got) != refInput {
					t.Fatalf("%s: signing input differs from golang-jwt's:\n got %s\nwant %s", tc.name, signingInputOf(got), refInput)
				}
				if (alg == RS256 || alg == EdDSA) && got != ref {
					t.Fatalf("%s: %s token differs from golang-jwt's", tc.name, alg)
				}
				if _, err := jwt.Parse(got, func(*jwt.Token) (any, error) { return key.Public(), nil }, jwt.WithValidMethods([]string{alg}),
					jwt.WithTimeFunc(func() time.Time { return refTime.Add(time.Second) })); err != nil {
					t.Fatalf("%s: golang-jwt does not verify the token: %v", tc.name, err)
				}
			}
		})
	}
}
