package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// FAR1e3 is the false accept rate at which Verify reports TAR.
const FAR1e3 = 1e-3

// VerifyResult is the outcome of the LFW verification protocol.
type VerifyResult struct {
	Pairs     int
	SamePairs int
	DiffPairs int
	Folds     int
	// NoFacePairs counts pairs with a NaN score. They are treated as
	// "different" at every threshold: right when the pair is mismatched,
	// wrong when it is matched.
	NoFacePairs int

	// FoldAccuracy[f] is the accuracy on fold f at FoldThreshold[f], the
	// threshold that maximised accuracy on all the other folds.
	FoldAccuracy  []float64
	FoldThreshold []float64
	AccuracyMean  float64
	// AccuracyStd is the population standard deviation (divided by the
	// number of folds) of FoldAccuracy, the "±" that common LFW evaluation
	// scripts print. It describes the spread between folds.
	AccuracyStd float64
	// AccuracyStdErr is the standard error of AccuracyMean: the sample
	// standard deviation (divided by folds-1) over sqrt(folds), the figure
	// the LFW benchmark page asks for. It is 0 with a single fold.
	AccuracyStdErr float64
	ThresholdMean  float64

	// AtFAR1e3 is the operating point over all pairs (not cross-validated)
	// where at most 0.1% of mismatched pairs are accepted; read its FPIR
	// as FAR and 1-FNIR as TAR. With fewer than 1,000 mismatched pairs the
	// only such point is FAR = 0 (see OperatingPoint.Resolution).
	AtFAR1e3    OperatingPoint
	TARAtFAR1e3 float64

	// AUC is the area under the ROC curve over all pairs; a NaN score ranks
	// below every finite one and ties count one half.
	AUC float64

	// Subsets holds the same protocol restricted to the pairs of each
	// non-empty Pair.Subset label, thresholds chosen within the subset.
	// It is nil when no pair has a subset.
	Subsets map[string]VerifyResult

	same, diff rates
}

// AtFAR returns the operating point over all pairs at another false accept
// rate; TAR is 1-FNIR.
func (r VerifyResult) AtFAR(far float64) (OperatingPoint, error) {
	if r.Pairs == 0 {
		return OperatingPoint{}, errors.New("empty verification result")
	}
	if !(far >= 0 && far <= 1) {
		return OperatingPoint{}, fmt.Errorf("target FAR %v is outside [0, 1]", far)
	}
	return atFPIR(r.same, r.diff, far), nil
}

// DET returns the verification DET curve over all pairs (FPIR = FAR,
// FNIR = FRR).
func (r VerifyResult) DET() []DETPoint {
	if r.Pairs == 0 {
		return nil
	}
	return det(r.same, r.diff)
}

// Verify runs the LFW verification protocol. scores[k] is the similarity of
// pairs[k] (higher means more alike), or NaN when no face was found in one
// of the images. Each pair's Fold must be in [0, folds) and every fold must
// hold at least one pair.
//
// For each fold, the threshold is the one that maximises accuracy on the
// pairs of all other folds (a pair is called "same" when score >= threshold)
// and the fold's accuracy is measured with it. Within the best range of
// thresholds the midpoint between the two scores that bound it is used;
// when several separate ranges tie, the lowest wins; when the range is
// open-ended, its finite end is used. With folds == 1 there is nothing to
// hold out, so the threshold is fitted on the fold itself and the accuracy
// is optimistic.
func Verify(pairs []Pair, scores []float64, folds int) (VerifyResult, error) {
	r, err := verify(pairs, scores, folds)
	if err != nil {
		return VerifyResult{}, err
	}
	var labels []string
	for _, p := range pairs {
		if p.Subset != "" && !slices.Contains(labels, p.Subset) {
			labels = append(labels, p.Subset)
		}
	}
	if len(labels) == 0 {
		return r, nil
	}
	r.Subsets = make(map[string]VerifyResult, len(labels))
	for _, label := range labels {
		var sp []Pair
		var ss []float64
		for k, p := range pairs {
			if p.Subset == label {
				sp = append(sp, p)
				ss = append(ss, scores[k])
			}
		}
		sr, err := verify(sp, ss, folds)
		if err != nil {
			return VerifyResult{}, fmt.Errorf("subset %s: %w", label, err)
		}
		r.Subsets[label] = sr
	}
	return r, nil
}

func verify(pairs []Pair, scores []float64, folds int) (VerifyResult, error) {
	if len(pairs) == 0 {
		return VerifyResult{}, errors.New("verify: no pairs")
	}
	if len(scores) != len(pairs) {
		return VerifyResult{}, fmt.Errorf("verify: %d scores for %d pairs", len(scores), len(pairs))
	}
	if folds < 1 {
		return VerifyResult{}, fmt.Errorf("verify: %d folds, need at least 1", folds)
	}
	r := VerifyResult{Pairs: len(pairs), Folds: folds}
	perFold := make([]int, folds)
	var sameScores, diffScores []float64
	for k, p := range pairs {
		if p.Fold < 0 || p.Fold >= folds {
			return VerifyResult{}, fmt.Errorf("verify: pair %d (%s, %s) is in fold %d, outside [0, %d)", k, p.A, p.B, p.Fold, folds)
		}
		s := scores[k]
		if math.IsInf(s, 0) {
			return VerifyResult{}, fmt.Errorf("verify: pair %d (%s, %s) has score %v; use NaN for \"no face\"", k, p.A, p.B, s)
		}
		perFold[p.Fold]++
		if math.IsNaN(s) {
			r.NoFacePairs++
		}
		if p.Same {
			r.SamePairs++
			sameScores = append(sameScores, s)
		} else {
			r.DiffPairs++
			diffScores = append(diffScores, s)
		}
	}
	for f, n := range perFold {
		if n == 0 {
			return VerifyResult{}, fmt.Errorf("verify: fold %d has no pairs", f)
		}
	}
	if r.SamePairs == 0 || r.DiffPairs == 0 {
		return VerifyResult{}, fmt.Errorf("verify: %d matched and %d mismatched pairs; both kinds are needed", r.SamePairs, r.DiffPairs)
	}

	r.FoldAccuracy = make([]float64, folds)
	r.FoldThreshold = make([]float64, folds)
	var train []scored
	for f := range folds {
		train = train[:0]
		for k, p := range pairs {
			if p.Fold != f || folds == 1 {
				train = append(train, scored{scores[k], p.Same})
			}
		}
		t, ok := bestThreshold(train)
		if !ok {
			return VerifyResult{}, fmt.Errorf("verify: fold %d: every pair of the other folds has a NaN score, no threshold can be fitted", f)
		}
		correct, n := 0, 0
		for k, p := range pairs {
			if p.Fold != f {
				continue
			}
			n++
			if accept(scores[k], t) == p.Same {
				correct++
			}
		}
		r.FoldThreshold[f] = t
		r.FoldAccuracy[f] = float64(correct) / float64(n)
	}
	r.AccuracyMean = mean(r.FoldAccuracy)
	r.ThresholdMean = mean(r.FoldThreshold)
	ss := 0.0
	for _, a := range r.FoldAccuracy {
		ss += (a - r.AccuracyMean) * (a - r.AccuracyMean)
	}
	r.AccuracyStd = math.Sqrt(ss / float64(folds))
	if folds > 1 {
		r.AccuracyStdErr = math.Sqrt(ss/float64(folds-1)) / math.Sqrt(float64(folds))
	}

	var err error
	r.same, r.diff, err = sortedRates(sameScores, diffScores)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify: %w", err)
	}
	r.AtFAR1e3 = atFPIR(r.same, r.diff, FAR1e3)
	r.TARAtFAR1e3 = 1 - r.AtFAR1e3.FNIR
	r.AUC = auc(sameScores, diffScores)
	return r, nil
}

// accept applies a threshold; NaN compares false, so a pair without a face
// is never accepted.
func accept(score, t float64) bool { return score >= t }

type scored struct {
	score float64
	same  bool
}

// bestThreshold returns the threshold that maximises accuracy on train, as
// described on Verify. ok is false when no score is finite.
func bestThreshold(train []scored) (t float64, ok bool) {
	var fin []scored
	nanDiff := 0
	totalSame := 0
	for _, s := range train {
		if s.same {
			totalSame++
		}
		switch {
		case !math.IsNaN(s.score):
			fin = append(fin, s)
		case !s.same:
			nanDiff++
		}
	}
	if len(fin) == 0 {
		return 0, false
	}
	sort.Slice(fin, func(a, b int) bool { return fin[a].score < fin[b].score })

	// Candidate c accepts the finite scores from starts[c] on; the last
	// candidate accepts none. Moving from one candidate to the next rejects
	// one group of equal scores.
	var starts []int
	for k := range fin {
		if k == 0 || fin[k].score != fin[k-1].score {
			starts = append(starts, k)
		}
	}
	starts = append(starts, len(fin))
	finSame := 0
	for _, s := range fin {
		if s.same {
			finSame++
		}
	}
	correct := make([]int, len(starts))
	sameAbove, diffBelow := finSame, 0
	for c, st := range starts {
		if c > 0 {
			for _, s := range fin[starts[c-1]:st] {
				if s.same {
					sameAbove--
				} else {
					diffBelow++
				}
			}
		}
		correct[c] = sameAbove + diffBelow + nanDiff
	}
	best := slices.Max(correct)
	ca := slices.Index(correct, best)
	cb := ca
	for cb+1 < len(correct) && correct[cb+1] == best {
		cb++
	}

	// Thresholds in (lower, upper] select candidates ca..cb.
	lower, upper := math.Inf(-1), math.Inf(1)
	if starts[ca] > 0 {
		lower = fin[starts[ca]-1].score
	}
	if starts[cb] < len(fin) {
		upper = fin[starts[cb]].score
	}
	switch {
	case math.IsInf(lower, -1) && math.IsInf(upper, 1):
		// Accuracy does not depend on the threshold at all.
		return fin[0].score, true
	case math.IsInf(lower, -1):
		return upper, true
	case math.IsInf(upper, 1):
		return math.Nextafter(lower, upper), true
	}
	mid := lower/2 + upper/2
	if !(mid > lower && mid <= upper) {
		mid = upper
	}
	return mid, true
}

// auc is the Mann-Whitney estimate of P(same score > different score),
// with ties counting one half and NaN below everything.
func auc(same, diff []float64) float64 {
	type item struct {
		v    float64
		same bool
	}
	all := make([]item, 0, len(same)+len(diff))
	for _, v := range same {
		all = append(all, item{v, true})
	}
	for _, v := range diff {
		all = append(all, item{v, false})
	}
	key := func(v float64) float64 {
		if math.IsNaN(v) {
			return math.Inf(-1)
		}
		return v
	}
	sort.Slice(all, func(a, b int) bool { return key(all[a].v) < key(all[b].v) })
	var wins float64
	diffBelow := 0
	for k := 0; k < len(all); {
		j := k
		s, d := 0, 0
		for ; j < len(all) && key(all[j].v) == key(all[k].v); j++ {
			if all[j].same {
				s++
			} else {
				d++
			}
		}
		wins += float64(s)*float64(diffBelow) + 0.5*float64(s)*float64(d)
		diffBelow += d
		k = j
	}
	return wins / (float64(len(same)) * float64(len(diff)))
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
