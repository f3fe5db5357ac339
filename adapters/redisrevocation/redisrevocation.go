// Package redisrevocation keeps revocations in the Redis that shares the
// rate-limit budgets (one node, a cluster or a Sentinel master), so that
// every replica enforces them: a revocation is written with a version
// number in one script, announced on a channel, and read back by version,
// so a replica that missed an announcement catches up at its next poll.
// Every key shares one hash slot, so the scripts run on a cluster too.
// Handled identity provider events are remembered with SET NX; each
// revocation's fan-out is a hash of its transports' states, kept as long
// as the revocation.
package redisrevocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.RevocationStore = (*Store)(nil)
	_ domain.EventLedger     = (*Store)(nil)
	_ domain.FanoutStore     = (*Store)(nil)
)

// DefaultPrefix starts every key and the channel, so gatepass's data
// stands apart from other data in a shared Redis.
const DefaultPrefix = "gatepass:"

// ErrMalformed means the store answered something this package did not
// write.
var ErrMalformed = errors.New("malformed revocation store answer")

// Store is a revocation store and event ledger in Redis. It is safe for
// concurrent use.
type Store struct {
	client  redis.UniversalClient
	keys    []string // version counter, revocations by id, ids by version, ids by expiry
	channel string
	events  string
	fanout  string
	// grantKeys starts the keys of the sets of signed grants' keys.
	grantKeys string
	now       func() time.Time
}

// New returns a Store over client whose keys start with prefix (which
// must not hold "{" or "}"); now (nil: time.Now) decides which
// revocations have expired.
func New(client redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	base := prefix + "{revocations}:"
	return &Store{
		client:    client,
		keys:      []string{base + "version", base + "byid", base + "byversion", base + "byexpiry"},
		channel:   prefix + "revocations",
		events:    prefix + "event:",
		fanout:    base + "fanout:",
		grantKeys: prefix + "grantkeys:",
		now:       now,
	}
}

// record drops what has expired, then writes the revocation under the
// next version. An empty store's versions start at ARGV[5] (the time in
// milliseconds, times 1024), so that a Redis that restarted without its
// data still numbers new revocations past every version a replica saw
// before: a reader asking since an old version gets them all.
var record = redis.NewScript(`
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[4], 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
redis.call('SET', KEYS[1], ARGV[5], 'NX')
local v = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], v, ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return v
`)

// load answers the version, then every revocation written after ARGV[1]
// (every one when that is ahead of the store's version). Versions stay
// below 2^53, exact in Lua's numbers; ARGV[1] is used as given, never
// formatted back from a number.
var load = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
local out = {v}
if since == v then return out end
local from = '(' .. ARGV[1]
if since > v then from = '-inf' end
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], from, '+inf')
for i = 1, #ids, 500 do
  local vals = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 499, #ids)))
  for _, x in ipairs(vals) do
    if x then table.insert(out, x) end
  end
end
return out
`)

// revocation is a revocation as stored.
type revocation struct {
	ID               string    `json:"id"`
	UserID           string    `json:"user_id"`
	OrgID            string    `json:"org_id,omitempty"`
	AllOrganizations bool      `json:"all_organizations,omitempty"`
	SessionID        string    `json:"session_id,omitempty"`
	Reason           string    `json:"reason,omitempty"`
	Source           string    `json:"source,omitempty"`
	NotBefore        time.Time `json:"not_before"`
	ExpiresAt        time.Time `json:"expires_at"`
}

func fromRevocation(r domain.Revocation) revocation {
	return revocation{ID: r.ID, UserID: r.UserID, OrgID: r.OrgID, AllOrganizations: r.AllOrganizations, SessionID: r.SessionID,
		Reason: r.Reason, Source: string(r.Source), NotBefore: r.NotBefore, ExpiresAt: r.ExpiresAt}
}

func (r revocation) toRevocation() domain.Revocation {
	return domain.Revocation{ID: r.ID, RevocationRequest: domain.RevocationRequest{
		UserID: r.UserID, OrgID: r.OrgID, AllOrganizations: r.AllOrganizations, SessionID: r.SessionID,
		Reason: r.Reason, Source: domain.RevocationSource(r.Source),
	}, NotBefore: r.NotBefore, ExpiresAt: r.ExpiresAt}
}

// Record writes r and announces it. It returns nil once Redis holds it; an
// announcement that fails is caught up by the replicas' polls.
func (s *Store) Record(ctx context.Context, r domain.Revocation) error {
	b, err := json.Marshal(fromRevocation(r))
	if err != nil {
		return fmt.Errorf("encode revocation: %w", err)
	}
	ms := s.now().UnixMilli()
	now := strconv.FormatInt(ms, 10)
	exp := strconv.FormatInt(r.ExpiresAt.UnixMilli(), 10)
	base := strconv.FormatInt(ms*1024, 10)
	if err := record.Run(ctx, s.client, s.keys, r.ID, b, exp, now, base).Err(); err != nil {
		return fmt.Errorf("record revocation: %w", err)
	}
	_ = s.client.Publish(ctx, s.channel, r.ID).Err()
	return nil
}

// Load returns the revocations written after version since, still active.
func (s *Store) Load(ctx context.Context, since uint64) (domain.RevocationSnapshot, error) {
	raw, err := load.Run(ctx, s.client, s.keys[:3], strconv.FormatUint(since, 10)).Slice()
	if err != nil {
		return domain.RevocationSnapshot{}, fmt.Errorf("load revocations: %w", err)
	}
	if len(raw) == 0 {
		return domain.RevocationSnapshot{}, ErrMalformed
	}
	v, ok := raw[0].(int64)
	if !ok || v < 0 {
		return domain.RevocationSnapshot{}, ErrMalformed
	}
	out := domain.RevocationSnapshot{Version: uint64(v), Revocations: make([]domain.Revocation, 0, len(raw)-1)}
	now := s.now()
	for _, x := range raw[1:] {
		text, ok := x.(string)
		if !ok {
			return domain.RevocationSnapshot{}, ErrMalformed
		}
		var r revocation
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return domain.RevocationSnapshot{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if rev := r.toRevocation(); rev.Active(now) {
			out.Revocations = append(out.Revocations, rev)
		}
	}
	return out, nil
}

// Watch delivers a value for each announcement until ctx ends. The
// subscription is renewed by the client after a lost connection; what was
// announced meanwhile is caught up by polling.
func (s *Store) Watch(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	sub := s.client.Subscribe(ctx, s.channel)
	go func() {
		defer sub.Close()
		in := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default: // one is pending already
				}
			}
		}
	}()
	return out
}

// Claim records id for keep; false when it is held already.
func (s *Store) Claim(ctx context.Context, id string, keep time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, s.events+id, "1", keep).Result()
	if err != nil {
		return false, fmt.Errorf("claim event: %w", err)
	}
	return ok, nil
}

// Release forgets id.
func (s *Store) Release(ctx context.Context, id string) error {
	if err := s.client.Del(ctx, s.events+id).Err(); err != nil {
		return fmt.Errorf("release event: %w", err)
	}
	return nil
}

// eviction is a transport's eviction as stored.
type eviction struct {
	Status    string    `json:"status"`
	Count     int       `json:"count,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// SaveEviction records t's eviction of r in r's fan-out hash, which
// expires with r.
func (s *Store) SaveEviction(ctx context.Context, r domain.Revocation, t domain.Transport, e domain.Eviction) error {
	b, err := json.Marshal(eviction{Status: string(e.Status), Count: e.Count, ExpiresAt: e.ExpiresAt})
	if err != nil {
		return fmt.Errorf("encode eviction: %w", err)
	}
	key := s.fanout + r.ID
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, string(t), b)
		p.PExpireAt(ctx, key, r.ExpiresAt)
		return nil
	})
	if err != nil {
		return fmt.Errorf("save eviction: %w", err)
	}
	return nil
}

// Fanout is every eviction recorded for the revocation id.
func (s *Store) Fanout(ctx context.Context, id string) (domain.Fanout, error) {
	raw, err := s.client.HGetAll(ctx, s.fanout+id).Result()
	if err != nil {
		return nil, fmt.Errorf("load fan-out: %w", err)
	}
	out := make(domain.Fanout, len(raw))
	for t, text := range raw {
		var e eviction
		if err := json.Unmarshal([]byte(text), &e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		out[domain.Transport(t)] = domain.Eviction{Status: domain.EvictionStatus(e.Status), Count: e.Count, ExpiresAt: e.ExpiresAt}
	}
	return out, nil
}
