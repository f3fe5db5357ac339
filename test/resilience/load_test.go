package resilience_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

// loadRun is the tally of one batch of requests.
type loadRun struct {
	ok       int64
	failures map[string]int64 // by status or error text
	elapsed  time.Duration
}

func (r loadRun) String() string {
	kinds := make([]string, 0, len(r.failures))
	for k, n := range r.failures {
		kinds = append(kinds, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d ok in %s, failures {%s}", r.ok, r.elapsed.Round(time.Millisecond), strings.Join(kinds, ", "))
}

// runLoad sends total requests over conns keep-alive connections, half to
// each grant endpoint, each connection as its own user.
func runLoad(t *testing.T, c *http.Client, p *kit.Process, tokens []string, total int64) loadRun {
	t.Helper()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		run      = loadRun{failures: map[string]int64{}}
		wg       sync.WaitGroup
		deadline = time.Now().Add(90 * time.Second)
	)
	start := time.Now()
	for _, token := range tokens {
		wg.Go(func() {
			var ok int64
			fail := map[string]int64{}
			for {
				i := next.Add(1)
				if i > total || time.Now().After(deadline) {
					break
				}
				path := kit.OfficePath
				if i%2 == 0 {
					path = kit.RealtimePath
				}
				r, err := kit.Do(c, http.MethodPost, p.URL+path, kit.Bearer(token))
				switch {
				case err != nil:
					fail["error: "+err.Error()]++
				case r.Status != http.StatusOK:
					fail[fmt.Sprintf("status %d: %.100s", r.Status, r.Body)]++
				default:
					ok++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			run.ok += ok
			for k, n := range fail {
				run.failures[k] += n
			}
		})
	}
	wg.Wait()
	run.elapsed = time.Since(start)
	return run
}

// settle waits until the process's goroutine count is at most atMost and
// has held still for a second (idle connections are closed meanwhile), and returns the last scrape; it fails the
// test when that does not happen within 20s.
func settle(t *testing.T, p *kit.Process, atMost float64, what string) kit.Metrics {
	t.Helper()
	var m kit.Metrics
	last, steady := -1.0, 0
	if !kit.Eventually(20*time.Second, 250*time.Millisecond, func() bool {
		m = kit.Scrape(t, p.AdminURL+"/metrics")
		g := m.Sum("go_goroutines")
		if g == last {
			steady++
		} else {
			steady = 0
		}
		last = g
		return g <= atMost && steady >= 4
	}) {
		t.Fatalf("%s: go_goroutines %v, want a steady count of at most %v within 20s", what, last, atMost)
	}
	return m
}

// TestSustainedLoadLeavesNothingBehind sends 20,000 grant requests at 64
// connections: every one must get 200, and once the connections are idle
// and closed the process must be back to its warm goroutine count with no
// runaway memory.
func TestSustainedLoadLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	p := kit.Start(t, productionEnv(t, idp, map[string]string{
		"RATE_LIMIT_ENABLED": "false", "HTTP_IDLE_TIMEOUT": "2s", "LOG_LEVEL": "warn",
	}))
	const conns, warmup, total = 64, 2000, 20000
	tokens := make([]string, conns)
	for i := range tokens {
		tokens[i] = idp.Token(t, fmt.Sprintf("user_load_%d", i), fmt.Sprintf("org_%d", i%4), "member", 30*time.Minute)
	}
	// The client keeps its connections between requests and closes them
	// once idle after each batch. It gives up an idle connection well
	// before the server's idle timeout would close it: a POST on a
	// connection the server is closing at that instant fails with EOF and
	// is not retried, which would count as a failure of the load.
	transport := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: 500 * time.Millisecond}
	defer transport.CloseIdleConnections()
	c := &http.Client{Timeout: 30 * time.Second, Transport: transport}

	w := runLoad(t, c, p, tokens, warmup)
	if w.ok != warmup {
		t.Fatalf("warm-up: %s", w)
	}
	// 64 open connections hold at least 64 goroutines: fewer means the
	// server closed them.
	before := settle(t, p, conns-1, "after the warm-up")
	goroutines0, heap0, rss0 := before.Sum("go_goroutines"), before.Sum("go_memstats_heap_inuse_bytes"), before.Sum("process_resident_memory_bytes")
	if goroutines0 == 0 || heap0 == 0 || rss0 == 0 {
		t.Fatalf("warm metrics: go_goroutines %v, go_memstats_heap_inuse_bytes %v, process_resident_memory_bytes %v", goroutines0, heap0, rss0)
	}

	run := runLoad(t, c, p, tokens, total)
	t.Logf("load: %s (%.0f requests/s)", run, float64(run.ok)/run.elapsed.Seconds())
	if run.ok != total || len(run.failures) > 0 {
		t.Fatalf("load: %s, want %d ok and no failure", run, total)
	}
	m := kit.Scrape(t, p.AdminURL+"/metrics")
	issued := m.Sum("gatepass_grants_total", "result", "issued")
	if want := float64(warmup + total); issued != want {
		t.Errorf("gatepass_grants_total{result=\"issued\"} = %v, want %v", issued, want)
	}

	const goroutineMargin = 5
	after := settle(t, p, goroutines0+goroutineMargin, "goroutines leak: after the load")
	goroutines1, heap1, rss1 := after.Sum("go_goroutines"), after.Sum("go_memstats_heap_inuse_bytes"), after.Sum("process_resident_memory_bytes")
	t.Logf("warm: %v goroutines, %.1f MiB heap in use, %.1f MiB resident; after: %v goroutines, %.1f MiB heap in use, %.1f MiB resident",
		goroutines0, heap0/(1<<20), rss0/(1<<20), goroutines1, heap1/(1<<20), rss1/(1<<20))
	const slack = 16 << 20
	if heap1 > 2*heap0+slack {
		t.Errorf("go_memstats_heap_inuse_bytes grew from %.1f MiB to %.1f MiB", heap0/(1<<20), heap1/(1<<20))
	}
	if rss1 > 2*rss0+slack {
		t.Errorf("process_resident_memory_bytes grew from %.1f MiB to %.1f MiB", rss0/(1<<20), rss1/(1<<20))
	}
}
