package livekitserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"
)

// Participant is a participant connected as a client SDK connects one:
// the signal WebSocket and the subscriber's WebRTC connection, over
// loopback. livekit-server counts a participant as active, and sends its
// participant_joined webhook, only once that connection is up.
type Participant struct {
	// Joined is what the server's JoinResponse said.
	Joined JoinResult

	conn *websocket.Conn
	pc   *webrtc.PeerConnection
	// write serializes the WebSocket's writers: the reader answering
	// offers and pion's candidate callbacks.
	write sync.Mutex
	// connected is closed once the WebRTC connection is up; left once
	// the server ends the session (removed, or the room closed).
	connected, left chan struct{}
	done            sync.Once
	closeOnce       sync.Once
}

// ConnectMedia joins with token and brings the participant's WebRTC
// connection up (it subscribes to nothing and publishes nothing), then
// returns: the participant is active in its room until Close or until the
// server removes it (Left). A connection that does not come up within ctx
// is an error.
func ConnectMedia(ctx context.Context, serverURL, token string) (*Participant, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	conn, join, err := dial(ctx, serverURL, token)
	if err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("livekit media: %w", err)
	}
	p := &Participant{Joined: joinResult(join), conn: conn, pc: pc, connected: make(chan struct{}), left: make(chan struct{})}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init, err := json.Marshal(c.ToJSON())
		if err == nil {
			_ = p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
				CandidateInit: string(init), Target: livekit.SignalTarget_SUBSCRIBER}}})
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.done.Do(func() { close(p.connected) })
		}
	})
	go p.read()
	select {
	case <-p.connected:
		return p, nil
	case <-p.left:
		p.Close()
		return nil, errors.New("livekit media: the server ended the session before the connection came up")
	case <-ctx.Done():
		p.Close()
		return nil, fmt.Errorf("livekit media: the WebRTC connection did not come up: %w", ctx.Err())
	}
}

// Left is closed once the server has ended the session: the participant
// was removed, or its connection closed.
func (p *Participant) Left() <-chan struct{} { return p.left }

// Close leaves the room and closes both connections.
func (p *Participant) Close() {
	p.closeOnce.Do(func() {
		p.write.Lock()
		leave(p.conn)
		p.write.Unlock()
		p.conn.Close()
		_ = p.pc.Close()
	})
}

func (p *Participant) send(req *livekit.SignalRequest) error {
	b, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	p.write.Lock()
	defer p.write.Unlock()
	return p.conn.WriteMessage(websocket.BinaryMessage, b)
}

// read answers the server's signal messages until the WebSocket ends:
// the subscriber's offers and candidates; a leave ends the session.
func (p *Participant) read() {
	defer close(p.left)
	for {
		msg, err := readResponse(p.conn)
		if err != nil {
			return
		}
		switch m := msg.GetMessage().(type) {
		case *livekit.SignalResponse_Offer:
			if err := p.answer(m.Offer); err != nil {
				return
			}
		case *livekit.SignalResponse_Trickle:
			if m.Trickle.GetTarget() != livekit.SignalTarget_SUBSCRIBER {
				continue
			}
			var c webrtc.ICECandidateInit
			if json.Unmarshal([]byte(m.Trickle.GetCandidateInit()), &c) == nil {
				_ = p.pc.AddICECandidate(c)
			}
		case *livekit.SignalResponse_Leave:
			return
		}
	}
}

// answer takes the server's offer for the subscriber connection.
func (p *Participant) answer(offer *livekit.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.GetSdp()}); err != nil {
		return fmt.Errorf("livekit media: offer: %w", err)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("livekit media: answer: %w", err)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("livekit media: answer: %w", err)
	}
	return p.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{
		Type: "answer", Sdp: answer.SDP, Id: offer.GetId()}}})
}
