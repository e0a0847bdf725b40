package eval

import (
	"math"
	"strings"
	"testing"
)

func cands(kv ...any) []Candidate {
	var out []Candidate
	for k := 0; k < len(kv); k += 2 {
		out = append(out, Candidate{kv[k].(string), kv[k+1].(float64)})
	}
	return out
}

// probeSet is four genuine and four impostor probes:
//
//	genuine A: A .875, B .25   right, statistic .875
//	genuine B: B .625, A .5    right, .625
//	genuine C: A .75, C .6875  wrong top-1: a miss at every threshold
//	genuine D: no face         a miss
//	impostor:  A .8125
//	impostor:  B .5
//	impostor:  A .375, B .25
//	impostor:  no face         never a false positive
func probeSet() []Probe {
	return []Probe{
		{TrueID: "A", Genuine: true, Candidates: cands("A", 0.875, "B", 0.25)},
		{TrueID: "B", Genuine: true, Candidates: cands("B", 0.625, "A", 0.5)},
		{TrueID: "C", Genuine: true, Candidates: cands("A", 0.75, "C", 0.6875)},
		{TrueID: "D", Genuine: true, NoFace: true},
		{TrueID: "X", Candidates: cands("A", 0.8125)},
		{TrueID: "Y", Candidates: cands("B", 0.5)},
		{Candidates: cands("A", 0.375, "B", 0.25)},
		{TrueID: "Z", NoFace: true},
	}
}

func TestIdentify(t *testing.T) {
	r, err := Identify(probeSet())
	if err != nil {
		t.Fatal(err)
	}
	if r.Genuine != 4 || r.Impostor != 4 || r.NoFaceGenuine != 1 || r.NoFaceImpostor != 1 {
		t.Errorf("counts %+v", r)
	}
	if r.Rank1 != 0.5 || r.Rank1Hits != 2 {
		t.Errorf("rank-1 %v (%d hits), want 0.5 (2)", r.Rank1, r.Rank1Hits)
	}
	// With 4 impostors, 1% and 10% both allow none: the threshold goes
	// just above the best impostor, .8125, and only genuine A (.875) is
	// still identified.
	want := OperatingPoint{TargetFPIR: 0.01, Threshold: math.Nextafter(0.8125, 1), FPIR: 0, FNIR: 0.75, Resolution: 0.25}
	if r.AtFPIR1pct != want {
		t.Errorf("at FPIR 1%%: %+v, want %+v", r.AtFPIR1pct, want)
	}
	want.TargetFPIR = 0.1
	if r.AtFPIR10pct != want {
		t.Errorf("at FPIR 10%%: %+v, want %+v", r.AtFPIR10pct, want)
	}

	ops := []struct {
		target float64
		want   OperatingPoint
	}{
		// One impostor allowed: above the 2nd best (.5); A and B hit.
		{0.25, OperatingPoint{0.25, math.Nextafter(0.5, 1), 0.25, 0.5, 0.25}},
		// Two allowed: above .375.
		{0.5, OperatingPoint{0.5, math.Nextafter(0.375, 1), 0.5, 0.5, 0.25}},
		// Everything allowed: the lowest finite statistic, .375; the
		// no-face impostor still is not accepted.
		{1, OperatingPoint{1, 0.375, 0.75, 0.5, 0.25}},
		{0, OperatingPoint{0, math.Nextafter(0.8125, 1), 0, 0.75, 0.25}},
	}
	for _, op := range ops {
		got, err := r.AtFPIR(op.target)
		if err != nil {
			t.Fatal(err)
		}
		if got != op.want {
			t.Errorf("AtFPIR(%v) = %+v, want %+v", op.target, got, op.want)
		}
	}

	// Thresholds are the hits' and impostors' statistics; genuine C's .75
	// changes nothing because C is never a hit.
	wantDET := []DETPoint{
		{0.375, 0.75, 0.5},
		{0.5, 0.5, 0.5},
		{0.625, 0.25, 0.5},
		{0.8125, 0.25, 0.75},
		{0.875, 0, 0.75},
		{math.Nextafter(0.875, 1), 0, 1},
	}
	if len(r.DET) != len(wantDET) {
		t.Fatalf("DET %+v, want %+v", r.DET, wantDET)
	}
	for k := range wantDET {
		if r.DET[k] != wantDET[k] {
			t.Errorf("DET[%d] = %+v, want %+v", k, r.DET[k], wantDET[k])
		}
	}
}

func TestIdentifyWithMargin(t *testing.T) {
	// top1 + 1*(top1-top2): genuine A 1.5, genuine B .75; impostors .8125
	// (single candidate, no margin), .5 (single), .375+.125 = .5.
	r, err := IdentifyWith(probeSet(), MarginStat(1))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rank1 != 0.5 {
		t.Errorf("rank-1 %v: the statistic must not change rank-1", r.Rank1)
	}
	if r.AtFPIR1pct.Threshold != math.Nextafter(0.8125, 1) || r.AtFPIR1pct.FNIR != 0.75 {
		t.Errorf("at 1%%: %+v", r.AtFPIR1pct)
	}
	// Two impostors tie at .5 for the 2nd and 3rd place. A target of 1/2
	// allows two, but accepting the tie would make it three, so both are
	// rejected and FPIR stays at 1/4.
	op, err := r.AtFPIR(0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := OperatingPoint{0.5, math.Nextafter(0.5, 1), 0.25, 0.5, 0.25}
	if op != want {
		t.Errorf("AtFPIR(0.5) = %+v, want %+v", op, want)
	}

	// A statistic returning NaN rejects the probe.
	r, err = IdentifyWith(probeSet(), func(p Probe) float64 {
		if p.Candidates[0].ID == "B" {
			return nan
		}
		return p.Candidates[0].Score
	})
	if err != nil {
		t.Fatal(err)
	}
	// Genuine B and impostor "B .5" are now never accepted.
	if op := r.AtFPIR10pct; op.FNIR != 0.75 || op.FPIR != 0 {
		t.Errorf("NaN statistic: %+v", op)
	}
	if op, _ := r.AtFPIR(1); op.FPIR != 0.5 || op.FNIR != 0.75 {
		t.Errorf("NaN statistic, FPIR 1: %+v", op)
	}
}

func TestAtFPIR(t *testing.T) {
	tests := []struct {
		name          string
		gen, imp      []float64
		target        float64
		thr, fpir, fn float64
	}{
		{"target below resolution", []float64{0.875, 0.625}, []float64{0.75, 0.5, 0.375}, 0.01, math.Nextafter(0.75, 1), 0, 0.5},
		{"exact multiple", []float64{0.875, 0.625, 0.25}, []float64{0.75, 0.5, 0.375, 0.125}, 0.5, math.Nextafter(0.375, 1), 0.5, 1.0 / 3},
		{"tie at the cut", []float64{0.875, 0.75}, []float64{0.75, 0.75, 0.5}, 0.34, math.Nextafter(0.75, 1), 0, 0.5},
		{"accept all finite", []float64{0.5, nan}, []float64{0.25, nan}, 1, 0.25, 0.5, 0.5},
		{"impostors without faces", []float64{0.5}, []float64{nan, nan}, 0.01, 0.5, 0, 0},
		{"genuine without faces", []float64{nan}, []float64{0.5, 0.25}, 0.5, math.Nextafter(0.25, 1), 0.5, 1},
		{"target zero", []float64{0.75}, []float64{0.5, 0.25}, 0, math.Nextafter(0.5, 1), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op, err := AtFPIR(tc.gen, tc.imp, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if op.Threshold != tc.thr || !near(op.FPIR, tc.fpir) || !near(op.FNIR, tc.fn) {
				t.Errorf("got threshold %v FPIR %v FNIR %v, want %v %v %v", op.Threshold, op.FPIR, op.FNIR, tc.thr, tc.fpir, tc.fn)
			}
			if op.FPIR > tc.target {
				t.Errorf("FPIR %v exceeds the target %v", op.FPIR, tc.target)
			}
		})
	}

	errs := []struct {
		name     string
		gen, imp []float64
		target   float64
		err      string
	}{
		{"no genuine", nil, []float64{0.5}, 0.1, "no genuine attempts"},
		{"no impostors", []float64{0.5}, nil, 0.1, "no impostor attempts"},
		{"all NaN", []float64{nan}, []float64{nan}, 0.1, "every statistic is NaN"},
		{"infinite", []float64{math.Inf(1)}, []float64{0.5}, 0.1, "genuine statistic 0 is +Inf"},
		{"target above one", []float64{0.5}, []float64{0.5}, 1.5, "target FPIR 1.5 is outside [0, 1]"},
		{"NaN target", []float64{0.5}, []float64{0.5}, nan, "target FPIR NaN"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AtFPIR(tc.gen, tc.imp, tc.target)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		target float64
		n      int
		want   int
	}{
		{0.01, 812, 8},
		{0.1, 200, 20},
		{0.01, 100, 1},
		{0.001, 999, 0},
		{0.001, 1000, 1},
		{0, 5, 0},
		{1, 5, 5},
		{0.3, 10, 3},
		{0.7, 10, 7},
		// 0.29*100 rounds to 28.999999999999996.
		{0.29, 100, 29},
	}
	for _, tc := range tests {
		if got := allowed(tc.target, tc.n); got != tc.want {
			t.Errorf("allowed(%v, %d) = %d, want %d", tc.target, tc.n, got, tc.want)
		}
	}
}

func TestDETCurve(t *testing.T) {
	pts, err := DET([]float64{0.75, 0.5, nan}, []float64{0.5, 0.25})
	if err != nil {
		t.Fatal(err)
	}
	want := []DETPoint{
		{0.25, 1, 1.0 / 3},
		{0.5, 0.5, 1.0 / 3},
		{0.75, 0, 2.0 / 3},
		{math.Nextafter(0.75, 1), 0, 1},
	}
	if len(pts) != len(want) {
		t.Fatalf("got %+v, want %+v", pts, want)
	}
	for k := range want {
		if pts[k].Threshold != want[k].Threshold || !near(pts[k].FPIR, want[k].FPIR) || !near(pts[k].FNIR, want[k].FNIR) {
			t.Errorf("point %d = %+v, want %+v", k, pts[k], want[k])
		}
	}
	if _, err := DET(nil, []float64{1}); err == nil {
		t.Errorf("DET without genuine attempts succeeded")
	}
}

func TestIdentifyErrors(t *testing.T) {
	good := probeSet()
	with := func(change func([]Probe) []Probe) []Probe {
		p := probeSet()
		for k := range p {
			p[k].Candidates = append([]Candidate(nil), p[k].Candidates...)
		}
		return change(p)
	}
	tests := []struct {
		name   string
		probes []Probe
		stat   Statistic
		err    string
	}{
		{name: "no probes", probes: nil, err: "no probes"},
		{name: "no genuine", probes: good[4:], err: "no genuine probes"},
		{name: "no impostors", probes: good[:4], err: "no impostor probes"},
		{name: "nil statistic", probes: good, stat: func() Statistic { return nil }(), err: "nil statistic"},
		{name: "genuine without identity", probes: with(func(p []Probe) []Probe { p[0].TrueID = ""; return p }), err: "probe 0: genuine probe without TrueID"},
		{name: "no face but candidates", probes: with(func(p []Probe) []Probe { p[3].Candidates = cands("A", 0.5); return p }), err: "probe 3: marked NoFace but has 1 candidates"},
		{name: "duplicate candidate", probes: with(func(p []Probe) []Probe { p[1].Candidates[1].ID = "B"; return p }), err: "probe 1: identity \"B\" appears twice"},
		{name: "unranked candidates", probes: with(func(p []Probe) []Probe { p[6].Candidates[1].Score = 0.5; return p }), err: "probe 6: candidates are not ranked best first"},
		{name: "NaN candidate score", probes: with(func(p []Probe) []Probe { p[5].Candidates[0].Score = nan; return p }), err: "probe 5: candidate 0 (B) has score NaN"},
		{name: "infinite statistic", probes: good, stat: func(Probe) float64 { return math.Inf(-1) }, err: "probe 0: statistic is -Inf"},
		{name: "no face anywhere", probes: []Probe{{TrueID: "A", Genuine: true, NoFace: true}, {NoFace: true}}, err: "every statistic is NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.stat != nil || tc.name == "nil statistic" {
				_, err = IdentifyWith(tc.probes, tc.stat)
			} else {
				_, err = Identify(tc.probes)
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
	if _, err := (IdentifyResult{}).AtFPIR(0.1); err == nil {
		t.Errorf("AtFPIR on an empty result succeeded")
	}
}
