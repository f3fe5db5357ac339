package ginhttp

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/domain"
)

func TestParseExchange(t *testing.T) {
	enabled := map[string]bool{AudienceOfficeRouter: true, AudienceSupabaseRealtime: true, AudienceLiveKit: true, AudienceCentrifugo: true}
	valid := func(edit func(url.Values)) url.Values {
		v := url.Values{
			"grant_type": {GrantTypeTokenExchange}, "subject_token": {"eyJ.a.b"},
			"subject_token_type": {TokenTypeAccessToken}, "audience": {AudienceOfficeRouter},
		}
		if edit != nil {
			edit(v)
		}
		return v
	}
	tests := []struct {
		name     string
		form     url.Values
		enabled  map[string]bool
		wantCode string
		wantKind domain.GrantKind
		wantRoom string
		wantChan string
	}{
		{name: "office-router", form: valid(nil), wantKind: domain.GrantOffice},
		{name: "jwt subject token type", form: valid(func(v url.Values) { v.Set("subject_token_type", TokenTypeJWT) }), wantKind: domain.GrantOffice},
		{name: "supabase-realtime", form: valid(func(v url.Values) { v.Set("audience", AudienceSupabaseRealtime) }), wantKind: domain.GrantRealtime},
		{name: "empty scope counts as absent", form: valid(func(v url.Values) { v.Set("scope", " ") }), wantKind: domain.GrantOffice},
		{name: "livekit room", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "room:standup") }),
			wantKind: domain.GrantLiveKit, wantRoom: "standup"},
		{name: "centrifugo connection", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo) }), wantKind: domain.GrantCentrifugoConnection},
		{name: "centrifugo subscription", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", "channel:org:o1") }),
			wantKind: domain.GrantCentrifugoSubscription, wantChan: "org:o1"},
		{name: "explicit jwt requested", form: valid(func(v url.Values) { v.Set("requested_token_type", TokenTypeJWT) }), wantKind: domain.GrantOffice},

		{name: "no grant type", form: valid(func(v url.Values) { v.Del("grant_type") }), wantCode: "unsupported_grant_type"},
		{name: "another grant type", form: valid(func(v url.Values) { v.Set("grant_type", "client_credentials") }), wantCode: "unsupported_grant_type"},
		{name: "no subject token", form: valid(func(v url.Values) { v.Del("subject_token") }), wantCode: "invalid_request"},
		{name: "an id token type", form: valid(func(v url.Values) { v.Set("subject_token_type", "urn:ietf:params:oauth:token-type:id_token") }), wantCode: "invalid_request"},
		{name: "an actor token", form: valid(func(v url.Values) { v.Set("actor_token", "x") }), wantCode: "invalid_request"},
		{name: "another requested type", form: valid(func(v url.Values) { v.Set("requested_token_type", TokenTypeAccessToken) }), wantCode: "invalid_request"},
		{name: "a repeated parameter", form: valid(func(v url.Values) { v.Add("subject_token", "other") }), wantCode: "invalid_request"},
		{name: "form errors come before the target", form: valid(func(v url.Values) { v.Set("audience", "nowhere"); v.Del("grant_type") }),
			wantCode: "unsupported_grant_type"},
		{name: "no audience", form: valid(func(v url.Values) { v.Del("audience") }), wantCode: "invalid_target"},
		{name: "two audiences", form: valid(func(v url.Values) { v.Add("audience", AudienceSupabaseRealtime) }), wantCode: "invalid_target"},
		{name: "unknown audience", form: valid(func(v url.Values) { v.Set("audience", "billing") }), wantCode: "invalid_target"},
		{name: "disabled audience", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "room:r") }),
			enabled: map[string]bool{AudienceOfficeRouter: true}, wantCode: "invalid_target"},
		{name: "a resource", form: valid(func(v url.Values) { v.Set("resource", "https://x.example") }), wantCode: "invalid_target"},
		{name: "scope on office-router", form: valid(func(v url.Values) { v.Set("scope", "room:r") }), wantCode: "invalid_scope"},
		{name: "livekit without scope", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit) }), wantCode: "invalid_scope"},
		{name: "livekit invalid room", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "room:a/b") }), wantCode: "invalid_scope"},
		{name: "livekit room too long", form: valid(func(v url.Values) {
			v.Set("audience", AudienceLiveKit)
			v.Set("scope", "room:"+strings.Repeat("r", 65))
		}), wantCode: "invalid_scope"},
		{name: "livekit two scopes", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "room:a room:b") }), wantCode: "invalid_scope"},
		{name: "centrifugo room scope", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", "room:a") }), wantCode: "invalid_scope"},
		{name: "centrifugo empty channel", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", "channel:") }), wantCode: "invalid_scope"},

		{name: "an unknown parameter repeated", form: valid(func(v url.Values) { v["client_id"] = []string{"a", "b"} }), wantKind: domain.GrantOffice},
		{name: "a repeated scope", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v["scope"] = []string{"room:a", "room:a"} }),
			wantCode: "invalid_request"},
		{name: "ASCII spaces around a room", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "  room:standup ") }),
			wantKind: domain.GrantLiveKit, wantRoom: "standup"},
		{name: "ASCII spaces around a channel", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", " channel:org:o1  ") }),
			wantKind: domain.GrantCentrifugoSubscription, wantChan: "org:o1"},
		{name: "no-break space after a room", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "room:a\u00a0") }),
			wantCode: "invalid_scope"},
		{name: "ideographic space after a room", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "room:a\u3000") }),
			wantCode: "invalid_scope"},
		{name: "tab before a room", form: valid(func(v url.Values) { v.Set("audience", AudienceLiveKit); v.Set("scope", "\troom:a") }),
			wantCode: "invalid_scope"},
		{name: "next line after a channel", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", "channel:a\u0085") }),
			wantCode: "invalid_scope"},
		{name: "ideographic space alone", form: valid(func(v url.Values) { v.Set("scope", "\u3000") }), wantCode: "invalid_scope"},
		{name: "two spaces between scope tokens", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", "channel:a  channel:b") }),
			wantCode: "invalid_scope"},
		{name: "a tab between scope tokens", form: valid(func(v url.Values) { v.Set("audience", AudienceCentrifugo); v.Set("scope", "channel:a\tchannel:b") }),
			wantCode: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			en := tt.enabled
			if en == nil {
				en = enabled
			}
			form, err := parseForm(tt.form.Encode())
			if err != nil {
				t.Fatalf("parseForm: %v", err)
			}
			x, err := parseExchange(form, en)
			if tt.wantCode != "" {
				if err == nil || err.code != tt.wantCode || err.status != 400 {
					t.Fatalf("error %v, want 400 %s", err, tt.wantCode)
				}
				if strings.Contains(err.description, "eyJ") {
					t.Fatal("the description echoes the subject token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if x.kind != tt.wantKind || x.target != tt.wantRoom+tt.wantChan || x.subject != "eyJ.a.b" {
				t.Fatalf("parsed %+v", x)
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	pairs := func(n int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = "p" + strconv.Itoa(i) + "=v"
		}
		return strings.Join(p, "&")
	}
	tests := []struct {
		name       string
		body       string
		wantErr    *oauthError // compared by code, or by identity for errTooManyParameters
		wantValues map[formParam]string
		wantCounts map[formParam]int
	}{
		{name: "empty", body: ""},
		{name: "known names", body: "grant_type=g&subject_token=s&scope=room%3Aa+b",
			wantValues: map[formParam]string{paramGrantType: "g", paramSubjectToken: "s", paramScope: "room:a b"},
			wantCounts: map[formParam]int{paramGrantType: 1, paramSubjectToken: 1, paramScope: 1}},
		{name: "an encoded name", body: "gr%61nt_type=g", wantValues: map[formParam]string{paramGrantType: "g"}, wantCounts: map[formParam]int{paramGrantType: 1}},
		{name: "a name without a value", body: "actor_token", wantCounts: map[formParam]int{paramActorToken: 1}},
		{name: "repeats counted, the first kept", body: "audience=a&audience=b&audience=c",
			wantValues: map[formParam]string{paramAudience: "a"}, wantCounts: map[formParam]int{paramAudience: 3}},
		{name: "unknown names skipped", body: "client_id=x&client_id=y&z=%zz&scope=s", wantValues: map[formParam]string{paramScope: "s"},
			wantCounts: map[formParam]int{paramScope: 1}},
		{name: "empty pairs are no parameters", body: "&&scope=s&&" + pairs(31) + "&&", wantValues: map[formParam]string{paramScope: "s"},
			wantCounts: map[formParam]int{paramScope: 1}},
		{name: "32 parameters", body: pairs(32)},
		{name: "33 parameters", body: pairs(33), wantErr: errTooManyParameters},
		{name: "33 with repeats", body: strings.Repeat("scope=s&", 33), wantErr: errTooManyParameters},
		{name: "about 2,700 names", body: pairs(2700), wantErr: errTooManyParameters},
		{name: "counted before a later bad pair", body: pairs(33) + "&scope=%zz", wantErr: errTooManyParameters},
		{name: "a bad escape in a known value", body: "scope=%zz", wantErr: badRequest("invalid_request", "")},
		{name: "a bad escape in a name", body: "sc%zzope=s", wantErr: badRequest("invalid_request", "")},
		{name: "a semicolon", body: "scope=a;b", wantErr: badRequest("invalid_request", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := parseForm(tt.body)
			switch {
			case tt.wantErr == errTooManyParameters:
				if err != errTooManyParameters {
					t.Fatalf("err = %v, want %v", err, errTooManyParameters)
				}
				return
			case tt.wantErr != nil:
				if err == nil || err == errTooManyParameters || err.code != tt.wantErr.code || err.status != 400 {
					t.Fatalf("err = %v, want 400 %s", err, tt.wantErr.code)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for p := range formParams {
				if form.get(p) != tt.wantValues[p] || form.counts[p] != tt.wantCounts[p] {
					t.Errorf("%s: %q given %d times, want %q %d times", formParamNames[p], form.get(p), form.counts[p], tt.wantValues[p], tt.wantCounts[p])
				}
			}
		})
	}
}

// BenchmarkParseForm measures parseForm's work on a usual token-exchange
// form and on the 16 KiB form of about 2,700 names that it refuses at the
// 33rd parameter.
func BenchmarkParseForm(b *testing.B) {
	usual := "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=" +
		strings.Repeat("x", 600) + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=livekit&scope=room%3Astandup"
	var names strings.Builder
	for i := 0; names.Len() < 16<<10-8; i++ {
		fmt.Fprintf(&names, "n%d=&", i)
	}
	for _, bc := range []struct{ name, body string }{
		{"usual", usual},
		{"16 KiB of names refused", names.String()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				_, _ = parseForm(bc.body)
			}
		})
	}
}
