package attack_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestDuplicateAuthorizationIs400: which of two Authorization headers a
// proxy or a log looked at is not guessed.
func TestDuplicateAuthorizationIs400(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base)
	valid := s.IDP.Token(t, "user_dup", "org_1", "member", 10*time.Minute)
	r := kit.Post(t, s.URL+kit.RealtimePath, kit.AddHeader("Authorization", "Bearer "+valid), kit.AddHeader("Authorization", "Bearer not.a.token"))
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"code":"duplicate_header"`) {
		t.Fatalf("two Authorization headers: %s", r)
	}
}

// TestContentLengthWithTransferEncodingClosesTheConnection: a request with
// both framings is answered and its connection is not used again.
func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base)
	text := "POST " + kit.RealtimePath + " HTTP/1.1\r\nHost: gatepass\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"0\r\n\r\n"
	resp, conn := kit.RawRequest(t, s.Addr, text)
	if resp.Status >= 500 {
		t.Fatalf("status %d", resp.Status)
	}
	if !resp.Close {
		t.Errorf("response to a request with both Content-Length and Transfer-Encoding does not close (Connection %q)", resp.Header.Get("Connection"))
	}
	if !conn.ClosedByServer() {
		t.Fatal("the server kept the connection of a request with both Content-Length and Transfer-Encoding")
	}
	// A plain request keeps its connection.
	_, conn = kit.RawRequest(t, s.Addr, "GET /healthz HTTP/1.1\r\nHost: gatepass\r\n\r\n")
	if conn.ClosedByServer() {
		t.Fatal("a plain request's connection was closed")
	}
}

// TestPublicReadinessTellsOnlyWhether: the public port names no signer,
// algorithm, key id, key count or failure mode; the admin port does.
func TestPublicReadinessTellsOnlyWhether(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base)
	public := kit.Get(t, s.URL+"/readyz")
	if ready := public.Readiness(t); public.Status != http.StatusOK || ready.Status != "ready" || ready.Checks != nil {
		t.Fatalf("public /readyz %s, want only the status", public)
	}
	if slices.ContainsFunc([]string{"kid", "RS256", "go ", "keys", "open", "memory", "redis"},
		func(word string) bool { return strings.Contains(string(public.Body), word) }) {
		t.Fatalf("public /readyz tells %s", public.Body)
	}
	admin := kit.Get(t, s.AdminURL+"/readyz")
	if ready := admin.Readiness(t); ready.Checks["signer"].Detail == "" || ready.Checks["rate_limiter"].Detail == "" {
		t.Fatalf("admin /readyz lost its details: %s", admin.Body)
	}
}
