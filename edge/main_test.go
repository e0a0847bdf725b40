package edge

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves goroutines behind: Run must
// wait for everything it started, and so must every test helper.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
