package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// definedKind is what a test reads of a definition, whatever its types.
type definedKind interface {
	Kind() domain.GrantKind
	Issuer() string
	Audience() string
	TTL() time.Duration
}

// define calls a definition constructor and keeps what the test reads.
func define[D definedKind](def D, err error) (definedKind, error) { return def, err }

// TestDefinitionsRefuseWhatTheirSettingsRefuse: a grant kind's
// definition is only made from settings within its invariants (the
// Centrifugo audience apart from the office audience, every lifetime
// within its kind's bounds), so no caller of the constructor can skip
// them; each refusal names the kind and the field.
func TestDefinitionsRefuseWhatTheirSettingsRefuse(t *testing.T) {
	const officeAudience = "office-router"
	liveKit := domain.LiveKitSettings{APIKey: "APIkey", TTL: 10 * time.Minute, URL: "wss://lk.example"}
	centrifugo := domain.CentrifugoSettings{Issuer: "gatepass", Audience: "centrifugo", ConnectionTTL: 10 * time.Minute,
		SubscriptionTTL: 5 * time.Minute, URL: "wss://rt.example/connection/websocket"}
	nats := domain.NATSSettings{Servers: []string{"tls://n:4222"}, Account: "AACC", SigningKey: "ASIGN", TTL: 10 * time.Minute}
	withLiveKit := func(edit func(*domain.LiveKitSettings)) domain.LiveKitSettings { s := liveKit; edit(&s); return s }
	withCentrifugo := func(edit func(*domain.CentrifugoSettings)) domain.CentrifugoSettings {
		s := centrifugo
		edit(&s)
		return s
	}
	withNATS := func(edit func(*domain.NATSSettings)) domain.NATSSettings { s := nats; edit(&s); return s }
	office := func(ttl time.Duration) func() (definedKind, error) {
		return func() (definedKind, error) {
			return define(domain.OfficeDefinition(domain.OfficeSettings{Issuer: "gatepass", Audience: officeAudience, TTL: ttl, URL: "wss://office.example/ws"}))
		}
	}
	realtime := func(ttl time.Duration) func() (definedKind, error) {
		return func() (definedKind, error) {
			return define(domain.RealtimeDefinition(domain.RealtimeSettings{Issuer: "qubital-backend", TTL: ttl}))
		}
	}
	connection := func(s domain.CentrifugoSettings) func() (definedKind, error) {
		return func() (definedKind, error) { return define(domain.CentrifugoConnectionDefinition(s, officeAudience)) }
	}
	subscription := func(s domain.CentrifugoSettings) func() (definedKind, error) {
		return func() (definedKind, error) { return define(domain.CentrifugoSubscriptionDefinition(s, officeAudience)) }
	}

	tests := []struct {
		name       string
		define     func() (definedKind, error)
		wantKind   domain.GrantKind
		wantErr    error
		wantFields []string
	}{
		{name: "office for an hour", wantKind: domain.GrantOffice, define: office(time.Hour)},
		{name: "office for 1000h", wantKind: domain.GrantOffice, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"}, define: office(1000 * time.Hour)},
		{name: "office under a second", wantKind: domain.GrantOffice, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"}, define: office(time.Second - 1)},
		{name: "office without settings", wantKind: domain.GrantOffice, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"},
			define: func() (definedKind, error) { return define(domain.OfficeDefinition(domain.OfficeSettings{})) }},
		{name: "realtime for a day", wantKind: domain.GrantRealtime, define: realtime(24 * time.Hour)},
		{name: "realtime over a day", wantKind: domain.GrantRealtime, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"}, define: realtime(24*time.Hour + 1)},
		{name: "realtime for nothing", wantKind: domain.GrantRealtime, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"}, define: realtime(0)},

		{name: "livekit", wantKind: domain.GrantLiveKit,
			define: func() (definedKind, error) { return define(domain.LiveKitDefinition(liveKit, nil)) }},
		{name: "livekit under a minute", wantKind: domain.GrantLiveKit, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"},
			define: func() (definedKind, error) {
				return define(domain.LiveKitDefinition(withLiveKit(func(s *domain.LiveKitSettings) { s.TTL = 59 * time.Second }), nil))
			}},
		{name: "livekit over six hours", wantKind: domain.GrantLiveKit, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"},
			define: func() (definedKind, error) {
				return define(domain.LiveKitDefinition(withLiveKit(func(s *domain.LiveKitSettings) { s.TTL = 1000 * time.Hour }), nil))
			}},
		{name: "livekit without settings", wantKind: domain.GrantLiveKit, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"},
			define: func() (definedKind, error) { return define(domain.LiveKitDefinition(domain.LiveKitSettings{}, nil)) }},

		{name: "centrifugo connection", wantKind: domain.GrantCentrifugoConnection, define: connection(centrifugo)},
		{name: "centrifugo subscription", wantKind: domain.GrantCentrifugoSubscription, define: subscription(centrifugo)},
		{name: "centrifugo connection under the office audience", wantKind: domain.GrantCentrifugoConnection,
			wantErr: domain.ErrAudienceShared, wantFields: []string{"Audience"},
			define: connection(withCentrifugo(func(s *domain.CentrifugoSettings) { s.Audience = officeAudience }))},
		{name: "centrifugo subscription under the office audience", wantKind: domain.GrantCentrifugoSubscription,
			wantErr: domain.ErrAudienceShared, wantFields: []string{"Audience"},
			define: subscription(withCentrifugo(func(s *domain.CentrifugoSettings) { s.Audience = officeAudience }))},
		{name: "centrifugo without an audience", wantKind: domain.GrantCentrifugoConnection,
			wantErr: domain.ErrAudienceMissing, wantFields: []string{"Audience"},
			define: connection(withCentrifugo(func(s *domain.CentrifugoSettings) { s.Audience = "" }))},
		// The audit's probe: the office audience and a lifetime of 1000h,
		// both refused at once.
		{name: "centrifugo connection: the office audience for 1000h", wantKind: domain.GrantCentrifugoConnection,
			wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"Audience", "ConnectionTTL"},
			define: connection(withCentrifugo(func(s *domain.CentrifugoSettings) {
				s.Audience, s.ConnectionTTL = officeAudience, 1000*time.Hour
			}))},
		// The two kinds share one settings block: either refuses it whole.
		{name: "centrifugo subscription refuses a connection lifetime out of bounds", wantKind: domain.GrantCentrifugoSubscription,
			wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"ConnectionTTL"},
			define: subscription(withCentrifugo(func(s *domain.CentrifugoSettings) { s.ConnectionTTL = 59 * time.Second }))},
		{name: "centrifugo subscription over a day", wantKind: domain.GrantCentrifugoSubscription,
			wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"SubscriptionTTL"},
			define: subscription(withCentrifugo(func(s *domain.CentrifugoSettings) { s.SubscriptionTTL = 24*time.Hour + 1 }))},

		{name: "nats", wantKind: domain.GrantNATS,
			define: func() (definedKind, error) { return define(domain.NATSDefinition(nats, fixedKeys{})) }},
		{name: "nats over a day", wantKind: domain.GrantNATS, wantErr: domain.ErrTTLOutOfRange, wantFields: []string{"TTL"},
			define: func() (definedKind, error) {
				return define(domain.NATSDefinition(withNATS(func(s *domain.NATSSettings) { s.TTL = 1000 * time.Hour }), fixedKeys{}))
			}},
		{name: "nats without servers", wantKind: domain.GrantNATS, wantErr: domain.ErrInvalidClaims, wantFields: []string{"Servers"},
			define: func() (definedKind, error) {
				return define(domain.NATSDefinition(withNATS(func(s *domain.NATSSettings) { s.Servers = nil }), fixedKeys{}))
			}},
		{name: "nats without user keys", wantKind: domain.GrantNATS, wantErr: domain.ErrSettingMissing,
			define: func() (definedKind, error) { return define(domain.NATSDefinition(nats, nil)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := tt.define()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if def.Kind() != tt.wantKind || def.TTL() <= 0 {
					t.Fatalf("defined %s for %s, want %s", def.Kind(), def.TTL(), tt.wantKind)
				}
				return
			}
			if def.Kind() != "" {
				t.Errorf("a refused definition is of kind %q, want none", def.Kind())
			}
			if want := string(tt.wantKind) + " settings: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %q, want it to start with %q", err, want)
			}
			if fields := settingFields(err); !slices.Equal(fields, tt.wantFields) {
				t.Errorf("err = %q names %v, want %v", err, fields, tt.wantFields)
			}
		})
	}
}

// settingFields are the fields of the *SettingError inside err, in order.
func settingFields(err error) []string {
	var fields []string
	switch e := err.(type) {
	case *domain.SettingError:
		fields = append(fields, e.Field)
	case interface{ Unwrap() []error }:
		for _, e := range e.Unwrap() {
			fields = append(fields, settingFields(e)...)
		}
	case interface{ Unwrap() error }:
		fields = settingFields(e.Unwrap())
	}
	return fields
}

// TestDefinitionsKeepWhatTheyWereGiven: a definition's grants are issued
// and aimed as its settings say.
func TestDefinitionsKeepWhatTheyWereGiven(t *testing.T) {
	s := domain.CentrifugoSettings{Issuer: "gatepass", Audience: "centrifugo", ConnectionTTL: 10 * time.Minute, SubscriptionTTL: 5 * time.Minute}
	conn, err := domain.CentrifugoConnectionDefinition(s, "office-router")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := domain.CentrifugoSubscriptionDefinition(s, "office-router")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		def     definedKind
		wantTTL time.Duration
	}{{conn, s.ConnectionTTL}, {sub, s.SubscriptionTTL}} {
		if tt.def.Issuer() != "gatepass" || tt.def.Audience() != "centrifugo" || tt.def.TTL() != tt.wantTTL {
			t.Errorf("%s: iss %q aud %q ttl %s", tt.def.Kind(), tt.def.Issuer(), tt.def.Audience(), tt.def.TTL())
		}
	}
}
