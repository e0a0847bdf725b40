package loadgen

import (
	"math"
	"time"
)

// BurstPeriod is one burst cycle: the first half at the peak rate, the
// second half at a tenth of it, like the rush of sightings at a shift
// change followed by a quiet corridor.
const BurstPeriod = 10 * time.Second

// Schedule is the offered load over time.
type Schedule struct {
	// Rate is the peak, in messages per second across all sites.
	Rate float64
	// Burst alternates the peak with lulls (BurstPeriod) instead of
	// holding it.
	Burst bool
}

// Due is how many messages are due from the start to elapsed: the
// integral of the rate, rounded down.
func (s Schedule) Due(elapsed time.Duration) int64 {
	if elapsed <= 0 || s.Rate <= 0 {
		return 0
	}
	sec := elapsed.Seconds()
	if !s.Burst {
		return int64(math.Floor(s.Rate*sec + 1e-9))
	}
	period, half := BurstPeriod.Seconds(), BurstPeriod.Seconds()/2
	perCycle := s.Rate*half + s.Rate/10*half
	cycles := math.Floor(sec / period)
	in := sec - cycles*period
	n := cycles * perCycle
	if in <= half {
		n += s.Rate * in
	} else {
		n += s.Rate*half + s.Rate/10*(in-half)
	}
	return int64(math.Floor(n + 1e-9))
}
