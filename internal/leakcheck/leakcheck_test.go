package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// parked signals that it runs, then waits: until a goroutine has started,
// its stack names only the go statement's wrapper, not parked.
func parked(running chan<- struct{}, stop <-chan struct{}) {
	close(running)
	<-stop
}

func TestLeaked(t *testing.T) {
	stop, running := make(chan struct{}), make(chan struct{})
	go parked(running, stop)
	<-running
	if left := Leaked(50*time.Millisecond, "leakcheck.parked"); len(left) != 1 || !strings.Contains(left[0], "leakcheck.parked") {
		t.Fatalf("running goroutine not reported: %q", left)
	}
	if left := Leaked(0, "no.such.function"); len(left) != 0 {
		t.Fatalf("goroutines outside the filter reported: %q", left)
	}
	close(stop)
	if left := Leaked(5*time.Second, "leakcheck.parked"); len(left) != 0 {
		t.Fatalf("exited goroutine reported: %q", left)
	}
}

func TestMain(m *testing.M) { Main(m) }
