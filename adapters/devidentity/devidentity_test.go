package devidentity_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatepass/gatepass/adapters/devidentity"
)

// TestUnsafeKeyFilesAreRefused: a development key file that is a link,
// someone else's, or open to other users is never used.
func TestUnsafeKeyFilesAreRefused(t *testing.T) {
	tests := []struct {
		name    string
		spoil   func(t *testing.T, path string)
		wantErr error
	}{
		{name: "as created", spoil: func(*testing.T, string) {}},
		{name: "readable by others", spoil: func(t *testing.T, p string) { chmod(t, p, 0o644) }, wantErr: devidentity.ErrUnsafeFile},
		{name: "writable by the group", spoil: func(t *testing.T, p string) { chmod(t, p, 0o620) }, wantErr: devidentity.ErrUnsafeFile},
		{name: "a symbolic link", spoil: func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.Rename(p, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}, wantErr: devidentity.ErrUnsafeFile},
		{name: "another user's", spoil: func(t *testing.T, p string) {
			if os.Getuid() != 0 {
				// Only root can give a file away (CI runs as root).
				t.Skip("giving a file to another user needs root")
			}
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, wantErr: devidentity.ErrUnsafeFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := devidentity.LoadOrCreate(dir); err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, filepath.Join(dir, devidentity.IdentityKeyFile))
			_, err := devidentity.LoadOrCreate(dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
