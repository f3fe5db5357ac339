package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestRevoke: `gatepass revoke` records a revocation through the admin API
// of a running gatepass, prints the answer, and the revoked identity is
// refused; what the admin API refuses is an error naming why.
func TestRevoke(t *testing.T) {
	t.Parallel()
	const token = "an-admin-api-token-of-at-least-32-bytes"
	s := inproc.ServeService(t, map[string]string{"ADMIN_API_TOKEN": token})
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEPASS_ADMIN_URL": s.AdminURL, "ADMIN_API_TOKEN_FILE": file}
	bearer := s.IDP.Sign(t, func() map[string]any {
		c := s.IDP.Claims("user_cli", "org_cli", "member", time.Hour)
		c["iat"] = time.Now().Add(-time.Minute).Unix()
		return c
	}(), nil)
	if r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(bearer)); r.Status != 200 {
		t.Fatalf("before: %s", r)
	}

	out, stderr, err := kit.Run(t, env, "revoke", "--user", "user_cli", "--org", "org_cli", "--reason", "offboarded")
	if err != nil {
		t.Fatal(kit.ExitError(err, stderr))
	}
	var answer struct {
		ID        string         `json:"id"`
		NotBefore string         `json:"not_before"`
		Fanout    map[string]any `json:"fanout"`
	}
	if err := json.Unmarshal([]byte(out), &answer); err != nil || answer.ID == "" || answer.NotBefore == "" || answer.Fanout == nil {
		t.Fatalf("printed %q", out)
	}
	kit.WantProblem(t, "after gatepass revoke", kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(bearer)), 401, "revoked")

	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no organization", env, []string{"--user", "u"}, "--org or --all-organizations"},
		{"both", env, []string{"--user", "u", "--org", "o", "--all-organizations"}, "--org or --all-organizations"},
		{"no user", env, []string{"--org", "o"}, "--user is required"},
		{"no URL", map[string]string{"ADMIN_API_TOKEN_FILE": file}, []string{"--user", "u", "--org", "o"}, "GATEPASS_ADMIN_URL"},
		{"no token", map[string]string{"GATEPASS_ADMIN_URL": s.AdminURL}, []string{"--user", "u", "--org", "o"}, "ADMIN_API_TOKEN_FILE"},
		{"wrong token", map[string]string{"GATEPASS_ADMIN_URL": s.AdminURL, "ADMIN_API_TOKEN": strings.Repeat("w", 40)},
			[]string{"--user", "u", "--org", "o"}, "401 invalid_token"},
		{"a field the API refuses", env, []string{"--user", "u u", "--org", "o"}, "400 invalid_revocation: user_id"},
	} {
		_, stderr, err := kit.Run(t, tt.env, append([]string{"revoke"}, tt.args...)...)
		if err == nil || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: %v, stderr %q; want an error naming %q", tt.name, err, stderr, tt.want)
		}
	}
}
