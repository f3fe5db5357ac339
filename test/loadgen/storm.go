package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/test/kit"
)

// The reconnect storm: every user of a fleet comes back at once after an
// outage, each asking for an office grant and a realtime token at the same
// moment, with an access token the server has never seen. One gatepass
// process serves them on every CPU of the machine, in production mode,
// trusting an identity provider this process serves on loopback, so the
// fetches of its JWKS can be counted.

// Limiter settings a storm runs under.
const (
	stormLimitsOff    = "off"
	stormLimitsMemory = "memory"
	stormLimitsRedis  = "redis"
)

// The grant endpoints every storm user calls once each.
const (
	stormOfficePath   = "/api/v1/cloudflare/request-access"
	stormRealtimePath = "/api/v1/realtime/token"
)

// stormOptions are the command line of -storm.
type stormOptions struct {
	gatepass   string
	devDir     string
	users      int
	conns      int
	limits     []string
	signer     string
	logLevel   string
	timeout    time.Duration
	reqTimeout time.Duration
	outDir     string
	redis      string
}

func (o stormOptions) check() error {
	switch {
	case o.gatepass == "":
		return errors.New("-storm needs -gatepass, the binary to start")
	case o.users < 1 || o.users > 1_000_000:
		return errors.New("-users must be between 1 and 1000000")
	case o.conns < 1 || o.conns > 8192:
		return errors.New("-conns must be between 1 and 8192")
	case o.timeout <= 0 || o.timeout > 30*time.Minute:
		return errors.New("-storm-timeout must be between 0 and 30m")
	case o.reqTimeout <= 0 || o.reqTimeout > time.Minute:
		return errors.New("-timeout must be between 0 and 1m")
	case o.outDir == "":
		return errors.New("-storm needs -out-dir")
	case len(o.limits) == 0:
		return errors.New("-storm-limits is empty")
	}
	for _, l := range o.limits {
		if l != stormLimitsOff && l != stormLimitsMemory && l != stormLimitsRedis {
			return fmt.Errorf("-storm-limits: %q is none of off, memory, redis", l)
		}
	}
	return nil
}

// stormResult is what one storm measured. Latencies are in milliseconds.
type stormResult struct {
	Limits     string `json:"limits"`
	Signer     string `json:"signer,omitempty"`
	Users      int    `json:"users"`
	Conns      int    `json:"connections"`
	GOMAXPROCS int    `json:"server_gomaxprocs"`
	CPUs       int    `json:"cpus"`

	// Seconds is the time from the first request until every user held
	// both grants (or the storm gave up).
	Seconds        float64          `json:"seconds"`
	UsersPerSecond float64          `json:"users_per_second"`
	UsersDone      int              `json:"users_done"`
	Requests       int64            `json:"requests"`
	OK             int64            `json:"ok"`
	Errors         int64            `json:"errors"`
	ErrorKinds     map[string]int64 `json:"error_kinds,omitempty"`
	FirstError     string           `json:"first_error,omitempty"`
	// Latency is one request's, from writing it to reading its response;
	// UserDone is when a user held both grants, counted from the start of
	// the storm (the wait for a free connection included).
	Latency  latency `json:"latency_ms"`
	UserDone latency `json:"user_done_ms"`

	// JWKSFetches is how often the identity provider served its key set
	// over the server's life; KeyRefreshes is what the server's own
	// gatepass_identity_key_refreshes_total says (-1: not read).
	JWKSFetches  int64   `json:"jwks_fetches"`
	KeyRefreshes float64 `json:"identity_key_refreshes"`
	// From the server's metrics after the storm (-1: not read): lookups
	// of verified access tokens that missed the cache (each one an RSA
	// verification), requests refused for a spent budget, and Redis
	// errors of the limiter.
	IdentityCacheMisses float64 `json:"identity_cache_misses"`
	RateLimitRejections float64 `json:"rate_limit_rejections"`
	LimiterErrors       float64 `json:"rate_limiter_errors"`
	// RedisKeys is the number of keys in the limiter's Redis after the
	// storm (-1 without Redis): proof that the budgets were kept there.
	RedisKeys int64 `json:"redis_keys"`

	ServerCPU  float64 `json:"server_cpu_seconds"`
	ClientCPU  float64 `json:"client_cpu_seconds"`
	PeakRSSKiB int64   `json:"peak_rss_kib"`
	// MintSeconds is what minting the users' access tokens took, before
	// the storm.
	MintSeconds float64 `json:"mint_seconds"`
}

// usersPerServerCPUSecond is how many users one second of the server's
// CPU served: what it would do with the machine to itself.
func (r *stormResult) usersPerServerCPUSecond() float64 {
	if r.ServerCPU <= 0 {
		return -1
	}
	return float64(r.UsersDone) / r.ServerCPU
}

func (r *stormResult) peakMiB() float64 { return float64(r.PeakRSSKiB) / 1024 }

// runStorms mints the users' tokens once, then runs one storm per limiter
// setting, each against a fresh server, and writes storm-<limits>.json
// into the output folder.
func runStorms(ctx context.Context, o stormOptions, stderr io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "gatepass-storm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	devDir := o.devDir
	if devDir == "" {
		devDir = filepath.Join(work, "dev")
	}
	// The identity key signs the users' tokens; the office key and the
	// Supabase secret are handed to the server as files.
	material, err := devidentity.LoadOrCreate(devDir)
	if err != nil {
		return err
	}
	officePEM, err := devidentity.LoadOrCreateOfficeKey(devDir, "RS256")
	if err != nil {
		return err
	}
	secrets := filepath.Join(work, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		return err
	}
	files := map[string]string{"office-key.pem": officePEM, "supabase-secret": material.SupabaseSecret + "\n"}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			return err
		}
	}

	fmt.Fprintf(stderr, "loadgen: minting %d access tokens\n", o.users)
	t0 := time.Now()
	tokens, err := mintTokens(ctx, material.IdentityKey, o.users, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	mint := time.Since(t0)

	for _, limits := range o.limits {
		res, err := oneStorm(ctx, o, limits, material.IdentityKey, secrets, work, tokens)
		if err != nil {
			return fmt.Errorf("storm with rate limits %s: %w", limits, err)
		}
		res.MintSeconds = mint.Seconds()
		fmt.Fprintf(stderr, "loadgen: storm (limits %s): %d users in %.2f s, %.0f users/s, p99 %.1f ms, %d errors, %d JWKS fetches, peak RSS %.1f MiB\n",
			limits, res.UsersDone, res.Seconds, res.UsersPerSecond, res.Latency.P99, res.Errors, res.JWKSFetches, res.peakMiB())
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.outDir, "storm-"+limits+".json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mintTokens signs n development identity tokens for n distinct users
// (user_storm_00000 ...), spread over 100 organizations, on every CPU.
func mintTokens(ctx context.Context, key *rsa.PrivateKey, n int, now time.Time, ttl time.Duration) ([]string, error) {
	tokens := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				who := devidentity.Identity{UserID: fmt.Sprintf("user_storm_%05d", i), OrgID: fmt.Sprintf("org_storm_%02d", i%100), Role: "member"}
				tok, err := devidentity.Mint(key, who, now, ttl)
				if err != nil {
					errs <- fmt.Errorf("mint token %d: %w", i, err)
					return
				}
				tokens[i] = tok
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return tokens, ctx.Err()
}

// identityProvider serves the development identity key's JWKS on loopback
// and counts the fetches.
type identityProvider struct {
	srv     *httptest.Server
	fetches atomic.Int64
}

func newIdentityProvider(key *rsa.PrivateKey) (*identityProvider, error) {
	set, err := devidentity.KeySetJSON(key)
	if err != nil {
		return nil, err
	}
	p := &identityProvider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			http.NotFound(w, r)
			return
		}
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	return p, nil
}

func (p *identityProvider) url() string { return p.srv.URL + "/jwks" }

// oneStorm starts a server with the limits setting (and a redis-server for
// "redis"), sends the storm, and reads what it cost the server.
func oneStorm(ctx context.Context, o stormOptions, limits string, idKey *rsa.PrivateKey, secrets, work string, tokens []string) (*stormResult, error) {
	idp, err := newIdentityProvider(idKey)
	if err != nil {
		return nil, err
	}
	defer idp.srv.Close()

	env := map[string]string{
		"APP_ENV":                  "production",
		"GOMAXPROCS":               strconv.Itoa(runtime.NumCPU()),
		"LOG_LEVEL":                o.logLevel,
		"JWT_ISSUER":               "https://gatepass.bench.invalid",
		"JWT_AUDIENCE":             "office-router",
		"JWT_PRIVATE_KEY_FILE":     filepath.Join(secrets, "office-key.pem"),
		"WEBSOCKET_BASE_URL":       "wss://office.bench.invalid/ws",
		"SUPABASE_JWT_SECRET_FILE": filepath.Join(secrets, "supabase-secret"),
		"AUTH_JWKS_URL":            idp.url(),
		"AUTH_ISSUER":              devidentity.Issuer,
		"AUTH_AUDIENCE_REQUIRED":   "false",
		"RATE_LIMIT_ENABLED":       strconv.FormatBool(limits != stormLimitsOff),
	}
	if o.signer != "" {
		env["JWT_SIGNER"] = o.signer
	}
	var redis *redisProc
	if limits == stormLimitsRedis {
		if redis, err = startRedis(ctx, o.redis, filepath.Join(work, "redis")); err != nil {
			return nil, err
		}
		defer redis.stop()
		env["REDIS_URL"] = "redis://" + redis.addr + "/0"
	}
	srv, err := startServer(ctx, o.gatepass, env, filepath.Join(o.outDir, "storm-"+limits+"-server.log"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	base := "http://" + srv.addr
	office, _ := url.Parse(base + stormOfficePath)
	realtime, _ := url.Parse(base + stormRealtimePath)
	reqs := make([][]byte, 0, 2*len(tokens))
	for _, tok := range tokens {
		reqs = append(reqs, buildRequest("POST", office, tok, "", ""), buildRequest("POST", realtime, tok, "", ""))
	}

	cpu0, err := processCPU(srv.pid())
	if err != nil {
		return nil, err
	}
	self0, err := selfCPU()
	if err != nil {
		return nil, err
	}
	st, err := sendStorm(ctx, srv.addr, reqs, o.conns, o.reqTimeout, o.timeout)
	if err != nil {
		return nil, err
	}
	cpu1, err := processCPU(srv.pid())
	if err != nil {
		return nil, err
	}
	self1, _ := selfCPU()
	peak, _, err := processMemory(srv.pid())
	if err != nil {
		return nil, err
	}
	res := st.result()
	res.Limits, res.Signer, res.Conns = limits, o.signer, o.conns
	res.GOMAXPROCS, res.CPUs = runtime.NumCPU(), runtime.NumCPU()
	res.ServerCPU, res.ClientCPU, res.PeakRSSKiB = cpu1-cpu0, self1-self0, peak
	res.JWKSFetches = idp.fetches.Load()
	res.KeyRefreshes, res.IdentityCacheMisses, res.RateLimitRejections, res.LimiterErrors, res.RedisKeys = -1, -1, -1, -1, -1
	if m, err := kit.ScrapeErr("http://" + srv.admin + "/metrics"); err == nil {
		res.KeyRefreshes = m.Sum("gatepass_identity_key_refreshes_total")
		res.IdentityCacheMisses = m.Sum("gatepass_identity_cache_requests_total", "result", "miss")
		res.RateLimitRejections = m.Sum("gatepass_rate_limit_rejections_total")
		res.LimiterErrors = m.Sum("gatepass_rate_limiter_errors_total")
	}
	if redis != nil {
		if n, err := redisDBSize(redis.addr); err == nil {
			res.RedisKeys = n
		}
	}
	return res, nil
}

// stormTally is what sendStorm saw, request by request: request 2u is
// user u's office grant, 2u+1 its realtime token.
type stormTally struct {
	elapsed time.Duration
	// done is when each request completed, from the start; 0 when it
	// never did.
	done    []time.Duration
	latency []time.Duration
	status  []int
	errKind []string
	errText []string
}

// sendStorm opens conns keep-alive connections first (a load balancer's
// pool towards the server), then lets every request go at once: each
// connection takes the next request not yet sent, so a user's two requests
// leave together on two connections. A failed request is not retried: it
// counts. Each request is bounded by reqTimeout, the storm by limit.
func sendStorm(ctx context.Context, addr string, reqs [][]byte, conns int, reqTimeout, limit time.Duration) (*stormTally, error) {
	n := len(reqs)
	st := &stormTally{
		done: make([]time.Duration, n), latency: make([]time.Duration, n),
		status: make([]int, n), errKind: make([]string, n), errText: make([]string, n),
	}
	pool := make([]*conn, min(conns, n))
	for i := range pool {
		c, err := dial(addr, reqTimeout)
		if err != nil {
			for _, c := range pool[:i] {
				c.close()
			}
			return nil, fmt.Errorf("open connection %d of %d: %w", i+1, len(pool), err)
		}
		pool[i] = c
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range pool {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if c != nil {
					c.close()
				}
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if c == nil {
					var err error
					if c, err = dial(addr, reqTimeout); err != nil {
						st.fail(i, err)
						continue
					}
				}
				t0 := time.Now()
				status, body, err := c.do(reqs[i], reqTimeout, true)
				t1 := time.Now()
				if errors.Is(err, errServerClosed) {
					err = nil
					c.close()
					c = nil
				}
				if err != nil {
					st.fail(i, err)
					c.close()
					c = nil
					continue
				}
				st.latency[i], st.done[i], st.status[i] = t1.Sub(t0), t1.Sub(start), status
				if status >= 200 && status <= 299 && !strings.Contains(string(body), `"token"`) {
					st.errKind[i], st.errText[i] = "no_token", "a 2xx answer without a token"
				}
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st, nil
}

func (st *stormTally) fail(i int, err error) {
	kind := "transport"
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		kind = "timeout"
	}
	st.errKind[i], st.errText[i] = kind, err.Error()
}

// result counts the tally: a request is ok when it came back 2xx with a
// token; a user is done when both its requests are ok, at the later of
// the two; a request never sent (the storm's time ran out) is an error.
func (st *stormTally) result() *stormResult {
	res := &stormResult{Users: len(st.done) / 2, ErrorKinds: map[string]int64{}}
	var lat, users []time.Duration
	var makespan time.Duration
	ok := func(i int) bool {
		return st.errKind[i] == "" && st.status[i] >= 200 && st.status[i] <= 299 && st.done[i] > 0
	}
	for i := range st.done {
		res.Requests++
		switch {
		case ok(i):
			res.OK++
		case st.errKind[i] != "":
			res.countError(st.errKind[i], st.errText[i])
		case st.status[i] != 0:
			res.countError(fmt.Sprintf("status_%d", st.status[i]), fmt.Sprintf("status %d", st.status[i]))
		default:
			res.countError("not_sent", "the storm's time ran out before the request was sent")
		}
		if st.status[i] != 0 {
			lat = append(lat, st.latency[i])
		}
	}
	for u := 0; u+1 < len(st.done); u += 2 {
		if ok(u) && ok(u+1) {
			d := max(st.done[u], st.done[u+1])
			users = append(users, d)
			makespan = max(makespan, d)
		}
	}
	res.UsersDone = len(users)
	res.Seconds = st.elapsed.Seconds()
	if res.UsersDone == res.Users {
		res.Seconds = makespan.Seconds()
	}
	if res.Seconds > 0 {
		res.UsersPerSecond = float64(res.UsersDone) / res.Seconds
	}
	if len(res.ErrorKinds) == 0 {
		res.ErrorKinds = nil
	}
	res.Latency = summarize(lat)
	res.UserDone = summarize(users)
	return res
}

func (r *stormResult) countError(kind, text string) {
	r.Errors++
	r.ErrorKinds[kind]++
	if r.FirstError == "" {
		r.FirstError = text
	}
}

// serverProc is a gatepass serve started by the storm.
type serverProc struct {
	cmd         *exec.Cmd
	addr, admin string
	done        chan struct{}
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// stop ends the server with SIGTERM, as an orchestrator would, then kills
// it if it has not exited within ten seconds.
func (s *serverProc) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// startServer starts `gatepass serve` with exactly env (plus PATH and
// HOME) on free loopback ports, its log in logPath, and waits until it
// answers. A port taken between choosing and binding it means another try.
func startServer(ctx context.Context, bin string, env map[string]string, logPath string) (*serverProc, error) {
	var lastErr error
	for range 3 {
		addr, err1 := freeLoopbackAddr()
		admin, err2 := freeLoopbackAddr()
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		logFile, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "serve")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "HTTP_ADDR=" + addr, "ADMIN_ADDR=" + admin}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = io.Discard, logFile
		if err := cmd.Start(); err != nil {
			logFile.Close()
			return nil, err
		}
		s := &serverProc{cmd: cmd, addr: addr, admin: admin, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); logFile.Close(); close(s.done) }()
		u, _ := url.Parse("http://" + addr + "/healthz")
		lastErr = waitForServer(ctx, addr, buildRequest("GET", u, "", "", ""), time.Second, 30*time.Second, s.pid())
		if lastErr == nil {
			return s, nil
		}
		s.stop()
		if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), "address already in use") {
			return nil, fmt.Errorf("gatepass did not start (see %s): %w", logPath, lastErr)
		}
	}
	return nil, fmt.Errorf("gatepass did not start: %w", lastErr)
}

// freeLoopbackAddr is a 127.0.0.1 address whose port was free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// redisProc is a redis-server on loopback, without persistence.
type redisProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

func (r *redisProc) stop() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// startRedis starts bin (redis-server) on a free loopback port with its
// files in dir, and waits until it answers PING.
func startRedis(ctx context.Context, bin, dir string) (*redisProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("the Redis storm needs %s (scripts/deps.sh redis): %w", bin, err)
	}
	var lastErr error
	for range 3 {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(path, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
			"--dir", dir, "--protected-mode", "yes", "--logfile", filepath.Join(dir, "redis.log"))
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		r := &redisProc{cmd: cmd, addr: addr, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(r.done) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if lastErr = redisPing(addr); lastErr == nil {
				return r, nil
			}
			exited := false
			select {
			case <-r.done:
				exited = true
			case <-ctx.Done():
				r.stop()
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if exited || time.Now().After(deadline) {
				break
			}
		}
		r.stop()
	}
	return nil, fmt.Errorf("redis-server did not start: %w", lastErr)
}

func redisPing(addr string) error {
	reply, err := redisCommand(addr, "PING")
	if err == nil && reply != "+PONG" {
		err = fmt.Errorf("redis answered %q to PING", reply)
	}
	return err
}

// redisDBSize is the number of keys in the current database.
func redisDBSize(addr string) (int64, error) {
	reply, err := redisCommand(addr, "DBSIZE")
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(reply, ":")
	if !ok {
		return 0, fmt.Errorf("redis answered %q to DBSIZE", reply)
	}
	return strconv.ParseInt(n, 10, 64)
}

// redisCommand sends one inline command and returns the first line of the
// reply, without its CRLF: enough for PING and DBSIZE.
func redisCommand(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}
