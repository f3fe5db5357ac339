package redisserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterNodeTimeout is how long a cluster master may be unreachable
// before the others mark it failed and promote its replica: short, so a
// failover takes a couple of seconds, not the default's fifteen.
const ClusterNodeTimeout = time.Second

// clusterSlots is the number of hash slots of every Redis Cluster.
const clusterSlots = 16384

// Cluster is a Redis Cluster of Servers on loopback, each on its own port
// and cluster-bus port: masters with their replicas, made by redis-cli
// --cluster create as an operator would. Its methods call t.Fatal, so call
// them from the test's goroutine.
type Cluster struct {
	t testing.TB
	// Nodes are every server of the cluster; which are masters changes
	// with failovers (Masters).
	Nodes []*Server
}

// ClusterOptions shape a Cluster.
type ClusterOptions struct {
	Masters           int
	ReplicasPerMaster int
	// Password, when set, is required by every node (requirepass) and used
	// between them (masterauth).
	Password string
}

// StartCluster starts Masters*(1+ReplicasPerMaster) cluster-enabled
// servers, joins them into one cluster with redis-cli, and returns once
// every slot is served, every node agrees the cluster is ok and every
// replica is in sync with its master. Everything stops when the test ends.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	cli := lookPath(t, "redis-cli")
	c := &Cluster{t: t}
	for range o.Masters * (1 + o.ReplicasPerMaster) {
		var bus int
		node := start(t, func(s *Server) []string {
			return append(plainArgs(s), append(authArgs(o.Password),
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.Itoa(int(ClusterNodeTimeout/time.Millisecond)),
				"--cluster-port", strconv.Itoa(bus),
			)...)
		}, func() (err error) {
			bus, err = freePort()
			return err
		}, o.Password)
		c.Nodes = append(c.Nodes, node)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(o.ReplicasPerMaster), "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	if o.Password != "" {
		// Through the environment, not -a, so no process listing shows it.
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+o.Password)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("redisserver: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitHealthy(20*time.Second, nil); err != nil {
		t.Fatalf("redisserver: cluster not healthy after create: %v", err)
	}
	return c
}

// Addrs are every node's host:port, as REDIS_CLUSTER_ADDRS lists them.
func (c *Cluster) Addrs() []string {
	return addrsOf(c.Nodes)
}

// Masters are the running nodes that are masters now.
func (c *Cluster) Masters() []*Server {
	c.t.Helper()
	var out []*Server
	for _, n := range c.Nodes {
		if n.Running() && n.role() == "master" {
			out = append(out, n)
		}
	}
	return out
}

// MasterHolding is the running master that holds a key matching pattern
// (a SCAN MATCH pattern); it fails the test unless exactly one does.
func (c *Cluster) MasterHolding(pattern string) *Server {
	c.t.Helper()
	var found []*Server
	for _, m := range c.Masters() {
		keys, _, err := m.Client().Scan(context.Background(), 0, pattern, 100_000).Result()
		if err != nil {
			c.t.Fatalf("redisserver: SCAN %s on %s: %v", pattern, m.Addr(), err)
		}
		if len(keys) > 0 {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("redisserver: %d masters hold a key matching %q, want 1", len(found), pattern)
	}
	return found[0]
}

// Keys are the keys matching pattern on every running master.
func (c *Cluster) Keys(pattern string) []string {
	c.t.Helper()
	var out []string
	for _, m := range c.Masters() {
		keys, _, err := m.Client().Scan(context.Background(), 0, pattern, 100_000).Result()
		if err != nil {
			c.t.Fatalf("redisserver: SCAN %s on %s: %v", pattern, m.Addr(), err)
		}
		out = append(out, keys...)
	}
	return out
}

// KeySlot is the hash slot of key, as the cluster computes it (CLUSTER
// KEYSLOT).
func (c *Cluster) KeySlot(key string) int {
	c.t.Helper()
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		slot, err := n.Client().ClusterKeySlot(context.Background(), key).Result()
		if err != nil {
			c.t.Fatalf("redisserver: CLUSTER KEYSLOT on %s: %v", n.Addr(), err)
		}
		return int(slot)
	}
	c.t.Fatal("redisserver: no cluster node is running")
	return 0
}

// WaitFailover waits, up to timeout, until the stopped master gone no
// longer serves any slot: its replica has been promoted, every running
// node says the cluster is ok and sees every slot served.
func (c *Cluster) WaitFailover(gone *Server, timeout time.Duration) {
	c.t.Helper()
	if err := c.waitHealthy(timeout, gone); err != nil {
		c.t.Fatalf("redisserver: no failover from %s within %s: %v", gone.Addr(), timeout, err)
	}
}

// waitHealthy polls until the cluster is healthy: every running node says
// cluster_state:ok and maps all slots to running masters other than gone,
// and every running replica whose master runs is linked to it.
func (c *Cluster) waitHealthy(timeout time.Duration, gone *Server) error {
	return waitFor(timeout, func() error { return c.healthy(gone) })
}

func (c *Cluster) healthy(gone *Server) error {
	ctx := context.Background()
	running := map[string]bool{}
	for _, n := range c.Nodes {
		running[n.Addr()] = n.Running()
	}
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		info, err := n.Client().ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("CLUSTER INFO on %s: %w", n.Addr(), err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster state is not ok", n.Addr())
		}
		ranges, err := n.Client().ClusterSlots(ctx).Result()
		if err != nil {
			return fmt.Errorf("CLUSTER SLOTS on %s: %w", n.Addr(), err)
		}
		covered := 0
		for _, r := range ranges {
			if len(r.Nodes) == 0 {
				return fmt.Errorf("%s: slots %d-%d have no node", n.Addr(), r.Start, r.End)
			}
			master := r.Nodes[0].Addr
			if !running[master] || (gone != nil && master == gone.Addr()) {
				return fmt.Errorf("%s: slots %d-%d still on %s", n.Addr(), r.Start, r.End, master)
			}
			covered += int(r.End-r.Start) + 1
		}
		if covered != clusterSlots {
			return fmt.Errorf("%s: %d of %d slots served", n.Addr(), covered, clusterSlots)
		}
		if n.role() == "slave" {
			repl, err := n.Client().Info(ctx, "replication").Result()
			if err != nil {
				return fmt.Errorf("INFO replication on %s: %w", n.Addr(), err)
			}
			if master := infoField(repl, "master_host") + ":" + infoField(repl, "master_port"); running[master] &&
				infoField(repl, "master_link_status") != "up" {
				return fmt.Errorf("%s: replica not linked to %s", n.Addr(), master)
			}
		}
	}
	return nil
}

// authArgs make a server require password and use it towards its master.
func authArgs(password string) []string {
	if password == "" {
		return nil
	}
	return []string{"--requirepass", password, "--masterauth", password}
}

// role is the server's replication role: master or slave ("" if it does
// not answer).
func (s *Server) role() string {
	v, err := s.Client().Do(context.Background(), "ROLE").Slice()
	if err != nil || len(v) == 0 {
		return ""
	}
	r, _ := v[0].(string)
	return r
}

// infoField is one field of an INFO answer.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// WaitReplicated waits until master's replica has every write so far
// (WAIT), so a failover loses none of it.
func (c *Cluster) WaitReplicated(master *Server) {
	c.t.Helper()
	n, err := master.Client().Do(context.Background(), "WAIT", 1, 2000).Int()
	if err != nil || n < 1 {
		c.t.Fatalf("redisserver: WAIT on %s: %d replicas, %v", master.Addr(), n, err)
	}
}

// addrsOf is the host:port of each server.
func addrsOf(servers []*Server) []string {
	out := make([]string, len(servers))
	for i, n := range servers {
		out[i] = n.Addr()
	}
	return out
}
