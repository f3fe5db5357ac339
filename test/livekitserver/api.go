package livekitserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// APIError is the server's refusal of an API call: the HTTP status and
// the Twirp error code and message.
type APIError struct {
	Status int
	Code   string
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("livekit API: %d %s: %s", e.Status, e.Code, e.Msg)
}

// RoomService calls method of LiveKit's RoomService API (Twirp, in JSON)
// with token as its bearer, as a server SDK does, and reads the answer
// into out. A refused call yields an *APIError; no error carries the
// token.
func (s *Server) RoomService(ctx context.Context, token, method string, in, out proto.Message) error {
	body, err := protojson.Marshal(in)
	if err != nil {
		return fmt.Errorf("livekit API %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.HTTPURL()+"/twirp/livekit.RoomService/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("livekit API %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("livekit API %s: %s", method, redact(err.Error(), token))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("livekit API %s: %w", method, err)
	}
	if res.StatusCode != http.StatusOK {
		var twirp struct{ Code, Msg string }
		_ = json.Unmarshal(b, &twirp)
		return &APIError{Status: res.StatusCode, Code: twirp.Code, Msg: redact(twirp.Msg, token)}
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, out); err != nil {
		return fmt.Errorf("livekit API %s: %w", method, err)
	}
	return nil
}

// AdminToken is a token for the server's own API calls on room, as a
// server SDK signs one with the API secret: roomAdmin in that room, valid
// for a minute.
func (s *Server) AdminToken(t testing.TB, room string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": s.APIKey, "sub": "gatepass-test-server", "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Minute).Unix(),
		"video": map[string]any{"room": room, "roomAdmin": true},
	}).SignedString([]byte(s.APISecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Participants are the identities in room, as the server lists them,
// sorted.
func (s *Server) Participants(tb testing.TB, room string) []string {
	tb.Helper()
	var res livekit.ListParticipantsResponse
	if err := s.RoomService(context.Background(), s.AdminToken(tb, room), "ListParticipants", &livekit.ListParticipantsRequest{Room: room}, &res); err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, p := range res.GetParticipants() {
		ids = append(ids, p.GetIdentity())
	}
	slices.Sort(ids)
	return ids
}
