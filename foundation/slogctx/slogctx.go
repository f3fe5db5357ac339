// Package slogctx is a log/slog handler decorator that adds the request id
// carried by a record's context to the record, so every line logged with a
// request's context names it, whichever layer logs it.
//
// A handler built by NewJSON also writes one kind of line without slog's
// generic machinery: a Line, appended by hand into a pooled buffer, for
// the one line the server writes per request. Its bytes are those slog's
// JSON handler writes for the same record (the tests hold it to that).
package slogctx

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gatepass/gatepass/foundation/jsonappend"
)

var _ slog.Handler = Handler{}

// RequestID finds the request id a context carries; "" when none. The
// composition root passes the application's, so this package knows no
// layer of gatepass.
type RequestID func(context.Context) string

// Handler adds request_id to records whose context carries one.
type Handler struct {
	next slog.Handler
	idOf RequestID
	// out is the JSON handler's writer when NewJSON built it with no
	// options that change its output; nil otherwise, and in every handler
	// derived with attributes or a group, whose lines a Line would miss.
	out *lockedWriter
}

// New wraps next; idOf finds a record's request id (nil: none is added).
func New(next slog.Handler, idOf RequestID) Handler { return Handler{next: next, idOf: idOf} }

// NewJSON wraps slog.NewJSONHandler(w, opts) and, unless opts asks for a
// source or replaces attributes, can also write Lines to w. Each line,
// slog's or a Line, reaches w in one Write, and never two at once.
func NewJSON(w io.Writer, opts *slog.HandlerOptions, idOf RequestID) Handler {
	lw := &lockedWriter{w: w}
	h := Handler{next: slog.NewJSONHandler(lw, opts), idOf: idOf}
	if opts == nil || (!opts.AddSource && opts.ReplaceAttr == nil) {
		h.out = lw
	}
	return h
}

// Enabled defers to the wrapped handler.
func (h Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the request id, when there is one, then passes the record on.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := h.requestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs keeps the decorator around the derived handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{next: h.next.WithAttrs(attrs), idOf: h.idOf}
}

// WithGroup keeps the decorator around the derived handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{next: h.next.WithGroup(name), idOf: h.idOf}
}

func (h Handler) requestID(ctx context.Context) string {
	if h.idOf == nil {
		return ""
	}
	return h.idOf(ctx)
}

// lockedWriter serialises the writes of slog's handler and of Lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Line is one JSON log line under construction: the time, level and
// message first, then the attributes in the order they are added, then
// the context's request id, as slog's JSON handler under this Handler
// would write them. Only for top-level attributes of string, int and
// finite float64 values.
type Line struct {
	buf  []byte
	ctx  context.Context
	out  *lockedWriter
	idOf RequestID
}

// maxPooledLine keeps a rare long line from pinning its buffer.
const maxPooledLine = 8 << 10

var lines = sync.Pool{New: func() any { return &Line{buf: make([]byte, 0, 512)} }}

// StartLine begins a line logged at t with ctx, or returns nil when the
// handler cannot write Lines (not built by NewJSON, or derived). The
// caller checks Enabled first, adds attributes and ends with Write.
func (h Handler) StartLine(ctx context.Context, t time.Time, level slog.Level, msg string) *Line {
	if h.out == nil {
		return nil
	}
	l := lines.Get().(*Line)
	l.ctx, l.out, l.idOf = ctx, h.out, h.idOf
	b := append(l.buf[:0], `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = jsonappend.SlogString(b, level.String())
	b = append(b, `,"msg":`...)
	l.buf = jsonappend.SlogString(b, msg)
	return l
}

// String adds a string attribute.
func (l *Line) String(key, value string) {
	l.key(key)
	l.buf = jsonappend.SlogString(l.buf, value)
}

// Bytes adds a string attribute given as bytes, sparing a conversion.
func (l *Line) Bytes(key string, value []byte) {
	l.key(key)
	l.buf = jsonappend.SlogString(l.buf, value)
}

// Int adds an integer attribute.
func (l *Line) Int(key string, value int) {
	l.key(key)
	l.buf = strconv.AppendInt(l.buf, int64(value), 10)
}

// Float64 adds a number attribute written as encoding/json writes it
// (slog's JSON handler calls it for floats). value must be finite.
func (l *Line) Float64(key string, value float64) {
	l.key(key)
	format := byte('f')
	if abs := math.Abs(value); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(l.buf, value, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	l.buf = b
}

// Write ends the line with the context's request id and writes it, then
// gives the line back: it must not be used again.
func (l *Line) Write() error {
	if id := (Handler{idOf: l.idOf}).requestID(l.ctx); id != "" {
		l.String("request_id", id)
	}
	l.buf = append(l.buf, '}', '\n')
	_, err := l.out.Write(l.buf)
	l.ctx, l.out, l.idOf = nil, nil, nil
	if cap(l.buf) <= maxPooledLine {
		lines.Put(l)
	}
	return err
}

func (l *Line) key(k string) {
	l.buf = jsonappend.SlogString(append(l.buf, ','), k)
	l.buf = append(l.buf, ':')
}
