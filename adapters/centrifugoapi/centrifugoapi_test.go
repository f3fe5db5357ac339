package centrifugoapi_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/centrifugoapi"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/centrifugoserver"
)

// TestEvictorAgainstTheRealServer: the real Centrifugo accepts the
// disconnect of a user (connected or not) with its key, and refuses
// another key; the error never carries a key.
func TestEvictorAgainstTheRealServer(t *testing.T) {
	t.Parallel()
	cf := centrifugoserver.Start(t, centrifugoserver.Config{JWKSURL: "http://127.0.0.1:1/jwks.json", Issuer: "gatepass", Audience: "centrifugo"})
	rev := domain.Revocation{ID: "rev_1", RevocationRequest: domain.RevocationRequest{UserID: "user_1", OrgID: "org_1"}}

	got, err := centrifugoapi.New(cf.HTTPURL()+"/api", cf.APIKey, nil).Evict(t.Context(), rev)
	if err != nil || got.Status != domain.EvictionDone || got.Count != domain.CountUnknown {
		t.Fatalf("Evict = %+v, %v", got, err)
	}
	wrong := strings.Repeat("w", 40)
	_, err = centrifugoapi.New(cf.HTTPURL()+"/api/", wrong, nil).Evict(t.Context(), rev)
	if !errors.Is(err, centrifugoapi.ErrUnauthorized) || strings.Contains(err.Error(), wrong) {
		t.Fatalf("Evict with another key: %v", err)
	}
	if _, err := centrifugoapi.New("http://127.0.0.1:1/api", cf.APIKey, nil).Evict(t.Context(), rev); err == nil || strings.Contains(err.Error(), cf.APIKey) {
		t.Fatalf("Evict of an unreachable server: %v", err)
	}
}
