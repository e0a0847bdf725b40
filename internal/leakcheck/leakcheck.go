// Package leakcheck finds goroutines tests left behind: every long-running
// component must wait for what it started, so once a test (or a test
// package) is over only the test binary's own goroutines may remain.
//
// Use Main (or MainWith) from TestMain to check a whole package once its
// tests are over, and Check from a test to check just that test; both
// ignore the goroutines of the runtime and the testing package.
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
	"testing.runTests",
	"testing.tRunner",
	"testing.(*T).Run(",
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
// Given match, only goroutines whose stack contains one of those strings
// (a package path, say) count.
func Leaked(grace time.Duration, match ...string) []string {
	deadline := time.Now().Add(grace)
	for {
		left := others(match)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Check registers a cleanup failing t if goroutines outlive it, giving
// those on their way out 5 s. Call it first in the test, so that its
// cleanup runs last, after those stopping what the test started. Given
// match, only goroutines whose stack contains one of those strings count:
// needed where other tests may run in parallel.
func Check(t testing.TB, match ...string) {
	t.Helper()
	t.Cleanup(func() {
		if left := Leaked(5*time.Second, match...); len(left) > 0 {
			t.Errorf("%d goroutines leaked:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
	})
}

func others(match []string) []string {
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
		if containsAny(g, ignored) || (len(match) > 0 && !containsAny(g, match)) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
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
