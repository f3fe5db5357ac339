package attack_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// base is what the tests of abusive clients set on top of the kit's
// production configuration: the Go signer, and warnings only, as some send
// thousands of requests.
var base = map[string]string{"JWT_SIGNER": "go", "LOG_LEVEL": "warn"}

const durationMetric = "gatepass_http_request_duration_seconds_count"

// seriesOf lists the label sets of the request-duration series.
func seriesOf(m kit.Metrics) map[string]bool {
	out := map[string]bool{}
	for _, s := range m {
		if s.Name == durationMetric {
			out[s.Labels["route"]+" "+s.Labels["method"]+" "+s.Labels["code"]] = true
		}
	}
	return out
}

// TestClientsCannotMultiplyMetricSeries sends 10,000 requests with random
// methods and paths: the request-duration series must stay a handful, with
// every method and route label from the closed sets.
func TestClientsCannotMultiplyMetricSeries(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, base, map[string]string{"RATE_LIMIT_ENABLED": "false"})
	const total, workers = 10_000, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range total / workers {
				method := fmt.Sprintf("M%08X", rng.Uint32())
				path := fmt.Sprintf("/r/%d/%d", w, i)
				if i%3 == 0 {
					path = kit.RealtimePath
				}
				if _, err := kit.Do(kit.Client, method, s.URL+path); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	series := seriesOf(kit.Scrape(t, s.AdminURL+"/metrics"))
	if len(series) == 0 || len(series) > 6 {
		t.Fatalf("%d request-duration series after %d random requests, want a handful: %v", len(series), total, series)
	}
	allowedRoutes := map[string]bool{"unmatched": true, "/healthz": true, "/readyz": true, "/openapi.json": true,
		"/.well-known/jwks.json": true, kit.OfficePath: true, kit.RealtimePath: true}
	for _, s := range kit.Scrape(t, s.AdminURL+"/metrics") {
		if s.Name != durationMetric {
			continue
		}
		switch m := s.Labels["method"]; m {
		case "GET", "HEAD", "POST", "other":
		default:
			t.Errorf("method label %q is not from the closed set", m)
		}
		if !allowedRoutes[s.Labels["route"]] {
			t.Errorf("route label %q is not a route", s.Labels["route"])
		}
	}
	// One more burst of new methods adds no series.
	before := len(series)
	for i := range 200 {
		kit.Do(kit.Client, fmt.Sprintf("Z%d", i), s.URL+fmt.Sprintf("/z/%d", i))
	}
	if after := len(seriesOf(kit.Scrape(t, s.AdminURL+"/metrics"))); after != before {
		t.Fatalf("series grew from %d to %d", before, after)
	}
}
