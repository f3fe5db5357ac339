// Package memorylimit is the in-process domain.RateLimiter for a single
// replica: the generic cell rate algorithm (GCRA) over an injected clock,
// with the same arithmetic as the Redis backend (adapters/redislimit), so
// both answer alike for the same sequence of events.
//
// GCRA keeps one instant per key, its theoretical arrival time (TAT): when
// the key's budget would be full again. A key whose TAT has passed is
// indistinguishable from one never seen, so the limiter forgets it; memory
// then holds only keys with spent budget, and at most a configured number
// of those.
package memorylimit

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.RateLimiter = (*Limiter)(nil)

// DefaultMaxKeys is the number of keys kept when New is given none: about
// ten megabytes with short keys.
const DefaultMaxKeys = 100_000

// ErrInvalidLimit means a limit cannot be enforced: Rate, Period or Burst
// is not positive, or Period/Rate is under a nanosecond.
var ErrInvalidLimit = domain.ErrInvalidLimit

// Limiter is a GCRA rate limiter held in memory. It is safe for concurrent
// use.
type Limiter struct {
	now     func() time.Time
	maxKeys int

	mu    sync.Mutex
	keys  map[string]*entry
	queue tatQueue // the same entries, soonest TAT first
}

// New returns a Limiter that reads the time from now (time.Now when nil)
// and keeps at most maxKeys keys (DefaultMaxKeys when not positive).
func New(now func() time.Time, maxKeys int) *Limiter {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{now: now, maxKeys: maxKeys, keys: make(map[string]*entry)}
}

// Allow counts one event for key against limit. A refused event costs
// nothing.
func (l *Limiter) Allow(_ context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	interval, burstOffset, err := limit.GCRA()
	if err != nil {
		return domain.Decision{}, err
	}
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetRefilled(now)

	e := l.keys[key]
	tat := now
	if e != nil && e.tat.After(now) {
		tat = e.tat
	}
	newTAT := tat.Add(interval)
	// The event fits if the key's TAT after it lies no further ahead than
	// the burst allows.
	slack := now.Sub(newTAT.Add(-burstOffset))
	if slack < 0 {
		return domain.Decision{RetryAfter: ceilMillisecond(-slack)}, nil
	}
	l.store(e, key, newTAT)
	return domain.Decision{Allowed: true, Remaining: int(slack / interval)}, nil
}

// Len returns the number of keys held: those whose budget is not yet full
// again.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// forgetRefilled drops keys whose budget is full again; the caller holds mu.
func (l *Limiter) forgetRefilled(now time.Time) {
	for len(l.queue) > 0 && !l.queue[0].tat.After(now) {
		delete(l.keys, heap.Pop(&l.queue).(*entry).key)
	}
}

// store records key's new TAT; the caller holds mu. When a new key finds
// the limiter full, the key closest to a full budget is forgotten: it can
// then get through early by less than any other key could.
func (l *Limiter) store(e *entry, key string, tat time.Time) {
	if e != nil {
		e.tat = tat
		heap.Fix(&l.queue, e.index)
		return
	}
	if len(l.keys) >= l.maxKeys {
		delete(l.keys, heap.Pop(&l.queue).(*entry).key)
	}
	e = &entry{key: key, tat: tat}
	l.keys[key] = e
	heap.Push(&l.queue, e)
}

// ceilMillisecond rounds d up to the millisecond, so a caller that waits
// RetryAfter is never early.
func ceilMillisecond(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}

type entry struct {
	key   string
	tat   time.Time
	index int // in tatQueue
}

// tatQueue is a container/heap of entries ordered by TAT.
type tatQueue []*entry

func (q tatQueue) Len() int           { return len(q) }
func (q tatQueue) Less(i, j int) bool { return q[i].tat.Before(q[j].tat) }

func (q tatQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *tatQueue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}

func (q *tatQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}
