package redisrevocation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/adapters/redisrevocation"
	"github.com/gatepass/gatepass/adapters/revocationtest"
	"github.com/gatepass/gatepass/test/redisserver"
)

// prefix keeps one subtest's keys apart from the others' on a shared
// server; braces would move the keys' hash slot.
func prefix(t *testing.T) string {
	return strings.NewReplacer("{", "(", "}", ")").Replace(t.Name()) + ":"
}

// harness opens handles with clients from newClient, each its own as each
// replica has, under the subtest's prefix; Empty deletes what the store
// keeps under it, as a Redis restarted without persistence has lost it.
func harness(t *testing.T, newClient func() redis.UniversalClient) revocationtest.Harness {
	p := prefix(t)
	open := func() redis.UniversalClient {
		c := newClient()
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	return revocationtest.Harness{
		Open: func() revocationtest.Store { return redisrevocation.New(open(), p, nil) },
		Empty: func() {
			c := open()
			for _, k := range []string{"version", "byid", "byversion", "byexpiry"} {
				if err := c.Del(context.Background(), p+"{revocations}:"+k).Err(); err != nil {
					t.Fatal(err)
				}
			}
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := redisserver.Start(t)
	revocationtest.RunConformanceTests(t, func(t *testing.T) revocationtest.Harness {
		return harness(t, func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr()}) })
	})
}

// TestConformanceOnCluster runs the suite on a Redis Cluster of three
// masters: the scripts' keys share one slot, and an announcement reaches
// a subscriber connected to another master.
func TestConformanceOnCluster(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, redisserver.ClusterOptions{Masters: 3})
	revocationtest.RunConformanceTests(t, func(t *testing.T) revocationtest.Harness {
		return harness(t, func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1]})
		})
	})
}
