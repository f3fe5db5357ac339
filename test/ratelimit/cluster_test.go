package ratelimit_test

// gatepass replicas, served in process, on shared rate-limit budgets kept
// in a Redis Cluster and behind Sentinel, real redis-server processes on
// loopback: the budgets are one per user across replicas, and losing a
// Redis master follows RATE_LIMIT_FAILURE_MODE and heals without a
// restart.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

// burst is every user's office budget: burst grants, then one an hour.
const burst = 6

// failoverTimeout bounds a Redis failover: a second to notice, a couple to
// promote.
const failoverTimeout = 20 * time.Second

// recovery bounds gatepass's return to the shared store after a failover:
// it retries the store a second after a failure and reloads the slot map
// on the next failure.
const recovery = 15 * time.Second

// group is three gatepass replicas behind an imagined load balancer, on
// one configuration, and the identity provider they trust.
type group struct {
	idp      *kit.IdentityProvider
	replicas []*kit.Process
	round    int
}

func startGroup(t *testing.T, store, storeName string, over map[string]string) *group {
	t.Helper()
	g := &group{idp: kit.NewIdentityProvider(t)}
	_, keyPEM := kit.NewRSAKey(t, 2048)
	env := kit.ProductionEnv(g.idp, keyPEM, map[string]string{
		"RATE_LIMIT_OFFICE_RATE": "1", "RATE_LIMIT_OFFICE_PERIOD": "1h", "RATE_LIMIT_OFFICE_BURST": strconv.Itoa(burst),
		// Many servers share two cores here, gatepass under the race
		// detector: a call slowed past the default 100ms by the machine, not
		// by Redis, would read as an outage.
		"RATE_LIMIT_STORE_TIMEOUT": "1s",
	}, over)
	for i := range 3 {
		p := inproc.Serve(t, env)
		if status, body := kit.Ready(t, p.AdminURL); status != http.StatusOK || body.Checks["rate_limiter"].Detail != storeName {
			t.Fatalf("replica %d on %s: /readyz %d %+v, want ready on %q", i, store, status, body, storeName)
		}
		g.replicas = append(g.replicas, p)
	}
	return g
}

// token is a fresh access token for user.
func (g *group) token(t *testing.T, user string) string {
	return g.idp.Token(t, user, "org_1", "member", 10*time.Minute)
}

// office asks replica i for an office grant as token.
func (g *group) office(t *testing.T, i int, token string) kit.Response {
	return kit.Post(t, g.replicas[i%len(g.replicas)].URL+kit.OfficePath, kit.Bearer(token))
}

// storm sends n office requests for token round-robin over the replicas,
// all at once, and counts the statuses.
func (g *group) storm(t *testing.T, token string, n int) map[int]int {
	t.Helper()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := kit.Do(kit.Client, http.MethodPost, g.replicas[i%len(g.replicas)].URL+kit.OfficePath, kit.Bearer(token))
			if err != nil {
				statuses[i] = -1
				return
			}
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	out := map[int]int{}
	for _, s := range statuses {
		out[s]++
	}
	return out
}

// wantOneBudget spends a user's budget from every replica at once and
// wants exactly what is left of the one shared budget admitted.
func (g *group) wantOneBudget(t *testing.T, what, token string, left int) {
	t.Helper()
	got := g.storm(t, token, 4*burst)
	if got[http.StatusOK] != left || got[http.StatusTooManyRequests] != 4*burst-left {
		t.Fatalf("%s: statuses %v across %d replicas, want %d admitted and the rest 429: one budget\n%s", what, got, len(g.replicas), left, g.replicas[0].Logs()+g.replicas[1].Logs())
	}
}

// errorsCounted sums the replicas' failed store calls.
func (g *group) errorsCounted(t *testing.T) float64 {
	var sum float64
	for _, p := range g.replicas {
		sum += kit.Scrape(t, p.AdminURL+"/metrics").Sum("gatepass_rate_limiter_errors_total")
	}
	return sum
}

// ready reports whether every replica's /readyz answers status with detail
// for the rate limiter.
func (g *group) ready(t *testing.T, status int, detail string) bool {
	for _, p := range g.replicas {
		s, body := kit.Ready(t, p.AdminURL)
		if s != status || body.Checks["rate_limiter"].Detail != detail {
			return false
		}
	}
	return true
}

// passwordFile writes the Redis password as an operator's secret mount
// would: with a trailing newline.
func passwordFile(t *testing.T, password string) string {
	path := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clusterGroup starts a three-master cluster with a replica each, and
// three gatepass replicas on it failing as mode says.
func clusterGroup(t *testing.T, mode string) (*redisserver.Cluster, *group) {
	const password = "cluster-secret"
	c := redisserver.StartCluster(t, redisserver.ClusterOptions{Masters: 3, ReplicasPerMaster: 1, Password: password})
	g := startGroup(t, "cluster", "redis cluster", map[string]string{
		// Two seeds: either finds the rest.
		"REDIS_CLUSTER_ADDRS": strings.Join(c.Addrs()[:2], ","), "REDIS_PASSWORD_FILE": passwordFile(t, password),
		"RATE_LIMIT_FAILURE_MODE": mode,
	})
	return c, g
}

// userOn is a fresh user whose budget the cluster keeps on master, having
// spent one grant of it.
func userOn(t *testing.T, c *redisserver.Cluster, g *group, master *redisserver.Server) string {
	t.Helper()
	for range 64 {
		g.round++
		user := fmt.Sprintf("user_on_%d", g.round)
		token := g.token(t, user)
		kit.WantStatus(t, user+"'s first grant", g.office(t, g.round, token), http.StatusOK)
		if c.MasterHolding("*"+user+"}") == master {
			return token
		}
	}
	t.Fatalf("no user's budget landed on %s", master.Addr())
	return ""
}

func TestClusterSharesBudgetsAndFailsOpen(t *testing.T) {
	t.Parallel()
	c, g := clusterGroup(t, "open")

	masters := map[string]bool{}
	for i := range 6 {
		user := fmt.Sprintf("user_spread_%d", i)
		g.wantOneBudget(t, user, g.token(t, user), burst)
		masters[c.MasterHolding("*"+user+"}").Addr()] = true
	}
	if len(masters) < 2 {
		t.Fatalf("6 users' budgets are all on one master; the cluster is not sharded")
	}

	// Alice spends her whole budget; the master keeping it dies.
	alice := g.token(t, "user_alice")
	g.wantOneBudget(t, "alice", alice, burst)
	victim := c.MasterHolding("*user_alice}")
	c.WaitReplicated(victim)
	errorsBefore := g.errorsCounted(t)
	victim.Stop()
	killed := time.Now()

	// Failing open, every replica serves her from a budget of its own: a
	// 200 where the shared budget says 429 ...
	for i := range g.replicas {
		kit.WantStatus(t, fmt.Sprintf("alice on replica %d with her master dead", i), g.office(t, i, alice), http.StatusOK)
	}
	// ... and still counted: the replica's own budget runs out too.
	refused := false
	for range burst {
		if g.office(t, 0, alice).Status == http.StatusTooManyRequests {
			refused = true
			break
		}
	}
	if !refused {
		t.Fatalf("alice was never refused by replica 0 in %d more requests while her master was dead: limits vanished", burst)
	}
	if got := g.errorsCounted(t); got <= errorsBefore {
		t.Errorf("gatepass_rate_limiter_errors_total went from %v to %v with a master dead", errorsBefore, got)
	}

	c.WaitFailover(victim, failoverTimeout)
	t.Logf("replica promoted %s after the master died", time.Since(killed).Round(time.Millisecond))
	// Without a restart, every replica is back on the cluster, where her
	// budget, replicated before the crash, is spent.
	if !kit.Eventually(recovery, 200*time.Millisecond, func() bool {
		if !g.ready(t, http.StatusOK, "redis cluster") {
			return false
		}
		for i := range g.replicas {
			if g.office(t, i, alice).Status != http.StatusTooManyRequests {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("replicas not back on the cluster %s after the failover\n%s", recovery, g.replicas[0].Logs())
	}
	t.Logf("shared budgets again %s after the master died", time.Since(killed).Round(time.Millisecond))
	promoted := c.MasterHolding("*user_alice}")
	g.wantOneBudget(t, "a fresh user on the promoted master", userOn(t, c, g, promoted), burst-1)
}

func TestClusterFailsClosed(t *testing.T) {
	t.Parallel()
	c, g := clusterGroup(t, "closed")
	alice := g.token(t, "user_alice")
	kit.WantStatus(t, "alice before the crash", g.office(t, 0, alice), http.StatusOK)
	victim := c.MasterHolding("*user_alice}")
	c.WaitReplicated(victim)
	victim.Stop()
	killed := time.Now()

	for i := range g.replicas {
		kit.WantProblem(t, fmt.Sprintf("alice on replica %d with her master dead", i), g.office(t, i, alice),
			http.StatusServiceUnavailable, "rate_limiter_unavailable")
	}
	// Readiness with one master of three not answering is asserted in
	// TestClusterPausedMasterStallsOnlyItsUsers: a dead one is replaced
	// within seconds.

	c.WaitFailover(victim, failoverTimeout)
	// Answered by the store again: a grant, or a 429 once her budget is
	// spent by the polling, but no more 503.
	if !kit.Eventually(recovery, 200*time.Millisecond, func() bool {
		for i := range g.replicas {
			if g.office(t, i, alice).Status == http.StatusServiceUnavailable {
				return false
			}
		}
		return g.ready(t, http.StatusOK, "redis cluster")
	}) {
		t.Fatalf("still refusing %s after the failover\n%s", recovery, g.replicas[0].Logs())
	}
	t.Logf("serving again %s after the master died", time.Since(killed).Round(time.Millisecond))
	promoted := c.MasterHolding("*user_alice}")
	g.wantOneBudget(t, "a fresh user on the promoted master", userOn(t, c, g, promoted), burst-1)
}

// pauseFor is how long a master is paused (CLIENT PAUSE ... ALL): past
// what the checks made meanwhile need. A pause of all commands cannot be
// lifted early (CLIENT UNPAUSE waits behind it), so it runs out.
const pauseFor = 8 * time.Second

// everyReplica sends an office request for token to every replica at once
// and returns the answers, in replica order.
func (g *group) everyReplica(t *testing.T, token string) []kit.Response {
	t.Helper()
	out := make([]kit.Response, len(g.replicas))
	errs := make([]error, len(g.replicas))
	var wg sync.WaitGroup
	for i, p := range g.replicas {
		wg.Go(func() { out[i], errs[i] = kit.Do(kit.Client, http.MethodPost, p.URL+kit.OfficePath, kit.Bearer(token)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	return out
}

// readiness asks every replica's admin /readyz at once.
func (g *group) readiness(t *testing.T) ([]int, []kit.Readiness) {
	t.Helper()
	statuses := make([]int, len(g.replicas))
	bodies := make([]kit.Readiness, len(g.replicas))
	errs := make([]error, len(g.replicas))
	var wg sync.WaitGroup
	for i, p := range g.replicas {
		wg.Go(func() {
			r, err := kit.Do(kit.Client, http.MethodGet, p.AdminURL+"/readyz")
			statuses[i], errs[i] = r.Status, err
			if err == nil {
				errs[i] = json.Unmarshal(r.Body, &bodies[i])
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d /readyz: %v", i, err)
		}
	}
	return statuses, bodies
}

// TestClusterPausedMasterStallsOnlyItsUsers: a master that stops answering
// but keeps its slots (CLIENT PAUSE: nothing fails over) fails only the
// budgets it holds. Its users follow RATE_LIMIT_FAILURE_MODE; users on the
// other masters spend their shared budgets as usual, with no 503, even
// right after a request met the paused master on the same replica;
// readiness stays 200 and names the paused master; everyone is back on the
// cluster once it answers again, without a restart.
func TestClusterPausedMasterStallsOnlyItsUsers(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			c, g := clusterGroup(t, mode)
			masters := c.Masters()
			paused := masters[0]
			carol := userOn(t, c, g, paused)
			var others []string // a user on each healthy master
			for _, m := range masters[1:] {
				others = append(others, userOn(t, c, g, m))
			}

			pausedUntil := time.Now().Add(pauseFor)
			if err := paused.Client().Do(t.Context(), "CLIENT", "PAUSE", pauseFor.Milliseconds(), "ALL").Err(); err != nil {
				t.Fatal(err)
			}
			for round := range 3 {
				// Every replica meets the paused master (or still leaves it
				// alone after meeting it) ...
				for i, r := range g.everyReplica(t, carol) {
					what := fmt.Sprintf("round %d: carol, on the paused master, on replica %d", round, i)
					if mode == "closed" {
						kit.WantProblem(t, what, r, http.StatusServiceUnavailable, "rate_limiter_unavailable")
					} else {
						kit.WantStatus(t, what+", on the replica's own budget", r, http.StatusOK)
					}
				}
				// ... and right after, users on the other masters spend
				// their one shared budget there: no 503, no budget of the
				// replica's own.
				for j, token := range others {
					what := fmt.Sprintf("round %d: the user on healthy master %d", round, j)
					if round == 0 {
						g.wantOneBudget(t, what, token, burst-1)
						continue
					}
					for i, r := range g.everyReplica(t, token) {
						kit.WantStatus(t, fmt.Sprintf("%s on replica %d, budget spent", what, i), r, http.StatusTooManyRequests)
					}
				}
			}
			if mode == "open" {
				// Carol's budget on a replica runs out too: limited, never
				// unlimited.
				refused := false
				for range burst {
					if g.office(t, 0, carol).Status == http.StatusTooManyRequests {
						refused = true
						break
					}
				}
				if !refused {
					t.Fatalf("carol never refused by replica 0 in %d more requests while her master was paused", burst)
				}
			}
			// One master of three paused: every replica stays ready, and
			// the admin detail names that master and no other.
			statuses, bodies := g.readiness(t)
			for i, status := range statuses {
				detail := bodies[i].Checks["rate_limiter"].Detail
				if status != http.StatusOK || !strings.Contains(detail, "2 of 3 nodes answering") || !strings.Contains(detail, "failing: "+paused.Addr()) {
					t.Errorf("replica %d /readyz with one master paused: %d %q, want 200 naming %s", i, status, detail, paused.Addr())
				}
				for _, m := range masters[1:] {
					if strings.Contains(detail, m.Addr()) {
						t.Errorf("replica %d /readyz names the healthy master %s: %q", i, m.Addr(), detail)
					}
				}
			}
			if time.Now().After(pausedUntil) {
				t.Fatalf("the checks outlasted the %s pause: the machine is too slow for them to mean anything", pauseFor)
			}
			t.Logf("checks with the master paused took %s; readiness: %q", pauseFor-time.Until(pausedUntil).Round(time.Millisecond),
				bodies[0].Checks["rate_limiter"].Detail)

			// The pause runs out: every replica is back on the cluster, for
			// carol too, without a restart.
			if !kit.Eventually(time.Until(pausedUntil)+recovery, 200*time.Millisecond, func() bool {
				if !g.ready(t, http.StatusOK, "redis cluster") {
					return false
				}
				for i := range g.replicas {
					if g.office(t, i, carol).Status == http.StatusServiceUnavailable {
						return false
					}
				}
				return true
			}) {
				t.Fatalf("replicas not back on the cluster %s after the pause\n%s", recovery, g.replicas[0].Logs())
			}
			g.wantOneBudget(t, "a fresh user on the master that was paused", userOn(t, c, g, paused), burst-1)
			for i, r := range g.everyReplica(t, others[0]) {
				kit.WantStatus(t, fmt.Sprintf("the user on a healthy master, on replica %d after the pause", i), r, http.StatusTooManyRequests)
			}
			if mode == "closed" {
				wantNotReadyWithEveryMasterPaused(t, g, masters)
			}
		})
	}
}

// wantNotReadyWithEveryMasterPaused: only when no master answers is a
// replica failing closed not ready, and it is ready again by itself once
// they answer.
func wantNotReadyWithEveryMasterPaused(t *testing.T, g *group, masters []*redisserver.Server) {
	t.Helper()
	const pauseAll = 6 * time.Second
	until := time.Now().Add(pauseAll)
	for _, m := range masters {
		if err := m.Client().Do(t.Context(), "CLIENT", "PAUSE", pauseAll.Milliseconds(), "ALL").Err(); err != nil {
			t.Fatal(err)
		}
	}
	statuses, bodies := g.readiness(t)
	if time.Now().After(until) {
		t.Fatalf("readiness outlasted the %s pause of every master: the machine is too slow for it to mean anything", pauseAll)
	}
	for i, status := range statuses {
		if detail := bodies[i].Checks["rate_limiter"].Detail; status != http.StatusServiceUnavailable || !strings.Contains(detail, "failing") {
			t.Errorf("replica %d /readyz with every master paused: %d %q, want 503 failing closed", i, status, detail)
		}
	}
	if !kit.Eventually(time.Until(until)+recovery, 200*time.Millisecond, func() bool {
		return g.ready(t, http.StatusOK, "redis cluster")
	}) {
		t.Fatalf("replicas not ready %s after every master answered again\n%s", recovery, g.replicas[0].Logs())
	}
}

func TestSentinelSharesBudgetsThroughAFailover(t *testing.T) {
	t.Parallel()
	const password = "sentinel-secret"
	s := redisserver.StartSentinel(t, redisserver.SentinelOptions{Replicas: 1, Sentinels: 1, Password: password})
	g := startGroup(t, "sentinel", "redis sentinel", map[string]string{
		"REDIS_SENTINEL_ADDRS": strings.Join(s.Addrs(), ","), "REDIS_SENTINEL_MASTER": redisserver.SentinelMaster,
		"REDIS_PASSWORD": password, "RATE_LIMIT_FAILURE_MODE": "open",
	})
	alice := g.token(t, "user_alice")
	g.wantOneBudget(t, "alice", alice, burst)

	old := s.Master()
	if err := old.Client().Do(t.Context(), "WAIT", 1, 1000).Err(); err != nil {
		t.Fatal(err)
	}
	old.Stop()
	killed := time.Now()
	kit.WantStatus(t, "alice with the master dead, failing open", g.office(t, 0, alice), http.StatusOK)

	s.WaitFailover(old, failoverTimeout)
	t.Logf("Sentinel promoted the replica %s after the master died", time.Since(killed).Round(time.Millisecond))
	if !kit.Eventually(recovery, 200*time.Millisecond, func() bool {
		if !g.ready(t, http.StatusOK, "redis sentinel") {
			return false
		}
		for i := range g.replicas {
			if g.office(t, i, alice).Status != http.StatusTooManyRequests {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("replicas not back on the new master %s after the failover\n%s", recovery, g.replicas[0].Logs())
	}
	t.Logf("shared budgets again %s after the master died", time.Since(killed).Round(time.Millisecond))
	g.wantOneBudget(t, "bob after the failover", g.token(t, "user_bob"), burst)
}
