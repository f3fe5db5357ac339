package transports_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/livekitserver"
)

// liveKitRefreshWarning is the start-up warning that names what
// GRANT_EXPIRY_BOUND=identity cannot bound.
const liveKitRefreshWarning = "GRANT_EXPIRY_BOUND=identity does not bound LiveKit's refreshed tokens"

// TestLiveKitRefreshedTokensOutliveTheIdentity pins, against the real
// server, the exception to GRANT_EXPIRY_BOUND=identity: the grant gatepass
// signs expires with the identity, but livekit-server hands the connected
// participant a token of its own, signed with the API key and valid about
// ten minutes, and that token joins again after the identity has expired.
// gatepass cannot bound a token it did not sign; it says so at start
// whenever LiveKit is on with that bound, and only then.
func TestLiveKitRefreshedTokensOutliveTheIdentity(t *testing.T) {
	t.Parallel()
	lk := livekitserver.Start(t, livekitserver.Config{})
	idp := kit.NewIdentityProvider(t)
	liveKit := map[string]string{"LIVEKIT_URL": lk.URL(), "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": lk.APISecret}
	bounded := map[string]string{"GRANT_EXPIRY_BOUND": "identity"}
	gp := inproc.Serve(t, env(t, idp, liveKit, bounded))

	t.Run("the start says so", func(t *testing.T) {
		if !warned(t, gp) {
			t.Fatalf("no start-up warning %q with LiveKit on and the identity bound:\n%s", liveKitRefreshWarning, gp.Logs())
		}
	})
	t.Run("and only with LiveKit on and the identity bound", func(t *testing.T) {
		for name, over := range map[string][]map[string]string{
			"LiveKit off": {bounded},
			"no bound":    {liveKit},
		} {
			if p := inproc.Serve(t, env(t, idp, over...)); warned(t, p) {
				t.Errorf("%s: the start warns %q", name, liveKitRefreshWarning)
			}
		}
	})

	t.Run("a refreshed token joins after the identity expired", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		claims := idp.Claims("user_lk_refresh", "org_lk", "member", 8*time.Second)
		identityExp := time.Unix(claims["exp"].(int64), 0)
		a := post(t, gp.URL+"/api/v1/livekit/token", idp.Sign(t, claims, nil), `{"room_name":"standup"}`)
		if a.Status != http.StatusCreated {
			t.Fatalf("answer %s", a)
		}
		grant := verified(t, str(t, a, "participant_token"), lk)
		if exp, _ := grant.GetExpirationTime(); exp == nil || exp.After(identityExp) {
			t.Fatalf("grant exp %v, after the identity's %v", exp, identityExp)
		}

		refreshedToken, err := livekitserver.RefreshedToken(ctx, lk.URL(), str(t, a, "participant_token"))
		if err != nil {
			t.Fatalf("no refreshed token: %v", err)
		}
		refreshed := verified(t, refreshedToken, lk)
		if exp, _ := refreshed.GetExpirationTime(); exp == nil || exp.Before(identityExp.Add(5*time.Minute)) {
			t.Fatalf("refreshed token exp %v, want minutes after the identity's %v", exp, identityExp)
		}

		// Past the identity's exp, the refreshed token is still a way in.
		// (livekit-server allows every token a minute past its exp, so
		// gatepass's own grant would join here too; the refreshed token's
		// exp above is what keeps it working for about ten minutes.)
		if !kit.Eventually(15*time.Second, 100*time.Millisecond, func() bool { return time.Now().After(identityExp.Add(time.Second)) }) {
			t.Fatal("the identity did not expire")
		}
		joined, err := livekitserver.Join(ctx, lk.URL(), refreshedToken)
		if err != nil {
			t.Fatalf("the refreshed token, after the identity expired: %v", err)
		}
		if sub, _ := grant.GetSubject(); joined.Identity != sub || joined.Room != "org_lk/standup" {
			t.Fatalf("rejoined room %q as %q, want the grant's participant %q", joined.Room, joined.Identity, sub)
		}
	})
}

// warned reports whether p's start-up log has the LiveKit refresh warning.
// p serves in process and has answered no request yet: its log, written
// as it happens, is the start-up log, whole.
func warned(t *testing.T, p *kit.Process) bool {
	t.Helper()
	for line := range strings.Lines(p.Logs()) {
		var l kit.LogLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l.Level == "WARN" && l.Msg == liveKitRefreshWarning {
			return true
		}
	}
	return false
}

// verified is token's claims, which must verify with lk's API secret and
// name its API key as the issuer: a token the server signed, or gatepass
// for it.
func verified(t *testing.T, token string, lk *livekitserver.Server) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte(lk.APISecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(lk.APIKey), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("token does not verify with the API secret: %v", err)
	}
	return claims
}
