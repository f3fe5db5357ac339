// Package softhsmtest gives a test its own SoftHSM2 token, in the test's
// temporary directory, with keys generated in it or imported into it. It
// needs the Debian package softhsm2 (scripts/deps.sh softhsm) and fails the
// test, never skips it, when that is missing.
package softhsmtest

import (
	"crypto"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gatepass/gatepass/adapters/pkcs11signer"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

// Module is SoftHSM2's PKCS#11 library as Debian installs it.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// The token's label and PINs; test values only.
const (
	TokenLabel = "gatepass-test"
	PIN        = "1234"
	SOPIN      = "5678"
)

const util = "softhsm2-util"

// Token is an initialised SoftHSM2 token private to one test.
type Token struct {
	dir string
}

// New initialises a fresh token for t: it writes a softhsm2.conf whose
// token directory is under t.TempDir(), points SOFTHSM2_CONF at it for the
// rest of the test (so t must not be parallel), and runs softhsm2-util
// --init-token. Every pkcs11signer.Signer opened on it must be closed
// before the test ends, so that the next test's token is read afresh.
func New(t testing.TB) *Token {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := "directories.tokendir = " + tokens + "\n" +
		"objectstore.backend = file\n" +
		"log.level = ERROR\n" +
		"slots.removable = false\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	run(t, util, "--init-token", "--free", "--label", TokenLabel, "--pin", PIN, "--so-pin", SOPIN)
	return &Token{dir: dir}
}

// Require fails t with what to install when SoftHSM2 is missing.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Module); err != nil {
		t.Fatalf("SoftHSM2 is not installed (%s: %v); install the Debian package softhsm2, e.g. scripts/deps.sh softhsm", Module, err)
	}
	if _, err := exec.LookPath(util); err != nil {
		t.Fatalf("%s is not on PATH (%v); install the Debian package softhsm2, e.g. scripts/deps.sh softhsm", util, err)
	}
}

// Config is the pkcs11signer configuration for the key labelled keyLabel
// in this token.
func (tok *Token) Config(keyLabel string) pkcs11signer.Config {
	return pkcs11signer.Config{Module: Module, TokenLabel: TokenLabel, PIN: PIN, KeyLabel: keyLabel}
}

// Import copies key (RSA or ECDSA P-256) into the token as a key pair
// labelled label, with softhsm2-util --import, so that a test can compare
// the token's signatures with another backend's over the same key.
func (tok *Token) Import(t testing.TB, key crypto.Signer, label string) {
	t.Helper()
	text, err := pemkey.EncodePKCS8(key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tok.dir, hex.EncodeToString([]byte(label))+".pem")
	if err := os.WriteFile(file, text, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(file)
	run(t, util, "--import", file, "--token", TokenLabel, "--label", label,
		"--id", hex.EncodeToString([]byte(label)), "--pin", PIN)
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, args[0], err, out)
	}
}
