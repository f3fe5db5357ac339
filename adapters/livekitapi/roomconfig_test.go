package livekitapi_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/livekit/protocol/auth"

	"github.com/gatepass/gatepass/adapters/livekitapi"
	"github.com/gatepass/gatepass/domain"
)

func TestCheckRoomConfig(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr error
		// sensitive: LiveKit's own check refuses it.
		sensitive bool
	}{
		{name: "empty", config: `{}`},
		{name: "proto names", config: `{"max_participants":2,"empty_timeout":30,"departure_timeout":10,"sync_streams":true}`},
		{name: "JSON names", config: `{"maxParticipants":2,"emptyTimeout":30,"minPlayoutDelay":100,"metadata":"{\"a\":1}"}`},
		{name: "agents and tags", config: `{"agents":[{"agentName":"greeter","metadata":"hi"}],"tags":{"team":"core"}}`},
		{name: "null fields", config: `{"egress":null,"agents":null,"maxParticipants":null}`},
		{name: "egress without credentials", config: `{"egress":{"room":{"fileOutputs":[{"filepath":"rec/{room_name}.mp4","s3":{"bucket":"b","region":"eu-west-1"}}]},` +
			`"tracks":{"filepath":"t","gcp":{"bucket":"b"}}}}`},

		{name: "unknown field", config: `{"maxParticipants":2,"colour":"blue"}`, wantErr: domain.ErrInvalidRoom},
		{name: "unknown nested field", config: `{"egress":{"room":{"roomName":"x","fileOutputs":[{"s3":{"bucket":"b","secretKey":"s"}}]}}}`, wantErr: domain.ErrInvalidRoom},
		{name: "wrong type", config: `{"maxParticipants":"two"}`, wantErr: domain.ErrInvalidRoom},
		{name: "negative count", config: `{"maxParticipants":-1}`, wantErr: domain.ErrInvalidRoom},
		{name: "out of range", config: `{"emptyTimeout":4294967296}`, wantErr: domain.ErrInvalidRoom},
		{name: "given twice", config: `{"max_participants":2,"maxParticipants":3}`, wantErr: domain.ErrInvalidRoom},
		{name: "two outputs of one oneof", config: `{"egress":{"tracks":{"s3":{"bucket":"b"},"gcp":{"bucket":"b"}}}}`, wantErr: domain.ErrInvalidRoom},
		{name: "not an object", config: `[]`, wantErr: domain.ErrInvalidRoom},
		{name: "not JSON", config: `{`, wantErr: domain.ErrInvalidRoom},

		{name: "S3 secret", config: `{"egress":{"room":{"fileOutputs":[{"s3":{"accessKey":"AK","secret":"SK","bucket":"b"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "S3 secret of segments", config: `{"egress":{"participant":{"segmentOutputs":[{"s3":{"secret":"SK"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "GCP credentials", config: `{"egress":{"tracks":{"gcp":{"credentials":"{}","bucket":"b"}}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "Azure account key", config: `{"egress":{"room":{"fileOutputs":[{"azure":{"accountName":"a","accountKey":"k"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "Alibaba secret", config: `{"egress":{"tracks":{"aliOSS":{"secret":"k"}}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "image outputs without credentials", config: `{"egress":{"room":{"imageOutputs":[{"captureInterval":5,"s3":{"bucket":"b"}}]}}}`},
		{name: "S3 secret of images", config: `{"egress":{"room":{"imageOutputs":[{"s3":{"accessKey":"AK","secret":"SK","bucket":"b"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "GCP credentials of images", config: `{"egress":{"room":{"imageOutputs":[{"gcp":{"credentials":"{}"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "Azure account key of images", config: `{"egress":{"room":{"imageOutputs":[{"azure":{"accountKey":"k"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "Alibaba secret of images", config: `{"egress":{"room":{"imageOutputs":[{"aliOSS":{"secret":"k"}}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
		{name: "stream key", config: `{"egress":{"room":{"streamOutputs":[{"urls":["rtmp://live.example/app/stream-key"]}]}}}`,
			wantErr: domain.ErrInvalidRoom, sensitive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := livekitapi.RoomConfigs{}.CheckRoomConfig(json.RawMessage(tt.config))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CheckRoomConfig(%s) = %v, want %v", tt.config, err, tt.wantErr)
			}
			if errors.Is(err, auth.ErrSensitiveCredentials) != tt.sensitive {
				t.Fatalf("CheckRoomConfig(%s) = %v: refused for credentials %v, want %v", tt.config, err, !tt.sensitive, tt.sensitive)
			}
		})
	}
}
