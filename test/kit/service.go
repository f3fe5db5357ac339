package kit

import (
	"crypto/rsa"
	"maps"
	"testing"
)

// The production configuration of ProductionEnv.
const (
	GrantIssuer    = "https://gatepass.test.example"
	GrantAudience  = "office-router"
	OfficeURL      = "wss://office.test.example/ws"
	SupabaseSecret = "test-supabase-secret-of-more-than-32-bytes!"
)

// ProductionEnv is a complete production configuration that signs office
// grants with keyPEM and trusts idp, with each of over applied in turn
// (With).
func ProductionEnv(idp *IdentityProvider, keyPEM string, over ...map[string]string) map[string]string {
	env := map[string]string{
		"APP_ENV":             "production",
		"JWT_ISSUER":          GrantIssuer,
		"JWT_AUDIENCE":        GrantAudience,
		"JWT_PRIVATE_KEY":     keyPEM,
		"WEBSOCKET_BASE_URL":  OfficeURL,
		"SUPABASE_JWT_SECRET": SupabaseSecret,
		"LOG_LEVEL":           "info",
	}
	maps.Copy(env, idp.Env())
	return With(env, over...)
}

// With returns a copy of base with each of over applied in turn; an empty
// value unsets the variable.
func With(base map[string]string, over ...map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, m := range over {
		for k, v := range m {
			if v == "" {
				delete(out, k)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// Service is a gatepass started with ProductionEnv, its identity provider
// and its office signing key.
type Service struct {
	*Process
	IDP *IdentityProvider
	Key *rsa.PrivateKey
}

// StartService starts gatepass on a fresh RSA-2048 office key, trusting a
// fresh IdentityProvider, with over applied to ProductionEnv.
func StartService(t testing.TB, over ...map[string]string) *Service {
	t.Helper()
	return StartServiceTrusting(t, NewIdentityProvider(t), over...)
}

// StartServiceTrusting is StartService with an identity provider the test
// set up first (its keys, its faults).
func StartServiceTrusting(t testing.TB, idp *IdentityProvider, over ...map[string]string) *Service {
	t.Helper()
	return StartServiceWith(t, Start, idp, over...)
}

// StartServiceWith is StartServiceTrusting with the way gatepass is started:
// Start (the real binary) or inproc.Serve (in the test's own process).
func StartServiceWith(t testing.TB, start func(testing.TB, map[string]string) *Process, idp *IdentityProvider, over ...map[string]string) *Service {
	t.Helper()
	key, keyPEM := NewRSAKey(t, 2048)
	return &Service{Process: start(t, ProductionEnv(idp, keyPEM, over...)), IDP: idp, Key: key}
}
