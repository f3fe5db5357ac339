package suggest_test

import (
	"testing"

	"github.com/gatepass/gatepass/foundation/suggest"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "ABC", 3},
		{"ABC", "", 3},
		{"TOKEN", "TOKEN", 0},
		{"TOKN", "TOKEN", 1},
		{"TOEKN", "TOKEN", 1},
		{"KITTEN", "SITTING", 3},
		{"JWT_ALGORITM", "JWT_ALGORITHM", 1},
		{"RATE_LIMIT_OFICE_RATE", "RATE_LIMIT_OFFICE_RATE", 1},
		{"CA", "ABC", 3},
	}
	for _, tt := range tests {
		if got := suggest.Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := suggest.Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	commands := []string{"serve", "keys", "token", "dev-token", "policy", "version", "help", "completion"}
	variables := []string{"JWT_ALGORITHM", "JWT_AUDIENCE", "RATE_LIMIT_OFFICE_RATE", "RATE_LIMIT_OFFICE_BURST", "AUTH_AUDIENCE", "GATEPASS_STRICT_ENV", "REDIS_URL"}
	tests := []struct {
		word       string
		candidates []string
		want       string
		wantOK     bool
	}{
		{"tokn", commands, "token", true},
		{"to", commands, "token", true},
		{"serv", commands, "serve", true},
		{"plicy", commands, "policy", true},
		{"completoin", commands, "completion", true},
		{"frobnicate", commands, "", false},
		{"x", commands, "", false},
		{"JWT_ALGORITM", variables, "JWT_ALGORITHM", true},
		{"jwt_algorithm", variables, "JWT_ALGORITHM", true},
		{"RATE_LIMIT_OFICE_RATE", variables, "RATE_LIMIT_OFFICE_RATE", true},
		{"JWT_AUDIENCES", variables, "JWT_AUDIENCE", true},
		{"GATEPASS_SERVICE_HOST", variables, "", false},
		{"REDIS_PORT", variables, "", false},
	}
	for _, tt := range tests {
		got, ok := suggest.Closest(tt.word, tt.candidates)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tt.word, got, ok, tt.want, tt.wantOK)
		}
	}
}
