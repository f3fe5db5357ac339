// Package systemclock is the domain Clock backed by the operating system's
// wall clock.
package systemclock

import (
	"time"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.Clock = Clock{}
	_ domain.Timer = Clock{}
)

// Clock reads time.Now.
type Clock struct{}

// Now returns the current time.
func (Clock) Now() time.Time { return time.Now() }

// After is time.After.
func (Clock) After(d time.Duration) <-chan time.Time { return time.After(d) }
