package main

import (
	"net"
	"net/http"
	"testing"
)

// fakeConn records whether it was closed.
type fakeConn struct {
	net.Conn
	closed bool
}

func (c *fakeConn) Close() error { c.closed = true; return nil }

// Near the cap the longest idle connection is closed, never an active one,
// and a connection that went back to work leaves the idle list.
func TestIdleCloserClosesTheLongestIdle(t *testing.T) {
	tr := newIdleCloser(10) // closes from 9 open connections
	conns := make([]*fakeConn, 8)
	for i := range conns {
		conns[i] = &fakeConn{}
		tr.connState(conns[i], http.StateNew)
		tr.connState(conns[i], http.StateActive)
	}
	// 2, 0, 5 go idle in that order; 0 goes back to work; then 7 idles.
	for _, i := range []int{2, 0, 5} {
		tr.connState(conns[i], http.StateIdle)
	}
	tr.connState(conns[0], http.StateActive)
	tr.connState(conns[7], http.StateIdle)
	if tr.nIdle != 3 {
		t.Fatalf("%d idle, want 3 (2, 5, 7)", tr.nIdle)
	}
	// Each new connection at the cap closes the longest idle one (the
	// closed one leaves the map, so the count stays at the cap).
	closed := map[int]bool{}
	for _, want := range []int{2, 5, 7} {
		tr.connState(&fakeConn{}, http.StateNew)
		closed[want] = true
		for i, c := range conns {
			if c.closed != closed[i] {
				t.Fatalf("after a new connection at the cap, connection %d closed = %v, want %v", i, c.closed, closed[i])
			}
		}
		tr.connState(conns[want], http.StateClosed) // as the server reports it
	}
	// No idle connection is left: a new one at the cap closes nothing.
	tr.connState(&fakeConn{}, http.StateNew)
	for i, c := range conns {
		if c.closed != closed[i] {
			t.Fatalf("connection %d closed = %v with none idle", i, c.closed)
		}
	}
	if tr.nIdle != 0 {
		t.Fatalf("%d idle, want 0", tr.nIdle)
	}
}

// A request's two state changes allocate nothing.
func TestIdleCloserRequestAllocatesNothing(t *testing.T) {
	tr := newIdleCloser(1000)
	c := &fakeConn{}
	tr.connState(c, http.StateNew)
	if n := testing.AllocsPerRun(1000, func() {
		tr.connState(c, http.StateActive)
		tr.connState(c, http.StateIdle)
	}); n != 0 {
		t.Errorf("a request's state changes allocate %.1f times", n)
	}
}
