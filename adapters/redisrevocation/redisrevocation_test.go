package redisrevocation_test

import (
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

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := redisserver.Start(t)
	revocationtest.RunConformanceTests(t, func(t *testing.T) func() revocationtest.Store {
		p := prefix(t)
		// Each handle has a client of its own, as each replica has.
		return func() revocationtest.Store {
			client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			t.Cleanup(func() { _ = client.Close() })
			return redisrevocation.New(client, p, nil)
		}
	})
}

// TestConformanceOnCluster runs the suite on a Redis Cluster of three
// masters: the scripts' keys share one slot, and an announcement reaches
// a subscriber connected to another master.
func TestConformanceOnCluster(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, redisserver.ClusterOptions{Masters: 3})
	revocationtest.RunConformanceTests(t, func(t *testing.T) func() revocationtest.Store {
		p := prefix(t)
		return func() revocationtest.Store {
			client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1]})
			t.Cleanup(func() { _ = client.Close() })
			return redisrevocation.New(client, p, nil)
		}
	})
}
