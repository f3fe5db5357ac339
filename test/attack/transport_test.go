package attack_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

const mib = 1 << 20

// chunks writes n bytes of a JSON string as a chunked body.
func chunks(n int) func(io.Writer) {
	return func(w io.Writer) {
		chunk := strings.Repeat("a", 16<<10)
		if _, err := fmt.Fprintf(w, "8\r\n{\"x\":\"aa\r\n"); err != nil {
			return
		}
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, "2\r\n\"}\r\n0\r\n\r\n")
	}
}

func TestHostileTransport(t *testing.T) {
	t.Parallel()
	s := startService(t)
	bearer := "Authorization: Bearer " + s.valid + "\r\n"
	big := strings.Repeat("a", mib)
	bigBody := func(w io.Writer) { io.WriteString(w, `{"x":"`+big+`"}`) }
	bodyLen := len(big) + len(`{"x":""}`)

	tests := []struct {
		name   string
		head   string
		body   func(io.Writer)
		status int
		code   string
	}{
		{name: "1 MiB body", head: fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", kit.OfficePath, bearer, bodyLen),
			body: bigBody, status: http.StatusRequestEntityTooLarge, code: "body_too_large"},
		{name: "1 MiB chunked body", head: "POST " + kit.OfficePath + " HTTP/1.1\r\nHost: x\r\n" + bearer + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
			body: chunks(mib), status: http.StatusRequestEntityTooLarge, code: "body_too_large"},
		{name: "1 MiB chunked body to the realtime endpoint", head: "POST " + kit.RealtimePath + " HTTP/1.1\r\nHost: x\r\n" + bearer + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
			body: chunks(mib), status: http.StatusRequestEntityTooLarge, code: "body_too_large"},
		// Credentials are checked before a byte of the body is read.
		{name: "1 MiB body without credentials", head: fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", kit.OfficePath, bodyLen),
			body: bigBody, status: http.StatusUnauthorized, code: "missing_credentials"},
		{name: "1 MiB chunked body with a forged token", head: "POST " + kit.OfficePath + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer forged\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
			body: chunks(mib), status: http.StatusUnauthorized, code: "invalid_token"},
		{name: "9 KiB Authorization header", head: "POST " + kit.OfficePath + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + strings.Repeat("a", 9<<10) + "\r\n\r\n",
			status: http.StatusUnauthorized, code: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kit.WantProblem(t, tt.name, kit.Send(t, s.Addr, tt.head, tt.body), tt.status, tt.code)
			s.stillServes(t)
		})
	}

	t.Run("slow headers are cut off", func(t *testing.T) {
		t.Parallel()
		// HTTP_READ_HEADER_TIMEOUT is 1s: a client that dribbles its
		// headers for longer loses the connection without an answer.
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			if _, err := io.WriteString(conn, "POST "+kit.RealtimePath+" HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
				return
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
		conn.SetReadDeadline(time.Now().Add(8 * time.Second))
		b, err := io.ReadAll(conn)
		elapsed := time.Since(start)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the connection was still open after %v", elapsed)
		}
		if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 408") {
			t.Fatalf("answered %.100q", b)
		}
		if elapsed < 500*time.Millisecond || elapsed > 4*time.Second {
			t.Errorf("closed after %v, want about 1s", elapsed)
		}
		s.stillServes(t)
	})
}
