package edge

import (
	"testing"

	"github.com/dozor-edge/dozor/internal/leakcheck"
)

// TestMain fails the run when a test leaves goroutines behind: Run must
// wait for everything it started, and so must every test helper.
func TestMain(m *testing.M) { leakcheck.Main(m) }
