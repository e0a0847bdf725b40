// Package stats holds the summary statistics the tools report: one
// definition of a percentile, so a p50 means the same thing in the bench,
// the latency rig and the hardware test.
//
// It is written here rather than taken from a statistics library: it is a
// dozen lines, works on durations as well as floats, and the callers need
// nothing else such a library offers.
package stats

import "slices"

// Number is what Percentile summarises: durations, counts and measurements.
type Number interface {
	~int | ~int32 | ~int64 | ~float32 | ~float64
}

// Percentile returns the p-quantile (p in [0, 1]) of xs by linear
// interpolation between the closest ranks: the estimate spreadsheets and
// NumPy use by default, so p=0.5 is the median and an even count gives the
// mean of the middle two. xs may be in any order and is not modified. An
// empty xs gives 0; p outside [0, 1] is clamped. For integer types the
// interpolated value is truncated toward zero (under a nanosecond for a
// time.Duration).
func Percentile[T Number](xs []T, p float64) T {
	if len(xs) == 0 {
		return 0
	}
	s := xs
	if !slices.IsSorted(xs) {
		s = slices.Clone(xs)
		slices.Sort(s)
	}
	pos := min(max(p, 0), 1) * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return T(float64(s[i]) + f*(float64(s[i+1])-float64(s[i])))
}
