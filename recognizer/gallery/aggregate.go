package gallery

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// AggKind names how a person's template scores become one identity score.
type AggKind uint8

const (
	// AggDefault stands for DefaultAggregation in Options.
	AggDefault AggKind = iota
	// AggMax takes the best template: the score grows with the number of
	// templates, since every extra template is one more chance for an
	// impostor to score high.
	AggMax
	// AggMean averages every template.
	AggMean
	// AggTopMean averages the K best templates (all when fewer).
	AggTopMean
	// AggSoftmax is the log-mean-exp T·log(Σ w_i·e^(s_i/T) / Σ w_i): close
	// to the best template for a small temperature T, to the (weighted)
	// mean for a large one.
	AggSoftmax
)

// Aggregation is a rule turning a person's template scores into one
// identity score. Every rule lies between the smallest and the largest of
// the scores, so it does not grow with the number of templates (except
// AggMax), rises with each score, and gives a person with one template
// exactly that template's score.
type Aggregation struct {
	Kind AggKind
	// K is the number of templates AggTopMean averages.
	K int
	// T is the temperature of AggSoftmax, in score units.
	T float64
}

// DefaultAggregation is what a zero Options.Aggregation means: a
// log-mean-exp at a temperature of 0.1. On the booking-mugshot development
// set with nine near-frontal mugshots per person, a person's best template
// made every extra mugshot an extra chance for impostors (FNIR at FPIR 10%
// 80%, worse than one frontal mugshot's 67%); this rule keeps the best
// view in front while the person's other views pull a lucky impostor
// template down (61%, rank-1 58% against 53%). It had the lowest FNIR
// there of the mean, the mean of the best two and temperatures 0.05-0.2.
var DefaultAggregation = Aggregation{Kind: AggSoftmax, T: 0.1}

// ParseAggregation reads "max", "mean", "top:K" or "lse:T" (softmax at
// temperature T).
func ParseAggregation(s string) (Aggregation, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	switch {
	case name == "max" && !hasArg:
		return Aggregation{Kind: AggMax}, nil
	case name == "mean" && !hasArg:
		return Aggregation{Kind: AggMean}, nil
	case name == "top" && hasArg:
		k, err := strconv.Atoi(arg)
		if err != nil || k < 1 {
			return Aggregation{}, fmt.Errorf("aggregation %q: top:K needs a whole K >= 1", s)
		}
		return Aggregation{Kind: AggTopMean, K: k}, nil
	case name == "lse" && hasArg:
		t, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(t > 0) || math.IsInf(t, 0) {
			return Aggregation{}, fmt.Errorf("aggregation %q: lse:T needs a finite temperature T > 0", s)
		}
		return Aggregation{Kind: AggSoftmax, T: t}, nil
	}
	return Aggregation{}, fmt.Errorf("aggregation %q: want max, mean, top:K or lse:T", s)
}

// String is the form ParseAggregation reads.
func (a Aggregation) String() string {
	switch a.Kind {
	case AggDefault:
		return DefaultAggregation.String()
	case AggMax:
		return "max"
	case AggMean:
		return "mean"
	case AggTopMean:
		return fmt.Sprintf("top:%d", a.K)
	case AggSoftmax:
		return "lse:" + strconv.FormatFloat(a.T, 'g', -1, 64)
	}
	return fmt.Sprintf("aggregation(%d)", a.Kind)
}

func (a Aggregation) resolve() Aggregation {
	if a.Kind == AggDefault {
		return DefaultAggregation
	}
	return a
}

func (a Aggregation) validate() error {
	switch a.Kind {
	case AggDefault, AggMax, AggMean:
		return nil
	case AggTopMean:
		if a.K < 1 {
			return fmt.Errorf("gallery: aggregation top:%d, want K >= 1", a.K)
		}
		return nil
	case AggSoftmax:
		if !(a.T > 0) || math.IsInf(a.T, 0) {
			return fmt.Errorf("gallery: aggregation lse:%v, want a finite temperature > 0", a.T)
		}
		return nil
	}
	return fmt.Errorf("gallery: unknown aggregation kind %d", a.Kind)
}

// Score aggregates one person's template scores s. w holds their weights
// (nil: all equal); AggMax and AggTopMean ignore it, since choosing the
// best templates by score and then weighting them would no longer rise with
// every score. s is reordered by AggTopMean. It returns NaN for no scores.
func (a Aggregation) Score(s, w []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s) == 1 {
		return s[0]
	}
	a = a.resolve()
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	switch a.Kind {
	case AggMean:
		var sum, ws float64
		for i, x := range s {
			sum += weight(i) * x
			ws += weight(i)
		}
		return sum / ws
	case AggTopMean:
		slices.SortFunc(s, func(x, y float64) int { return -compareFloat(x, y) })
		top := s[:min(a.K, len(s))]
		var sum float64
		for _, x := range top {
			sum += x
		}
		return sum / float64(len(top))
	case AggSoftmax:
		// Shift by the best score so that no exponential overflows.
		m := slices.Max(s)
		var sum, ws float64
		for i, x := range s {
			sum += weight(i) * math.Exp((x-m)/a.T)
			ws += weight(i)
		}
		return m + a.T*math.Log(sum/ws)
	}
	return slices.Max(s)
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Pose is a face's head pose in degrees, as recognizer.EstimatePose gives
// it from the landmarks.
type Pose struct{ Yaw, Pitch float32 }

// PoseWeight is the weight of a template at pose t for a probe at pose p:
// a Gaussian of their angular distance with spread sigma degrees, so a
// template seen from the probe's angle counts most. sigma ≤ 0 weighs every
// template alike.
func PoseWeight(p, t Pose, sigma float64) float64 {
	if !(sigma > 0) {
		return 1
	}
	dy, dp := float64(p.Yaw-t.Yaw), float64(p.Pitch-t.Pitch)
	return math.Exp(-(dy*dy + dp*dp) / (2 * sigma * sigma))
}
