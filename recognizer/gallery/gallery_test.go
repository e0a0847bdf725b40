package gallery

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

func TestNewRejectsBadInput(t *testing.T) {
	ok := []float32{0.6, 0.8, 0}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name    string
		dim     int
		opt     Options
		ts      []Template
		wantIs  error // a TemplateError wrapping this, when set
		wantIdx int
		wantMsg string
	}{
		{name: "zero dim", dim: 0, wantMsg: "dimension 0"},
		{name: "negative dim", dim: -3, wantMsg: "dimension -3"},
		{name: "dim too large", dim: MaxDim + 1, wantMsg: "dimension"},
		{name: "negative cohort", dim: 3, opt: Options{ScoreNorm: true, CohortSize: -1}, wantMsg: "cohort size"},
		{name: "empty person", dim: 3, ts: []Template{{PersonID: "a", Vec: ok}, {TemplateID: "x", Vec: ok}}, wantIs: ErrNoPerson, wantIdx: 1},
		{name: "short vector", dim: 3, ts: []Template{{PersonID: "a", TemplateID: "t0", Vec: ok[:2]}}, wantIs: ErrLength, wantMsg: "got 2, want 3"},
		{name: "long vector", dim: 2, ts: []Template{{PersonID: "a", Vec: []float32{1, 0}}, {PersonID: "b", Vec: ok}}, wantIs: ErrLength, wantIdx: 1},
		{name: "nil vector", dim: 3, ts: []Template{{PersonID: "a"}}, wantIs: ErrLength},
		{name: "NaN", dim: 3, ts: []Template{{PersonID: "a", Vec: []float32{0, nan, 1}}}, wantIs: ErrNotFinite},
		{name: "infinity", dim: 3, ts: []Template{{PersonID: "a", Vec: ok}, {PersonID: "a", Vec: ok}, {PersonID: "b", Vec: []float32{-inf, 0, 1}}}, wantIs: ErrNotFinite, wantIdx: 2},
		{name: "zero vector", dim: 3, ts: []Template{{PersonID: "a", TemplateID: "blank", Vec: []float32{0, 0, 0}}}, wantIs: ErrZeroNorm, wantMsg: `template "blank"`},
		{name: "subnormal vector", dim: 3, ts: []Template{{PersonID: "a", Vec: []float32{1e-45, 0, 0}}}, wantIs: ErrZeroNorm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(testModel, c.dim, c.ts, c.opt)
			if err == nil {
				t.Fatalf("New succeeded with %d templates", s.Len())
			}
			if c.wantIs != nil {
				if !errors.Is(err, c.wantIs) {
					t.Fatalf("error %q does not wrap %q", err, c.wantIs)
				}
				var te *TemplateError
				if !errors.As(err, &te) {
					t.Fatalf("error %q is not a *TemplateError", err)
				}
				if te.Index != c.wantIdx {
					t.Fatalf("error names template %d, want %d", te.Index, c.wantIdx)
				}
			}
			if !strings.Contains(err.Error(), c.wantMsg) {
				t.Fatalf("error %q does not mention %q", err, c.wantMsg)
			}
		})
	}
}

func TestNewAcceptsAndDescribes(t *testing.T) {
	cases := []struct {
		name                   string
		dim                    int
		ts                     []Template
		wantLen, wantPersons   int
		wantStride, wantPadded int
	}{
		{"empty", 8, nil, 0, 0, 32, 0},
		{"odd dim", 5, []Template{{PersonID: "a", Vec: []float32{1, 2, 3, 4, 5}}}, 1, 1, 32, 4},
		{"persons counted once", 2, []Template{
			{PersonID: "a", Vec: []float32{1, 0}}, {PersonID: "b", Vec: []float32{0, 1}},
			{PersonID: "a", Vec: []float32{1, 1}}, {PersonID: "c", Vec: []float32{-1, 1}},
			{PersonID: "b", Vec: []float32{3, 1}},
		}, 5, 3, 32, 8},
		{"dim 640", 640, []Template{{PersonID: "a", Vec: recognizer.RandomUnit(newRand(1), 640)}}, 1, 1, 640, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(testModel, c.dim, c.ts, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != c.wantLen || s.Persons() != c.wantPersons || s.Dim() != c.dim || s.Model() != testModel || s.ScoreNorm() {
				t.Fatalf("Len %d Persons %d Dim %d Model %q ScoreNorm %v", s.Len(), s.Persons(), s.Dim(), s.Model(), s.ScoreNorm())
			}
			if s.stride != c.wantStride || s.rows != c.wantPadded {
				t.Fatalf("stride %d rows %d, want %d %d", s.stride, s.rows, c.wantStride, c.wantPadded)
			}
			for i := range s.Len() {
				var ss float64
				for _, x := range s.vecs[i*s.dim : (i+1)*s.dim] {
					ss += float64(x) * float64(x)
				}
				if math.Abs(ss-1) > 1e-6 {
					t.Fatalf("template %d stored with squared norm %v", i, ss)
				}
			}
		})
	}
}

func TestNewCopiesInput(t *testing.T) {
	v := []float32{3, 4}
	s, err := New(testModel, 2, []Template{{PersonID: "a", Vec: v}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v[0], v[1] = -4, 3
	ms, err := s.Search(emb([]float32{3, 4}), 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(ms[0].RawScore)-1) > 1e-6 {
		t.Fatalf("snapshot follows the caller's slice: score %v", ms[0].RawScore)
	}
	if v[0] != -4 {
		t.Fatal("New modified the caller's vector")
	}
}

func TestSearchRejectsBadQueries(t *testing.T) {
	s, err := New(testModel, 4, []Template{{PersonID: "a", Vec: []float32{1, 0, 0, 0}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := emb([]float32{1, 1, 0, 0})
	cases := []struct {
		name     string
		s        *Snapshot
		q        recognizer.Embedding
		k        int
		mismatch bool
		wantIs   error
		wantMsg  string
	}{
		{name: "other model", s: s, q: recognizer.Embedding{Model: "facenet", Vec: good.Vec}, k: 1, mismatch: true},
		{name: "empty model", s: s, q: recognizer.Embedding{Vec: good.Vec}, k: 1, mismatch: true},
		{name: "short", s: s, q: emb([]float32{1, 0, 0}), k: 1, wantIs: ErrLength, wantMsg: "got 3, want 4"},
		{name: "long", s: s, q: emb([]float32{1, 0, 0, 0, 0}), k: 1, wantIs: ErrLength},
		{name: "NaN", s: s, q: emb([]float32{1, float32(math.NaN()), 0, 0}), k: 1, wantIs: ErrNotFinite},
		{name: "zero", s: s, q: emb(make([]float32, 4)), k: 1, wantIs: ErrZeroNorm},
		{name: "k zero", s: s, q: good, k: 0, wantMsg: "k = 0"},
		{name: "k negative", s: s, q: good, k: -1, wantMsg: "k = -1"},
		{name: "nil snapshot", q: good, k: 1, wantMsg: "nil snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, batch := range []bool{false, true} {
				var err error
				if batch {
					_, err = c.s.SearchBatch([]recognizer.Embedding{good, good, c.q}, c.k, 2)
				} else {
					_, err = c.s.Search(c.q, c.k)
				}
				if err == nil {
					t.Fatalf("batch %v: no error", batch)
				}
				var mm recognizer.ErrModelMismatch
				if errors.As(err, &mm) != c.mismatch {
					t.Fatalf("batch %v: error %q, model mismatch expected: %v", batch, err, c.mismatch)
				}
				if c.mismatch && (mm.A != testModel || mm.B != c.q.Model) {
					t.Fatalf("mismatch names %q and %q", mm.A, mm.B)
				}
				if c.wantIs != nil && !errors.Is(err, c.wantIs) {
					t.Fatalf("batch %v: error %q does not wrap %q", batch, err, c.wantIs)
				}
				if !strings.Contains(err.Error(), c.wantMsg) {
					t.Fatalf("batch %v: error %q does not mention %q", batch, err, c.wantMsg)
				}
				if batch && c.s != nil && c.k > 0 && !strings.Contains(err.Error(), "query 2") {
					t.Fatalf("batch error %q does not name the query", err)
				}
			}
		})
	}
}

func TestSearchEmptyGallery(t *testing.T) {
	s, err := New(testModel, 3, nil, Options{ScoreNorm: true})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Search(emb([]float32{1, 0, 0}), 5)
	if err != nil || len(ms) != 0 {
		t.Fatalf("got %v, %v", ms, err)
	}
	if _, err := s.Search(recognizer.Embedding{Model: "x", Vec: []float32{1, 0, 0}}, 5); err == nil {
		t.Fatal("empty gallery skipped the model check")
	}
	bs, err := s.SearchBatch([]recognizer.Embedding{emb([]float32{1, 0, 0})}, 5, 4)
	if err != nil || len(bs) != 1 || len(bs[0]) != 0 {
		t.Fatalf("batch got %v, %v", bs, err)
	}
}

// checkExact compares Search and SearchBatch with the brute-force ranking
// for every k from 1 to 10.
func checkExact(t *testing.T, s *Snapshot, ts []Template, qs [][]float32) {
	t.Helper()
	embs := make([]recognizer.Embedding, len(qs))
	for i, q := range qs {
		embs[i] = emb(q)
	}
	for k := 1; k <= 10; k++ {
		batches := map[int][][]Match{}
		for _, w := range []int{1, 2, 3} {
			b, err := s.SearchBatch(embs, k, w)
			if err != nil {
				t.Fatal(err)
			}
			batches[w] = b
		}
		for i, q := range qs {
			want := bruteForce(s, ts, q, k)
			got, err := s.Search(embs[i], k)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("query %d, k %d:\ngot\n%swant\n%s", i, k, formatMatches(got), formatMatches(want))
			}
			for w, b := range batches {
				if !slices.Equal(b[i], want) {
					t.Fatalf("batch with %d workers, query %d, k %d:\ngot\n%swant\n%s", w, i, k, formatMatches(b[i]), formatMatches(want))
				}
			}
		}
	}
}

func TestSearchMatchesBruteForce(t *testing.T) {
	seeds := 4
	if testing.Short() {
		seeds = 1
	}
	for _, sc := range scenarios {
		for _, dim := range []int{128, 512, 640} {
			for seed := range seeds {
				t.Run(fmt.Sprintf("%s/dim%d/seed%d", sc.name, dim, seed), func(t *testing.T) {
					rng := newRand(uint64(seed*1000 + dim))
					ts, qs := sc.build(rng, dim)
					s, err := New(testModel, dim, ts, Options{})
					if err != nil {
						t.Fatal(err)
					}
					checkExact(t, s, ts, qs)
				})
			}
		}
	}
}

func TestScoreNormMatchesBruteForce(t *testing.T) {
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for _, sc := range scenarios {
		for _, dim := range []int{128, 640} {
			// 40 samples the cohort; 0 takes everybody in these galleries.
			for _, cohort := range []int{0, 40} {
				for seed := range seeds {
					t.Run(fmt.Sprintf("%s/dim%d/cohort%d/seed%d", sc.name, dim, cohort, seed), func(t *testing.T) {
						rng := newRand(uint64(seed*7919 + dim + cohort))
						ts, qs := sc.build(rng, dim)
						s, err := New(testModel, dim, ts, Options{ScoreNorm: true, CohortSize: cohort})
						if err != nil {
							t.Fatal(err)
						}
						if !s.ScoreNorm() {
							t.Fatal("ScoreNorm not reported")
						}
						checkExact(t, s, ts, qs)
					})
				}
			}
		}
	}
}

// TestCohortStatistics checks μ and σ against float64 statistics over the
// same cohort; the snapshot takes them from the int8 codes.
func TestCohortStatistics(t *testing.T) {
	rng := newRand(99)
	const dim = 512
	var ts []Template
	for i := range 90 {
		ts = append(ts, Template{PersonID: fmt.Sprint("p", i/3), TemplateID: fmt.Sprint(i), Vec: recognizer.RandomUnit(rng, dim)})
	}
	cases := []struct {
		name       string
		cohortSize int
		wantCohort int
	}{
		{"whole gallery", 0, 90},
		{"exactly the gallery", 90, 90},
		{"sampled", 30, 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(testModel, dim, ts, Options{ScoreNorm: true, CohortSize: c.cohortSize})
			if err != nil {
				t.Fatal(err)
			}
			if s.cohortLength != c.wantCohort {
				t.Fatalf("cohort of %d, want %d", s.cohortLength, c.wantCohort)
			}
			again, err := New(testModel, dim, ts, Options{ScoreNorm: true, CohortSize: c.cohortSize})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.mu, again.mu) || !slices.Equal(s.sigma, again.sigma) {
				t.Fatal("statistics differ between two builds of one gallery")
			}
			size := c.cohortSize
			if size == 0 {
				size = DefaultCohortSize
			}
			cohort := sampleIndices(len(ts), size)
			for i := range ts {
				var sims []float64
				for _, j := range cohort {
					if ts[j].PersonID == ts[i].PersonID {
						continue
					}
					var d float64
					for x := range dim {
						d += float64(s.vecs[i*dim+x]) * float64(s.vecs[int(j)*dim+x])
					}
					sims = append(sims, d)
				}
				mu, sigma := meanStd(sims)
				// A cosine from int8 codes is off by about 5e-4, and
				// that averages down over the cohort; 1% of σ is generous.
				if tol := 0.01 * sigma; math.Abs(mu-s.mu[i]) > tol || math.Abs(sigma-s.sigma[i]) > tol {
					t.Fatalf("template %d: μ %.6f σ %.6f, exact %.6f %.6f", i, s.mu[i], s.sigma[i], mu, sigma)
				}
			}
		})
	}
}

func TestCohortEdgeCases(t *testing.T) {
	cases := []struct {
		name      string
		ts        []Template
		wantMu    float64
		wantSigma float64
	}{
		{"single person keeps raw scores", []Template{{PersonID: "a", Vec: []float32{1, 0}}, {PersonID: "a", Vec: []float32{0, 1}}}, 0, 1},
		{"identical cohort floors sigma", []Template{{PersonID: "a", Vec: []float32{1, 0}}, {PersonID: "b", Vec: []float32{0, 1}}}, 0, MinSigma},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(testModel, 2, c.ts, Options{ScoreNorm: true})
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.ts {
				if s.mu[i] != c.wantMu || s.sigma[i] != c.wantSigma {
					t.Fatalf("template %d: μ %v σ %v, want %v %v", i, s.mu[i], s.sigma[i], c.wantMu, c.wantSigma)
				}
			}
			ms, err := s.Search(emb([]float32{1, 0}), 2)
			if err != nil {
				t.Fatal(err)
			}
			if want := bruteForce(s, c.ts, []float32{1, 0}, 2); !slices.Equal(ms, want) {
				t.Fatalf("got\n%swant\n%s", formatMatches(ms), formatMatches(want))
			}
		})
	}
}

func TestSampleIndices(t *testing.T) {
	for _, c := range []struct{ n, size int }{{0, 5}, {5, 5}, {10, 3}, {1000, 500}, {100000, 500}} {
		t.Run(fmt.Sprintf("%d of %d", c.size, c.n), func(t *testing.T) {
			got := sampleIndices(c.n, c.size)
			if want := min(c.n, c.size); len(got) != want {
				t.Fatalf("%d indices, want %d", len(got), want)
			}
			for i := range got {
				if got[i] < 0 || int(got[i]) >= c.n || (i > 0 && got[i] <= got[i-1]) {
					t.Fatalf("indices not distinct, sorted and in range: %v", got)
				}
			}
			if !slices.Equal(got, sampleIndices(c.n, c.size)) {
				t.Fatal("sample is not deterministic")
			}
		})
	}
}

func TestDecide(t *testing.T) {
	inf := float32(math.Inf(1))
	m := func(p string, s float32) Match { return Match{PersonID: p, Score: s, RawScore: s} }
	// Margins are float32 differences; constant arithmetic would be exact.
	sub := func(a, b float32) float32 { return a - b }
	cases := []struct {
		name      string
		ms        []Match
		threshold float32
		margin    float32
		want      Decision
	}{
		{"no candidates", nil, 0.5, 0.1, Decision{Margin: inf, Reason: ReasonNoCandidates}},
		{"clear winner", []Match{m("a", 0.8), m("b", 0.4)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.8, Margin: sub(0.8, 0.4), Known: true}},
		{"below threshold", []Match{m("a", 0.45), m("b", 0.1)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.45, Margin: sub(0.45, 0.1), Reason: ReasonBelowThreshold}},
		{"threshold is inclusive", []Match{m("a", 0.5)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.5, Margin: inf, Known: true}},
		{"too close", []Match{m("a", 0.8), m("b", 0.75)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.8, Margin: sub(0.8, 0.75), Reason: ReasonAmbiguous}},
		{"margin is inclusive", []Match{m("a", 0.75), m("b", 0.5)}, 0.5, 0.25, Decision{PersonID: "a", Score: 0.75, Margin: sub(0.75, 0.5), Known: true}},
		{"threshold reported first", []Match{m("a", 0.3), m("b", 0.29)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.3, Margin: sub(0.3, 0.29), Reason: ReasonBelowThreshold}},
		{"same person is no runner-up", []Match{m("a", 0.8), m("a", 0.79), m("b", 0.5)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.8, Margin: sub(0.8, 0.5), Known: true}},
		{"unsorted input", []Match{m("b", 0.5), m("c", 0.1), m("a", 0.9)}, 0.5, 0.1, Decision{PersonID: "a", Score: 0.9, Margin: sub(0.9, 0.5), Known: true}},
		{"lone candidate passes margin", []Match{m("a", 0.9)}, 0.5, 0.3, Decision{PersonID: "a", Score: 0.9, Margin: inf, Known: true}},
		{"negative scores", []Match{m("a", -0.1), m("b", -0.5)}, -0.2, 0.3, Decision{PersonID: "a", Score: -0.1, Margin: sub(-0.1, -0.5), Known: true}},
		{"NaN threshold rejects", []Match{m("a", 0.9)}, float32(math.NaN()), 0, Decision{PersonID: "a", Score: 0.9, Margin: inf, Reason: ReasonBelowThreshold}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.ms, c.threshold, c.margin); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestHolderSwapDuringSearch runs searches while snapshots are swapped under
// them; every result must come whole from the snapshot the reader loaded.
func TestHolderSwapDuringSearch(t *testing.T) {
	const dim = 64
	rng := newRand(5)
	probe := recognizer.RandomUnit(rng, dim)
	snaps := make([]*Snapshot, 4)
	marker := map[*Snapshot]string{}
	for i := range snaps {
		ts := []Template{{PersonID: fmt.Sprint("marker", i), TemplateID: "m", Vec: slices.Clone(probe)}}
		for j := range 200 {
			ts = append(ts, Template{PersonID: fmt.Sprint("p", j), Vec: recognizer.RandomUnit(rng, dim)})
		}
		s, err := New(testModel, dim, ts, Options{ScoreNorm: i%2 == 1})
		if err != nil {
			t.Fatal(err)
		}
		snaps[i] = s
		marker[s] = ts[0].PersonID
	}
	var h Holder
	if h.Load() != nil {
		t.Fatal("zero Holder is not empty")
	}
	if old := h.Swap(snaps[0]); old != nil {
		t.Fatal("first Swap returned a snapshot")
	}
	var stop atomic.Bool
	var searches atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Go(func() {
			for !stop.Load() {
				s := h.Load()
				var ms []Match
				var err error
				if r%2 == 0 {
					ms, err = s.Search(emb(probe), 3)
				} else {
					var b [][]Match
					b, err = s.SearchBatch([]recognizer.Embedding{emb(probe)}, 3, 2)
					if err == nil {
						ms = b[0]
					}
				}
				if err == nil && (len(ms) != 3 || ms[0].PersonID != marker[s]) {
					err = fmt.Errorf("snapshot %s gave\n%s", marker[s], formatMatches(ms))
				}
				if err != nil {
					errs <- err
					return
				}
				searches.Add(1)
			}
		})
	}
	for i := 1; i < 200 || searches.Load() < 100; i++ {
		h.Swap(snaps[i%len(snaps)])
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := NewHolder(snaps[2]).Load(); got != snaps[2] {
		t.Fatal("NewHolder does not hold its snapshot")
	}
}

func TestQuadLayout(t *testing.T) {
	rng := newRand(3)
	for _, c := range []struct{ rows, stride int }{{4, 32}, {8, 64}, {12, 640}} {
		t.Run(fmt.Sprintf("%dx%d", c.rows, c.stride), func(t *testing.T) {
			plain := make([][]int8, c.rows)
			codes := make([]int8, c.rows*c.stride)
			for r := range plain {
				plain[r] = make([]int8, c.stride)
				for j := range plain[r] {
					plain[r][j] = int8(rng.IntN(255) - 127)
				}
				putRow(codes, c.stride, r, plain[r])
			}
			q := make([]int8, c.stride)
			for j := range q {
				q[j] = int8(rng.IntN(255) - 127)
			}
			qabs := make([]int8, c.stride)
			absCodes(q, qabs)
			got := make([]int32, c.rows)
			dots(q, qabs, codes, c.stride, got)
			back := make([]int8, c.stride)
			for r := range plain {
				getRow(codes, c.stride, r, back)
				if !slices.Equal(back, plain[r]) {
					t.Fatalf("row %d does not round-trip", r)
				}
				var want int32
				for j := range q {
					want += int32(q[j]) * int32(plain[r][j])
				}
				if got[r] != want {
					t.Fatalf("row %d: kernel %d, plain %d", r, got[r], want)
				}
			}
		})
	}
}

// TestErrorBound checks the interval of every template against its exact
// score, and that the adversarial data really comes close to the bound, so
// that the exactness tests would notice a bound that is too narrow.
func TestErrorBound(t *testing.T) {
	for _, dim := range []int{128, 512, 640} {
		for _, norm := range []bool{false, true} {
			t.Run(fmt.Sprintf("dim%d/norm%v", dim, norm), func(t *testing.T) {
				rng := newRand(uint64(dim))
				ts, q := adversarial(rng, dim, 64, 64)
				for i := range 64 {
					ts = append(ts, Template{PersonID: fmt.Sprint("r", i), Vec: recognizer.RandomUnit(rng, dim)})
				}
				s, err := New(testModel, dim, ts, Options{ScoreNorm: norm})
				if err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for _, qv := range [][]float32{q, recognizer.RandomUnit(rng, dim), near(rng, ts[70].Vec, 0.8)} {
					pq, err := s.prepare(emb(qv))
					if err != nil {
						t.Fatal(err)
					}
					d := make([]int32, s.rows)
					dots(pq.code, pq.abs, s.codes, s.stride, d)
					for i := range s.Len() {
						y := float64(d[i]) * s.mult[i] * pq.scale
						if s.off != nil {
							y += s.off[i]
						}
						w := pq.width(s.errW[i], s.codeW[i])
						_, z := s.exact(pq, i)
						if math.Abs(z-y) > w {
							t.Fatalf("template %d: exact %v, approximate %v ± %v", i, z, y, w)
						}
						if w > pq.widthMax {
							t.Fatalf("template %d: width %v above the gallery's %v", i, w, pq.widthMax)
						}
						worst = max(worst, math.Abs(z-y)/w)
					}
				}
				if worst < 0.9 {
					t.Fatalf("largest error is %.3f of the bound; the data is not adversarial", worst)
				}
			})
		}
	}
}

// TestSearchLargeK covers k beyond the linear person lookup and beyond the
// number of persons.
func TestSearchLargeK(t *testing.T) {
	for _, sc := range scenarios {
		for _, norm := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/norm%v", sc.name, norm), func(t *testing.T) {
				rng := newRand(11)
				ts, qs := sc.build(rng, 128)
				s, err := New(testModel, 128, ts, Options{ScoreNorm: norm, CohortSize: 50})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []int{linearTopK, linearTopK + 1, 40, 1000, math.MaxInt} {
					for i, q := range qs {
						want := bruteForce(s, ts, q, k)
						got, err := s.Search(emb(q), k)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got, want) {
							t.Fatalf("query %d, k %d:\ngot\n%swant\n%s", i, k, formatMatches(got), formatMatches(want))
						}
					}
				}
			})
		}
	}
}
