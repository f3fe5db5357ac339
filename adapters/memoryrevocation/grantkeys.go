package memoryrevocation

import (
	"context"
	"time"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.GrantKeyStore = (*Store)(nil)

// userKeys is where a user's grant keys of one transport are kept.
type userKeys struct {
	t    domain.Transport
	user string
}

// sweepEvery is how many keys are recorded between two sweeps of every
// user's expired keys.
const sweepEvery = 1024

// RecordGrantKey keeps k until it expires; a user's keys are bounded by
// domain.MaxGrantKeysPerUser, the first to expire dropped first.
func (s *Store) RecordGrantKey(ctx context.Context, t domain.Transport, k domain.GrantKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grantKeys == nil {
		s.grantKeys = map[userKeys][]domain.GrantKey{}
	}
	if s.recorded++; s.recorded%sweepEvery == 0 {
		// Users who are never signed for again still lose their expired keys.
		for id, keys := range s.grantKeys {
			s.setKeys(id, unexpired(keys, s.now()))
		}
	}
	id := userKeys{t: t, user: k.UserID}
	keys := unexpired(s.grantKeys[id], s.now())
	if !s.now().Before(k.ExpiresAt) {
		s.setKeys(id, keys)
		return nil
	}
	if len(keys) >= domain.MaxGrantKeysPerUser {
		first := 0
		for i, g := range keys {
			if g.ExpiresAt.Before(keys[first].ExpiresAt) {
				first = i
			}
		}
		keys = append(keys[:first], keys[first+1:]...)
	}
	s.setKeys(id, append(keys, k))
	return nil
}

// GrantKeys are the unexpired keys of userID for t, in orgID or every
// organization when it is empty.
func (s *Store) GrantKeys(ctx context.Context, t domain.Transport, userID, orgID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := userKeys{t: t, user: userID}
	keys := unexpired(s.grantKeys[id], s.now())
	s.setKeys(id, keys)
	var out []string
	for _, k := range keys {
		if orgID == "" || k.OrgID == orgID {
			out = append(out, k.Key)
		}
	}
	return out, nil
}

func (s *Store) setKeys(id userKeys, keys []domain.GrantKey) {
	if len(keys) == 0 {
		delete(s.grantKeys, id)
		return
	}
	s.grantKeys[id] = keys
}

// unexpired is keys without the expired ones, in place.
func unexpired(keys []domain.GrantKey, now time.Time) []domain.GrantKey {
	out := keys[:0]
	for _, k := range keys {
		if now.Before(k.ExpiresAt) {
			out = append(out, k)
		}
	}
	return out
}
