package architecture_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFilesNamingATransport is how many product files may name one
// transport: its domain file, its signer, its ginhttp file, its bootstrap
// block and the adapter of its own server. A transport named in more has
// leaked into code every transport shares.
const maxFilesNamingATransport = 5

// TestEachTransportNamedInFewFiles: each transport's name appears, in any
// letter case, in at most maxFilesNamingATransport of the product's Go
// files (tests and generated mocks aside), so that adding a transport
// stays a change of its own files.
func TestEachTransportNamedInFewFiles(t *testing.T) {
	named := map[string][]string{}
	transports := []string{"livekit", "centrifugo", "nats"}
	for _, dir := range []string{"domain", "application", "adapters", "bootstrap", "cmd"} {
		err := filepath.WalkDir(filepath.Join("..", "..", dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "mocks" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			text := strings.ToLower(string(b))
			for _, name := range transports {
				if strings.Contains(text, name) {
					named[name] = append(named[name], filepath.ToSlash(path[len("../../"):]))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range transports {
		if len(named[name]) == 0 {
			t.Errorf("no product file names %s: the walk read nothing", name)
		}
		if len(named[name]) > maxFilesNamingATransport {
			t.Errorf("%s is named in %d product files, at most %d: %s", name, len(named[name]), maxFilesNamingATransport, strings.Join(named[name], ", "))
		}
	}
}
