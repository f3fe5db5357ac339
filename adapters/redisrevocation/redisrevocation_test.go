package redisrevocation_test

import (
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/redislimit"
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
	target, err := redislimit.NodeTarget(srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	revocationtest.RunConformanceTests(t, func(t *testing.T) func() revocationtest.Store {
		p := prefix(t)
		// Each handle has a client of its own, as each replica has.
		return func() revocationtest.Store {
			client, err := target.NewClient()
			if err != nil {
				t.Fatal(err)
			}
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
	target, err := redislimit.ClusterTarget(c.Addrs()[:1], "")
	if err != nil {
		t.Fatal(err)
	}
	revocationtest.RunConformanceTests(t, func(t *testing.T) func() revocationtest.Store {
		p := prefix(t)
		return func() revocationtest.Store {
			client, err := target.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = client.Close() })
			return redisrevocation.New(client, p, nil)
		}
	})
}
