package memoryrevocation_test

import (
	"testing"

	"github.com/gatepass/gatepass/adapters/memoryrevocation"
	"github.com/gatepass/gatepass/adapters/revocationtest"
)

func TestConformance(t *testing.T) {
	revocationtest.RunConformanceTests(t, func(t *testing.T) func() revocationtest.Store {
		s := memoryrevocation.New(nil)
		// Replicas of one process share the one store.
		return func() revocationtest.Store { return s }
	})
}
