package eviction_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// transports are the evicting transports the benchmark times, in the
// order it reports them.
var transports = []string{"livekit", "centrifugo", "office_router", "nats"}

// BenchmarkEviction revokes b.N users one after another (run it with
// -benchtime 20x for 20 revocations), each connected on every transport
// as the test connects them, and reports per transport the time from the
// revocation call on replica A to the eviction as the client sees it
// (both LiveKit participants gone, Centrifugo's disconnect, the Worker's
// close frame, the NATS connection closed): p50 and p99 in milliseconds, over the b.N revocations.
// It measures on loopback and asserts no timing; the target is a
// p99 under 2 s.
func BenchmarkEviction(b *testing.B) {
	s := startStack(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.N)*30*time.Second+time.Minute)
	defer cancel()
	samples := map[string][]time.Duration{}
	var answers []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		u := s.connect(ctx, b, s.a, fmt.Sprintf("user_bench_%d", i))
		b.StartTimer()
		evicted := watch(ctx, u)
		start := time.Now()
		revoke(b, s.a, u.id)
		answers = append(answers, time.Since(start))
		for tr, d := range evicted.wait(b, start) {
			samples[tr] = append(samples[tr], d)
		}
	}
	b.StopTimer()

	var table strings.Builder
	fmt.Fprintf(&table, "eviction over %d revocations (loopback; from the revocation call; target p99 < 2s)\n", b.N)
	fmt.Fprintf(&table, "  %-14s %8s %8s %8s\n", "transport", "p50", "p99", "max")
	row := func(name, metric string, ds []time.Duration) {
		p50, p99, maxd := percentile(ds, 0.50), percentile(ds, 0.99), slices.Max(ds)
		fmt.Fprintf(&table, "  %-14s %8s %8s %8s\n", name, p50.Round(time.Millisecond), p99.Round(time.Millisecond), maxd.Round(time.Millisecond))
		b.ReportMetric(float64(p50)/float64(time.Millisecond), metric+"-p50-ms")
		b.ReportMetric(float64(p99)/float64(time.Millisecond), metric+"-p99-ms")
	}
	for _, tr := range transports {
		row(tr, tr, samples[tr])
	}
	row("(the 202)", "answer", answers)
	// Printed rather than logged: a benchmark's log is cut at ten lines,
	// and the probe run with b.N = 1 comes first.
	fmt.Print("\n" + table.String())
}

// percentile is the nearest-rank q-percentile of ds: of 20 samples, p50
// is the 10th smallest and p99 the largest.
func percentile(ds []time.Duration, q float64) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
