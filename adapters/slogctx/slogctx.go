// Package slogctx is a log/slog handler decorator that adds the request id
// carried by a record's context to the record, so every line logged with a
// request's context names it, whichever layer logs it.
package slogctx

import (
	"context"
	"log/slog"

	"github.com/gatepass/gatepass/application"
)

var _ slog.Handler = Handler{}

// Handler adds request_id to records whose context carries one.
type Handler struct {
	next slog.Handler
}

// New wraps next.
func New(next slog.Handler) Handler { return Handler{next: next} }

// Enabled defers to the wrapped handler.
func (h Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the request id, when there is one, then passes the record on.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := application.RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs keeps the decorator around the derived handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup keeps the decorator around the derived handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{next: h.next.WithGroup(name)}
}
