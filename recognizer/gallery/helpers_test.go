package gallery

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/dozor-edge/dozor/recognizer"
)

const testModel recognizer.ModelID = "arcface-r100@test"

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// near returns a unit vector whose cosine with base is about cos.
func near(rng *rand.Rand, base []float32, cos float64) []float32 {
	noise := recognizer.RandomUnit(rng, len(base))
	sin := math.Sqrt(1 - cos*cos)
	v := make([]float32, len(base))
	for i := range v {
		v[i] = float32(cos*float64(base[i]) + sin*float64(noise[i]))
	}
	recognizer.Normalize(v)
	return v
}

func emb(v []float32) recognizer.Embedding { return recognizer.Embedding{Model: testModel, Vec: v} }

// bruteForce ranks every person by the float64 score of every template,
// written independently of the snapshot's search. With score normalisation
// it takes μ and σ from the snapshot, which TestCohortStatistics checks on
// their own.
func bruteForce(s *Snapshot, ts []Template, q []float32, k int) []Match {
	qv := slices.Clone(q)
	recognizer.Normalize(qv)
	type best struct {
		idx    int
		z, raw float64
	}
	bests := map[string]best{}
	zs := map[string][]float64{}
	for i, t := range ts {
		v := slices.Clone(t.Vec)
		recognizer.Normalize(v)
		var raw float64
		for j := range v {
			raw += float64(v[j]) * float64(qv[j])
		}
		z := raw
		if s.mu != nil {
			z = (raw - s.mu[i]) / s.sigma[i]
		}
		zs[t.PersonID] = append(zs[t.PersonID], z)
		if b, ok := bests[t.PersonID]; !ok || z > b.z {
			bests[t.PersonID] = best{i, z, raw}
		}
	}
	// A person is scored by the snapshot's aggregation of its templates'
	// scores, in enrolment order; the best template names the match.
	score := map[string]float64{}
	for id, b := range bests {
		score[id] = b.z
		if s.Aggregation().Kind != AggMax {
			score[id] = s.Aggregation().Score(zs[id], nil)
		}
	}
	ids := make([]string, 0, len(bests))
	for id := range bests {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(score[b], score[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	ms := []Match{}
	for _, id := range ids[:min(k, len(ids))] {
		b := bests[id]
		ms = append(ms, Match{PersonID: id, TemplateID: ts[b.idx].TemplateID, Score: float32(score[id]), RawScore: float32(b.raw)})
	}
	return ms
}

func formatMatches(ms []Match) string {
	var b strings.Builder
	for i, m := range ms {
		fmt.Fprintf(&b, "  %d. %s/%s score %.9g raw %.9g\n", i+1, m.PersonID, m.TemplateID, m.Score, m.RawScore)
	}
	return b.String()
}

// scenario is a gallery and queries built to stress one part of the search.
type scenario struct {
	name  string
	build func(rng *rand.Rand, dim int) (ts []Template, queries [][]float32)
}

// personName gives persons names that do not sort in enrolment order, so the
// PersonID tie-break is exercised for real.
func personName(rng *rand.Rand, i int) string {
	return fmt.Sprintf("p%03d-%d", rng.IntN(1000), i)
}

var scenarios = []scenario{
	{"one template per person", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		var ts []Template
		for i := range 300 {
			ts = append(ts, Template{PersonID: personName(rng, i), TemplateID: fmt.Sprint("t", i), Vec: recognizer.RandomUnit(rng, dim)})
		}
		qs := [][]float32{recognizer.RandomUnit(rng, dim), recognizer.RandomUnit(rng, dim), near(rng, ts[7].Vec, 0.7), slices.Clone(ts[42].Vec)}
		return ts, qs
	}},
	{"several templates per person", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		var ts []Template
		var centres [][]float32
		for p := range 60 {
			c := recognizer.RandomUnit(rng, dim)
			centres = append(centres, c)
			name := personName(rng, p)
			for j := range 1 + rng.IntN(8) {
				ts = append(ts, Template{PersonID: name, TemplateID: fmt.Sprintf("t%d.%d", p, j), Vec: near(rng, c, 0.8)})
			}
		}
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		qs := [][]float32{near(rng, centres[3], 0.75), near(rng, centres[10], 0.3), recognizer.RandomUnit(rng, dim)}
		return ts, qs
	}},
	{"duplicated vectors", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		var ts []Template
		shared := [][]float32{recognizer.RandomUnit(rng, dim), recognizer.RandomUnit(rng, dim), recognizer.RandomUnit(rng, dim)}
		for i := range 150 {
			v := recognizer.RandomUnit(rng, dim)
			if i%3 == 0 {
				v = slices.Clone(shared[rng.IntN(len(shared))])
			}
			ts = append(ts, Template{PersonID: personName(rng, i%50), TemplateID: fmt.Sprint("t", i), Vec: v})
		}
		// Persons holding one vector twice, so that only the enrolment
		// order separates their templates.
		for i := range 12 {
			ts = append(ts, Template{PersonID: ts[i].PersonID, TemplateID: fmt.Sprint("again", i), Vec: slices.Clone(ts[i].Vec)})
		}
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		qs := [][]float32{slices.Clone(shared[0]), near(rng, shared[1], 0.9), near(rng, shared[2], 0.2)}
		return ts, qs
	}},
	{"near ties", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		// Scores that differ far below the quantisation error: only the
		// exact rescoring can order them.
		q := recognizer.RandomUnit(rng, dim)
		var ts []Template
		for i := range 80 {
			v := slices.Clone(q)
			for range 1 + rng.IntN(3) {
				j := rng.IntN(dim)
				v[j] = math.Nextafter32(v[j], float32(math.Inf(2*rng.IntN(2)-1)))
			}
			ts = append(ts, Template{PersonID: personName(rng, i%40), TemplateID: fmt.Sprint("tie", i), Vec: v})
		}
		// A band of scores within 1e-6 of each other around 0.3.
		for i := range 80 {
			ts = append(ts, Template{PersonID: personName(rng, 40+i), TemplateID: fmt.Sprint("band", i), Vec: near(rng, q, 0.3+1e-6*rng.Float64())})
		}
		for i := range 100 {
			ts = append(ts, Template{PersonID: personName(rng, 120+i), TemplateID: fmt.Sprint("r", i), Vec: recognizer.RandomUnit(rng, dim)})
		}
		rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
		band := near(rng, q, 0.3)
		return ts, [][]float32{q, band}
	}},
	{"adversarial rounding", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		ts, q := adversarial(rng, dim, 200, 150)
		flipped := slices.Clone(q)
		for range dim / 8 {
			j := rng.IntN(dim)
			flipped[j] = -flipped[j]
		}
		return ts, [][]float32{q, flipped}
	}},
	{"fewer persons than k", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		var ts []Template
		for i := range 120 {
			ts = append(ts, Template{PersonID: fmt.Sprint("person", i%3), TemplateID: fmt.Sprint("t", i), Vec: recognizer.RandomUnit(rng, dim)})
		}
		return ts, [][]float32{recognizer.RandomUnit(rng, dim), near(rng, ts[5].Vec, 0.9)}
	}},
	{"unnormalised input", func(rng *rand.Rand, dim int) ([]Template, [][]float32) {
		var ts []Template
		for i := range 100 {
			v := recognizer.RandomUnit(rng, dim)
			scale := float32(math.Exp(rng.NormFloat64() * 3))
			for j := range v {
				v[j] *= scale
			}
			ts = append(ts, Template{PersonID: personName(rng, i), TemplateID: fmt.Sprint("t", i), Vec: v})
		}
		q := near(rng, ts[9].Vec, 0.6)
		for j := range q {
			q[j] *= 37
		}
		return ts, [][]float32{q}
	}},
}

// adversarial builds templates whose int8 rounding error lines up with the
// query, so that the approximate score is off by nearly the whole error
// bound: half of them score too low, half too high, and their exact scores
// lie closer together than the bound. Every query component has the same
// magnitude, which makes the query's own codes exact.
func adversarial(rng *rand.Rand, dim, n, persons int) ([]Template, []float32) {
	sgn := make([]float64, dim)
	q := make([]float32, dim)
	for j := range q {
		sgn[j] = float64(2*rng.IntN(2) - 1)
		q[j] = float32(sgn[j])
	}
	var ts []Template
	for i := range n {
		dir := float64(2*(i%2) - 1)
		v := make([]float32, dim)
		// The largest component fixes the scale at 1/127 of itself, so
		// after normalisation every other one still sits 0.49 of a step off
		// an integer code.
		v[0] = float32(127 * sgn[0])
		for j := 1; j < dim; j++ {
			c := float64(rng.IntN(121)-60) + 30*sgn[j]
			v[j] = float32(c + 0.49*dir*sgn[j])
		}
		ts = append(ts, Template{PersonID: fmt.Sprintf("adv%03d", (i*7)%persons), TemplateID: fmt.Sprint("a", i), Vec: v})
	}
	return ts, q
}
