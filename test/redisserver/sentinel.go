package redisserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// SentinelMaster is the name the Sentinels of StartSentinel know the
// master by (REDIS_SENTINEL_MASTER).
const SentinelMaster = "gatepass"

// SentinelDownAfter is how long a master may be silent before a Sentinel
// deems it down: short, so a failover takes seconds.
const SentinelDownAfter = time.Second

// Sentinel is a master with replicas, watched by Sentinels, all on
// loopback. Its methods call t.Fatal, so call them from the test's
// goroutine.
type Sentinel struct {
	t testing.TB
	// Data are the master (first, at start) and its replicas; which one is
	// the master changes with failovers (Master).
	Data []*Server
	// Sentinels are the Sentinel processes.
	Sentinels []*Server
}

// SentinelOptions shape a Sentinel set-up.
type SentinelOptions struct {
	Replicas  int
	Sentinels int
	// Password, when set, is required by the master and replicas (the
	// Sentinels themselves ask none) and given to the Sentinels.
	Password string
}

// StartSentinel starts a master, its replicas and Sentinels watching it
// under SentinelMaster with a quorum of a majority, and returns once every
// replica is in sync and every Sentinel knows the replicas and the other
// Sentinels. Everything stops when the test ends.
func StartSentinel(t testing.TB, o SentinelOptions) *Sentinel {
	t.Helper()
	s := &Sentinel{t: t}
	master := start(t, func(m *Server) []string { return append(plainArgs(m), authArgs(o.Password)...) }, nil, o.Password)
	s.Data = append(s.Data, master)
	for range o.Replicas {
		s.Data = append(s.Data, start(t, func(r *Server) []string {
			return append(plainArgs(r), append(authArgs(o.Password), "--replicaof", "127.0.0.1", strconv.Itoa(master.port))...)
		}, nil, o.Password))
	}
	replicas, sentinels := o.Replicas, o.Sentinels
	quorum := sentinels/2 + 1
	for range sentinels {
		s.Sentinels = append(s.Sentinels, start(t, func(sn *Server) []string {
			// Sentinel rewrites its configuration file with what it learns,
			// so it gets a file of its own, written once.
			conf := filepath.Join(sn.dir, "sentinel.conf")
			if _, err := os.Stat(conf); err != nil {
				text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d %d\n"+
					"sentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s 10000\n",
					sn.port, sn.dir, SentinelMaster, master.port, quorum,
					SentinelMaster, SentinelDownAfter/time.Millisecond, SentinelMaster)
				if o.Password != "" {
					text += fmt.Sprintf("sentinel auth-pass %s %s\n", SentinelMaster, o.Password)
				}
				if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
					sn.t.Fatalf("redisserver: write %s: %v", conf, err)
				}
			}
			return []string{conf, "--sentinel"}
		}, nil, ""))
	}
	if err := waitFor(20*time.Second, func() error { return s.ready(replicas, sentinels) }); err != nil {
		t.Fatalf("redisserver: sentinel set-up not ready: %v", err)
	}
	return s
}

// Addrs are the Sentinels' host:port, as REDIS_SENTINEL_ADDRS lists them.
func (s *Sentinel) Addrs() []string {
	return addrsOf(s.Sentinels)
}

// Master is the data server the Sentinels name as master now.
func (s *Sentinel) Master() *Server {
	s.t.Helper()
	addr, err := s.masterAddr()
	if err != nil {
		s.t.Fatalf("redisserver: %v", err)
	}
	for _, d := range s.Data {
		if d.Addr() == addr {
			return d
		}
	}
	s.t.Fatalf("redisserver: the Sentinels name %s, which is none of the data servers", addr)
	return nil
}

// Failover asks a Sentinel to promote a replica at once (SENTINEL
// FAILOVER), as an operator would before maintenance.
func (s *Sentinel) Failover() {
	s.t.Helper()
	if err := s.Sentinels[0].Client().Do(context.Background(), "SENTINEL", "FAILOVER", SentinelMaster).Err(); err != nil {
		s.t.Fatalf("redisserver: SENTINEL FAILOVER: %v", err)
	}
}

// WaitFailover waits, up to timeout, until every Sentinel names a running
// master other than old and that server says it is a master.
func (s *Sentinel) WaitFailover(old *Server, timeout time.Duration) *Server {
	s.t.Helper()
	var next *Server
	err := waitFor(timeout, func() error {
		for _, sn := range s.Sentinels {
			addr, err := sentinelMasterAddr(sn)
			if err != nil {
				return err
			}
			if addr == old.Addr() {
				return fmt.Errorf("%s still names %s", sn.Addr(), addr)
			}
			next = nil
			for _, d := range s.Data {
				if d.Addr() == addr && d.Running() && d.role() == "master" {
					next = d
				}
			}
			if next == nil {
				return fmt.Errorf("%s names %s, which is not a running master yet", sn.Addr(), addr)
			}
		}
		return nil
	})
	if err != nil {
		s.t.Fatalf("redisserver: no failover from %s within %s: %v", old.Addr(), timeout, err)
	}
	return next
}

func (s *Sentinel) masterAddr() (string, error) {
	var last error
	for _, sn := range s.Sentinels {
		if !sn.Running() {
			continue
		}
		addr, err := sentinelMasterAddr(sn)
		if err == nil {
			return addr, nil
		}
		last = err
	}
	return "", fmt.Errorf("no Sentinel names the master: %v", last)
}

// ready checks the replicas are in sync and every Sentinel knows them and
// the other Sentinels, so a failover can start at once.
func (s *Sentinel) ready(replicas, sentinels int) error {
	ctx := context.Background()
	for _, d := range s.Data[1:] {
		repl, err := d.Client().Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if infoField(repl, "master_link_status") != "up" {
			return fmt.Errorf("replica %s not in sync", d.Addr())
		}
	}
	for _, sn := range s.Sentinels {
		m, err := sn.Client().Do(ctx, "SENTINEL", "MASTER", SentinelMaster).Result()
		if err != nil {
			return err
		}
		fields := sentinelFields(m)
		if fields["num-slaves"] != strconv.Itoa(replicas) || fields["num-other-sentinels"] != strconv.Itoa(sentinels-1) {
			return fmt.Errorf("sentinel %s knows %s replicas and %s other sentinels", sn.Addr(), fields["num-slaves"], fields["num-other-sentinels"])
		}
	}
	return nil
}

// sentinelMasterAddr asks one Sentinel where the master is.
func sentinelMasterAddr(sn *Server) (string, error) {
	hp, err := sn.Client().Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster).StringSlice()
	if err != nil || len(hp) != 2 {
		return "", fmt.Errorf("sentinel %s: master address %v: %v", sn.Addr(), hp, err)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// sentinelFields reads SENTINEL MASTER's answer, a flat list of names and
// values under RESP2, a map under RESP3.
func sentinelFields(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case []any:
		for i := 0; i+1 < len(m); i += 2 {
			out[fmt.Sprint(m[i])] = fmt.Sprint(m[i+1])
		}
	case map[any]any:
		for k, val := range m {
			out[fmt.Sprint(k)] = fmt.Sprint(val)
		}
	}
	return out
}

// waitFor polls check until it returns nil or timeout passes, and returns
// its last error.
func waitFor(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
