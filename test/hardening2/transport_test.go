package hardening2_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRequest writes text on a fresh connection and reads one response.
func rawRequest(t *testing.T, addr, text string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, text); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, conn, br
}

// closedByServer reports whether the server closed conn (EOF within a
// second).
func closedByServer(conn net.Conn, br *bufio.Reader) bool {
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err := br.ReadByte()
	return err == io.EOF || (err != nil && strings.Contains(err.Error(), "reset"))
}

// TestDuplicateAuthorizationIs400: which of two Authorization headers a
// proxy or a log looked at is not guessed.
func TestDuplicateAuthorizationIs400(t *testing.T) {
	s := start(t, nil)
	valid := s.idp.Token(t, "user_dup", "org_1", "member", 10*time.Minute)
	r := s.do(t, "POST", s.URL+realtimePath, "Authorization", "Bearer "+valid, "Authorization", "Bearer not.a.token")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":"duplicate_header"`) {
		t.Fatalf("two Authorization headers: %d %s", r.status, r.body)
	}
}

// TestContentLengthWithTransferEncodingClosesTheConnection: a request with
// both framings is answered and its connection is not used again.
func TestContentLengthWithTransferEncodingClosesTheConnection(t *testing.T) {
	s := start(t, nil)
	text := "POST " + realtimePath + " HTTP/1.1\r\nHost: gatepass\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"0\r\n\r\n"
	resp, conn, br := rawRequest(t, s.Addr, text)
	if resp.StatusCode >= 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !resp.Close {
		t.Errorf("response to a request with both Content-Length and Transfer-Encoding does not close (Connection %q)", resp.Header.Get("Connection"))
	}
	if !closedByServer(conn, br) {
		t.Fatal("the server kept the connection of a request with both Content-Length and Transfer-Encoding")
	}
	// A plain request keeps its connection.
	_, conn, br = rawRequest(t, s.Addr, "GET /healthz HTTP/1.1\r\nHost: gatepass\r\n\r\n")
	if closedByServer(conn, br) {
		t.Fatal("a plain request's connection was closed")
	}
}

// TestPublicReadinessTellsOnlyWhether: the public port names no signer,
// algorithm, key id, key count or failure mode; the admin port does.
func TestPublicReadinessTellsOnlyWhether(t *testing.T) {
	s := start(t, nil)
	status, ready, body := s.readiness(t, s.URL)
	if status != http.StatusOK || ready.Status != "ready" || ready.Checks != nil {
		t.Fatalf("public /readyz %d %s, want only the status", status, body)
	}
	if containsAny(body, "kid", "RS256", "go ", "keys", "open", "memory", "redis") {
		t.Fatalf("public /readyz tells %s", body)
	}
	if _, ready, body := s.readiness(t, s.AdminURL); ready.Checks["signer"].Detail == "" || ready.Checks["rate_limiter"].Detail == "" {
		t.Fatalf("admin /readyz lost its details: %s", body)
	}
}

// TestHeadLimitIsExactly16KiB: a request head (request line, headers and
// line ends) of 16384 bytes is served, one byte more is 431.
func TestHeadLimitIsExactly16KiB(t *testing.T) {
	s := start(t, nil)
	head := func(size int) string {
		prefix := "GET /healthz HTTP/1.1\r\nHost: gatepass\r\nX-Pad: "
		pad := size - len(prefix) - len("\r\n\r\n")
		return prefix + strings.Repeat("a", pad) + "\r\n\r\n"
	}
	for _, tc := range []struct{ size, want int }{{16 << 10, 200}, {16<<10 + 1, 431}} {
		resp, _, _ := rawRequest(t, s.Addr, head(tc.size))
		if resp.StatusCode != tc.want {
			t.Errorf("head of %d bytes: %d, want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
}

// TestConnectionsOverTheCapWait: with HTTP_MAX_CONNECTIONS busy
// connections open, another client waits in the accept queue until one
// ends; the admin listener is outside the cap.
func TestConnectionsOverTheCapWait(t *testing.T) {
	const limit = 4
	s := start(t, map[string]string{"HTTP_MAX_CONNECTIONS": fmt.Sprint(limit), "HTTP_READ_HEADER_TIMEOUT": "30s"})
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
	if r := s.do(t, "GET", s.AdminURL+"/healthz"); r.status != http.StatusOK {
		t.Fatalf("admin listener while the public one is full: %d", r.status)
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
	s := start(t, map[string]string{"HTTP_MAX_CONNECTIONS": fmt.Sprint(limit)})
	type idle struct {
		conn net.Conn
		br   *bufio.Reader
	}
	var idles []idle
	for range limit {
		_, conn, br := rawRequest(t, s.Addr, "GET /healthz HTTP/1.1\r\nHost: gatepass\r\n\r\n")
		idles = append(idles, idle{conn, br})
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
		if closedByServer(c.conn, c.br) {
			closed++
		}
	}
	if closed == 0 {
		t.Fatal("no idle connection was closed near the cap")
	}
}
