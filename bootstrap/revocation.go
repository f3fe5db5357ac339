package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gatepass/gatepass/adapters/memoryrevocation"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/redisrevocation"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// revocationEnv is how long revocations last and who may record them:
// the admin API's token and the WorkOS webhook's secret, each enabling
// its door.
type revocationEnv struct {
	Retention     time.Duration `env:"REVOCATION_RETENTION" envDefault:"24h"`
	AdminAPIToken secret        `env:"ADMIN_API_TOKEN"`
	WorkOSSecret  secret        `env:"WORKOS_WEBHOOK_SECRET"`
	// AdminURL is where `gatepass revoke` reaches the admin API; the
	// server does not read it.
	AdminURL string `env:"GATEPASS_ADMIN_URL"`
}

// MinAdminTokenBytes is the shortest ADMIN_API_TOKEN accepted.
const MinAdminTokenBytes = 32

// RevocationConfig is how long revocations last and who may record them.
type RevocationConfig struct {
	Retention time.Duration
	// AdminToken is the admin API's bearer token; nil leaves the admin
	// API off (404).
	AdminToken []byte
	// WorkOSSecret verifies the WorkOS webhook's signatures; nil leaves
	// the webhook off (404).
	WorkOSSecret []byte
}

// revocationFrom reads the revocations' settings. The retention must
// outlast every grant: a revocation forgotten while a grant issued
// before it is alive would let its holder get another.
func revocationFrom(e environment, p *problems) RevocationConfig {
	r := e.Revocation
	c := RevocationConfig{Retention: r.Retention}
	if longest, name := longestGrantTTL(e); r.Retention < longest {
		p.add("REVOCATION_RETENTION", "must be at least the longest grant TTL (%s=%s); set it to the identity provider's token lifetime plus that", name, longest)
	}
	if r.AdminAPIToken.Set() {
		if len(r.AdminAPIToken.value) < MinAdminTokenBytes {
			p.add(r.AdminAPIToken.source("ADMIN_API_TOKEN"), "must be at least %d bytes", MinAdminTokenBytes)
		}
		c.AdminToken = []byte(r.AdminAPIToken.value)
	}
	if r.WorkOSSecret.Set() {
		c.WorkOSSecret = []byte(r.WorkOSSecret.value)
	}
	return c
}

// longestGrantTTL is the longest of the declared grant TTLs (every
// duration variable named ..._TTL, each transport's included) and its
// variable.
func longestGrantTTL(e environment) (time.Duration, string) {
	var longest time.Duration
	var name string
	walkEnv(reflect.ValueOf(&e).Elem(), "", func(n string, f reflect.Value, _ reflect.StructField) {
		if d, ok := f.Interface().(time.Duration); ok && strings.HasSuffix(n, "_TTL") && d > longest {
			longest, name = d, n
		}
	})
	return longest, name
}

// revocationStartWait bounds the first read of the revocation store at
// start; past it the replica starts unready and keeps trying.
const revocationStartWait = 2 * time.Second

// RevocationStores are the revocation store's roles: revocations, the
// ids of handled events, the fan-outs' states and the signed grants' keys
// the evictors look connections up by, in one store.
type RevocationStores struct {
	Revocations domain.RevocationStore
	Ledger      domain.EventLedger
	Fanout      domain.FanoutStore
	GrantKeys   domain.GrantKeyStore
}

// ProvideRevocationStores is the revocation store: the Redis that shares
// the budgets, or memory without one. The cleanup closes its connection.
func ProvideRevocationStores(cfg Config) (RevocationStores, func(), error) {
	if cfg.Redis.Topology() == "" {
		s := memoryrevocation.New(nil)
		return RevocationStores{Revocations: s, Ledger: s, Fanout: s, GrantKeys: s}, func() {}, nil
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return RevocationStores{}, nil, fmt.Errorf("redis %s: cannot be used for revocations", cfg.Redis.Topology())
	}
	s := redisrevocation.New(client, redisrevocation.DefaultPrefix, nil)
	return RevocationStores{Revocations: s, Ledger: s, Fanout: s, GrantKeys: s}, func() { _ = client.Close() }, nil
}

// ProvideRevocations is this replica's copy of the revocations, kept in
// stores, read once before the replica serves and kept current until the
// cleanup.
func ProvideRevocations(ctx context.Context, cfg Config, stores RevocationStores, metrics *prom.Metrics, logger *slog.Logger) (*application.Revocations, func(), error) {
	policy := application.RevocationPolicy{Retention: cfg.Revocation.Retention}
	rev := application.NewRevocations(stores.Revocations, stores.Ledger, systemClock, randomIDs, policy)
	first, cancelFirst := context.WithTimeout(ctx, revocationStartWait)
	if err := rev.Sync(first, true); err != nil {
		logger.WarnContext(ctx, "revocations not loaded; not ready until they are", "error", err)
	}
	cancelFirst()
	metrics.Revocations(rev.Count, rev.SyncAge)

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last time.Time
		rev.Run(runCtx, func(err error) {
			// A Redis that is down fails every poll: say so now and then.
			if time.Since(last) >= 30*time.Second {
				last = time.Now()
				logger.WarnContext(runCtx, "revocation sync failed; enforcing the revocations known", "error", err)
			}
		})
	}()
	return rev, func() {
		stop()
		wg.Wait()
	}, nil
}

// AdminClient is what `gatepass revoke` needs to call the admin API.
type AdminClient struct {
	// URL is the admin listener's base URL (GATEPASS_ADMIN_URL).
	URL string
	// Token is the admin API's token (ADMIN_API_TOKEN_FILE, or
	// ADMIN_API_TOKEN).
	Token []byte
}

// LoadAdminClient reads GATEPASS_ADMIN_URL and the admin API token from
// environ (nil: the process environment), under the same rules as the
// server's settings; nothing else of the environment is read.
func LoadAdminClient(environ map[string]string) (AdminClient, error) {
	if environ == nil {
		environ = processEnvironment()
	}
	own := map[string]string{}
	for _, name := range []string{"GATEPASS_ADMIN_URL", "ADMIN_API_TOKEN", "ADMIN_API_TOKEN" + fileSuffix} {
		if v, ok := environ[name]; ok {
			own[name] = v
		}
	}
	var p problems
	e := parseEnvironment(own, &p)
	c := AdminClient{URL: strings.TrimSuffix(e.Revocation.AdminURL, "/"), Token: []byte(e.Revocation.AdminAPIToken.value)}
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("GATEPASS_ADMIN_URL", "must be the admin listener's http:// or https:// URL, such as http://127.0.0.1:9090 (kubectl port-forward)")
	}
	if len(c.Token) == 0 && !p.has("ADMIN_API_TOKEN") && !p.has("ADMIN_API_TOKEN_FILE") {
		p.add("ADMIN_API_TOKEN_FILE", "is required: the file holding the admin API token")
	}
	if err := p.err(); err != nil {
		return AdminClient{}, err
	}
	return c, nil
}
