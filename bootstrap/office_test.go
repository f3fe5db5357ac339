package bootstrap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/domain"
)

func TestOfficeRouterAdminSettings(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		wantErr []string
		check   func(*testing.T, bootstrap.Config)
	}{
		{name: "off without a URL", check: func(t *testing.T, c bootstrap.Config) {
			if c.Office.Admin != nil {
				t.Fatalf("admin route %+v", c.Office.Admin)
			}
		}},
		{name: "on with an https URL: the office issuer and TTL, the default audience",
			set: map[string]string{"OFFICE_ROUTER_ADMIN_URL": "https://office.example/admin/revoke", "JWT_TTL": "90s"},
			check: func(t *testing.T, c bootstrap.Config) {
				a := c.Office.Admin
				if a == nil || a.URL != "https://office.example/admin/revoke" || a.Issuer != "gatepass" ||
					a.Audience != domain.DefaultOfficeRouterAdminAudience || a.GrantTTL != 90*time.Second {
					t.Fatalf("admin route %+v", a)
				}
			}},
		{name: "http on loopback", set: map[string]string{"OFFICE_ROUTER_ADMIN_URL": "http://127.0.0.1:8787/admin/revoke"},
			check: func(t *testing.T, c bootstrap.Config) {
				if c.Office.Admin == nil {
					t.Fatal("admin route off")
				}
			}},
		{name: "http elsewhere in production", set: map[string]string{"OFFICE_ROUTER_ADMIN_URL": "http://office.example/admin/revoke"},
			wantErr: []string{"OFFICE_ROUTER_ADMIN_URL: must be an https:// URL"}},
		{name: "credentials in the URL", set: map[string]string{"OFFICE_ROUTER_ADMIN_URL": "https://u:p@office.example/admin/revoke"},
			wantErr: []string{"OFFICE_ROUTER_ADMIN_URL: must be an https:// URL"}},
		{name: "the office grants' audience",
			set:     map[string]string{"OFFICE_ROUTER_ADMIN_URL": "https://office.example/admin/revoke", "OFFICE_ROUTER_ADMIN_AUDIENCE": "office-router"},
			wantErr: []string{"OFFICE_ROUTER_ADMIN_AUDIENCE: must differ from JWT_AUDIENCE"}},
		{name: "Centrifugo's audience",
			set: map[string]string{"OFFICE_ROUTER_ADMIN_URL": "https://office.example/admin/revoke", "CENTRIFUGO_URL": "wss://rt.example/connection/websocket",
				"CENTRIFUGO_AUDIENCE": "office-router-admin"},
			wantErr: []string{"OFFICE_ROUTER_ADMIN_AUDIENCE: must differ from CENTRIFUGO_AUDIENCE"}},
		{name: "an empty audience", set: map[string]string{"OFFICE_ROUTER_ADMIN_URL": "https://office.example/admin/revoke", "OFFICE_ROUTER_ADMIN_AUDIENCE": ""},
			check: func(t *testing.T, c bootstrap.Config) {
				// An empty variable is the default, as for every variable.
				if c.Office.Admin == nil || c.Office.Admin.Audience != domain.DefaultOfficeRouterAdminAudience {
					t.Fatalf("admin route %+v", c.Office.Admin)
				}
			}},
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
		})
	}
}

func TestOfficeRouterAdminURLOverHTTPInDevelopment(t *testing.T) {
	env := map[string]string{
		"APP_ENV": "development", "DEV_DIR": t.TempDir(), "OFFICE_ROUTER_ADMIN_URL": "http://office.dev.internal:8787/admin/revoke",
	}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Office.Admin == nil || cfg.Office.Admin.Issuer != bootstrap.DevOfficeIssuer {
		t.Fatalf("admin route %+v", cfg.Office.Admin)
	}
}
