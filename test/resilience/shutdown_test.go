package resilience_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

// outcome is what a client saw of one request.
type outcome struct {
	id     string
	status int
	err    error
	// done is when the answer or the error came.
	done time.Time
}

// refused reports whether err is a refused connection: the listener was
// closed, nothing of the request reached the server.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// TestSIGTERMUnderLoad sends SIGTERM while clients keep firing over
// keep-alive connections and one request is held in flight. Every request
// a handler took must reach its client as a 200, the held one included;
// errors may come only after the signal, and are either refused connections
// or requests that no handler ever saw (the server log names every request
// a handler answered). The latter happen at every shutdown under load:
// net/http closes connections that are idle at that instant, and drops
// unanswered a request it finishes reading after shutdown began, so that
// the client may retry it elsewhere.
func TestSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	const shutdownTimeout = 10 * time.Second
	p := kit.Start(t, productionEnv(t, idp, map[string]string{
		"RATE_LIMIT_ENABLED": "false", "HTTP_SHUTDOWN_TIMEOUT": shutdownTimeout.String(),
	}))
	token := idp.Token(t, "user_alice", "org_1", "member", 10*time.Minute)

	const workers, perWorker = 16, 20000
	transport := &http.Transport{MaxIdleConnsPerHost: workers}
	defer transport.CloseIdleConnections()
	loadClient := &http.Client{Timeout: 10 * time.Second, Transport: transport}
	var (
		ok       atomic.Int64
		stop     atomic.Bool
		outcomes = make([][]outcome, workers)
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if stop.Load() {
					return
				}
				o := outcome{id: fmt.Sprintf("load-%d-%d", w, i)}
				path := kit.OfficePath
				if i%2 == 1 {
					path = kit.RealtimePath
				}
				r, err := kit.Do(loadClient, http.MethodPost, p.URL+path, kit.Bearer(token), kit.Header("X-Request-ID", o.id))
				o.status, o.err, o.done = r.Status, err, time.Now()
				outcomes[w] = append(outcomes[w], o)
				if err == nil && r.Status == http.StatusOK {
					ok.Add(1)
				}
				if refused(err) {
					return // the listener is gone; so is this client
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	if !kit.Eventually(30*time.Second, 10*time.Millisecond, func() bool { return ok.Load() >= 400 }) {
		t.Fatalf("only %d requests served in 30s before SIGTERM", ok.Load())
	}

	// One request held in flight: headers sent, body withheld. With
	// Expect: 100-continue the server says when the handler starts reading
	// the body, so the request is surely taken before the signal.
	held, err := net.DialTimeout("tcp", p.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_ = held.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(held, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: 2\r\nExpect: 100-continue\r\nX-Request-ID: held-in-flight\r\n\r\n", kit.OfficePath, p.Addr, token)
	heldReader := bufio.NewReader(held)
	if resp, err := http.ReadResponse(heldReader, nil); err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("held request: want 100 Continue, got %v %v", resp, err)
	}

	signalled := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused soon, while the held request keeps the
	// process alive.
	if !kit.Eventually(5*time.Second, 10*time.Millisecond, func() bool {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return refused(err)
	}) {
		t.Fatal("new connections still accepted 5s after SIGTERM")
	}
	// The in-flight request completes, after the listener closed.
	if _, err := held.Write([]byte("{}")); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	resp, err := http.ReadResponse(heldReader, nil)
	if err != nil {
		t.Fatalf("in-flight request got no response after SIGTERM: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight request answered %d after SIGTERM, want 200", resp.StatusCode)
	}

	wg.Wait() // every client ends on a refused connection or its client timeout
	if err := p.Wait(time.Until(signalled.Add(shutdownTimeout))); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}

	logged := map[string]int{}
	for _, l := range p.RequestLogs() {
		logged[l.RequestID] = l.Status
		if l.Status >= 500 {
			t.Errorf("server logged %d for %s", l.Status, l.RequestID)
		}
	}
	if logged["held-in-flight"] != http.StatusOK {
		t.Errorf("the in-flight request is not logged as 200")
	}
	kinds := map[string]int{}
	for w, list := range outcomes {
		if n := len(list); n == 0 || !refused(list[n-1].err) {
			t.Errorf("client %d did not end on a refused connection: %+v", w, list[max(n-1, 0):])
		}
		for _, o := range list {
			status, took := logged[o.id]
			switch {
			case o.err == nil && o.status == http.StatusOK:
				kinds["200"]++
				if !took {
					t.Errorf("%s: client got 200 but the server never logged it", o.id)
				}
			case o.err == nil:
				t.Errorf("%s: status %d", o.id, o.status)
			case took:
				t.Errorf("%s: the server answered %d but the client got %v", o.id, status, o.err)
			case o.done.Before(signalled):
				t.Errorf("%s: error before SIGTERM: %v", o.id, o.err)
			case refused(o.err):
				kinds["refused after SIGTERM"]++
			case errors.Is(o.err, os.ErrDeadlineExceeded) || strings.Contains(o.err.Error(), "Timeout"):
				t.Errorf("%s: timed out: %v", o.id, o.err)
			default:
				kinds["closed unanswered, never handled"]++
				t.Logf("%s: %v (never reached a handler)", o.id, o.err)
			}
		}
	}
	for id, status := range logged {
		if strings.HasPrefix(id, "load-") && status != http.StatusOK {
			t.Errorf("server logged %s with %d", id, status)
		}
	}
	summary := make([]string, 0, len(kinds))
	for k, n := range kinds {
		summary = append(summary, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(summary)
	t.Logf("outcomes: %s; exited %s after SIGTERM", strings.Join(summary, ", "), time.Since(signalled).Round(time.Millisecond))
}
