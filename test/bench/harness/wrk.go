package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// result is what one HTTP run measured. Latencies are in milliseconds.
type result struct {
	Label  string `json:"label,omitempty"`
	Signer string `json:"signer,omitempty"`
	// Round numbers the alternating rounds of the runs whose ratios are
	// compared (scripts/bench.sh BENCH_ROUNDS); 0 outside them.
	Round       int    `json:"round,omitempty"`
	URL         string `json:"url"`
	Concurrency int    `json:"concurrency"`
	// Users is how many distinct bearer tokens the requests took turns
	// with.
	Users int `json:"users"`

	WarmupSeconds float64 `json:"warmup_seconds"`
	Seconds       float64 `json:"seconds"`
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	// ErrorKinds counts errors as wrk does: "status" (a response of 400
	// or more), "connect", "read", "write", "timeout".
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	RPS        float64          `json:"rps"`
	Latency    latency          `json:"latency_ms"`

	// ClientCPU is the CPU time wrk used in the measured window, and
	// ClientCPUUtil that over the window: near 1 means the load
	// generator, not the server, may have been the limit.
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

// wrkFigures is the line the Lua script's done() prints after the marker.
type wrkFigures struct {
	DurationMicros float64          `json:"duration_us"`
	Requests       int64            `json:"requests"`
	Errors         map[string]int64 `json:"errors"`
	LatencyMicros  struct {
		Mean, P50, P90, P99, Max float64
	} `json:"latency_us"`
}

const wrkMarker = "gatepass-bench "

// wrkCmd runs wrk against a server twice: a warm-up whose figures are
// dropped, then the measured window, around which it reads the server's
// and the machine's CPU times. wrk inherits this process's CPU affinity
// (scripts/bench.sh starts it under taskset).
func wrkCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var r result
	fs.StringVar(&r.URL, "url", "", "target `URL`")
	body := fs.String("body", "", "JSON request body (none by default)")
	tokens := fs.String("tokens", "", "`file` of bearer tokens, one a line; the requests take turns with them")
	script := fs.String("script", "test/bench/tokens.lua", "the wrk Lua `script` that sends the tokens")
	fs.IntVar(&r.Concurrency, "c", 32, "connections, each with one request in flight")
	warmup := fs.Duration("warmup", 2*time.Second, "load before the measured window, not counted")
	duration := fs.Duration("duration", 10*time.Second, "measured window")
	pid := fs.Int("server-pid", 0, "`pid` of the server, to read its CPU time and peak RSS")
	fs.StringVar(&r.Label, "label", "", "name of this run in the result")
	fs.StringVar(&r.Signer, "signer", "", "signer the server uses, recorded in the result")
	fs.IntVar(&r.Round, "round", 0, "round of alternating runs this one belongs to")
	out := fs.String("out", "", "`file` to write the JSON result to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(*tokens)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	r.Users = len(strings.Fields(string(raw)))
	if r.URL == "" || r.Users == 0 || *pid <= 0 || *duration < time.Second {
		return errors.New("wrk needs -url, -tokens with at least one token, -server-pid and a -duration of 1s or more")
	}
	wrk := func(d time.Duration) (*wrkFigures, float64, error) {
		cmd := exec.CommandContext(ctx, "wrk", "-t", "1", "-c", fmt.Sprint(r.Concurrency),
			"-d", fmt.Sprintf("%ds", int(d.Seconds())), "--timeout", "5s", "-s", *script, r.URL)
		cmd.Env = append(os.Environ(), "GATEPASS_TOKENS="+*tokens, "GATEPASS_BODY="+*body)
		var so bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, stderr
		if err := cmd.Run(); err != nil {
			return nil, 0, fmt.Errorf("wrk: %w", err)
		}
		cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		for line := range strings.Lines(so.String()) {
			if j, ok := strings.CutPrefix(line, wrkMarker); ok {
				var f wrkFigures
				return &f, cpu, json.Unmarshal([]byte(j), &f)
			}
		}
		return nil, 0, fmt.Errorf("wrk printed no %q line (is %s the script?):\n%s", strings.TrimSpace(wrkMarker), *script, so.String())
	}
	if *warmup >= time.Second {
		if _, _, err := wrk(*warmup); err != nil {
			return err
		}
		r.WarmupSeconds = warmup.Seconds()
	}

	srv0, err := processCPU(*pid)
	if err != nil {
		return err
	}
	machine0 := machineCPU()
	f, clientCPU, err := wrk(*duration)
	if err != nil {
		return err
	}
	machine1 := machineCPU()
	srv1, err := processCPU(*pid)
	if err != nil {
		return err
	}
	r.Seconds = f.DurationMicros / 1e6
	r.Requests = f.Requests
	for kind, n := range f.Errors {
		if n > 0 {
			if r.ErrorKinds == nil {
				r.ErrorKinds = map[string]int64{}
			}
			r.ErrorKinds[kind] = n
			r.Errors += n
		}
	}
	ms := func(us float64) float64 { return us / 1000 }
	l := f.LatencyMicros
	r.Latency = latency{Mean: ms(l.Mean), P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), Max: ms(l.Max)}
	r.CPUBusy = busyFractions(machine0, machine1)
	r.Server = &serverUsage{PID: *pid, CPUSeconds: srv1 - srv0}
	if r.Seconds > 0 {
		r.RPS = float64(r.Requests) / r.Seconds
		r.ClientCPU, r.ClientCPUUtil = clientCPU, clientCPU/r.Seconds
		r.Server.CPUUtil = r.Server.CPUSeconds / r.Seconds
	}
	if r.Requests > 0 {
		r.Server.CPUMicrosPerRequest = r.Server.CPUSeconds * 1e6 / float64(r.Requests)
	}
	if r.Server.PeakRSSKiB, r.Server.RSSKiB, err = processMemory(*pid); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "harness: %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors, generator CPU %.2f of a core\n",
		r.name(), r.RPS, r.Latency.P50, r.Latency.P99, r.Errors, r.ClientCPUUtil)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *out != "" {
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
	}
	_, err = stdout.Write(b)
	return err
}
