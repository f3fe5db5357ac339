// Command go-backend is a Go backend acting for a signed-in user: it
// trades the user's identity token for a gatepass grant through OAuth 2.0
// token exchange (RFC 8693, POST /oauth2/token) with net/http only, and
// prints the answer as JSON.
//
//	ACCESS_TOKEN=<the user's identity token> go run ./examples/go-backend -audience centrifugo
//
// It follows the rules of gatepass's clients: network errors, 429 and 503
// are retried (after Retry-After, at most 60 s), other 5xx after a
// backoff; invalid_grant means the user's access was revoked after the
// identity token was issued (the user must sign in again); any other
// refusal is final and never retried.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"
)

// The RFC 8693 names the exchange uses.
const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// maxRetryAfter caps how long a Retry-After makes the client wait.
const maxRetryAfter = 60 * time.Second

var (
	// ErrIdentityRevoked is gatepass's invalid_grant: access was revoked
	// after the identity token was issued. Only a new sign-in helps.
	ErrIdentityRevoked = errors.New("access was revoked after the identity token was issued: the user must sign in again")
	// ErrUnavailable means gatepass could not be reached, or kept
	// answering 429 or 5xx, through every retry.
	ErrUnavailable = errors.New("gatepass is unavailable")
)

// RefusedError is a final refusal: asking again gives the same answer.
type RefusedError struct {
	Status      int
	Code        string // the OAuth error: invalid_target, invalid_scope, invalid_request...
	Description string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("gatepass refused the exchange: %d %s: %s", e.Status, e.Code, e.Description)
}

// Grant is the exchange's answer: the token, its lifetime, and where to
// use it (url or server_url, and for NATS servers and inbox_prefix).
type Grant struct {
	AccessToken     string   `json:"access_token"`
	IssuedTokenType string   `json:"issued_token_type"`
	TokenType       string   `json:"token_type"`
	ExpiresIn       int64    `json:"expires_in"`
	URL             string   `json:"url,omitempty"`
	ServerURL       string   `json:"server_url,omitempty"`
	Servers         []string `json:"servers,omitempty"`
	InboxPrefix     string   `json:"inbox_prefix,omitempty"`
}

// Client calls gatepass's token exchange.
type Client struct {
	// BaseURL is gatepass's public URL, such as https://gatepass.example.com.
	BaseURL string
	// HTTP sends the requests; nil means a client with a 10 s timeout.
	HTTP *http.Client
	// Retries is how many times a retryable failure is retried.
	Retries int
	// Sleep waits d or until ctx ends; nil means a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Exchange trades subjectToken (the user's identity token) for a grant
// for audience (office-router, supabase-realtime, livekit, centrifugo,
// nats) and scope (room:NAME for livekit, channel:NAME for a Centrifugo
// subscription; empty for none).
func (c *Client) Exchange(ctx context.Context, subjectToken, audience, scope string) (*Grant, error) {
	form := url.Values{
		"grant_type":         {grantTypeTokenExchange},
		"subject_token_type": {tokenTypeAccessToken},
		"subject_token":      {subjectToken},
		"audience":           {audience},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	endpoint, err := url.JoinPath(c.BaseURL, "/oauth2/token")
	if err != nil {
		return nil, fmt.Errorf("gatepass URL: %w", err)
	}
	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	for attempt := 0; ; attempt++ {
		grant, delay, err := c.try(ctx, httpClient, endpoint, form)
		switch {
		case err == nil:
			return grant, nil
		case delay < 0:
			return nil, err
		case attempt >= c.Retries:
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if delay == 0 {
			delay = backoff(attempt)
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// try sends one request. On failure, delay says what to do: negative,
// fail now; zero, retry after a backoff; positive, retry after that long
// (Retry-After).
func (c *Client) try(ctx context.Context, httpClient *http.Client, endpoint string, form url.Values) (grant *Grant, delay time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, -1, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, -1, ctx.Err()
		}
		return nil, 0, fmt.Errorf("post %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		var g Grant
		if err := json.Unmarshal(body, &g); err != nil || g.AccessToken == "" {
			return nil, -1, errors.New("gatepass answered 200 without a grant")
		}
		return &g, 0, nil
	}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &oauth)
	switch status := resp.StatusCode; {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return nil, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("gatepass answered %d %s", status, oauth.Error)
	case status >= 500:
		return nil, 0, fmt.Errorf("gatepass answered %d %s", status, oauth.Error)
	case status == http.StatusBadRequest && oauth.Error == "invalid_grant":
		return nil, -1, ErrIdentityRevoked
	default:
		return nil, -1, &RefusedError{Status: status, Code: oauth.Error, Description: oauth.Description}
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped at
// maxRetryAfter; zero (a backoff) when absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = time.Until(at)
	} else {
		return 0
	}
	return min(max(d, time.Millisecond), maxRetryAfter)
}

// backoff is an exponential delay from 500 ms, at most 10 s, of which a
// random half is dropped so clients refused together do not return together.
func backoff(attempt int) time.Duration {
	full := min(500*time.Millisecond<<min(attempt, 10), 10*time.Second)
	return full/2 + rand.N(full/2+1)
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-backend:", err)
		os.Exit(1)
	}
}

// run parses the flags, exchanges $ACCESS_TOKEN and writes the grant to out.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("go-backend", flag.ContinueOnError)
	base := getenv("GATEPASS_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	fs.StringVar(&base, "gatepass", base, "gatepass's `URL` ($GATEPASS_URL when set)")
	audience := fs.String("audience", "", "the grant's `audience`: office-router, supabase-realtime, livekit, centrifugo or nats")
	scope := fs.String("scope", "", "the `scope`: room:NAME for livekit, channel:NAME for a Centrifugo subscription")
	retries := fs.Int("retries", 4, "how many times a retryable failure is retried")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *audience == "" {
		return errors.New("-audience is required")
	}
	token := getenv("ACCESS_TOKEN")
	if token == "" {
		return errors.New("ACCESS_TOKEN (the user's identity token) is not set")
	}
	c := &Client{BaseURL: base, Retries: *retries}
	grant, err := c.Exchange(ctx, token, *audience, *scope)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(grant)
}
