// Package livekitprotocol checks LiveKit room configurations with
// livekit/protocol, the library LiveKit's server and SDKs share: a room
// configuration must be a RoomConfiguration of its schema and pass the
// credential check LiveKit's token builder applies, so gatepass refuses
// what LiveKit's own tooling would.
package livekitprotocol

import (
	"encoding/json"
	"fmt"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.RoomConfigChecker = RoomConfigs{}

// RoomConfigs checks room configurations as LiveKit's token builder does.
// The zero value is ready to use and safe for concurrent use.
type RoomConfigs struct{}

// strict reads a room configuration as protojson does by default: a field
// the schema does not name is refused. LiveKit's server reads a token's
// configuration leniently, dropping such fields, but its token builder
// takes a typed RoomConfiguration and so never writes one; and a field
// this library does not know is one its credential check has not looked
// at.
var strict = protojson.UnmarshalOptions{}

// CheckRoomConfig refuses a configuration that is not a RoomConfiguration
// in protojson (an unknown field, a value of the wrong type or range, a
// field given twice, two members of one oneof), or that carries egress
// credentials or stream outputs (auth.RoomConfiguration.CheckCredentials:
// a token is readable by whoever holds it). Errors wrap
// domain.ErrInvalidRoom.
func (RoomConfigs) CheckRoomConfig(config json.RawMessage) error {
	var c livekit.RoomConfiguration
	if err := strict.Unmarshal(config, &c); err != nil {
		return fmt.Errorf("%w: room configuration is not a LiveKit RoomConfiguration: %w", domain.ErrInvalidRoom, err)
	}
	if err := (*auth.RoomConfiguration)(&c).CheckCredentials(); err != nil {
		return fmt.Errorf("%w: %w", domain.ErrInvalidRoom, err)
	}
	return nil
}
