package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatepass/gatepass/adapters/devidentity"
)

func TestMintTokensAreDistinctAndVerify(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	now := time.Now()
	tokens, err := mintTokens(context.Background(), key, n, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != n {
		t.Fatalf("minted %d tokens, want %d", len(tokens), n)
	}
	seenTok, seenSub := map[string]bool{}, map[string]bool{}
	for i, tok := range tokens {
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(devidentity.Issuer), jwt.WithExpirationRequired())
		if err != nil {
			t.Fatalf("token %d does not verify: %v", i, err)
		}
		sub, _ := claims.GetSubject()
		if seenTok[tok] || seenSub[sub] || sub == "" {
			t.Fatalf("token %d repeats a token or user (sub %q)", i, sub)
		}
		seenTok[tok], seenSub[sub] = true, true
		if claims["org_id"] == nil {
			t.Errorf("token %d has no org_id: the office grant would refuse it", i)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mintTokens(ctx, key, n, now, time.Hour); err == nil {
		t.Error("minting under a cancelled context did not fail")
	}
}

// TestStormTallyResult: a user is done only with both grants, at the later
// of the two; every failure is counted by kind, a request never sent
// included; the time to all is the last user's when every user is done,
// the whole storm's otherwise.
func TestStormTallyResult(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	start := time.Now()
	hit := func(user int, path string, code uint16, at, took time.Duration, body, errText string) *vegeta.Result {
		return &vegeta.Result{URL: "http://h" + path + "#" + strconv.Itoa(user), Code: code, Timestamp: start.Add(at),
			Latency: took, Body: []byte(body), Error: errText}
	}
	const token = `{"token":"t"}`
	st := newStormTally(3)
	// user 0 ok | user 1: 429 on realtime | user 2: timeout, realtime never sent
	for _, r := range []*vegeta.Result{
		hit(0, stormOfficePath, 200, ms(5), ms(5), token, ""),
		hit(0, stormRealtimePath, 200, ms(23), ms(7), token, ""),
		hit(1, stormOfficePath, 200, ms(14), ms(6), token, ""),
		hit(1, stormRealtimePath, 429, ms(21), ms(4), `{}`, "429 Too Many Requests"),
		hit(2, stormOfficePath, 0, ms(0), ms(20), "", "Post: context deadline exceeded (Client.Timeout exceeded)"),
	} {
		st.add(r, start)
	}
	res := st.result(ms(500))
	if res.Users != 3 || res.UsersDone != 1 || res.Requests != 6 || res.OK != 3 || res.Errors != 3 {
		t.Fatalf("counts: %+v", res)
	}
	wantKinds := map[string]int64{"status_429": 1, "timeout": 1, "not_sent": 1}
	if !maps.Equal(res.ErrorKinds, wantKinds) {
		t.Errorf("error kinds = %v, want %v", res.ErrorKinds, wantKinds)
	}
	if res.Seconds != 0.5 || res.UserDone.Max != 30 || res.Latency.Max != 20 || res.StatusCodes["429"] != 1 {
		t.Errorf("with errors: seconds %v, user done %+v, latency %+v, statuses %v", res.Seconds, res.UserDone, res.Latency, res.StatusCodes)
	}

	st = newStormTally(1)
	st.add(hit(0, stormOfficePath, 200, ms(1), ms(9), token, ""), start)
	st.add(hit(0, stormRealtimePath, 201, ms(30), ms(10), token, ""), start)
	if res := st.result(ms(500)); res.Errors != 0 || res.ErrorKinds != nil || res.Seconds != 0.04 || res.UsersPerSecond != 25 {
		t.Errorf("all done: %+v", res)
	}
	st = newStormTally(1)
	st.add(hit(0, stormOfficePath, 200, ms(1), ms(9), `{"error":"x"}`, ""), start)
	if res := st.result(ms(500)); res.ErrorKinds["no_token"] != 1 {
		t.Errorf("a 2xx without a token: %+v", res)
	}
}

// TestAttackSendsEveryRequestOnce runs a small storm against a server that
// checks each request's token and refuses one user.
func TestAttackSendsEveryRequestOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path + " " + r.Header.Get("Authorization")
		mu.Lock()
		seen[key]++
		mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer tok-3" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		io.WriteString(w, `{"token":"t"}`)
	}))
	defer srv.Close()
	const users = 50
	var tokens []string
	for i := range users {
		tokens = append(tokens, "tok-"+strconv.Itoa(i))
	}
	res := attack(context.Background(), srv.URL, tokens, 8, time.Second, 10*time.Second)
	if res.Requests != 2*users || res.OK != 2*users-2 || res.ErrorKinds["status_403"] != 2 || res.UsersDone != users-1 {
		t.Errorf("result: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2*users {
		t.Errorf("the server saw %d distinct requests, want %d", len(seen), 2*users)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
}

func TestStormReport(t *testing.T) {
	dir := t.TempDir()
	speed := "rsa 2048 bits 0.000785s 0.000023s   1000.0  40000.0\n"
	if err := os.WriteFile(filepath.Join(dir, "openssl-speed.txt"), []byte(speed), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := opensslVerify(filepath.Join(dir, "openssl-speed.txt")); err != nil || v != 40000 {
		t.Fatalf("opensslVerify = %v, %v", v, err)
	}
	run := result{Label: labelRealtime, RPS: 1000, Server: &serverUsage{PeakRSSKiB: 1024, CPUMicrosPerRequest: 100}}
	writeJSON(t, filepath.Join(dir, "http-1-realtime.json"), run)
	for _, st := range []stormResult{
		{Limits: stormLimitsOff, Users: 100, UsersDone: 100, Seconds: 0.1, UsersPerSecond: 1000, JWKSFetches: 1, CPUs: 2, ServerCPU: 0.2, IdentityCacheMisses: 100},
		{Limits: stormLimitsRedis, Users: 100, UsersDone: 99, Errors: 2, JWKSFetches: 2, CPUs: 2, RedisKeys: 198},
	} {
		writeJSON(t, filepath.Join(dir, "storm-"+st.Limits+".json"), st)
	}
	storms, err := readStorms(dir)
	if err != nil || len(storms) != 2 || storms[0].Limits != stormLimitsOff || storms[1].RedisKeys != 198 {
		t.Fatalf("readStorms = %+v, %v", storms, err)
	}
	// 1 / (1/1000 + 1/40000) = 975.6 users per CPU-second, 1951 on 2 CPUs:
	// 1000 users/s is 0.51 of it; 500 users per server CPU-second 0.51.
	// The storm's errors fail the report, after the table.
	if err := report(dir, -1, io.Discard); err == nil || !strings.Contains(err.Error(), "2 requests") {
		t.Errorf("report with storm errors = %v, want a failure counting 2", err)
	}
	reportHas(t, dir,
		"= 976 users per CPU-second, × 2 CPUs = 1951 users/s",
		"limits off 0.51 0.51",
		"storm (limits redis): errors 2 0 MISSED",
		"storm (limits redis): identity JWKS fetches 2 ≤ 1 MISSED",
		"storm (limits off): identity JWKS fetches 1 ≤ 1 met",
		"warning: storm (limits redis): 2 errors",
	)
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
