// Package devidentity is gatepass's local development kit: key material kept
// in a git-ignored folder across restarts, and a stand-in identity provider
// whose tokens the development server accepts, so a newcomer can call the
// API without a WorkOS tenant.
package devidentity

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/foundation/jwks"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

// Issuer is the iss of development identity tokens. It can never be a
// production AUTH_ISSUER by accident: production refuses development mode.
const Issuer = "gatepass-dev-identity"

// Files in the development folder.
const (
	OfficeKeyFile   = "office-key.pem"
	SupabaseFile    = "supabase-secret"
	IdentityKeyFile = "identity-key.pem"
)

// Material is the development key material; the office key, whose type
// depends on the algorithm, comes from LoadOrCreateOfficeKey.
type Material struct {
	SupabaseSecret string
	IdentityKey    *rsa.PrivateKey
}

// LoadOrCreate reads the Supabase secret and the identity key from dir, creating whatever is missing
// (the folder 0700, files 0600).
func LoadOrCreate(dir string) (Material, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Material{}, fmt.Errorf("development folder: %w", err)
	}
	return material(dir, newSecret, newRSAPEM)
}

// Load reads what LoadOrCreate made, creating nothing; a missing file is
// an error wrapping ErrNotPrepared.
func Load(dir string) (Material, error) { return material(dir, nil, nil) }

func material(dir string, newSupabase, newIdentity func() (string, error)) (Material, error) {
	secret, err := loadOrCreate(filepath.Join(dir, SupabaseFile), newSupabase)
	if err != nil {
		return Material{}, err
	}
	idPEM, err := loadOrCreate(filepath.Join(dir, IdentityKeyFile), newIdentity)
	if err != nil {
		return Material{}, err
	}
	idKey, err := pemkey.ParsePrivateRSA(idPEM)
	if err != nil {
		return Material{}, fmt.Errorf("%s: %w", IdentityKeyFile, err)
	}
	return Material{SupabaseSecret: strings.TrimSpace(secret), IdentityKey: idKey}, nil
}

// LoadOrCreateSecret reads a random development secret from dir/name,
// creating it on first use.
func LoadOrCreateSecret(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("development folder: %w", err)
	}
	v, err := loadOrCreate(filepath.Join(dir, name), newSecret)
	return strings.TrimSpace(v), err
}

// LoadSecret reads what LoadOrCreateSecret made, creating nothing; a
// missing file is an error wrapping ErrNotPrepared.
func LoadSecret(dir, name string) (string, error) {
	v, err := loadOrCreate(filepath.Join(dir, name), nil)
	return strings.TrimSpace(v), err
}

// ErrUnsafeFile means a development key file is a link, someone else's,
// or readable by others: whoever could write or read it could mint tokens
// the development server accepts.
var ErrUnsafeFile = errors.New("unsafe development key file")

// ErrNotPrepared means the development folder lacks a file that only the
// development start path creates.
var ErrNotPrepared = errors.New("development folder not prepared")

// loadOrCreate reads path, or, when it does not exist and create is not
// nil, writes what create makes.
func loadOrCreate(path string, create func() (string, error)) (string, error) {
	b, err := readPrivateFile(path)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if create == nil {
		return "", fmt.Errorf("%w: %s has no %s", ErrNotPrepared, filepath.Dir(path), filepath.Base(path))
	}
	v, err := create()
	if err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return v, nil
}

// readPrivateFile reads a regular file of the current user that no one else
// may read or write, opened without following a link.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symbolic link", ErrUnsafeFile, path)
		}
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch st, _ := info.Sys().(*syscall.Stat_t); {
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrUnsafeFile, path)
	case st != nil && int(st.Uid) != os.Getuid():
		return nil, fmt.Errorf("%w: %s belongs to another user", ErrUnsafeFile, path)
	case info.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("%w: %s is open to other users (mode %04o); chmod 600 it", ErrUnsafeFile, path, info.Mode().Perm())
	}
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

func newRSAPEM() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	b, err := pemkey.EncodePKCS8(key)
	return string(b), err
}

func newSecret() (string, error) {
	var b [48]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]) + "\n", nil
}

// KeySetJSON is the JWK Set that verifies development identity tokens.
func KeySetJSON(key *rsa.PrivateKey) ([]byte, error) {
	kid, err := jwks.Thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return jwks.SetJSON([]jwks.Key{{Public: &key.PublicKey, Algorithm: "RS256", KID: kid}})
}

// Identity is who a development token speaks for.
type Identity struct {
	UserID string
	OrgID  string
	Role   string
}

// Default is who a development token speaks for unless told otherwise:
// the defaults of `gatepass dev-token` and of POST /dev/identity-token.
var Default = Identity{UserID: "user_dev_01", OrgID: "org_dev_01", Role: "member"}

// Lifetimes of development tokens: DefaultTTL unless told otherwise, never
// more than MaxTTL.
const (
	DefaultTTL = 12 * time.Hour
	MaxTTL     = 7 * 24 * time.Hour
)

// maxFieldBytes bounds each part of an identity: identity providers' ids
// are a few dozen bytes.
const maxFieldBytes = 128

// FieldError is an identity refused for one of its parts: "user", "org",
// "role" or "ttl", as the request body and the flags name them.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Check refuses an identity a development token cannot speak for: no
// user, or a part too long or holding control characters. An empty
// organization or role is none.
func (who Identity) Check() error {
	if who.UserID == "" {
		return &FieldError{Field: "user", Reason: "is required"}
	}
	for _, f := range []struct{ name, value string }{{"user", who.UserID}, {"org", who.OrgID}, {"role", who.Role}} {
		if len(f.value) > maxFieldBytes {
			return &FieldError{Field: f.name, Reason: fmt.Sprintf("must be at most %d bytes", maxFieldBytes)}
		}
		if !utf8.ValidString(f.value) || strings.ContainsFunc(f.value, unicode.IsControl) {
			return &FieldError{Field: f.name, Reason: "must be printable UTF-8 text"}
		}
	}
	return nil
}

// Issue checks who and ttl, then mints: the one path of `gatepass
// dev-token` and of POST /dev/identity-token. A refusal is a *FieldError.
func Issue(key *rsa.PrivateKey, who Identity, now time.Time, ttl time.Duration) (string, error) {
	if err := who.Check(); err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > MaxTTL {
		return "", &FieldError{Field: "ttl", Reason: "must be between 1s and 168h"}
	}
	return Mint(key, who, now, ttl)
}

// Mint signs a development identity token shaped like a WorkOS AuthKit
// access token (sub, org_id, role), valid for ttl from now.
func Mint(key *rsa.PrivateKey, who Identity, now time.Time, ttl time.Duration) (string, error) {
	if who.UserID == "" {
		return "", errors.New("a user id is required")
	}
	kid, err := jwks.Thumbprint(&key.PublicKey)
	if err != nil {
		return "", err
	}
	claims := jwt.MapClaims{
		"iss": Issuer,
		"sub": who.UserID,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if who.OrgID != "" {
		claims["org_id"] = who.OrgID
	}
	if who.Role != "" {
		claims["role"] = who.Role
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

// LoadOrCreateOfficeKey returns the PEM of the development office key for
// alg, created on first use: one RSA key for RS256 and PS256, a key of the
// right type in its own file otherwise.
func LoadOrCreateOfficeKey(dir, alg string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("development folder: %w", err)
	}
	return loadOrCreate(filepath.Join(dir, officeKeyFile(alg)), func() (string, error) {
		key, err := gosigner.Generate(alg)
		if err != nil {
			return "", err
		}
		b, err := pemkey.EncodePKCS8(key)
		return string(b), err
	})
}

// LoadOfficeKey reads what LoadOrCreateOfficeKey made, creating nothing;
// a missing file is an error wrapping ErrNotPrepared.
func LoadOfficeKey(dir, alg string) (string, error) {
	return loadOrCreate(filepath.Join(dir, officeKeyFile(alg)), nil)
}

// officeKeyFile is the file of alg's development office key: one RSA key
// for RS256 and PS256, a key of the right type in its own file otherwise.
func officeKeyFile(alg string) string {
	if alg != "RS256" && alg != "PS256" {
		return "office-key-" + strings.ToLower(alg) + ".pem"
	}
	return OfficeKeyFile
}
