package kit

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// Relay is an HTTP server that forwards every request to a target set
// later: a peer that must know where to call (livekit-server's webhook
// URL) starts before the gatepass it calls, whose address comes last.
// Until the target is set it answers 503.
type Relay struct {
	URL    string
	target atomic.Pointer[url.URL]
}

// NewRelay starts a relay, closed at the test's end.
func NewRelay(tb testing.TB) *Relay {
	tb.Helper()
	r := &Relay{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u := r.target.Load()
		if u == nil {
			http.Error(w, "gatepass is not started yet", http.StatusServiceUnavailable)
			return
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		// The target closing at the test's end is no news.
		proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
		proxy.ServeHTTP(w, req)
	}))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// To points the relay at base.
func (r *Relay) To(tb testing.TB, base string) {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	r.target.Store(u)
}
