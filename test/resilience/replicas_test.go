package resilience_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

// jwks fetches a replica's published keys by kid.
func jwks(t *testing.T, baseURL string) map[string]*rsa.PublicKey {
	t.Helper()
	r := kit.Get(t, baseURL+kit.JWKSPath)
	kit.WantStatus(t, "jwks of "+baseURL, r, http.StatusOK)
	var set struct {
		Keys []struct {
			Kty, Kid, Alg, N, E string
		} `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatalf("jwks of %s: %v", baseURL, err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if k.Kty != "RSA" || k.Kid == "" || errN != nil || errE != nil {
			t.Fatalf("jwks of %s: unusable key %+v", baseURL, k)
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(out) == 0 {
		t.Fatalf("jwks of %s holds no key", baseURL)
	}
	return out
}

// verifyGrant checks an office grant against a key set, strictly.
func verifyGrant(token string, keys map[string]*rsa.PublicKey) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("kid %q is not published", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(kit.GrantIssuer), jwt.WithAudience(kit.GrantAudience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return claims, err
}

// TestReplicasShareKeysAndBudgets runs three replicas with one signing key
// and one Redis, as behind a load balancer.
func TestReplicasShareKeysAndBudgets(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	redis := redisserver.Start(t)
	const officeBurst, authBurst = 6, 4
	env := productionEnv(t, idp, slowLimits(officeBurst, 5, authBurst), patientStore, map[string]string{"REDIS_URL": redis.URL()})
	replicas := make([]*kit.Process, 3)
	for i := range replicas {
		replicas[i] = inproc.Serve(t, env)
		status, body := kit.Ready(t, replicas[i].AdminURL)
		if status != http.StatusOK || body.Checks["rate_limiter"].Detail != "redis" {
			t.Fatalf("replica %d /readyz %d %+v, want ready on redis", i, status, body)
		}
	}

	t.Run("a grant from any replica verifies against every replica's JWKS", func(t *testing.T) {
		sets := make([]map[string]*rsa.PublicKey, len(replicas))
		for i, p := range replicas {
			sets[i] = jwks(t, p.URL)
		}
		for i, p := range replicas {
			user := fmt.Sprintf("user_jwks_%d", i)
			r := kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(idp.Token(t, user, "org_1", "member", 10*time.Minute)))
			kit.WantStatus(t, fmt.Sprintf("grant from replica %d", i), r, http.StatusOK)
			var body struct{ Token string }
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Token == "" {
				t.Fatalf("grant body %q", r.Body)
			}
			for j, set := range sets {
				claims, err := verifyGrant(body.Token, set)
				if err != nil {
					t.Fatalf("grant from replica %d does not verify against replica %d's JWKS: %v", i, j, err)
				}
				if claims["sub"] != user || claims["orgId"] != "org_1" {
					t.Fatalf("grant from replica %d: claims %v", i, claims)
				}
			}
		}
	})

	t.Run("one user's burst is one budget across the replicas", func(t *testing.T) {
		// Round-robin, all at once: the Redis script must admit exactly the
		// burst however the requests interleave.
		const requests = 5 * officeBurst
		token := idp.Token(t, "user_shared", "org_1", "member", 10*time.Minute)
		statuses := make([]kit.Response, requests)
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				r, err := kit.Do(kit.Client, http.MethodPost, replicas[i%len(replicas)].URL+kit.OfficePath, kit.Bearer(token))
				if err != nil {
					r = kit.Response{Status: -1, Body: []byte(err.Error())}
				}
				statuses[i] = r
			})
		}
		wg.Wait()
		admitted, perReplica := 0, make([]int, len(replicas))
		for i, r := range statuses {
			switch r.Status {
			case http.StatusOK:
				admitted++
				perReplica[i%len(replicas)]++
			case http.StatusTooManyRequests:
				wantLimited(t, fmt.Sprintf("request %d to replica %d", i, i%len(replicas)), r)
			default:
				t.Fatalf("request %d to replica %d: %s", i, i%len(replicas), r)
			}
		}
		if admitted != officeBurst {
			t.Fatalf("%d of %d requests admitted across the replicas (per replica %v), want exactly the burst %d",
				admitted, requests, perReplica, officeBurst)
		}
		// Sequentially too: every replica now refuses this user.
		for i, p := range replicas {
			wantLimited(t, fmt.Sprintf("replica %d after the shared burst", i), kit.Post(t, p.URL+kit.OfficePath, kit.Bearer(token)))
		}
		var rejections float64
		for _, p := range replicas {
			rejections += kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limit_rejections_total", "limit", "office")
		}
		if want := float64(requests - officeBurst + len(replicas)); rejections != want {
			t.Errorf("office rejections summed over replicas = %v, want %v", rejections, want)
		}
	})

	t.Run("failed authentications from one address are one budget too", func(t *testing.T) {
		for i := range authBurst {
			p := replicas[i%len(replicas)]
			kit.WantStatus(t, fmt.Sprintf("bad token #%d", i+1), kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer("bad")), http.StatusUnauthorized)
		}
		for i, p := range replicas {
			wantLimited(t, fmt.Sprintf("bad token to replica %d past the shared burst", i), kit.Post(t, p.URL+kit.RealtimePath, kit.Bearer("bad")))
		}
	})
}
