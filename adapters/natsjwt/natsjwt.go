// Package natsjwt signs and verifies NATS user JWTs with NATS's own
// libraries (github.com/nats-io/jwt/v2 and github.com/nats-io/nkeys):
// Ed25519 nkeys, "alg": "ed25519-nkey", signed by an account signing key.
package natsjwt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.NATSSigner   = (*Signer)(nil)
	_ domain.NATSUserKeys = UserKeys{}
)

// Errors of the keys an operator gives.
var (
	// ErrAccountKey means an account public key is not one (A...).
	ErrAccountKey = errors.New("not an account public key (A...)")
	// ErrAccountSeed means a signing key is not an account seed (SA...):
	// a user, operator or malformed seed.
	ErrAccountSeed = errors.New("not an account seed (SA...)")
	// ErrUserJWT means a user JWT does not verify.
	ErrUserJWT = errors.New("invalid user JWT")
)

// Signer signs user JWTs with an account signing key, for one account.
type Signer struct {
	account string
	key     nkeys.KeyPair
	public  string
}

// NewSigner returns a signer for account (its public key) with the
// account signing key seed. It refuses an account key that is not one
// (ErrAccountKey) and a seed that is not an account seed (ErrAccountSeed):
// the server would refuse every JWT.
func NewSigner(account string, seed []byte) (*Signer, error) {
	var errs []error
	if err := CheckAccount(account); err != nil {
		errs = append(errs, err)
	}
	public, key, err := accountSeed(seed)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Signer{account: account, key: key, public: public}, nil
}

// CheckAccount is nil when account is an account public key.
func CheckAccount(account string) error {
	if len(account) != publicKeyLen || !nkeys.IsValidPublicAccountKey(account) {
		return ErrAccountKey
	}
	return nil
}

// SigningKeyOf is the public key of an account seed: the iss of the JWTs it
// signs. It refuses anything but an account seed (ErrAccountSeed).
func SigningKeyOf(seed []byte) (string, error) {
	public, key, err := accountSeed(seed)
	if key != nil {
		key.Wipe()
	}
	return public, err
}

func accountSeed(seed []byte) (string, nkeys.KeyPair, error) {
	prefix, _, err := nkeys.DecodeSeed(seed)
	if err != nil || prefix != nkeys.PrefixByteAccount {
		return "", nil, ErrAccountSeed
	}
	key, err := nkeys.FromSeed(seed)
	if err != nil {
		return "", nil, ErrAccountSeed
	}
	public, err := key.PublicKey()
	if err != nil {
		return "", nil, ErrAccountSeed
	}
	return public, key, nil
}

// SigningKey is the signing key's public key: the iss of every JWT.
func (s *Signer) SigningKey() string { return s.public }

// Account is the account's public key: the issuer_account of every JWT.
func (s *Signer) Account() string { return s.account }

// SignNATSUser signs a user JWT: iss the signing key, sub the user key,
// name the user id, exp, aud when the claims name one, and under "nats"
// issuer_account, tags, bearer_token and the permissions ("resp" allows
// one reply per request). The library sets iat to the time of signing and
// jti to a hash of the claims.
func (s *Signer) SignNATSUser(_ context.Context, c domain.NATSUserClaims) (string, error) {
	switch {
	case c.Issuer != s.public:
		return "", errors.New("nats user claims name another signing key")
	case c.IssuerAccount != s.account:
		return "", errors.New("nats user claims name another account")
	}
	uc := jwt.NewUserClaims(c.Subject)
	if uc == nil {
		return "", errors.New("nats user claims: no user key")
	}
	uc.Name = c.Name
	uc.Audience = c.Audience
	uc.Expires = c.ExpiresAt.Unix()
	uc.IssuerAccount = c.IssuerAccount
	uc.BearerToken = c.Bearer
	uc.Tags.Add(c.Tags...)
	uc.Pub.Allow.Add(c.Permissions.Publish...)
	uc.Sub.Allow.Add(c.Permissions.Subscribe...)
	if c.Permissions.Respond {
		uc.Resp = &jwt.ResponsePermission{MaxMsgs: 1}
	}
	vr := jwt.CreateValidationResults()
	uc.Validate(vr)
	if errs := vr.Errors(); len(errs) > 0 {
		return "", fmt.Errorf("nats user claims: %w", errors.Join(errs...))
	}
	token, err := uc.Encode(s.key)
	if err != nil {
		return "", fmt.Errorf("encode nats user JWT: %w", err)
	}
	return token, nil
}

// UserKeys checks and makes user nkeys.
type UserKeys struct{}

// publicKeyLen is the length of an nkey public key: a prefix byte, 32
// bytes of key and a 2-byte checksum, in base32. The library's check
// alone lets a character more through.
const publicKeyLen = 56

// CheckUserKey is nil when publicKey is a user public key (U...).
func (UserKeys) CheckUserKey(publicKey string) error {
	if len(publicKey) != publicKeyLen || !nkeys.IsValidPublicUserKey(publicKey) {
		return fmt.Errorf("%w: not a user public key (U...)", domain.ErrInvalidUserKey)
	}
	return nil
}

// NewUserKey makes a user key, wipes its seed and returns its public key.
func (UserKeys) NewUserKey() (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", err
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

// VerifyUser checks a user JWT as a server of account would before it
// asks for the nonce: its signature by its iss, an account key; the
// account, as iss or as issuer_account (then iss is one of its signing
// keys, which only the account's JWT lists); the claims' own rules; and
// its times at now. Errors wrap ErrUserJWT.
func VerifyUser(token, account string, now time.Time) error {
	if err := CheckAccount(account); err != nil {
		return err
	}
	uc, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUserJWT, err)
	}
	issuerAccount := uc.IssuerAccount
	if issuerAccount == "" {
		issuerAccount = uc.Issuer
	}
	switch {
	case !nkeys.IsValidPublicAccountKey(uc.Issuer):
		return fmt.Errorf("%w: iss is not an account key", ErrUserJWT)
	case issuerAccount != account:
		return fmt.Errorf("%w: issued for another account", ErrUserJWT)
	case uc.Expires != 0 && now.Unix() >= uc.Expires:
		return fmt.Errorf("%w: expired at %s", ErrUserJWT, time.Unix(uc.Expires, 0).UTC().Format(time.RFC3339))
	case uc.NotBefore != 0 && now.Unix() < uc.NotBefore:
		return fmt.Errorf("%w: not valid before %s", ErrUserJWT, time.Unix(uc.NotBefore, 0).UTC().Format(time.RFC3339))
	}
	vr := jwt.CreateValidationResults()
	uc.Validate(vr)
	if errs := vr.Errors(); len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrUserJWT, errors.Join(errs...))
	}
	return nil
}
