package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// GrantNATS is a NATS user JWT: the credentials a NATS client connects
// with to a server in operator mode.
const GrantNATS GrantKind = "nats"

// TransportNATS is NATS in a revocation's fan-out.
const TransportNATS Transport = "nats"

// The NATS transport's kind and its section of the policy.
var _ = registerTransport(30, NATSRules{}, GrantNATS)

//go:generate go tool mockgen -typed -destination=mocks/nats.go -package=mocks . NATSSigner,NATSUserKeys

// NATSSigner signs NATS user JWTs with an account signing key.
type NATSSigner interface {
	SignNATSUser(ctx context.Context, c NATSUserClaims) (string, error)
}

// NATSUserKeys checks and makes NATS user keys (nkeys whose public form
// starts with U).
type NATSUserKeys interface {
	// CheckUserKey is nil when publicKey is a user public key; otherwise
	// an error that wraps ErrInvalidUserKey.
	CheckUserKey(publicKey string) error
	// NewUserKey makes a fresh user key and returns its public key; its
	// seed is discarded, so the JWT made for it is a bearer JWT.
	NewUserKey() (string, error)
}

// ErrInvalidUserKey means a NATS user public key given with a request is
// not one.
var ErrInvalidUserKey = errors.New("invalid user key")

// NATSRequest is what a caller asks of a NATS user JWT: for the user key
// it holds the seed of, or, when UserPublicKey is empty, a bearer JWT for
// a fresh key.
type NATSRequest struct {
	UserPublicKey string
}

// NATSInboxPrefix is the inbox prefix of user userID: the one reply inbox
// the default policy lets it subscribe to.
func NATSInboxPrefix(userID string) string { return "_INBOX." + userID }

// NATSPermissions are a NATS user's rights: the subjects it may publish
// and subscribe to, and whether it may answer requests. An empty Publish
// list in a user JWT means every subject: only Respond narrows it to
// replies, so NewNATSUserClaims refuses an empty Publish without Respond.
type NATSPermissions struct {
	Publish   []string
	Subscribe []string
	// Respond lets the user publish one answer to each request it
	// receives ("resp").
	Respond bool
}

// NATSUserClaims are the claims of a NATS user JWT. Registered's Issuer is
// the account signing key's public key, its Subject the user key; there is
// no audience.
type NATSUserClaims struct {
	Registered
	// Name is the caller's user id.
	Name string
	// OrgID is the caller's organization, kept with the user key while
	// the JWT lives (GrantKeyStore); not a claim.
	OrgID string
	// IssuerAccount is the account's public key.
	IssuerAccount string
	// Tags are org:<orgId> and role:<role>, labels for operators: the NATS
	// library lowercases them, so they are never matched against ids.
	Tags []string
	// Bearer is true when the server must not ask the client to sign its
	// nonce with the user key: the key's seed was discarded.
	Bearer      bool
	Permissions NATSPermissions
	// InboxPrefix is the caller's inbox prefix (NATSInboxPrefix).
	InboxPrefix string
}

// NewNATSUserClaims builds the claims of a user JWT for userKey, a checked
// user public key, in account, with the rights perms. bearer says whether
// the key's seed was discarded.
func NewNATSUserClaims(p Principal, userKey string, bearer bool, account string, perms NATSPermissions, in Issuance) (NATSUserClaims, error) {
	if !p.HasOrganization() {
		return NATSUserClaims{}, ErrNoOrganization
	}
	switch {
	case account == "":
		return NATSUserClaims{}, fmt.Errorf("%w: account is empty", ErrInvalidClaims)
	case len(perms.Publish) == 0 && !perms.Respond:
		// The server would read an empty publish list as every subject.
		return NATSUserClaims{}, fmt.Errorf("%w: no publish subject and no response permission", ErrInvalidClaims)
	}
	reg, err := newRegisteredAnyAudience(userKey, in)
	if err != nil {
		return NATSUserClaims{}, err
	}
	reg.NotBefore = time.Time{}
	return NATSUserClaims{
		Registered:    reg,
		Name:          p.UserID,
		OrgID:         p.OrgID,
		IssuerAccount: account,
		Tags:          []string{"org:" + p.OrgID, "role:" + p.EffectiveRole()},
		Bearer:        bearer,
		Permissions: NATSPermissions{
			Publish:   slices.Clone(perms.Publish),
			Subscribe: slices.Clone(perms.Subscribe),
			Respond:   perms.Respond,
		},
		InboxPrefix: NATSInboxPrefix(p.UserID),
	}, nil
}

// The subject prefixes a policy's NATS subjects may start with: each is a
// caller's own, so no rule can give one caller another's subjects.
var natsSubjectRoots = [][2]string{
	{"org", PlaceholderOrgID},
	{"user", PlaceholderUserID},
	{"_INBOX", PlaceholderUserID},
}

// ParseNATSSubject checks a subject a policy rule names: tokens separated
// by dots, each {orgId}, {userId}, *, > (last only) or one or more of
// A-Z a-z 0-9 _ -; it starts with org.{orgId}., user.{userId}. or
// _INBOX.{userId}. and goes on for at least one more token. Errors wrap
// ErrInvalidPolicy.
func ParseNATSSubject(s string) error {
	if err := natsSubjectProblem(s); err != nil {
		return fmt.Errorf("%w: subject %q: %v", ErrInvalidPolicy, s, err)
	}
	return nil
}

func natsSubjectProblem(s string) error {
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return errors.New("empty token: tokens are separated by single dots")
		case t == ">":
			if i != len(tokens)-1 {
				return errors.New("> may only be the last token")
			}
		case t == "*", t == PlaceholderOrgID, t == PlaceholderUserID:
		case strings.ContainsAny(t, "{}"):
			return fmt.Errorf("a placeholder is a whole token, %s or %s", PlaceholderOrgID, PlaceholderUserID)
		case strings.ContainsAny(t, "*>"):
			return errors.New("* and > are whole tokens")
		case !safeChars(t):
			return errors.New("a token holds only A-Z a-z 0-9 _ -")
		}
	}
	if len(tokens) < 3 || !slices.ContainsFunc(natsSubjectRoots[:], func(r [2]string) bool {
		return tokens[0] == r[0] && tokens[1] == r[1]
	}) {
		return errors.New("a subject starts with org.{orgId}., user.{userId}. or _INBOX.{userId}. and names more after it")
	}
	return nil
}

// expandNATSSubject replaces the placeholders of a parsed subject with the
// caller's ids, which Rights has checked.
func expandNATSSubject(s string, caller Principal) string {
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch t {
		case PlaceholderOrgID:
			tokens[i] = caller.OrgID
		case PlaceholderUserID:
			tokens[i] = caller.UserID
		}
	}
	return strings.Join(tokens, ".")
}

// NATSSubjectRule lets its Subjects (whom it applies to) use the NATS
// subjects of Names, each a subject ParseNATSSubject accepts.
type NATSSubjectRule struct {
	Subjects `yaml:",inline"`
	Names    []string `yaml:"subjects,flow"`
}

// NATSRules are NATS's section of the policy ("nats"): who connects, and
// the subjects one publishes and subscribes to. Every caller that connects
// may answer requests.
type NATSRules struct {
	Connect   []Subjects        `yaml:"connect"`
	Publish   []NATSSubjectRule `yaml:"publish"`
	Subscribe []NATSSubjectRule `yaml:"subscribe"`
}

var _ PolicySection = NATSRules{}

// PolicyKey is "nats".
func (NATSRules) PolicyKey() string { return "nats" }

// PolicyTitle is "NATS".
func (NATSRules) PolicyTitle() string { return "NATS" }

// PolicyComments document each list.
func (NATSRules) PolicyComments() []PolicyComment {
	const subjects = `A subject is tokens separated by dots: {orgId}, {userId}, * (one
token), > (the rest, last only) or A-Z a-z 0-9 _ -. It starts with
org.{orgId}., user.{userId}. or _INBOX.{userId}.: a caller's own.`
	return []PolicyComment{
		{Path: []string{"connect"}, Text: `Who may connect to NATS. Every caller that connects may answer
requests (one reply to each request it receives).`},
		{Path: []string{"publish"}, Text: "Subjects a caller may publish to. A caller no rule names\npublishes only replies.\n" + subjects},
		{Path: []string{"subscribe"}, Text: "Subjects a caller may subscribe to. Give _INBOX.{userId}.> for\nrequest/reply: clients set the inbox prefix _INBOX.<userId>.\n" + subjects},
	}
}

// PolicySummary counts the rules of each list.
func (r NATSRules) PolicySummary() string {
	return fmt.Sprintf("NATS: %d connect, %d publish, %d subscribe rule(s)", len(r.Connect), len(r.Publish), len(r.Subscribe))
}

// DefaultSection: every member of an organization connects, subscribes to
// org.<orgId>.> and to its own inbox _INBOX.<userId>.> (never _INBOX.>,
// where anyone in the account would read everyone's replies); admin and
// member (the role of an identity that names none) also publish to
// org.<orgId>.>; every other role publishes only replies.
func (NATSRules) DefaultSection() PolicySection {
	org := "org." + PlaceholderOrgID + ".>"
	return NATSRules{
		Connect: []Subjects{{Roles: []string{AnyRole}}},
		Publish: []NATSSubjectRule{{
			Subjects: Subjects{Roles: []string{"admin", DefaultRole}},
			Names:    []string{org},
		}},
		Subscribe: []NATSSubjectRule{{
			Subjects: Subjects{Roles: []string{AnyRole}},
			Names:    []string{org, NATSInboxPrefix(PlaceholderUserID) + ".>"},
		}},
	}
}

// SectionProblems checks every rule: its subjects (whom it applies to),
// and NATS subjects that parse and are named once.
func (r NATSRules) SectionProblems(at PolicyPath) []PolicyProblem {
	var v validator
	for i, s := range r.Connect {
		v.subjects(at.field("connect").index(i), s)
	}
	for _, list := range []struct {
		name  string
		rules []NATSSubjectRule
	}{{"publish", r.Publish}, {"subscribe", r.Subscribe}} {
		for i, rule := range list.rules {
			path := at.field(list.name).index(i)
			v.subjects(path, rule.Subjects)
			if len(rule.Names) == 0 {
				v.add(path.field("subjects"), "the rule names no subject")
			}
			seen := map[string]bool{}
			for j, s := range rule.Names {
				p := path.field("subjects").index(j)
				if err := natsSubjectProblem(s); err != nil {
					v.add(p, "subject %q: %v", s, err)
					continue
				}
				if seen[s] {
					v.add(p, "duplicate subject %q", s)
				}
				seen[s] = true
			}
		}
	}
	return v.problems
}

// Prepared copies every list; the rules must be valid.
func (r NATSRules) Prepared() PolicySection {
	var out NATSRules
	if r.Connect != nil {
		out.Connect = make([]Subjects, len(r.Connect))
		for i, s := range r.Connect {
			out.Connect[i] = s.clone()
		}
	}
	prepare := func(rules []NATSSubjectRule) []NATSSubjectRule {
		if rules == nil {
			return nil
		}
		out := make([]NATSSubjectRule, len(rules))
		for i, rule := range rules {
			out[i] = NATSSubjectRule{Subjects: rule.Subjects.clone(), Names: slices.Clone(rule.Names)}
		}
		return out
	}
	out.Publish, out.Subscribe = prepare(r.Publish), prepare(r.Subscribe)
	return out
}

// Rights are the caller's NATS permissions: ErrNoOrganization without an
// organization, ErrUnsupportedIdentifier when its organization or user id
// holds characters other than A-Z a-z 0-9 _ - (they name its subjects and
// its inbox), ErrTransportNotAllowed when no rule lets it connect.
// Respond is always set: a caller no publish rule names publishes replies
// only, never every subject.
func (r NATSRules) Rights(caller Principal) (NATSPermissions, error) {
	if !caller.HasOrganization() {
		return NATSPermissions{}, ErrNoOrganization
	}
	if !SafeIdentifier(caller.OrgID) || !SafeIdentifier(caller.UserID) {
		return NATSPermissions{}, fmt.Errorf("%w: nats subjects", ErrUnsupportedIdentifier)
	}
	if !slices.ContainsFunc(r.Connect, func(s Subjects) bool { return s.Matches(caller) }) {
		return NATSPermissions{}, fmt.Errorf("%w: nats", ErrTransportNotAllowed)
	}
	expand := func(rules []NATSSubjectRule) []string {
		var out []string
		for _, rule := range rules {
			if !rule.Matches(caller) {
				continue
			}
			for _, s := range rule.Names {
				out = append(out, expandNATSSubject(s, caller))
			}
		}
		if len(out) == 0 {
			return nil
		}
		return slices.Compact(slices.Sorted(slices.Values(out)))
	}
	return NATSPermissions{Publish: expand(r.Publish), Subscribe: expand(r.Subscribe), Respond: true}, nil
}

// Bounds of a NATS user JWT's lifetime.
const (
	MinNATSTTL = time.Minute
	MaxNATSTTL = 24 * time.Hour
)

// NATSSettings are how NATS user JWTs are minted.
type NATSSettings struct {
	// Servers are the URLs handed to clients (nats://, tls://, ws://,
	// wss://), the first one as server_url.
	Servers []string
	// Account is the account's public key, the JWTs' issuer_account.
	Account string
	// SigningKey is the public key of the account signing key: the JWTs'
	// iss.
	SigningKey string
	// TTL is the JWTs' lifetime.
	TTL time.Duration
}

// NewNATSSettings checks NATS settings: at least one server URL, the
// account and signing key named, the lifetime within MinNATSTTL and
// MaxNATSTTL. Whether the keys are well formed is the signer's question
// (it holds the NATS library). Every problem is reported, joined; each is
// a *SettingError.
func NewNATSSettings(s NATSSettings) (NATSSettings, error) {
	var errs []error
	if len(s.Servers) == 0 || slices.Contains(s.Servers, "") {
		errs = append(errs, &SettingError{Field: "Servers", Reason: "must name at least one server URL, none empty", Err: ErrInvalidClaims})
	}
	if s.Account == "" {
		errs = append(errs, &SettingError{Field: "Account", Reason: "must not be empty", Err: ErrInvalidClaims})
	}
	if s.SigningKey == "" {
		errs = append(errs, &SettingError{Field: "SigningKey", Reason: "must not be empty", Err: ErrInvalidClaims})
	}
	errs = append(errs, TTLWithin("TTL", s.TTL, MinNATSTTL, MaxNATSTTL))
	if err := errors.Join(errs...); err != nil {
		return NATSSettings{}, err
	}
	s.Servers = slices.Clone(s.Servers)
	return s, nil
}

// NATSGrant is a NATS user JWT with the servers to connect to and the
// caller's inbox prefix.
type NATSGrant struct {
	Grant
	// ServerURL is the first of Servers.
	ServerURL   string
	Servers     []string
	InboxPrefix string
}

// NATSDefinition is the NATS grant kind: a user JWT with the rights the
// policy gives the caller (NATSRules.Rights), for the user key the request
// names (checked by keys) or, without one, a bearer JWT for a fresh key
// that keys makes. It refuses the settings NewNATSSettings refuses, with
// the same *SettingError, and a nil keys.
func NATSDefinition(s NATSSettings, keys NATSUserKeys) (GrantDefinition[NATSRequest, NATSPermissions, NATSUserClaims, NATSGrant], error) {
	s, err := NewNATSSettings(s)
	if err == nil && keys == nil {
		err = fmt.Errorf("user keys: %w", ErrSettingMissing)
	}
	if err != nil {
		return GrantDefinition[NATSRequest, NATSPermissions, NATSUserClaims, NATSGrant]{}, fmt.Errorf("%s settings: %w", GrantNATS, err)
	}
	return GrantDefinition[NATSRequest, NATSPermissions, NATSUserClaims, NATSGrant]{
		kind: GrantNATS, issuer: s.SigningKey, ttl: s.TTL,
		authorize: func(rules PolicyRules, caller Principal, req NATSRequest) (NATSPermissions, error) {
			perms, err := PolicySectionOf[NATSRules](rules).Rights(caller)
			if err != nil {
				return NATSPermissions{}, err
			}
			if req.UserPublicKey != "" {
				if err := keys.CheckUserKey(req.UserPublicKey); err != nil {
					return NATSPermissions{}, err
				}
			}
			return perms, nil
		},
		claims: func(caller Principal, req NATSRequest, perms NATSPermissions, in Issuance) (NATSUserClaims, error) {
			key, bearer := req.UserPublicKey, req.UserPublicKey == ""
			if bearer {
				var err error
				if key, err = keys.NewUserKey(); err != nil {
					return NATSUserClaims{}, fmt.Errorf("new user key: %w", err)
				}
			}
			return NewNATSUserClaims(caller, key, bearer, s.Account, perms, in)
		},
		result: func(g Grant, c NATSUserClaims) NATSGrant {
			return NATSGrant{Grant: g, ServerURL: s.Servers[0], Servers: slices.Clone(s.Servers), InboxPrefix: c.InboxPrefix}
		},
	}, nil
}
