package livekitapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/gatepass/gatepass/adapters/livekitapi"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

// joinToken is a participant token for identity in room, as any server
// SDK signs one.
func joinToken(t *testing.T, lk *livekitserver.Server, room, identity string) string {
	t.Helper()
	tok, err := auth.NewAccessToken(lk.APIKey, lk.APISecret).SetIdentity(identity).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// connect keeps identity in room until the test ends.
func connect(t *testing.T, lk *livekitserver.Server, room, identity string) {
	t.Helper()
	s, err := livekitserver.Connect(context.Background(), lk.URL(), joinToken(t, lk, room, identity))
	if err != nil {
		t.Fatalf("join %s as %s: %v", room, identity, err)
	}
	t.Cleanup(s.Close)
}

func roomService(t *testing.T, lk *livekitserver.Server) *livekitapi.RoomService {
	t.Helper()
	s, err := livekitapi.New(livekitapi.Config{URL: lk.HTTPURL(), APIKey: lk.APIKey, APISecret: []byte(lk.APISecret)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEvictRemovesTheRevokedUsersParticipants runs the evictor against
// the real livekit-server: a revocation removes the user's participants
// (every device) from its organization's rooms, or from every room for
// all organizations, and nobody else.
func TestEvictRemovesTheRevokedUsersParticipants(t *testing.T) {
	t.Parallel()
	lk := livekitserver.Start(t, livekitserver.Config{})
	s := roomService(t, lk)
	if s.Transport() != domain.TransportLiveKit {
		t.Fatalf("transport %q", s.Transport())
	}
	standup, other, elsewhere := "org_1/standup", "org_1/other", "org_2/standup"
	for _, p := range []struct{ room, identity string }{
		{standup, "user_a"}, {standup, "user_a#phone"}, {standup, "user_ab"}, {standup, "user_b"},
		{other, "user_a#laptop"}, {elsewhere, "user_a"}, {elsewhere, "user_c"},
	} {
		connect(t, lk, p.room, p.identity)
	}
	ctx := context.Background()

	got, err := s.Evict(ctx, domain.Revocation{ID: "r1", RevocationRequest: domain.RevocationRequest{UserID: "user_a", OrgID: "org_1"}})
	if err != nil || got.Status != domain.EvictionDone || got.Count != 3 {
		t.Fatalf("org revocation: %+v, %v; want done, 3 removed", got, err)
	}
	for room, want := range map[string][]string{standup: {"user_ab", "user_b"}, other: nil, elsewhere: {"user_a", "user_c"}} {
		if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool { return slices.Equal(lk.Participants(t, room), want) }) {
			t.Errorf("%s holds %v, want %v", room, lk.Participants(t, room), want)
		}
	}

	got, err = s.Evict(ctx, domain.Revocation{ID: "r2", RevocationRequest: domain.RevocationRequest{UserID: "user_a", AllOrganizations: true}})
	if err != nil || got.Status != domain.EvictionDone || got.Count != 1 {
		t.Fatalf("all organizations: %+v, %v; want done, 1 removed", got, err)
	}
	if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool { return slices.Equal(lk.Participants(t, elsewhere), []string{"user_c"}) }) {
		t.Errorf("%s holds %v, want only user_c", elsewhere, lk.Participants(t, elsewhere))
	}

	got, err = s.Evict(ctx, domain.Revocation{ID: "r3", RevocationRequest: domain.RevocationRequest{UserID: "user_b", OrgID: "org_1", SessionID: "sess"}})
	if err != nil || got.Status != domain.EvictionNotApplicable {
		t.Fatalf("session revocation: %+v, %v; want not_applicable", got, err)
	}
	if ids := lk.Participants(t, standup); !slices.Contains(ids, "user_b") {
		t.Errorf("a session revocation removed user_b: %v", ids)
	}
}

// TestEvictFailsOnAWrongSecret: a server that refuses the API token is a
// failure to retry, not an eviction done.
func TestEvictFailsOnAWrongSecret(t *testing.T) {
	t.Parallel()
	lk := livekitserver.Start(t, livekitserver.Config{})
	s, err := livekitapi.New(livekitapi.Config{URL: lk.HTTPURL(), APIKey: lk.APIKey, APISecret: []byte("another-secret-of-at-least-32-bytes!")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Evict(context.Background(), domain.Revocation{RevocationRequest: domain.RevocationRequest{UserID: "u", OrgID: "o"}}); err == nil {
		t.Fatalf("evicted with a wrong secret: %+v", got)
	}
}

func TestNewRefusesAnUnusableConfig(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]livekitapi.Config{
		"websocket URL": {URL: "ws://127.0.0.1:7880", APIKey: "k", APISecret: []byte("s")},
		"no host":       {URL: "http://", APIKey: "k", APISecret: []byte("s")},
		"no key":        {URL: "http://127.0.0.1:7880", APISecret: []byte("s")},
		"no secret":     {URL: "http://127.0.0.1:7880", APIKey: "k"},
	} {
		if _, err := livekitapi.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
