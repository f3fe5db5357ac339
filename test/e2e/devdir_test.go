package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestDevelopmentRefusesUnsafeKeyFiles: development mode will not use key
// files that others could read or replace: whoever can could mint tokens
// the development server accepts.
func TestDevelopmentRefusesUnsafeKeyFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "dev")
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": dir, "HTTP_ADDR": kit.FreeAddr(t), "ADMIN_ADDR": kit.FreeAddr(t)}
	// A first start makes the development folder and its keys.
	inproc.Serve(t, env).Kill()
	key := filepath.Join(dir, "identity-key.pem")
	tests := []struct {
		name  string
		spoil func(t *testing.T)
		want  string
	}{
		{name: "readable by others", spoil: func(t *testing.T) {
			if err := os.Chmod(key, 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: "is open to other users"},
		{name: "a symbolic link", spoil: func(t *testing.T) {
			if err := os.Chmod(key, 0o600); err != nil {
				t.Fatal(err)
			}
			moved := filepath.Join(t.TempDir(), "key.pem")
			if err := os.Rename(key, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, key); err != nil {
				t.Fatal(err)
			}
		}, want: "is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spoil(t)
			_, stderr, err := kit.Run(t, env, "serve")
			if err == nil || !strings.Contains(stderr, "unsafe development key file") || !strings.Contains(stderr, tt.want) {
				t.Fatalf("serve with an unsafe key file: %v\n%s", err, stderr)
			}
			if strings.Contains(stderr, "PRIVATE KEY") {
				t.Fatal("the key is in the error")
			}
		})
	}
}
