// Package leakcheck finds goroutines a test package left behind: every
// long-running component must wait for what it started, so once the tests
// are over only the test binary's own goroutines may remain.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignored are goroutines of the runtime and the testing package, not ours.
var ignored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runFuzzing",
	"testing.(*F).",
	"runtime.goexit0",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"internal/fuzz.",
	"runtime/pprof.",
}

// Leaked returns the stacks of goroutines other than the caller's and the
// runtime's, waiting up to grace for goroutines that are still exiting.
func Leaked(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		left := others()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func others() []string {
	buf := make([]byte, 1<<20)
	for range 8 {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.TrimSpace(g) == "" { // the first is the caller
			continue
		}
		skip := false
		for _, s := range ignored {
			if strings.Contains(g, s) {
				skip = true
				break
			}
		}
		if !skip {
			out = append(out, g)
		}
	}
	return out
}

// Main runs the tests and then fails the binary if goroutines leaked.
// Use it as: func TestMain(m *testing.M) { leakcheck.Main(m) }.
func Main(m *testing.M) { MainWith(m, nil) }

// MainWith is Main with a further check (open C objects, say) run after
// the tests.
func MainWith(m *testing.M, check func() error) {
	code := m.Run()
	if code == 0 && check != nil {
		if err := check(); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: %v\n", err)
			code = 1
		}
	}
	if code == 0 {
		if left := Leaked(10 * time.Second); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) left after the tests:\n\n%s\n", len(left), strings.Join(left, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}
