package camera

import (
	"testing"
	"time"
)

// TestDefaultBackoff: 1 s doubling up to 60 s, never more, at most a fifth
// shorter. The policy itself is tested in internal/backoff.
func TestDefaultBackoff(t *testing.T) {
	if err := DefaultBackoff.Validate(); err != nil {
		t.Fatal(err)
	}
	for n, w := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60} {
		w *= time.Second
		if got := DefaultBackoff.Delay(n, 0); got != w {
			t.Errorf("failure %d: %v, want %v", n, got, w)
		}
		if got, lo := DefaultBackoff.Delay(n, 0.999999), w*4/5; got < lo || got > w {
			t.Errorf("failure %d with jitter: %v outside [%v, %v]", n, got, lo, w)
		}
	}
}
