package eval

import (
	"errors"
	"fmt"
	"math"
)

// The false positive identification rates at which Identify reports FNIR.
const (
	FPIR1pct  = 0.01
	FPIR10pct = 0.1
)

// Candidate is one gallery identity returned for a probe.
type Candidate struct {
	ID    string
	Score float64
}

// Probe is the search result for one probe image.
type Probe struct {
	// TrueID is the probe's identity; it is only compared for genuine
	// probes.
	TrueID string
	// Genuine is true when TrueID is enrolled (the right answer is that
	// identity) and false for an impostor (the right answer is "unknown").
	Genuine bool
	// NoFace is set when no face was found in the probe; such a probe has
	// no candidates, is a miss when genuine and is never a false positive.
	NoFace bool
	// Candidates are distinct identities ranked best first (scores
	// non-increasing).
	Candidates []Candidate
}

// Statistic maps a probe to the number that is compared with the threshold.
// It is only called for probes that have a face and at least one
// candidate. Returning NaN rejects the probe at every threshold.
type Statistic func(Probe) float64

// TopScore is the usual decision statistic: the top candidate's score.
func TopScore(p Probe) float64 { return p.Candidates[0].Score }

// MarginStat returns the statistic top1 + lambda*(top1 - top2), which
// rewards a clear gap between the best and second-best identity. With a
// single candidate the gap is taken as 0, since there is no competitor to
// be clear of.
func MarginStat(lambda float64) Statistic {
	return func(p Probe) float64 {
		top := p.Candidates[0].Score
		if len(p.Candidates) < 2 {
			return top
		}
		return top + lambda*(top-p.Candidates[1].Score)
	}
}

// IdentifyResult is the outcome of open-set identification.
type IdentifyResult struct {
	Genuine        int
	Impostor       int
	NoFaceGenuine  int
	NoFaceImpostor int
	// Rank1 is the fraction of genuine probes whose top candidate is the
	// true identity, whatever its score; Rank1Hits is the count.
	Rank1     float64
	Rank1Hits int
	// AtFPIR1pct and AtFPIR10pct fix the fraction of impostors whose
	// statistic reaches the threshold to at most 1% and 10%. FNIR there
	// is the fraction of genuine probes that are not (top-1 correct and
	// statistic >= threshold).
	AtFPIR1pct  OperatingPoint
	AtFPIR10pct OperatingPoint
	// DET is the curve over every distinct threshold (see DET).
	DET []DETPoint
	// Gated is set when a usability gate judged the probes: UsableProbes
	// passed it (a probe without a face never does), the rest count as
	// misses when genuine and are never false positives. OverUsable is
	// the same evaluation over the usable probes alone; nil when they
	// lack genuine or impostor probes.
	Gated        bool
	UsableProbes int
	OverUsable   *IdentifyResult

	genuine, impostor rates
}

// AtFPIR returns the operating point for another FPIR target.
func (r IdentifyResult) AtFPIR(target float64) (OperatingPoint, error) {
	if r.Genuine == 0 || r.Impostor == 0 {
		return OperatingPoint{}, errors.New("empty identification result")
	}
	if !(target >= 0 && target <= 1) {
		return OperatingPoint{}, fmt.Errorf("target FPIR %v is outside [0, 1]", target)
	}
	return atFPIR(r.genuine, r.impostor, target), nil
}

// Identify evaluates open-set identification with TopScore as the decision
// statistic.
func Identify(probes []Probe) (IdentifyResult, error) {
	return IdentifyWith(probes, TopScore)
}

// IdentifyWith evaluates open-set identification with a caller-chosen
// decision statistic. A genuine probe counts as identified at threshold t
// when its top candidate is TrueID and stat >= t; an impostor is a false
// positive when stat >= t. Probes without a face never reach any threshold.
// There must be at least one genuine and one impostor probe.
func IdentifyWith(probes []Probe, stat Statistic) (IdentifyResult, error) {
	if stat == nil {
		return IdentifyResult{}, errors.New("identify: nil statistic")
	}
	var r IdentifyResult
	var gen, imp []float64
	for k, p := range probes {
		if err := checkProbe(p); err != nil {
			return IdentifyResult{}, fmt.Errorf("identify: probe %d: %w", k, err)
		}
		v := math.NaN()
		if !p.NoFace && len(p.Candidates) > 0 {
			v = stat(p)
			if math.IsInf(v, 0) {
				return IdentifyResult{}, fmt.Errorf("identify: probe %d: statistic is %v; return NaN to reject", k, v)
			}
		}
		if !p.Genuine {
			r.Impostor++
			if p.NoFace {
				r.NoFaceImpostor++
			}
			imp = append(imp, v)
			continue
		}
		r.Genuine++
		if p.NoFace {
			r.NoFaceGenuine++
		}
		if len(p.Candidates) > 0 && p.Candidates[0].ID == p.TrueID {
			r.Rank1Hits++
		} else {
			// A wrong top candidate is a miss at every threshold.
			v = math.NaN()
		}
		gen = append(gen, v)
	}
	switch {
	case len(probes) == 0:
		return IdentifyResult{}, errors.New("identify: no probes")
	case r.Genuine == 0:
		return IdentifyResult{}, errors.New("identify: no genuine probes, so rank-1 and FNIR are undefined")
	case r.Impostor == 0:
		return IdentifyResult{}, errors.New("identify: no impostor probes, so FPIR is undefined")
	}
	var err error
	r.genuine, r.impostor, err = sortedRates(gen, imp)
	if err != nil {
		return IdentifyResult{}, fmt.Errorf("identify: %w", err)
	}
	r.Rank1 = float64(r.Rank1Hits) / float64(r.Genuine)
	r.AtFPIR1pct = atFPIR(r.genuine, r.impostor, FPIR1pct)
	r.AtFPIR10pct = atFPIR(r.genuine, r.impostor, FPIR10pct)
	r.DET = det(r.genuine, r.impostor)
	return r, nil
}

// checkProbe rejects probes whose ranking cannot be trusted: a duplicated
// identity or an out-of-order list would make rank-1 depend on how the
// caller happened to build the slice.
func checkProbe(p Probe) error {
	if p.Genuine && p.TrueID == "" {
		return errors.New("genuine probe without TrueID")
	}
	if p.NoFace && len(p.Candidates) > 0 {
		return fmt.Errorf("marked NoFace but has %d candidates", len(p.Candidates))
	}
	seen := make(map[string]bool, len(p.Candidates))
	for k, c := range p.Candidates {
		if math.IsNaN(c.Score) || math.IsInf(c.Score, 0) {
			return fmt.Errorf("candidate %d (%s) has score %v", k, c.ID, c.Score)
		}
		if seen[c.ID] {
			return fmt.Errorf("identity %q appears twice among the candidates", c.ID)
		}
		seen[c.ID] = true
		if k > 0 && c.Score > p.Candidates[k-1].Score {
			return fmt.Errorf("candidates are not ranked best first: %d (%s, %v) scores above %d (%s, %v)",
				k, c.ID, c.Score, k-1, p.Candidates[k-1].ID, p.Candidates[k-1].Score)
		}
	}
	return nil
}
