package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
