package domain

import (
	"context"
	"time"
)

//go:generate go tool mockgen -typed -destination=mocks/grantkeys.go -package=mocks . GrantKeyStore

// GrantKey is the public key a signed grant names, for whom, until when: a
// transport that knows its connections by key, not by user id, finds a
// revoked user's connections by these.
type GrantKey struct {
	UserID    string
	OrgID     string
	Key       string
	ExpiresAt time.Time
}

// MaxGrantKeysPerUser bounds the keys a store keeps for one user of one
// transport; past it the keys that expire first are dropped.
const MaxGrantKeysPerUser = 10000

// GrantKeyStore keeps the keys of the grants signed for a transport until
// they expire, where every replica reads them: the replica that evicts a
// revoked user finds the keys any replica signed.
type GrantKeyStore interface {
	// RecordGrantKey keeps k for transport t until k.ExpiresAt.
	RecordGrantKey(ctx context.Context, t Transport, k GrantKey) error
	// GrantKeys are the unexpired keys recorded for t and userID in
	// orgID, or in every organization when orgID is empty.
	GrantKeys(ctx context.Context, t Transport, userID, orgID string) ([]string, error)
}
