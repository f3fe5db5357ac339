package ginhttp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// The hand-appended grant responses must be what json.Marshal (c.JSON)
// writes for the response structs, byte for byte.
func TestGrantResponsesMatchEncodingJSON(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	urls := []string{"", "wss://office.example/ws", "wss://a.example/?x=1&y=<2>", "wss://é\u2028\"q\"\\"}
	tokens := []string{"eyJh.eyJi.c2ln", "", "odd <&> \xff"}
	ttls := []time.Duration{time.Minute, 90*time.Second + 500*time.Millisecond, 0}
	check := func(what string, got []byte, want any) {
		t.Helper()
		raw, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(raw) {
			t.Fatalf("%s: %s\nencoding/json: %s", what, got, raw)
		}
	}
	for _, u := range urls {
		for _, tok := range tokens {
			for _, ttl := range ttls {
				g := domain.Grant{ID: "jti", Token: tok, ExpiresAt: at, TTL: ttl}
				check("office", appendOfficeGrant(nil, domain.OfficeGrant{Grant: g, URL: u}), fromOfficeGrant(domain.OfficeGrant{Grant: g, URL: u}))
				check("realtime", appendRealtimeGrant(nil, g), fromRealtimeGrant(g))
				lk := domain.LiveKitGrant{Grant: g, ServerURL: u, Room: "org/r"}
				check("livekit", appendLiveKitGrant(nil, lk), fromLiveKitGrant(lk))
				cf := domain.CentrifugoGrant{Grant: g, URL: u, Channel: "c"}
				check("centrifugo", appendCentrifugoGrant(nil, cf), fromCentrifugoGrant(cf))
			}
		}
	}
}

// The response structs the appenders are held to: what c.JSON would write.

// The office and Centrifugo answers are the realtime one after a url
// (encoding/json writes an embedded struct's fields in its place).
type officeAccessResponse struct {
	URL string `json:"url"`
	realtimeTokenResponse
}

type realtimeTokenResponse struct {
	Token     string `json:"token"`
	TokenType string `json:"tokenType"`
	ExpiresIn int64  `json:"expiresIn"`
	ExpiresAt string `json:"expiresAt"`
}

func fromOfficeGrant(g domain.OfficeGrant) officeAccessResponse {
	return officeAccessResponse{URL: g.URL, realtimeTokenResponse: fromRealtimeGrant(g.Grant)}
}

func fromRealtimeGrant(g domain.Grant) realtimeTokenResponse {
	return realtimeTokenResponse{
		Token:     g.Token,
		TokenType: "Bearer",
		ExpiresIn: int64(g.TTL / time.Second),
		ExpiresAt: g.ExpiresAt.UTC().Format(time.RFC3339),
	}
}

type liveKitTokenResponse struct {
	ServerURL        string `json:"server_url"`
	ParticipantToken string `json:"participant_token"`
	ExpiresIn        int64  `json:"expiresIn"`
	ExpiresAt        string `json:"expiresAt"`
}

type centrifugoTokenResponse struct {
	URL string `json:"url,omitempty"`
	realtimeTokenResponse
}

func fromLiveKitGrant(g domain.LiveKitGrant) liveKitTokenResponse {
	return liveKitTokenResponse{
		ServerURL: g.ServerURL, ParticipantToken: g.Token,
		ExpiresIn: int64(g.TTL / time.Second), ExpiresAt: g.ExpiresAt.UTC().Format(time.RFC3339),
	}
}

func fromCentrifugoGrant(g domain.CentrifugoGrant) centrifugoTokenResponse {
	return centrifugoTokenResponse{URL: g.URL, realtimeTokenResponse: fromRealtimeGrant(g.Grant)}
}
