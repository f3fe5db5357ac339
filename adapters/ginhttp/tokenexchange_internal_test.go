package ginhttp

import (
	"net/url"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			en := tt.enabled
			if en == nil {
				en = enabled
			}
			x, err := parseExchange(tt.form, en)
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
			if x.kind != tt.wantKind || x.room != tt.wantRoom || x.channel != tt.wantChan || x.subject != "eyJ.a.b" {
				t.Fatalf("parsed %+v", x)
			}
		})
	}
}
