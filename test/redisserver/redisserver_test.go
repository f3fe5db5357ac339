package redisserver_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/test/kit"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

func TestClusterServesEverySlotAndFailsOver(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, redisserver.ClusterOptions{Masters: 3, ReplicasPerMaster: 1, Password: "cluster-pw"})
	if len(c.Addrs()) != 6 || len(c.Masters()) != 3 {
		t.Fatalf("cluster of %d nodes, %d masters; want 6 and 3", len(c.Addrs()), len(c.Masters()))
	}
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1], Password: "cluster-pw"})
	defer client.Close()
	for i := range 30 {
		if err := client.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the cluster: %v", err)
		}
	}
	for _, m := range c.Masters() {
		if n, err := m.Client().DBSize(ctx).Result(); err != nil || n == 0 {
			t.Fatalf("master %s holds %d keys (%v); want the keys spread over every master", m.Addr(), n, err)
		}
	}
	if got, want := c.KeySlot("{user_1}:a"), c.KeySlot("user_1"); got != want {
		t.Fatalf("KeySlot({user_1}:a) = %d, want the tag's slot %d", got, want)
	}

	victim := c.MasterHolding("k7")
	c.WaitReplicated(victim)
	victim.Stop()
	start := time.Now()
	c.WaitFailover(victim, 20*time.Second)
	t.Logf("replica promoted %s after its master died", time.Since(start).Round(time.Millisecond))
	if len(c.Masters()) != 3 {
		t.Fatalf("%d masters after the failover, want 3", len(c.Masters()))
	}
	// A cluster client learns of the promotion when it reloads the slots.
	var (
		v   string
		err error
	)
	if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool {
		client.ReloadState(ctx)
		v, err = client.Get(ctx, "k7").Result()
		return err == nil
	}) || v != "7" {
		t.Fatalf("GET k7 after the failover = %q, %v; want the replicated 7", v, err)
	}
}

func TestSentinelFailsOver(t *testing.T) {
	t.Parallel()
	s := redisserver.StartSentinel(t, redisserver.SentinelOptions{Replicas: 1, Sentinels: 3, Password: "sentinel-pw"})
	old := s.Master()
	if old != s.Data[0] {
		t.Fatalf("Sentinel names %s at start, want the first server %s", old.Addr(), s.Data[0].Addr())
	}
	ctx := context.Background()
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redisserver.SentinelMaster, SentinelAddrs: s.Addrs(), Password: "sentinel-pw"})
	defer client.Close()
	if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through Sentinel: %v", err)
	}
	if err := client.Wait(ctx, 1, time.Second).Err(); err != nil {
		t.Fatalf("WAIT for the replica: %v", err)
	}

	old.Stop()
	start := time.Now()
	next := s.WaitFailover(old, 20*time.Second)
	t.Logf("Sentinel promoted %s %s after the master died", next.Addr(), time.Since(start).Round(time.Millisecond))
	if next == old || s.Master() != next {
		t.Fatalf("master after the failover is %s, want the replica", next.Addr())
	}
	if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool { v, err := client.Get(ctx, "k").Result(); return err == nil && v == "v" }) {
		t.Fatal("the failover client does not read k from the new master")
	}
}
