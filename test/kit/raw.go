package kit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Conn is a raw connection to a listener, for requests no http.Client
// would send and for watching what the server does with the connection.
type Conn struct {
	net.Conn
	r *bufio.Reader
}

// Dial connects to addr (host:port) within two seconds; the connection
// closes when the test ends, and every read and write on it must be done
// within five seconds of the dial.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return &Conn{Conn: c, r: bufio.NewReader(c)}
}

// Exchange writes text as it is and reads one answer whole.
func (c *Conn) Exchange(t testing.TB, text string) Response {
	t.Helper()
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Close: resp.Close}
}

// ClosedByServer reports whether the server closes the connection (EOF or
// a reset) within a second.
func (c *Conn) ClosedByServer() bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || (err != nil && strings.Contains(err.Error(), "reset"))
}

// RawRequest writes text on a fresh connection to addr and reads one
// answer; the connection stays open for more.
func RawRequest(t testing.TB, addr, text string) (Response, *Conn) {
	t.Helper()
	c := Dial(t, addr)
	return c.Exchange(t, text), c
}

// Send writes head, then body when there is one, on a fresh connection to
// addr while it reads the answer: the server may answer and close before
// the request is all sent.
func Send(t testing.TB, addr, head string, body func(io.Writer)) Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		if _, err := io.WriteString(conn, head); err != nil {
			return
		}
		if body != nil {
			body(conn)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
