package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// DETPoint is one point of a detection error trade-off curve: the error
// rates when everything scoring >= Threshold is accepted. For verification
// read FPIR as FAR (false accept rate) and FNIR as FRR (false reject rate).
type DETPoint struct {
	Threshold float64 `json:"threshold"`
	FPIR      float64 `json:"fpir"`
	FNIR      float64 `json:"fnir"`
}

// OperatingPoint is the result of fixing the false-positive rate: the
// smallest threshold whose FPIR does not exceed TargetFPIR, and the rates it
// gives.
type OperatingPoint struct {
	TargetFPIR float64 `json:"target_fpir"`
	Threshold  float64 `json:"threshold"`
	// FPIR is the rate actually reached; it is never above TargetFPIR and
	// can be well below it when few impostors are available (see
	// Resolution) or when impostor scores tie.
	FPIR float64 `json:"fpir"`
	FNIR float64 `json:"fnir"`
	// Resolution is 1/(number of impostor attempts), the smallest FPIR
	// step the data can show. A TargetFPIR below it is met only by
	// rejecting every impostor, so the point measures FPIR = 0, not the
	// target.
	Resolution float64 `json:"resolution"`
}

// AtFPIR returns the operating point for target: the smallest threshold t
// such that the fraction of impostor statistics >= t is at most target, and
// the fraction of genuine statistics below t there.
//
// NaN in either slice means the attempt can never be accepted (no face, or
// for identification a wrong top-1 candidate). Because several impostors may
// share a score, t is placed just above (math.Nextafter) the highest
// impostor score that must be rejected; that way tied impostors are
// rejected together and FPIR never exceeds target. When the target allows
// every finite impostor to be accepted, t is the lowest finite statistic of
// either kind, so nothing that can be accepted is rejected.
func AtFPIR(genuine, impostor []float64, target float64) (OperatingPoint, error) {
	g, i, err := sortedRates(genuine, impostor)
	if err != nil {
		return OperatingPoint{}, err
	}
	if !(target >= 0 && target <= 1) {
		return OperatingPoint{}, fmt.Errorf("target FPIR %v is outside [0, 1]", target)
	}
	return atFPIR(g, i, target), nil
}

// DET returns the DET curve for the given statistics (NaN never accepted),
// with one point per distinct finite value, by increasing threshold, and a
// last point just above the highest value where nothing is accepted (FPIR 0,
// FNIR 1). FPIR therefore falls and FNIR rises along the slice.
func DET(genuine, impostor []float64) ([]DETPoint, error) {
	g, i, err := sortedRates(genuine, impostor)
	if err != nil {
		return nil, err
	}
	return det(g, i), nil
}

// rates holds one kind of attempt: its total count (NaN included) and its
// finite statistics in ascending order.
type rates struct {
	n      int
	finite []float64
}

// accepted counts statistics >= t.
func (r rates) accepted(t float64) int {
	return len(r.finite) - sort.SearchFloat64s(r.finite, t)
}

func sortedRates(genuine, impostor []float64) (rates, rates, error) {
	if len(genuine) == 0 {
		return rates{}, rates{}, errors.New("no genuine attempts: FNIR is undefined")
	}
	if len(impostor) == 0 {
		return rates{}, rates{}, errors.New("no impostor attempts: FPIR is undefined")
	}
	g, err := newRates(genuine, "genuine")
	if err != nil {
		return rates{}, rates{}, err
	}
	i, err := newRates(impostor, "impostor")
	if err != nil {
		return rates{}, rates{}, err
	}
	if len(g.finite) == 0 && len(i.finite) == 0 {
		return rates{}, rates{}, errors.New("every statistic is NaN (no face found anywhere): no threshold can be chosen")
	}
	return g, i, nil
}

func newRates(x []float64, kind string) (rates, error) {
	r := rates{n: len(x), finite: make([]float64, 0, len(x))}
	for k, v := range x {
		if math.IsInf(v, 0) {
			return rates{}, fmt.Errorf("%s statistic %d is %v; use NaN for \"never accept\"", kind, k, v)
		}
		if !math.IsNaN(v) {
			r.finite = append(r.finite, v)
		}
	}
	slices.Sort(r.finite)
	return r, nil
}

// allowed returns the largest count k of n with k/n <= target. It checks
// the division itself rather than trusting floor(target*n), whose rounding
// could admit one impostor too many (or too few).
func allowed(target float64, n int) int {
	k := int(math.Floor(target * float64(n)))
	k = max(0, min(k, n))
	for k < n && float64(k+1)/float64(n) <= target {
		k++
	}
	for k > 0 && float64(k)/float64(n) > target {
		k--
	}
	return k
}

func atFPIR(g, i rates, target float64) OperatingPoint {
	k := allowed(target, i.n)
	var t float64
	if m := len(i.finite); k >= m {
		t = lowest(g, i)
	} else {
		// i.finite is ascending, so the (k+1)-th highest is at m-1-k.
		t = math.Nextafter(i.finite[m-1-k], math.Inf(1))
	}
	return OperatingPoint{
		TargetFPIR: target,
		Threshold:  t,
		FPIR:       float64(i.accepted(t)) / float64(i.n),
		FNIR:       1 - float64(g.accepted(t))/float64(g.n),
		Resolution: 1 / float64(i.n),
	}
}

// lowest is the smallest finite statistic of either kind; sortedRates
// guarantees there is one.
func lowest(g, i rates) float64 {
	switch {
	case len(g.finite) == 0:
		return i.finite[0]
	case len(i.finite) == 0:
		return g.finite[0]
	}
	return min(g.finite[0], i.finite[0])
}

func det(g, i rates) []DETPoint {
	all := append(slices.Clone(g.finite), i.finite...)
	slices.Sort(all)
	all = slices.Compact(all)
	pts := make([]DETPoint, 0, len(all)+1)
	for _, t := range all {
		pts = append(pts, DETPoint{
			Threshold: t,
			FPIR:      float64(i.accepted(t)) / float64(i.n),
			FNIR:      1 - float64(g.accepted(t))/float64(g.n),
		})
	}
	pts = append(pts, DETPoint{Threshold: math.Nextafter(all[len(all)-1], math.Inf(1)), FPIR: 0, FNIR: 1})
	return pts
}
