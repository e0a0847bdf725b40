package hw

import (
	"testing"

	"go.uber.org/goleak"
)

// The fake SNTP servers run goroutines; none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
