// Package backoff paces reconnection attempts: the camera supervisor and
// the MQTT uplink retry with it.
//
// The n-th consecutive failure (n from 0) waits Min·2^n, capped at Max,
// and that nominal delay d is then shortened by a random fraction of up to
// Jitter: the wait is drawn uniformly from [(1-Jitter)·d, d]. Jitter only
// ever shortens a wait, so Max is the longest anyone waits, as configured;
// the spread grows with the wait, so peers that failed together (cameras
// behind one switch, the boxes of a region that lost its broker) drift
// apart instead of retrying in lockstep; and (1-Jitter)·d stays above
// zero, so a retry never comes early enough to hot-loop.
package backoff

import (
	"context"
	"fmt"
	"time"
)

// Policy is a jittered exponential backoff.
type Policy struct {
	Min, Max time.Duration
	// Jitter is the largest fraction taken off a delay, in [0, 1).
	Jitter float64
}

// Validate reports a policy that would hot-loop or never retry.
func (p Policy) Validate() error {
	if p.Min <= 0 || p.Max < p.Min {
		return fmt.Errorf("backoff: min %v, max %v: need 0 < min <= max", p.Min, p.Max)
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		return fmt.Errorf("backoff: jitter %v not in [0, 1)", p.Jitter)
	}
	return nil
}

// Delay is the wait after failure number n (0 for the first), given a
// random number r in [0, 1); r outside is clamped.
func (p Policy) Delay(n int, r float64) time.Duration {
	d := p.Min
	for ; n > 0 && d < p.Max; n-- { // at most log2(Max/Min) doublings
		if d > p.Max/2 { // doubling would pass Max, or overflow
			d = p.Max
			break
		}
		d *= 2
	}
	d = min(d, p.Max)
	r = max(0, min(r, 1))
	return d - time.Duration(float64(d)*p.Jitter*r)
}

// Sleep waits for d and reports whether it did; it returns false as soon
// as ctx ends.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
