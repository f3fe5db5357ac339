package hardening2_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

// TestDuplicateAuthorizationIs400: which of two Authorization headers a
// proxy or a log looked at is not guessed.
func TestDuplicateAuthorizationIs400(t *testing.T) {
	s := kit.StartService(t, base)
	valid := s.IDP.Token(t, "user_dup", "org_1", "member", 10*time.Minute)
	r := kit.Post(t, s.URL+kit.RealtimePath, kit.AddHeader("Authorization", "Bearer "+valid), kit.AddHeader("Authorization", "Bearer not.a.token"))
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"code":"duplicate_header"`) {
		t.Fatalf("two Authorization headers: %s", r)
	}
}

// TestContentLengthWithTransferEncodingClosesTheConnection: a request with
// both framings is answered and its connection is not used again.
func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	s := kit.StartService(t, base)
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
	s := kit.StartService(t, base)
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

// TestHeadLimitIsExactly16KiB: a request head (request line, headers and
// line ends) of 16384 bytes is served, one byte more is 431.
func TestHeadLimitIsExactly16KiB(t *testing.T) {
	s := kit.StartService(t, base)
	head := func(size int) string {
		prefix := "GET /healthz HTTP/1.1\r\nHost: gatepass\r\nX-Pad: "
		pad := size - len(prefix) - len("\r\n\r\n")
		return prefix + strings.Repeat("a", pad) + "\r\n\r\n"
	}
	for _, tc := range []struct{ size, want int }{{16 << 10, 200}, {16<<10 + 1, 431}} {
		resp, _ := kit.RawRequest(t, s.Addr, head(tc.size))
		if resp.Status != tc.want {
			t.Errorf("head of %d bytes: %d, want %d", tc.size, resp.Status, tc.want)
		}
	}
}

// TestConnectionsOverTheCapWait: with HTTP_MAX_CONNECTIONS busy
// connections open, another client waits in the accept queue until one
// ends; the admin listener is outside the cap.
func TestConnectionsOverTheCapWait(t *testing.T) {
	const limit = 4
	s := kit.StartService(t, base, map[string]string{"HTTP_MAX_CONNECTIONS": fmt.Sprint(limit), "HTTP_READ_HEADER_TIMEOUT": "30s"})
	// Busy connections: a request head begun and never finished.
	busy := make([]net.Conn, limit)
	for i := range busy {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: gatepass\r\n")
		busy[i] = c
	}
	time.Sleep(200 * time.Millisecond)
	answered := make(chan int, 1)
	go func() {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(s.URL + "/healthz")
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case got := <-answered:
		t.Fatalf("a client over the cap of %d was served at once (%d)", limit, got)
	case <-time.After(700 * time.Millisecond):
	}
	if r := kit.Get(t, s.AdminURL+"/healthz"); r.Status != http.StatusOK {
		t.Fatalf("admin listener while the public one is full: %s", r)
	}
	busy[0].Close()
	select {
	case got := <-answered:
		if got != http.StatusOK {
			t.Fatalf("the waiting client got %d", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting client was not served once a connection ended")
	}
}

// TestIdleConnectionsGoFirstNearTheCap: keep-alive connections doing
// nothing are closed so that new clients get in.
func TestIdleConnectionsGoFirstNearTheCap(t *testing.T) {
	const limit = 4
	s := kit.StartService(t, base, map[string]string{"HTTP_MAX_CONNECTIONS": fmt.Sprint(limit)})
	var idles []*kit.Conn
	for range limit {
		_, conn := kit.RawRequest(t, s.Addr, "GET /healthz HTTP/1.1\r\nHost: gatepass\r\n\r\n")
		idles = append(idles, conn)
	}
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 3 {
		resp, err := c.Get(s.URL + "/healthz")
		if err != nil {
			t.Fatalf("new client %d with %d idle connections open: %v", i+1, limit, err)
		}
		resp.Body.Close()
	}
	closed := 0
	for _, c := range idles {
		if c.ClosedByServer() {
			closed++
		}
	}
	if closed == 0 {
		t.Fatal("no idle connection was closed near the cap")
	}
}
