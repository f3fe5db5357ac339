package cli_test

// A mistyped command, and the shell completion sourced in bash, as a user
// types them.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/kit"
)

// TestUnknownCommandSuggestsTheClosest: one line naming the closest
// command, exit 2, and no usage.
func TestUnknownCommandSuggestsTheClosest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"tokn", "inspect"}, want: "gatepass: unknown command \"tokn\"; did you mean `token`?\n"},
		{args: []string{"token", "inspct", "x.y.z"}, want: "gatepass: unknown command \"token inspct\"; did you mean `token inspect`?\n"},
		{args: []string{"sevre"}, want: "gatepass: unknown command \"sevre\"; did you mean `serve`?\n"},
		{args: []string{"frobnicate"}, want: "gatepass: unknown command \"frobnicate\"; gatepass --help lists the commands\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			wantUnknown(t, tt.args, tt.want)
		})
	}
}

// wantUnknown runs gatepass with args and wants exit 2, stderr exactly
// want, and nothing on stdout.
func wantUnknown(t *testing.T, args []string, want string) {
	t.Helper()
	stdout, stderr, err := kit.Run(t, nil, args...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("exited with %v, want 2", err)
	}
	if stderr != want || stdout != "" {
		t.Errorf("stderr %q\nstdout %q\nwant stderr %q and no stdout", stderr, stdout, want)
	}
}

// complete sources script in a real bash and asks its completion function
// for the words of line, the last one being completed.
func complete(t *testing.T, script string, line ...string) []string {
	t.Helper()
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", `
source "$1"
shift
complete -p gatepass >/dev/null || exit 3
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
_gatepass gatepass "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"`, "bash", script)
	cmd.Args = append(cmd.Args, line...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", line, err, out)
	}
	return strings.Fields(string(out))
}

// TestBashCompletion sources `gatepass completion bash` in bash and
// completes commands, subcommands and flags.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	script, stderr, err := kit.Run(t, nil, "completion", "bash")
	if err != nil {
		t.Fatal(kit.ExitError(err, stderr))
	}
	path := filepath.Join(t.TempDir(), "gatepass.bash")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line []string
		want string
	}{
		{line: []string{"gatepass", "to"}, want: "token"},
		{line: []string{"gatepass", "se"}, want: "serve"},
		{line: []string{"gatepass", "token", ""}, want: "inspect verify"},
		{line: []string{"gatepass", "keys", "g"}, want: "generate"},
		{line: []string{"gatepass", "token", "verify", "--is"}, want: "--issuer"},
		{line: []string{"gatepass", "token", "verify", "TOKEN", "--no"}, want: "--no-audience"},
		{line: []string{"gatepass", "dev-token", "--r"}, want: "--role"},
		{line: []string{"gatepass", "completion", ""}, want: "bash zsh"},
		{line: []string{"gatepass", "help", "po"}, want: "policy"},
		{line: []string{"gatepass", "re"}, want: "revoke"},
		{line: []string{"gatepass", "revoke", "--all"}, want: "--all-organizations"},
	}
	for _, tt := range tests {
		if got := strings.Join(complete(t, path, tt.line...), " "); got != tt.want {
			t.Errorf("completing %q: %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestZshCompletion: the zsh script loads bash's completion through zsh's
// bashcompinit, with the same completion function as the bash script.
func TestZshCompletion(t *testing.T) {
	t.Parallel()
	zsh, stderr, err := kit.Run(t, nil, "completion", "zsh")
	if err != nil {
		t.Fatal(kit.ExitError(err, stderr))
	}
	bash, _, err := kit.Run(t, nil, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(zsh, "#compdef gatepass\n") || !strings.Contains(zsh, "bashcompinit && bashcompinit\n") || !strings.HasSuffix(zsh, bash) {
		t.Errorf("the zsh script is not bashcompinit and the bash script:\n%s", zsh)
	}
}
