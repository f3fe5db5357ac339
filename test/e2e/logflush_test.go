package e2e_test

import (
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

// TestSIGTERMLosesNoRequestLine: request log lines are buffered and
// written in batches, so a SIGTERM right after a burst of requests must
// still leave every one of their lines in stderr: the shutdown writes
// what is buffered after the servers stop.
func TestSIGTERMLosesNoRequestLine(t *testing.T) {
	t.Parallel()
	s := kit.StartService(t, map[string]string{"LOG_LEVEL": "info", "RATE_LIMIT_ENABLED": "false", "HTTP_DRAIN_DELAY": "0s"})
	bearer := s.IDP.Token(t, "user_1", "org_1", "member", 5*time.Minute)

	const workers, perWorker = 8, 100
	transport := &http.Transport{MaxIdleConnsPerHost: workers}
	defer transport.CloseIdleConnections()
	client := &http.Client{Timeout: 10 * time.Second, Transport: transport}
	sent := make(chan string, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("flush-%d-%d", w, i)
				r, err := kit.Do(client, http.MethodPost, s.URL+kit.RealtimePath, kit.Bearer(bearer), kit.Header("X-Request-ID", id))
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("request %s: %v %v", id, err, r)
					return
				}
				sent <- id
			}
		})
	}
	wg.Wait()
	close(sent)
	// At once: the last lines are still in memory, not yet written.
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(15 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	logged := map[string]int{}
	for _, l := range s.RequestLogs() {
		logged[l.RequestID]++
	}
	n := 0
	for id := range sent {
		n++
		if logged[id] != 1 {
			t.Errorf("request %s has %d log lines, want 1", id, logged[id])
		}
	}
	if n != workers*perWorker {
		t.Fatalf("%d of %d requests answered", n, workers*perWorker)
	}
}
