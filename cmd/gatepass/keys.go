package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/jwks"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

const keysUsage = `Usage:
  gatepass keys generate --out DIR [--alg ALG] [--bits N]
                                     write a new key pair: DIR/private.pem (0600), DIR/public.pem
  gatepass keys public               print the SPKI PEM of the configured signing key (the Worker's CONN_JWT_PUBLIC_KEY)
  gatepass keys jwks                 print the JWK Set the server publishes at /.well-known/jwks.json
The public and jwks commands read the signing key as serve does (JWT_PRIVATE_KEY,
JWT_PRIVATE_KEY_FILE or PKCS11_*, with JWT_ALGORITHM). Each command takes --help.
`

func runKeys(args []string, stdout, stderr io.Writer) error {
	return dispatch("keys", keysUsage, args, stdout, stderr, map[string]func([]string) error{
		"generate": func(a []string) error { return runKeysGenerate(a, stdout) },
		"public":   func(a []string) error { return runKeysPublic(a, stdout) },
		"jwks":     func(a []string) error { return runKeysJWKS(a, stdout) },
	})
}

const keysGenerateUsage = `Usage:
  gatepass keys generate --out DIR [--alg RS256|PS256|ES256|EdDSA] [--bits N]

Writes a new office signing key pair: DIR/private.pem (PKCS#8, mode 0600) and
DIR/public.pem (SPKI), and prints the key's kid (its RFC 7638 thumbprint).
RS256 and PS256 make an RSA key of --bits bits, ES256 an ECDSA P-256 key,
EdDSA an Ed25519 key. Serve it with JWT_PRIVATE_KEY_FILE=DIR/private.pem and
JWT_ALGORITHM=ALG. An existing key is never overwritten.
`

// maxGenerateBits bounds --bits: larger RSA keys take minutes to make and
// slow every signature for no gain a grant of a minute needs.
const maxGenerateBits = 8192

func runKeysGenerate(args []string, stdout io.Writer) error {
	c := newFlags("keys generate", keysGenerateUsage)
	out := c.String("out", "", "`folder` to write private.pem and public.pem into (created 0700 if missing; required)")
	alg := c.String("alg", jwa.RS256, "`algorithm` the key signs with: "+strings.Join(jwa.Algorithms(), ", "))
	bits := c.Int("bits", gosigner.GenerateRSABits, fmt.Sprintf("RSA modulus size for RS256 and PS256, %d to %d", pemkey.MinRSABits, maxGenerateBits))
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.NArg() != 0 {
		return errors.New("keys generate: takes no argument (the folder is --out DIR)")
	}
	if *out == "" {
		return errors.New("keys generate: --out DIR is required")
	}
	if !slices.Contains(jwa.Algorithms(), *alg) {
		return fmt.Errorf("keys generate: --alg must be one of %s", strings.Join(jwa.Algorithms(), ", "))
	}
	rsaAlg := *alg == jwa.RS256 || *alg == jwa.PS256
	bitsSet := false
	c.Visit(func(f *flag.Flag) { bitsSet = bitsSet || f.Name == "bits" })
	switch {
	case bitsSet && !rsaAlg:
		return fmt.Errorf("keys generate: --bits applies to RS256 and PS256 only, not %s", *alg)
	case *bits < pemkey.MinRSABits:
		return fmt.Errorf("keys generate: --bits must be at least %d: gatepass refuses shorter RSA keys", pemkey.MinRSABits)
	case *bits > maxGenerateBits:
		return fmt.Errorf("keys generate: --bits must be at most %d", maxGenerateBits)
	}
	privPath, pubPath := filepath.Join(*out, "private.pem"), filepath.Join(*out, "public.pem")
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("keys generate: %s exists; refusing to overwrite a key", p)
		}
	}
	key, err := generateKey(*alg, *bits)
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	privPEM, err := pemkey.EncodePKCS8(key)
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	pubPEM, err := pemkey.EncodePublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	kid, err := jwks.Thumbprint(key.Public())
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	// O_EXCL: never replace a key that appeared since the check above.
	if err := writeNew(privPath, privPEM, 0o600); err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	if err := writeNew(pubPath, pubPEM, 0o644); err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (0600) and %s\nkid %s\nalg %s\nserve it with JWT_PRIVATE_KEY_FILE=%s JWT_ALGORITHM=%s\n",
		privPath, pubPath, kid, *alg, privPath, *alg)
	return nil
}

// generateKey makes the key for alg; gosigner makes every default, and
// only an RSA size other than its own is asked of crypto/rsa directly.
func generateKey(alg string, bits int) (crypto.Signer, error) {
	if (alg == jwa.RS256 || alg == jwa.PS256) && bits != gosigner.GenerateRSABits {
		return rsa.GenerateKey(rand.Reader, bits)
	}
	return gosigner.Generate(alg)
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// configuredKeys loads the office-router key material as `serve` would,
// from a PEM or from a PKCS#11 token; close releases the token.
func configuredKeys() (cfg bootstrap.Config, b bootstrap.OfficeBackend, close func(), err error) {
	if err = bootstrap.PrepareDevelopment(nil); err != nil {
		return
	}
	if cfg, err = bootstrap.LoadKeys(nil); err != nil {
		return
	}
	b, close, err = bootstrap.ProvideOfficeBackend(cfg, slog.New(slog.DiscardHandler))
	return
}

const keysPublicUsage = `Usage:
  gatepass keys public

Prints the SPKI PEM of the configured office signing key (JWT_PRIVATE_KEY,
JWT_PRIVATE_KEY_FILE or PKCS11_*, checked against JWT_ALGORITHM as serve
checks it): the office-router Worker's CONN_JWT_PUBLIC_KEY.
`

func runKeysPublic(args []string, stdout io.Writer) error {
	c := newFlags("keys public", keysPublicUsage)
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.NArg() != 0 {
		return errors.New("keys public: takes no argument")
	}
	_, b, closeKeys, err := configuredKeys()
	if err != nil {
		return err
	}
	defer closeKeys()
	pub, err := pemkey.EncodePublicKey(b.Signer.Public())
	if err != nil {
		return err
	}
	_, err = stdout.Write(pub)
	return err
}

const keysJWKSUsage = `Usage:
  gatepass keys jwks

Prints the JWK Set the server publishes at /.well-known/jwks.json: the
configured signing key first, then JWT_VERIFICATION_KEYS.
`

func runKeysJWKS(args []string, stdout io.Writer) error {
	c := newFlags("keys jwks", keysJWKSUsage)
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.NArg() != 0 {
		return errors.New("keys jwks: takes no argument")
	}
	cfg, b, closeKeys, err := configuredKeys()
	if err != nil {
		return err
	}
	defer closeKeys()
	set, err := bootstrap.ProvideKeySet(cfg, b)
	if err != nil {
		return err
	}
	// What the server publishes, in its order: the application lists the
	// keys, the signing key first, and jwks maps them.
	keys, err := application.NewListVerificationKeysHandler(set).Handle(context.Background())
	if err != nil {
		return err
	}
	body, err := jwks.VerificationSetJSON(keys)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", body)
	return err
}
