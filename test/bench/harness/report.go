package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Labels scripts/bench.sh gives its HTTP runs; the ratios are computed
// between them.
const (
	labelCeiling        = "bare gin"
	labelCeilingLiveKit = "bare gin, livekit-sized"
	labelOffice         = "request-access"
	labelRealtime       = "realtime/token"
	// labelRealtimeRevoked is the realtime token's run with revocations
	// stored (BENCH_REVOCATIONS), the A of an A/B against labelRealtime.
	labelRealtimeRevoked = "realtime/token, revocations stored"
	labelLiveKit         = "livekit/token"
	labelCentrifugo      = "centrifugo/connection-token"
)

// Targets of the issue.
const (
	targetOfficeVsSign     = 0.85
	targetCentrifugoVsSign = 0.85
	targetRealtimeVsGin    = 0.70
	targetLiveKitVsGin     = 0.70
	targetPeakRSSMiB       = 64
	// targetRevocationsDrop is how much the realtime ratio to bare gin may
	// drop with 10,000 revocations stored.
	targetRevocationsDrop  = 0.03
	targetStormJWKSFetches = 1
	highInterferenceRate   = 0.10
)

// isCeiling reports whether a run measured a bare gin server rather than
// gatepass.
func isCeiling(r *result) bool { return strings.HasPrefix(r.Label, labelCeiling) }

// report prints, for the run in dir, one side-by-side table of the HTTP
// runs, the limits they are compared with, the target ratios and where the
// in-process profile says the time goes. It fails, after the table, when
// any request to gatepass failed.
func report(dir string, serverCore int, w io.Writer) error {
	runs, err := readRuns(dir)
	if err != nil {
		return err
	}
	if meta, err := os.ReadFile(filepath.Join(dir, "meta.txt")); err == nil {
		fmt.Fprintf(w, "%s\n", strings.TrimSpace(string(meta)))
	}

	fmt.Fprintln(w, "\nHTTP over loopback, keep-alive, wrk (srv CPU: the server's CPU time over the window; core busy: all processes on its core; generator CPU: wrk's own, of its core)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tround\tsigner\tusers\treq/s\tp50 ms\tp99 ms\terrors\tsrv CPU µs/req\treq/s per srv CPU-s\tsrv CPU\tcore busy\tpeak RSS MiB\tgenerator CPU\t")
	for _, r := range runs {
		round := "-"
		if r.Round > 0 {
			round = strconv.Itoa(r.Round)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t%s\t%s\t%.0f%%\t\n",
			r.Label, round, dash(r.Signer), r.Users, r.RPS, r.Latency.P50, r.Latency.P99, r.Errors,
			num(r.cpuPerRequest(), "%.1f"), num(r.perCPUSecond(), "%.0f"),
			pct(r.serverUtil()), pct(r.coreBusy(serverCore)), num(r.peakMiB(), "%.1f"), 100*r.ClientCPUUtil)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	signByRound, verifyByRound := readSpeeds(dir)
	signPerSec, verifyPerSec := medianOf(signByRound), medianOf(verifyByRound)
	gobench := readGoBench(filepath.Join(dir, "gobench.txt"))
	router := readGoBench(filepath.Join(dir, "router.txt"))
	fmt.Fprintln(w, "\nLimits, one core")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	speedLine := num(signPerSec, "%.1f")
	if len(signByRound) > 1 {
		speedLine += fmt.Sprintf(" (median of %d rounds: %s)", len(signByRound), joinValues(signByRound, "%.1f"))
	}
	fmt.Fprintf(tw, "openssl speed rsa2048, sign/s (per CPU-s: speed divides by user CPU time)\t%s\n", speedLine)
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

	lkCeilingLabel := labelCeilingLiveKit
	if find(runs, labelCeilingLiveKit, "") == nil {
		lkCeilingLabel = labelCeiling
	}
	fmt.Fprintln(w, "\nTargets")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ratio\tmeasured\tper srv CPU-s\ttarget\t\tgenerator CPU\t")
	vsSign := func(label string, target float64) {
		name := label + " (openssl) req/s ÷ openssl sign/s"
		var rps, cpu, gen []float64
		for _, r := range runs {
			if r.Label != label || r.Signer != "openssl" {
				continue
			}
			// A run of a round against openssl speed of that round; a run
			// outside the rounds against the median.
			sign, ok := signByRound[r.Round]
			if r.Round == 0 && !ok {
				sign = signPerSec
			}
			if sign <= 0 {
				continue
			}
			rps = append(rps, r.RPS/sign)
			gen = append(gen, r.ClientCPUUtil)
			cpu = append(cpu, -1)
			if c := r.perCPUSecond(); c >= 0 {
				cpu[len(cpu)-1] = c / sign
			}
		}
		if len(rps) == 0 {
			fmt.Fprintf(tw, "%s\tn/a (no openssl run or no openssl speed)\t\t\t\n", name)
			return
		}
		writeRatio(tw, name, rps, cpu, target, pct(median(gen)))
	}
	vsGin := func(label, ginLabel string, target float64) {
		name := label + " req/s ÷ bare gin req/s"
		ps := pairs(runs, label, ginLabel)
		if len(ps) == 0 {
			fmt.Fprintf(tw, "%s\tn/a (no run)\t\t\t\n", name)
			return
		}
		rps, cpu := make([]float64, len(ps)), make([]float64, len(ps))
		gen, genGin := make([]float64, len(ps)), make([]float64, len(ps))
		for i, p := range ps {
			rps[i], cpu[i] = p.r.RPS/p.gin.RPS, -1
			gen[i], genGin[i] = p.r.ClientCPUUtil, p.gin.ClientCPUUtil
			if a, b := p.r.perCPUSecond(), p.gin.perCPUSecond(); a >= 0 && b > 0 {
				cpu[i] = a / b
			}
		}
		writeRatio(tw, name, rps, cpu, target, pct(median(gen))+" / bare gin "+pct(median(genGin)))
	}
	vsSign(labelOffice, targetOfficeVsSign)
	vsGin(labelRealtime, labelCeiling, targetRealtimeVsGin)
	if find(runs, labelRealtimeRevoked, "") != nil {
		vsGin(labelRealtimeRevoked, labelCeiling, targetRealtimeVsGin)
		writeDrop(tw, "realtime ratio drop with revocations stored", revocationsDrops(runs), targetRevocationsDrop)
	}
	vsGin(labelLiveKit, lkCeilingLabel, targetLiveKitVsGin)
	vsSign(labelCentrifugo, targetCentrifugoVsSign)
	var errs int64
	var peak float64
	for _, r := range runs {
		if !isCeiling(r) {
			errs += r.Errors
			peak = max(peak, r.peakMiB())
		}
	}
	fmt.Fprintf(tw, "errors, gatepass HTTP runs\t%d\t\t0\t%s\n", errs, metOr(errs == 0))
	fmt.Fprintf(tw, "peak RSS, largest gatepass HTTP run\t%.1f MiB\t\t< %d MiB\t%s\n", peak, targetPeakRSSMiB, metOr(peak < targetPeakRSSMiB))
	storms, err := readStorms(dir)
	if err != nil {
		return err
	}
	for _, st := range storms {
		fmt.Fprintf(tw, "storm (limits %s): errors\t%d\t\t0\t%s\n", st.Limits, st.Errors, metOr(st.Errors == 0 && st.UsersDone == st.Users))
		fmt.Fprintf(tw, "storm (limits %s): identity JWKS fetches\t%d\t\t≤ %d\t%s\n", st.Limits, st.JWKSFetches, targetStormJWKSFetches, metOr(st.JWKSFetches <= targetStormJWKSFetches))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := reportStorms(storms, signPerSec, verifyPerSec, w); err != nil {
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
	for _, st := range storms {
		if st.Errors > 0 {
			fmt.Fprintf(w, "warning: storm (limits %s): %d errors %v, first: %s\n", st.Limits, st.Errors, st.ErrorKinds, st.FirstError)
			errs += st.Errors
		}
	}
	if errs > 0 {
		return fmt.Errorf("%d requests of gatepass failed (warnings above)", errs)
	}
	return nil
}

// revocationsDrops are, round by round, the realtime token's ratio to
// bare gin without revocations less its ratio with them: the A/B of the
// same build, each pair measured in the same round.
func revocationsDrops(runs []*result) []float64 {
	var out []float64
	for _, b := range pairs(runs, labelRealtime, labelCeiling) {
		for _, a := range pairs(runs, labelRealtimeRevoked, labelCeiling) {
			if a.r.Round == b.r.Round {
				out = append(out, b.r.RPS/b.gin.RPS-a.r.RPS/a.gin.RPS)
				break
			}
		}
	}
	return out
}

// writeDrop writes the median of drops and each round's, against the
// most the target allows.
func writeDrop(tw io.Writer, name string, drops []float64, target float64) {
	if len(drops) == 0 {
		fmt.Fprintf(tw, "%s\tn/a (no pair of rounds)\t\t\t\n", name)
		return
	}
	// A drop may be below 0 (the run with revocations the faster), which
	// median reads as "not measured": sorted here instead.
	sorted := slices.Sorted(slices.Values(drops))
	m := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		m = (sorted[len(sorted)/2-1] + m) / 2
	}
	fmt.Fprintf(tw, "%s\t%.3f (%s)\t\t≤ %.2f\t%s\t\n", name, m, joinRatios(drops), target, metOr(m <= target))
}

func metOr(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
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

// writeRatio writes a target's row: the median of the rounds' ratios
// (each listed when there are several), of their per-server-CPU-second
// ratios, and the verdict on the first median.
func writeRatio(tw io.Writer, name string, rps, cpu []float64, target float64, generator string) {
	m := median(rps)
	measured := fmt.Sprintf("%.2f", m)
	if len(rps) > 1 {
		measured += fmt.Sprintf(" (median of %d rounds: %s)", len(rps), joinRatios(rps))
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t≥ %.2f\t%s\t%s\n", name, measured, ratio(median(cpu), 1), target, verdict(m, target), generator)
}

// readSpeeds reads openssl speed's sign/s and verify/s by round: from
// openssl-speed-<round>.txt, or openssl-speed.txt (round 0) as a run
// without rounds wrote it.
func readSpeeds(dir string) (sign, verify map[int]float64) {
	sign, verify = map[int]float64{}, map[int]float64{}
	paths, _ := filepath.Glob(filepath.Join(dir, "openssl-speed*.txt"))
	for _, p := range paths {
		round := 0
		if m := speedFile.FindStringSubmatch(filepath.Base(p)); m == nil {
			continue
		} else if m[1] != "" {
			round, _ = strconv.Atoi(m[1])
		}
		if v, err := opensslSpeed(p); err == nil && v > 0 {
			sign[round] = v
		}
		if v, err := opensslVerify(p); err == nil && v > 0 {
			verify[round] = v
		}
	}
	return sign, verify
}

var speedFile = regexp.MustCompile(`^openssl-speed(?:-([0-9]+))?\.txt$`)

// medianOf is the median of m's values, -1 when it has none.
func medianOf(m map[int]float64) float64 {
	vs := make([]float64, 0, len(m))
	for _, v := range m {
		vs = append(vs, v)
	}
	return median(vs)
}

// joinValues lists m's values in the order of their rounds.
func joinValues(m map[int]float64, format string) string {
	rounds := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(rounds))
	for i, r := range rounds {
		parts[i] = fmt.Sprintf(format, m[r])
	}
	return strings.Join(parts, " ")
}

// runPair is a gatepass run and the bare gin run of the same round.
type runPair struct{ r, gin *result }

// pairs matches every run of label with the run of ginLabel of its round,
// in the order the runs were made; runs without a partner are left out.
func pairs(runs []*result, label, ginLabel string) []runPair {
	var out []runPair
	for _, r := range runs {
		if r.Label != label {
			continue
		}
		for _, g := range runs {
			if g.Label == ginLabel && g.Round == r.Round && g.RPS > 0 {
				out = append(out, runPair{r, g})
				break
			}
		}
	}
	return out
}

// median of vs; a value below 0 ("not measured") makes it -1.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s) == 0 || s[0] < 0 {
		return -1
	}
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func joinRatios(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%.2f", v)
	}
	return strings.Join(parts, " ")
}

func (r *result) name() string {
	n := r.Label
	if n == "" {
		n = r.URL
	}
	if r.Signer != "" {
		n += " (" + r.Signer + ")"
	}
	if r.Round > 0 {
		n += fmt.Sprintf(", round %d", r.Round)
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
		out = append(out, fmt.Sprintf("%d errors %v", r.Errors, r.ErrorKinds))
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
func opensslSpeed(path string) (float64, error) { return opensslColumn(path, 5) }

// opensslVerify reads the verify/s of the same line.
func opensslVerify(path string) (float64, error) { return opensslColumn(path, 6) }

func opensslColumn(path string, field int) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, err
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) >= 7 && f[0] == "rsa" && f[1] == "2048" && f[2] == "bits" {
			return strconv.ParseFloat(f[field], 64)
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
	// Every kind runs the one issuing pipeline; the runtime names its
	// instantiations alike, and each endpoint has a profile of its own.
	{"grant use case (the issuing pipeline)", "github.com/gatepass/gatepass/application.(*IssueGrantHandler[...]).Handle"},
	{"  signing: RS256 JWS (jwtsigner)", "github.com/gatepass/gatepass/adapters/jwtsigner.(*OfficeSigner).SignOffice"},
	{"    RSA private-key operation in libcrypto", "github.com/gatepass/gatepass/adapters/opensslsigner.(*Signer).Sign"},
	{"    RSA private-key operation in Go", "crypto/rsa.SignPKCS1v15"},
	{"  signing: HS256 JWS (jwtsigner)", "github.com/gatepass/gatepass/adapters/jwtsigner.(*RealtimeSigner).SignRealtime"},
	{"  signing: LiveKit HS256 JWS (jwtsigner)", "github.com/gatepass/gatepass/adapters/jwtsigner.(*LiveKitSigner).SignLiveKit"},
	{"  signing: Centrifugo JWS (jwtsigner)", "github.com/gatepass/gatepass/adapters/jwtsigner.(*CentrifugoSigner).SignCentrifugoConnection"},
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

// profiledEndpoints are the in-process profiles scripts/bench.sh takes,
// by the BenchmarkRouter sub-benchmark name.
var profiledEndpoints = []string{"office", "realtime", "livekit", "centrifugo"}

// reportProfiles prints the cumulative share of each profileParts entry in
// the in-process profiles (pprof -top -cum output), one column per
// endpoint profiled.
func reportProfiles(dir string, w io.Writer) error {
	var eps []string
	var shares []map[string]float64
	for _, ep := range profiledEndpoints {
		if m := readCumShares(filepath.Join(dir, "profile-"+ep+"-cum.txt")); m != nil {
			eps, shares = append(eps, ep), append(shares, m)
		}
	}
	if len(eps) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nWhere in-process CPU time goes (BenchmarkRouter CPU profile, cumulative share of samples)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "part\t%s\t\n", strings.Join(eps, "\t"))
	for _, p := range profileParts {
		cells := make([]string, len(eps))
		found := false
		for i, m := range shares {
			v, ok := lookup(m, p.fn)
			cells[i], found = share(v, ok), found || ok
		}
		if found {
			fmt.Fprintf(tw, "%s\t%s\t\n", p.what, strings.Join(cells, "\t"))
		}
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

// readStorms reads the storm-*.json results in dir, in the order the
// storms ran (off, memory, redis); none is no error.
func readStorms(dir string) ([]*stormResult, error) {
	var out []*stormResult
	for _, limits := range []string{stormLimitsOff, stormLimitsMemory, stormLimitsRedis} {
		b, err := os.ReadFile(filepath.Join(dir, "storm-"+limits+".json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var r stormResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("storm-%s.json: %w", limits, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// stormLimit is how many storm users per second the machine's OpenSSL
// allows on one CPU: each user costs one RS256 signature (the office
// grant) and one RSA-2048 verification (its access token, verified once
// and then cached); the realtime token's HS256 is left out as negligible.
func stormLimit(signPerSec, verifyPerSec float64) float64 {
	if signPerSec <= 0 || verifyPerSec <= 0 {
		return -1
	}
	return 1 / (1/signPerSec + 1/verifyPerSec)
}

// reportStorms prints the storms side by side and their throughput as a
// ratio to the OpenSSL limit for the same signatures.
func reportStorms(storms []*stormResult, signPerSec, verifyPerSec float64, w io.Writer) error {
	if len(storms) == 0 {
		return nil
	}
	s0 := storms[0]
	fmt.Fprintf(w, "\nReconnect storm: %d distinct users, each asking for an office grant and a realtime token at once over %d keep-alive connections;\n", s0.Users, s0.Conns)
	fmt.Fprintf(w, "one gatepass (production mode, JWT_SIGNER=%s) with GOMAXPROCS=%d on all %d CPUs, the load generator a separate process sharing them (generator CPU-s, and the cores it kept busy);\n", dash(s0.Signer), s0.GOMAXPROCS, s0.CPUs)
	fmt.Fprintf(w, "access tokens minted before the storm (%.1f s), never seen by the server; identity JWKS served on loopback by the load generator\n", s0.MintSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "limits\tusers done\ts to all\tusers/s\treq p50 ms\treq p99 ms\treq max ms\tuser done p50 ms\tp99 ms\tmax ms\terrors\trefused\tJWKS fetches\tverifies/user\tpeak RSS MiB\tsrv CPU-s\tgenerator CPU-s\tgenerator cores\tusers per srv CPU-s\t")
	for _, r := range storms {
		verifies := -1.0
		if r.IdentityCacheMisses >= 0 && r.UsersDone > 0 {
			verifies = r.IdentityCacheMisses / float64(r.UsersDone)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\t%.0f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%.0f\t%d\t%s\t%d\t%s\t%.1f\t%.2f\t%.2f\t%s\t%s\t\n",
			r.Limits, r.UsersDone, r.Users, r.Seconds, r.UsersPerSecond, r.Latency.P50, r.Latency.P99, r.Latency.Max,
			r.UserDone.P50, r.UserDone.P99, r.UserDone.Max, r.Errors, num(r.RateLimitRejections, "%.0f"), r.JWKSFetches,
			num(verifies, "%.2f"), r.peakMiB(), r.ServerCPU, r.ClientCPU, num(r.clientCores(), "%.2f"), num(r.usersPerServerCPUSecond(), "%.0f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	perCPU := stormLimit(signPerSec, verifyPerSec)
	if perCPU < 0 {
		fmt.Fprintln(w, "storm ÷ OpenSSL limit: n/a (no openssl speed)")
		return nil
	}
	machine := perCPU * float64(s0.CPUs)
	fmt.Fprintf(w, "OpenSSL limit for the same signatures (assumed: per user one RS256 sign for the office grant + one RSA-2048 verify of its access token; HS256 negligible):\n")
	fmt.Fprintf(w, "  1 / (1/%.1f + 1/%.1f) = %.0f users per CPU-second, × %d CPUs = %.0f users/s\n", signPerSec, verifyPerSec, perCPU, s0.CPUs, machine)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "storm\tusers/s ÷ machine limit\tusers per srv CPU-s ÷ per-CPU limit\t")
	for _, r := range storms {
		fmt.Fprintf(tw, "limits %s\t%s\t%s\t\n", r.Limits, ratio(r.UsersPerSecond, machine), ratio(r.usersPerServerCPUSecond(), perCPU))
	}
	return tw.Flush()
}
