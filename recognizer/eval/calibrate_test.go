package eval

import (
	"math"
	"strings"
	"testing"
)

func TestSeparation(t *testing.T) {
	embs := map[string][]float32{
		"a1": {1, 0}, "a2": {0.6, 0.8}, "a3": {0.8, 0.6},
		"b1": {0, 1}, "c1": {-1, 0},
	}
	pairs := []Pair{
		{A: "a1", B: "a2", Same: true}, // 0.6
		{A: "a1", B: "a3", Same: true}, // 0.8
		{A: "a1", B: "b1"},             // 0
		{A: "a1", B: "c1"},             // -1
		{A: "a2", B: "c1"},             // -0.6
		{A: "a1", B: "nobody", Same: true},
	}
	var s Separation
	s.AddPairs(pairs, embs)
	same, diff := s.Same(), s.Different()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	// Different: 0, -1, -0.6: mean -8/15, variance (0+1+0.36)/3 - (8/15)².
	diffStd := math.Sqrt(1.36/3 - 64.0/225)
	if same.N != 2 || !near(same.Mean, 0.7) || !near(same.Std, 0.1) || diff.N != 3 || !near(diff.Mean, -8.0/15) || !near(diff.Std, diffStd) {
		t.Fatalf("same %+v, different %+v", same, diff)
	}
	if want := (0.7 + 8.0/15) / math.Sqrt((0.01+diffStd*diffStd)/2); !near(s.DPrime(), want) {
		t.Errorf("d' %v, want %v", s.DPrime(), want)
	}
	// Pooling the same pairs again changes the counts, not the shape.
	s.AddPairs(pairs, embs)
	if again := s.Same(); again.N != 4 || !near(again.Mean, 0.7) || !near(again.Std, 0.1) {
		t.Errorf("pooled twice: %+v", again)
	}

	var empty Separation
	if st := empty.Same(); st.N != 0 || !math.IsNaN(st.Mean) || !math.IsNaN(st.Std) || !math.IsNaN(empty.DPrime()) {
		t.Errorf("empty separation: %+v, d' %v", st, empty.DPrime())
	}
}

func TestWriteCalibration(t *testing.T) {
	s := &Separation{}
	s.AddPairs([]Pair{{A: "a", B: "b", Same: true}, {A: "a", B: "c"}}, map[string][]float32{"a": {1, 0}, "b": {0.6, 0.8}, "c": {0, 1}})
	var b strings.Builder
	if err := WriteCalibration(&b, []string{"one", "none"}, map[string]*Separation{"one": s}); err != nil {
		t.Fatal(err)
	}
	want := "| embedder | same mean | same std | different mean | different std | d' |\n" +
		"|---|---|---|---|---|---|\n" +
		"| one | 0.6000 | 0.0000 | 0.0000 | 0.0000 | +Inf |\n" +
		"| none | NaN | NaN | NaN | NaN | NaN |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
