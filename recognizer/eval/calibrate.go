package eval

import (
	"bufio"
	"fmt"
	"io"
	"math"
)

// Separation pools the similarity scores of same-person and
// different-person pairs, over one or more data sets, to calibrate a
// model: the different-person mean and spread are what score fusion
// normalises by, and d' says how well the model tells people apart. The
// zero value is empty and ready to use.
type Separation struct {
	same, diff moments
}

// ScoreStats are the count, mean and (population) standard deviation of
// a set of scores; Mean and Std are NaN when there are none.
type ScoreStats struct {
	N         int
	Mean, Std float64
}

// moments accumulates a running count, sum and sum of squares.
type moments struct{ n, s, s2 float64 }

func (m *moments) add(x float64) { m.n++; m.s += x; m.s2 += x * x }

func (m moments) stats() ScoreStats {
	if m.n == 0 {
		return ScoreStats{Mean: math.NaN(), Std: math.NaN()}
	}
	mean := m.s / m.n
	return ScoreStats{N: int(m.n), Mean: mean, Std: math.Sqrt(math.Max(0, m.s2/m.n-mean*mean))}
}

// AddPairs adds the cosine similarity of every pair whose two images both
// have an embedding in embs; pairs without a face are left out.
func (s *Separation) AddPairs(pairs []Pair, embs map[string][]float32) {
	for i, x := range pairScores(pairs, embs) {
		switch {
		case math.IsNaN(x):
		case pairs[i].Same:
			s.same.add(x)
		default:
			s.diff.add(x)
		}
	}
}

// Same returns the statistics of the same-person pairs.
func (s *Separation) Same() ScoreStats { return s.same.stats() }

// Different returns the statistics of the different-person pairs.
func (s *Separation) Different() ScoreStats { return s.diff.stats() }

// DPrime is the sensitivity index d' = (μsame − μdiff) / √((σsame² +
// σdiff²)/2): the distance between the two score distributions in units
// of their pooled spread.
func (s *Separation) DPrime() float64 {
	a, b := s.Same(), s.Different()
	return (a.Mean - b.Mean) / math.Sqrt((a.Std*a.Std+b.Std*b.Std)/2)
}

// WriteCalibration writes a Markdown table with one row per model, in
// the order of names: the same- and different-person means and spreads,
// and d'.
func WriteCalibration(w io.Writer, names []string, seps map[string]*Separation) error {
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "| embedder | same mean | same std | different mean | different std | d' |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|")
	for _, n := range names {
		s := seps[n]
		if s == nil {
			s = &Separation{}
		}
		sm, dm := s.Same(), s.Different()
		fmt.Fprintf(b, "| %s | %.4f | %.4f | %.4f | %.4f | %.2f |\n", n, sm.Mean, sm.Std, dm.Mean, dm.Std, s.DPrime())
	}
	return b.Flush()
}
