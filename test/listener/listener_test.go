// Package listener_test checks what the gatepass binary's own HTTP server
// adds around the handlers, so it starts the real binary: the 16 KiB limit
// on a request's head, the cap on connections (HTTP_MAX_CONNECTIONS), and
// idle keep-alive connections closed first near that cap.
package listener_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

// base is what every test sets on top of the kit's production
// configuration: the Go signer, and warnings only.
var base = map[string]string{"JWT_SIGNER": "go", "LOG_LEVEL": "warn"}

// TestHeadLimitIsExactly16KiB: a request head (request line, headers and
// line ends) of 16384 bytes is served, one byte more is 431.
func TestHeadLimitIsExactly16KiB(t *testing.T) {
	t.Parallel()
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

// TestOversizeHeadsAre431: heads far over the limit, however they are
// made up, get 431 from the server itself, and the service goes on
// serving valid callers.
func TestOversizeHeadsAre431(t *testing.T) {
	t.Parallel()
	s := kit.StartService(t, base, map[string]string{"RATE_LIMIT_ENABLED": "false"})
	valid := s.IDP.Token(t, "user_valid", "org_valid", "admin", 10*time.Minute)
	bearer := "Authorization: Bearer " + valid + "\r\n"
	big := strings.Repeat("a", 1<<20)
	tests := []struct{ name, head string }{
		{name: "1 MiB header", head: "POST " + kit.RealtimePath + " HTTP/1.1\r\nHost: x\r\n" + bearer + "X-Big: " + big + "\r\n\r\n"},
		{name: "1 MiB header without credentials", head: "POST " + kit.OfficePath + " HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n"},
		{name: "1 MiB Authorization header", head: "POST " + kit.RealtimePath + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + big + "\r\n\r\n"},
		{name: "ten thousand small headers", head: "POST " + kit.RealtimePath + " HTTP/1.1\r\nHost: x\r\n" + bearer + strings.Repeat("X-A: b\r\n", 10000) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The HTTP server answers these itself, in plain text.
			if r := kit.Send(t, s.Addr, tt.head, nil); r.Status != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %d, want 431: %.200s", r.Status, r.Body)
			}
			if r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(valid)); r.Status != http.StatusOK {
				t.Fatalf("the service stopped serving valid callers: %s", r)
			}
			if r := kit.Get(t, s.URL+"/healthz"); r.Status != http.StatusOK || r.JSON(t)["status"] != "ok" {
				t.Fatalf("healthz %s", r)
			}
		})
	}
}

// TestConnectionsOverTheCapWait: with HTTP_MAX_CONNECTIONS busy
// connections open, another client waits in the accept queue until one
// ends; the admin listener is outside the cap.
func TestConnectionsOverTheCapWait(t *testing.T) {
	t.Parallel()
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
	// No wait for the server to take them: the kernel queues connections
	// in the order they were made, and the server takes four before the
	// cap stops it.
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
	t.Parallel()
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
