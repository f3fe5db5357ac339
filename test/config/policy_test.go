package config_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/kit"
)

// policyWith is a policy file whose line 9 is a subscribe rule naming
// channel.
func policyWith(channel string) string {
	return "version: 1\n" +
		"livekit:\n" +
		"  - roles: ['*']\n" +
		"    rights: [canSubscribe]\n" +
		"centrifugo:\n" +
		"  connect:\n" +
		"    - roles: ['*']\n" +
		"  subscribe:\n" +
		"    - {roles: ['*'], channels: ['" + channel + "']}\n"
}

// TestPolicyPlaceholdersBetweenSeparators: a placeholder next to anything
// but . : / or the pattern's start or end lets two callers' ids spell one
// channel (user c of organization a_b and user b_c of organization a both
// get chat:a_b_c from chat:{orgId}_{userId}); `policy check` and the start
// both refuse such a pattern, naming its line.
func TestPolicyPlaceholdersBetweenSeparators(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	for _, pattern := range []string{
		"chat:{orgId}_{userId}",
		"chat:x{orgId}",
		"chat:{orgId}x",
		"{orgId}{userId}",
		"chat:{userId}-{orgId}.*",
	} {
		t.Run(pattern, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "policy.yaml", policyWith(pattern))
			want := "line 9: centrifugo.subscribe[0].channels[0]: pattern \"" + pattern + "\""

			stdout, stderr, err := kit.Run(t, nil, "policy", "check", file)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 || stdout != "" {
				t.Fatalf("policy check exited with %v, want 1; stdout %q stderr:\n%s", err, stdout, stderr)
			}
			wantSays(t, stderr, file+": "+want, "placeholder")

			stderr = refused(t, kit.ProductionEnv(idp, keyPEM, map[string]string{"GATEPASS_POLICY_FILE": file}))
			wantSays(t, stderr, "GATEPASS_POLICY_FILE: ", want, "placeholder")
		})
	}
	t.Run("between separators", func(t *testing.T) {
		t.Parallel()
		for _, pattern := range []string{"{orgId}", "org:{orgId}.*", "chat:{orgId}.{userId}", "dm/{orgId}/{userId}:inbox", "{userId}:{orgId}.*"} {
			file := writeFile(t, "policy.yaml", policyWith(pattern))
			stdout, stderr, err := kit.Run(t, nil, "policy", "check", file)
			if err != nil || !strings.HasPrefix(stdout, "ok: "+file) {
				t.Errorf("policy check of %q: %v\n%s%s", pattern, err, stdout, stderr)
			}
		}
	})
}
