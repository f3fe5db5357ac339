// Package centrifugoapi evicts a revoked user from Centrifugo through its
// server HTTP API: the disconnect method, for the user, with code 3503
// (force disconnect, which Centrifugo's clients treat as final, so they
// do not reconnect by themselves). The open-source server disconnects by
// user only: an organization-scoped revocation closes the user's
// connections for every organization, and the clients reconnect through
// gatepass where they are not revoked.
package centrifugoapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.Evictor = (*Evictor)(nil)

// DisconnectCode is Centrifugo's force-disconnect code: terminal, the
// client does not reconnect.
const DisconnectCode = 3503

// DisconnectReason is the reason sent with the disconnect.
const DisconnectReason = "revoked"

var (
	// ErrRefused means the server API answered with an error.
	ErrRefused = errors.New("centrifugo server API refused the disconnect")
	// ErrUnauthorized means the server API refused the API key.
	ErrUnauthorized = errors.New("centrifugo server API refused the API key")
)

// replyBytes bounds the server API's answer read.
const replyBytes = 64 << 10

// Evictor disconnects revoked users through Centrifugo's server API.
type Evictor struct {
	url    string
	key    string
	client *http.Client
}

// New returns an Evictor calling the server API at apiURL (its base,
// including /api) with key sent as X-API-Key; client nil is one with a
// 5 s timeout.
func New(apiURL, key string, client *http.Client) *Evictor {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Evictor{url: strings.TrimSuffix(apiURL, "/") + "/disconnect", key: key, client: client}
}

// Transport is Centrifugo.
func (*Evictor) Transport() domain.Transport { return domain.TransportCentrifugo }

type disconnectRequest struct {
	User       string     `json:"user"`
	Disconnect disconnect `json:"disconnect"`
}

type disconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

type reply struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Evict disconnects every connection of r's user. Centrifugo does not say
// how many there were.
func (e *Evictor) Evict(ctx context.Context, r domain.Revocation) (domain.Eviction, error) {
	body, err := json.Marshal(disconnectRequest{User: r.UserID, Disconnect: disconnect{Code: DisconnectCode, Reason: DisconnectReason}})
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("centrifugo disconnect: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("centrifugo disconnect: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", e.key)
	res, err := e.client.Do(req)
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("centrifugo disconnect: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, replyBytes))
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("centrifugo disconnect: read answer: %w", err)
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return domain.Eviction{}, ErrUnauthorized
	case res.StatusCode != http.StatusOK:
		return domain.Eviction{}, fmt.Errorf("%w: HTTP %d", ErrRefused, res.StatusCode)
	}
	// The API answers 200 with an error object when the command failed.
	var rep reply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return domain.Eviction{}, fmt.Errorf("centrifugo disconnect: decode answer: %w", err)
	}
	if rep.Error != nil {
		return domain.Eviction{}, fmt.Errorf("%w: error %d: %s", ErrRefused, rep.Error.Code, rep.Error.Message)
	}
	return domain.Eviction{Status: domain.EvictionDone, Count: domain.CountUnknown}, nil
}
