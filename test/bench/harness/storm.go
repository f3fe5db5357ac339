package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
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

	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/test/kit"
)

// The reconnect storm: every user of a fleet comes back at once after an
// outage, each asking for an office grant and a realtime token at the same
// moment, with an access token the server has never seen. One gatepass
// process serves them on every CPU of the machine, in production mode,
// trusting an identity provider this process serves on loopback, so the
// fetches of its JWKS can be counted. vegeta sends the requests.

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

// stormOptions are the command line of the storm.
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
}

func stormCmd(ctx context.Context, fs *flag.FlagSet, args []string, stderr io.Writer) error {
	var o stormOptions
	fs.StringVar(&o.gatepass, "gatepass", "", "the gatepass `binary` to start")
	fs.StringVar(&o.devDir, "dev-dir", "", "development `folder` whose identity and office keys to use (created if missing; default: a temporary one)")
	fs.IntVar(&o.users, "users", 10_000, "distinct users, each with an access token of its own")
	fs.IntVar(&o.conns, "conns", 512, "keep-alive connections (vegeta workers) the storm is sent over")
	limits := fs.String("limits", "off memory redis", "one storm per rate-limit setting, comma- or space-separated: off, memory, redis")
	fs.StringVar(&o.signer, "signer", "", "JWT_SIGNER of the server")
	fs.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the server")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up on a storm after this long; requests not sent by then count as errors")
	fs.DurationVar(&o.reqTimeout, "request-timeout", 5*time.Second, "deadline of one request")
	fs.StringVar(&o.outDir, "out-dir", "", "`folder` for the results and the server logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.limits = strings.FieldsFunc(*limits, func(r rune) bool { return r == ',' || r == ' ' })
	return runStorms(ctx, o, stderr)
}

func (o stormOptions) check() error {
	switch {
	case o.gatepass == "":
		return errors.New("the storm needs -gatepass, the binary to start")
	case o.users < 1 || o.users > 1_000_000:
		return errors.New("-users must be between 1 and 1000000")
	case o.conns < 1 || o.conns > 8192:
		return errors.New("-conns must be between 1 and 8192")
	case o.timeout <= 0 || o.timeout > 30*time.Minute:
		return errors.New("-timeout must be between 0 and 30m")
	case o.reqTimeout <= 0 || o.reqTimeout > time.Minute:
		return errors.New("-request-timeout must be between 0 and 1m")
	case o.outDir == "":
		return errors.New("the storm needs -out-dir")
	case len(o.limits) == 0:
		return errors.New("-limits is empty")
	}
	for _, l := range o.limits {
		if l != stormLimitsOff && l != stormLimitsMemory && l != stormLimitsRedis {
			return fmt.Errorf("-limits: %q is none of off, memory, redis", l)
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
	// StatusCodes counts the answers by status, as vegeta does ("0": no
	// answer).
	StatusCodes map[string]int `json:"status_codes,omitempty"`
	// Latency is one request's, from vegeta taking it up to reading its
	// response (a connection's dial included); UserDone is when a user
	// held both grants, counted from the start of the storm.
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

	// ServerCPU and ClientCPU are the CPU time of the server and of this
	// process (vegeta, the load generator) over the storm.
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

// clientCores is the load generator's CPU time over the storm's: how many
// of the shared CPUs it took from the server.
func (r *stormResult) clientCores() float64 {
	if r.Seconds <= 0 {
		return -1
	}
	return r.ClientCPU / r.Seconds
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

	fmt.Fprintf(stderr, "harness: minting %d access tokens\n", o.users)
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
		fmt.Fprintf(stderr, "harness: storm (limits %s): %d users in %.2f s, %.0f users/s, p99 %.1f ms, %d errors, %d JWKS fetches, peak RSS %.1f MiB, generator CPU %.2f cores\n",
			limits, res.UsersDone, res.Seconds, res.UsersPerSecond, res.Latency.P99, res.Errors, res.JWKSFetches, res.peakMiB(), res.clientCores())
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
	var rdb *redis.Client
	if limits == stormLimitsRedis {
		r, err := startRedis(ctx, filepath.Join(work, "redis"))
		if err != nil {
			return nil, err
		}
		defer r.stop()
		rdb = redis.NewClient(&redis.Options{Addr: r.addr})
		defer rdb.Close()
		env["REDIS_URL"] = "redis://" + r.addr + "/0"
	}
	srv, err := startServer(ctx, o.gatepass, env, filepath.Join(o.outDir, "storm-"+limits+"-server.log"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	cpu0, err := processCPU(srv.pid())
	if err != nil {
		return nil, err
	}
	self0, err := selfCPU()
	if err != nil {
		return nil, err
	}
	res := attack(ctx, "http://"+srv.addr, tokens, o.conns, o.reqTimeout, o.timeout)
	cpu1, err := processCPU(srv.pid())
	if err != nil {
		return nil, err
	}
	self1, err := selfCPU()
	if err != nil {
		return nil, err
	}
	peak, _, err := processMemory(srv.pid())
	if err != nil {
		return nil, err
	}
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
	if rdb != nil {
		if n, err := rdb.DBSize(ctx).Result(); err == nil {
			res.RedisKeys = n
		}
	}
	return res, nil
}

// attack sends each user's two requests once with vegeta, as fast as conns
// workers go: each worker, on a keep-alive connection of its own, takes the
// next request not yet sent, so a user's two requests leave together on
// two connections. A failed request is not retried: it counts. Each
// request is bounded by reqTimeout, the storm by limit.
func attack(ctx context.Context, base string, tokens []string, conns int, reqTimeout, limit time.Duration) *stormResult {
	// The fragment names the user in vegeta's result; it is not sent.
	targets := make([]vegeta.Target, 0, 2*len(tokens))
	for u, tok := range tokens {
		h := http.Header{"Authorization": {"Bearer " + tok}}
		for _, path := range []string{stormOfficePath, stormRealtimePath} {
			targets = append(targets, vegeta.Target{Method: http.MethodPost, URL: base + path + "#" + strconv.Itoa(u), Header: h})
		}
	}
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= int64(len(targets)) {
			return vegeta.ErrNoTargets
		}
		*t = targets[i]
		return nil
	}
	n := uint64(max(conns, 1))
	attacker := vegeta.NewAttacker(vegeta.Workers(n), vegeta.MaxWorkers(n), vegeta.Connections(conns),
		vegeta.MaxConnections(conns), vegeta.Timeout(reqTimeout), vegeta.KeepAlive(true))
	stop := context.AfterFunc(ctx, func() { attacker.Stop() })
	defer stop()

	tally := newStormTally(len(tokens))
	start := time.Now()
	for r := range attacker.Attack(targeter, everyTargetOnce(len(targets)), limit, "storm") {
		tally.add(r, start)
	}
	return tally.result(time.Since(start))
}

// everyTargetOnce paces an attack as fast as its workers go and ends it
// after that many requests.
type everyTargetOnce uint64

func (n everyTargetOnce) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	return 0, hits >= uint64(n)
}

func (everyTargetOnce) Rate(time.Duration) float64 { return 0 }

// stormTally counts vegeta's results as they come.
type stormTally struct {
	res     stormResult
	metrics vegeta.Metrics
	// done is when each user's requests came back ok, from the start; 0
	// until they did.
	done     [][2]time.Duration
	userDone vegeta.LatencyMetrics
	makespan time.Duration
}

func newStormTally(users int) *stormTally {
	return &stormTally{res: stormResult{Users: users, ErrorKinds: map[string]int64{}}, done: make([][2]time.Duration, users)}
}

// add counts one result: ok when it came back 2xx with a token; a user is
// done when both its requests are ok, at the later of the two.
func (st *stormTally) add(r *vegeta.Result, start time.Time) {
	st.metrics.Add(r)
	st.res.Requests++
	switch {
	case r.Code == 0 && strings.Contains(r.Error, "Client.Timeout"):
		st.res.countError("timeout", r.Error)
	case r.Code == 0:
		st.res.countError("transport", r.Error)
	case r.Code < 200 || r.Code > 299:
		st.res.countError(fmt.Sprintf("status_%d", r.Code), fmt.Sprintf("status %d", r.Code))
	case !strings.Contains(string(r.Body), `"token"`):
		st.res.countError("no_token", "a 2xx answer without a token")
	default:
		st.res.OK++
		u, err := url.Parse(r.URL)
		if err != nil {
			return
		}
		user, err := strconv.Atoi(u.Fragment)
		if err != nil || user < 0 || user >= len(st.done) {
			return
		}
		side := 0
		if u.Path == stormRealtimePath {
			side = 1
		}
		st.done[user][side] = r.End().Sub(start)
		if a, b := st.done[user][0], st.done[user][1]; a > 0 && b > 0 {
			d := max(a, b)
			st.userDone.Add(d)
			st.makespan = max(st.makespan, d)
			st.res.UsersDone++
		}
	}
}

// result closes the tally: a request never sent (the storm's time ran
// out) is an error; the time to all is the last user's when every user is
// done, the whole storm's otherwise.
func (st *stormTally) result(elapsed time.Duration) *stormResult {
	res := &st.res
	for range 2*int64(res.Users) - res.Requests {
		res.Requests++
		res.countError("not_sent", "the storm's time ran out before the request was sent")
	}
	st.metrics.Close()
	res.StatusCodes = st.metrics.StatusCodes
	res.Latency = fromVegeta(st.metrics.Latencies, int(st.metrics.Requests))
	res.UserDone = fromVegeta(st.userDone, res.UsersDone)
	res.Seconds = elapsed.Seconds()
	if res.UsersDone == res.Users {
		res.Seconds = st.makespan.Seconds()
	}
	if res.Seconds > 0 {
		res.UsersPerSecond = float64(res.UsersDone) / res.Seconds
	}
	if len(res.ErrorKinds) == 0 {
		res.ErrorKinds = nil
	}
	return res
}

// fromVegeta is the mean over n, the percentiles and the maximum of l in
// milliseconds; zero for none.
func fromVegeta(l vegeta.LatencyMetrics, n int) latency {
	if n == 0 {
		return latency{}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return latency{Mean: ms(l.Total / time.Duration(n)), P50: ms(l.Quantile(0.50)), P90: ms(l.Quantile(0.90)),
		P99: ms(l.Quantile(0.99)), Max: ms(l.Max)}
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
		lastErr = poll(ctx, 30*time.Second, s.done, func() error {
			resp, err := probeClient.Get("http://" + addr + "/healthz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/healthz answered %d", resp.StatusCode)
			}
			return nil
		})
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

// startRedis starts redis-server on a free loopback port with its files
// in dir, and waits until it answers PING.
func startRedis(ctx context.Context, dir string) (*redisProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("the Redis storm needs redis-server (scripts/deps.sh redis): %w", err)
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
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		lastErr = poll(ctx, 10*time.Second, r.done, func() error { return rdb.Ping(ctx).Err() })
		rdb.Close()
		if lastErr == nil {
			return r, nil
		}
		r.stop()
	}
	return nil, fmt.Errorf("redis-server did not start: %w", lastErr)
}

// poll calls try every 50 ms until it succeeds, the process whose end
// closes exited has ended, or limit has passed.
func poll(ctx context.Context, limit time.Duration, exited <-chan struct{}, try func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}
