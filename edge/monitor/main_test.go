package monitor

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a handler, a socket or a subscription
// leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
