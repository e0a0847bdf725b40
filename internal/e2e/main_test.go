//go:build cgo

package e2e_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves goroutines behind: both
// daemons must stop everything they started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
