package track

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// TestTallyMatchesDefinition checks the incremental tally against the
// definition written out: each person's weighted score sum over all
// frames, a frame that does not list the person counting its lowest listed
// score.
func TestTallyMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 300 {
		persons := 2 + rng.IntN(80) // past scanLimit now and then
		var frames [][]gallery.Match
		var quals []recognizer.Quality
		var tl tally
		for range 1 + rng.IntN(40) {
			var ms []gallery.Match
			for range 1 + rng.IntN(5) {
				ms = append(ms, gallery.Match{PersonID: fmt.Sprint("p", rng.IntN(persons)), Score: float32(rng.IntN(100)) / 100})
			}
			q := recognizer.Quality{Score: float32(rng.Float64())}
			e, ok := makeEvidence(q, ms, nil)
			if !ok {
				t.Fatal("no evidence from valid matches")
			}
			tl.add(&e)
			frames, quals = append(frames, ms), append(quals, q)
		}
		got := tl.judge(rule{minTops: 1})

		sums := map[string]float64{}
		tops := map[string]int{}
		var total float64
		for i, ms := range frames {
			best := map[string]float64{}
			floor := math.Inf(1)
			top, topScore := "", math.Inf(-1)
			for _, m := range ms {
				s := float64(m.Score)
				if old, ok := best[m.PersonID]; !ok || s > old {
					best[m.PersonID] = s
				}
			}
			for p, s := range best {
				floor = min(floor, s)
				if s > topScore || s == topScore && p < top {
					top, topScore = p, s
				}
			}
			w := weight(quals[i])
			total += w
			tops[top]++
			for p := range sums {
				if _, listed := best[p]; !listed {
					sums[p] += w * floor
				}
			}
			for p, s := range best {
				if _, seen := sums[p]; !seen {
					// Earlier frames did not list p: their floors.
					for j := range i {
						sums[p] += weight(quals[j]) * floorOf(frames[j])
					}
				}
				sums[p] += w * s
			}
		}
		lead, second := "", ""
		for p := range sums {
			if lead == "" || sums[p] > sums[lead]+1e-9 || math.Abs(sums[p]-sums[lead]) <= 1e-9 && p < lead {
				lead = p
			}
		}
		for p := range sums {
			if p != lead && (second == "" || sums[p] > sums[second]) {
				second = p
			}
		}
		wantMean := sums[lead] / total
		if got.person != lead && math.Abs(sums[got.person]-sums[lead]) > 1e-9 {
			t.Fatalf("iteration %d: leader %s, want %s (%v vs %v)", iter, got.person, lead, sums[got.person], sums[lead])
		}
		if math.Abs(got.mean-wantMean) > 1e-9 {
			t.Fatalf("iteration %d: mean %v, want %v", iter, got.mean, wantMean)
		}
		if second != "" && math.Abs(got.margin-(sums[lead]-sums[second])/total) > 1e-9 {
			t.Fatalf("iteration %d: margin %v, want %v", iter, got.margin, (sums[lead]-sums[second])/total)
		}
		if got.tops != tops[got.person] {
			t.Fatalf("iteration %d: %d tops, want %d", iter, got.tops, tops[got.person])
		}
	}
}

// floorOf is the lowest of the persons' best scores in ms.
func floorOf(ms []gallery.Match) float64 {
	best := map[string]float64{}
	for _, m := range ms {
		if old, ok := best[m.PersonID]; !ok || float64(m.Score) > old {
			best[m.PersonID] = float64(m.Score)
		}
	}
	f := math.Inf(1)
	for _, s := range best {
		f = min(f, s)
	}
	return f
}
