package application_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// TestReceiveLiveKitWebhook: a participant that joins is removed when a
// revocation matches it (its grant issued before the cut-off, or no valid
// issue time), and only then; calls that do not verify act on nothing.
func TestReceiveLiveKitWebhook(t *testing.T) {
	rev := revocationOf(t, member, "")
	iat := func(t time.Time) map[string]string {
		return map[string]string{domain.AttributeIssuedAt: strconv.FormatInt(t.Unix(), 10)}
	}
	room := member.OrgID + "/standup"
	joined := func(identity string, attrs map[string]string) domain.LiveKitEvent {
		return domain.LiveKitEvent{Kind: domain.LiveKitParticipantJoined, Participant: domain.LiveKitParticipant{Room: room, Identity: identity, Attributes: attrs}}
	}
	tests := []struct {
		name       string
		event      domain.LiveKitEvent
		verifyErr  error
		wantRemove string
		wantErr    error
	}{
		{name: "issued before the cut-off", event: joined(member.UserID+"#phone", iat(rev.NotBefore.Add(-time.Second))), wantRemove: member.UserID + "#phone"},
		{name: "no issue time", event: joined(member.UserID, nil), wantRemove: member.UserID},
		{name: "a rewritten issue time", event: joined(member.UserID, map[string]string{domain.AttributeIssuedAt: "soon"}), wantRemove: member.UserID},
		{name: "issued at the cut-off", event: joined(member.UserID, iat(rev.NotBefore))},
		{name: "another user", event: joined("user_other", nil)},
		{name: "another organization", event: domain.LiveKitEvent{Kind: domain.LiveKitParticipantJoined,
			Participant: domain.LiveKitParticipant{Room: "org_other/standup", Identity: member.UserID}}},
		{name: "another event", event: domain.LiveKitEvent{Kind: "participant_left", Participant: joined(member.UserID, nil).Participant}},
		{name: "a forged call", verifyErr: domain.ErrInvalidWebhook, wantErr: domain.ErrInvalidWebhook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRevocationFixture(t)
			f.store.EXPECT().Load(gomock.Any(), uint64(0)).Return(domain.RevocationSnapshot{Revocations: []domain.Revocation{rev}, Version: 1}, nil)
			if err := f.rev.Sync(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			ctrl := gomock.NewController(t)
			hooks := mocks.NewMockLiveKitWebhooks(ctrl)
			participants := mocks.NewMockLiveKitParticipants(ctrl)
			hooks.EXPECT().VerifyLiveKitWebhook("auth", []byte("body")).Return(tt.event, tt.verifyErr)
			if tt.wantRemove != "" {
				participants.EXPECT().RemoveLiveKitParticipant(gomock.Any(), room, tt.wantRemove).Return(nil)
			}
			out, err := application.NewReceiveLiveKitWebhook(f.rev, hooks, participants).
				Receive(context.Background(), application.ReceiveWebhook{Authorization: "auth", Body: []byte("body")})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if want := map[bool]int{true: 1}[tt.wantRemove != ""]; out.Removed != want {
				t.Fatalf("removed %d, want %d", out.Removed, want)
			}
		})
	}
}

// TestReceiveLiveKitWebhookBeforeTheFirstSync: revocations never loaded
// are not an answer; the call is not acknowledged and nobody is removed.
func TestReceiveLiveKitWebhookBeforeTheFirstSync(t *testing.T) {
	f := newRevocationFixture(t)
	ctrl := gomock.NewController(t)
	hooks := mocks.NewMockLiveKitWebhooks(ctrl)
	hooks.EXPECT().VerifyLiveKitWebhook(gomock.Any(), gomock.Any()).Return(domain.LiveKitEvent{Kind: domain.LiveKitParticipantJoined,
		Participant: domain.LiveKitParticipant{Room: member.OrgID + "/r", Identity: member.UserID}}, nil)
	_, err := application.NewReceiveLiveKitWebhook(f.rev, hooks, mocks.NewMockLiveKitParticipants(ctrl)).Receive(context.Background(), application.ReceiveWebhook{})
	if !errors.Is(err, domain.ErrRevocationsUnavailable) {
		t.Fatalf("error %v, want %v", err, domain.ErrRevocationsUnavailable)
	}
}
