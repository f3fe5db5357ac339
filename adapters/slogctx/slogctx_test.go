package slogctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/gatepass/gatepass/adapters/slogctx"
	"github.com/gatepass/gatepass/application"
)

func TestRequestIDFromContext(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		want any
	}{
		{name: "context with an id", ctx: application.WithRequestID(context.Background(), "req-1"), want: "req-1"},
		{name: "context without one", ctx: context.Background(), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slogctx.New(slog.NewJSONHandler(&buf, nil))).With("component", "test").WithGroup("g")
			logger.InfoContext(tt.ctx, "hello", "k", "v")
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			g, _ := line["g"].(map[string]any)
			if g["request_id"] != tt.want || line["component"] != "test" || g["k"] != "v" {
				t.Fatalf("line %s: request_id %v, want %v", buf.String(), g["request_id"], tt.want)
			}
		})
	}
}

func TestEnabledFollowsTheWrappedHandler(t *testing.T) {
	h := slogctx.New(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler's level")
	}
}
