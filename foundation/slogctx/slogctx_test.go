package slogctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

func TestRequestIDFromContext(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		want any
	}{
		{name: "context with an id", ctx: application.WithRequestInfo(context.Background(), &application.RequestInfo{RequestID: "req-1"}), want: "req-1"},
		{name: "context without one", ctx: context.Background(), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slogctx.New(slog.NewJSONHandler(&buf, nil), application.RequestID)).With("component", "test").WithGroup("g")
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
	h := slogctx.New(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}), application.RequestID)
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler's level")
	}
}

// A Line is byte for byte what slog's JSON handler writes for the same
// record through the same Handler, whatever the strings hold.
func TestLineMatchesSlogJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " back \ slash`, "<html> & co", "ctl \x00\x01\b\f\n\r\t\x1f\x7f",
		"caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff\xfe utf8 \xe2\x82", "/api/v1/realtime/token"}
	floats := []float64{0, 0.001, 1.5, 12.345, 1e-7, -2.5e-9, 1e21, 123456789.125, -0.25}
	at := time.Date(2026, 11, 29, 19, 1, 13, 123456789, time.FixedZone("X", 3600))
	ctxs := []context.Context{context.Background(), application.WithRequestInfo(context.Background(), &application.RequestInfo{RequestID: "req-\"1\""})}
	for i, s := range strs {
		for j, ctx := range ctxs {
			level := []slog.Level{slog.LevelInfo, slog.LevelError}[j]
			f := floats[i%len(floats)]
			var want, got bytes.Buffer
			r := slog.NewRecord(at, level, "request "+s, 0)
			r.AddAttrs(slog.String("method", s), slog.Int("status", 200+i), slog.Float64("latency_ms", f),
				slog.String(s, "key "+s), slog.String("client_ip", "192.0.2.1"))
			if err := slogctx.NewJSON(&want, nil, application.RequestID).Handle(ctx, r); err != nil {
				t.Fatal(err)
			}
			l := slogctx.NewJSON(&got, nil, application.RequestID).StartLine(ctx, at, level, "request "+s)
			l.String("method", s)
			l.Int("status", 200+i)
			l.Float64("latency_ms", f)
			l.String(s, "key "+s)
			l.Bytes("client_ip", []byte("192.0.2.1"))
			if err := l.Write(); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("line\n got %s\nwant %s", got.String(), want.String())
			}
		}
	}
	for _, f := range []float64{0.0015, 1e-6, 9.99e20, 5e-324, 1.7976931348623157e308} {
		var want, got bytes.Buffer
		r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.Float64("f", f))
		_ = slogctx.NewJSON(&want, nil, application.RequestID).Handle(context.Background(), r)
		l := slogctx.NewJSON(&got, nil, application.RequestID).StartLine(context.Background(), at, slog.LevelInfo, "m")
		l.Float64("f", f)
		_ = l.Write()
		if got.String() != want.String() {
			t.Errorf("float %v\n got %s\nwant %s", f, got.String(), want.String())
		}
	}
}

// Lines are only for handlers whose output they can match.
func TestStartLineOnlyWhereItMatches(t *testing.T) {
	var buf bytes.Buffer
	ctx := context.Background()
	if slogctx.New(slog.NewJSONHandler(&buf, nil), application.RequestID).StartLine(ctx, time.Now(), slog.LevelInfo, "m") != nil {
		t.Error("a handler New wrapped writes Lines")
	}
	if slogctx.NewJSON(&buf, &slog.HandlerOptions{AddSource: true}, application.RequestID).StartLine(ctx, time.Now(), slog.LevelInfo, "m") != nil {
		t.Error("a handler that adds the source writes Lines")
	}
	derived := slogctx.NewJSON(&buf, nil, application.RequestID).WithAttrs([]slog.Attr{slog.String("k", "v")}).(slogctx.Handler)
	if derived.StartLine(ctx, time.Now(), slog.LevelInfo, "m") != nil {
		t.Error("a handler with attributes writes Lines")
	}
}
