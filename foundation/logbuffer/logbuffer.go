// Package logbuffer is a buffered io.Writer for log lines: the request
// goroutine appends its line to memory, and one background goroutine
// writes whatever has gathered in a single system call. When the server is
// idle a line is written within microseconds of being logged; under load,
// the lines of many requests share one write, and writes are at least a
// gap (DefaultGap) apart. A line waits at most the longer of the gap and
// the flush interval, and Close writes what is left, so an orderly
// shutdown loses no line.
//
// What a SIGKILL (or any crash that skips Close) can lose is what is
// buffered at that instant: nothing when the server is idle; under load
// the lines gathered since the last write, at most one gap's worth
// (DefaultGap: the price of writing many lines at once rather than a few),
// and never more than MaxBuffered bytes.
package logbuffer

import (
	"io"
	"runtime"
	"sync"
	"time"
)

// Defaults of New.
const (
	// DefaultInterval is how often the buffer is written even when no
	// line has asked for a write.
	DefaultInterval = 100 * time.Millisecond
	// DefaultGap is the least time between two background writes under
	// load: the lines of that time share one write, many more than the
	// flusher would gather on its own, and it is also the longest a line
	// waits then.
	DefaultGap = 5 * time.Millisecond
	// loaded is the size of a write that says the server is under load:
	// after a smaller one (a line or a few, as when requests come one at
	// a time) the next line is written at once, not after the gap.
	loaded = 4 << 10
	// MaxBuffered bounds the bytes held: a line that would grow the buffer
	// past it is written by its own goroutine, with what was held before.
	MaxBuffered = 256 << 10
)

// Writer buffers lines for an underlying writer. Each Write should be one
// whole line (slog's handlers write a record at once), so a line is never
// split between two writes. Safe for concurrent use.
type Writer struct {
	out      io.Writer
	interval time.Duration
	gap      time.Duration

	// wmu serialises writes to out, so lines keep their order; it is taken
	// before mu, never after.
	wmu sync.Mutex

	mu     sync.Mutex
	buf    []byte
	spare  []byte
	closed bool

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// New starts a Writer over out that writes at least every interval
// (DefaultInterval when interval <= 0) and at most once a DefaultGap in
// the background. Call Close to stop it and write what is left.
func New(out io.Writer, interval time.Duration) *Writer {
	return NewGap(out, interval, DefaultGap)
}

// NewGap is New with the least time between background writes set to gap
// (none when gap <= 0).
func NewGap(out io.Writer, interval, gap time.Duration) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Writer{
		out: out, interval: interval, gap: max(gap, 0),
		buf: make([]byte, 0, 32<<10), spare: make([]byte, 0, 32<<10),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Write appends p to the buffer and returns at once. After Close, or when
// p would take the buffer past MaxBuffered, it writes through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if !w.closed && len(w.buf)+len(p) <= MaxBuffered {
		first := len(w.buf) == 0
		w.buf = append(w.buf, p...)
		w.mu.Unlock()
		if first {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		return len(p), nil
	}
	w.mu.Unlock()
	// Write through, after what is already held.
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if _, err := w.flushLocked(); err != nil {
		return 0, err
	}
	return w.out.Write(p)
}

// Flush writes what is buffered now.
func (w *Writer) Flush() error {
	_, err := w.flush()
	return err
}

func (w *Writer) flush() (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.flushLocked()
}

// flushLocked writes the buffer with one Write and says how many bytes
// that was; the caller holds wmu. Writers keep appending to the other
// buffer meanwhile.
func (w *Writer) flushLocked() (int, error) {
	w.mu.Lock()
	pending := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.mu.Unlock()
	var err error
	n := len(pending)
	if n > 0 {
		_, err = w.out.Write(pending)
	}
	w.mu.Lock()
	w.spare = pending[:0]
	w.mu.Unlock()
	return n, err
}

// Close stops the background writer and writes what is left. Later
// writes go straight to the underlying writer. It does not close that.
func (w *Writer) Close() error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		close(w.stop)
		<-w.done
	}
	return w.Flush()
}

// run writes whenever lines have come, and at least every interval. Under
// load (the last write was large and less than a gap ago) a line waits
// for the rest of the gap, so that the lines of many requests share one
// write. Otherwise (an idle server, or requests one at a time) it lets
// the goroutines that are ready run first, so their lines join the
// write, and writes at once.
func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	pause := time.NewTimer(time.Hour)
	pause.Stop()
	var last time.Time
	var size int
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
			if wait := w.gap - time.Since(last); size >= loaded && wait > 0 {
				pause.Reset(wait)
				select {
				case <-w.stop:
					return
				case <-pause.C:
				}
			} else {
				runtime.Gosched()
			}
		case <-tick.C:
		}
		size, _ = w.flush()
		last = time.Now()
	}
}
