package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

func TestValidateChannel(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		wantErr error
	}{
		{name: "namespace and name", channel: "org:org_01.lobby"},
		{name: "255 bytes", channel: strings.Repeat("c", domain.MaxChannelBytes)},
		{name: "unicode", channel: "org:été"},
		{name: "empty", channel: "", wantErr: domain.ErrInvalidChannel},
		{name: "256 bytes", channel: strings.Repeat("c", domain.MaxChannelBytes+1), wantErr: domain.ErrInvalidChannel},
		{name: "space", channel: "org:a b", wantErr: domain.ErrInvalidChannel},
		{name: "newline", channel: "org:a\n", wantErr: domain.ErrInvalidChannel},
		{name: "NUL", channel: "org:\x00", wantErr: domain.ErrInvalidChannel},
		{name: "ideographic space", channel: "org:\u3000", wantErr: domain.ErrInvalidChannel},
		{name: "invalid UTF-8", channel: "org:\xff", wantErr: domain.ErrInvalidChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := domain.ValidateChannel(tt.channel)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && tt.channel != "" && strings.Contains(err.Error(), tt.channel) {
				t.Fatalf("the error quotes the channel: %v", err)
			}
		})
	}
}

func TestChannelPattern(t *testing.T) {
	caller := domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "member"}
	tests := []struct {
		name     string
		pattern  string
		caller   domain.Principal
		channel  string
		want     bool
		parseErr bool
		matchErr error
	}{
		{name: "exact", pattern: "news", channel: "news", want: true},
		{name: "exact is not a prefix", pattern: "news", channel: "news.x"},
		{name: "org placeholder", pattern: "org:{orgId}", channel: "org:org_01", want: true},
		{name: "another org", pattern: "org:{orgId}", channel: "org:org_02"},
		{name: "wildcard", pattern: "org:{orgId}.*", channel: "org:org_01.lobby-2_A", want: true},
		{name: "wildcard needs a name", pattern: "org:{orgId}.*", channel: "org:org_01."},
		{name: "wildcard is not the prefix itself", pattern: "org:{orgId}.*", channel: "org:org_01"},
		{name: "wildcard name has no dot", pattern: "org:{orgId}.*", channel: "org:org_01.a.b"},
		{name: "wildcard name has no colon", pattern: "org:{orgId}.*", channel: "org:org_01.a:b"},
		{name: "wildcard of a longer org id", pattern: "org:{orgId}.*", channel: "org:org_012.x"},
		{name: "user placeholder", pattern: "user:{userId}", channel: "user:user_01H", want: true},
		{name: "both placeholders", pattern: "org:{orgId}.{userId}", channel: "org:org_01.user_01H", want: true},
		{name: "both placeholders and wildcard", pattern: "dm:{orgId}.{userId}.*", channel: "dm:org_01.user_01H.x", want: true},
		{name: "unsafe org id", pattern: "org:{orgId}.*", caller: domain.Principal{UserID: "u", OrgID: "org.01", Role: "member"},
			channel: "org:org.01.x", matchErr: domain.ErrUnsupportedIdentifier},
		{name: "unsafe user id", pattern: "user:{userId}", caller: domain.Principal{UserID: "a b", OrgID: "o", Role: "member"},
			channel: "user:a b", matchErr: domain.ErrUnsupportedIdentifier},
		{name: "unsafe id not used", pattern: "news", caller: domain.Principal{UserID: "a.b", OrgID: "o.p"}, channel: "news", want: true},
		{name: "no organization", pattern: "org:{orgId}", caller: domain.Principal{UserID: "u"}, channel: "org:", matchErr: domain.ErrNoOrganization},
		{name: "star inside", pattern: "org:*.x", parseErr: true},
		{name: "double wildcard", pattern: "org:{orgId}.*.*", parseErr: true},
		{name: "bare star", pattern: "*", parseErr: true},
		{name: "wildcard without prefix", pattern: ".*", parseErr: true},
		{name: "unknown placeholder", pattern: "org:{tenant}", parseErr: true},
		{name: "lower-case placeholder", pattern: "org:{orgid}", parseErr: true},
		{name: "stray brace", pattern: "org:{orgId", parseErr: true},
		{name: "placeholder alone", pattern: "{orgId}", channel: "org_01", want: true},
		{name: "placeholders between slashes", pattern: "dm/{orgId}/{userId}:inbox", channel: "dm/org_01/user_01H:inbox", want: true},
		{name: "placeholders side by side", pattern: "chat:{orgId}_{userId}", parseErr: true},
		{name: "placeholders joined by a dash", pattern: "chat:{orgId}-{userId}.*", parseErr: true},
		{name: "placeholders touching", pattern: "{orgId}{userId}", parseErr: true},
		{name: "letter before a placeholder", pattern: "chat:x{orgId}", parseErr: true},
		{name: "letter after a placeholder", pattern: "chat:{orgId}x", parseErr: true},
		{name: "non-ASCII before a placeholder", pattern: "é{orgId}", parseErr: true},
		{name: "wildcard straight after a placeholder", pattern: "org:{orgId}*", parseErr: true},
		{name: "space", pattern: "org: x", parseErr: true},
		{name: "empty", pattern: "", parseErr: true},
		{name: "too long", pattern: strings.Repeat("c", domain.MaxChannelBytes+1), parseErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := domain.ParseChannelPattern(tt.pattern)
			if (err != nil) != tt.parseErr {
				t.Fatalf("parse err = %v, want error %t", err, tt.parseErr)
			}
			if err != nil {
				if !errors.Is(err, domain.ErrInvalidPolicy) {
					t.Fatalf("parse err %v does not wrap ErrInvalidPolicy", err)
				}
				return
			}
			if p.String() != tt.pattern {
				t.Fatalf("String() = %q", p.String())
			}
			c := tt.caller
			if c == (domain.Principal{}) {
				c = caller
			}
			got, err := p.Match(c, tt.channel)
			if !errors.Is(err, tt.matchErr) {
				t.Fatalf("match err = %v, want %v", err, tt.matchErr)
			}
			if got != tt.want {
				t.Fatalf("Match(%q) = %t, want %t", tt.channel, got, tt.want)
			}
		})
	}
}

func TestNewCentrifugoConnectionClaims(t *testing.T) {
	in := issuance()
	in.Audience = "centrifugo"
	c, err := domain.NewCentrifugoConnectionClaims(domain.Principal{UserID: "user_01H", OrgID: "org_01"}, []string{"b", "a", "b"}, in)
	if err != nil {
		t.Fatal(err)
	}
	wantIat := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	if c.Subject != "user_01H" || c.Audience != "centrifugo" || c.Issuer != "gatepass" || c.ID != "jti-1" ||
		!c.IssuedAt.Equal(wantIat) || c.TTL() != time.Minute {
		t.Fatalf("registered claims %+v", c.Registered)
	}
	if c.Info != (domain.CentrifugoInfo{OrgID: "org_01", Role: domain.DefaultRole}) {
		t.Fatalf("info %+v: a member without a role is a %s", c.Info, domain.DefaultRole)
	}
	if !slices.Equal(c.Channels, []string{"a", "b"}) {
		t.Fatalf("channels %q", c.Channels)
	}
	none, err := domain.NewCentrifugoConnectionClaims(member, nil, in)
	if err != nil || none.Channels != nil {
		t.Fatalf("no channels: %v %q", err, none.Channels)
	}

	tests := []struct {
		name     string
		caller   domain.Principal
		channels []string
		edit     func(*domain.Issuance)
		wantErr  error
	}{
		{name: "no organization", caller: loner, wantErr: domain.ErrNoOrganization},
		{name: "invalid channel", caller: member, channels: []string{"ok", "not ok"}, wantErr: domain.ErrInvalidChannel},
		{name: "no audience", caller: member, edit: func(i *domain.Issuance) { i.Audience = "" }, wantErr: domain.ErrInvalidClaims},
		{name: "no subject", caller: domain.Principal{OrgID: "o"}, wantErr: domain.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := in
			if tt.edit != nil {
				tt.edit(&in)
			}
			if _, err := domain.NewCentrifugoConnectionClaims(tt.caller, tt.channels, in); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewCentrifugoSubscriptionClaims(t *testing.T) {
	in := issuance()
	in.Audience = "centrifugo"
	c, err := domain.NewCentrifugoSubscriptionClaims(member, "org:org_01.lobby", in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != member.UserID || c.Channel != "org:org_01.lobby" || c.Info != (domain.CentrifugoInfo{OrgID: "org_01", Role: "admin"}) {
		t.Fatalf("claims %+v", c)
	}
	tests := []struct {
		name    string
		caller  domain.Principal
		channel string
		wantErr error
	}{
		{name: "missing channel", caller: member, channel: "", wantErr: domain.ErrInvalidChannel},
		{name: "channel over 255 bytes", caller: member, channel: strings.Repeat("c", 256), wantErr: domain.ErrInvalidChannel},
		{name: "channel with a control character", caller: member, channel: "org:\x01", wantErr: domain.ErrInvalidChannel},
		{name: "no organization", caller: loner, channel: "news", wantErr: domain.ErrNoOrganization},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := domain.NewCentrifugoSubscriptionClaims(tt.caller, tt.channel, in); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
