package transports_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestRefusalsAfterAuthenticationSpendTheBudget: one pipeline for every
// grant kind spends the caller's budget for that kind before the policy,
// the request or the identity's lifetime is judged, so a refused request
// costs its sender what a granted one does, and only its sender: another
// user of the same organization is served.
func TestRefusalsAfterAuthenticationSpendTheBudget(t *testing.T) {
	t.Parallel()
	const burst = 2
	idp := kit.NewIdentityProvider(t)
	gp := inproc.Serve(t, env(t, idp, map[string]string{
		"CENTRIFUGO_URL":          "ws://127.0.0.1:8000/connection/websocket",
		"GRANT_EXPIRY_BOUND":      "identity",
		"RATE_LIMIT_OFFICE_RATE":  "1",
		"RATE_LIMIT_OFFICE_BURST": "2", "RATE_LIMIT_OFFICE_PERIOD": "1h",
		"RATE_LIMIT_REALTIME_RATE": "1", "RATE_LIMIT_REALTIME_BURST": "2", "RATE_LIMIT_REALTIME_PERIOD": "1h",
		"RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_RATE": "1", "RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_BURST": "2",
		"RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_PERIOD": "1h",
	}))
	tests := []struct {
		name string
		path string
		// refused is a request refused after authentication, as user.
		refused    func(user string) kit.Response
		wantStatus int
		wantCode   string
		// granted is the same endpoint's granted request, as user.
		granted     func(user string) kit.Response
		wantGranted int
	}{
		{
			name: "office: another organization's office", path: kit.OfficePath,
			refused: func(user string) kit.Response {
				return post(t, gp.URL+kit.OfficePath, idp.Token(t, user, "org_a", "member", time.Hour), `{"orgId":"org_b"}`)
			},
			wantStatus: http.StatusForbidden, wantCode: "organization_mismatch",
			granted: func(user string) kit.Response {
				return post(t, gp.URL+kit.OfficePath, idp.Token(t, user, "org_a", "member", time.Hour), "")
			},
			wantGranted: http.StatusOK,
		},
		{
			name: "realtime: an identity about to expire", path: "/api/v1/realtime/token",
			refused: func(user string) kit.Response {
				return post(t, gp.URL+"/api/v1/realtime/token", idp.Token(t, user, "org_a", "member", 4*time.Second), "")
			},
			wantStatus: http.StatusUnauthorized, wantCode: "invalid_token",
			granted: func(user string) kit.Response {
				return post(t, gp.URL+"/api/v1/realtime/token", idp.Token(t, user, "org_a", "member", time.Hour), "")
			},
			wantGranted: http.StatusOK,
		},
		{
			name: "centrifugo: another organization's channel", path: "/api/v1/centrifugo/subscription-token",
			refused: func(user string) kit.Response {
				return post(t, gp.URL+"/api/v1/centrifugo/subscription-token", idp.Token(t, user, "org_a", "member", time.Hour), `{"channel":"org:org_b"}`)
			},
			wantStatus: http.StatusForbidden, wantCode: "channel_not_allowed",
			granted: func(user string) kit.Response {
				return post(t, gp.URL+"/api/v1/centrifugo/subscription-token", idp.Token(t, user, "org_a", "member", time.Hour), `{"channel":"org:org_a"}`)
			},
			wantGranted: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused, bystander := "user_refused", "user_bystander"
			for i := range burst {
				kit.WantProblem(t, fmt.Sprintf("refusal %d", i+1), tt.refused(refused), tt.wantStatus, tt.wantCode)
			}
			kit.WantProblem(t, "a good request after the refusals spent the budget", tt.granted(refused), http.StatusTooManyRequests, "rate_limited")
			kit.WantStatus(t, "another user of the organization", tt.granted(bystander), tt.wantGranted)
		})
	}
}
