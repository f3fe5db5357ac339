package redisrevocation

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.GrantKeyStore = (*Store)(nil)

// A user's grant keys of one transport are one sorted set, its members
// "<key> <org>" (neither holds a space), scored by expiry in milliseconds;
// the set expires with its last key.

// recordKey drops the expired keys (score at or before ARGV[1]), adds
// ARGV[3] expiring at ARGV[2], keeps the ARGV[4] that expire last, and
// moves the set's expiry to its last key's.
var recordKey = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`)

func (s *Store) grantKeysOf(t domain.Transport, user string) string {
	return s.grantKeys + string(t) + ":" + user
}

// RecordGrantKey keeps k until it expires; a user's keys are bounded by
// domain.MaxGrantKeysPerUser, the first to expire dropped first.
func (s *Store) RecordGrantKey(ctx context.Context, t domain.Transport, k domain.GrantKey) error {
	now := s.now().UnixMilli()
	if k.ExpiresAt.UnixMilli() <= now {
		return nil
	}
	if strings.Contains(k.Key, " ") || strings.Contains(k.OrgID, " ") {
		return fmt.Errorf("record grant key: a key or organization holds a space")
	}
	err := recordKey.Run(ctx, s.client, []string{s.grantKeysOf(t, k.UserID)},
		now, k.ExpiresAt.UnixMilli(), k.Key+" "+k.OrgID, domain.MaxGrantKeysPerUser).Err()
	if err != nil {
		return fmt.Errorf("record grant key: %w", err)
	}
	return nil
}

// GrantKeys are the unexpired keys of userID for t, in orgID or every
// organization when it is empty.
func (s *Store) GrantKeys(ctx context.Context, t domain.Transport, userID, orgID string) ([]string, error) {
	members, err := s.client.ZRangeByScore(ctx, s.grantKeysOf(t, userID), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(s.now().UnixMilli(), 10), Max: "+inf",
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("load grant keys: %w", err)
	}
	var out []string
	for _, m := range members {
		key, org, ok := strings.Cut(m, " ")
		if !ok {
			return nil, ErrMalformed
		}
		if orgID == "" || org == orgID {
			out = append(out, key)
		}
	}
	return out, nil
}
