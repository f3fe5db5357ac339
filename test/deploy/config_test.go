package deploy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
)

// TestManifestSettingsAreConfigFields catches a misspelt or renamed setting:
// the env parser ignores variables it does not know, so such a setting is
// silently dropped in production.
func TestManifestSettingsAreConfigFields(t *testing.T) {
	t.Parallel()
	docs := applied(t)
	_, c := app(t, docs)
	settings := configSettings()
	if len(settings) < 20 {
		t.Fatalf("found only %d settings in bootstrap.Config: the reflection walk is broken", len(settings))
	}
	var unknown []string
	for _, name := range sortedKeys(environment(t, docs, c)) {
		if _, ok := settings[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		t.Errorf("the manifests set %s, which bootstrap.Config does not read", strings.Join(unknown, ", "))
	}
}

// TestManifestConfigurationValidates loads the container's environment with
// gatepass's own configuration loader, the mounted Secret files replaced by
// a freshly made key and secret: a production start would get past
// configuration.
func TestManifestConfigurationValidates(t *testing.T) {
	t.Parallel()
	docs := applied(t)
	dep, c := app(t, docs)
	env := environment(t, docs, c)
	if env["APP_ENV"] != string(bootstrap.EnvProduction) {
		t.Errorf("APP_ENV=%q, want %q", env["APP_ENV"], bootstrap.EnvProduction)
	}
	mounts := secretMounts(t, dep, c)
	dir := t.TempDir()
	for name, path := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		if secretName, _ := fileInSecret(mounts, path); secretName == "" {
			t.Errorf("%s=%s is not in a mounted Secret", name, path)
			continue
		}
		local := filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(local, []byte(secretFileContent(t, name)), 0o600); err != nil {
			t.Fatal(err)
		}
		env[name] = local
	}
	if _, err := bootstrap.Load(env); err != nil {
		t.Errorf("the manifests' configuration is refused:\n%v", err)
	}
}

// secretFileContent is a valid stand-in for the Secret file a setting names.
func secretFileContent(t *testing.T, name string) string {
	t.Helper()
	switch name {
	case "JWT_PRIVATE_KEY_FILE":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	case "REDIS_URL_FILE":
		b := make([]byte, 32)
		rand.Read(b)
		return "redis://:" + hex.EncodeToString(b) + "@gatepass-redis:6379/0\n"
	case "SUPABASE_JWT_SECRET_FILE":
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b) + "\n"
	}
	t.Fatalf("%s: no stand-in content for this file setting; add one here", name)
	return ""
}
