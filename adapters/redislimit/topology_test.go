package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/adapters/limittest"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

func TestTargets(t *testing.T) {
	tests := []struct {
		name    string
		target  func() (redislimit.Target, error)
		want    redislimit.Topology
		wantErr error
	}{
		{"node", func() (redislimit.Target, error) { return redislimit.NodeTarget("redis://127.0.0.1:6379/0", "") }, redislimit.TopologyNode, nil},
		{"node, password on its own", func() (redislimit.Target, error) { return redislimit.NodeTarget("redis://127.0.0.1:6379/0", "pw") }, redislimit.TopologyNode, nil},
		{"node, two passwords", func() (redislimit.Target, error) { return redislimit.NodeTarget("redis://:a@127.0.0.1:6379/0", "b") }, "", redislimit.ErrTwoPasswords},
		{"node, bad url", func() (redislimit.Target, error) { return redislimit.NodeTarget("http://127.0.0.1:6379", "") }, "", redislimit.ErrInvalidURL},
		{"cluster", func() (redislimit.Target, error) {
			return redislimit.ClusterTarget([]string{"10.0.0.1:7000", " redis-b.internal:7001 ", "[::1]:7002"}, "pw")
		}, redislimit.TopologyCluster, nil},
		{"cluster of one seed", func() (redislimit.Target, error) { return redislimit.ClusterTarget([]string{"10.0.0.1:7000"}, "") }, redislimit.TopologyCluster, nil},
		{"cluster, no address", func() (redislimit.Target, error) { return redislimit.ClusterTarget(nil, "") }, "", redislimit.ErrInvalidAddr},
		{"cluster, empty entry", func() (redislimit.Target, error) { return redislimit.ClusterTarget([]string{"10.0.0.1:7000", ""}, "") }, "", redislimit.ErrInvalidAddr},
		{"cluster, no port", func() (redislimit.Target, error) { return redislimit.ClusterTarget([]string{"10.0.0.1"}, "") }, "", redislimit.ErrInvalidAddr},
		{"cluster, port out of range", func() (redislimit.Target, error) { return redislimit.ClusterTarget([]string{"10.0.0.1:70000"}, "") }, "", redislimit.ErrInvalidAddr},
		{"cluster, no host", func() (redislimit.Target, error) { return redislimit.ClusterTarget([]string{":7000"}, "") }, "", redislimit.ErrInvalidAddr},
		{"cluster, a URL", func() (redislimit.Target, error) {
			return redislimit.ClusterTarget([]string{"redis://10.0.0.1:7000"}, "")
		}, "", redislimit.ErrInvalidAddr},
		{"sentinel", func() (redislimit.Target, error) {
			return redislimit.SentinelTarget([]string{"10.0.0.1:26379", "10.0.0.2:26379"}, "mymaster", "pw")
		}, redislimit.TopologySentinel, nil},
		{"sentinel without master", func() (redislimit.Target, error) {
			return redislimit.SentinelTarget([]string{"10.0.0.1:26379"}, " ", "")
		}, "", redislimit.ErrNoMasterName},
		{"sentinel, bad address", func() (redislimit.Target, error) { return redislimit.SentinelTarget([]string{"10.0.0.1:x"}, "m", "") }, "", redislimit.ErrInvalidAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := tt.target()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if target.Topology() != tt.want {
				t.Fatalf("topology = %q, want %q", target.Topology(), tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Fatalf("error quotes the password: %v", err)
			}
			l, closeL, err := redislimit.Open(target)
			if (err == nil) != (tt.want != "") {
				t.Fatalf("Open = %v, want an error only without a target", err)
			}
			if err == nil && (l == nil || closeL() != nil) {
				t.Fatal("Open gave no limiter, or it does not close")
			}
			// Only a cluster's masters fail one by one.
			if err == nil && (l.Nodes() != nil) != (tt.want == redislimit.TopologyCluster) {
				t.Fatalf("%s: Nodes() = %v", tt.want, l.Nodes())
			}
		})
	}
}

// openOn opens a limiter on target, closed with the test.
func openOn(t *testing.T, target redislimit.Target, err error) *redislimit.Limiter {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	l, closeL, err := redislimit.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeL() })
	return l
}

// shareOneBudget spends one budget from two limiters at once and wants
// exactly its burst admitted, then nothing more from either.
func shareOneBudget(t *testing.T, a, b *redislimit.Limiter, key string) {
	t.Helper()
	limit := domain.Limit{Rate: 1, Period: time.Hour, Burst: 8}
	ctx := context.Background()
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 4 * limit.Burst {
		l := []*redislimit.Limiter{a, b}[i%2]
		wg.Go(func() {
			d, err := l.Allow(ctx, key, limit)
			if err != nil {
				t.Error(err)
			} else if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != int32(limit.Burst) {
		t.Fatalf("two limiters admitted %d events of %s, want one shared burst of %d", got, key, limit.Burst)
	}
}

// TestCluster runs the limiter on a three-master Redis Cluster, each master
// with a replica.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, redisserver.ClusterOptions{Masters: 3, ReplicasPerMaster: 1, Password: "cluster-pw"})
	target, err := redislimit.ClusterTarget(c.Addrs()[:1], "cluster-pw") // one seed finds the rest
	ctx := context.Background()

	t.Run("conformance", func(t *testing.T) {
		limittest.RunConformanceTests(t, func(t *testing.T) limittest.Harness {
			client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), Password: "cluster-pw"})
			t.Cleanup(func() { _ = client.Close() })
			return limittest.Harness{Limiter: redislimit.New(client, t.Name()+":"), Wait: time.Sleep}
		})
	})

	t.Run("replicas share one budget", func(t *testing.T) {
		shareOneBudget(t, openOn(t, target, err), openOn(t, target, err), "office:user_shared")
	})

	t.Run("a budget's keys live in the slot of its name, whatever the prefix", func(t *testing.T) {
		l := openOn(t, target, err)
		other := func() *redislimit.Limiter {
			client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), Password: "cluster-pw"})
			t.Cleanup(func() { _ = client.Close() })
			return redislimit.New(client, "another-service:")
		}()
		limit := domain.Limit{Rate: 1, Period: time.Minute, Burst: 2}
		masters := map[string]bool{}
		for i := range 40 {
			budget := fmt.Sprintf("office:user_slot_%d", i)
			for _, lim := range []*redislimit.Limiter{l, other} {
				if _, err := lim.Allow(ctx, budget, limit); err != nil {
					t.Fatal(err)
				}
			}
			keys := c.Keys("*" + budget + "*")
			if len(keys) != 2 {
				t.Fatalf("budget %s is kept in keys %q, want one per prefix", budget, keys)
			}
			for _, k := range keys {
				if !strings.HasSuffix(k, "{"+budget+"}") {
					t.Fatalf("key %q does not hash-tag its budget %s", k, budget)
				}
				if got, want := c.KeySlot(k), c.KeySlot(budget); got != want {
					t.Fatalf("CLUSTER KEYSLOT %q = %d, want the budget's slot %d", k, got, want)
				}
			}
			masters[c.MasterHolding("*"+budget+"*").Addr()] = true
		}
		if len(masters) != 3 {
			t.Fatalf("40 budgets are kept on %d masters, want them spread over all 3", len(masters))
		}
	})

	t.Run("braces in a subject stay in one slot", func(t *testing.T) {
		l := openOn(t, target, err)
		for _, budget := range []string{"office:}x{", "office:{x}", "authfail:2001:db8::/64", "office:"} {
			if _, err := l.Allow(ctx, budget, domain.Limit{Rate: 1, Period: time.Minute, Burst: 1}); err != nil {
				t.Fatalf("%s: %v", budget, err)
			}
		}
		shareOneBudget(t, l, openOn(t, target, err), "office:{x}}")
	})

	t.Run("nodes are the masters, named by address, each holding its budgets", func(t *testing.T) {
		l := openOn(t, target, err)
		nodes := l.Nodes()
		if nodes == nil {
			t.Fatal("a limiter on a cluster does not tell its nodes apart")
		}
		got, err := nodes.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := addrsOf(c.Masters())
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Nodes = %q, want the masters %q", got, want)
		}
		for i := range 12 {
			budget := fmt.Sprintf("office:user_node_%d", i)
			if _, err := l.Allow(ctx, budget, domain.Limit{Rate: 1, Period: time.Minute, Burst: 1}); err != nil {
				t.Fatal(err)
			}
			if got, want := nodes.NodeOf(ctx, budget), c.MasterHolding("*"+budget+"}").Addr(); got != want {
				t.Fatalf("NodeOf(%s) = %q, but %s holds it", budget, got, want)
			}
		}
	})

	t.Run("a master dies: unavailable, then its replica serves without a restart", func(t *testing.T) {
		l := openOn(t, target, err)
		limit := domain.Limit{Rate: 1, Period: time.Hour, Burst: 5}
		const budget = "office:user_failover"
		if d, err := l.Allow(ctx, budget, limit); err != nil || !d.Allowed {
			t.Fatalf("before the failover = %+v, %v", d, err)
		}
		victim := c.MasterHolding("*" + budget + "*")
		// The replica must hold the count before its master dies.
		if err := victim.Client().Do(ctx, "WAIT", 1, 1000).Err(); err != nil {
			t.Fatal(err)
		}
		victim.Stop()
		_, err := l.Allow(ctx, budget, limit)
		wantUnavailable(t, "Allow on a dead master", err)

		c.WaitFailover(victim, 20*time.Second)
		var d domain.Decision
		if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool { d, err = l.Allow(ctx, budget, limit); return err == nil }) {
			t.Fatalf("Allow after the failover: %v", err)
		}
		// The promoted replica kept the count: one spent before, this one now.
		if !d.Allowed || d.Remaining != limit.Burst-2 {
			t.Fatalf("after the failover = %+v, want allowed with %d remaining", d, limit.Burst-2)
		}
	})
}

// TestSentinel runs the limiter on a master and replica behind Sentinel.
func TestSentinel(t *testing.T) {
	t.Parallel()
	s := redisserver.StartSentinel(t, redisserver.SentinelOptions{Replicas: 1, Sentinels: 1, Password: "sentinel-pw"})
	target, err := redislimit.SentinelTarget(s.Addrs(), redisserver.SentinelMaster, "sentinel-pw")
	ctx := context.Background()

	t.Run("conformance", func(t *testing.T) {
		limittest.RunConformanceTests(t, func(t *testing.T) limittest.Harness {
			client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redisserver.SentinelMaster, SentinelAddrs: s.Addrs(), Password: "sentinel-pw"})
			t.Cleanup(func() { _ = client.Close() })
			return limittest.Harness{Limiter: redislimit.New(client, t.Name()+":"), Wait: time.Sleep}
		})
	})

	t.Run("replicas share one budget", func(t *testing.T) {
		shareOneBudget(t, openOn(t, target, err), openOn(t, target, err), "office:user_shared")
	})

	t.Run("the master dies: the promoted replica serves without a restart", func(t *testing.T) {
		l := openOn(t, target, err)
		limit := domain.Limit{Rate: 1, Period: time.Hour, Burst: 5}
		const budget = "office:user_failover"
		if d, err := l.Allow(ctx, budget, limit); err != nil || !d.Allowed {
			t.Fatalf("before the failover = %+v, %v", d, err)
		}
		old := s.Master()
		if err := old.Client().Do(ctx, "WAIT", 1, 1000).Err(); err != nil {
			t.Fatal(err)
		}
		old.Stop()
		_, err := l.Allow(ctx, budget, limit)
		wantUnavailable(t, "Allow on a dead master", err)

		s.WaitFailover(old, 20*time.Second)
		var d domain.Decision
		if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool { d, err = l.Allow(ctx, budget, limit); return err == nil }) {
			t.Fatalf("Allow after the failover: %v", err)
		}
		if !d.Allowed || d.Remaining != limit.Burst-2 {
			t.Fatalf("after the failover = %+v, want allowed with %d remaining", d, limit.Burst-2)
		}
	})
}

// addrsOf is each server's host:port.
func addrsOf(servers []*redisserver.Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr()
	}
	return out
}
