package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// TestRemoveRevokedParticipants: a participant that joins is removed when
// a revocation matches it (its grant issued before the cut-off, or its
// issue time unknown), and only then; calls that do not verify act on
// nothing.
func TestRemoveRevokedParticipants(t *testing.T) {
	rev := revocationOf(t, member, "")
	room := member.OrgID + "/standup"
	joined := func(identity string, p domain.Principal) domain.PeerEvent {
		return domain.PeerEvent{Name: "joined", Joined: true,
			Participant: domain.Participant{Room: room, Identity: identity, Principal: p, Granted: true}}
	}
	issued := func(at time.Time) domain.Principal {
		return domain.Principal{UserID: member.UserID, OrgID: member.OrgID, IssuedAt: at}
	}
	notGranted := joined(member.UserID, issued(time.Time{}))
	notGranted.Participant.Granted = false
	left := joined(member.UserID, issued(time.Time{}))
	left.Name, left.Joined = "left", false
	tests := []struct {
		name       string
		event      domain.PeerEvent
		verifyErr  error
		wantRemove string
		wantErr    error
	}{
		{name: "issued before the cut-off", event: joined(member.UserID+"#phone", issued(rev.NotBefore.Add(-time.Second))), wantRemove: member.UserID + "#phone"},
		{name: "no issue time", event: joined(member.UserID, issued(time.Time{})), wantRemove: member.UserID},
		{name: "issued at the cut-off", event: joined(member.UserID, issued(rev.NotBefore))},
		{name: "another user", event: joined("user_other", domain.Principal{UserID: "user_other", OrgID: member.OrgID})},
		{name: "another organization", event: joined(member.UserID, domain.Principal{UserID: member.UserID, OrgID: "org_other"})},
		{name: "a participant gatepass does not grant", event: notGranted},
		{name: "another event", event: left},
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
			hooks := mocks.NewMockPeerWebhooks(ctrl)
			participants := mocks.NewMockParticipants(ctrl)
			hooks.EXPECT().VerifyWebhook("auth", []byte("body")).Return(tt.event, tt.verifyErr)
			if tt.wantRemove != "" {
				participants.EXPECT().RemoveParticipant(gomock.Any(), tt.event.Participant).Return(nil)
			}
			out, err := application.NewRemoveRevokedParticipants(f.rev, hooks, participants).
				Receive(context.Background(), application.ReceiveWebhook{Authorization: "auth", Body: []byte("body")})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if want := map[bool]int{true: 1}[tt.wantRemove != ""]; out.Removed != want {
				t.Fatalf("removed %d, want %d", out.Removed, want)
			}
			if out.Event != tt.event.Name {
				t.Fatalf("event %q, want %q", out.Event, tt.event.Name)
			}
		})
	}
}

// TestRemoveRevokedParticipantsBeforeTheFirstSync: revocations never
// loaded are not an answer; the call is not acknowledged and nobody is
// removed.
func TestRemoveRevokedParticipantsBeforeTheFirstSync(t *testing.T) {
	f := newRevocationFixture(t)
	ctrl := gomock.NewController(t)
	hooks := mocks.NewMockPeerWebhooks(ctrl)
	hooks.EXPECT().VerifyWebhook(gomock.Any(), gomock.Any()).Return(domain.PeerEvent{Name: "joined", Joined: true,
		Participant: domain.Participant{Room: member.OrgID + "/r", Identity: member.UserID, Granted: true,
			Principal: domain.Principal{UserID: member.UserID, OrgID: member.OrgID}}}, nil)
	_, err := application.NewRemoveRevokedParticipants(f.rev, hooks, mocks.NewMockParticipants(ctrl)).Receive(context.Background(), application.ReceiveWebhook{})
	if !errors.Is(err, domain.ErrRevocationsUnavailable) {
		t.Fatalf("error %v, want %v", err, domain.ErrRevocationsUnavailable)
	}
}
