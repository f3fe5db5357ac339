package jwtsigner

import (
	"context"
	"encoding/json"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

// golang-jwt is the reference for every kind. Its Token.SignedString, over
// the reference claims declared here (not the signer's own wire types),
// with its own signing methods and a plain Go key, must make the very
// token the signer makes; for the randomized PS256 and ES256, the same
// signing input and a signature golang-jwt verifies.

// The wire form of each kind as its verifier reads it.
type (
	refRegistered struct {
		refGetters
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Iat int64  `json:"iat"`
		Nbf int64  `json:"nbf,omitempty"`
		Exp int64  `json:"exp"`
		Jti string `json:"jti"`
	}
	refOffice struct {
		refRegistered
		UserID string `json:"userId"`
		OrgID  string `json:"orgId"`
		Role   string `json:"role"`
	}
	refInfo struct {
		OrgID string `json:"orgId"`
		Role  string `json:"role"`
	}
	refConnection struct {
		refRegistered
		Info     refInfo  `json:"info"`
		Channels []string `json:"channels,omitempty"`
	}
	refSubscription struct {
		refRegistered
		Channel string  `json:"channel"`
		Info    refInfo `json:"info"`
	}
	refRealtime struct {
		refRegistered
		Role string  `json:"role"`
		App  *refApp `json:"app_metadata,omitempty"`
	}
	refApp struct {
		OrgID   string `json:"org_id"`
		OrgRole string `json:"org_role"`
	}
	// refLiveKit is LiveKit's ClaimGrants with the registered claims: no
	// aud, always an nbf, every right written (LiveKit reads a missing one
	// as granted).
	refLiveKit struct {
		refGetters
		Iss        string            `json:"iss"`
		Sub        string            `json:"sub"`
		Iat        int64             `json:"iat"`
		Nbf        int64             `json:"nbf"`
		Exp        int64             `json:"exp"`
		Jti        string            `json:"jti"`
		Name       string            `json:"name"`
		Metadata   string            `json:"metadata"`
		Attributes map[string]string `json:"attributes"`
		Video      refVideo          `json:"video"`
		RoomConfig json.RawMessage   `json:"roomConfig,omitempty"`
	}
	refVideo struct {
		Room                 string `json:"room"`
		RoomJoin             bool   `json:"roomJoin"`
		CanPublish           bool   `json:"canPublish"`
		CanSubscribe         bool   `json:"canSubscribe"`
		CanPublishData       bool   `json:"canPublishData"`
		CanUpdateOwnMetadata bool   `json:"canUpdateOwnMetadata"`
		RoomAdmin            bool   `json:"roomAdmin"`
		RoomCreate           bool   `json:"roomCreate,omitempty"`
	}
)

// refGetters makes a reference type a jwt.Claims; golang-jwt only signs
// these, it never validates them.
type refGetters struct{}

func (refGetters) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (refGetters) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (refGetters) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (refGetters) GetIssuer() (string, error)                   { return "", nil }
func (refGetters) GetSubject() (string, error)                  { return "", nil }
func (refGetters) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

func refRegisteredOf(r domain.Registered, nbf bool) refRegistered {
	out := refRegistered{Iss: r.Issuer, Sub: r.Subject, Aud: r.Audience, Iat: r.IssuedAt.Unix(), Exp: r.ExpiresAt.Unix(), Jti: r.ID}
	if nbf {
		out.Nbf = r.NotBefore.Unix()
	}
	return out
}

func refOfficeOf(c domain.OfficeClaims) refOffice {
	return refOffice{refRegistered: refRegisteredOf(c.Registered, true), UserID: c.UserID, OrgID: c.OrgID, Role: c.Role}
}

// Centrifugo's and Supabase's tokens carry no nbf.

func refConnectionOf(c domain.CentrifugoConnectionClaims) refConnection {
	return refConnection{refRegistered: refRegisteredOf(c.Registered, false), Info: refInfo(c.Info), Channels: c.Channels}
}

func refSubscriptionOf(c domain.CentrifugoSubscriptionClaims) refSubscription {
	return refSubscription{refRegistered: refRegisteredOf(c.Registered, false), Channel: c.Channel, Info: refInfo(c.Info)}
}

func refRealtimeOf(c domain.RealtimeClaims) refRealtime {
	out := refRealtime{refRegistered: refRegisteredOf(c.Registered, false), Role: c.Role}
	if c.App != nil {
		out.App = &refApp{OrgID: c.App.OrgID, OrgRole: c.App.OrgRole}
	}
	return out
}

// refLiveKitOf holds the attributes as one map: the caller's others, and
// the verified values under the reserved keys whatever the others hold.
func refLiveKitOf(c domain.LiveKitClaims) refLiveKit {
	attrs := make(map[string]string, len(c.Attributes.Others)+3)
	for k, v := range c.Attributes.Others {
		attrs[k] = v
	}
	a := c.Attributes
	attrs[domain.AttributeUserID], attrs[domain.AttributeOrgID], attrs[domain.AttributeRole] = a.UserID, a.OrgID, a.Role
	attrs[domain.AttributeIssuedAt] = strconv.FormatInt(c.IssuedAt.Unix(), 10)
	r := c.Video.Rights
	return refLiveKit{Iss: c.Issuer, Sub: c.Subject, Iat: c.IssuedAt.Unix(), Nbf: c.NotBefore.Unix(), Exp: c.ExpiresAt.Unix(), Jti: c.ID,
		Name: c.Name, Metadata: c.Metadata, Attributes: attrs,
		Video: refVideo{Room: c.Video.Room, RoomJoin: true, CanPublish: r.CanPublish, CanSubscribe: r.CanSubscribe, CanPublishData: r.CanPublishData,
			CanUpdateOwnMetadata: r.CanUpdateOwnMetadata, RoomAdmin: r.RoomAdmin, RoomCreate: r.RoomCreate},
		RoomConfig: c.RoomConfig}
}

// reference is golang-jwt's token for claims: its signing input, and the
// whole token signed with method and key.
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

// verify checks token with golang-jwt's own method for alg and key (a
// public key, or the HMAC secret).
func verify(t *testing.T, token, alg string, key any) {
	t.Helper()
	if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return key, nil }, jwt.WithValidMethods([]string{alg}),
		jwt.WithTimeFunc(func() time.Time { return refTime.Add(time.Second) })); err != nil {
		t.Fatalf("golang-jwt does not verify %s: %v", token, err)
	}
}

// awkward are strings that encoding/json escapes one way or another.
var awkward = []string{
	"", "plain", `q"uote`, `back\slash`, "<script>&</script>", "tab\tline\ncr\r", "\x00\x1f\x7f\b\f",
	"é ü 中文 🎉", "\u2028\u2029", "bad \xff utf8", "https://a.example/?x=1&y=<2>",
}

// awkwardStrings returns the awkward strings in turn, and every third
// call a random one.
func awkwardStrings(seed uint64) func() string {
	r := mrand.New(mrand.NewPCG(seed, 4))
	alphabet := []string{"a", "Z", "9", "<", ">", "&", `"`, `\`, "\n", "\x01", "é", "\u2028", "\xff", "🎉", " ", "/"}
	i := 0
	return func() string {
		i++
		if i%3 != 0 {
			return awkward[i%len(awkward)]
		}
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
}

var refTime = time.Unix(1_800_000_000, 0).UTC()

func awkwardRegistered(next func() string) domain.Registered {
	return domain.Registered{Issuer: next(), Subject: next(), Audience: next(), ID: next(),
		IssuedAt: refTime, NotBefore: refTime, ExpiresAt: refTime.Add(time.Minute)}
}

// TestHS256MatchesGolangJWT: realtime and LiveKit tokens over awkward and
// random strings are golang-jwt's HS256 tokens of the same claims.
func TestHS256MatchesGolangJWT(t *testing.T) {
	ctx := context.Background()
	secret := []byte("a-realtime-secret-of-at-least-32-bytes!!")
	rs, err := NewRealtimeSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := NewLiveKitSigner("APIkey", secret)
	if err != nil {
		t.Fatal(err)
	}
	next := awkwardStrings(13)
	for n := range 1500 {
		rc := domain.RealtimeClaims{Registered: awkwardRegistered(next), Role: next()}
		if n%2 == 0 {
			rc.App = &domain.AppMetadata{OrgID: next(), OrgRole: next()}
		}
		got, err := rs.SignRealtime(ctx, rc)
		if err != nil {
			t.Fatal(err)
		}
		if _, ref := reference(t, jwt.SigningMethodHS256, "", refRealtimeOf(rc), secret); got != ref {
			t.Fatalf("realtime token differs from golang-jwt's:\n got %s\nwant %s", got, ref)
		}
		verify(t, got, "HS256", secret)

		lc := domain.LiveKitClaims{
			Registered: domain.Registered{Issuer: "APIkey", Subject: next(), ID: next(), IssuedAt: refTime, NotBefore: refTime, ExpiresAt: refTime.Add(time.Hour)},
			Name:       next(), Metadata: next(),
			Video: domain.LiveKitVideoGrant{Room: next(), Rights: domain.LiveKitRights{CanPublish: n%2 == 0, CanSubscribe: n%3 == 0,
				CanPublishData: n%5 == 0, CanUpdateOwnMetadata: n%7 == 0, RoomAdmin: n%11 == 0, RoomCreate: n%4 == 0}},
		}
		switch n % 4 {
		case 1:
			lc.Attributes = domain.LiveKitAttributes{UserID: next(), OrgID: next(), Role: next()}
		case 2, 3:
			// Others under reserved keys are written with the verified values.
			lc.Attributes = domain.LiveKitAttributes{UserID: next(), OrgID: next(), Role: next(),
				Others: map[string]string{next(): next(), next(): next(), "b": next(), "a": next(), "<": next(), "role": next(), "zz": next()}}
		}
		if n%4 == 3 {
			lc.RoomConfig = json.RawMessage(`{ "name" : "<r&d>",  "emptyTimeout": 30, "agents": [ {"agentName": "a\u2028"} ] }`)
		}
		got, err = ls.SignLiveKit(ctx, lc)
		if err != nil {
			t.Fatal(err)
		}
		if _, ref := reference(t, jwt.SigningMethodHS256, "", refLiveKitOf(lc), secret); got != ref {
			t.Fatalf("livekit token differs from golang-jwt's:\n got %s\nwant %s", got, ref)
		}
		verify(t, got, "HS256", secret)
	}
}

func TestLiveKitRefusesRoomConfigThatIsNotJSON(t *testing.T) {
	ls, err := NewLiveKitSigner("APIkey", []byte("a-livekit-secret-of-at-least-32-bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	c := domain.LiveKitClaims{Registered: domain.Registered{Issuer: "APIkey", Subject: "u", ID: "j", IssuedAt: refTime, NotBefore: refTime, ExpiresAt: refTime.Add(time.Hour)},
		RoomConfig: json.RawMessage(`{"a":`)}
	if tok, err := ls.SignLiveKit(context.Background(), c); err == nil {
		t.Fatalf("a room configuration that is not JSON was signed: %s", tok)
	}
}

// TestOfficeKeyKindsMatchGolangJWT: office grants and both kinds of
// Centrifugo token, signed with Go keys, against golang-jwt's own RS256,
// PS256, ES256 and EdDSA with the same keys.
func TestOfficeKeyKindsMatchGolangJWT(t *testing.T) {
	keys := keysByAlgorithm(t)
	ctx := context.Background()
	for _, alg := range jwa.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			key := keys[alg]
			s, err := NewOfficeSigner(key, alg)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := NewCentrifugoSigner(s)
			if CentrifugoVerifies(alg) == nil && err != nil {
				t.Fatal(err)
			}
			rounds := 8
			if alg == jwa.EdDSA {
				rounds = 300 // fast and deterministic: the awkward strings get their run here
			}
			next := awkwardStrings(uint64(len(alg)))
			for n := range rounds {
				office := domain.OfficeClaims{Registered: awkwardRegistered(next), UserID: next(), OrgID: next(), Role: next()}
				conn := domain.CentrifugoConnectionClaims{Registered: awkwardRegistered(next), Info: domain.CentrifugoInfo{OrgID: next(), Role: next()}}
				switch n % 3 {
				case 1:
					conn.Channels = []string{}
				case 2:
					conn.Channels = []string{next(), next(), next()}
				}
				sub := domain.CentrifugoSubscriptionClaims{Registered: awkwardRegistered(next), Channel: next(), Info: domain.CentrifugoInfo{OrgID: next(), Role: next()}}
				cases := []struct {
					name   string
					sign   func() (string, error)
					claims jwt.Claims
				}{
					{"office", func() (string, error) { return s.SignOffice(ctx, office) }, refOfficeOf(office)},
					{"centrifugo connection", func() (string, error) { return cs.SignCentrifugoConnection(ctx, conn) }, refConnectionOf(conn)},
					{"centrifugo subscription", func() (string, error) { return cs.SignCentrifugoSubscription(ctx, sub) }, refSubscriptionOf(sub)},
				}
				if cs == nil {
					cases = cases[:1] // Centrifugo cannot verify this algorithm: office grants only.
				}
				for _, tc := range cases {
					got, err := tc.sign()
					if err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					refInput, ref := reference(t, jwt.GetSigningMethod(alg), s.KeyID(), tc.claims, key)
					if signingInputOf(got) != refInput {
						t.Fatalf("%s: signing input differs from golang-jwt's:\n got %s\nwant %s", tc.name, signingInputOf(got), refInput)
					}
					if (alg == jwa.RS256 || alg == jwa.EdDSA) && got != ref {
						t.Fatalf("%s: %s token differs from golang-jwt's", tc.name, alg)
					}
					verify(t, got, alg, key.Public())
				}
			}
		})
	}
}
