package domain_test

import (
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

func liveKitIssuance() domain.Issuance {
	return domain.Issuance{Issuer: "APIkey1", ID: "jti-1", Now: issuedAt, TTL: 10 * time.Minute}
}

func TestNewLiveKitClaims(t *testing.T) {
	caller := domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "member"}
	memberRights := domain.LiveKitRights{CanPublish: true, CanSubscribe: true, CanPublishData: true}
	creator := memberRights.With(domain.RoomCreate)
	attrs := func(n, size int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m["k"+strconv.Itoa(i)] = strings.Repeat("v", size)
		}
		return m
	}
	tests := []struct {
		name    string
		caller  domain.Principal
		rights  domain.LiveKitRights
		req     domain.LiveKitRequest
		check   func(t *testing.T, c domain.LiveKitClaims)
		wantErr error
	}{
		{name: "defaults", req: domain.LiveKitRequest{Room: "standup"}, check: func(t *testing.T, c domain.LiveKitClaims) {
			wantIat := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
			want := domain.Registered{Issuer: "APIkey1", Subject: "user_01H", ID: "jti-1",
				IssuedAt: wantIat, NotBefore: wantIat, ExpiresAt: wantIat.Add(10 * time.Minute)}
			if c.Registered != want {
				t.Fatalf("registered\n got %+v\nwant %+v", c.Registered, want)
			}
			if c.Name != "user_01H" || c.Metadata != "" || c.RoomConfig != nil {
				t.Fatalf("name %q metadata %q config %s", c.Name, c.Metadata, c.RoomConfig)
			}
			if c.Video != (domain.LiveKitVideoGrant{Room: "org_01/standup", Rights: memberRights}) {
				t.Fatalf("video %+v", c.Video)
			}
			if a := c.Attributes; a.UserID != "user_01H" || a.OrgID != "org_01" || a.Role != "member" || a.Others != nil {
				t.Fatalf("attributes %+v", c.Attributes)
			}
		}},
		{name: "everything given", req: domain.LiveKitRequest{Room: "a-B_9", Identity: "user_01H#phone-2", Name: "Ada",
			Metadata: `{"seat":3}`, Attributes: map[string]string{"team": "blue", "userId": "forged", "orgId": "org_02", "role": "admin"}},
			check: func(t *testing.T, c domain.LiveKitClaims) {
				if c.Subject != "user_01H#phone-2" || c.Name != "Ada" || c.Metadata != `{"seat":3}` {
					t.Fatalf("sub %q name %q metadata %q", c.Subject, c.Name, c.Metadata)
				}
				a := c.Attributes
				if a.UserID != "user_01H" || a.OrgID != "org_01" || a.Role != "member" || !maps.Equal(a.Others, map[string]string{"team": "blue"}) {
					t.Fatalf("attributes %+v, want the verified values and team=blue", a)
				}
			}},
		{name: "only reserved attributes given", req: domain.LiveKitRequest{Room: "r", Attributes: map[string]string{"userId": "forged", "role": "admin"}},
			check: func(t *testing.T, c domain.LiveKitClaims) {
				want := domain.LiveKitAttributes{UserID: "user_01H", OrgID: "org_01", Role: "member"}
				if c.Attributes.UserID != want.UserID || c.Attributes.OrgID != want.OrgID || c.Attributes.Role != want.Role || c.Attributes.Others != nil {
					t.Fatalf("attributes %+v, want %+v", c.Attributes, want)
				}
			}},
		{name: "identity is the user id", req: domain.LiveKitRequest{Room: "r", Identity: "user_01H"}, check: func(t *testing.T, c domain.LiveKitClaims) {
			if c.Subject != "user_01H" {
				t.Fatalf("sub %q", c.Subject)
			}
		}},
		{name: "no role is member", caller: domain.Principal{UserID: "u", OrgID: "o"}, req: domain.LiveKitRequest{Room: "r"},
			check: func(t *testing.T, c domain.LiveKitClaims) {
				if c.Attributes.Role != domain.DefaultRole {
					t.Fatalf("role attribute %q", c.Attributes.Role)
				}
			}},
		{name: "room config with roomCreate", rights: creator, req: domain.LiveKitRequest{Room: "r", RoomConfig: json.RawMessage(`{ "emptyTimeout" : 30 }`)},
			check: func(t *testing.T, c domain.LiveKitClaims) {
				if string(c.RoomConfig) != `{"emptyTimeout":30}` || !c.Video.Rights.RoomCreate {
					t.Fatalf("config %s rights %+v", c.RoomConfig, c.Video.Rights)
				}
			}},
		{name: "limits reached", req: domain.LiveKitRequest{Room: strings.Repeat("r", 64), Identity: "user_01H#" + strings.Repeat("d", 32),
			Name: strings.Repeat("n", 128), Metadata: strings.Repeat("m", 1024), Attributes: attrs(16, 1024/16-3)}},
		{name: "reserved attributes do not count", req: domain.LiveKitRequest{Room: "r",
			Attributes: func() map[string]string { m := attrs(16, 10); m["userId"] = strings.Repeat("x", 2000); return m }()}},

		{name: "no organization", caller: domain.Principal{UserID: "u"}, req: domain.LiveKitRequest{Room: "r"}, wantErr: domain.ErrNoOrganization},
		{name: "unsafe organization", caller: domain.Principal{UserID: "u", OrgID: "org/01"}, req: domain.LiveKitRequest{Room: "r"}, wantErr: domain.ErrUnsupportedIdentifier},
		{name: "unsafe user", caller: domain.Principal{UserID: "u#1", OrgID: "o"}, req: domain.LiveKitRequest{Room: "r"}, wantErr: domain.ErrUnsupportedIdentifier},
		{name: "empty room", req: domain.LiveKitRequest{}, wantErr: domain.ErrInvalidRoom},
		{name: "room of 65", req: domain.LiveKitRequest{Room: strings.Repeat("r", 65)}, wantErr: domain.ErrInvalidRoom},
		{name: "room with slash", req: domain.LiveKitRequest{Room: "org_02/x"}, wantErr: domain.ErrInvalidRoom},
		{name: "room with dot", req: domain.LiveKitRequest{Room: "a.b"}, wantErr: domain.ErrInvalidRoom},
		{name: "room with space", req: domain.LiveKitRequest{Room: "a b"}, wantErr: domain.ErrInvalidRoom},
		{name: "another user", req: domain.LiveKitRequest{Room: "r", Identity: "user_02H"}, wantErr: domain.ErrIdentityMismatch},
		{name: "a longer user id", req: domain.LiveKitRequest{Room: "r", Identity: "user_01Hx"}, wantErr: domain.ErrIdentityMismatch},
		{name: "empty device", req: domain.LiveKitRequest{Room: "r", Identity: "user_01H#"}, wantErr: domain.ErrIdentityMismatch},
		{name: "device of 33", req: domain.LiveKitRequest{Room: "r", Identity: "user_01H#" + strings.Repeat("d", 33)}, wantErr: domain.ErrIdentityMismatch},
		{name: "device with hash", req: domain.LiveKitRequest{Room: "r", Identity: "user_01H#a#b"}, wantErr: domain.ErrIdentityMismatch},
		{name: "device with space", req: domain.LiveKitRequest{Room: "r", Identity: "user_01H#a b"}, wantErr: domain.ErrIdentityMismatch},
		{name: "name of 129 bytes", req: domain.LiveKitRequest{Room: "r", Name: strings.Repeat("n", 129)}, wantErr: domain.ErrInvalidParticipant},
		{name: "name not UTF-8", req: domain.LiveKitRequest{Room: "r", Name: "\xff"}, wantErr: domain.ErrInvalidParticipant},
		{name: "metadata over 1 KiB", req: domain.LiveKitRequest{Room: "r", Metadata: strings.Repeat("m", 1025)}, wantErr: domain.ErrInvalidParticipant},
		{name: "17 attributes", req: domain.LiveKitRequest{Room: "r", Attributes: attrs(17, 1)}, wantErr: domain.ErrInvalidParticipant},
		{name: "attributes over 1 KiB", req: domain.LiveKitRequest{Room: "r", Attributes: attrs(2, 511)}, wantErr: domain.ErrInvalidParticipant},
		{name: "empty attribute key", req: domain.LiveKitRequest{Room: "r", Attributes: map[string]string{"": "x"}}, wantErr: domain.ErrInvalidParticipant},
		{name: "attribute in LiveKit's namespace", req: domain.LiveKitRequest{Room: "r", Attributes: map[string]string{"lk.agent.state": "speaking"}},
			wantErr: domain.ErrInvalidParticipant},
		{name: "reserved attribute in another case", req: domain.LiveKitRequest{Room: "r", Attributes: map[string]string{"OrgId": "org_02"}},
			wantErr: domain.ErrInvalidParticipant},
		{name: "attribute value not UTF-8", req: domain.LiveKitRequest{Room: "r", Attributes: map[string]string{"team": "\xff"}},
			wantErr: domain.ErrInvalidParticipant},
		{name: "room config without roomCreate", rights: memberRights, req: domain.LiveKitRequest{Room: "r", RoomConfig: json.RawMessage(`{}`)}, wantErr: domain.ErrForbiddenField},
		{name: "room config not an object", rights: creator, req: domain.LiveKitRequest{Room: "r", RoomConfig: json.RawMessage(`[1]`)}, wantErr: domain.ErrInvalidRoom},
		{name: "room config null", rights: creator, req: domain.LiveKitRequest{Room: "r", RoomConfig: json.RawMessage(`null`)}, wantErr: domain.ErrInvalidRoom},
		{name: "room config not JSON", rights: creator, req: domain.LiveKitRequest{Room: "r", RoomConfig: json.RawMessage(`{x`)}, wantErr: domain.ErrInvalidRoom},
		{name: "room config too large", rights: creator, req: domain.LiveKitRequest{Room: "r",
			RoomConfig: json.RawMessage(`{"metadata":"` + strings.Repeat("m", 4096) + `"}`)}, wantErr: domain.ErrInvalidRoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.caller
			if c == (domain.Principal{}) {
				c = caller
			}
			rights := tt.rights
			if rights == (domain.LiveKitRights{}) {
				rights = memberRights
			}
			given := maps.Clone(tt.req.Attributes)
			got, err := domain.NewLiveKitClaims(c, rights, tt.req, liveKitIssuance())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !maps.Equal(given, tt.req.Attributes) {
				t.Fatal("the request's attributes were modified")
			}
			if err == nil && tt.check != nil {
				tt.check(t, got)
			}
		})
	}
	in := liveKitIssuance()
	in.Issuer = ""
	if _, err := domain.NewLiveKitClaims(caller, memberRights, domain.LiveKitRequest{Room: "r"}, in); !errors.Is(err, domain.ErrInvalidClaims) {
		t.Fatalf("no issuer: err = %v", err)
	}
}

func TestValidateAttributeName(t *testing.T) {
	tests := []struct {
		key     string
		wantErr error
	}{
		{key: "team"},
		{key: "lk"},
		{key: "lkx.state"},
		{key: "sip"},
		{key: "team.lk.x"},
		{key: "user_id"},
		{key: "roles"},
		{key: "Zoë-東京"},
		{key: strings.Repeat("k", 64)},
		{key: "", wantErr: domain.ErrInvalidParticipant},
		{key: strings.Repeat("k", 65), wantErr: domain.ErrInvalidParticipant},
		{key: "\xff", wantErr: domain.ErrInvalidParticipant},
		// LiveKit's and its SIP service's namespaces, in any letter case.
		{key: "lk.agent.state", wantErr: domain.ErrInvalidParticipant},
		{key: "LK.agent.state", wantErr: domain.ErrInvalidParticipant},
		{key: "Lk.", wantErr: domain.ErrInvalidParticipant},
		{key: "l\u212a.state", wantErr: domain.ErrInvalidParticipant}, // Kelvin sign
		{key: "sip.callID", wantErr: domain.ErrInvalidParticipant},
		{key: "SIP.phoneNumber", wantErr: domain.ErrInvalidParticipant},
		{key: "\u017fip.callID", wantErr: domain.ErrInvalidParticipant}, // long s
		// gatepass's namespace, in any letter case: its issue time is what
		// keeps a revoked participant out.
		{key: "gatepass.iat", wantErr: domain.ErrInvalidParticipant},
		{key: "GatePass.IAT", wantErr: domain.ErrInvalidParticipant},
		{key: "gatepass.", wantErr: domain.ErrInvalidParticipant},
		{key: "gatepa\u017fs.iat", wantErr: domain.ErrInvalidParticipant}, // long s
		{key: "gatepass"},
		{key: "team.gatepass.iat"},
		// The verified keys in another letter case.
		{key: "UserId", wantErr: domain.ErrInvalidParticipant},
		{key: "userid", wantErr: domain.ErrInvalidParticipant},
		{key: "ORGID", wantErr: domain.ErrInvalidParticipant},
		{key: "ROLE", wantErr: domain.ErrInvalidParticipant},
		{key: "u\u017ferId", wantErr: domain.ErrInvalidParticipant},
		// White space, control and format characters anywhere.
		{key: "role ", wantErr: domain.ErrInvalidParticipant},
		{key: " team", wantErr: domain.ErrInvalidParticipant},
		{key: "te am", wantErr: domain.ErrInvalidParticipant},
		{key: "team\t", wantErr: domain.ErrInvalidParticipant},
		{key: "team\u00a0", wantErr: domain.ErrInvalidParticipant},
		{key: "team\u3000", wantErr: domain.ErrInvalidParticipant},
		{key: "team\x00", wantErr: domain.ErrInvalidParticipant},
		{key: "team\x7f", wantErr: domain.ErrInvalidParticipant},
		{key: "team\u0085", wantErr: domain.ErrInvalidParticipant},
		{key: "role\u200b", wantErr: domain.ErrInvalidParticipant}, // zero-width space
		{key: "\ufeffteam", wantErr: domain.ErrInvalidParticipant}, // byte order mark
		{key: "team\u202e", wantErr: domain.ErrInvalidParticipant}, // right-to-left override
		{key: "te\u00adam", wantErr: domain.ErrInvalidParticipant}, // soft hyphen
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.key), func(t *testing.T) {
			if err := domain.ValidateAttributeName(tt.key); !errors.Is(err, tt.wantErr) {
				t.Fatalf("ValidateAttributeName(%q) = %v, want %v", tt.key, err, tt.wantErr)
			}
		})
	}
}

// TestReservedAttributeKeysKeepTheirContract: the exact keys userId, orgId
// and role are dropped and replaced, never refused, whatever the caller put
// in them.
func TestReservedAttributeKeysKeepTheirContract(t *testing.T) {
	caller := domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "viewer"}
	req := domain.LiveKitRequest{Room: "r", Attributes: map[string]string{
		"userId": "user_evil", "orgId": "org evil\u200b", "role": "admin\n", "team": "blue",
	}}
	c, err := domain.NewLiveKitClaims(caller, domain.LiveKitRights{CanSubscribe: true}, req, liveKitIssuance())
	if err != nil {
		t.Fatal(err)
	}
	a := c.Attributes
	if a.UserID != "user_01H" || a.OrgID != "org_01" || a.Role != "viewer" || len(a.Others) != 1 || a.Others["team"] != "blue" {
		t.Fatalf("attributes %+v", a)
	}
}

func TestReservedAttribute(t *testing.T) {
	for key, reserved := range map[string]bool{"userId": true, "orgId": true, "role": true, "Role": false, "team": false, "": false} {
		if domain.ReservedAttribute(key) != reserved {
			t.Errorf("ReservedAttribute(%q) = %v", key, !reserved)
		}
	}
}
