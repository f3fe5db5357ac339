package jwksidentity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/domain"
)

// jwkOf is the public JWK of key, with extra members merged in.
func jwkOf(t *testing.T, key any, kid string, extra map[string]any) map[string]any {
	t.Helper()
	m := map[string]any{"kid": kid}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		m["kty"], m["alg"] = "RSA", "RS256"
		m["n"] = base64.RawURLEncoding.EncodeToString(k.N.Bytes())
		m["e"] = base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PrivateKey:
		m["kty"], m["alg"], m["crv"] = "EC", "ES256", "P-256"
		pub, _ := k.PublicKey.Bytes() // 0x04 || X || Y
		m["x"] = base64.RawURLEncoding.EncodeToString(pub[1:33])
		m["y"] = base64.RawURLEncoding.EncodeToString(pub[33:])
	default:
		t.Fatalf("no JWK for %T", key)
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func setOf(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signWith(t *testing.T, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// gatedIDP serves a JWKS the test sets; while gate is set, a request waits
// for it to close (or for the client to leave) before answering.
type gatedIDP struct {
	srv     *httptest.Server
	set     atomic.Value // []byte
	header  atomic.Value // http.Header added to answers
	fetches atomic.Int32
	mu      sync.Mutex
	gate    chan struct{}
	waiting chan struct{} // gets a value when a request starts waiting
}

func newGatedIDP(t *testing.T, set []byte) *gatedIDP {
	g := &gatedIDP{waiting: make(chan struct{}, 16)}
	g.set.Store(set)
	g.header.Store(http.Header{})
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.fetches.Add(1)
		g.mu.Lock()
		gate := g.gate
		g.mu.Unlock()
		if gate != nil {
			g.waiting <- struct{}{}
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range g.header.Load().(http.Header) {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(g.set.Load().([]byte))
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gatedIDP) close() func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
	gate := g.gate
	return func() {
		g.mu.Lock()
		g.gate = nil
		g.mu.Unlock()
		close(gate)
	}
}

func remoteVerifier(t *testing.T, url string, o jwksidentity.RemoteOptions) (*jwksidentity.RemoteKeys, *jwksidentity.Verifier) {
	t.Helper()
	keys, err := jwksidentity.NewRemoteKeys(t.Context(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: issuer, Algorithms: []string{"RS256", "ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	return keys, v
}

func claimsFor(sub string) jwt.MapClaims {
	return jwt.MapClaims{"iss": issuer, "sub": sub, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
}

// TestClientLeavingMidRefreshDoesNotCancelIt: the refresh an unknown kid
// causes runs for everyone. A caller that gives up while it runs must not
// cancel it, or every token of the provider's new key is refused until the
// next refresh is allowed.
func TestClientLeavingMidRefreshDoesNotCancelIt(t *testing.T) {
	oldKey, newKey := rsaKey(t, 2048), rsaKey(t, 2048)
	g := newGatedIDP(t, setOf(t, jwkOf(t, oldKey, "old", nil)))
	_, v := remoteVerifier(t, g.srv.URL, jwksidentity.RemoteOptions{UnknownKIDInterval: time.Hour, HTTPTimeout: 10 * time.Second})

	// The provider rotates; its JWKS answers slowly.
	g.set.Store(setOf(t, jwkOf(t, oldKey, "old", nil), jwkOf(t, newKey, "new", nil)))
	release := g.close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := v.VerifyIdentity(ctx, signWith(t, newKey, "new", claimsFor("user_1")))
		errc <- err
	}()
	<-g.waiting
	cancel() // the client disconnects mid-refresh
	select {
	case err := <-errc:
		if !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("cancelled caller: err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled caller kept waiting for the refresh")
	}
	release()
	waitFor(t, "the refresh to install the new key", func() bool {
		_, err := v.VerifyIdentity(context.Background(), signWith(t, newKey, "new", claimsFor("user_2")))
		return err == nil
	})
	if n := g.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (start and one refresh)", n)
	}
}

// TestConcurrentUnknownKIDCallersShareOneFetch: many callers of a new kid
// wait for one fetch; one that gives up leaves at once, the others get the
// key.
func TestConcurrentUnknownKIDCallersShareOneFetch(t *testing.T) {
	oldKey, newKey := rsaKey(t, 2048), rsaKey(t, 2048)
	g := newGatedIDP(t, setOf(t, jwkOf(t, oldKey, "old", nil)))
	_, v := remoteVerifier(t, g.srv.URL, jwksidentity.RemoteOptions{UnknownKIDInterval: time.Hour})
	g.set.Store(setOf(t, jwkOf(t, oldKey, "old", nil), jwkOf(t, newKey, "new", nil)))
	release := g.close()

	const callers = 20
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.VerifyIdentity(context.Background(), signWith(t, newKey, "new", claimsFor("user_"+string(rune('a'+i))))); err == nil {
				ok.Add(1)
			}
		}()
	}
	<-g.waiting
	// A caller with its own short deadline leaves before the fetch ends.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := v.VerifyIdentity(short, signWith(t, newKey, "new", claimsFor("user_short"))); err == nil {
		t.Fatal("verified before the fetch answered")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a caller with a 50ms deadline waited %v", d)
	}
	release()
	wg.Wait()
	if ok.Load() != callers {
		t.Fatalf("%d of %d waiting callers verified", ok.Load(), callers)
	}
	if n := g.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (start and one shared refresh)", n)
	}
}

// TestFailedUnknownKIDRefreshStillCountsAgainstTheInterval: a refresh that
// fails uses up the interval as one that succeeds does.
func TestFailedUnknownKIDRefreshStillCountsAgainstTheInterval(t *testing.T) {
	key := rsaKey(t, 2048)
	g := newGatedIDP(t, setOf(t, jwkOf(t, key, "k1", nil)))
	_, v := remoteVerifier(t, g.srv.URL, jwksidentity.RemoteOptions{UnknownKIDInterval: time.Hour})
	g.set.Store([]byte(`{"keys": [ {"kty": `))
	for i := range 5 {
		tok := signWith(t, key, "unknown-"+string(rune('a'+i)), claimsFor("user_1"))
		if _, err := v.VerifyIdentity(context.Background(), tok); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := g.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (start and one failed refresh)", n)
	}
	if _, err := v.VerifyIdentity(context.Background(), signWith(t, key, "k1", claimsFor("user_1"))); err != nil {
		t.Fatalf("keys in hand lost after a failed refresh: %v", err)
	}
}

// TestUnfitKeysAreSkipped: keys that cannot be trusted to verify signatures
// are left out of the set, and the rest of the set is used.
func TestUnfitKeysAreSkipped(t *testing.T) {
	good, weak := rsaKey(t, 2048), rsaKey(t, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	enc, ops, priv, privEC := rsaKey(t, 2048), rsaKey(t, 2048), rsaKey(t, 2048), ec
	b64 := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := setOf(t,
		jwkOf(t, good, "good", map[string]any{"use": "sig", "key_ops": []string{"verify"}}),
		jwkOf(t, weak, "weak-1024", nil),
		jwkOf(t, enc, "use-enc", map[string]any{"use": "enc"}),
		jwkOf(t, ops, "ops-sign-only", map[string]any{"key_ops": []string{"sign"}}),
		jwkOf(t, priv, "rsa-private", map[string]any{"d": b64(priv.D), "p": b64(priv.Primes[0]), "q": b64(priv.Primes[1])}),
		jwkOf(t, privEC, "ec-private", map[string]any{"d": b64(privEC.D)}),
		jwkOf(t, ec2, "ec-good", nil),
		map[string]any{"kty": "oct", "kid": "oct", "k": base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
		map[string]any{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
	)
	g := newGatedIDP(t, set)
	var mu sync.Mutex
	skipped := map[jwksidentity.SkipReason]int{}
	keys, v := remoteVerifier(t, g.srv.URL, jwksidentity.RemoteOptions{UnknownKIDInterval: time.Hour,
		OnKeySkipped: func(r jwksidentity.SkipReason) { mu.Lock(); skipped[r]++; mu.Unlock() }})
	if got, err := keys.Ready(context.Background()); err != nil || got != "2 keys" {
		t.Fatalf("Ready = %q, %v; want 2 keys", got, err)
	}
	if n := keys.KeyCount(context.Background()); n != 2 {
		t.Fatalf("KeyCount = %d, want 2", n)
	}
	// One fetch so far: each unfit key was skipped once, and why.
	mu.Lock()
	want := map[jwksidentity.SkipReason]int{
		jwksidentity.SkipWeakKey: 1, jwksidentity.SkipNotForSignatures: 2, jwksidentity.SkipPrivateKey: 3, jwksidentity.SkipInvalid: 1,
	}
	for r, n := range want {
		if skipped[r] != n {
			t.Errorf("skipped %s: %d, want %d (all: %v)", r, skipped[r], n, skipped)
		}
	}
	mu.Unlock()
	for _, tt := range []struct {
		kid string
		key any
		ok  bool
	}{
		{"good", good, true}, {"ec-good", ec2, true},
		{"weak-1024", weak, false}, {"use-enc", enc, false}, {"ops-sign-only", ops, false},
		{"rsa-private", priv, false}, {"ec-private", privEC, false},
	} {
		_, err := v.VerifyIdentity(context.Background(), signWith(t, tt.key, tt.kid, claimsFor("user_1")))
		if (err == nil) != tt.ok {
			t.Errorf("kid %s: err = %v, want ok=%v", tt.kid, err, tt.ok)
		}
	}
}
