package uplink

import "time"

// backoffDelay is the wait after the n-th consecutive failed or short-lived
// connection (n from 0): lo·2^n capped at hi, then drawn uniformly from
// its upper half with r in [0, 1), so that the boxes of a region that lost
// the broker together do not return in lockstep, and no wait is shorter
// than half the nominal one.
func backoffDelay(lo, hi time.Duration, n int, r float64) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ { // bounded by log2(hi/lo) doublings
		d *= 2
	}
	if d > hi {
		d = hi
	}
	r = clamp(r, 0, 1)
	return d/2 + time.Duration(float64(d/2)*r)
}

func clamp(x, lo, hi float64) float64 {
	switch {
	case x < lo:
		return lo
	case x > hi:
		return hi
	}
	return x
}
