package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Labels scripts/bench.sh gives its HTTP runs; the ratios are computed
// between them.
const (
	labelCeiling  = "bare gin"
	labelOffice   = "request-access"
	labelRealtime = "realtime/token"
)

// Targets of the issue.
const (
	targetOfficeVsSign   = 0.80
	targetRealtimeVsGin  = 0.70
	targetPeakRSSMiB     = 64
	highInterferenceRate = 0.10
)

// report prints, for the run in dir, one side-by-side table of the HTTP
// runs, the limits they are compared with, the target ratios and where the
// in-process profile says the time goes.
func report(dir string, serverCore int, w io.Writer) error {
	runs, err := readRuns(dir)
	if err != nil {
		return err
	}
	if meta, err := os.ReadFile(filepath.Join(dir, "meta.txt")); err == nil {
		fmt.Fprintf(w, "%s\n", strings.TrimSpace(string(meta)))
	}

	fmt.Fprintln(w, "\nHTTP over loopback, keep-alive (srv CPU: the server's CPU time over the window; core busy: all processes on its core)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tsigner\treq/s\tp50 ms\tp99 ms\terrors\tsrv CPU µs/req\treq/s per srv CPU-s\tsrv CPU\tcore busy\tpeak RSS MiB\tclient CPU\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t%s\t%s\t%.0f%%\t\n",
			r.Label, dash(r.Signer), r.RPS, r.Latency.P50, r.Latency.P99, r.Errors,
			num(r.cpuPerRequest(), "%.1f"), num(r.perCPUSecond(), "%.0f"),
			pct(r.serverUtil()), pct(r.coreBusy(serverCore)), num(r.peakMiB(), "%.1f"), 100*r.ClientCPUUtil)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	signPerSec, _ := opensslSpeed(filepath.Join(dir, "openssl-speed.txt"))
	gobench := readGoBench(filepath.Join(dir, "gobench.txt"))
	router := readGoBench(filepath.Join(dir, "router.txt"))
	fmt.Fprintln(w, "\nLimits, one core")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "openssl speed rsa2048, sign/s (per CPU-s: speed divides by user CPU time)\t%s\n", num(signPerSec, "%.1f"))
	for _, b := range gobench {
		if strings.HasSuffix(b.name, "BenchmarkSign/RS256") {
			fmt.Fprintf(tw, "%s (whole JWS), sign/s\t%.1f\t%.0f ns/op, %s\n", b.pkgShort(), 1e9/b.nsPerOp, b.nsPerOp, b.rest)
		}
	}
	for _, b := range router {
		ep := strings.TrimPrefix(b.name, "BenchmarkRouter/")
		if cpu, ok := b.metric("cpu-ns/op"); ok && cpu > 0 {
			fmt.Fprintf(tw, "in process %s (no socket), req per CPU-s\t%.0f\t%s\n", ep, 1e9/cpu, b.rest)
		} else {
			fmt.Fprintf(tw, "in process %s (no socket), req/s\t%.0f\t%.0f ns/op, %s\n", ep, 1e9/b.nsPerOp, b.nsPerOp, b.rest)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ceiling, office, realtime := find(runs, labelCeiling, ""), find(runs, labelOffice, "openssl"), find(runs, labelRealtime, "")
	fmt.Fprintln(w, "\nTargets")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ratio\tmeasured\tper srv CPU-s\ttarget\t")
	if office != nil && signPerSec > 0 {
		fmt.Fprintf(tw, "request-access (openssl) req/s ÷ openssl sign/s\t%s\t%s\t≥ %.2f\t%s\n",
			ratio(office.RPS, signPerSec), ratio(office.perCPUSecond(), signPerSec), targetOfficeVsSign, verdict(office.RPS/signPerSec, targetOfficeVsSign))
	} else {
		fmt.Fprintln(tw, "request-access (openssl) req/s ÷ openssl sign/s\tn/a (no openssl run or no openssl speed)\t\t\t")
	}
	if realtime != nil && ceiling != nil && ceiling.RPS > 0 {
		fmt.Fprintf(tw, "realtime/token req/s ÷ bare gin req/s\t%s\t%s\t≥ %.2f\t%s\n",
			ratio(realtime.RPS, ceiling.RPS), ratio(realtime.perCPUSecond(), ceiling.perCPUSecond()), targetRealtimeVsGin, verdict(realtime.RPS/ceiling.RPS, targetRealtimeVsGin))
	}
	var errs int64
	var peak float64
	for _, r := range runs {
		if r.Label != labelCeiling {
			errs += r.Errors
			peak = max(peak, r.peakMiB())
		}
	}
	fmt.Fprintf(tw, "errors, gatepass runs\t%d\t\t0\t%s\n", errs, map[bool]string{true: "met", false: "MISSED"}[errs == 0])
	fmt.Fprintf(tw, "peak RSS, largest gatepass run\t%.1f MiB\t\t< %d MiB\t%s\n", peak, targetPeakRSSMiB, map[bool]string{true: "met", false: "MISSED"}[peak < targetPeakRSSMiB])
	if err := tw.Flush(); err != nil {
		return err
	}

	if err := reportProfiles(dir, w); err != nil {
		return err
	}
	for _, r := range runs {
		for _, warn := range r.warnings(serverCore) {
			fmt.Fprintf(w, "warning: %s: %s\n", r.name(), warn)
		}
	}
	return nil
}

func readRuns(dir string) ([]*result, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "http-*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no http-*.json results in %s", dir)
	}
	sort.Strings(paths)
	var runs []*result
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var r result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		runs = append(runs, &r)
	}
	return runs, nil
}

func find(runs []*result, label, signer string) *result {
	for _, r := range runs {
		if r.Label == label && (signer == "" || r.Signer == signer) {
			return r
		}
	}
	return nil
}

func (r *result) name() string {
	n := r.Label
	if n == "" {
		n = r.URL
	}
	if r.Signer != "" {
		n += " (" + r.Signer + ")"
	}
	return n
}

// -1 in the getters below means "not measured".

func (r *result) cpuPerRequest() float64 {
	if r.Server == nil || r.Server.CPUMicrosPerRequest == 0 {
		return -1
	}
	return r.Server.CPUMicrosPerRequest
}

// perCPUSecond is how many requests one second of the server's CPU
// served: what the server would do with the core to itself.
func (r *result) perCPUSecond() float64 {
	if us := r.cpuPerRequest(); us > 0 {
		return 1e6 / us
	}
	return -1
}

func (r *result) serverUtil() float64 {
	if r.Server == nil {
		return -1
	}
	return r.Server.CPUUtil
}

func (r *result) coreBusy(core int) float64 {
	if core < 0 || core >= len(r.CPUBusy) {
		return -1
	}
	return r.CPUBusy[core]
}

func (r *result) peakMiB() float64 {
	if r.Server == nil {
		return -1
	}
	return float64(r.Server.PeakRSSKiB) / 1024
}

// warnings says what makes this run's numbers doubtful.
func (r *result) warnings(core int) []string {
	var out []string
	if r.Requests == 0 {
		out = append(out, "no request completed in the window")
	}
	if r.Errors > 0 {
		out = append(out, fmt.Sprintf("%d errors %v, first: %s", r.Errors, r.ErrorKinds, r.FirstError))
	}
	if busy, util := r.coreBusy(core), r.serverUtil(); busy > 0 && util >= 0 && busy-util > highInterferenceRate+0.1 {
		out = append(out, fmt.Sprintf("the server's core was %.0f%% busy but the server used %.0f%% of it: other processes (or the kernel's network work) shared the core; compare the per-CPU-second column", 100*busy, 100*util))
	}
	if r.ClientCPUUtil > 0.9 {
		out = append(out, fmt.Sprintf("the load generator used %.0f%% of its core and may have been the limit", 100*r.ClientCPUUtil))
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func num(v float64, format string) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func pct(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*v)
}

func ratio(a, b float64) string {
	if a < 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func verdict(v, target float64) string {
	if v >= target {
		return "met"
	}
	return fmt.Sprintf("MISSED by %.2f (%.0f%% short)", target-v, 100*(target-v)/target)
}

// opensslSpeed reads the 2048-bit RSA sign/s from `openssl speed rsa2048`:
// "rsa 2048 bits 0.000762s 0.000023s   1312.6  42645.4".
func opensslSpeed(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, err
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) >= 7 && f[0] == "rsa" && f[1] == "2048" && f[2] == "bits" {
			return strconv.ParseFloat(f[5], 64)
		}
	}
	return -1, errors.New("no rsa 2048 line in openssl speed output")
}

// goBench is one line of `go test -bench` output.
type goBench struct {
	pkg, name string
	nsPerOp   float64
	rest      string // B/op and allocs/op
}

func (b goBench) pkgShort() string { return filepath.Base(b.pkg) }

// metric is the value of a "<value> <unit>" pair after ns/op.
func (b goBench) metric(unit string) (float64, bool) {
	f := strings.Fields(b.rest)
	for i := 1; i < len(f); i++ {
		if f[i] == unit {
			v, err := strconv.ParseFloat(f[i-1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s*(.*)$`)

func readGoBench(path string) []goBench {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []goBench
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		rest := strings.Join(strings.Fields(m[3]), " ")
		out = append(out, goBench{pkg: pkg, name: m[1], nsPerOp: ns, rest: rest})
	}
	return out
}

// profileParts are the places a request's time goes, by a function whose
// cumulative share of the profile covers it (the first of fn's
// "|"-separated names found). The shares overlap where the calls nest (the
// handlers run inside the middleware).
var profileParts = []struct{ what, fn string }{
	{"whole request (gin ServeHTTP)", "github.com/gin-gonic/gin.(*Engine).ServeHTTP"},
	{"office grant use case", "github.com/gatepass/gatepass/application.(*RequestOfficeAccessHandler).Handle"},
	{"realtime token use case", "github.com/gatepass/gatepass/application.(*IssueRealtimeTokenHandler).Handle"},
	{"  signing: RS256 JWS (jwtsigner)", "github.com/gatepass/gatepass/adapters/jwtsigner.(*OfficeSigner).SignOffice"},
	{"    RSA private-key operation in libcrypto", "github.com/gatepass/gatepass/adapters/opensslsigner.(*Signer).Sign"},
	{"    RSA private-key operation in Go", "crypto/rsa.SignPKCS1v15"},
	{"  signing: HS256 JWS (jwtsigner)", "github.com/gatepass/gatepass/adapters/jwtsigner.(*RealtimeSigner).SignRealtime"},
	{"  claims to JSON (golang-jwt SigningString)", "github.com/golang-jwt/jwt/v5.(*Token).SigningString"},
	{"  token id (crypto/rand)", "github.com/gatepass/gatepass/adapters/cryptorand.IDs.NewID"},
	{"caller identity (cached)", "github.com/gatepass/gatepass/application.(*AuthenticateCallerHandler).Handle"},
	{"request log line (slog JSON)", "log/slog.(*Logger).log|log/slog.(*Logger).logAttrs"},
	{"metrics (prometheus)", "github.com/gatepass/gatepass/adapters/prom.(*Metrics).ObserveRequest"},
	{"response JSON (gin Render)", "github.com/gin-gonic/gin.(*Context).Render"},
	{"memory allocation (mallocgc)", "runtime.mallocgc"},
	{"garbage collection, background", "runtime.gcBgMarkWorker"},
	{"benchmark's own request building", "net/http/httptest.NewRequestWithContext"},
}

// reportProfiles prints the cumulative share of each profileParts entry in
// the in-process profiles (pprof -top -cum output), office and realtime
// side by side.
func reportProfiles(dir string, w io.Writer) error {
	office := readCumShares(filepath.Join(dir, "profile-office-cum.txt"))
	realtime := readCumShares(filepath.Join(dir, "profile-realtime-cum.txt"))
	if office == nil && realtime == nil {
		return nil
	}
	fmt.Fprintln(w, "\nWhere in-process CPU time goes (BenchmarkRouter CPU profile, cumulative share of samples)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "part\toffice\trealtime\t")
	for _, p := range profileParts {
		o, okO := lookup(office, p.fn)
		r, okR := lookup(realtime, p.fn)
		if !okO && !okR {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", p.what, share(o, okO), share(r, okR))
	}
	return tw.Flush()
}

// lookup is the share of the first of the "|"-separated names in shares.
func lookup(shares map[string]float64, names string) (float64, bool) {
	for name := range strings.SplitSeq(names, "|") {
		if v, ok := shares[name]; ok {
			return v, true
		}
	}
	return 0, false
}

func share(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", v)
}

// readCumShares maps function names to their cum% in `pprof -top -cum`
// output: "flat flat% sum% cum cum% name".
func readCumShares(path string) map[string]float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err != nil {
			continue
		}
		out[f[5]] = v
	}
	return out
}
