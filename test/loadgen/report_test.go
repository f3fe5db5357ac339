package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportRoundsMedian: the HS256 ratios pair each gatepass run with the
// bare gin run of its round and take the median of the rounds.
func TestReportRoundsMedian(t *testing.T) {
	dir := t.TempDir()
	n := 0
	add := func(label string, round int, rps, cpuMicros float64) {
		n++
		writeJSON(t, filepath.Join(dir, fmt.Sprintf("http-%02d-run.json", n)),
			result{Label: label, Round: round, RPS: rps, Server: &serverUsage{PeakRSSKiB: 1024, CPUMicrosPerRequest: cpuMicros}})
	}
	// Realtime against bare gin: 0.70, 0.65, 0.80 (median 0.70, met);
	// per server CPU-second 0.60, 0.50, 0.75 (median 0.60).
	// LiveKit against the LiveKit-sized bare gin: 0.60, 0.70 (two rounds,
	// median 0.65, missed), the third round's ceiling is missing and its
	// LiveKit run left out.
	for _, r := range []struct {
		round                           int
		realtime, gin, livekit, ginLK   float64
		realtimeCPU, ginCPU, livekitCPU float64
	}{
		{1, 700, 1000, 600, 1000, 100, 60, 100},
		{2, 650, 1000, 700, 1000, 100, 50, 100},
		{3, 800, 1000, 900, 0, 100, 75, 100},
	} {
		add(labelRealtime, r.round, r.realtime, r.realtimeCPU)
		add(labelCeiling, r.round, r.gin, r.ginCPU)
		add(labelLiveKit, r.round, r.livekit, r.livekitCPU)
		if r.ginLK > 0 {
			add(labelCeilingLiveKit, r.round, r.ginLK, r.ginCPU)
		}
	}
	// The office grant against openssl speed of its round: 4000/5000,
	// 4300/5000, 4000/4000 (0.80, 0.86, 1.00: median 0.86, met); the Go
	// signer's run, outside the rounds, is not a target's.
	for round, speed := range []string{"5000.0", "5000.0", "4000.0"} {
		line := "rsa 2048 bits 0.0002s 0.00001s " + speed + " 80000.0\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("openssl-speed-%d.txt", round+1)), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for round, rps := range []float64{4000, 4300, 4000} {
		n++
		writeJSON(t, filepath.Join(dir, fmt.Sprintf("http-%02d-office.json", n)),
			result{Label: labelOffice, Signer: "openssl", Round: round + 1, RPS: rps, Server: &serverUsage{PeakRSSKiB: 1024, CPUMicrosPerRequest: 1e6 / rps}})
	}
	writeJSON(t, filepath.Join(dir, "http-99-office-go.json"), result{Label: labelOffice, Signer: "go", RPS: 100})
	reportHas(t, dir,
		"realtime/token req/s ÷ bare gin req/s 0.70 (median of 3 rounds: 0.70 0.65 0.80) 0.60 ≥ 0.70 met",
		"livekit/token req/s ÷ bare gin req/s 0.65 (median of 2 rounds: 0.60 0.70) 0.55 ≥ 0.70 MISSED by 0.05",
		"realtime/token 2 - 650",
		"request-access (openssl) req/s ÷ openssl sign/s 0.86 (median of 3 rounds: 0.80 0.86 1.00) 0.86 ≥ 0.85 met",
		"openssl speed rsa2048, sign/s (per CPU-s: speed divides by user CPU time) 5000.0 (median of 3 rounds: 5000.0 5000.0 4000.0)",
		"centrifugo/connection-token (openssl) req/s ÷ openssl sign/s n/a",
	)
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{0.7}, 0.7},
		{[]float64{0.8, 0.6, 0.7}, 0.7},
		{[]float64{0.6, 0.8}, 0.7},
		{[]float64{0.6, -1, 0.8}, -1},
		{nil, -1},
	} {
		if got := median(tc.in); fmt.Sprintf("%.4f", got) != fmt.Sprintf("%.4f", tc.want) {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestReportSpeedOutsideRounds: a run outside the rounds is compared with
// the median openssl speed; a run of a round with no openssl speed of its
// own is left out rather than compared with another round's.
func TestReportSpeedOutsideRounds(t *testing.T) {
	dir := t.TempDir()
	for round, speed := range []string{"4000.0", "5000.0"} {
		line := "rsa 2048 bits 0.0002s 0.00001s " + speed + " 80000.0\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("openssl-speed-%d.txt", round+1)), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeJSON(t, filepath.Join(dir, "http-01-office-auto.json"), result{Label: labelOffice, Signer: "openssl", RPS: 3600})
	writeJSON(t, filepath.Join(dir, "http-02-centrifugo.json"), result{Label: labelCentrifugo, Signer: "openssl", Round: 3, RPS: 3600})
	reportHas(t, dir,
		"request-access (openssl) req/s ÷ openssl sign/s 0.80 - ≥ 0.85 MISSED by 0.05",
		"centrifugo/connection-token (openssl) req/s ÷ openssl sign/s n/a",
	)
}

// reportHas checks that the report of dir holds each of wants, runs of
// white space collapsed (column widths vary).
func reportHas(t *testing.T, dir string, wants ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := report(dir, -1, &out); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
