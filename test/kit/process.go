// Package kit is the one test kit of gatepass's suites (end-to-end, attack,
// resilience, deployment and the adapters' own tests):
//
//   - the real binary: built once, started on free loopback ports with a
//     given environment, waited for, stopped when the test ends (Start, Run);
//   - a stand-in identity provider serving its JWKS on loopback, with faults
//     to switch on (IdentityProvider);
//   - token builders for valid and forged tokens, from any header and
//     payload text with any signature (JWS and the signers);
//   - HTTP calls and the checks of gatepass's answers (Call, WantProblem),
//     and raw connections for requests no client would send (Dial);
//   - the production configuration those suites start from (ProductionEnv).
//
// It shares no code with gatepass: what it builds and checks, it does with
// the standard library and golang-jwt, so it is an independent party.
package kit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the gatepass binary under test: $GATEPASS_BIN when set,
// otherwise the one the go command keeps in its build cache for `go run
// ./cmd/gatepass`, found once per test process. `go run -exec echo` prints
// the cached executable's path instead of running it, so the test packages
// that start gatepass share one link rather than each making its own.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEPASS_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		// The first run after a change prints a temporary folder's copy,
		// gone when go run returns; the second finds the cached one.
		binPath, buildErr = CachedBinary()
	})
	if buildErr != nil {
		t.Fatalf("building gatepass: %v", buildErr)
	}
	return binPath
}

// CachedBinary returns the go command's cached executable of `go run
// flags... ./cmd/gatepass` (building it when there is none), found with
// `go run -exec echo`, which prints the executable's path instead of
// running it. The first run after a change prints a temporary folder's
// copy, gone when go run returns; the second finds the cached one.
func CachedBinary(flags ...string) (string, error) {
	var err error
	for range 2 {
		args := append(append([]string{"run"}, flags...), "-exec", "echo", "./cmd/gatepass")
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleRoot()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, runErr := cmd.Output()
		if runErr != nil {
			return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), runErr, stderr.String())
		}
		path := strings.TrimSpace(string(out))
		st, statErr := os.Stat(path)
		if statErr == nil && !st.IsDir() {
			return path, nil
		}
		err = fmt.Errorf("go run -exec echo printed %q, not an executable: %v", path, statErr)
	}
	return "", err
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Buffer is a goroutine-safe output sink.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Process is a running gatepass.
type Process struct {
	URL  string
	Addr string
	// AdminURL is the admin listener (metrics, health, readiness).
	AdminURL string
	Stdout   *Buffer
	Stderr   *Buffer
	cmd      *exec.Cmd
	done     chan struct{}
	err      error
	// stop stops a gatepass served in the test's own process (Served);
	// nil for a real process.
	stop func()
}

// Served is a Process for a gatepass that serves in the test's own process
// (package test/inproc builds it): the same URLs and logs, stopped by
// stop; it has no process to signal or wait for.
func Served(url, addr, adminURL string, logs *Buffer, stop func()) *Process {
	return &Process{URL: url, Addr: addr, AdminURL: adminURL, Stdout: &Buffer{}, Stderr: logs, stop: stop, done: make(chan struct{})}
}

var errServed = errors.New("gatepass serves in this process: there is no process to signal or wait for (use kit.Start)")

// Run runs `gatepass args...` with env (and nothing of the test's own
// environment but PATH and HOME) to completion and returns its output.
func Run(t testing.TB, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	// The binary is built first: the build, on a busy machine, must not
	// spend the run's time.
	bin := Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ(env)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// Start starts `gatepass serve` with env on a free loopback port (unless
// env sets HTTP_ADDR) and waits until /healthz answers. The process is
// stopped when the test ends.
func Start(t testing.TB, env map[string]string) *Process {
	t.Helper()
	p, err := StartErr(t, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// StartErr is Start, returning the error instead of failing the test.
func StartErr(t testing.TB, env map[string]string) (*Process, error) {
	t.Helper()
	env = clone(env)
	if env["HTTP_ADDR"] == "" {
		env["HTTP_ADDR"] = FreeAddr(t)
	}
	if env["ADMIN_ADDR"] == "" {
		env["ADMIN_ADDR"] = FreeAddr(t)
	}
	p := &Process{Addr: env["HTTP_ADDR"], URL: "http://" + env["HTTP_ADDR"], AdminURL: "http://" + env["ADMIN_ADDR"],
		Stdout: &Buffer{}, Stderr: &Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), "serve")
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Kill() })
	if err := p.waitHealthy(20 * time.Second); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%w\nstderr:\n%s", err, p.Stderr.String())
	}
	return p, nil
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (p *Process) waitHealthy(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("gatepass exited before serving: %v", p.err)
		default:
		}
		resp, err := client.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("gatepass did not answer /healthz in time")
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error {
	if p.cmd == nil {
		return errServed
	}
	return p.cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil for exit 0).
func (p *Process) Wait(timeout time.Duration) error {
	if p.cmd == nil {
		return errServed
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return errors.New("gatepass did not exit in time")
	}
}

// Kill stops the process if it still runs.
func (p *Process) Kill() {
	if p.cmd == nil {
		p.stop()
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Logs returns what the process wrote to stderr (its JSON logs).
func (p *Process) Logs() string { return p.Stderr.String() }

// ExitError renders an exit error with the process's output, for messages.
func ExitError(err error, stderr string) string {
	return fmt.Sprintf("%v: %s", err, strings.TrimSpace(stderr))
}

// LogLine is one of gatepass's JSON log lines, with the fields of a
// request's.
type LogLine struct {
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	RequestID string `json:"request_id"`
	Status    int    `json:"status"`
	ClientIP  string `json:"client_ip"`
	Route     string `json:"route"`
}

// RequestLogs returns the process's request log lines so far.
func (p *Process) RequestLogs() []LogLine {
	var out []LogLine
	for _, l := range p.logLines() {
		if l.Msg == "request" {
			out = append(out, l)
		}
	}
	return out
}

// servingMsg is the last line of gatepass's start-up log.
const servingMsg = "gatepass serving"

// StartLog waits (logs are written in batches) until the process has
// logged that it serves, and returns the lines logged up to that one: the
// start-up log.
func (p *Process) StartLog(t testing.TB) []LogLine {
	t.Helper()
	var lines []LogLine
	served := Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		lines = p.logLines()
		for i, l := range lines {
			if l.Msg == servingMsg {
				lines = lines[:i+1]
				return true
			}
		}
		return false
	})
	if !served {
		t.Fatalf("no %q line in the log:\n%s", servingMsg, p.Logs())
	}
	return lines
}

// logLines are the JSON lines the process has logged so far.
func (p *Process) logLines() []LogLine {
	var out []LogLine
	sc := bufio.NewScanner(strings.NewReader(p.Logs()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var l LogLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}
