package jwksidentity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
)

func TestRefreshHonoursAShorterMaxAge(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		age          string
		o            jwksidentity.RemoteOptions
		want         time.Duration
	}{
		{name: "no Cache-Control: the default interval", want: 5 * time.Minute},
		{name: "a longer max-age does not lengthen it", cacheControl: "public, max-age=7200", want: 5 * time.Minute},
		{name: "a shorter max-age shortens it", cacheControl: "public, max-age=120", want: 2 * time.Minute},
		{name: "max-age less Age", cacheControl: "max-age=200", age: "80", want: 2 * time.Minute},
		{name: "not under a minute", cacheControl: "max-age=10", want: time.Minute},
		{name: "no-store: a minute", cacheControl: "no-store", want: time.Minute},
		{name: "no-cache: a minute", cacheControl: "No-Cache, max-age=600", want: time.Minute},
		{name: "the smallest of two max-ages", cacheControl: "max-age=240, max-age=180", want: 3 * time.Minute},
		{name: "a malformed max-age is ignored", cacheControl: "max-age=soon", want: 5 * time.Minute},
		{name: "configured interval", cacheControl: "max-age=3600", o: jwksidentity.RemoteOptions{RefreshInterval: 30 * time.Minute}, want: 30 * time.Minute},
		{name: "configured floor", cacheControl: "max-age=1", o: jwksidentity.RemoteOptions{MinRefreshInterval: 10 * time.Second}, want: 10 * time.Second},
		{name: "the floor never lengthens a short interval", cacheControl: "max-age=0",
			o: jwksidentity.RemoteOptions{RefreshInterval: 20 * time.Second}, want: 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGatedIDP(t, setOf(t, jwkOf(t, rsaKey(t, 2048), "k1", nil)))
			h := http.Header{}
			if tt.cacheControl != "" {
				h.Set("Cache-Control", tt.cacheControl)
			}
			if tt.age != "" {
				h.Set("Age", tt.age)
			}
			g.header.Store(h)
			keys, err := jwksidentity.NewRemoteKeys(t.Context(), g.srv.URL, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys.NextRefresh(); got != tt.want {
				t.Fatalf("next refresh in %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRemovedKeyStopsVerifyingAfterMaxAge: a key the provider drops stops
// verifying once the max-age of its last answer has passed.
func TestRemovedKeyStopsVerifyingAfterMaxAge(t *testing.T) {
	stay, leave := rsaKey(t, 2048), rsaKey(t, 2048)
	g := newGatedIDP(t, setOf(t, jwkOf(t, stay, "stay", nil), jwkOf(t, leave, "leave", nil)))
	g.header.Store(http.Header{"Cache-Control": {"max-age=1"}})
	_, v := remoteVerifier(t, g.srv.URL, jwksidentity.RemoteOptions{
		RefreshInterval: time.Hour, MinRefreshInterval: 10 * time.Millisecond, UnknownKIDInterval: time.Hour,
	})
	if _, err := v.VerifyIdentity(context.Background(), signWith(t, leave, "leave", claimsFor("user_1"))); err != nil {
		t.Fatal(err)
	}
	g.set.Store(setOf(t, jwkOf(t, stay, "stay", nil)))
	before := g.fetches.Load()
	waitFor(t, "a refresh after max-age", func() bool { return g.fetches.Load() > before })
	waitFor(t, "the dropped key to stop verifying", func() bool {
		_, err := v.VerifyIdentity(context.Background(), signWith(t, leave, "leave", claimsFor("user_1")))
		return err != nil
	})
	if _, err := v.VerifyIdentity(context.Background(), signWith(t, stay, "stay", claimsFor("user_1"))); err != nil {
		t.Fatalf("the remaining key: %v", err)
	}
}

// hugeJWKS answers with n bytes of a JSON JWK Set that never ends, with or
// without a Content-Length, and counts what it managed to write.
func hugeJWKS(t *testing.T, n int64, announce bool) (*httptest.Server, *atomic.Int64) {
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if announce {
			w.Header().Set("Content-Length", "268435456")
		}
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(`{"keys":[` + strings.Repeat(" ", 64<<10-9))
		for sent := int64(0); sent < n; sent += int64(len(chunk)) {
			k, err := w.Write(chunk)
			written.Add(int64(k))
			if err != nil {
				return
			}
			chunk = []byte(strings.Repeat(" ", 64<<10))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &written
}

func TestOversizeJWKSIsRefused(t *testing.T) {
	for _, announce := range []bool{false, true} {
		name := "streamed"
		if announce {
			name = "announced"
		}
		t.Run(name, func(t *testing.T) {
			srv, written := hugeJWKS(t, 256<<20, announce)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := jwksidentity.FetchKeys(context.Background(), srv.URL, jwksidentity.RemoteOptions{})
			if !errors.Is(err, jwksidentity.ErrJWKSTooLarge) {
				t.Fatalf("err = %v, want ErrJWKSTooLarge", err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("allocated %d MiB for a refused JWKS", grew>>20)
			}
			srv.CloseClientConnections()
			if w := written.Load(); w > 64<<20 {
				t.Errorf("the server wrote %d MiB before the client gave up", w>>20)
			}
		})
	}
}

func TestOversizeRefreshKeepsTheKeysInHand(t *testing.T) {
	key := rsaKey(t, 2048)
	g := newGatedIDP(t, setOf(t, jwkOf(t, key, "k1", nil)))
	var failures atomic.Int32
	_, v := remoteVerifier(t, g.srv.URL, jwksidentity.RemoteOptions{RefreshInterval: 20 * time.Millisecond, MaxBytes: 4096,
		OnRefresh: func(err error) {
			if errors.Is(err, jwksidentity.ErrJWKSTooLarge) {
				failures.Add(1)
			}
		}})
	g.set.Store([]byte(`{"keys":[` + strings.Repeat(" ", 5000) + `]}`))
	waitFor(t, "oversize refreshes", func() bool { return failures.Load() >= 2 })
	if _, err := v.VerifyIdentity(context.Background(), signWith(t, key, "k1", claimsFor("user_1"))); err != nil {
		t.Fatalf("keys in hand lost: %v", err)
	}
}

// TestJWKSRedirectIsNotFollowed: the keys come from the configured URL or
// not at all, for the service's fetcher and for FetchKeys.
func TestJWKSRedirectIsNotFollowed(t *testing.T) {
	key := rsaKey(t, 2048)
	evil := newGatedIDP(t, setOf(t, jwkOf(t, key, "k1", nil)))
	redirect := httptest.NewServer(http.RedirectHandler(evil.srv.URL, http.StatusFound))
	t.Cleanup(redirect.Close)

	if _, err := jwksidentity.FetchKeys(context.Background(), redirect.URL, jwksidentity.RemoteOptions{}); !errors.Is(err, jwksidentity.ErrRedirect) {
		t.Fatalf("FetchKeys: err = %v, want ErrRedirect", err)
	}
	keys, v := remoteVerifier(t, redirect.URL, jwksidentity.RemoteOptions{RetryMin: time.Hour})
	if _, err := keys.Ready(context.Background()); !errors.Is(err, jwksidentity.ErrKeysNotLoaded) {
		t.Fatalf("ready from a redirect: %v", err)
	}
	if _, err := v.VerifyIdentity(context.Background(), signWith(t, key, "k1", claimsFor("user_1"))); err == nil {
		t.Fatal("verified with a key from the redirect's target")
	}
	if n := evil.fetches.Load(); n != 0 {
		t.Fatalf("the redirect target was fetched %d times", n)
	}
}

func TestStaticKeysLeaveUnfitKeysOut(t *testing.T) {
	weak := rsaKey(t, 1024)
	if _, err := jwksidentity.NewStaticKeys(setOf(t, jwkOf(t, weak, "weak", nil))); !errors.Is(err, jwksidentity.ErrEmptyKeySet) {
		t.Fatalf("a set of one 1024-bit key: err = %v, want ErrEmptyKeySet", err)
	}
}
