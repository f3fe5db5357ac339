package logbuffer_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatepass/gatepass/foundation/logbuffer"
	"github.com/gatepass/gatepass/test/kit"
)

// sink records each Write it is given; hold, when set, blocks the next
// Write until it is closed.
type sink struct {
	mu     sync.Mutex
	writes []string
	hold   chan struct{}
	held   chan struct{}
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	hold, held := s.hold, s.held
	s.hold = nil
	s.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return len(p), nil
}

func (s *sink) all() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.writes, ""), len(s.writes)
}

// waitFor waits up to 5 s for the sink to hold exactly want, and fails
// with why if it does not.
func (s *sink) waitFor(t *testing.T, want, why string) {
	t.Helper()
	if !kit.Eventually(5*time.Second, time.Millisecond, func() bool { got, _ := s.all(); return got == want }) {
		t.Fatal(why)
	}
}

func line(i int) string { return fmt.Sprintf("{\"n\":%d}\n", i) }

func TestCloseWritesEveryLineInOrder(t *testing.T) {
	var s sink
	w := logbuffer.New(&s, time.Hour)
	var want bytes.Buffer
	for i := range 1000 {
		want.WriteString(line(i))
		if _, err := w.Write([]byte(line(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.all(); got != want.String() {
		t.Fatalf("after Close the sink holds %d bytes, want the %d written, in order", len(got), want.Len())
	}
	// Written through once closed: nothing waits for a flusher that is gone.
	if _, err := w.Write([]byte(line(1000))); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.all(); !strings.HasSuffix(got, line(1000)) {
		t.Fatal("a line written after Close did not reach the sink")
	}
}

// An idle writer writes a line at once, not after the interval.
func TestIdleLineIsWrittenPromptly(t *testing.T) {
	var s sink
	w := logbuffer.New(&s, time.Hour)
	defer w.Close()
	w.Write([]byte(line(1)))
	s.waitFor(t, line(1), "a line logged on an idle writer was not written within 5s (the interval is an hour)")
}

// Lines that come while a write is under way share the next write.
func TestLinesGatherWhileWriting(t *testing.T) {
	s := sink{hold: make(chan struct{}), held: make(chan struct{})}
	hold, held := s.hold, s.held
	w := logbuffer.New(&s, time.Hour)
	w.Write([]byte(line(0)))
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the first line was not written")
	}
	for i := 1; i <= 10; i++ {
		w.Write([]byte(line(i)))
	}
	close(hold)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := s.all()
	var want strings.Builder
	for i := 0; i <= 10; i++ {
		want.WriteString(line(i))
	}
	if got != want.String() {
		t.Fatalf("sink holds %q, want the 11 lines in order", got)
	}
	if writes != 2 {
		t.Errorf("11 lines took %d writes, want 2: the first, then the 10 that came while it was under way", writes)
	}
}

// The flusher writes at least every interval even when its wake-up was
// consumed: lines never wait longer.
func TestIntervalFlush(t *testing.T) {
	var s sink
	w := logbuffer.New(&s, 20*time.Millisecond)
	defer w.Close()
	for i := range 50 {
		w.Write([]byte(line(i)))
	}
	if !kit.Eventually(5*time.Second, 5*time.Millisecond, func() bool { got, _ := s.all(); return strings.Count(got, "\n") == 50 }) {
		got, _ := s.all()
		t.Fatalf("%d of 50 lines written after 5s", strings.Count(got, "\n"))
	}
}

// Under load (a large write just before), lines that come within the gap
// wait for the rest of it and then share one write.
func TestLinesWithinTheGapShareAWrite(t *testing.T) {
	var s sink
	w := logbuffer.NewGap(&s, time.Hour, time.Hour)
	first := strings.Repeat("x", 8<<10) + "\n"
	w.Write([]byte(first))
	s.waitFor(t, first, "the first line (nothing written before it) was not written within 5 s")
	for i := 1; i <= 10; i++ {
		w.Write([]byte(line(i)))
	}
	// Nothing is awaited here: a write before the hour-long gap ends is
	// the fault, and it would come at once; the pause gives it the time to.
	time.Sleep(50 * time.Millisecond)
	if got, writes := s.all(); writes != 1 {
		t.Fatalf("lines within the gap were written before it ended: %d writes, %q", writes, got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := s.all()
	var want strings.Builder
	want.WriteString(first)
	for i := 1; i <= 10; i++ {
		want.WriteString(line(i))
	}
	if got != want.String() || writes != 2 {
		t.Fatalf("after Close: %d writes, want 2 writes of the 11 lines in order", writes)
	}
}

// Lines held for the gap are written when it ends, without Close.
func TestHeldLinesAreWrittenWhenTheGapEnds(t *testing.T) {
	var s sink
	w := logbuffer.NewGap(&s, time.Hour, 30*time.Millisecond)
	defer w.Close()
	first := strings.Repeat("x", 8<<10) + "\n"
	w.Write([]byte(first))
	const why = "not written within 5 s (the gap is 30 ms, the interval an hour)"
	s.waitFor(t, first, why)
	w.Write([]byte(line(1)))
	s.waitFor(t, first+line(1), why)
	if _, writes := s.all(); writes != 2 {
		t.Fatalf("%d writes, want 2", writes)
	}
}

// Requests one at a time (small writes) are not held for the gap: each
// line is written at once, as on an idle server.
func TestLinesOneAtATimeAreWrittenAtOnce(t *testing.T) {
	var s sink
	w := logbuffer.NewGap(&s, time.Hour, time.Hour)
	defer w.Close()
	var want strings.Builder
	for i := range 5 {
		w.Write([]byte(line(i)))
		want.WriteString(line(i))
		s.waitFor(t, want.String(), fmt.Sprintf("line %d, after small writes only, waited for the gap (an hour)", i))
	}
}

func TestOversizedLineKeepsOrder(t *testing.T) {
	var s sink
	w := logbuffer.New(&s, time.Hour)
	w.Write([]byte(line(1)))
	big := strings.Repeat("x", logbuffer.MaxBuffered) + "\n"
	w.Write([]byte(big))
	w.Write([]byte(line(2)))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.all(); got != line(1)+big+line(2) {
		t.Fatalf("order lost around a line larger than the buffer (%d bytes)", len(got))
	}
}

func TestConcurrentWriters(t *testing.T) {
	var s sink
	w := logbuffer.New(&s, time.Millisecond)
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				w.Write([]byte(line(g*each + i)))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := s.all()
	seen := map[string]bool{}
	for _, l := range strings.SplitAfter(got, "\n") {
		if l == "" {
			continue
		}
		if seen[l] {
			t.Fatalf("line %q written twice", l)
		}
		seen[l] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct whole lines, want %d", len(seen), writers*each)
	}
}
