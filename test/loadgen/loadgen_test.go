package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		line    string
		want    int
		wantErr bool
	}{
		{"HTTP/1.1 200 OK\r\n", 200, false},
		{"HTTP/1.1 429 Too Many Requests\r\n", 429, false},
		{"HTTP/1.0 503 \r\n", 503, false},
		{"HTTP/1.1 2x0 OK\r\n", 0, true},
		{"SSH-2.0-OpenSSH\r\n", 0, true},
		{"HTTP/1.1\r\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatus([]byte(tt.line))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStatus(%q) = %d, %v; want %d, error %v", tt.line, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPercentile(t *testing.T) {
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("percentile of one = %v", got)
	}
}

// TestConnReadsBothBodyFramings pins that one keep-alive connection reads
// Content-Length and chunked responses back to back, statuses included.
func TestConnReadsBothBodyFramings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "first,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "second")
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"token":"x"}`)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/fixed")
	uc, _ := url.Parse(srv.URL + "/chunked")
	c, err := dial(hostPort(u), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for range 2 {
		status, body, err := c.do(buildRequest("POST", u, "tok", "", ""), time.Second, true)
		if err != nil || status != 200 || string(body) != `{"token":"x"}` || c.lastBody != 13 {
			t.Fatalf("fixed: %d %q %v (lastBody %d)", status, body, err, c.lastBody)
		}
		status, body, err = c.do(buildRequest("GET", uc, "", "", ""), time.Second, true)
		if err != nil || status != http.StatusTeapot || string(body) != "first,second" {
			t.Fatalf("chunked: %d %q %v", status, body, err)
		}
	}
}

func TestLoadCountsStatusesAndServerUsage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	o := options{concurrency: 2, warmup: 50 * time.Millisecond, duration: 200 * time.Millisecond,
		maxRequests: 1_000_000, timeout: time.Second, serverPID: os.Getpid()}
	res, err := load(context.Background(), hostPort(u), buildRequest("POST", u, "", "", ""), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.OK != 0 || res.Errors != res.Requests || res.ErrorKinds["status_401"] != res.Requests {
		t.Errorf("without a bearer: %+v", res)
	}
	if res.Server == nil || res.Server.PeakRSSKiB == 0 {
		t.Errorf("server usage not read: %+v", res.Server)
	}

	o.maxRequests = 10
	res, err = load(context.Background(), hostPort(u), buildRequest("POST", u, "tok", "", ""), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 10 || res.Errors != 0 || res.ResponseBytes != 2 {
		t.Errorf("capped at 10 requests: %+v", res)
	}
}

func TestLoadCountsRefusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, _ := url.Parse("http://" + addr)
	o := options{concurrency: 1, duration: 100 * time.Millisecond, maxRequests: 100, timeout: time.Second}
	res, err := load(context.Background(), addr, buildRequest("POST", u, "", "", ""), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors == 0 || res.ErrorKinds["transport"] != res.Errors || res.OK != 0 {
		t.Errorf("against a closed port: %+v", res)
	}
}

func TestOpenSSLSpeed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "speed.txt")
	out := "Doing 2048 bits private rsa's for 10s: 12741 2048 bits private RSA's in 10.00s\n" +
		"                  sign    verify    sign/s verify/s\n" +
		"rsa 2048 bits 0.000785s 0.000023s   1274.1  43238.8\n"
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := opensslSpeed(path); err != nil || got != 1274.1 {
		t.Errorf("opensslSpeed = %v, %v; want 1274.1", got, err)
	}
	os.WriteFile(path, []byte("rsa 4096 bits 0.005s 0.0001s 200.0 9000.0\n"), 0o644)
	if _, err := opensslSpeed(path); err == nil {
		t.Error("opensslSpeed read a 4096-bit line as 2048")
	}
}

func TestReadGoBench(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.txt")
	out := strings.Join([]string{
		"pkg: github.com/gatepass/gatepass/adapters/opensslsigner",
		"BenchmarkSign/RS256         	    1280	    995135 ns/op	    4374 B/op	      29 allocs/op",
		"pkg: github.com/gatepass/gatepass/test/bench",
		"BenchmarkRouter/realtime-2  	   65882	     50837 ns/op	     50718 cpu-ns/op	   13885 B/op	      82 allocs/op",
		"--- FAIL: BenchmarkAllow",
	}, "\n")
	os.WriteFile(path, []byte(out), 0o644)
	got := readGoBench(path)
	if len(got) != 2 {
		t.Fatalf("read %d benchmarks, want 2: %+v", len(got), got)
	}
	if got[0].pkgShort() != "opensslsigner" || got[0].name != "BenchmarkSign/RS256" || got[0].nsPerOp != 995135 {
		t.Errorf("first = %+v", got[0])
	}
	if got[1].name != "BenchmarkRouter/realtime" {
		t.Errorf("the -N suffix stayed: %q", got[1].name)
	}
	if v, ok := got[1].metric("cpu-ns/op"); !ok || v != 50718 {
		t.Errorf("cpu-ns/op = %v, %v", v, ok)
	}
	if _, ok := got[0].metric("cpu-ns/op"); ok {
		t.Error("found a cpu-ns/op that is not there")
	}
}

func TestReadCumShares(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cum.txt")
	out := "Showing nodes accounting for 5.23s, 96.14% of 5.44s total\n" +
		"      flat  flat%   sum%        cum   cum%\n" +
		"         0     0%     0%      1.01s 17.75%  log/slog.(*Logger).log\n" +
		"     0.02s  0.35%  2.28%      1.17s 20.56%  github.com/gatepass/gatepass/application.(*IssueGrantHandler[...]).Handle\n"
	os.WriteFile(path, []byte(out), 0o644)
	shares := readCumShares(path)
	if v, ok := lookup(shares, "log/slog.(*Logger).logAttrs|log/slog.(*Logger).log"); !ok || v != 17.75 {
		t.Errorf("slog share = %v, %v", v, ok)
	}
	if v := shares["github.com/gatepass/gatepass/application.(*IssueGrantHandler[...]).Handle"]; v != 20.56 {
		t.Errorf("use case share = %v", v)
	}
}
