// Package resilience_test runs gatepass through faults, limits and
// scale-out: rate limits in memory and in a real redis-server shared by
// several replicas, Redis dying and coming back, the identity provider's
// JWKS down at start or later, a flood of unknown key ids (all served in
// process), and, against the real binary because the process is the
// subject, SIGTERM under load and a sustained load that must leave no
// goroutine or memory behind in the process. Every wait is bounded; no test
// asserts a latency.
package resilience_test

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/gatepass/gatepass/test/kit"
)

// officeKey is the office-router signing key every process of a test run
// shares, as replicas behind one load balancer do.
var officeKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// productionEnv is kit.ProductionEnv on the shared office key, trusting
// idp, with each of over applied in turn (an empty value unsets a
// variable).
func productionEnv(t testing.TB, idp *kit.IdentityProvider, over ...map[string]string) map[string]string {
	t.Helper()
	key, err := officeKey()
	if err != nil {
		t.Fatal(err)
	}
	return kit.ProductionEnv(idp, kit.PrivatePEM(t, key), over...)
}
