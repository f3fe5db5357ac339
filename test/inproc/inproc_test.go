package inproc_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// A gatepass served in process answers as the binary does: a grant on the
// public port, metrics and readiness on the admin port, its logs readable
// at once, and nothing served once it is stopped.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t)
	bearer := s.IDP.Token(t, "user_inproc", "org_inproc", "member", time.Minute)
	r := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer))
	kit.WantStatus(t, "request-access", r, http.StatusOK)
	if claims := kit.PayloadOf(t, r.Token(t)); claims["orgId"] != "org_inproc" {
		t.Errorf("orgId %v", claims["orgId"])
	}
	if status, ready := kit.Ready(t, s.AdminURL); status != http.StatusOK {
		t.Errorf("admin /readyz %d %+v", status, ready)
	}
	if m := kit.Get(t, s.AdminURL+"/metrics"); !strings.Contains(string(m.Body), "gatepass_grants_total") {
		t.Errorf("admin /metrics has no grant counter:\n%.400s", m.Body)
	}
	if logs := s.RequestLogs(); len(logs) == 0 || logs[len(logs)-1].Status != http.StatusOK {
		t.Errorf("request logs %+v", logs)
	}
	s.Kill()
	if _, err := kit.Do(&http.Client{Timeout: time.Second}, http.MethodGet, s.URL+"/healthz"); err == nil {
		t.Error("a stopped server still answers")
	}
	if err := s.Signal(nil); err == nil {
		t.Error("Signal on a served gatepass did not say there is no process")
	}
}

// In development the folder is prepared as `serve` prepares it.
func TestServeDevelopment(t *testing.T) {
	t.Parallel()
	p := inproc.Serve(t, map[string]string{"APP_ENV": "development"})
	if status, _ := kit.Ready(t, p.URL); status != http.StatusOK {
		t.Fatalf("/readyz %d", status)
	}
}

// Settings the binary refuses at start are refused here too.
func TestServeRefusesSettings(t *testing.T) {
	t.Parallel()
	_, err := inproc.ServeErr(t, map[string]string{"APP_ENV": "production"})
	if err == nil || !strings.Contains(err.Error(), "JWT_ISSUER") {
		t.Fatalf("error %v, want one naming JWT_ISSUER", err)
	}
}
