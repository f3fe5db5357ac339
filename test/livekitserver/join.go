package livekitserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// protocolVersion is the signal protocol livekit-server v1.13.5 speaks
// (its types.CurrentProtocol).
const protocolVersion = 17

// joinTimeout bounds a Join whose context has no deadline.
const joinTimeout = 10 * time.Second

// JoinResult is what the server's JoinResponse says about the session.
type JoinResult struct {
	// Room is the room's name, RoomSID its server-side id.
	Room    string
	RoomSID string
	// Identity is the participant's identity (the token's sub), SID its
	// server-side id, Name and Metadata the token's name and metadata.
	Identity string
	SID      string
	Name     string
	Metadata string
	// Permission is what the participant may do, as the server reads the
	// token's video grant (canPublish, canSubscribe, canPublishData,
	// canUpdateMetadata, hidden, recorder...).
	Permission *livekit.ParticipantPermission
	// ServerVersion is the server's version string.
	ServerVersion string
	// Response is the whole JoinResponse.
	Response *livekit.JoinResponse
}

// RefusedError is the server's refusal of the WebSocket upgrade: the HTTP
// status (401 for a token it does not accept) and the reason it gave, with
// the token itself blanked out of it.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("livekit refused the connection: %d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Join connects to the LiveKit server at serverURL (ws://, wss://, http://
// or https://, as clients are given it) the way a client SDK does: a
// WebSocket to /rtc with the token as access_token. It reads the server's
// first signal message, which must be a JoinResponse, then leaves and
// closes the connection. A server that refuses the token yields a
// *RefusedError. No error message carries the token.
func Join(ctx context.Context, serverURL, token string) (JoinResult, error) {
	var join *livekit.JoinResponse
	err := session(ctx, serverURL, token, func(conn *websocket.Conn, j *livekit.JoinResponse) error {
		join = j
		return nil
	})
	if err != nil {
		return JoinResult{}, err
	}
	return joinResult(join), nil
}

func joinResult(join *livekit.JoinResponse) JoinResult {
	p := join.GetParticipant()
	return JoinResult{
		Room:          join.GetRoom().GetName(),
		RoomSID:       join.GetRoom().GetSid(),
		Identity:      p.GetIdentity(),
		SID:           p.GetSid(),
		Name:          p.GetName(),
		Metadata:      p.GetMetadata(),
		Permission:    p.GetPermission(),
		ServerVersion: join.GetServerVersion(),
		Response:      join,
	}
}

// Session is a participant that stays in its room until Close, so that
// the server's API sees it.
type Session struct {
	// Joined is what the server's JoinResponse said.
	Joined JoinResult
	conn   *websocket.Conn
}

// Connect joins as Join does but stays: the participant is in the room
// until Close. It reads nothing after the JoinResponse, so it suits a test
// of a few seconds, within the server's ping timeout.
func Connect(ctx context.Context, serverURL, token string) (*Session, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	conn, join, err := dial(ctx, serverURL, token)
	if err != nil {
		return nil, err
	}
	return &Session{Joined: joinResult(join), conn: conn}, nil
}

// Close leaves the room and closes the connection.
func (s *Session) Close() {
	leave(s.conn)
	s.conn.Close()
}

// RefreshedToken joins as Join does, stays connected until the server sends
// the participant a refreshed token (livekit-server sends one at join, then
// every few minutes, signed with its API key), and returns that token.
// No error message carries either token.
func RefreshedToken(ctx context.Context, serverURL, token string) (string, error) {
	var refreshed string
	err := session(ctx, serverURL, token, func(conn *websocket.Conn, _ *livekit.JoinResponse) error {
		for refreshed == "" {
			msg, err := readResponse(conn)
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				return fmt.Errorf("livekit join: wait for a refreshed token: %w", err)
			}
			refreshed = msg.GetRefreshToken()
		}
		return nil
	})
	return refreshed, err
}

// session opens the signal WebSocket with token, reads the JoinResponse,
// calls connected with it while the participant is in the room, then
// leaves. A context without a deadline gets joinTimeout.
func session(ctx context.Context, serverURL, token string, connected func(*websocket.Conn, *livekit.JoinResponse) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	conn, join, err := dial(ctx, serverURL, token)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	if err := connected(conn, join); err != nil {
		return err
	}
	leave(conn)
	return nil
}

// dial opens the signal WebSocket with token and reads the JoinResponse,
// within ctx.
func dial(ctx context.Context, serverURL, token string) (*websocket.Conn, *livekit.JoinResponse, error) {
	u, err := signalURL(serverURL, token)
	if err != nil {
		return nil, nil, err
	}
	conn, res, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			return nil, nil, refused(res, token)
		}
		return nil, nil, fmt.Errorf("livekit join: %s", redact(err.Error(), token))
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	msg, err := readResponse(conn)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, nil, fmt.Errorf("livekit join: read the first signal message: %w", err)
	}
	join := msg.GetJoin()
	if join == nil {
		conn.Close()
		return nil, nil, fmt.Errorf("livekit join: first signal message is %T, want a JoinResponse", msg.GetMessage())
	}
	if ctx.Err() == nil {
		// The deadline set by a context that ended meanwhile stays.
		_ = conn.SetReadDeadline(time.Time{})
	}
	return conn, join, nil
}

// signalURL is the /rtc URL with the query a v1.13 server reads for a
// first connection (not a reconnect): the token, the protocol version and
// what the client is; no media is subscribed to.
func signalURL(serverURL, token string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("livekit join: server URL: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("livekit join: server URL scheme %q, want ws, wss, http or https", u.Scheme)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/rtc"
	q := url.Values{}
	q.Set("access_token", token)
	q.Set("protocol", strconv.Itoa(protocolVersion))
	q.Set("sdk", "go")
	q.Set("version", "gatepass-test")
	q.Set("auto_subscribe", "0")
	q.Set("adaptive_stream", "0")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// readResponse reads one signal message: protobuf in a binary frame (the
// server answers in kind; this client never sends JSON).
func readResponse(conn *websocket.Conn) (*livekit.SignalResponse, error) {
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		if kind != websocket.BinaryMessage {
			continue
		}
		msg := &livekit.SignalResponse{}
		if err := proto.Unmarshal(data, msg); err != nil {
			return nil, fmt.Errorf("decode SignalResponse: %w", err)
		}
		return msg, nil
	}
}

// leave tells the server the participant is leaving, so the room does not
// wait for it to come back, and closes the WebSocket cleanly. Errors do not
// matter: the connection is closed either way.
func leave(conn *websocket.Conn) {
	deadline := time.Now().Add(time.Second)
	_ = conn.SetWriteDeadline(deadline)
	if b, err := proto.Marshal(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{
		Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT},
	}}); err == nil {
		_ = conn.WriteMessage(websocket.BinaryMessage, b)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
}

// refused turns a failed upgrade into a *RefusedError. livekit-server
// writes the refused token back in its reason; it is blanked out.
func refused(res *http.Response, token string) error {
	var body []byte
	if res.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(res.Body, 4096))
		_ = res.Body.Close()
	}
	return &RefusedError{Status: res.StatusCode, Reason: redact(strings.TrimSpace(string(body)), token)}
}

func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}
