package hw

import (
	"testing"

	"github.com/dozor-edge/dozor/internal/leakcheck"
)

// The fake SNTP servers run goroutines; none may outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }
