package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one run measured. Latencies are in milliseconds.
type result struct {
	Label  string `json:"label,omitempty"`
	Signer string `json:"signer,omitempty"`
	// Round numbers the alternating rounds of the runs whose ratios are
	// compared (scripts/bench.sh BENCH_ROUNDS); 0 outside them.
	Round       int    `json:"round,omitempty"`
	URL         string `json:"url"`
	Method      string `json:"method"`
	Concurrency int    `json:"concurrency"`

	WarmupSeconds float64 `json:"warmup_seconds"`
	Seconds       float64 `json:"seconds"`
	Requests      int64   `json:"requests"`
	OK            int64   `json:"ok"`
	Errors        int64   `json:"errors"`
	// ErrorKinds counts errors by status ("status_429") or by transport
	// failure ("timeout", "transport").
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
	RPS        float64          `json:"rps"`
	Latency    latency          `json:"latency_ms"`
	// ResponseBytes is the body size of a 2xx response.
	ResponseBytes int64 `json:"response_bytes"`

	// ClientCPU is the CPU time this process used in the window, and
	// ClientCPUUtil that over the window: near 1 on one core means the
	// load generator may be the limit.
	ClientCPU     float64 `json:"client_cpu_seconds"`
	ClientCPUUtil float64 `json:"client_cpu_util"`

	// CPUBusy is how busy each CPU of the machine was over the window (all
	// processes): a pinned core busier than its one process means another
	// process shared it, and the run measured less than the machine can do.
	CPUBusy []float64 `json:"cpu_busy,omitempty"`

	Server *serverUsage `json:"server,omitempty"`
}

type latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// serverUsage is the server process's CPU over the window and its memory.
type serverUsage struct {
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUUtil    float64 `json:"cpu_util"`
	// CPUMicrosPerRequest is the server's CPU time per measured request.
	CPUMicrosPerRequest float64 `json:"cpu_us_per_request"`
	// PeakRSSKiB is VmHWM, the process's resident-set high-water mark
	// since it started; RSSKiB is VmRSS at the end of the window.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	RSSKiB     int64 `json:"rss_kib"`
}

// worker is one connection's tally; only its goroutine touches it until
// the run ends.
type worker struct {
	latencies []time.Duration
	ok        int64
	errs      int64
	kinds     map[string]int64
	firstErr  string
	bodyBytes int64
}

// run state shared by the workers.
type loadState struct {
	addr         string
	req          []byte
	timeout      time.Duration
	measureStart time.Time
	stopped      atomic.Bool
	measured     atomic.Int64
	max          int64
	full         chan struct{} // closed when max requests were measured
	fullOnce     sync.Once
}

func load(ctx context.Context, addr string, req []byte, o options) (*result, error) {
	s := &loadState{
		addr: addr, req: req, timeout: o.timeout,
		measureStart: time.Now().Add(o.warmup),
		max:          o.maxRequests,
		full:         make(chan struct{}),
	}
	workers := make([]*worker, o.concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{kinds: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(w)
		}()
	}

	stopAll := func() { s.stopped.Store(true); wg.Wait() }
	select {
	case <-time.After(time.Until(s.measureStart)):
	case <-ctx.Done():
		stopAll()
		return nil, ctx.Err()
	}
	cpu0, err := selfCPU()
	if err != nil {
		stopAll()
		return nil, err
	}
	var srv0 float64
	if o.serverPID > 0 {
		if srv0, err = processCPU(o.serverPID); err != nil {
			stopAll()
			return nil, err
		}
	}
	machine0 := machineCPU()
	start := time.Now()
	select {
	case <-time.After(o.duration):
	case <-s.full:
	case <-ctx.Done():
		stopAll()
		return nil, ctx.Err()
	}
	s.stopped.Store(true)
	elapsed := time.Since(start)
	machine1 := machineCPU()
	cpu1, err := selfCPU()
	if err != nil {
		stopAll()
		return nil, err
	}
	res := &result{
		Concurrency:   o.concurrency,
		WarmupSeconds: o.warmup.Seconds(),
		Seconds:       elapsed.Seconds(),
		ClientCPU:     cpu1 - cpu0,
		ClientCPUUtil: (cpu1 - cpu0) / elapsed.Seconds(),
		CPUBusy:       busyFractions(machine0, machine1),
	}
	if o.serverPID > 0 {
		srv1, err := processCPU(o.serverPID)
		if err != nil {
			stopAll()
			return nil, err
		}
		res.Server = &serverUsage{PID: o.serverPID, CPUSeconds: srv1 - srv0, CPUUtil: (srv1 - srv0) / elapsed.Seconds()}
	}
	wg.Wait()

	res.tally(workers)
	if res.Server != nil {
		if res.Requests > 0 {
			res.Server.CPUMicrosPerRequest = res.Server.CPUSeconds * 1e6 / float64(res.Requests)
		}
		res.Server.PeakRSSKiB, res.Server.RSSKiB, err = processMemory(o.serverPID)
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// tally merges the workers' counts and latencies.
func (res *result) tally(workers []*worker) {
	var all []time.Duration
	res.ErrorKinds = map[string]int64{}
	for _, w := range workers {
		all = append(all, w.latencies...)
		res.OK += w.ok
		res.Errors += w.errs
		for k, n := range w.kinds {
			res.ErrorKinds[k] += n
		}
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
		res.ResponseBytes = max(res.ResponseBytes, w.bodyBytes)
	}
	if len(res.ErrorKinds) == 0 {
		res.ErrorKinds = nil
	}
	res.Requests = res.OK + res.Errors
	if res.Seconds > 0 {
		res.RPS = float64(res.Requests) / res.Seconds
	}
	res.Latency = summarize(all)
}

// summarize is the mean, percentiles and maximum of ds, in milliseconds;
// zero for none. It sorts ds.
func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return latency{
		Mean: ms(sum / time.Duration(len(ds))),
		P50:  ms(percentile(ds, 0.50)),
		P90:  ms(percentile(ds, 0.90)),
		P99:  ms(percentile(ds, 0.99)),
		Max:  ms(ds[len(ds)-1]),
	}
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// loop sends requests on one connection until the run stops, redialling
// after an error.
func (s *loadState) loop(w *worker) {
	var c *conn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for !s.stopped.Load() {
		if c == nil {
			var err error
			if c, err = dial(s.addr, s.timeout); err != nil {
				s.record(w, time.Now(), 0, 0, 0, err)
				time.Sleep(10 * time.Millisecond) // no hot loop against a closed port
				continue
			}
		}
		t0 := time.Now()
		status, _, err := c.do(s.req, s.timeout, false)
		t1 := time.Now()
		s.record(w, t1, t1.Sub(t0), status, c.lastBody, err)
		if err != nil {
			c.close()
			c = nil
		}
	}
}

// record counts one request completed at t, when it falls in the window.
func (s *loadState) record(w *worker, t time.Time, d time.Duration, status int, body int64, err error) {
	if t.Before(s.measureStart) || s.stopped.Load() {
		return
	}
	if n := s.measured.Add(1); n >= s.max {
		s.fullOnce.Do(func() { close(s.full) })
		if n > s.max {
			return
		}
	}
	// A response read in full counts by its status even when the server
	// then closed the connection.
	if errors.Is(err, errServerClosed) {
		err = nil
	}
	switch {
	case err != nil:
		w.errs++
		var ne net.Error
		kind := "transport"
		if errors.As(err, &ne) && ne.Timeout() {
			kind = "timeout"
		}
		w.kinds[kind]++
		if w.firstErr == "" {
			w.firstErr = err.Error()
		}
	case status < 200 || status > 299:
		w.errs++
		w.kinds[fmt.Sprintf("status_%d", status)]++
		if w.firstErr == "" {
			w.firstErr = fmt.Sprintf("status %d", status)
		}
	default:
		w.ok++
		w.bodyBytes = body
	}
	if err == nil {
		w.latencies = append(w.latencies, d)
	}
}
