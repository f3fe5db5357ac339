package bootstrap_test

import (
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/bootstrap"
)

func TestRedisTopology(t *testing.T) {
	const password = "redis-hunter2"
	tests := []struct {
		name         string
		env          map[string]string
		want         redislimit.Topology
		wantStore    string
		wantProblems []string
	}{
		{name: "none: memory", want: "", wantStore: "memory"},
		{name: "one node", env: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0"}, want: redislimit.TopologyNode, wantStore: "redis"},
		{name: "one node, password on its own", env: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_PASSWORD": password},
			want: redislimit.TopologyNode, wantStore: "redis"},
		{name: "one node, two passwords", env: map[string]string{"REDIS_URL": "redis://:a@127.0.0.1:6379/0", "REDIS_PASSWORD": password},
			wantProblems: []string{"REDIS_PASSWORD: is set, and REDIS_URL carries a password too"}},
		{name: "cluster", env: map[string]string{"REDIS_CLUSTER_ADDRS": "10.0.0.1:7000, 10.0.0.2:7000,10.0.0.3:7000", "REDIS_PASSWORD": password},
			want: redislimit.TopologyCluster, wantStore: "redis cluster"},
		{name: "cluster, bad address", env: map[string]string{"REDIS_CLUSTER_ADDRS": "10.0.0.1:7000,redis://10.0.0.2"},
			wantProblems: []string{"REDIS_CLUSTER_ADDRS: must be comma-separated host:port"}},
		{name: "sentinel", env: map[string]string{"REDIS_SENTINEL_ADDRS": "10.0.0.1:26379,10.0.0.2:26379", "REDIS_SENTINEL_MASTER": "gatepass"},
			want: redislimit.TopologySentinel, wantStore: "redis sentinel"},
		{name: "sentinel without master", env: map[string]string{"REDIS_SENTINEL_ADDRS": "10.0.0.1:26379"},
			wantProblems: []string{"REDIS_SENTINEL_MASTER: is required"}},
		{name: "master without sentinels", env: map[string]string{"REDIS_SENTINEL_MASTER": "gatepass"},
			wantProblems: []string{"REDIS_SENTINEL_MASTER: is set without REDIS_SENTINEL_ADDRS"}},
		{name: "two topologies", env: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_CLUSTER_ADDRS": "10.0.0.1:7000"},
			wantProblems: []string{"REDIS_URL and REDIS_CLUSTER_ADDRS: are all set; set exactly one Redis"}},
		{name: "three topologies", env: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_CLUSTER_ADDRS": "10.0.0.1:7000",
			"REDIS_SENTINEL_ADDRS": "10.0.0.1:26379", "REDIS_SENTINEL_MASTER": "m"},
			wantProblems: []string{"REDIS_URL and REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS: are all set"}},
		{name: "password without redis", env: map[string]string{"REDIS_PASSWORD": password},
			wantProblems: []string{"REDIS_PASSWORD: is set, but no Redis is"}},
		{name: "password with white space", env: map[string]string{"REDIS_CLUSTER_ADDRS": "10.0.0.1:7000", "REDIS_PASSWORD": password + " "},
			wantProblems: []string{"REDIS_PASSWORD: has white space"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := production(t)
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := bootstrap.Load(env)
			if len(tt.wantProblems) > 0 {
				if err == nil {
					t.Fatalf("Load succeeded; want %q", tt.wantProblems)
				}
				for _, w := range tt.wantProblems {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Load: %v; want %q", err, w)
					}
				}
				if strings.Contains(err.Error(), password) {
					t.Fatalf("the error quotes the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Redis.Topology() != tt.want || cfg.RateLimit.Store != tt.wantStore {
				t.Fatalf("topology %q, store %q; want %q, %q", cfg.Redis.Topology(), cfg.RateLimit.Store, tt.want, tt.wantStore)
			}
		})
	}
}

func TestRedisPasswordFile(t *testing.T) {
	env := production(t)
	env["REDIS_CLUSTER_ADDRS"] = "10.0.0.1:7000"
	env["REDIS_PASSWORD_FILE"] = writeFile(t, "from-a-file\n")
	cfg, err := bootstrap.Load(env)
	if err != nil || cfg.Redis.Topology() != redislimit.TopologyCluster {
		t.Fatalf("Load with REDIS_PASSWORD_FILE: %v, topology %q", err, cfg.Redis.Topology())
	}
	env["REDIS_PASSWORD"] = "from-the-environment"
	if _, err := bootstrap.Load(env); err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD: and REDIS_PASSWORD_FILE are both set") {
		t.Fatalf("Load with both: %v", err)
	}
	delete(env, "REDIS_CLUSTER_ADDRS")
	delete(env, "REDIS_PASSWORD")
	if _, err := bootstrap.Load(env); err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD_FILE: is set, but no Redis is") {
		t.Fatalf("Load with a password file and no Redis: %v", err)
	}
}
