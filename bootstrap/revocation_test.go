package bootstrap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/bootstrap"
)

func TestRevocationSettings(t *testing.T) {
	token := strings.Repeat("a", bootstrap.MinAdminTokenBytes)
	tests := []struct {
		name    string
		set     map[string]string
		wantErr []string
		check   func(*testing.T, bootstrap.Config)
	}{
		{name: "defaults: 24h, no admin API, no webhook", check: func(t *testing.T, c bootstrap.Config) {
			r := c.Revocation
			if r.Retention != 24*time.Hour || r.AdminToken != nil || r.WorkOSSecret != nil {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "the admin token and the webhook secret", set: map[string]string{"ADMIN_API_TOKEN": token, "WORKOS_WEBHOOK_SECRET": "whsec"},
			check: func(t *testing.T, c bootstrap.Config) {
				if string(c.Revocation.AdminToken) != token || string(c.Revocation.WorkOSSecret) != "whsec" {
					t.Fatalf("%+v", c.Revocation)
				}
			}},
		{name: "a short admin token", set: map[string]string{"ADMIN_API_TOKEN": token[1:]},
			wantErr: []string{"ADMIN_API_TOKEN: must be at least 32 bytes"}},
		{name: "retention below the longest grant TTL", set: map[string]string{"REVOCATION_RETENTION": "30m", "SUPABASE_JWT_TTL": "1h"},
			wantErr: []string{"REVOCATION_RETENTION: must be at least the longest grant TTL (SUPABASE_JWT_TTL=1h0m0s)"}},
		{name: "retention below a transport's TTL", set: map[string]string{"REVOCATION_RETENTION": "5m", "SUPABASE_JWT_TTL": "1m"},
			wantErr: []string{"REVOCATION_RETENTION: must be at least the longest grant TTL (LIVEKIT_TOKEN_TTL=10m0s)"}},
		{name: "the admin token equal to another secret", set: map[string]string{"ADMIN_API_TOKEN": strings.Repeat("s", 32)},
			wantErr: []string{"ADMIN_API_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := production(t)
			for k, v := range tt.set {
				env[k] = v
			}
			cfg, err := bootstrap.Load(env)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, cfg)
				return
			}
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), token[1:]) {
				t.Error("the error quotes the token")
			}
		})
	}
}

func TestLoadAdminClient(t *testing.T) {
	file := writeFile(t, strings.Repeat("t", 40)+"\n")
	c, err := bootstrap.LoadAdminClient(map[string]string{"GATEPASS_ADMIN_URL": "http://127.0.0.1:9090/", "ADMIN_API_TOKEN_FILE": file,
		// Nothing else is read: a file the operator's machine lacks does not matter.
		"JWT_PRIVATE_KEY_FILE": "/nowhere"})
	if err != nil || c.URL != "http://127.0.0.1:9090" || string(c.Token) != strings.Repeat("t", 40) {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, env := range []map[string]string{
		{"ADMIN_API_TOKEN_FILE": file},
		{"GATEPASS_ADMIN_URL": "127.0.0.1:9090", "ADMIN_API_TOKEN_FILE": file},
		{"GATEPASS_ADMIN_URL": "http://127.0.0.1:9090"},
		{"GATEPASS_ADMIN_URL": "http://127.0.0.1:9090", "ADMIN_API_TOKEN_FILE": "/nowhere"},
	} {
		if _, err := bootstrap.LoadAdminClient(env); err == nil {
			t.Errorf("%v: loaded", env)
		}
	}
}
