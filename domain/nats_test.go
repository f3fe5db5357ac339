package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

func TestParseNATSSubject(t *testing.T) {
	tests := []struct {
		subject string
		wantErr bool
	}{
		{"org.{orgId}.>", false},
		{"org.{orgId}.chat", false},
		{"org.{orgId}.*.events", false},
		{"user.{userId}.inbox", false},
		{"_INBOX.{userId}.>", false},
		{"org.{orgId}.{userId}.presence", false},
		{"org.{orgId}", true},
		{">", true},
		{"_INBOX.>", true},
		{"org.*.>", true},
		{"org.org_1.>", true},
		{"user.{orgId}.x", true},
		{"billing.{orgId}.x", true},
		{"org.{orgId}.>.x", true},
		{"org.{orgId}..x", true},
		{"org.{orgId}.x*", true},
		{"org.{orgId}.a>", true},
		{"org.{orgId}.pre{userId}", true},
		{"org.{orgId}.{tenant}", true},
		{"org.{orgId}.a b", true},
		{"org.{orgId}.é", true},
		{"org.{orgId}.x.", true},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			err := domain.ParseNATSSubject(tt.subject)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, domain.ErrInvalidPolicy) {
				t.Fatalf("err = %v, want %v", err, domain.ErrInvalidPolicy)
			}
		})
	}
}

func TestNATSRights(t *testing.T) {
	defaults := domain.NATSRules{}.DefaultSection().(domain.NATSRules)
	custom := domain.NATSRules{
		Connect: []domain.Subjects{{Roles: []string{"admin", "member"}}},
		Publish: []domain.NATSSubjectRule{{Subjects: domain.Subjects{Permissions: []string{"chat:write"}}, Names: []string{"org.{orgId}.chat"}}},
		Subscribe: []domain.NATSSubjectRule{
			{Subjects: domain.Subjects{Roles: []string{domain.AnyRole}}, Names: []string{"user.{userId}.>", "org.{orgId}.chat"}},
			{Subjects: domain.Subjects{Roles: []string{"admin"}}, Names: []string{"org.{orgId}.chat"}},
		},
	}
	chatWriter, err := domain.NewPermissions([]string{"chat:write"})
	if err != nil {
		t.Fatal(err)
	}
	inbox := func(user string) string { return "_INBOX." + user + ".>" }
	tests := []struct {
		name          string
		rules         domain.NATSRules
		caller        domain.Principal
		wantPublish   []string
		wantSubscribe []string
		wantErr       error
	}{
		{name: "admin publishes and subscribes in its organization", rules: defaults,
			caller:      domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "admin"},
			wantPublish: []string{"org.org_1.>"}, wantSubscribe: []string{inbox("user_1"), "org.org_1.>"}},
		{name: "member", rules: defaults, caller: domain.Principal{UserID: "user_2", OrgID: "org_1", Role: "member"},
			wantPublish: []string{"org.org_1.>"}, wantSubscribe: []string{inbox("user_2"), "org.org_1.>"}},
		{name: "an identity naming no role is a member", rules: defaults, caller: domain.Principal{UserID: "user_3", OrgID: "org_1"},
			wantPublish: []string{"org.org_1.>"}, wantSubscribe: []string{inbox("user_3"), "org.org_1.>"}},
		{name: "viewer publishes only replies", rules: defaults, caller: domain.Principal{UserID: "user_4", OrgID: "org_1", Role: "viewer"},
			wantSubscribe: []string{inbox("user_4"), "org.org_1.>"}},
		{name: "an unknown role publishes only replies", rules: defaults, caller: domain.Principal{UserID: "user_5", OrgID: "org_1", Role: "auditor"},
			wantSubscribe: []string{inbox("user_5"), "org.org_1.>"}},
		{name: "no organization", rules: defaults, caller: domain.Principal{UserID: "user_6"}, wantErr: domain.ErrNoOrganization},
		{name: "an organization id holding a dot", rules: defaults, caller: domain.Principal{UserID: "user_7", OrgID: "org.1", Role: "member"},
			wantErr: domain.ErrUnsupportedIdentifier},
		{name: "a user id holding a wildcard", rules: defaults, caller: domain.Principal{UserID: "user_>", OrgID: "org_1", Role: "member"},
			wantErr: domain.ErrUnsupportedIdentifier},
		{name: "a policy leaving a role out of connect", rules: custom, caller: domain.Principal{UserID: "user_8", OrgID: "org_1", Role: "viewer"},
			wantErr: domain.ErrTransportNotAllowed},
		{name: "a permission grants publish; duplicate subjects once", rules: custom,
			caller:      domain.Principal{UserID: "user_9", OrgID: "org_1", Role: "admin", Permissions: chatWriter},
			wantPublish: []string{"org.org_1.chat"}, wantSubscribe: []string{"org.org_1.chat", "user.user_9.>"}},
		{name: "no section: nobody connects", caller: domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "admin"},
			wantErr: domain.ErrTransportNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rules.Rights(tt.caller)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(got.Publish, tt.wantPublish) || !slices.Equal(got.Subscribe, tt.wantSubscribe) || !got.Respond {
				t.Fatalf("rights %+v, want publish %v subscribe %v and respond", got, tt.wantPublish, tt.wantSubscribe)
			}
		})
	}
}

func TestNATSRulesProblems(t *testing.T) {
	if problems := (domain.NATSRules{}).DefaultSection().SectionProblems(nil); len(problems) != 0 {
		t.Fatalf("the default section has problems: %v", problems)
	}
	bad := domain.NATSRules{
		Connect: []domain.Subjects{{}},
		Publish: []domain.NATSSubjectRule{
			{Subjects: domain.Subjects{Roles: []string{"admin"}}, Names: []string{"_INBOX.>", "org.{orgId}.x", "org.{orgId}.x"}},
			{Subjects: domain.Subjects{Roles: []string{"admin"}}},
		},
		Subscribe: []domain.NATSSubjectRule{{Subjects: domain.Subjects{Roles: []string{"*"}}, Names: []string{">"}}},
	}
	var got []string
	for _, p := range bad.SectionProblems(nil) {
		got = append(got, p.String())
	}
	for _, want := range []string{"connect[0]", "publish[0].subjects[0]", "duplicate subject", "publish[1].subjects: the rule names no subject", "subscribe[0].subjects[0]"} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem names %q: %v", want, got)
		}
	}
}

func TestNewNATSUserClaims(t *testing.T) {
	now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	in := domain.Issuance{Issuer: "ASIGNING", ID: "id-1", Now: now, TTL: 10 * time.Minute}
	member := domain.Principal{UserID: "user_1", OrgID: "org_1"}
	perms := domain.NATSPermissions{Subscribe: []string{"org.org_1.>"}, Respond: true}
	tests := []struct {
		name    string
		caller  domain.Principal
		key     string
		account string
		perms   domain.NATSPermissions
		in      domain.Issuance
		wantErr error
	}{
		{name: "valid", caller: member, key: "UKEY", account: "AACCOUNT", perms: perms, in: in},
		{name: "no organization", caller: domain.Principal{UserID: "user_1"}, key: "UKEY", account: "AACCOUNT", perms: perms, in: in,
			wantErr: domain.ErrNoOrganization},
		{name: "no publish subject and no response permission would publish anything", caller: member, key: "UKEY", account: "AACCOUNT",
			perms: domain.NATSPermissions{Subscribe: []string{"org.org_1.>"}}, in: in, wantErr: domain.ErrInvalidClaims},
		{name: "no account", caller: member, key: "UKEY", perms: perms, in: in, wantErr: domain.ErrInvalidClaims},
		{name: "no key", caller: member, account: "AACCOUNT", perms: perms, in: in, wantErr: domain.ErrInvalidClaims},
		{name: "no issuer", caller: member, key: "UKEY", account: "AACCOUNT", perms: perms, in: domain.Issuance{ID: "id", Now: now, TTL: time.Minute},
			wantErr: domain.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := domain.NewNATSUserClaims(tt.caller, tt.key, true, tt.account, tt.perms, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.Subject != "UKEY" || c.Issuer != "ASIGNING" || c.Name != "user_1" || c.IssuerAccount != "AACCOUNT" || !c.Bearer ||
				!slices.Equal(c.Tags, []string{"org:org_1", "role:member"}) || c.InboxPrefix != "_INBOX.user_1" ||
				!c.ExpiresAt.Equal(now.Add(10*time.Minute)) || !c.NotBefore.IsZero() || c.Audience != "" {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestNewNATSSettings(t *testing.T) {
	valid := domain.NATSSettings{Servers: []string{"tls://n:4222"}, Account: "A", SigningKey: "AS", TTL: 10 * time.Minute}
	tests := []struct {
		name       string
		edit       func(*domain.NATSSettings)
		wantFields []string
	}{
		{name: "valid", edit: func(*domain.NATSSettings) {}},
		{name: "ttl under a minute", edit: func(s *domain.NATSSettings) { s.TTL = 30 * time.Second }, wantFields: []string{"TTL"}},
		{name: "ttl over a day", edit: func(s *domain.NATSSettings) { s.TTL = 25 * time.Hour }, wantFields: []string{"TTL"}},
		{name: "nothing", edit: func(s *domain.NATSSettings) { *s = domain.NATSSettings{TTL: time.Hour} },
			wantFields: []string{"Servers", "Account", "SigningKey"}},
		{name: "an empty server", edit: func(s *domain.NATSSettings) { s.Servers = []string{"tls://n", ""} }, wantFields: []string{"Servers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid
			tt.edit(&s)
			_, err := domain.NewNATSSettings(s)
			var fields []string
			for _, e := range unwrapJoined(err) {
				var se *domain.SettingError
				if errors.As(e, &se) {
					fields = append(fields, se.Field)
				}
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Fatalf("fields %v (err %v), want %v", fields, err, tt.wantFields)
			}
		})
	}
}

func unwrapJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fixedKeys accepts keys that start with U and makes UFRESH.
type fixedKeys struct{}

func (fixedKeys) CheckUserKey(k string) error {
	if !strings.HasPrefix(k, "U") {
		return domain.ErrInvalidUserKey
	}
	return nil
}

func (fixedKeys) NewUserKey() (string, error) { return "UFRESH", nil }

func TestNATSDefinition(t *testing.T) {
	s := domain.NATSSettings{Servers: []string{"tls://a:4222", "wss://a"}, Account: "AACC", SigningKey: "ASIGN", TTL: time.Minute}
	def, err := domain.NATSDefinition(s, fixedKeys{})
	if err != nil {
		t.Fatal(err)
	}
	rules := domain.PolicyRules{Version: domain.PolicyVersion, Sections: []domain.PolicySection{domain.NATSRules{}.DefaultSection()}}
	member := domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "member"}
	in := domain.Issuance{Issuer: def.Issuer(), ID: "id", Now: time.Now(), TTL: def.TTL()}
	if def.Kind() != domain.GrantNATS || def.Issuer() != "ASIGN" || def.Audience() != "" {
		t.Fatalf("definition %+v", def)
	}

	if _, err := def.Authorize(rules, member, domain.NATSRequest{UserPublicKey: "SUSEED"}); !errors.Is(err, domain.ErrInvalidUserKey) {
		t.Fatalf("a seed as the user key: %v", err)
	}
	for _, tt := range []struct {
		key, wantSub string
		wantBearer   bool
	}{{"", "UFRESH", true}, {"UCALLER", "UCALLER", false}} {
		perms, err := def.Authorize(rules, member, domain.NATSRequest{UserPublicKey: tt.key})
		if err != nil {
			t.Fatal(err)
		}
		c, err := def.Claims(member, domain.NATSRequest{UserPublicKey: tt.key}, perms, in)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != tt.wantSub || c.Bearer != tt.wantBearer {
			t.Fatalf("key %q: subject %s bearer %v", tt.key, c.Subject, c.Bearer)
		}
		g := def.Result(domain.Grant{Token: "jwt"}, c)
		if g.ServerURL != "tls://a:4222" || !slices.Equal(g.Servers, s.Servers) || g.InboxPrefix != "_INBOX.user_1" || g.Token != "jwt" {
			t.Fatalf("grant %+v", g)
		}
	}
}
