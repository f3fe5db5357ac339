package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/domain"
)

func TestSafeIdentifier(t *testing.T) {
	for s, want := range map[string]bool{
		"org_01HXYZ": true, "user_01H-a": true, "A": true, strings.Repeat("a", domain.MaxIdentifierBytes): true,
		"": false, "org.01": false, "org:01": false, "org/01": false, "a b": false, "é": false, "a#b": false, "{orgId}": false,
		strings.Repeat("a", domain.MaxIdentifierBytes+1): false,
	} {
		if got := domain.SafeIdentifier(s); got != want {
			t.Errorf("SafeIdentifier(%q) = %t, want %t", s, got, want)
		}
	}
}

func TestSubjectsMatches(t *testing.T) {
	perms, err := domain.NewPermissions([]string{"livekit:publish"})
	if err != nil {
		t.Fatal(err)
	}
	viewer := domain.Principal{UserID: "u", OrgID: "o", Role: "viewer", Permissions: perms}
	tests := []struct {
		name     string
		subjects domain.Subjects
		caller   domain.Principal
		want     bool
	}{
		{"role", domain.Subjects{Roles: []string{"admin", "viewer"}}, viewer, true},
		{"other role", domain.Subjects{Roles: []string{"admin"}}, viewer, false},
		{"any role", domain.Subjects{Roles: []string{domain.AnyRole}}, viewer, true},
		{"permission", domain.Subjects{Permissions: []string{"livekit:publish"}}, viewer, true},
		{"other permission", domain.Subjects{Permissions: []string{"livekit:admin"}}, viewer, false},
		{"no role is member", domain.Subjects{Roles: []string{domain.DefaultRole}}, domain.Principal{UserID: "u", OrgID: "o"}, true},
		{"roles are case-sensitive", domain.Subjects{Roles: []string{"Viewer"}}, viewer, false},
		{"empty", domain.Subjects{}, viewer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.subjects.Matches(tt.caller); got != tt.want {
				t.Fatalf("Matches = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestLiveKitRightsWith(t *testing.T) {
	var r domain.LiveKitRights
	for _, right := range domain.LiveKitRightNames() {
		if !right.Valid() {
			t.Errorf("%s is not Valid", right)
		}
		r = r.With(right)
	}
	all := domain.LiveKitRights{CanPublish: true, CanSubscribe: true, CanPublishData: true, CanUpdateOwnMetadata: true, RoomAdmin: true, RoomCreate: true}
	if r != all {
		t.Fatalf("every right gives %+v", r)
	}
	if (domain.LiveKitRights{}).With("roomJoin") != (domain.LiveKitRights{}) || domain.LiveKitRight("roomJoin").Valid() {
		t.Fatal("an unknown right counts")
	}
}

func validRules() domain.PolicyRules {
	return domain.PolicyRules{
		Version: domain.PolicyVersion,
		Sections: []domain.PolicySection{
			domain.LiveKitRules{{Subjects: domain.Subjects{Roles: []string{"*"}}, Rights: []domain.LiveKitRight{domain.CanSubscribe}}},
			domain.CentrifugoRules{
				Connect:             []domain.Subjects{{Permissions: []string{"rt:connect"}}},
				Subscribe:           []domain.ChannelRule{{Subjects: domain.Subjects{Roles: []string{"admin"}}, Channels: []string{"org:{orgId}.*"}}},
				ServerSubscriptions: []domain.ChannelRule{{Subjects: domain.Subjects{Roles: []string{"admin"}}, Channels: []string{"user:{userId}"}}},
			},
		},
	}
}

// liveKit and centrifugo are r's sections; they share r's lists, so a test
// edits r through them.
func liveKit(r *domain.PolicyRules) domain.LiveKitRules {
	return domain.PolicySectionOf[domain.LiveKitRules](*r)
}

func centrifugo(r *domain.PolicyRules) domain.CentrifugoRules {
	return domain.PolicySectionOf[domain.CentrifugoRules](*r)
}

func TestPolicyRulesProblems(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*domain.PolicyRules)
		wantPath string
		wantMsg  string
	}{
		{"missing version", func(r *domain.PolicyRules) { r.Version = 0 }, "version", "missing"},
		{"future version", func(r *domain.PolicyRules) { r.Version = 2 }, "version", "2 is not a supported version"},
		{"section twice", func(r *domain.PolicyRules) { r.Sections = append(r.Sections, domain.LiveKitRules{}) }, "livekit", "appears twice"},
		{"empty livekit rule", func(r *domain.PolicyRules) { liveKit(r)[0].Roles = nil }, "livekit[0]", "empty rule"},
		{"no right", func(r *domain.PolicyRules) { liveKit(r)[0].Rights = nil }, "livekit[0].rights", "grants no right"},
		{"unknown right", func(r *domain.PolicyRules) { liveKit(r)[0].Rights = append(liveKit(r)[0].Rights, "roomJoin") }, "livekit[0].rights[1]", `unknown right "roomJoin"`},
		{"duplicate right", func(r *domain.PolicyRules) { liveKit(r)[0].Rights = append(liveKit(r)[0].Rights, domain.CanSubscribe) }, "livekit[0].rights[1]", "duplicate right"},
		{"duplicate role", func(r *domain.PolicyRules) { liveKit(r)[0].Roles = append(liveKit(r)[0].Roles, "*") }, "livekit[0].roles[1]", "duplicate role"},
		{"blank role", func(r *domain.PolicyRules) { liveKit(r)[0].Roles = append(liveKit(r)[0].Roles, " ") }, "livekit[0].roles[1]", "white space"},
		{"empty connect rule", func(r *domain.PolicyRules) { centrifugo(r).Connect[0] = domain.Subjects{} }, "centrifugo.connect[0]", "empty rule"},
		{"star permission", func(r *domain.PolicyRules) { centrifugo(r).Connect[0].Permissions = []string{"*"} }, "centrifugo.connect[0].permissions[0]", "every role"},
		{"duplicate permission", func(r *domain.PolicyRules) { centrifugo(r).Connect[0].Permissions = []string{"a", "a"} }, "centrifugo.connect[0].permissions[1]", "duplicate permission"},
		{"empty permission", func(r *domain.PolicyRules) { centrifugo(r).Connect[0].Permissions = []string{""} }, "centrifugo.connect[0].permissions[0]", "empty"},
		{"no channel", func(r *domain.PolicyRules) { centrifugo(r).Subscribe[0].Channels = nil }, "centrifugo.subscribe[0].channels", "no channel"},
		{"bad pattern", func(r *domain.PolicyRules) { centrifugo(r).Subscribe[0].Channels = []string{"org:*"} }, "centrifugo.subscribe[0].channels[0]", "* may only end"},
		{"placeholders side by side", func(r *domain.PolicyRules) { centrifugo(r).Subscribe[0].Channels = []string{"chat:{orgId}_{userId}"} },
			"centrifugo.subscribe[0].channels[0]", `placeholder {orgId} is followed by '_'`},
		{"letter before a placeholder", func(r *domain.PolicyRules) { centrifugo(r).ServerSubscriptions[0].Channels = []string{"chat:x{orgId}"} },
			"centrifugo.serverSubscriptions[0].channels[0]", `placeholder {orgId} follows 'x'`},
		{"duplicate pattern", func(r *domain.PolicyRules) { centrifugo(r).Subscribe[0].Channels = []string{"a", "a"} }, "centrifugo.subscribe[0].channels[1]", "duplicate channel"},
		{"wildcard server subscription", func(r *domain.PolicyRules) { centrifugo(r).ServerSubscriptions[0].Channels = []string{"org:{orgId}.*"} },
			"centrifugo.serverSubscriptions[0].channels[0]", "server-side subscription names one channel"},
	}
	if err := validRules().Validate(); err != nil {
		t.Fatalf("valid rules: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRules()
			tt.edit(&r)
			problems := r.Problems()
			if len(problems) != 1 {
				t.Fatalf("problems %v, want exactly one", problems)
			}
			if got := problems[0].Path.String(); got != tt.wantPath || !strings.Contains(problems[0].Message, tt.wantMsg) {
				t.Fatalf("problem %q at %q, want %q at %q", problems[0].Message, got, tt.wantMsg, tt.wantPath)
			}
			err := r.Validate()
			var pe *domain.PolicyError
			if !errors.Is(err, domain.ErrInvalidPolicy) || !errors.As(err, &pe) || len(pe.Problems) != 1 {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

func TestPolicyErrorNamesEveryProblem(t *testing.T) {
	r := validRules()
	r.Version = 3
	liveKit(&r)[0].Rights = []domain.LiveKitRight{"fly"}
	centrifugo(&r).Subscribe[0].Channels = []string{"{x}"}
	err := r.Validate()
	for _, want := range []string{"3 problem(s)", "version: 3", `livekit[0].rights[0]: unknown right "fly"`, `centrifugo.subscribe[0].channels[0]: pattern "{x}"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	p := domain.PolicyProblem{Line: 7, Path: domain.PolicyPath{{Field: "livekit"}, {Index: 2}}, Message: "m"}
	if p.String() != "line 7: livekit[2]: m" {
		t.Errorf("String() = %q", p.String())
	}
}

func TestPolicySections(t *testing.T) {
	keys := map[string]bool{}
	for _, s := range domain.PolicySections() {
		if keys[s.PolicyKey()] || s.PolicyKey() == "version" {
			t.Errorf("section key %q is taken", s.PolicyKey())
		}
		keys[s.PolicyKey()] = true
		if problems := s.SectionProblems(nil); len(problems) != 0 {
			t.Errorf("the empty %s section has problems: %v", s.PolicyKey(), problems)
		}
		if problems := s.DefaultSection().SectionProblems(nil); len(problems) != 0 {
			t.Errorf("the default %s section has problems: %v", s.PolicyKey(), problems)
		}
	}
	// A section left out gives nothing.
	r := domain.PolicyRules{Version: domain.PolicyVersion}
	if _, ok := r.Section("livekit"); ok || domain.PolicySectionOf[domain.LiveKitRules](r) != nil {
		t.Fatal("a policy without sections has one")
	}
	if _, err := domain.PolicySectionOf[domain.LiveKitRules](r).Rights(domain.Principal{UserID: "u", OrgID: "o"}); !errors.Is(err, domain.ErrTransportNotAllowed) {
		t.Fatalf("no section: %v", err)
	}
}
