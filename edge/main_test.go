package edge

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a test leaves goroutines behind: Run must
// wait for everything it started, and so must every test helper.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if left := leaked(10 * time.Second); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %d goroutines outlived the tests:\n\n%s\n", len(left), strings.Join(left, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// notOurs are goroutines of the runtime and the testing package.
var notOurs = []string{
	"testing.(*M).", "testing.tRunner", "testing.runTests", "runtime.goexit0",
	"os/signal.signal_recv", "os/signal.loop", "runtime.ensureSigM", "runtime/pprof.",
}

// leaked returns the stacks of goroutines other than the caller's, giving
// those still on their way out up to grace.
func leaked(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 || strings.TrimSpace(g) == "" {
				continue
			}
			ours := true
			for _, s := range notOurs {
				if strings.Contains(g, s) {
					ours = false
					break
				}
			}
			if ours {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}
