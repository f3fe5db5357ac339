package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The Centrifugo grant kinds.
const (
	// GrantCentrifugoConnection is a Centrifugo connection token.
	GrantCentrifugoConnection GrantKind = "centrifugo_connection"
	// GrantCentrifugoSubscription is a Centrifugo channel subscription token.
	GrantCentrifugoSubscription GrantKind = "centrifugo_subscription"
)

// TransportCentrifugo is Centrifugo in a revocation's fan-out.
const TransportCentrifugo Transport = "centrifugo"

// The Centrifugo transport's kinds and its section of the policy.
var _ = registerTransport(20, CentrifugoRules{}, GrantCentrifugoConnection, GrantCentrifugoSubscription)

// Sentinel errors of Centrifugo subscriptions.
var (
	// ErrInvalidChannel means a channel name is missing, too long, or holds
	// white space or control characters.
	ErrInvalidChannel = errors.New("invalid channel")
	// ErrChannelNotAllowed means no rule of the policy lets the caller
	// subscribe to a channel.
	ErrChannelNotAllowed = errors.New("channel not allowed by policy")
)

//go:generate go tool mockgen -typed -destination=mocks/centrifugo.go -package=mocks . CentrifugoSigner

// CentrifugoSigner signs Centrifugo tokens with the office-router signing
// key, so Centrifugo verifies them with gatepass's JWKS.
type CentrifugoSigner interface {
	SignCentrifugoConnection(ctx context.Context, c CentrifugoConnectionClaims) (string, error)
	SignCentrifugoSubscription(ctx context.Context, c CentrifugoSubscriptionClaims) (string, error)
}

// CentrifugoGrant is a Centrifugo token: a connection token with the
// WebSocket URL, or a subscription token with its channel.
type CentrifugoGrant struct {
	Grant
	URL     string
	Channel string
}

// MaxChannelBytes is the longest Centrifugo channel name accepted.
const MaxChannelBytes = 255

// The placeholders a channel pattern may hold; each is replaced by the
// caller's verified value.
const (
	PlaceholderOrgID  = "{orgId}"
	PlaceholderUserID = "{userId}"
)

// wildcardSuffix ends a pattern that matches a family of channels.
const wildcardSuffix = ".*"

// ValidateChannel checks a channel name: present, at most MaxChannelBytes
// bytes of valid UTF-8, without white space or control characters. Errors
// wrap ErrInvalidChannel and never quote the name.
func ValidateChannel(channel string) error {
	if err := channelProblem(channel); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidChannel, err)
	}
	return nil
}

func channelProblem(channel string) error {
	switch {
	case channel == "":
		return errors.New("channel is empty")
	case len(channel) > MaxChannelBytes:
		return fmt.Errorf("channel is %d bytes, at most %d", len(channel), MaxChannelBytes)
	case !utf8.ValidString(channel):
		return errors.New("channel is not valid UTF-8")
	case strings.IndexFunc(channel, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return errors.New("channel holds white space or a control character")
	}
	return nil
}

// ChannelPattern is a channel name a policy rule names: an exact name, or a
// name ending in ".*", which matches that prefix, a dot, then one or more
// characters of A-Z a-z 0-9 _ -. The placeholders {orgId} and {userId}
// stand for the caller's verified ids.
type ChannelPattern struct {
	// body is the pattern without its ".*".
	body     string
	wildcard bool
}

// ParseChannelPattern parses a pattern; errors wrap ErrInvalidPolicy.
func ParseChannelPattern(s string) (ChannelPattern, error) {
	p, err := parseChannelPattern(s)
	if err != nil {
		return ChannelPattern{}, fmt.Errorf("%w: pattern %q: %v", ErrInvalidPolicy, s, err)
	}
	return p, nil
}

func parseChannelPattern(s string) (ChannelPattern, error) {
	p := ChannelPattern{body: s}
	if body, ok := strings.CutSuffix(s, wildcardSuffix); ok {
		if body == "" {
			return ChannelPattern{}, errors.New("a wildcard needs a prefix before .*")
		}
		p = ChannelPattern{body: body, wildcard: true}
	}
	if strings.Contains(p.body, "*") {
		return ChannelPattern{}, errors.New("* may only end a pattern, as .*")
	}
	rest := strings.NewReplacer(PlaceholderOrgID, "", PlaceholderUserID, "").Replace(p.body)
	if strings.ContainsAny(rest, "{}") {
		return ChannelPattern{}, fmt.Errorf("unknown placeholder: only %s and %s", PlaceholderOrgID, PlaceholderUserID)
	}
	if err := placeholdersApart(s); err != nil {
		return ChannelPattern{}, err
	}
	// The longest ids a placeholder can stand for must still fit.
	sample := strings.NewReplacer(PlaceholderOrgID, "o", PlaceholderUserID, "u").Replace(p.body)
	if err := channelProblem(sample); err != nil {
		return ChannelPattern{}, err
	}
	return p, nil
}

// placeholdersApart checks that every placeholder of pattern, whose braces
// are all placeholders', stands between separators no id holds: the
// pattern's start or one of . : / before it, its end or one of . : /
// after it. An id holds _ and -, so with chat:{orgId}_{userId} user c of
// organization a_b and user b_c of organization a would both get
// chat:a_b_c, and with chat:x{orgId} organization a would get
// organization xa's chat:xa.
func placeholdersApart(pattern string) error {
	const rule = "a placeholder stands between the pattern's start or end and . : /, which no id holds, " +
		"or two callers' ids could spell the same channel"
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '{' {
			continue
		}
		end := i + strings.IndexByte(pattern[i:], '}') + 1
		name := pattern[i:end]
		if before, _ := utf8.DecodeLastRuneInString(pattern[:i]); i > 0 && !idSeparator(before) {
			return fmt.Errorf("placeholder %s follows %q: %s", name, before, rule)
		}
		if after, _ := utf8.DecodeRuneInString(pattern[end:]); end < len(pattern) && !idSeparator(after) {
			return fmt.Errorf("placeholder %s is followed by %q: %s", name, after, rule)
		}
		i = end - 1
	}
	return nil
}

// idSeparator reports whether r may stand next to a placeholder: a
// character no id holds.
func idSeparator(r rune) bool { return r == '.' || r == ':' || r == '/' }

// String is the pattern as written.
func (p ChannelPattern) String() string {
	if p.wildcard {
		return p.body + wildcardSuffix
	}
	return p.body
}

// Wildcard reports whether the pattern ends in ".*".
func (p ChannelPattern) Wildcard() bool { return p.wildcard }

// Expand replaces the placeholders with the caller's ids and returns the
// channel (for an exact pattern) or the prefix before ".*". A placeholder
// for an id the caller lacks gives ErrNoOrganization (or
// ErrInvalidPrincipal); an id outside A-Z a-z 0-9 _ - gives
// ErrUnsupportedIdentifier.
func (p ChannelPattern) Expand(caller Principal) (string, error) {
	out := p.body
	for _, ph := range []struct {
		name, value string
		missing     error
	}{
		{PlaceholderOrgID, caller.OrgID, ErrNoOrganization},
		{PlaceholderUserID, caller.UserID, ErrInvalidPrincipal},
	} {
		if !strings.Contains(out, ph.name) {
			continue
		}
		if ph.value == "" {
			return "", ph.missing
		}
		if !SafeIdentifier(ph.value) {
			return "", fmt.Errorf("%w: %s", ErrUnsupportedIdentifier, ph.name)
		}
		out = strings.ReplaceAll(out, ph.name, ph.value)
	}
	return out, nil
}

// Match reports whether channel is one the pattern names for caller. The
// errors are Expand's.
func (p ChannelPattern) Match(caller Principal, channel string) (bool, error) {
	expanded, err := p.Expand(caller)
	if err != nil {
		return false, err
	}
	if !p.wildcard {
		return channel == expanded, nil
	}
	name, ok := strings.CutPrefix(channel, expanded+".")
	return ok && name != "" && safeChars(name), nil
}

// CentrifugoInfo is the connection info Centrifugo hands to other clients
// and to the server's proxies: the caller's organization and role.
type CentrifugoInfo struct {
	OrgID string
	Role  string
}

// CentrifugoConnectionClaims are the claims of a Centrifugo connection
// token.
type CentrifugoConnectionClaims struct {
	Registered
	Info CentrifugoInfo
	// Channels are the server-side subscriptions; nil when none.
	Channels []string
}

// CentrifugoSubscriptionClaims are the claims of a Centrifugo subscription
// token for one channel.
type CentrifugoSubscriptionClaims struct {
	Registered
	Channel string
	Info    CentrifugoInfo
}

func centrifugoInfo(p Principal) (CentrifugoInfo, error) {
	if !p.HasOrganization() {
		return CentrifugoInfo{}, ErrNoOrganization
	}
	return CentrifugoInfo{OrgID: p.OrgID, Role: p.EffectiveRole()}, nil
}

// NewCentrifugoConnectionClaims builds the claims of a connection token for
// a caller that acts in an organization. channels are the server-side
// subscriptions the policy gives (see the application's Policy); each must
// be a valid channel, and duplicates are dropped.
func NewCentrifugoConnectionClaims(p Principal, channels []string, in Issuance) (CentrifugoConnectionClaims, error) {
	info, err := centrifugoInfo(p)
	if err != nil {
		return CentrifugoConnectionClaims{}, err
	}
	for _, ch := range channels {
		if err := ValidateChannel(ch); err != nil {
			return CentrifugoConnectionClaims{}, err
		}
	}
	reg, err := newRegistered(p.UserID, in)
	if err != nil {
		return CentrifugoConnectionClaims{}, err
	}
	var list []string
	if len(channels) > 0 {
		list = slices.Compact(slices.Sorted(slices.Values(channels)))
	}
	return CentrifugoConnectionClaims{Registered: reg, Info: info, Channels: list}, nil
}

// NewCentrifugoSubscriptionClaims builds the claims of a subscription token
// to channel, for a caller that acts in an organization. Whether the
// caller may subscribe is the policy's question, asked before.
func NewCentrifugoSubscriptionClaims(p Principal, channel string, in Issuance) (CentrifugoSubscriptionClaims, error) {
	if err := ValidateChannel(channel); err != nil {
		return CentrifugoSubscriptionClaims{}, err
	}
	info, err := centrifugoInfo(p)
	if err != nil {
		return CentrifugoSubscriptionClaims{}, err
	}
	reg, err := newRegistered(p.UserID, in)
	if err != nil {
		return CentrifugoSubscriptionClaims{}, err
	}
	return CentrifugoSubscriptionClaims{Registered: reg, Channel: channel, Info: info}, nil
}

// ChannelRule lets its Subjects use the channels of Channels, each a
// channel pattern (see ParseChannelPattern).
type ChannelRule struct {
	Subjects `yaml:",inline"`
	Channels []string `yaml:"channels,flow"`
	// patterns are Channels parsed, once the rule is prepared.
	patterns []ChannelPattern
}

// channelPatterns are the rule's patterns, parsed now unless the rule is
// prepared.
func (r ChannelRule) channelPatterns() ([]ChannelPattern, error) {
	if len(r.patterns) == len(r.Channels) {
		return r.patterns, nil
	}
	out := make([]ChannelPattern, len(r.Channels))
	for i, s := range r.Channels {
		p, err := ParseChannelPattern(s)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// CentrifugoRules are Centrifugo's section of the policy ("centrifugo"):
// who connects to Centrifugo, which channels one may subscribe to, and
// which channels the connection token subscribes one to on the server side.
type CentrifugoRules struct {
	Connect             []Subjects    `yaml:"connect"`
	Subscribe           []ChannelRule `yaml:"subscribe"`
	ServerSubscriptions []ChannelRule `yaml:"serverSubscriptions"`
}

var _ PolicySection = CentrifugoRules{}

// PolicyKey is "centrifugo".
func (CentrifugoRules) PolicyKey() string { return "centrifugo" }

// PolicyTitle is "Centrifugo".
func (CentrifugoRules) PolicyTitle() string { return "Centrifugo" }

// PolicyComments document each list.
func (CentrifugoRules) PolicyComments() []PolicyComment {
	return []PolicyComment{
		{Path: []string{"connect"}, Text: `Who may connect to Centrifugo.`},
		{Path: []string{"subscribe"}, Text: `Channels a caller may subscribe to. A pattern is an exact channel, or
ends in ".*": that prefix, a dot, then one or more of A-Z a-z 0-9 _ -.
{orgId} and {userId} stand for the caller's verified ids; each stands
between the pattern's start or end and . : /, since ids hold _ and -.`},
		{Path: []string{"serverSubscriptions"}, Text: `Channels put in the connection token ("channels"): the caller is
subscribed on the server side. Exact patterns only (no ".*").`},
	}
}

// PolicySummary counts the rules of each list.
func (r CentrifugoRules) PolicySummary() string {
	return fmt.Sprintf("Centrifugo: %d connect, %d subscribe, %d server-side subscription rule(s)",
		len(r.Connect), len(r.Subscribe), len(r.ServerSubscriptions))
}

// DefaultSection: every member of an organization connects and subscribes
// to org:<orgId> and org:<orgId>.<name>; no server-side subscription.
func (CentrifugoRules) DefaultSection() PolicySection {
	return CentrifugoRules{
		Connect: []Subjects{{Roles: []string{AnyRole}}},
		Subscribe: []ChannelRule{{
			Subjects: Subjects{Roles: []string{AnyRole}},
			Channels: []string{"org:" + PlaceholderOrgID, "org:" + PlaceholderOrgID + wildcardSuffix},
		}},
	}
}

// SectionProblems checks every rule: its subjects, and channel patterns
// that parse and are named once; a server-side subscription names one
// channel, so its patterns have no wildcard.
func (r CentrifugoRules) SectionProblems(at PolicyPath) []PolicyProblem {
	var v validator
	for i, s := range r.Connect {
		v.subjects(at.field("connect").index(i), s)
	}
	for i, rule := range r.Subscribe {
		v.channelRule(at.field("subscribe").index(i), rule, true)
	}
	for i, rule := range r.ServerSubscriptions {
		v.channelRule(at.field("serverSubscriptions").index(i), rule, false)
	}
	return v.problems
}

func (v *validator) channelRule(path PolicyPath, r ChannelRule, wildcards bool) {
	v.subjects(path, r.Subjects)
	if len(r.Channels) == 0 {
		v.add(path.field("channels"), "the rule names no channel")
	}
	seen := map[string]bool{}
	for i, ch := range r.Channels {
		p := path.field("channels").index(i)
		pattern, err := parseChannelPattern(ch)
		if err != nil {
			v.add(p, "pattern %q: %v", ch, err)
			continue
		}
		if !wildcards && pattern.Wildcard() {
			v.add(p, "pattern %q ends in .*: a server-side subscription names one channel", ch)
			continue
		}
		if seen[ch] {
			v.add(p, "duplicate channel %q", ch)
		}
		seen[ch] = true
	}
}

// Prepared copies every list and parses every channel pattern once; the
// rules must be valid.
func (r CentrifugoRules) Prepared() PolicySection {
	var out CentrifugoRules
	if r.Connect != nil {
		out.Connect = make([]Subjects, len(r.Connect))
		for i, s := range r.Connect {
			out.Connect[i] = s.clone()
		}
	}
	out.Subscribe = prepareChannelRules(r.Subscribe)
	out.ServerSubscriptions = prepareChannelRules(r.ServerSubscriptions)
	return out
}

func prepareChannelRules(rules []ChannelRule) []ChannelRule {
	if rules == nil {
		return nil
	}
	out := make([]ChannelRule, len(rules))
	for i, r := range rules {
		out[i] = ChannelRule{Subjects: r.Subjects.clone(), Channels: slices.Clone(r.Channels)}
		if patterns, err := r.channelPatterns(); err == nil {
			out[i].patterns = patterns
		}
	}
	return out
}

// MayConnect tells whether the caller may connect to Centrifugo: nil,
// ErrNoOrganization or ErrTransportNotAllowed.
func (r CentrifugoRules) MayConnect(caller Principal) error {
	if !caller.HasOrganization() {
		return ErrNoOrganization
	}
	for _, s := range r.Connect {
		if s.Matches(caller) {
			return nil
		}
	}
	return fmt.Errorf("%w: centrifugo", ErrTransportNotAllowed)
}

// ServerChannels are the channels the caller's connection token subscribes
// it to on the server side, sorted, nil when none. It asks MayConnect
// first; a rule whose channel names an id outside A-Z a-z 0-9 _ - gives
// ErrUnsupportedIdentifier.
func (r CentrifugoRules) ServerChannels(caller Principal) ([]string, error) {
	if err := r.MayConnect(caller); err != nil {
		return nil, err
	}
	var channels []string
	for _, rule := range r.ServerSubscriptions {
		if !rule.Matches(caller) {
			continue
		}
		patterns, err := rule.channelPatterns()
		if err != nil {
			return nil, err
		}
		for _, pattern := range patterns {
			ch, err := pattern.Expand(caller)
			if err != nil {
				return nil, fmt.Errorf("server-side subscription %s: %w", pattern, err)
			}
			channels = append(channels, ch)
		}
	}
	if len(channels) == 0 {
		return nil, nil
	}
	slices.Sort(channels)
	return slices.Compact(channels), nil
}

// MaySubscribe tells whether the caller may subscribe to channel. It asks
// MayConnect first, then checks the channel (ErrInvalidChannel). A channel
// no rule names gives ErrChannelNotAllowed, or ErrUnsupportedIdentifier
// when a rule could have named it but for an id outside A-Z a-z 0-9 _ -.
func (r CentrifugoRules) MaySubscribe(caller Principal, channel string) error {
	if err := r.MayConnect(caller); err != nil {
		return err
	}
	if err := ValidateChannel(channel); err != nil {
		return err
	}
	var unsupported error
	for _, rule := range r.Subscribe {
		if !rule.Matches(caller) {
			continue
		}
		patterns, err := rule.channelPatterns()
		if err != nil {
			return err
		}
		for _, pattern := range patterns {
			ok, err := pattern.Match(caller, channel)
			switch {
			case errors.Is(err, ErrUnsupportedIdentifier):
				unsupported = err
			case err != nil:
				return err
			case ok:
				return nil
			}
		}
	}
	if unsupported != nil {
		return unsupported
	}
	return ErrChannelNotAllowed
}

// Bounds of a Centrifugo token's lifetime.
const (
	MinCentrifugoTTL = time.Minute
	MaxCentrifugoTTL = 24 * time.Hour
)

// CentrifugoSettings are how Centrifugo tokens are minted.
type CentrifugoSettings struct {
	Issuer   string
	Audience string
	// ConnectionTTL and SubscriptionTTL are the lifetimes of the two tokens.
	ConnectionTTL   time.Duration
	SubscriptionTTL time.Duration
	// URL is Centrifugo's client WebSocket URL, returned with connection
	// tokens.
	URL string
}

// NewCentrifugoSettings checks Centrifugo token settings beside the
// audience of the office-router grants, whose key signs Centrifugo's
// tokens too: an audience of its own (else the office-router would accept
// Centrifugo tokens and Centrifugo office grants), and both lifetimes
// within MinCentrifugoTTL and MaxCentrifugoTTL. Every problem is reported,
// joined; each is a *SettingError.
func NewCentrifugoSettings(s CentrifugoSettings, officeAudience string) (CentrifugoSettings, error) {
	var errs []error
	switch s.Audience {
	case "":
		errs = append(errs, &SettingError{Field: "Audience", Reason: "must not be empty", Err: ErrAudienceMissing})
	case officeAudience:
		errs = append(errs, &SettingError{Field: "Audience", Reason: "must differ from the office-router grant's audience", Err: ErrAudienceShared})
	}
	errs = append(errs,
		TTLWithin("ConnectionTTL", s.ConnectionTTL, MinCentrifugoTTL, MaxCentrifugoTTL),
		TTLWithin("SubscriptionTTL", s.SubscriptionTTL, MinCentrifugoTTL, MaxCentrifugoTTL))
	if err := errors.Join(errs...); err != nil {
		return CentrifugoSettings{}, err
	}
	return s, nil
}

// CentrifugoSubscriptionRequest is what a caller asks of a Centrifugo
// subscription token: the one channel it subscribes to.
type CentrifugoSubscriptionRequest struct {
	Channel string
}

// CentrifugoConnectionDefinition is the Centrifugo connection grant kind:
// it takes nothing beyond the caller and subscribes it on the server side
// to the channels the policy names (asking MayConnect first). It refuses
// the settings NewCentrifugoSettings refuses beside officeAudience, with
// the same *SettingError.
func CentrifugoConnectionDefinition(s CentrifugoSettings, officeAudience string) (GrantDefinition[struct{}, []string, CentrifugoConnectionClaims, CentrifugoGrant], error) {
	s, err := NewCentrifugoSettings(s, officeAudience)
	if err != nil {
		return GrantDefinition[struct{}, []string, CentrifugoConnectionClaims, CentrifugoGrant]{}, fmt.Errorf("%s settings: %w", GrantCentrifugoConnection, err)
	}
	return GrantDefinition[struct{}, []string, CentrifugoConnectionClaims, CentrifugoGrant]{
		kind: GrantCentrifugoConnection, issuer: s.Issuer, audience: s.Audience, ttl: s.ConnectionTTL,
		authorize: func(rules PolicyRules, caller Principal, _ struct{}) ([]string, error) {
			return PolicySectionOf[CentrifugoRules](rules).ServerChannels(caller)
		},
		claims: func(caller Principal, _ struct{}, channels []string, in Issuance) (CentrifugoConnectionClaims, error) {
			return NewCentrifugoConnectionClaims(caller, channels, in)
		},
		result: func(g Grant, _ CentrifugoConnectionClaims) CentrifugoGrant {
			return CentrifugoGrant{Grant: g, URL: s.URL}
		},
	}, nil
}

// CentrifugoSubscriptionDefinition is the Centrifugo subscription grant
// kind: one channel the policy allows the caller. It refuses the settings
// NewCentrifugoSettings refuses beside officeAudience, with the same
// *SettingError.
func CentrifugoSubscriptionDefinition(s CentrifugoSettings, officeAudience string) (GrantDefinition[CentrifugoSubscriptionRequest, struct{},
	CentrifugoSubscriptionClaims, CentrifugoGrant], error) {
	s, err := NewCentrifugoSettings(s, officeAudience)
	if err != nil {
		return GrantDefinition[CentrifugoSubscriptionRequest, struct{}, CentrifugoSubscriptionClaims, CentrifugoGrant]{},
			fmt.Errorf("%s settings: %w", GrantCentrifugoSubscription, err)
	}
	return GrantDefinition[CentrifugoSubscriptionRequest, struct{}, CentrifugoSubscriptionClaims, CentrifugoGrant]{
		kind: GrantCentrifugoSubscription, issuer: s.Issuer, audience: s.Audience, ttl: s.SubscriptionTTL,
		authorize: func(rules PolicyRules, caller Principal, req CentrifugoSubscriptionRequest) (struct{}, error) {
			return struct{}{}, PolicySectionOf[CentrifugoRules](rules).MaySubscribe(caller, req.Channel)
		},
		claims: func(caller Principal, req CentrifugoSubscriptionRequest, _ struct{}, in Issuance) (CentrifugoSubscriptionClaims, error) {
			return NewCentrifugoSubscriptionClaims(caller, req.Channel, in)
		},
		result: func(g Grant, c CentrifugoSubscriptionClaims) CentrifugoGrant {
			return CentrifugoGrant{Grant: g, Channel: c.Channel}
		},
	}, nil
}
