package redisserver_test

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/redisserver"
)

// roundTrip sends PING and reports the answer or the error.
func roundTrip(t *testing.T, addr string) (string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	return strings.TrimSpace(string(buf[:n])), err
}

func TestStartStopRestart(t *testing.T) {
	s := redisserver.Start(t)
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/0") {
		t.Fatalf("URL() = %q, want redis://127.0.0.1:PORT/0", s.URL())
	}
	if got, err := roundTrip(t, s.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING after Start = %q, %v; want +PONG", got, err)
	}

	s.Stop()
	if _, err := roundTrip(t, s.Addr()); err == nil {
		t.Fatal("PING after Stop succeeded; want a connection error")
	}
	s.Stop() // idempotent

	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	if got, err := roundTrip(t, s.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING after Restart = %q, %v; want +PONG", got, err)
	}
}

func TestPauseResume(t *testing.T) {
	s := redisserver.Start(t)
	s.Pause()
	if got, err := roundTrip(t, s.Addr()); err == nil {
		t.Fatalf("PING on a paused server answered %q; want a timeout", got)
	}
	s.Resume()
	if got, err := roundTrip(t, s.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING after Resume = %q, %v; want +PONG", got, err)
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := redisserver.Start(t), redisserver.Start(t)
	if a.URL() == b.URL() {
		t.Fatalf("two servers share %s", a.URL())
	}
	a.Stop()
	if got, err := roundTrip(t, b.Addr()); err != nil || got != "+PONG" {
		t.Fatalf("PING on the other server after one stopped = %q, %v; want +PONG", got, err)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutRedisFailsWithInstallHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redisserver.Start(rec)
	}()
	<-done
	if !strings.Contains(rec.msg, "scripts/deps.sh redis") {
		t.Fatalf("Start without redis-server failed with %q; want a hint to run scripts/deps.sh redis", rec.msg)
	}
}
