package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/bootstrap"
)

func runDevToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "user_dev_01", "user id (sub)")
	org := fs.String("org", "org_dev_01", "organization id (org_id); empty for none")
	role := fs.String("role", "member", "role in the organization")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := bootstrap.LoadDevConfig(nil)
	if err != nil {
		return fmt.Errorf("dev-token: %w", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DevDir, devidentity.IdentityKeyFile)); err != nil {
		// A new identity key here would mint tokens the running server
		// refuses: say where the server's folder is expected instead.
		return fmt.Errorf("dev-token: no development identity key in %s: start the server first (make run) from the same folder, or set DEV_DIR to its folder", cfg.DevDir)
	}
	if *ttl <= 0 || *ttl > 7*24*time.Hour {
		return errors.New("--ttl must be between 1s and 168h")
	}
	m, err := devidentity.LoadOrCreate(cfg.DevDir)
	if err != nil {
		return err
	}
	token, err := devidentity.Mint(m.IdentityKey, devidentity.Identity{UserID: *user, OrgID: *org, Role: *role}, time.Now(), *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
