package gallery

import (
	"math"
	"runtime"
	"slices"
	"sync"
)

// cohortSeed fixes the cohort sample, so that the same gallery always gets
// the same statistics and therefore the same normalised scores.
const cohortSeed = 0x6a09e667f3bcc908

// cohortStats returns μ_t and σ_t for every template and the number of
// templates the cohort was drawn from.
func (s *Snapshot) cohortStats(size int, scales []float32) (mu, sigma []float64, members int) {
	n := s.n
	mu = make([]float64, n)
	sigma = make([]float64, n)
	cohort := sampleIndices(n, size)

	cc := make([]int8, roundUp(len(cohort), quad)*s.stride)
	row := make([]int8, s.stride)
	for j, t := range cohort {
		getRow(s.codes, s.stride, int(t), row)
		putRow(cc, s.stride, j, row)
	}

	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() {
			q := make([]int8, s.stride)
			qabs := make([]int8, s.stride)
			out := make([]int32, roundUp(len(cohort), quad))
			sims := make([]float64, 0, len(cohort))
			for t := lo; t < hi; t++ {
				getRow(s.codes, s.stride, t, q)
				absCodes(q, qabs)
				dots(q, qabs, cc, s.stride, out)
				sims = sims[:0]
				for j, c := range cohort {
					if s.person[c] == s.person[t] {
						continue
					}
					sims = append(sims, float64(out[j])*float64(scales[t])*float64(scales[c]))
				}
				mu[t], sigma[t] = meanStd(sims)
			}
		})
	}
	wg.Wait()
	return mu, sigma, len(cohort)
}

// meanStd returns the mean and the population standard deviation, floored
// at MinSigma. With no cohort at all (a single-person gallery) it returns
// 0 and 1, leaving the raw score unchanged.
func meanStd(x []float64) (float64, float64) {
	if len(x) == 0 {
		return 0, 1
	}
	var sum float64
	for _, v := range x {
		sum += v
	}
	m := sum / float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return m, max(math.Sqrt(ss/float64(len(x))), MinSigma)
}

// sampleIndices returns all of 0..n-1 when n ≤ size, otherwise size of them
// drawn without replacement by a seeded generator, in increasing order.
// The generator is written out here rather than taken from math/rand so that
// the sample cannot change with the Go release.
func sampleIndices(n, size int) []int32 {
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	if n <= size {
		return idx
	}
	state := uint64(cohortSeed)
	next := func() uint64 { // splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	for i := range size {
		j := i + int(next()%uint64(n-i))
		idx[i], idx[j] = idx[j], idx[i]
	}
	idx = idx[:size]
	slices.Sort(idx)
	return idx
}

// absCodes sets dst to |src|; codes are never -128, so this cannot overflow.
func absCodes(src, dst []int8) {
	for i, c := range src {
		if c < 0 {
			c = -c
		}
		dst[i] = c
	}
}
