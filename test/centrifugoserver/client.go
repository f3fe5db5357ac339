package centrifugoserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// ErrRefused is matched (errors.Is) by every *RefusedError.
var ErrRefused = errors.New("centrifugo refused")

// RefusedError is the server's refusal of a connection or a subscription:
// the disconnect or error code it sent and its reason. Codes 3500 and up
// are terminal disconnects (3500 "invalid token"); codes below 1000 are
// command errors (103 "permission denied", 109 "token expired").
type RefusedError struct {
	// Op is "connect" or "subscribe".
	Op     string
	Code   uint32
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("centrifugo refused the %s: code %d: %s", e.Op, e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Client is a real Centrifugo client (centrifuge-go over the JSON
// protocol) that has connected.
type Client struct {
	// ClientID is the id the server gave the connection.
	ClientID string
	c        *centrifuge.Client

	// gone is closed when the server has disconnected the client for good
	// (as it does for an invalid subscription token), goneErr says why.
	gone     chan struct{}
	goneErr  *RefusedError
	goneOnce sync.Once
}

// Connect connects to the WebSocket endpoint wsURL with a connection token
// and returns once the server has accepted it. A refusal is a
// *RefusedError; if ctx ends first, its error is returned (with the last
// transport error seen, if any). Close the client when done. No error
// carries the token.
//
// A connect refused as an invalid token (3500) is tried twice more, a
// quarter second apart: Centrifugo fetches the JWKS when a token first
// needs it, within a fixed one-second timeout, and a fetch that a loaded
// machine makes late refuses a valid token without being cached. A token
// Centrifugo does not accept is refused all three times.
func Connect(ctx context.Context, wsURL, token string) (*Client, error) {
	for try := 1; ; try++ {
		c, err := connectOnce(ctx, wsURL, token)
		var refused *RefusedError
		if try == 3 || !errors.As(err, &refused) || refused.Code != codeInvalidToken {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// codeInvalidToken is the disconnect code of a connection token Centrifugo
// could not verify.
const codeInvalidToken = 3500

func connectOnce(ctx context.Context, wsURL, token string) (*Client, error) {
	c := centrifuge.NewJsonClient(wsURL, centrifuge.Config{Token: token, Name: "gatepass-test"})
	client := &Client{c: c, gone: make(chan struct{})}
	type outcome struct {
		id  string
		err error
	}
	done := make(chan outcome, 1)
	var once sync.Once
	finish := func(o outcome) { once.Do(func() { done <- o }) }
	var mu sync.Mutex
	var lastErr error
	c.OnConnected(func(e centrifuge.ConnectedEvent) { finish(outcome{id: e.ClientID}) })
	c.OnDisconnected(func(e centrifuge.DisconnectedEvent) {
		finish(outcome{err: &RefusedError{Op: "connect", Code: e.Code, Reason: e.Reason}})
		client.goneOnce.Do(func() {
			client.goneErr = &RefusedError{Op: "subscribe", Code: e.Code, Reason: e.Reason}
			close(client.gone)
		})
	})
	c.OnError(func(e centrifuge.ErrorEvent) {
		mu.Lock()
		lastErr = e.Error
		mu.Unlock()
	})
	if err := c.Connect(); err != nil {
		c.Close()
		return nil, fmt.Errorf("centrifugo connect: %w", err)
	}
	select {
	case o := <-done:
		if o.err != nil {
			c.Close()
			return nil, o.err
		}
		client.ClientID = o.id
		return client, nil
	case <-ctx.Done():
		c.Close()
		mu.Lock()
		defer mu.Unlock()
		if lastErr != nil {
			return nil, fmt.Errorf("centrifugo connect: %w (last error: %v)", ctx.Err(), redact(lastErr.Error(), token))
		}
		return nil, fmt.Errorf("centrifugo connect: %w", ctx.Err())
	}
}

// Close disconnects the client.
func (c *Client) Close() { c.c.Close() }

// Subscription is a client's subscription to one channel.
type Subscription struct {
	Channel string
	pubs    chan []byte
}

// Subscribe subscribes to channel with a subscription token (empty for
// none) and returns once the server has accepted it. A refusal is a
// *RefusedError: an error reply (103 permission denied for no token or one
// that does not verify, 109 token expired), or the disconnect of the whole
// client (3500 invalid token) that Centrifugo answers a verified token for
// another channel or user with, after which the client is unusable.
func (c *Client) Subscribe(ctx context.Context, channel, token string) (*Subscription, error) {
	sub, err := c.c.NewSubscription(channel, centrifuge.SubscriptionConfig{Token: token})
	if err != nil {
		return nil, fmt.Errorf("centrifugo subscribe %s: %w", channel, err)
	}
	s := &Subscription{Channel: channel, pubs: make(chan []byte, 16)}
	done := make(chan error, 1)
	var once sync.Once
	finish := func(err error) { once.Do(func() { done <- err }) }
	sub.OnSubscribed(func(centrifuge.SubscribedEvent) { finish(nil) })
	sub.OnError(func(e centrifuge.SubscriptionErrorEvent) {
		var serverErr *centrifuge.Error
		if errors.As(e.Error, &serverErr) && !serverErr.Temporary {
			finish(&RefusedError{Op: "subscribe", Code: serverErr.Code, Reason: serverErr.Message})
		}
	})
	sub.OnUnsubscribed(func(e centrifuge.UnsubscribedEvent) {
		finish(&RefusedError{Op: "subscribe", Code: e.Code, Reason: e.Reason})
	})
	sub.OnPublication(func(e centrifuge.PublicationEvent) {
		select {
		case s.pubs <- e.Data:
		default: // a test that does not read them does not block the client
		}
	})
	if err := sub.Subscribe(); err != nil {
		return nil, fmt.Errorf("centrifugo subscribe %s: %w", channel, err)
	}
	select {
	case err := <-done:
		if err != nil {
			_ = c.c.RemoveSubscription(sub)
			return nil, err
		}
		return s, nil
	case <-c.gone:
		return nil, c.goneErr
	case <-ctx.Done():
		_ = c.c.RemoveSubscription(sub)
		return nil, fmt.Errorf("centrifugo subscribe %s: %w", channel, ctx.Err())
	}
}

// Next waits for the next publication on the channel and returns its data
// (JSON).
func (s *Subscription) Next(ctx context.Context) ([]byte, error) {
	select {
	case data := <-s.pubs:
		return data, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("centrifugo: no publication on %s: %w", s.Channel, ctx.Err())
	}
}

func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}

// Disconnected waits until the server disconnects the client for good
// and returns its disconnect (code and reason); ctx's error if it does
// not first.
func (c *Client) Disconnected(ctx context.Context) (*RefusedError, error) {
	select {
	case <-c.gone:
		return c.goneErr, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("centrifugo: still connected: %w", ctx.Err())
	}
}

// State is the client's state: "connected", "connecting" (reconnecting
// by itself) or "disconnected" (for good).
func (c *Client) State() string { return string(c.c.State()) }
