package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

func limits(failOpen bool) application.RateLimitPolicy {
	mode := application.FailClosed
	if failOpen {
		mode = application.FailOpen
	}
	return application.RateLimitPolicy{
		Enabled: true, FailureMode: mode, AuthFailures: authLimit,
		Grants: map[domain.GrantKind]domain.Limit{domain.GrantOffice: officeLimit, domain.GrantRealtime: realtimeLimit},
	}
}

var unavailable = errors.Join(domain.ErrLimiterUnavailable, errors.New("dial tcp: connection refused"))

func TestGrantsSpendThePerUserBudget(t *testing.T) {
	tests := []struct {
		name     string
		failOpen bool
		decision domain.Decision
		err      error
		wantErr  error
		wantSign bool
	}{
		{name: "within budget", decision: domain.Decision{Allowed: true, Remaining: 3}, wantSign: true},
		{name: "budget spent", decision: domain.Decision{RetryAfter: 1500 * time.Millisecond}, wantErr: domain.ErrRateLimited},
		{name: "store down, fail open", failOpen: true, err: unavailable, wantSign: true},
		{name: "store down, fail closed", err: unavailable, wantErr: domain.ErrLimiterUnavailable},
	}
	for _, tt := range tests {
		t.Run("office/"+tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(tt.failOpen))
			f.limiter.EXPECT().Allow(gomock.Any(), "office:user_01H", officeLimit).Return(tt.decision, tt.err)
			if tt.wantSign {
				f.clock.EXPECT().Now().Return(now)
				f.ids.EXPECT().NewID().Return("id", nil)
				f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("signed", nil)
			}
			_, err := f.app.RequestOfficeAccess.Handle(context.Background(), application.RequestOfficeAccess{Caller: member})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var limited *domain.RateLimitedError
			if errors.As(err, &limited) && limited.RetryAfter != tt.decision.RetryAfter {
				t.Fatalf("retry after %s", limited.RetryAfter)
			}
		})
		t.Run("realtime/"+tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(tt.failOpen))
			f.limiter.EXPECT().Allow(gomock.Any(), "realtime:user_01H", realtimeLimit).Return(tt.decision, tt.err)
			if tt.wantSign {
				f.clock.EXPECT().Now().Return(now)
				f.ids.EXPECT().NewID().Return("id", nil)
				f.realtime.EXPECT().SignRealtime(gomock.Any(), gomock.Any()).Return("signed", nil)
			}
			_, err := f.app.IssueRealtimeToken.Handle(context.Background(), application.IssueRealtimeToken{Caller: member})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRefusedCallersSpendNoGrantBudget(t *testing.T) {
	// A caller refused for its organization never reaches the limiter.
	f := newLimitedFixture(t, limits(true))
	_, err := f.app.RequestOfficeAccess.Handle(context.Background(), application.RequestOfficeAccess{Caller: loner})
	if !errors.Is(err, domain.ErrNoOrganization) {
		t.Fatal(err)
	}
}

func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	spent := domain.Decision{RetryAfter: 2 * time.Second}
	open := domain.Decision{Allowed: true, Remaining: 5}
	tests := []struct {
		name     string
		failOpen bool
		peek     domain.Decision
		peekErr  error
		verify   *error // nil: the verifier is not asked
		allow    *domain.Decision
		wantErr  []error
		notError error
	}{
		{name: "success spends nothing", peek: open, verify: ptr(error(nil))},
		{name: "failure within budget is counted", peek: open, verify: ptr(domain.ErrInvalidCredentials), allow: &domain.Decision{Allowed: true},
			wantErr: []error{domain.ErrInvalidCredentials}, notError: domain.ErrRateLimited},
		{name: "the failure that spends the budget", peek: open, verify: ptr(domain.ErrInvalidCredentials), allow: &spent,
			wantErr: []error{domain.ErrRateLimited, domain.ErrInvalidCredentials}},
		{name: "spent budget: refused before verifying, even a valid token", peek: spent,
			wantErr: []error{domain.ErrRateLimited}, notError: domain.ErrInvalidCredentials},
		{name: "store down, fail open: verified as usual", failOpen: true, peekErr: unavailable, verify: ptr(error(nil))},
		{name: "store down, fail closed", peekErr: unavailable, wantErr: []error{domain.ErrLimiterUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(tt.failOpen))
			f.limiter.EXPECT().Peek(gomock.Any(), "authfail:203.0.113.7", authLimit).Return(tt.peek, tt.peekErr)
			if tt.verify != nil {
				f.identity.EXPECT().VerifyIdentity(gomock.Any(), "tok").Return(member, *tt.verify)
			}
			if tt.allow != nil {
				f.limiter.EXPECT().Allow(gomock.Any(), "authfail:203.0.113.7", authLimit).Return(*tt.allow, nil)
			}
			_, err := f.app.AuthenticateCaller.Handle(context.Background(), application.AuthenticateCaller{Bearer: "tok", ClientIP: "203.0.113.7"})
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if tt.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if tt.notError != nil && errors.Is(err, tt.notError) {
				t.Errorf("err = %v wraps %v", err, tt.notError)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDisabledLimitsNeverAskTheLimiter(t *testing.T) {
	policy := limits(false)
	policy.Enabled = false
	f := newLimitedFixture(t, policy)
	f.clock.EXPECT().Now().Return(now)
	f.ids.EXPECT().NewID().Return("id", nil)
	f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("signed", nil)
	if _, err := f.app.RequestOfficeAccess.Handle(context.Background(), application.RequestOfficeAccess{Caller: member}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReadiness(t *testing.T) {
	ok := application.ReadinessCheck{Name: "signer", Probe: func(context.Context) (string, error) { return "go RS256", nil }}
	bad := application.ReadinessCheck{Name: "identity_keys", Probe: func(context.Context) (string, error) { return "", errors.New("not loaded") }}
	tests := []struct {
		name   string
		checks []application.ReadinessCheck
		ready  bool
	}{
		{name: "all pass", checks: []application.ReadinessCheck{ok}, ready: true},
		{name: "one fails", checks: []application.ReadinessCheck{ok, bad}, ready: false},
		{name: "no checks", ready: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := application.NewCheckReadinessHandler(tt.checks).Handle(context.Background())
			if r.Ready != tt.ready || len(r.Checks) != len(tt.checks) {
				t.Fatalf("readiness %+v", r)
			}
			for i, c := range r.Checks {
				if c.Name != tt.checks[i].Name {
					t.Errorf("check %d named %s", i, c.Name)
				}
			}
			if !tt.ready && r.Checks[1].Detail != "not loaded" {
				t.Errorf("failing detail %q", r.Checks[1].Detail)
			}
		})
	}
}
