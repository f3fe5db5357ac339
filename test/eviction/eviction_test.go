// Package eviction_test judges a revocation's eviction by the real
// servers: two gatepass replicas served in process on one redis-server,
// livekit-server, Centrifugo, nats-server and the office-router Worker on
// workerd. One
// revocation through replica A's admin API evicts the revoked user from
// every transport, and no one else; the user's refreshed LiveKit token
// and old office-router grant are refused; replica B shows the fan-out.
// BenchmarkEviction measures the time from the revocation call to each
// transport's eviction (scripts/bench.sh runs it).
package eviction_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

// TestOneRevocationEvictsTheUserFromEveryTransport: user_evict_a and
// user_evict_b each join org's LiveKit room from two devices, subscribe
// to its Centrifugo channel, hold an office-router WebSocket and a NATS
// connection; one revocation of user_evict_a evicts each of their
// connections (the LiveKit participants removed, Centrifugo's disconnect
// 3503, the Worker's close 4003 revoked, the NATS connection closed) and
// none of user_evict_b's.
func TestOneRevocationEvictsTheUserFromEveryTransport(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// The token livekit-server hands the revoked user's phone, valid after
	// the revocation: its rejoin must be removed. Taken before the phone
	// joins for good, since one identity is one participant.
	refreshed, err := livekitserver.RefreshedToken(ctx, s.lk.URL(), s.liveKitGrant(t, s.a, "user_evict_a", "user_evict_a#phone"))
	if err != nil {
		t.Fatalf("no refreshed token: %v", err)
	}
	revoked := s.connect(ctx, t, s.a, "user_evict_a")
	other := s.connect(ctx, t, s.b, "user_evict_b")
	everyone := []string{"user_evict_a", "user_evict_a#phone", "user_evict_b", "user_evict_b#phone"}
	if !kit.Eventually(20*time.Second, 20*time.Millisecond, func() bool { return slices.Equal(s.participants(t), everyone) }) {
		t.Fatalf("the room holds %v, want %v", s.participants(t), everyone)
	}

	evicted := watch(ctx, revoked)
	start := time.Now()
	id := revoke(t, s.a, "user_evict_a")
	answered := time.Since(start)
	times := evicted.wait(t, start)
	t.Logf("the 202 came %s after the call", answered.Round(time.Millisecond))
	for _, tr := range transports {
		t.Logf("%s: evicted %s after the revocation call", tr, times[tr].Round(time.Millisecond))
	}

	t.Run("the other user keeps every connection", func(t *testing.T) {
		want := []string{"user_evict_b", "user_evict_b#phone"}
		if got := s.participants(t); !slices.Equal(got, want) {
			t.Fatalf("the room holds %v, want %v", got, want)
		}
		for _, p := range other.devices {
			select {
			case <-p.Left():
				t.Fatalf("%s was removed", p.Joined.Identity)
			default:
			}
		}
		if err := s.cf.Publish(ctx, channel, map[string]string{"after": "revocation"}); err != nil {
			t.Fatal(err)
		}
		if data, err := other.subscription.Next(ctx); err != nil || !strings.Contains(string(data), "revocation") {
			t.Fatalf("the other user's publication %s: %v", data, err)
		}
		if st := other.centrifugo.State(); st != "connected" {
			t.Fatalf("the other user's Centrifugo client is %s", st)
		}
		if !other.nats.IsConnected() || other.nats.Flush() != nil {
			t.Fatal("the other user's NATS connection is closed")
		}
		if st := revoked.centrifugo.State(); st != "disconnected" {
			t.Fatalf("the revoked user's Centrifugo client is %s, want disconnected for good", st)
		}
		// A second socket of the other user hears the first: it is still
		// open and relayed.
		bearer := s.idp.Token(t, "user_evict_b", org, "member", time.Hour)
		g := str(t, post(t, s.b, kit.OfficePath, bearer, "", http.StatusOK), "token")
		listener, status, err := dialOffice(ctx, s.worker, g)
		if err != nil {
			t.Fatalf("the other user's second socket: %d %v", status, err)
		}
		defer listener.Close()
		if err := other.office.conn.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
			t.Fatalf("the other user's socket: %v", err)
		}
		select {
		case msg := <-listener.received:
			var relayed struct{ From, Data string }
			if json.Unmarshal([]byte(msg), &relayed) != nil || relayed.From != "user_evict_b" || relayed.Data != "still here" {
				t.Fatalf("relayed %q", msg)
			}
		case <-other.office.closed:
			t.Fatalf("the other user's socket closed with %d %q", other.office.code, other.office.reason)
		case <-ctx.Done():
			t.Fatal("the other user's socket is not relayed")
		}
	})

	t.Run("the refreshed LiveKit token's rejoin is removed", func(t *testing.T) {
		begin := time.Now()
		rejoined, err := livekitserver.ConnectMedia(ctx, s.lk.URL(), refreshed)
		if err != nil {
			// Removed before its connection came up is removed too.
			t.Logf("rejoin: %v", err)
		} else {
			defer rejoined.Close()
		}
		if !kit.Eventually(20*time.Second, 20*time.Millisecond, func() bool {
			return joinedRemoved(s.b) == 1 && !slices.Contains(s.participants(t), "user_evict_a#phone")
		}) {
			t.Fatalf("the rejoin stays: the room holds %v\n%s", s.participants(t), s.b.Logs())
		}
		t.Logf("livekit: the rejoin removed %s after it began", time.Since(begin).Round(time.Millisecond))
		if got, want := s.participants(t), []string{"user_evict_b", "user_evict_b#phone"}; !slices.Equal(got, want) {
			t.Fatalf("the room holds %v, want %v", got, want)
		}
	})

	t.Run("the old office-router grant is refused", func(t *testing.T) {
		ws, status, err := dialOffice(ctx, s.worker, revoked.officeGrant)
		if err == nil {
			ws.Close()
			t.Fatal("the Worker accepted the revoked user's old grant")
		}
		if status != http.StatusUnauthorized {
			t.Fatalf("the old grant's upgrade answered %d (%v), want 401", status, err)
		}
		if !kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool { return s.workerRefused("revoked") == 1 }) {
			t.Fatalf("the Worker did not log the refusal as revoked:\n%s", s.workerLog)
		}
	})

	t.Run("replica B shows every transport's fan-out", func(t *testing.T) {
		var states map[string]fanoutState
		var last kit.Response
		if !kit.Eventually(20*time.Second, 20*time.Millisecond, func() bool {
			states, last = fanout(t, s.b, id)
			return !slices.ContainsFunc(transports, func(tr string) bool { return states[tr].Status != "done" })
		}) {
			t.Fatalf("replica B shows %s", last)
		}
		t.Logf("replica B: %s", last.Body)
		for tr, want := range map[string]int{"livekit": 2, "office_router": 1, "nats": 1} {
			if c := states[tr].Count; c == nil || *c != want {
				t.Fatalf("fanout.%s count %v, want %d: %s", tr, c, want, last)
			}
		}
		if st := states["supabase_realtime"]; st.Status != "expires" || st.ExpiresAt == "" {
			t.Fatalf("fanout.supabase_realtime %+v, want expires with expires_at: %s", st, last)
		}
	})
}
