package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/adapters/limittest"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/redisserver"
)

// newLimiter returns a Limiter on its own client and key prefix, closed
// with the test.
func newLimiter(t testing.TB, url, prefix string) *redislimit.Limiter {
	t.Helper()
	opts, err := redislimit.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return redislimit.New(client, prefix)
}

func TestConformance(t *testing.T) {
	srv := redisserver.Start(t)
	limittest.RunConformanceTests(t, func(t *testing.T) limittest.Harness {
		// Subtests share the server; a prefix per subtest keeps their keys
		// apart.
		return limittest.Harness{
			Limiter: newLimiter(t, srv.URL(), t.Name()+":"),
			Wait:    time.Sleep,
		}
	})
}

// TestRemainingIsExactDespiteFloatNoise pins the count for a limit whose
// emission interval (60s/7) is no exact float: the script alone reports
// one event fewer than is left.
func TestRemainingIsExactDespiteFloatNoise(t *testing.T) {
	srv := redisserver.Start(t)
	l := newLimiter(t, srv.URL(), "noise:")
	limit := domain.Limit{Rate: 7, Period: time.Minute, Burst: 3}
	for i := range 50 {
		key := fmt.Sprint("k", i)
		for want := limit.Burst - 1; want >= 0; want-- {
			d, err := l.Allow(context.Background(), key, limit)
			if err != nil || !d.Allowed || d.Remaining != want {
				t.Fatalf("%s = %+v, %v; want allowed with %d remaining", key, d, err, want)
			}
		}
	}
}

func TestTwoReplicasShareOneBudget(t *testing.T) {
	srv := redisserver.Start(t)
	a, closeA, err := redislimit.NewFromURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer closeA()
	b, closeB, err := redislimit.NewFromURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer closeB()

	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 10}
	ctx := context.Background()
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			d, err := l.Allow(ctx, "user:42:request-access", limit)
			if err != nil {
				t.Error(err)
			} else if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != int32(limit.Burst) {
		t.Fatalf("two replicas admitted %d events, want one shared burst of %d", got, limit.Burst)
	}
	// The budget is spent for both.
	for name, l := range map[string]*redislimit.Limiter{"a": a, "b": b} {
		if d, err := l.Allow(ctx, "user:42:request-access", limit); err != nil || d.Allowed {
			t.Fatalf("replica %s after the shared burst = %+v, %v; want refused", name, d, err)
		}
	}
}

func TestPrefixesSeparateBudgets(t *testing.T) {
	srv := redisserver.Start(t)
	a := newLimiter(t, srv.URL(), "svc-a:")
	b := newLimiter(t, srv.URL(), "svc-b:")
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 1}
	ctx := context.Background()
	if d, err := a.Allow(ctx, "k", limit); err != nil || !d.Allowed {
		t.Fatalf("a = %+v, %v; want allowed", d, err)
	}
	if d, err := b.Allow(ctx, "k", limit); err != nil || !d.Allowed {
		t.Fatalf("b, other prefix = %+v, %v; want allowed", d, err)
	}
}

// wantUnavailable asserts err is an outage of the store.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrLimiterUnavailable) {
		t.Fatalf("%s: %v; want an error wrapping ErrLimiterUnavailable", what, err)
	}
}

// The contexts below carry no deadline: the client's own timeouts must end
// each call, or the test hangs.

func TestRedisKilledAndRestarted(t *testing.T) {
	srv := redisserver.Start(t)
	l, closeL, err := redislimit.NewFromURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer closeL()
	ctx := context.Background()
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 3}
	if d, err := l.Allow(ctx, "k", limit); err != nil || !d.Allowed {
		t.Fatalf("before the crash = %+v, %v; want allowed", d, err)
	}

	srv.Stop()
	start := time.Now()
	_, err = l.Allow(ctx, "k", limit)
	t.Logf("Allow on a dead Redis failed after %s: %v", time.Since(start), err)
	wantUnavailable(t, "Allow on a dead Redis", err)
	wantUnavailable(t, "Ping on a dead Redis", l.Ping(ctx))

	srv.Restart()
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	// The restarted Redis lost the count: the key starts full again.
	if d, err := l.Allow(ctx, "k", limit); err != nil || !d.Allowed || d.Remaining != limit.Burst-1 {
		t.Fatalf("after the restart = %+v, %v; want allowed with %d remaining", d, err, limit.Burst-1)
	}
}

func TestHungRedis(t *testing.T) {
	srv := redisserver.Start(t)
	l, closeL, err := redislimit.NewFromURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer closeL()
	ctx := context.Background()
	limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 3}
	if d, err := l.Allow(ctx, "k", limit); err != nil || !d.Allowed {
		t.Fatalf("before the hang = %+v, %v; want allowed", d, err)
	}

	srv.Pause()
	start := time.Now()
	_, err = l.Allow(ctx, "k", limit)
	t.Logf("Allow on a hung Redis failed after %s: %v", time.Since(start), err)
	srv.Resume()
	wantUnavailable(t, "Allow on a hung Redis", err)

	if d, err := l.Allow(ctx, "k", limit); err != nil || !d.Allowed {
		t.Fatalf("after the hang = %+v, %v; want allowed", d, err)
	}
}

func TestCallerDeadline(t *testing.T) {
	srv := redisserver.Start(t)
	l, closeL, err := redislimit.NewFromURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer closeL()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.Allow(ctx, "k", domain.Limit{Rate: 1, Period: time.Minute, Burst: 1})
	wantUnavailable(t, "Allow with a cancelled context", err)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Allow with a cancelled context: %v; want it to wrap context.Canceled too", err)
	}
}

func TestErrorsDoNotLeakThePassword(t *testing.T) {
	const secret = "s3cr3t-pa55"
	for _, url := range []string{
		"redis://:" + secret + "@127.0.0.1:1/0", // nothing listens on port 1
		"redis://gatepass:" + secret + "@127.0.0.1:1/0",
	} {
		l, closeL, err := redislimit.NewFromURL(url)
		if err != nil {
			t.Fatalf("NewFromURL: %v", err)
		}
		_, err = l.Allow(context.Background(), "k", domain.Limit{Rate: 1, Period: time.Minute, Burst: 1})
		_ = closeL()
		wantUnavailable(t, "Allow on an unreachable Redis", err)
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error quotes the password: %v", err)
		}
	}

	for _, url := range []string{
		"redis://:" + secret + "@127.0.0.1:6379/zero",
		"redis://:" + secret + "@127.0.0.1:6379/0?surprise=1",
		"redis://:" + secret + "@127.0.0.1:6379/0?dial_timeout=soon",
		"redis://:" + secret + "@127.0.0.1:port/0",
		"http://:" + secret + "@127.0.0.1:6379/0",
		"redis://:" + secret + "@127.0.0.1:6379/0\x7f",
	} {
		_, _, err := redislimit.NewFromURL(url)
		if !errors.Is(err, redislimit.ErrInvalidURL) {
			t.Fatalf("NewFromURL(bad url): %v, want ErrInvalidURL", err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error quotes the password: %v", err)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		name           string
		url            string
		wantAddr       string
		wantDB         int
		wantPassword   string
		wantDial       time.Duration
		wantRead       time.Duration
		wantWrite      time.Duration
		wantPool       time.Duration
		wantMaxRetries int
	}{
		{
			name: "defaults", url: "redis://127.0.0.1:6379/0",
			wantAddr: "127.0.0.1:6379", wantDB: 0,
			wantDial: redislimit.DefaultDialTimeout, wantRead: redislimit.DefaultReadTimeout,
			wantWrite: redislimit.DefaultWriteTimeout, wantPool: redislimit.DefaultPoolTimeout,
			wantMaxRetries: 1,
		},
		{
			name: "password and database", url: "redis://:pw@redis.internal:6380/2",
			wantAddr: "redis.internal:6380", wantDB: 2, wantPassword: "pw",
			wantDial: redislimit.DefaultDialTimeout, wantRead: redislimit.DefaultReadTimeout,
			wantWrite: redislimit.DefaultWriteTimeout, wantPool: redislimit.DefaultPoolTimeout,
			wantMaxRetries: 1,
		},
		{
			name: "the URL's own timeouts win", url: "redis://127.0.0.1:6379/0?dial_timeout=2s&read_timeout=1s&write_timeout=3s&pool_timeout=4s&max_retries=3",
			wantAddr: "127.0.0.1:6379", wantDB: 0,
			wantDial: 2 * time.Second, wantRead: time.Second, wantWrite: 3 * time.Second, wantPool: 4 * time.Second,
			wantMaxRetries: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := redislimit.ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if o.Addr != tt.wantAddr || o.DB != tt.wantDB || o.Password != tt.wantPassword {
				t.Errorf("addr, db, password = %s, %d, %q; want %s, %d, %q", o.Addr, o.DB, o.Password, tt.wantAddr, tt.wantDB, tt.wantPassword)
			}
			if o.DialTimeout != tt.wantDial || o.ReadTimeout != tt.wantRead || o.WriteTimeout != tt.wantWrite || o.PoolTimeout != tt.wantPool {
				t.Errorf("timeouts dial/read/write/pool = %s/%s/%s/%s; want %s/%s/%s/%s",
					o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, tt.wantDial, tt.wantRead, tt.wantWrite, tt.wantPool)
			}
			if o.MaxRetries != tt.wantMaxRetries || o.DialerRetries != 1 || !o.ContextTimeoutEnabled {
				t.Errorf("retries %d, dial attempts %d, context timeouts %v; want %d, 1, true", o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled, tt.wantMaxRetries)
			}
		})
	}
}

func TestInvalidLimitIsErrInvalidLimit(t *testing.T) {
	// Rejected before Redis is asked: no server needed.
	l, closeL, err := redislimit.NewFromURL("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	defer closeL()
	_, err = l.Allow(context.Background(), "k", domain.Limit{Rate: 1, Period: time.Minute})
	if !errors.Is(err, redislimit.ErrInvalidLimit) {
		t.Fatalf("Allow with zero burst: %v, want ErrInvalidLimit", err)
	}
}

func BenchmarkAllow(b *testing.B) {
	srv := redisserver.Start(b)
	l, closeL, err := redislimit.NewFromURL(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer closeL()
	limittest.RunBenchmarks(b, l)
}
