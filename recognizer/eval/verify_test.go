package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// sp is a scored pair for table tests.
type sp struct {
	fold  int
	same  bool
	score float64
}

func build(in []sp, subset string) ([]Pair, []float64) {
	pairs := make([]Pair, len(in))
	scores := make([]float64, len(in))
	for k, p := range in {
		pairs[k] = Pair{A: fmt.Sprintf("a/%d.jpg", k), B: fmt.Sprintf("b/%d.jpg", k), Same: p.same, Fold: p.fold, Subset: subset}
		scores[k] = p.score
	}
	return pairs, scores
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func nearAll(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !near(a[k], b[k]) {
			return false
		}
	}
	return true
}

// Scores are multiples of 1/16 so that every midpoint threshold is exact
// and "score == threshold" cases are decided by the rule, not by rounding.
var verifyCases = []struct {
	name       string
	pairs      []sp
	folds      int
	foldAcc    []float64
	foldThr    []float64
	mean, std  float64
	stderr     float64
	tar        float64
	tarThr     float64
	auc        float64
	noFace     int
	resolution float64
}{
	{
		// Fold 1 trains on fold 0: best between 0.375 (diff) and 0.75
		// (same), so 0.5625; fold 0 trains on fold 1: between 0.5 and
		// 0.5625, so 0.53125. Both folds are then classified perfectly;
		// the 0.5625 same pair in fold 1 sits exactly on its threshold
		// and is accepted.
		name: "separable",
		pairs: []sp{
			{0, true, 0.875}, {0, true, 0.75}, {0, false, 0.375}, {0, false, 0.125},
			{1, true, 0.625}, {1, true, 0.5625}, {1, false, 0.5}, {1, false, 0.25},
		},
		folds: 2, foldAcc: []float64{1, 1}, foldThr: []float64{0.53125, 0.5625},
		mean: 1, std: 0, stderr: 0,
		tar: 1, tarThr: math.Nextafter(0.5, 1), auc: 1, resolution: 0.25,
	},
	{
		// Fold 0 trains on fold 1 (.125d .375s .5d .75s): accuracy 3/4 both
		// between .125 and .375 and above .5; the lower plateau wins, so
		// 0.25, which accepts fold 0's 0.25 mismatched pair: 3/4. Fold 1
		// trains on fold 0: 0.5, which rejects .375 same and accepts .5
		// diff: 2/4. Population std of {.75, .5} is .125; the sample std
		// is .1768 and the standard error .1768/sqrt(2) = .125.
		name: "one fold worse than the other",
		pairs: []sp{
			{0, true, 0.875}, {0, true, 0.75}, {0, false, 0.25}, {0, false, 0.125},
			{1, true, 0.75}, {1, true, 0.375}, {1, false, 0.5}, {1, false, 0.125},
		},
		folds: 2, foldAcc: []float64{0.75, 0.5}, foldThr: []float64{0.25, 0.5},
		mean: 0.625, std: 0.125, stderr: 0.125,
		// Highest mismatched score 0.5; same pairs above it: 3 of 4.
		tar: 0.75, tarThr: math.Nextafter(0.5, 1),
		// .375 loses only to .5: 15 of 16 comparisons won.
		auc: 15.0 / 16, resolution: 0.25,
	},
	{
		// Training for fold 0 (fold 1: .5d .625s .75s, one NaN diff that is
		// always right): best between .5 and .625 -> .5625; fold 0: the
		// NaN same pair is wrong, the NaN diff pair right: 3/4. Training
		// for fold 1 (fold 0: .25d .875s plus NaNs): .5625 again, fold 1
		// all right.
		name: "no-face pairs",
		pairs: []sp{
			{0, true, 0.875}, {0, true, nan}, {0, false, 0.25}, {0, false, nan},
			{1, true, 0.75}, {1, true, 0.625}, {1, false, 0.5}, {1, false, nan},
		},
		folds: 2, foldAcc: []float64{0.75, 1}, foldThr: []float64{0.5625, 0.5625},
		mean: 0.875, std: 0.125, stderr: 0.125, noFace: 3,
		// 3 of 4 same pairs above the highest finite mismatched 0.5.
		tar: 0.75, tarThr: math.Nextafter(0.5, 1),
		// The NaN same pair ties two NaN mismatched (2 x 1/2) and loses to
		// the rest: 4+4+4+1 = 13 of 16.
		auc: 13.0 / 16, resolution: 0.25,
	},
	{
		// One fold: fitted and measured on the same pairs. Accuracy 3/4 at
		// two separate plateaus, (.125, .25] and (.5, .75]; the lower one
		// is used, at its midpoint.
		name: "single fold, tie between plateaus",
		pairs: []sp{
			{0, true, 0.75}, {0, true, 0.25}, {0, false, 0.5}, {0, false, 0.125},
		},
		folds: 1, foldAcc: []float64{0.75}, foldThr: []float64{0.1875},
		mean: 0.75, std: 0, stderr: 0,
		tar: 0.5, tarThr: math.Nextafter(0.5, 1), auc: 0.75, resolution: 0.5,
	},
	{
		// A same and a different pair tie at 0.5. Accepting from 0.5 or
		// from 0.75 both give 3/4, one contiguous plateau (.25, .75], so
		// the threshold is its midpoint 0.5.
		name: "tied scores",
		pairs: []sp{
			{0, true, 0.5}, {0, false, 0.5}, {0, true, 0.75}, {0, false, 0.25},
		},
		folds: 1, foldAcc: []float64{0.75}, foldThr: []float64{0.5},
		mean: 0.75,
		tar:  0.5, tarThr: math.Nextafter(0.5, 1),
		// .5 vs .5 counts 1/2: (0.5 + 1 + 2) / 4.
		auc: 0.875, resolution: 0.5,
	},
	{
		// Fold 1 has only matched pairs, so for fold 0 "accept everything"
		// is best and the threshold is the lowest training score, 0.5.
		// Fold 1 trains on fold 0 as usual: midway between .25 and .75.
		name: "training folds with one kind only",
		pairs: []sp{
			{0, true, 0.75}, {0, false, 0.25},
			{1, true, 0.5}, {1, true, 0.625},
		},
		folds: 2, foldAcc: []float64{1, 1}, foldThr: []float64{0.5, 0.5},
		mean: 1,
		tar:  1, tarThr: math.Nextafter(0.25, 1), auc: 1, resolution: 1,
	},
	{
		// Fold 1 has only mismatched pairs: "reject everything" is best
		// for fold 0, placed just above the highest training score, which
		// still accepts fold 0's 0.75. Fold 1 gets 0.5 from fold 0 and so
		// accepts its 0.5 mismatched pair.
		name: "training fold with mismatched pairs only",
		pairs: []sp{
			{0, true, 0.75}, {0, false, 0.25},
			{1, false, 0.5}, {1, false, 0.375},
		},
		folds: 2, foldAcc: []float64{1, 0.5}, foldThr: []float64{math.Nextafter(0.5, 1), 0.5},
		mean: 0.75, std: 0.25, stderr: 0.25,
		tar: 1, tarThr: math.Nextafter(0.5, 1), auc: 1, resolution: 1.0 / 3,
	},
}

func TestVerify(t *testing.T) {
	for _, tc := range verifyCases {
		t.Run(tc.name, func(t *testing.T) {
			pairs, scores := build(tc.pairs, "")
			r, err := Verify(pairs, scores, tc.folds)
			if err != nil {
				t.Fatal(err)
			}
			checkVerify(t, r, tc.foldAcc, tc.foldThr, tc.mean, tc.std, tc.stderr, tc.tar, tc.tarThr, tc.auc, tc.noFace, tc.resolution)
			if r.Pairs != len(tc.pairs) || r.Folds != tc.folds || r.SamePairs+r.DiffPairs != r.Pairs {
				t.Errorf("counts: %d pairs (%d same, %d diff), %d folds", r.Pairs, r.SamePairs, r.DiffPairs, r.Folds)
			}
			if r.Subsets != nil {
				t.Errorf("subsets %v without subset labels", r.Subsets)
			}
		})
	}
}

func checkVerify(t *testing.T, r VerifyResult, foldAcc, foldThr []float64, mean, std, stderr, tar, tarThr, auc float64, noFace int, resolution float64) {
	t.Helper()
	if !nearAll(r.FoldAccuracy, foldAcc) {
		t.Errorf("fold accuracy %v, want %v", r.FoldAccuracy, foldAcc)
	}
	if !nearAll(r.FoldThreshold, foldThr) {
		t.Errorf("fold thresholds %v, want %v", r.FoldThreshold, foldThr)
	}
	if !near(r.AccuracyMean, mean) || !near(r.AccuracyStd, std) || !near(r.AccuracyStdErr, stderr) {
		t.Errorf("accuracy %v ± %v (se %v), want %v ± %v (se %v)", r.AccuracyMean, r.AccuracyStd, r.AccuracyStdErr, mean, std, stderr)
	}
	var sum float64
	for _, v := range foldThr {
		sum += v
	}
	if !near(r.ThresholdMean, sum/float64(len(foldThr))) {
		t.Errorf("mean threshold %v, want %v", r.ThresholdMean, sum/float64(len(foldThr)))
	}
	if !near(r.TARAtFAR1e3, tar) || r.AtFAR1e3.Threshold != tarThr || r.AtFAR1e3.FPIR != 0 {
		t.Errorf("TAR@FAR=1e-3 %v at threshold %v (FAR %v), want %v at %v (FAR 0)", r.TARAtFAR1e3, r.AtFAR1e3.Threshold, r.AtFAR1e3.FPIR, tar, tarThr)
	}
	if !near(r.AtFAR1e3.Resolution, resolution) {
		t.Errorf("FAR resolution %v, want %v", r.AtFAR1e3.Resolution, resolution)
	}
	if !near(r.AUC, auc) {
		t.Errorf("AUC %v, want %v", r.AUC, auc)
	}
	if r.NoFacePairs != noFace {
		t.Errorf("no-face pairs %d, want %d", r.NoFacePairs, noFace)
	}
}

func TestVerifySubsets(t *testing.T) {
	// Two table cases joined as two subsets: each subset must reproduce its
	// own case exactly, thresholds chosen within the subset.
	a, b := verifyCases[0], verifyCases[1]
	pa, sa := build(a.pairs, "FF")
	pb, sb := build(b.pairs, "FP")
	pairs := append(pa, pb...)
	scores := append(sa, sb...)
	r, err := Verify(pairs, scores, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Subsets) != 2 || r.Pairs != 16 {
		t.Fatalf("%d subsets, %d pairs", len(r.Subsets), r.Pairs)
	}
	ff, fp := r.Subsets["FF"], r.Subsets["FP"]
	checkVerify(t, ff, a.foldAcc, a.foldThr, a.mean, a.std, a.stderr, a.tar, a.tarThr, a.auc, a.noFace, a.resolution)
	checkVerify(t, fp, b.foldAcc, b.foldThr, b.mean, b.std, b.stderr, b.tar, b.tarThr, b.auc, b.noFace, b.resolution)
	if ff.Subsets != nil || fp.Subsets != nil {
		t.Errorf("subsets nest")
	}
}

func TestVerifyTARAtFAR(t *testing.T) {
	// 2,000 mismatched pairs allow 2 false accepts at FAR 1e-3.
	const n = 2000
	diffScores := make([]float64, n)
	for k := range diffScores {
		diffScores[k] = float64(k) / 2048
	}
	tiedTop := make([]float64, n)
	for k := range tiedTop {
		tiedTop[k] = 0.25
	}
	tiedTop[0], tiedTop[1], tiedTop[2] = 0.75, 0.75, 0.75
	tests := []struct {
		name     string
		same     []float64
		diff     []float64
		tar, far float64
		thr      float64
	}{
		{
			// The 3rd highest mismatched score, 1997/2048, must be
			// rejected; 1999 and 1998 are the two accepted (FAR exactly
			// 1e-3). Same pairs above 1997/2048: 2 of 4.
			name: "two false accepts allowed",
			same: []float64{1999.0 / 2048, 1998.0 / 2048, 1997.0 / 2048, 0.5},
			diff: diffScores, tar: 0.5, far: 0.001, thr: math.Nextafter(1997.0/2048, 1),
		},
		{
			// Three mismatched pairs tie at the top. Accepting them would
			// make FAR 1.5e-3, so the threshold goes above all three and
			// the FAR reached is 0.
			name: "tie at the cut",
			same: []float64{0.875, 0.75, 0.5},
			diff: tiedTop, tar: 1.0 / 3, far: 0, thr: math.Nextafter(0.75, 1),
		},
		{
			// No mismatched pair has a face: nothing can be falsely
			// accepted, so every finite same pair is accepted.
			name: "mismatched pairs without faces",
			same: []float64{0.5, 0.25, nan},
			diff: []float64{nan, nan}, tar: 2.0 / 3, far: 0, thr: 0.25,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []sp
			for _, s := range tc.same {
				in = append(in, sp{0, true, s})
			}
			for _, s := range tc.diff {
				in = append(in, sp{0, false, s})
			}
			pairs, scores := build(in, "")
			r, err := Verify(pairs, scores, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.TARAtFAR1e3, tc.tar) || !near(r.AtFAR1e3.FPIR, tc.far) || r.AtFAR1e3.Threshold != tc.thr {
				t.Errorf("TAR %v FAR %v threshold %v, want TAR %v FAR %v threshold %v",
					r.TARAtFAR1e3, r.AtFAR1e3.FPIR, r.AtFAR1e3.Threshold, tc.tar, tc.far, tc.thr)
			}
			if r.AtFAR1e3.FPIR > FAR1e3 {
				t.Errorf("FAR %v above the target", r.AtFAR1e3.FPIR)
			}
		})
	}
}

func TestVerifyAtFARAndDET(t *testing.T) {
	pairs, scores := build(verifyCases[1].pairs, "")
	r, err := Verify(pairs, scores, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Mismatched scores .5 .25 .125 .125: FAR 1/4 allows one, so the
	// threshold goes above .25; same pairs .875 .75 .75 pass, .375 also.
	op, err := r.AtFAR(0.25)
	if err != nil {
		t.Fatal(err)
	}
	if op.Threshold != math.Nextafter(0.25, 1) || op.FPIR != 0.25 || op.FNIR != 0 {
		t.Errorf("AtFAR(0.25) = %+v", op)
	}
	if _, err := r.AtFAR(2); err == nil {
		t.Errorf("AtFAR(2) succeeded")
	}
	if _, err := (VerifyResult{}).AtFAR(0.1); err == nil {
		t.Errorf("AtFAR on an empty result succeeded")
	}
	det := r.DET()
	if len(det) != 7 { // distinct scores .125 .25 .375 .5 .75 .875, plus "accept none"
		t.Fatalf("%d DET points: %+v", len(det), det)
	}
	if det[0] != (DETPoint{0.125, 1, 0}) || det[len(det)-1].FPIR != 0 || det[len(det)-1].FNIR != 1 {
		t.Errorf("DET ends %+v ... %+v", det[0], det[len(det)-1])
	}
}

func TestVerifyErrors(t *testing.T) {
	ok := []sp{{0, true, 0.75}, {0, false, 0.25}, {1, true, 0.75}, {1, false, 0.25}}
	tests := []struct {
		name   string
		pairs  []sp
		folds  int
		scores func([]float64) []float64
		err    string
	}{
		{name: "no pairs", folds: 2, err: "no pairs"},
		{name: "score count", pairs: ok, folds: 2, scores: func(s []float64) []float64 { return s[:3] }, err: "3 scores for 4 pairs"},
		{name: "zero folds", pairs: ok, folds: 0, err: "0 folds"},
		{name: "fold out of range", pairs: ok, folds: 1, err: "pair 2 (a/2.jpg, b/2.jpg) is in fold 1, outside [0, 1)"},
		{name: "empty fold", pairs: ok, folds: 3, err: "fold 2 has no pairs"},
		{name: "only matched pairs", pairs: []sp{{0, true, 0.5}, {1, true, 0.5}}, folds: 2, err: "2 matched and 0 mismatched pairs"},
		{name: "infinite score", pairs: ok, folds: 2, scores: func(s []float64) []float64 { s[1] = math.Inf(1); return s }, err: "pair 1 (a/1.jpg, b/1.jpg) has score +Inf"},
		{name: "training folds all NaN", pairs: []sp{{0, true, 0.75}, {0, false, 0.25}, {1, true, nan}, {1, false, nan}}, folds: 2, err: "fold 0: every pair of the other folds has a NaN score"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pairs, scores := build(tc.pairs, "")
			if tc.scores != nil {
				scores = tc.scores(scores)
			}
			_, err := Verify(pairs, scores, tc.folds)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}

	t.Run("subset missing from a fold", func(t *testing.T) {
		pairs, scores := build(ok, "")
		pairs[0].Subset, pairs[1].Subset = "FP", "FP"
		_, err := Verify(pairs, scores, 2)
		if err == nil || !strings.Contains(err.Error(), "subset FP: verify: fold 1 has no pairs") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestBestThresholdIsOptimal compares the fitted threshold with a brute
// force search over every threshold that can change the decisions.
func TestBestThresholdIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	accuracy := func(train []scored, t float64) int {
		c := 0
		for _, s := range train {
			if accept(s.score, t) == s.same {
				c++
			}
		}
		return c
	}
	for iter := range 2000 {
		n := 1 + rng.IntN(12)
		train := make([]scored, n)
		for k := range train {
			// Few distinct values, so ties are common.
			v := float64(rng.IntN(6)) / 8
			if rng.IntN(8) == 0 {
				v = nan
			}
			train[k] = scored{v, rng.IntN(2) == 0}
		}
		got, ok := bestThreshold(train)
		finite := 0
		best := accuracy(train, math.Inf(1))
		for _, s := range train {
			if !math.IsNaN(s.score) {
				finite++
				best = max(best, accuracy(train, s.score))
			}
		}
		if ok != (finite > 0) {
			t.Fatalf("iteration %d: ok = %v with %d finite scores", iter, ok, finite)
		}
		if ok && accuracy(train, got) != best {
			t.Fatalf("iteration %d: threshold %v gives %d correct, the best is %d: %+v", iter, got, accuracy(train, got), best, train)
		}
	}
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name       string
		same, diff []float64
		want       float64
	}{
		{"perfect", []float64{0.9, 0.8}, []float64{0.1, 0.2}, 1},
		{"reversed", []float64{0.1}, []float64{0.9}, 0},
		{"all tied", []float64{0.5, 0.5}, []float64{0.5}, 0.5},
		{"one swap", []float64{0.9, 0.4}, []float64{0.6, 0.1}, 0.75},
		{"NaN lowest", []float64{nan, 0.9}, []float64{nan, 0.2}, 0.625},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := auc(tc.same, tc.diff); !near(got, tc.want) {
				t.Errorf("auc = %v, want %v", got, tc.want)
			}
		})
	}
}
