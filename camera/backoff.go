package camera

import (
	"fmt"
	"time"
)

// Backoff is the reconnection policy: the n-th consecutive failure waits
// Min*2^n, capped at Max, shortened by a random fraction of up to Jitter so
// that cameras behind one switch that went down together do not reconnect
// in lockstep.
type Backoff struct {
	Min, Max time.Duration
	// Jitter is the largest fraction taken off a delay, in [0, 1).
	Jitter float64
}

// DefaultBackoff: 1 s doubling up to 60 s, up to 20% shorter.
var DefaultBackoff = Backoff{Min: time.Second, Max: time.Minute, Jitter: 0.2}

// Validate reports a policy that would hot-loop or never retry.
func (b Backoff) Validate() error {
	if b.Min <= 0 || b.Max < b.Min {
		return fmt.Errorf("backoff: min %v, max %v: need 0 < min <= max", b.Min, b.Max)
	}
	if b.Jitter < 0 || b.Jitter >= 1 {
		return fmt.Errorf("backoff: jitter %v not in [0, 1)", b.Jitter)
	}
	return nil
}

// Delay is the wait after failure number n (0 for the first), given a
// random number r in [0, 1).
func (b Backoff) Delay(n int, r float64) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ { // bounded: at most log2(Max/Min) doublings
		d *= 2
	}
	d = min(d, b.Max)
	r = max(0, min(r, 1))
	return d - time.Duration(float64(d)*b.Jitter*r)
}
