package application

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gatepass/gatepass/domain"
)

// Permission names the default policy knows.
const (
	// PermissionLiveKitPublish lets any role publish media and data in
	// LiveKit.
	PermissionLiveKitPublish = "livekit:publish"
	// PermissionLiveKitRoomAdmin gives LiveKit's roomAdmin right, which
	// lets its holder, through LiveKit's RoomService API, remove, mute and
	// rewrite the name, metadata and attributes (userId, orgId and role
	// among them) of every other participant of the room.
	PermissionLiveKitRoomAdmin = "livekit:room_admin"
)

// DefaultPolicyRules are the rules gatepass applies when no policy file is
// given. LiveKit: admins and members (the role of an identity that names
// none) publish, subscribe and publish data; every other role (viewer
// among them) joins and subscribes only; the livekit:publish permission
// adds publishing and data to any role, and the livekit:room_admin
// permission adds roomAdmin. No role updates its own metadata or
// administers its room (LiveKit lets either right rewrite the verified
// attributes, roomAdmin everyone's) or creates rooms. Centrifugo:
// every member of an organization connects and subscribes to org:<orgId>
// and org:<orgId>.<name>; no server-side subscription.
func DefaultPolicyRules() domain.PolicyRules {
	return domain.PolicyRules{
		Version: domain.PolicyVersion,
		LiveKit: []domain.LiveKitRule{
			{
				Subjects: domain.Subjects{Roles: []string{"admin"}},
				Rights:   []domain.LiveKitRight{domain.CanPublish, domain.CanSubscribe, domain.CanPublishData},
			},
			{
				Subjects: domain.Subjects{Roles: []string{domain.DefaultRole}},
				Rights:   []domain.LiveKitRight{domain.CanPublish, domain.CanSubscribe, domain.CanPublishData},
			},
			{
				Subjects: domain.Subjects{Roles: []string{domain.AnyRole}},
				Rights:   []domain.LiveKitRight{domain.CanSubscribe},
			},
			{
				Subjects: domain.Subjects{Permissions: []string{PermissionLiveKitPublish}},
				Rights:   []domain.LiveKitRight{domain.CanPublish, domain.CanPublishData},
			},
			{
				Subjects: domain.Subjects{Permissions: []string{PermissionLiveKitRoomAdmin}},
				Rights:   []domain.LiveKitRight{domain.RoomAdmin},
			},
		},
		Centrifugo: domain.CentrifugoRules{
			Connect: []domain.Subjects{{Roles: []string{domain.AnyRole}}},
			Subscribe: []domain.ChannelRule{{
				Subjects: domain.Subjects{Roles: []string{domain.AnyRole}},
				Channels: []string{"org:" + domain.PlaceholderOrgID, "org:" + domain.PlaceholderOrgID + ".*"},
			}},
		},
	}
}

// channelRule is a domain.ChannelRule with its patterns parsed.
type channelRule struct {
	subjects domain.Subjects
	patterns []domain.ChannelPattern
}

// Policy answers what a caller may do on each transport. It is built once
// from validated rules and is safe for concurrent use. Every grant needs a
// caller that acts in an organization, and a rule that applies to it.
type Policy struct {
	rules     domain.PolicyRules
	subscribe []channelRule
	server    []channelRule
}

// NewPolicy validates rules and builds the Policy; the error is a
// *domain.PolicyError naming every problem.
func NewPolicy(rules domain.PolicyRules) (*Policy, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	rules = cloneRules(rules)
	p := &Policy{rules: rules}
	var err error
	if p.subscribe, err = parseChannelRules(rules.Centrifugo.Subscribe); err != nil {
		return nil, err
	}
	if p.server, err = parseChannelRules(rules.Centrifugo.ServerSubscriptions); err != nil {
		return nil, err
	}
	return p, nil
}

// DefaultPolicy is the Policy of DefaultPolicyRules.
func DefaultPolicy() *Policy {
	p, err := NewPolicy(DefaultPolicyRules())
	if err != nil {
		panic(fmt.Sprintf("the default policy is invalid: %v", err))
	}
	return p
}

func parseChannelRules(rules []domain.ChannelRule) ([]channelRule, error) {
	out := make([]channelRule, 0, len(rules))
	for _, r := range rules {
		c := channelRule{subjects: r.Subjects}
		for _, s := range r.Channels {
			pattern, err := domain.ParseChannelPattern(s)
			if err != nil {
				return nil, err
			}
			c.patterns = append(c.patterns, pattern)
		}
		out = append(out, c)
	}
	return out, nil
}

// Rules are the rules the Policy applies (a copy).
func (p *Policy) Rules() domain.PolicyRules { return cloneRules(p.rules) }

// cloneRules copies every list, so a Policy never shares them.
func cloneRules(r domain.PolicyRules) domain.PolicyRules {
	subjects := func(s domain.Subjects) domain.Subjects {
		return domain.Subjects{Roles: slices.Clone(s.Roles), Permissions: slices.Clone(s.Permissions)}
	}
	channels := func(rules []domain.ChannelRule) []domain.ChannelRule {
		out := slices.Clone(rules)
		for i, c := range out {
			out[i] = domain.ChannelRule{Subjects: subjects(c.Subjects), Channels: slices.Clone(c.Channels)}
		}
		return out
	}
	out := domain.PolicyRules{Version: r.Version, LiveKit: slices.Clone(r.LiveKit)}
	for i, l := range out.LiveKit {
		out.LiveKit[i] = domain.LiveKitRule{Subjects: subjects(l.Subjects), Rights: slices.Clone(l.Rights)}
	}
	out.Centrifugo.Connect = slices.Clone(r.Centrifugo.Connect)
	for i, s := range out.Centrifugo.Connect {
		out.Centrifugo.Connect[i] = subjects(s)
	}
	out.Centrifugo.Subscribe = channels(r.Centrifugo.Subscribe)
	out.Centrifugo.ServerSubscriptions = channels(r.Centrifugo.ServerSubscriptions)
	return out
}

// LiveKitRights are the caller's rights in its organization's LiveKit
// rooms: the union of the rights of every rule that applies to it. Errors:
// ErrNoOrganization, ErrUnsupportedIdentifier (its organization or user id
// would go into a room name or identity), ErrTransportNotAllowed (no rule
// applies).
func (p *Policy) LiveKitRights(caller domain.Principal) (domain.LiveKitRights, error) {
	if err := roomIdentifiers(caller); err != nil {
		return domain.LiveKitRights{}, err
	}
	var rights domain.LiveKitRights
	matched := false
	for _, rule := range p.rules.LiveKit {
		if !rule.Matches(caller) {
			continue
		}
		matched = true
		for _, r := range rule.Rights {
			rights = rights.With(r)
		}
	}
	if !matched {
		return domain.LiveKitRights{}, fmt.Errorf("%w: livekit", domain.ErrTransportNotAllowed)
	}
	return rights, nil
}

func roomIdentifiers(caller domain.Principal) error {
	switch {
	case !caller.HasOrganization():
		return domain.ErrNoOrganization
	case !domain.SafeIdentifier(caller.OrgID):
		return fmt.Errorf("%w: organization id", domain.ErrUnsupportedIdentifier)
	case !domain.SafeIdentifier(caller.UserID):
		return fmt.Errorf("%w: user id", domain.ErrUnsupportedIdentifier)
	}
	return nil
}

// MayConnectCentrifugo tells whether the caller may connect to Centrifugo:
// nil, ErrNoOrganization or ErrTransportNotAllowed.
func (p *Policy) MayConnectCentrifugo(caller domain.Principal) error {
	if !caller.HasOrganization() {
		return domain.ErrNoOrganization
	}
	for _, s := range p.rules.Centrifugo.Connect {
		if s.Matches(caller) {
			return nil
		}
	}
	return fmt.Errorf("%w: centrifugo", domain.ErrTransportNotAllowed)
}

// CentrifugoServerChannels are the channels the caller's connection token
// subscribes it to on the server side, sorted, nil when none. It asks
// MayConnectCentrifugo first; a rule whose channel names an id outside
// A-Z a-z 0-9 _ - gives ErrUnsupportedIdentifier.
func (p *Policy) CentrifugoServerChannels(caller domain.Principal) ([]string, error) {
	if err := p.MayConnectCentrifugo(caller); err != nil {
		return nil, err
	}
	var channels []string
	for _, rule := range p.server {
		if !rule.subjects.Matches(caller) {
			continue
		}
		for _, pattern := range rule.patterns {
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
// MayConnectCentrifugo first, then checks the channel (ErrInvalidChannel).
// A channel no rule names gives ErrChannelNotAllowed, or
// ErrUnsupportedIdentifier when a rule could have named it but for an id
// outside A-Z a-z 0-9 _ -.
func (p *Policy) MaySubscribe(caller domain.Principal, channel string) error {
	if err := p.MayConnectCentrifugo(caller); err != nil {
		return err
	}
	if err := domain.ValidateChannel(channel); err != nil {
		return err
	}
	var unsupported error
	for _, rule := range p.subscribe {
		if !rule.subjects.Matches(caller) {
			continue
		}
		for _, pattern := range rule.patterns {
			ok, err := pattern.Match(caller, channel)
			switch {
			case errors.Is(err, domain.ErrUnsupportedIdentifier):
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
	return domain.ErrChannelNotAllowed
}
