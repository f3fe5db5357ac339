// Package redisserver runs a real redis-server for tests: on a free loopback
// port, without persistence, in a temporary folder, stopped when the test
// ends. It can stop, restart (on the same port) and freeze the server, so
// tests can watch a client ride out a Redis that dies or hangs. It also
// builds the two replicated topologies from such servers: a Redis Cluster
// (StartCluster) and a master with replicas watched by Sentinel
// (StartSentinel).
package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// readyTimeout bounds the wait for a fresh server to answer PING.
const readyTimeout = 10 * time.Second

// Server is one redis-server process. Its methods call t.Fatal, so call
// them from the test's goroutine.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// args are the command line's arguments after the binary; nil is a
	// plain server.
	args func(s *Server) []string
	// password is what Client authenticates with; "" for none.
	password string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	client *redis.Client
}

// Start launches redis-server from PATH and returns once it answers PING.
// The server is stopped when the test ends. A machine without redis-server
// fails the test: the rate-limit tests are part of the suite, not optional.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil, nil, "")
}

// start launches a server with the command line args gives (nil: a plain
// server); choose, when not nil, picks the ports afresh for each attempt.
func start(t testing.TB, args func(s *Server) []string, choose func() error, password string) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: args, password: password}
	t.Cleanup(s.Stop)
	// A port free a moment ago can be taken before redis binds it; try a
	// few before giving up.
	for attempt := 0; ; attempt++ {
		var err error
		s.port, err = freePort()
		if err == nil && choose != nil {
			err = choose()
		}
		if err != nil {
			t.Fatalf("redisserver: find a free port: %v", err)
		}
		if err = s.launch(); err == nil {
			return s
		}
		if attempt == 4 {
			t.Fatalf("redisserver: start: %v", err)
		}
	}
}

// lookPath finds a Redis tool on PATH or fails the test with the hint to
// install it: the rate-limit tests are part of the suite, not optional.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (run scripts/deps.sh redis): %v", name, err)
	}
	return bin
}

// URL is the server's address as a REDIS_URL, database 0.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr()) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the server, as a crash would, and waits until it has exited.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // also ends a paused process
	<-done
}

// Restart stops the server if it runs and starts a new one on the same port,
// with an empty data set. Clients keep their address and can reconnect.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redisserver: restart on port %d: %v", s.port, err)
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing is
// answered, as with a hung or partitioned Redis.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume thaws a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("redisserver: %v: server is not running", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redisserver: %v: %v", sig, err)
	}
}

// launch starts redis-server on s.port and waits until it answers PING or
// exits.
func (s *Server) launch() error {
	logPath := filepath.Join(s.dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child keeps its own descriptor
	args := plainArgs(s)
	if s.args != nil {
		args = s.args(s)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	deadline := time.Now().Add(readyTimeout)
	for {
		if pingErr := ping(s.Addr()); pingErr == nil {
			break
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("no PING answer within %s: %v\n%s", readyTimeout, pingErr, tail(logPath))
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited: %s\n%s", cmd.ProcessState, tail(logPath))
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// plainArgs is a loopback server without persistence, logging to stdout.
func plainArgs(s *Server) []string {
	return []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", "",
	}
}

// Client is a go-redis client of this server alone, closed when the test
// ends; it redials after a Restart.
func (s *Server) Client() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		s.client = redis.NewClient(&redis.Options{
			Addr: s.Addr(), Password: s.password, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
			MaxRetries: -1, DialerRetries: 1,
		})
		c := s.client
		s.t.Cleanup(func() { _ = c.Close() })
	}
	return s.client
}

// Running reports whether the server's process is up (not stopped).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Logs is the end of the server's log, for failure messages.
func (s *Server) Logs() string { return tail(filepath.Join(s.dir, "redis.log")) }

// ping speaks just enough RESP to tell a live server from a dead port.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	// A server that wants a password is up too.
	if l := strings.TrimSpace(line); l != "+PONG" && !strings.HasPrefix(l, "-NOAUTH") {
		return errors.New("unexpected answer " + strconv.Quote(line))
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of the server's log, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	const keep = 2048
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}
