package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gatepass/gatepass/adapters/jwks"
	"github.com/gatepass/gatepass/adapters/pemkey"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/bootstrap"
)

const keysUsage = `Usage:
  gatepass keys generate --out DIR   write a new RSA-2048 key pair: DIR/private.pem (0600), DIR/public.pem
  gatepass keys public               print the SPKI PEM of the configured signing key (the Worker's CONN_JWT_PUBLIC_KEY)
  gatepass keys jwks                 print the JWK Set the server publishes at /.well-known/jwks.json
`

func runKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: a subcommand is required")
	}
	switch args[0] {
	case "generate":
		return runKeysGenerate(args[1:], stdout, stderr)
	case "public":
		return runKeysPublic(args[1:], stdout, stderr)
	case "jwks":
		return runKeysJWKS(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: unknown subcommand %q", args[0])
	}
}

func runKeysGenerate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder to write private.pem and public.pem into (created 0700 if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("keys generate: --out DIR is required")
	}
	privPath, pubPath := filepath.Join(*out, "private.pem"), filepath.Join(*out, "public.pem")
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("keys generate: %s exists; refusing to overwrite a key", p)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	privPEM, err := pemkey.EncodePKCS8(key)
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	pubPEM, err := pemkey.EncodePublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	kid, err := jwks.Thumbprint(&key.PublicKey)
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
	fmt.Fprintf(stdout, "wrote %s (0600) and %s\nkid %s\n", privPath, pubPath, kid)
	return nil
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
	if cfg, err = bootstrap.LoadKeys(nil); err != nil {
		return
	}
	b, close, err = bootstrap.ProvideOfficeBackend(cfg, slog.New(slog.DiscardHandler))
	return
}

func runKeysPublic(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys public", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
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

func runKeysJWKS(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys jwks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
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
