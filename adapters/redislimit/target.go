package redislimit

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topology is how the Redis that keeps the budgets is deployed.
type Topology string

// The topologies.
const (
	// TopologyNode is one Redis (REDIS_URL).
	TopologyNode Topology = "node"
	// TopologyCluster is a Redis Cluster reached through seed nodes
	// (REDIS_CLUSTER_ADDRS): each budget lives in the shard of its slot.
	TopologyCluster Topology = "cluster"
	// TopologySentinel is a master and its replicas watched by Sentinel
	// (REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_MASTER): the client follows the
	// master through a failover.
	TopologySentinel Topology = "sentinel"
)

// String returns the topology's name.
func (t Topology) String() string { return string(t) }

// ClusterReloadInterval bounds how stale a cluster client's map of slots
// to masters may grow while every call succeeds; a failed call reloads it
// at once.
const ClusterReloadInterval = 10 * time.Second

var (
	// ErrInvalidAddr means an address list is empty or holds an entry that
	// is not host:port.
	ErrInvalidAddr = errors.New("invalid redis address")
	// ErrNoMasterName means Sentinel addresses came without the name of
	// the master they watch.
	ErrNoMasterName = errors.New("sentinel master name is empty")
	// ErrTwoPasswords means a password was given both in REDIS_URL and on
	// its own.
	ErrTwoPasswords = errors.New("redis url carries a password and one is given on its own")
)

// Target is where the budgets are kept: a topology and its client options,
// parsed and checked once, so opening it cannot fail on a setting.
type Target struct {
	topology Topology
	node     *redis.Options          // TopologyNode
	multi    *redis.UniversalOptions // TopologyCluster, TopologySentinel
}

// Topology is the target's topology; "" for the zero Target.
func (t Target) Topology() Topology { return t.topology }

// NodeTarget is one Redis at rawURL, with ParseURL's options. password,
// when not empty, is used for a URL that carries none.
func NodeTarget(rawURL, password string) (Target, error) {
	opts, err := ParseURL(rawURL)
	if err != nil {
		return Target{}, err
	}
	if password != "" {
		if opts.Password != "" {
			return Target{}, ErrTwoPasswords
		}
		opts.Password = password
	}
	return Target{topology: TopologyNode, node: opts}, nil
}

// ClusterTarget is a Redis Cluster found through seed addresses (host:port;
// one live node is enough to learn the others), every node with password.
func ClusterTarget(addrs []string, password string) (Target, error) {
	seeds, err := checkAddrs(addrs)
	if err != nil {
		return Target{}, err
	}
	opts := universalOptions(seeds, password)
	// One seed is still a cluster, not a single node.
	opts.IsClusterMode = true
	return Target{topology: TopologyCluster, multi: opts}, nil
}

// SentinelTarget is the master named master, found through the Sentinels
// at addrs (host:port); password is the master's and its replicas', not
// the Sentinels' own.
func SentinelTarget(addrs []string, master, password string) (Target, error) {
	sentinels, err := checkAddrs(addrs)
	if err != nil {
		return Target{}, err
	}
	if strings.TrimSpace(master) == "" {
		return Target{}, ErrNoMasterName
	}
	opts := universalOptions(sentinels, password)
	opts.MasterName = master
	return Target{topology: TopologySentinel, multi: opts}, nil
}

// universalOptions applies the same bounds as ParseURL: a rate-limit
// check must fail within a fraction of a second, never hold the request.
func universalOptions(addrs []string, password string) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:                 addrs,
		Password:              password,
		DialTimeout:           DefaultDialTimeout,
		ReadTimeout:           DefaultReadTimeout,
		WriteTimeout:          DefaultWriteTimeout,
		PoolTimeout:           DefaultPoolTimeout,
		MaxRetries:            1,
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
	}
}

// checkAddrs trims each address and checks it is host:port with a port
// number; the error names the first bad entry (an address, never a secret).
func checkAddrs(addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%w %q: want host:port", ErrInvalidAddr, a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w %q: port must be 1-65535", ErrInvalidAddr, a)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the list is empty", ErrInvalidAddr)
	}
	return out, nil
}

// NewClient is a client of target with the same options Open uses, for
// other data gatepass shares through the same Redis (revocations). It
// does not dial.
func (t Target) NewClient() (redis.UniversalClient, error) {
	switch t.topology {
	case TopologyNode:
		return redis.NewClient(t.node), nil
	case TopologyCluster:
		opts := t.multi.Cluster()
		opts.ClusterStateReloadInterval = ClusterReloadInterval
		return redis.NewClusterClient(opts), nil
	case TopologySentinel:
		return redis.NewUniversalClient(t.multi), nil
	default:
		return nil, errors.New("redislimit: no target")
	}
}

// Open connects a Limiter with DefaultPrefix to target and returns it with
// a function that closes its connections. It does not dial: Ping tells
// whether Redis answers.
func Open(target Target) (*Limiter, func() error, error) {
	switch target.topology {
	case TopologyNode:
		client := redis.NewClient(target.node)
		return New(client, DefaultPrefix), client.Close, nil
	case TopologyCluster:
		opts := target.multi.Cluster()
		opts.ClusterStateReloadInterval = ClusterReloadInterval
		client := redis.NewClusterClient(opts)
		l := New(client, DefaultPrefix)
		// A dead master answers no MOVED, so nothing tells the client its
		// replica took over: a failed call asks for the slot map again
		// (at most one reload at a time; go-redis coalesces them).
		l.onFailure = client.ReloadState
		return l, client.Close, nil
	case TopologySentinel:
		// The failover client follows Sentinel's announcements and asks the
		// Sentinels again on every new connection.
		client := redis.NewUniversalClient(target.multi)
		return New(client, DefaultPrefix), client.Close, nil
	default:
		return nil, nil, errors.New("redislimit: no target")
	}
}
