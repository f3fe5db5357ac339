// Package natsjwt signs and verifies NATS user JWTs with NATS's own
// libraries (github.com/nats-io/jwt/v2 and github.com/nats-io/nkeys):
// Ed25519 nkeys, "alg": "ed25519-nkey", signed by an account signing key.
// It records the user key of every JWT it signs (Recording), and evicts a
// revoked user's connections through the server's system account
// (Evictor), finding them by those keys.
package natsjwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.NATSSigner   = (*Signer)(nil)
	_ domain.NATSUserKeys = UserKeys{}
	_ domain.Evictor      = (*Evictor)(nil)
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
	// ErrCreds means a file is not a credentials file: a user JWT and a
	// user seed.
	ErrCreds = errors.New("not a credentials file")
	// ErrNoAnswer means no server answered a system request.
	ErrNoAnswer = errors.New("no server answered")
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

// Recording is sign that first keeps the user key of the JWT it is about
// to sign in keys, by user and organization, until the JWT expires: the
// evictor finds a revoked user's connections by these keys. A key that
// cannot be kept fails the signature: a JWT the evictor cannot find could
// not be taken back.
func Recording(keys domain.GrantKeyStore, sign func(context.Context, domain.NATSUserClaims) (string, error)) func(context.Context, domain.NATSUserClaims) (string, error) {
	if sign == nil || keys == nil {
		return sign
	}
	return func(ctx context.Context, c domain.NATSUserClaims) (string, error) {
		k := domain.GrantKey{UserID: c.Name, OrgID: c.OrgID, Key: c.Subject, ExpiresAt: c.ExpiresAt}
		if err := keys.RecordGrantKey(ctx, domain.TransportNATS, k); err != nil {
			return "", fmt.Errorf("record nats user key: %w", err)
		}
		return sign(ctx, c)
	}
}

// CheckCreds reads path as a credentials file (a user JWT and a user
// seed); errors wrap ErrCreds and never quote the file.
func CheckCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%w: cannot be read: %v", ErrCreds, err)
	}
	// ParseDecoratedJWT answers undecorated text as it is: decode it.
	token, err := jwt.ParseDecoratedJWT(b)
	if err == nil {
		_, err = jwt.DecodeUserClaims(token)
	}
	if err != nil {
		return fmt.Errorf("%w: holds no user JWT", ErrCreds)
	}
	kp, err := jwt.ParseDecoratedUserNKey(b)
	if err != nil {
		return fmt.Errorf("%w: holds no user seed (SU...)", ErrCreds)
	}
	defer kp.Wipe()
	if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return fmt.Errorf("%w: holds no user seed (SU...)", ErrCreds)
	}
	return nil
}

// EvictorConfig is how the evictor reaches the servers: their URLs, and
// the credentials of a user of the system account.
type EvictorConfig struct {
	// Account is the account whose connections are looked at (A...).
	Account string
	// Servers are the URLs to connect to, all of one kind (nats:// and
	// tls://, or ws:// and wss://).
	Servers []string
	// CredsFile is a system account user's credentials file.
	CredsFile string
}

// Evictor closes a revoked user's connections: it lists the account's
// connections on every server ($SYS.REQ.ACCOUNT.<account>.CONNZ, with the
// user each authenticated as) and kicks those of the user's recorded keys
// ($SYS.REQ.SERVER.<id>.KICK). A connection admitted by the auth callout
// is known by its user id (the JWT's name) instead, and by its org tag,
// which the server keeps in lower case: an organization-scoped revocation
// also closes the user's callout connections in an organization whose id
// differs only in letter case; they reconnect through the callout, which
// serves them where they are not revoked.
type Evictor struct {
	cfg  EvictorConfig
	keys domain.GrantKeyStore
	// quiet is how long to wait for more servers to answer after an answer.
	quiet time.Duration
}

// connzPage is how many connections one CONNZ answer lists.
const connzPage = 1024

// NewEvictor returns the evictor for cfg, finding keys in keys.
func NewEvictor(cfg EvictorConfig, keys domain.GrantKeyStore) (*Evictor, error) {
	if err := CheckAccount(cfg.Account); err != nil {
		return nil, err
	}
	if len(cfg.Servers) == 0 {
		return nil, errors.New("no server URL")
	}
	if err := CheckCreds(cfg.CredsFile); err != nil {
		return nil, err
	}
	return &Evictor{cfg: cfg, keys: keys, quiet: 250 * time.Millisecond}, nil
}

// Transport is NATS.
func (e *Evictor) Transport() domain.Transport { return domain.TransportNATS }

// Evict kicks r's user's connections whose key was recorded for r's
// organization (every organization's for all_organizations), on every
// server of the cluster. Without a recorded key, it connects to nothing.
func (e *Evictor) Evict(ctx context.Context, r domain.Revocation) (domain.Eviction, error) {
	org := r.OrgID
	if r.AllOrganizations {
		org = ""
	}
	keys, err := e.keys.GrantKeys(ctx, domain.TransportNATS, r.UserID, org)
	if err != nil {
		return domain.Eviction{}, err
	}
	if len(keys) == 0 {
		return domain.Eviction{Status: domain.EvictionDone}, nil
	}
	recorded := make(map[string]bool, len(keys))
	for _, k := range keys {
		recorded[k] = true
	}
	match := func(c connInfo) bool {
		if recorded[c.AuthorizedUser] {
			return true
		}
		// Through the auth callout: the user id, and the org tag.
		return c.AuthorizedUser == r.UserID && (org == "" || c.hasTag("org:"+strings.ToLower(org)))
	}

	opts := []nats.Option{nats.UserCredentials(e.cfg.CredsFile), nats.Name("gatepass evictor"), nats.NoReconnect()}
	if d, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(d)))
	}
	nc, err := nats.Connect(strings.Join(e.cfg.Servers, ","), opts...)
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("connect with the system account: %w", err)
	}
	defer nc.Close()

	n := 0
	err = e.eachServer(ctx, nc, func(a connzAnswer) error {
		kicked, err := e.kickMatching(ctx, nc, a, match)
		n += kicked
		return err
	})
	if err != nil {
		return domain.Eviction{}, err
	}
	return domain.Eviction{Status: domain.EvictionDone, Count: n}, nil
}

// connInfo is what the evictor reads of a connection in a CONNZ answer.
type connInfo struct {
	CID            uint64   `json:"cid"`
	AuthorizedUser string   `json:"authorized_user"`
	Tags           []string `json:"tags"`
}

func (c connInfo) hasTag(tag string) bool {
	for _, t := range c.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// connzAnswer is a server's answer to a CONNZ request.
type connzAnswer struct {
	Server struct {
		ID string `json:"id"`
	} `json:"server"`
	Data struct {
		Total  int        `json:"total"`
		Offset int        `json:"offset"`
		Conns  []connInfo `json:"connections"`
	} `json:"data"`
	Error *struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
}

// connzRequest is a CONNZ request: the users, a page of connections, in
// one account when asked of a server.
type connzRequest struct {
	Auth   bool   `json:"auth"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
	Sort   string `json:"sort"`
	Acc    string `json:"acc,omitempty"`
}

// kickMatching kicks the connections match picks in a, a server's first
// page of the account's connections, and in the pages that follow, which
// are asked of that server; it answers how many it closed.
func (e *Evictor) kickMatching(ctx context.Context, nc *nats.Conn, a connzAnswer, match func(connInfo) bool) (int, error) {
	n := 0
	for {
		onPage := 0
		for _, c := range a.Data.Conns {
			if !match(c) {
				continue
			}
			kicked, err := kick(ctx, nc, a.Server.ID, c.CID)
			if err != nil {
				return n, err
			}
			if kicked {
				n++
				onPage++
			}
		}
		if len(a.Data.Conns) == 0 || a.Data.Offset+len(a.Data.Conns) >= a.Data.Total {
			return n, nil
		}
		// Kicked connections leave the list: the next page starts earlier
		// by as many; one listed again answers "no such client", uncounted.
		next := a.Data.Offset + len(a.Data.Conns) - onPage
		req := connzRequest{Auth: true, Offset: next, Limit: connzPage, Sort: "cid", Acc: e.cfg.Account}
		var err error
		if a, err = ask[connzAnswer](ctx, nc, fmt.Sprintf("$SYS.REQ.SERVER.%s.CONNZ", a.Server.ID), req); err != nil {
			return n, err
		}
		if a.Error != nil {
			return n, fmt.Errorf("connz: %s", a.Error.Description)
		}
	}
}

// eachServer asks every server of the cluster for the account's
// connections ($SYS.REQ.ACCOUNT.<account>.CONNZ, answered by each server
// that has some) and hands each answer to handle as it comes, until no
// answer has come for e.quiet after the last: the servers' count is not
// known in advance.
func (e *Evictor) eachServer(ctx context.Context, nc *nats.Conn, handle func(connzAnswer) error) error {
	body, err := json.Marshal(connzRequest{Auth: true, Limit: connzPage, Sort: "cid"})
	if err != nil {
		return err
	}
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("connz: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(fmt.Sprintf("$SYS.REQ.ACCOUNT.%s.CONNZ", e.cfg.Account), inbox, body); err != nil {
		return fmt.Errorf("connz: %w", err)
	}
	answered := false
	for {
		wait, cancel := ctx, context.CancelFunc(func() {})
		if answered {
			wait, cancel = context.WithTimeout(ctx, e.quiet)
		}
		m, err := sub.NextMsgWithContext(wait)
		cancel()
		switch {
		case err != nil && answered && ctx.Err() == nil:
			return nil
		case err != nil:
			return fmt.Errorf("connz: %w: %w", ErrNoAnswer, err)
		}
		var a connzAnswer
		if err := json.Unmarshal(m.Data, &a); err != nil {
			return fmt.Errorf("connz answer: %w", err)
		}
		if a.Error != nil {
			return fmt.Errorf("connz: %s", a.Error.Description)
		}
		answered = true
		if err := handle(a); err != nil {
			return err
		}
	}
}

// ask sends req to subject, answered by one server.
func ask[A any](ctx context.Context, nc *nats.Conn, subject string, req any) (A, error) {
	var a A
	body, err := json.Marshal(req)
	if err != nil {
		return a, err
	}
	m, err := nc.RequestWithContext(ctx, subject, body)
	if err != nil {
		return a, fmt.Errorf("%s: %w", subject, err)
	}
	if err := json.Unmarshal(m.Data, &a); err != nil {
		return a, fmt.Errorf("%s answer: %w", subject, err)
	}
	return a, nil
}

// kick closes connection cid on server; false when it had closed already.
func kick(ctx context.Context, nc *nats.Conn, server string, cid uint64) (bool, error) {
	a, err := ask[connzAnswer](ctx, nc, fmt.Sprintf("$SYS.REQ.SERVER.%s.KICK", server), struct {
		CID uint64 `json:"cid"`
	}{cid})
	switch {
	case err != nil:
		return false, err
	case a.Error == nil:
		return true, nil
	case strings.Contains(a.Error.Description, "no such client"):
		return false, nil
	default:
		return false, fmt.Errorf("kick: %s", a.Error.Description)
	}
}
