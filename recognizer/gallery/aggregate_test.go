package gallery

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

func TestAggregationScore(t *testing.T) {
	lse := func(T float64, s ...float64) float64 {
		var sum float64
		for _, x := range s {
			sum += math.Exp(x / T)
		}
		return T * math.Log(sum/float64(len(s)))
	}
	cases := []struct {
		name string
		agg  Aggregation
		s, w []float64
		want float64
	}{
		{"max", Aggregation{Kind: AggMax}, []float64{0.2, 0.9, 0.5}, nil, 0.9},
		{"max ignores weights", Aggregation{Kind: AggMax}, []float64{0.2, 0.9}, []float64{1, 0}, 0.9},
		{"mean", Aggregation{Kind: AggMean}, []float64{0.2, 0.9, 0.4}, nil, 0.5},
		{"weighted mean", Aggregation{Kind: AggMean}, []float64{0.2, 0.8}, []float64{3, 1}, 0.35},
		{"top 2", Aggregation{Kind: AggTopMean, K: 2}, []float64{0.2, 0.9, 0.5}, nil, 0.7},
		{"top K above count", Aggregation{Kind: AggTopMean, K: 5}, []float64{0.2, 0.6}, nil, 0.4},
		{"lse", Aggregation{Kind: AggSoftmax, T: 0.1}, []float64{0.2, 0.9, 0.5}, nil, lse(0.1, 0.2, 0.9, 0.5)},
		{"weighted lse", Aggregation{Kind: AggSoftmax, T: 0.5}, []float64{0.2, 0.8}, []float64{1, 0}, 0.2},
		{"default is lse", Aggregation{}, []float64{0.3, 0.7}, nil, lse(DefaultAggregation.T, 0.3, 0.7)},
		{"lse does not overflow", Aggregation{Kind: AggSoftmax, T: 1e-3}, []float64{5, 5}, nil, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.agg.Score(slices.Clone(c.s), c.w); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("Score(%v, %v) = %v, want %v", c.s, c.w, got, c.want)
			}
		})
	}
	for _, a := range []Aggregation{{Kind: AggMax}, {Kind: AggMean}, {Kind: AggTopMean, K: 2}, {Kind: AggSoftmax, T: 0.1}, {}} {
		// One template is its own score, bit for bit.
		if got := a.Score([]float64{0.123456789}, []float64{0.3}); got != 0.123456789 {
			t.Errorf("%v of one score = %v", a, got)
		}
		if got := a.Score(nil, nil); !math.IsNaN(got) {
			t.Errorf("%v of no scores = %v, want NaN", a, got)
		}
		if a.Kind == AggMax {
			continue
		}
		// More templates like an impostor's do not raise the score: the
		// lucky one is pulled down by the others.
		one, many := a.Score([]float64{0.3, 0.8}, nil), a.Score([]float64{0.3, 0.3, 0.3, 0.8}, nil)
		if !(many <= one && one < 0.8) {
			t.Errorf("%v: two templates %v, four %v; want four <= two < best", a, one, many)
		}
	}
	// Between the mean and the max, approaching each at the ends.
	s := []float64{0.1, 0.4, 0.9}
	if lo, hi := (Aggregation{Kind: AggSoftmax, T: 100}).Score(s, nil), (Aggregation{Kind: AggSoftmax, T: 1e-4}).Score(s, nil); math.Abs(lo-0.4667) > 1e-3 || math.Abs(hi-0.9) > 1e-3 {
		t.Errorf("lse at large and small T: %v, %v", lo, hi)
	}
}

func TestParseAggregation(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Aggregation
	}{
		{"max", Aggregation{Kind: AggMax}},
		{"mean", Aggregation{Kind: AggMean}},
		{"top:3", Aggregation{Kind: AggTopMean, K: 3}},
		{"lse:0.05", Aggregation{Kind: AggSoftmax, T: 0.05}},
	} {
		got, err := ParseAggregation(c.in)
		if err != nil || got != c.want || got.String() != c.in {
			t.Errorf("ParseAggregation(%q) = %+v (%s), %v", c.in, got, got, err)
		}
	}
	for _, bad := range []string{"", "max:1", "top", "top:0", "top:x", "lse", "lse:0", "lse:-1", "lse:NaN", "lse:Inf", "median"} {
		if got, err := ParseAggregation(bad); err == nil {
			t.Errorf("ParseAggregation(%q) accepted as %+v", bad, got)
		}
	}
	if _, err := New(testModel, 4, nil, Options{Aggregation: Aggregation{Kind: AggSoftmax}}); err == nil {
		t.Error("New accepted a zero temperature")
	}
	if _, err := New(testModel, 4, nil, Options{PoseSigma: math.NaN()}); err == nil {
		t.Error("New accepted a NaN pose sigma")
	}
}

// TestSearchAggregationMatchesBruteForce runs every scenario under every
// rule: the bounded search must find exactly the persons a full scan
// ranks first.
func TestSearchAggregationMatchesBruteForce(t *testing.T) {
	for _, agg := range []Aggregation{{Kind: AggMean}, {Kind: AggTopMean, K: 2}, {Kind: AggSoftmax, T: 0.05}, {Kind: AggSoftmax, T: 1}} {
		for _, sc := range scenarios {
			for _, norm := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%s/norm=%v", agg, sc.name, norm), func(t *testing.T) {
					rng := newRand(42)
					ts, qs := sc.build(rng, 128)
					s, err := New(testModel, 128, ts, Options{Aggregation: agg, ScoreNorm: norm, CohortSize: 40})
					if err != nil {
						t.Fatal(err)
					}
					checkExact(t, s, ts, qs)
				})
			}
		}
	}
}

func TestSearchPose(t *testing.T) {
	rng := newRand(7)
	const dim = 64
	frontal, profile := recognizer.RandomUnit(rng, dim), recognizer.RandomUnit(rng, dim)
	other := recognizer.RandomUnit(rng, dim)
	at := func(yaw float32) *Pose { return &Pose{Yaw: yaw} }
	ts := []Template{
		{PersonID: "a", TemplateID: "a-front", Vec: frontal, Pose: at(0)},
		{PersonID: "a", TemplateID: "a-side", Vec: profile, Pose: at(90)},
		{PersonID: "b", TemplateID: "b", Vec: near(rng, profile, 0.7), Pose: at(90)},
		{PersonID: "c", TemplateID: "c", Vec: other},
	}
	// A side view of a: close to a's profile mugshot, far from its
	// frontal one, and somewhat like b.
	q := near(rng, profile, 0.9)
	plain, err := New(testModel, dim, ts, Options{Aggregation: Aggregation{Kind: AggMean}})
	if err != nil {
		t.Fatal(err)
	}
	posed, err := New(testModel, dim, ts, Options{Aggregation: Aggregation{Kind: AggMean}, PoseSigma: 20})
	if err != nil {
		t.Fatal(err)
	}
	mp, _ := plain.SearchPose(emb(q), Pose{Yaw: 85}, 2)
	ms, err := posed.SearchPose(emb(q), Pose{Yaw: 85}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].PersonID != "a" || ms[0].TemplateID != "a-side" || !(ms[0].Score > mp[0].Score) {
		t.Fatalf("posed %+v, unposed %+v: want a's profile to carry a", ms, mp)
	}
	// Weighted mean with weights 1 (side) and e^(-85²/800) (front).
	w := PoseWeight(Pose{Yaw: 85}, Pose{}, 20)
	rawFront, rawSide := float64(recognizer.Dot(unitClone(frontal), unitClone(q))), float64(ms[0].RawScore)
	if want := (w*rawFront + rawSide) / (w + 1); math.Abs(float64(ms[0].Score)-want) > 1e-5 {
		t.Errorf("score %v, want %v", ms[0].Score, want)
	}
	if got := PoseWeight(Pose{Yaw: 10}, Pose{Yaw: 10}, 20); got != 1 {
		t.Errorf("same pose weighs %v", got)
	}
	if got := PoseWeight(Pose{Yaw: 10}, Pose{Yaw: 80}, 0); got != 1 {
		t.Errorf("sigma 0 weighs %v", got)
	}
	// Without pose weighting SearchPose is Search.
	a, _ := plain.Search(emb(q), 3)
	b, _ := plain.SearchPose(emb(q), Pose{Yaw: 85}, 3)
	if !slices.Equal(a, b) {
		t.Errorf("Search %v, SearchPose %v", a, b)
	}
}

func unitClone(v []float32) []float32 {
	c := slices.Clone(v)
	recognizer.Normalize(c)
	return c
}
