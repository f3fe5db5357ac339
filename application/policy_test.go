package application_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

func principal(t *testing.T, user, org, role string, permissions ...string) domain.Principal {
	t.Helper()
	p, err := domain.NewPrincipal(user, org, role)
	if err != nil {
		t.Fatal(err)
	}
	if p.Permissions, err = domain.NewPermissions(permissions); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultLiveKitRights(t *testing.T) {
	policy := application.DefaultPolicy()
	full := domain.LiveKitRights{CanPublish: true, CanSubscribe: true, CanPublishData: true}
	tests := []struct {
		name    string
		caller  domain.Principal
		want    domain.LiveKitRights
		wantErr error
	}{
		{name: "admin publishes but does not administer its room", caller: principal(t, "u1", "org_1", "admin"), want: full},
		{name: "member publishes", caller: principal(t, "u1", "org_1", "member"), want: full},
		{name: "no role is member", caller: principal(t, "u1", "org_1", ""), want: full},
		{name: "viewer joins and subscribes", caller: principal(t, "u1", "org_1", "viewer"), want: domain.LiveKitRights{CanSubscribe: true}},
		{name: "unknown role gets least privilege", caller: principal(t, "u1", "org_1", "auditor"), want: domain.LiveKitRights{CanSubscribe: true}},
		{name: "role names are case-sensitive", caller: principal(t, "u1", "org_1", "Admin"), want: domain.LiveKitRights{CanSubscribe: true}},
		{name: "livekit:publish lets a viewer publish", caller: principal(t, "u1", "org_1", "viewer", domain.PermissionLiveKitPublish), want: full},
		{name: "livekit:publish adds nothing to an admin", caller: principal(t, "u1", "org_1", "admin", domain.PermissionLiveKitPublish), want: full},
		{name: "livekit:room_admin lets an admin administer its room", caller: principal(t, "u1", "org_1", "admin", domain.PermissionLiveKitRoomAdmin),
			want: full.With(domain.RoomAdmin)},
		{name: "livekit:room_admin adds roomAdmin alone to a viewer", caller: principal(t, "u1", "org_1", "viewer", domain.PermissionLiveKitRoomAdmin),
			want: domain.LiveKitRights{CanSubscribe: true, RoomAdmin: true}},
		{name: "other permissions give nothing", caller: principal(t, "u1", "org_1", "viewer", "livekit:admin", "livekit:roomCreate", "livekit:roomAdmin"),
			want: domain.LiveKitRights{CanSubscribe: true}},
		{name: "no organization", caller: principal(t, "u1", "", ""), wantErr: domain.ErrNoOrganization},
		{name: "organization id unfit for a room name", caller: principal(t, "u1", "org.1", "admin"), wantErr: domain.ErrUnsupportedIdentifier},
		{name: "user id unfit for an identity", caller: principal(t, "u#1", "org_1", "admin"), wantErr: domain.ErrUnsupportedIdentifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := application.PolicySectionOf[domain.LiveKitRules](policy).Rights(tt.caller)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("rights %+v, want %+v", got, tt.want)
			}
			if got.CanUpdateOwnMetadata || got.RoomCreate {
				t.Fatal("a default role updates its own metadata or creates rooms")
			}
		})
	}
}

func TestDefaultCentrifugo(t *testing.T) {
	policy := application.DefaultPolicy()
	viewer := principal(t, "user_1", "org_1", "viewer")
	admin := principal(t, "user_1", "org_1", "admin")
	tests := []struct {
		name    string
		caller  domain.Principal
		channel string
		wantErr error
	}{
		{name: "org channel", caller: viewer, channel: "org:org_1"},
		{name: "org sub-channel", caller: viewer, channel: "org:org_1.lobby"},
		{name: "admin too", caller: admin, channel: "org:org_1.x_y-Z"},
		{name: "another org", caller: admin, channel: "org:org_2", wantErr: domain.ErrChannelNotAllowed},
		{name: "another org's sub-channel", caller: admin, channel: "org:org_2.lobby", wantErr: domain.ErrChannelNotAllowed},
		{name: "prefix trick", caller: admin, channel: "org:org_1x.lobby", wantErr: domain.ErrChannelNotAllowed},
		{name: "nested name", caller: admin, channel: "org:org_1.a.b", wantErr: domain.ErrChannelNotAllowed},
		{name: "empty name", caller: admin, channel: "org:org_1.", wantErr: domain.ErrChannelNotAllowed},
		{name: "user channel needs a rule", caller: admin, channel: "user:user_1", wantErr: domain.ErrChannelNotAllowed},
		{name: "invalid channel", caller: admin, channel: "org:org_1 x", wantErr: domain.ErrInvalidChannel},
		{name: "empty channel", caller: admin, channel: "", wantErr: domain.ErrInvalidChannel},
		{name: "no organization", caller: principal(t, "user_1", "", ""), channel: "org:", wantErr: domain.ErrNoOrganization},
		{name: "unsafe organization id", caller: principal(t, "user_1", "org.1", "admin"), channel: "org:org.1.x", wantErr: domain.ErrUnsupportedIdentifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := application.PolicySectionOf[domain.CentrifugoRules](policy).MaySubscribe(tt.caller, tt.channel); !errors.Is(err, tt.wantErr) {
				t.Fatalf("MaySubscribe(%q) = %v, want %v", tt.channel, err, tt.wantErr)
			}
		})
	}
	for _, caller := range []domain.Principal{viewer, admin, principal(t, "user_1", "org_1", "auditor")} {
		if err := application.PolicySectionOf[domain.CentrifugoRules](policy).MayConnect(caller); err != nil {
			t.Errorf("%s may not connect: %v", caller.Role, err)
		}
		if ch, err := application.PolicySectionOf[domain.CentrifugoRules](policy).ServerChannels(caller); err != nil || ch != nil {
			t.Errorf("%s server channels %q, %v; want none", caller.Role, ch, err)
		}
	}
	if err := application.PolicySectionOf[domain.CentrifugoRules](policy).MayConnect(principal(t, "user_1", "", "")); !errors.Is(err, domain.ErrNoOrganization) {
		t.Errorf("no organization connects: %v", err)
	}
	if _, err := application.PolicySectionOf[domain.CentrifugoRules](policy).ServerChannels(principal(t, "user_1", "", "")); !errors.Is(err, domain.ErrNoOrganization) {
		t.Errorf("no organization gets server channels: %v", err)
	}
}

func customPolicy(t *testing.T) *application.Policy {
	t.Helper()
	p, err := application.NewPolicy(domain.PolicyRules{
		Version: domain.PolicyVersion,
		Sections: []domain.PolicySection{
			domain.LiveKitRules{
				{Subjects: domain.Subjects{Roles: []string{"host"}}, Rights: []domain.LiveKitRight{domain.CanPublish, domain.RoomCreate, domain.CanUpdateOwnMetadata}},
				{Subjects: domain.Subjects{Permissions: []string{"lk:watch"}}, Rights: []domain.LiveKitRight{domain.CanSubscribe}},
			},
			domain.CentrifugoRules{
				Connect: []domain.Subjects{{Roles: []string{"host"}, Permissions: []string{"rt:connect"}}},
				Subscribe: []domain.ChannelRule{
					{Subjects: domain.Subjects{Roles: []string{"host"}}, Channels: []string{"user:{userId}", "org:{orgId}.{userId}.*", "news"}},
				},
				ServerSubscriptions: []domain.ChannelRule{
					{Subjects: domain.Subjects{Roles: []string{"host"}}, Channels: []string{"user:{userId}", "org:{orgId}"}},
					{Subjects: domain.Subjects{Permissions: []string{"rt:connect"}}, Channels: []string{"org:{orgId}", "news"}},
				},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCustomPolicy(t *testing.T) {
	p := customPolicy(t)
	host := principal(t, "user_1", "org_1", "host")
	hostWatcher := principal(t, "user_1", "org_1", "host", "lk:watch", "rt:connect")
	member := principal(t, "user_2", "org_1", "member")
	connector := principal(t, "user_3", "org_1", "member", "rt:connect")

	if got, err := application.PolicySectionOf[domain.LiveKitRules](p).Rights(host); err != nil || got != (domain.LiveKitRights{CanPublish: true, RoomCreate: true, CanUpdateOwnMetadata: true}) {
		t.Errorf("host rights %+v, %v", got, err)
	}
	if got, err := application.PolicySectionOf[domain.LiveKitRules](p).Rights(hostWatcher); err != nil || got != (domain.LiveKitRights{CanPublish: true, CanSubscribe: true, RoomCreate: true, CanUpdateOwnMetadata: true}) {
		t.Errorf("rules add up: %+v, %v", got, err)
	}
	if _, err := application.PolicySectionOf[domain.LiveKitRules](p).Rights(member); !errors.Is(err, domain.ErrTransportNotAllowed) {
		t.Errorf("no LiveKit rule for a member: %v", err)
	}
	if err := application.PolicySectionOf[domain.CentrifugoRules](p).MayConnect(member); !errors.Is(err, domain.ErrTransportNotAllowed) {
		t.Errorf("no connect rule for a member: %v", err)
	}
	if err := application.PolicySectionOf[domain.CentrifugoRules](p).MaySubscribe(member, "news"); !errors.Is(err, domain.ErrTransportNotAllowed) {
		t.Errorf("a caller that may not connect subscribes: %v", err)
	}
	if err := application.PolicySectionOf[domain.CentrifugoRules](p).MayConnect(connector); err != nil {
		t.Errorf("a permission connects: %v", err)
	}
	for channel, want := range map[string]error{
		"user:user_1": nil, "org:org_1.user_1.x": nil, "news": nil,
		"user:user_2": domain.ErrChannelNotAllowed, "org:org_1.user_2.x": domain.ErrChannelNotAllowed, "org:org_1": domain.ErrChannelNotAllowed,
	} {
		if err := application.PolicySectionOf[domain.CentrifugoRules](p).MaySubscribe(host, channel); !errors.Is(err, want) {
			t.Errorf("host MaySubscribe(%q) = %v, want %v", channel, err, want)
		}
	}
	if err := application.PolicySectionOf[domain.CentrifugoRules](p).MaySubscribe(connector, "news"); !errors.Is(err, domain.ErrChannelNotAllowed) {
		t.Errorf("server-side subscriptions are not client subscriptions: %v", err)
	}
	if ch, err := application.PolicySectionOf[domain.CentrifugoRules](p).ServerChannels(hostWatcher); err != nil || !slices.Equal(ch, []string{"news", "org:org_1", "user:user_1"}) {
		t.Errorf("server channels %q, %v", ch, err)
	}
	if ch, err := application.PolicySectionOf[domain.CentrifugoRules](p).ServerChannels(connector); err != nil || !slices.Equal(ch, []string{"news", "org:org_1"}) {
		t.Errorf("server channels %q, %v", ch, err)
	}
	unsafe := principal(t, "user.1", "org_1", "host")
	if _, err := application.PolicySectionOf[domain.CentrifugoRules](p).ServerChannels(unsafe); !errors.Is(err, domain.ErrUnsupportedIdentifier) {
		t.Errorf("unsafe user id in a server channel: %v", err)
	}
	// An unsafe id refuses what needs it, not the rest.
	if err := application.PolicySectionOf[domain.CentrifugoRules](p).MaySubscribe(unsafe, "news"); err != nil {
		t.Errorf("an exact channel needs no id: %v", err)
	}
	if err := application.PolicySectionOf[domain.CentrifugoRules](p).MaySubscribe(unsafe, "user:user.1"); !errors.Is(err, domain.ErrUnsupportedIdentifier) {
		t.Errorf("unsafe user id: %v", err)
	}
}

func TestNewPolicyRefusesInvalidRules(t *testing.T) {
	rules := application.DefaultPolicyRules()
	liveKit := domain.PolicySectionOf[domain.LiveKitRules](rules)
	liveKit[0].Rights = append(liveKit[0].Rights, "canFly")
	centrifugo := domain.PolicySectionOf[domain.CentrifugoRules](rules)
	centrifugo.Subscribe[0].Channels = append(centrifugo.Subscribe[0].Channels, "org:*")
	_, err := application.NewPolicy(rules)
	var pe *domain.PolicyError
	if !errors.As(err, &pe) || len(pe.Problems) != 2 || !errors.Is(err, domain.ErrInvalidPolicy) {
		t.Fatalf("err = %v, want both problems", err)
	}
}

func TestPolicyOwnsItsRules(t *testing.T) {
	rules := application.DefaultPolicyRules()
	p, err := application.NewPolicy(rules)
	if err != nil {
		t.Fatal(err)
	}
	domain.PolicySectionOf[domain.LiveKitRules](rules)[2].Rights[0] = domain.RoomAdmin
	domain.PolicySectionOf[domain.LiveKitRules](p.Rules())[2].Rights[0] = domain.RoomAdmin
	if got, _ := application.PolicySectionOf[domain.LiveKitRules](p).Rights(principal(t, "u", "o", "viewer")); got.RoomAdmin {
		t.Fatal("changing the given or returned rules changed the policy")
	}
}
