package application

import "github.com/gatepass/gatepass/domain"

// The rights the issuing use cases ask the Policy for, each answered by
// its kind's section of the policy.

// LiveKitRights are the caller's rights in its organization's LiveKit
// rooms; see domain.LiveKitRules.Rights.
func (p *Policy) LiveKitRights(caller domain.Principal) (domain.LiveKitRights, error) {
	return PolicySectionOf[domain.LiveKitRules](p).Rights(caller)
}

// MayConnectCentrifugo tells whether the caller may connect to Centrifugo;
// see domain.CentrifugoRules.MayConnect.
func (p *Policy) MayConnectCentrifugo(caller domain.Principal) error {
	return PolicySectionOf[domain.CentrifugoRules](p).MayConnect(caller)
}

// CentrifugoServerChannels are the channels the caller's connection token
// subscribes it to on the server side; see
// domain.CentrifugoRules.ServerChannels.
func (p *Policy) CentrifugoServerChannels(caller domain.Principal) ([]string, error) {
	return PolicySectionOf[domain.CentrifugoRules](p).ServerChannels(caller)
}

// MaySubscribe tells whether the caller may subscribe to a Centrifugo
// channel; see domain.CentrifugoRules.MaySubscribe.
func (p *Policy) MaySubscribe(caller domain.Principal, channel string) error {
	return PolicySectionOf[domain.CentrifugoRules](p).MaySubscribe(caller, channel)
}
