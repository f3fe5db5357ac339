package ginhttp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSameMachine: the development identity route answers a loopback
// peer, and a peer calling from the address it reached (a browser in a
// network namespace of its own); nobody else, and nothing that came
// through a proxy.
func TestSameMachine(t *testing.T) {
	tests := []struct {
		name          string
		remote, local string
		header        string
		host          string // the Host header; the local address when empty
		want          bool
	}{
		{name: "loopback", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", want: true},
		{name: "IPv6 loopback", remote: "[::1]:50000", local: "[::1]:8080", want: true},
		{name: "its own address", remote: "10.200.0.1:50000", local: "10.200.0.1:8080", want: true},
		{name: "IPv4-mapped, its own address", remote: "[::ffff:10.200.0.1]:50000", local: "10.200.0.1:8080", want: true},
		{name: "another machine", remote: "10.200.0.2:50000", local: "10.200.0.1:8080"},
		{name: "another machine, listener on every interface", remote: "192.0.2.7:50000", local: "0.0.0.0:8080"},
		{name: "loopback through a proxy", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", header: "X-Forwarded-For"},
		{name: "loopback through a proxy (Forwarded)", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", header: "Forwarded"},
		{name: "no local address", remote: "10.200.0.1:50000"},
		{name: "loopback, Host localhost", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", host: "localhost:8080", want: true},
		{name: "loopback, Host another loopback address", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", host: "127.0.0.2:8080", want: true},
		{name: "its own address, Host without a port", remote: "10.200.0.1:50000", local: "10.200.0.1:8080", host: "10.200.0.1", want: true},
		{name: "loopback, Host a name rebound to this machine", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", host: "evil.example:8080"},
		{name: "loopback, Host another address", remote: "127.0.0.1:50000", local: "127.0.0.1:8080", host: "192.0.2.7:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, RouteDevIdentityToken, nil)
			r.RemoteAddr = tt.remote
			r.Host = tt.host
			if r.Host == "" {
				r.Host = tt.local
			}
			if tt.local != "" {
				local, err := net.ResolveTCPAddr("tcp", tt.local)
				if err != nil {
					t.Fatal(err)
				}
				r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
			}
			if tt.header != "" {
				r.Header.Set(tt.header, "for=203.0.113.7")
			}
			if got := sameMachine(r); got != tt.want {
				t.Fatalf("sameMachine = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOpenAPIDocumentHasNoDevelopmentRoute: the document describes
// production, which has no development identity route.
func TestOpenAPIDocumentHasNoDevelopmentRoute(t *testing.T) {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("no paths in the document")
	}
	if _, ok := doc.Paths[RouteDevIdentityToken]; ok {
		t.Fatalf("the OpenAPI document lists %s", RouteDevIdentityToken)
	}
}
