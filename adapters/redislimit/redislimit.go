// Package redislimit is the domain.RateLimiter shared by every replica: the
// generic cell rate algorithm (GCRA) of github.com/go-redis/redis_rate, run
// as a Lua script inside Redis so concurrent replicas spend one budget per
// key. Time is Redis's own clock, so replicas' clocks need not agree. The
// Redis may be one node, a Redis Cluster or a master behind Sentinel
// (Target); on a cluster each budget's keys share one hash slot.
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.RateLimiter    = (*Limiter)(nil)
	_ domain.RateLimitNodes = (*clusterNodes)(nil)
)

// DefaultPrefix is the key prefix NewFromURL uses, so gatepass's counters
// stand apart from other data in a shared Redis.
const DefaultPrefix = "gatepass:"

// Timeouts ParseURL (and so NewFromURL) applies unless the URL sets its own (dial_timeout,
// read_timeout, write_timeout, pool_timeout, max_retries). A rate-limit
// check sits in front of every grant, so a dead or hung Redis must fail the
// check within a fraction of a second rather than hold the request.
const (
	DefaultDialTimeout  = 250 * time.Millisecond
	DefaultReadTimeout  = 250 * time.Millisecond
	DefaultWriteTimeout = 250 * time.Millisecond
	DefaultPoolTimeout  = 100 * time.Millisecond
)

var (
	// ErrInvalidLimit means a limit cannot be enforced: Rate, Period or
	// Burst is not positive, or Period/Rate is under a nanosecond.
	ErrInvalidLimit = domain.ErrInvalidLimit
	// ErrInvalidURL means a Redis URL could not be parsed.
	ErrInvalidURL = errors.New("invalid redis url")
)

// Limiter counts events in Redis. It is safe for concurrent use.
type Limiter struct {
	client  redis.UniversalClient
	limiter *redis_rate.Limiter
	prefix  string
	// onFailure, when set, is told of every failed call: a cluster client
	// reloads its slot map.
	onFailure func(context.Context)
	// nodes tells a cluster's masters apart; nil for one node.
	nodes *clusterNodes
}

// New returns a Limiter over client that keeps its counters under keys
// starting with prefix (after redis_rate's own "rate:"); the prefix must
// not hold "{" or "}", which would change the keys' hash slot. The client's
// timeouts bound each call; see NewFromURL for suitable ones. On a cluster
// client, Nodes tells the masters apart.
func New(client redis.UniversalClient, prefix string) *Limiter {
	l := &Limiter{client: client, limiter: redis_rate.NewLimiter(client), prefix: prefix}
	if c, ok := client.(*redis.ClusterClient); ok {
		l.nodes = &clusterNodes{client: c, storeKey: l.storeKey}
	}
	return l
}

// NewFromURL connects to the Redis at a URL such as
// redis://:password@127.0.0.1:6379/0 (rediss:// for TLS) with the options
// of ParseURL, and returns a Limiter using DefaultPrefix and a function
// that closes the connections. It does not dial: Ping tells whether Redis
// answers.
func NewFromURL(rawURL string) (*Limiter, func() error, error) {
	target, err := NodeTarget(rawURL, "")
	if err != nil {
		return nil, nil, err
	}
	return Open(target)
}

// ParseURL parses a Redis URL into client options with the Default
// timeouts, one retry and a single dial attempt, unless the URL's query
// sets them (dial_timeout, read_timeout, write_timeout, pool_timeout,
// max_retries). Errors never quote the URL's password.
func ParseURL(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("%w %s: %v", ErrInvalidURL, redact(rawURL), err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = DefaultPoolTimeout
	}
	if opts.MaxRetries == 0 {
		// One retry rides over a pooled connection that died with a
		// restarted Redis; more would only stretch an outage's latency.
		opts.MaxRetries = 1
	}
	// go-redis dials five times, 100ms apart, per connection by default;
	// against a dead Redis that alone would hold a request half a second.
	opts.DialerRetries = 1
	// Let a request's deadline cut a slow call short too.
	opts.ContextTimeoutEnabled = true
	return opts, nil
}

// Allow counts one event for key against limit. A refused event costs
// nothing. Any failure to reach Redis wraps domain.ErrLimiterUnavailable.
func (l *Limiter) Allow(ctx context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	interval, burstOffset, err := limit.GCRA()
	if err != nil {
		return domain.Decision{}, err
	}
	res, err := l.limiter.Allow(ctx, l.storeKey(key), redis_rate.Limit{
		Rate:   limit.Rate,
		Period: limit.Period,
		Burst:  limit.Burst,
	})
	if err != nil {
		l.failed()
		return domain.Decision{}, fmt.Errorf("%w: %w", domain.ErrLimiterUnavailable, err)
	}
	if res.Allowed == 0 {
		return domain.Decision{RetryAfter: retryAfter(res.RetryAfter)}, nil
	}
	return domain.Decision{Allowed: true, Remaining: remaining(res.ResetAfter, interval, burstOffset, limit.Burst)}, nil
}

// storeKey is where key's budget is kept: the whole key is the hash tag,
// so on a Redis Cluster every key of one budget (redis_rate's today, any a
// later script adds beside it) hashes to one slot, whatever the prefix,
// while different budgets spread over the shards. A "}" inside key only
// shortens the tag; the key as a whole stays distinct.
func (l *Limiter) storeKey(key string) string {
	return l.prefix + "{" + key + "}"
}

// Nodes tells apart the masters of a Redis Cluster, each named by its
// address (host:port, as the cluster announces it), so that one failing
// master fails only the budgets it holds; nil unless the limiter is on a
// cluster. A Sentinel master, or one Redis, fails as one.
func (l *Limiter) Nodes() domain.RateLimitNodes {
	if l.nodes == nil {
		return nil
	}
	return l.nodes
}

// clusterNodes names the masters of a cluster client as its slot map has
// them.
type clusterNodes struct {
	client *redis.ClusterClient
	// storeKey is where the limiter keeps a budget.
	storeKey func(string) string
}

// Nodes are the masters that serve slots now: the client asks the cluster
// for its slot map again (the one it had, if no node answers that).
func (n *clusterNodes) Nodes(ctx context.Context) ([]string, error) {
	var (
		mu    sync.Mutex
		addrs []string
	)
	err := n.client.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		addrs = append(addrs, c.Options().Addr)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: cluster slot map: %w", domain.ErrLimiterUnavailable, err)
	}
	slices.Sort(addrs)
	return addrs, nil
}

// NodeOf is the master the client's slot map sends key's budget to; ""
// when the client has no slot map and cannot load one.
func (n *clusterNodes) NodeOf(ctx context.Context, key string) string {
	c, err := n.client.MasterForKey(ctx, n.storeKey(key))
	if err != nil {
		return ""
	}
	return c.Options().Addr
}

// Ping reports whether Redis answers, for a readiness check. A failure
// wraps domain.ErrLimiterUnavailable.
func (l *Limiter) Ping(ctx context.Context) error {
	if err := l.client.Ping(ctx).Err(); err != nil {
		l.failed()
		return fmt.Errorf("%w: %w", domain.ErrLimiterUnavailable, err)
	}
	return nil
}

func (l *Limiter) failed() {
	if l.onFailure != nil {
		// The request's context may be ending; the reload is the client's.
		l.onFailure(context.Background())
	}
}

// remaining recomputes the script's Remaining from its ResetAfter (how far
// the key's TAT lies ahead). The script truncates a float quotient, and
// float noise makes, say, a fresh key at 7/min burst 3 report 1 left, not
// 2. A microsecond of tolerance (Redis's clock resolution, well above the
// noise) restores the count the in-memory backend gives.
func remaining(resetAfter, interval, burstOffset time.Duration, burst int) int {
	n := int((burstOffset - resetAfter + time.Microsecond) / interval)
	return min(max(n, 0), burst-1)
}

// retryAfter turns the script's wait, computed in floating-point seconds
// on Redis's microsecond clock, into one rounded up to the millisecond:
// rounding to the microsecond first drops float noise that would otherwise
// add a millisecond.
func retryAfter(d time.Duration) time.Duration {
	us := time.Duration(math.Round(float64(d) / float64(time.Microsecond)))
	ms := (us*time.Microsecond + time.Millisecond - 1) / time.Millisecond * time.Millisecond
	return max(ms, time.Millisecond) // refused means a wait, however short
}

// redact hides a URL's password for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// slogLogging routes go-redis's own log lines (failed dials, pool
// trouble) into the service's structured log at debug level; the limiter's
// callers already see every failure as ErrLimiterUnavailable.
type slogLogging struct{ l *slog.Logger }

func (s slogLogging) Printf(ctx context.Context, format string, v ...any) {
	s.l.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// RouteClientLogs sends go-redis's process-wide log output to l.
func RouteClientLogs(l *slog.Logger) { redis.SetLogger(slogLogging{l: l}) }
