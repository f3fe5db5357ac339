package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

func TestLiveKitParticipantPrincipal(t *testing.T) {
	t.Parallel()
	iat := map[string]string{domain.AttributeIssuedAt: "1800000000"}
	tests := []struct {
		name   string
		p      domain.LiveKitParticipant
		want   domain.Principal
		wantOK bool
	}{
		{name: "user and issue time", p: domain.LiveKitParticipant{Room: "org_1/standup", Identity: "user_a", Attributes: iat},
			want: domain.Principal{UserID: "user_a", OrgID: "org_1", IssuedAt: time.Unix(1800000000, 0).UTC()}, wantOK: true},
		{name: "a second device", p: domain.LiveKitParticipant{Room: "org_1/standup", Identity: "user_a#phone", Attributes: iat},
			want: domain.Principal{UserID: "user_a", OrgID: "org_1", IssuedAt: time.Unix(1800000000, 0).UTC()}, wantOK: true},
		{name: "no issue time", p: domain.LiveKitParticipant{Room: "org_1/standup", Identity: "user_a"},
			want: domain.Principal{UserID: "user_a", OrgID: "org_1"}, wantOK: true},
		{name: "a rewritten issue time", p: domain.LiveKitParticipant{Room: "org_1/standup", Identity: "user_a", Attributes: map[string]string{domain.AttributeIssuedAt: "+9999999999"}},
			want: domain.Principal{UserID: "user_a", OrgID: "org_1"}, wantOK: true},
		{name: "an issue time that is no number", p: domain.LiveKitParticipant{Room: "org_1/standup", Identity: "user_a", Attributes: map[string]string{domain.AttributeIssuedAt: "soon"}},
			want: domain.Principal{UserID: "user_a", OrgID: "org_1"}, wantOK: true},
		{name: "a room gatepass does not grant", p: domain.LiveKitParticipant{Room: "standup", Identity: "user_a"}},
		{name: "an identity gatepass does not grant", p: domain.LiveKitParticipant{Room: "org_1/standup", Identity: "user a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.Principal()
			if ok != tt.wantOK || got.UserID != tt.want.UserID || got.OrgID != tt.want.OrgID || !got.IssuedAt.Equal(tt.want.IssuedAt) {
				t.Fatalf("Principal() = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
			// The webhook use case reads the participant through Participant.
			if p := tt.p.Participant(); p.Room != tt.p.Room || p.Identity != tt.p.Identity || p.Granted != ok || !reflect.DeepEqual(p.Principal, got) {
				t.Fatalf("Participant() = %+v; want room %q, identity %q, %+v, granted %v", p, tt.p.Room, tt.p.Identity, got, ok)
			}
		})
	}
}

func TestLiveKitParticipantsOfAUser(t *testing.T) {
	t.Parallel()
	for identity, want := range map[string]bool{"user_a": true, "user_a#phone": true, "user_ab": false, "user_": false, "xuser_a": false} {
		if got := domain.MatchesLiveKitUser(identity, "user_a"); got != want {
			t.Errorf("MatchesLiveKitUser(%q, user_a) = %v", identity, got)
		}
	}
	for room, want := range map[string]bool{"org_1/standup": true, "org_10/standup": false, "org_1": false} {
		if got := domain.InLiveKitOrganization(room, "org_1"); got != want {
			t.Errorf("InLiveKitOrganization(%q, org_1) = %v", room, got)
		}
	}
}
