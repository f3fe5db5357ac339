package memoryrevocation_test

import (
	"testing"

	"github.com/gatepass/gatepass/adapters/memoryrevocation"
	"github.com/gatepass/gatepass/adapters/revocationtest"
)

func TestConformance(t *testing.T) {
	revocationtest.RunConformanceTests(t, func(t *testing.T) revocationtest.Harness {
		s := memoryrevocation.New(nil)
		// Replicas of one process share the one store, which lives as long
		// as they do: it is never emptied.
		return revocationtest.Harness{Open: func() revocationtest.Store { return s }}
	})
}
