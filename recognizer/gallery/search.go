package gallery

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/dozor-edge/dozor/recognizer"
)

// Match is one person found by a search.
type Match struct {
	PersonID   string
	TemplateID string // the person's best-scoring template
	// Score ranks the matches: the normalised score when the snapshot was
	// built with Options.ScoreNorm, otherwise equal to RawScore.
	Score float32
	// RawScore is the cosine similarity of the query and the template.
	RawScore float32
}

// query is a validated, normalised and quantised search vector.
type query struct {
	vec       []float32
	code      []int8
	abs       []int8
	scale     float64
	norm      float64 // ‖q‖
	errNorm   float64 // ‖q − q̂‖
	widthMax  float64 // no template's interval is wider than this
	widthBase float64 // slack added to every interval
}

func (s *Snapshot) prepare(e recognizer.Embedding) (*query, error) {
	if e.Model != s.model {
		return nil, recognizer.ErrModelMismatch{A: s.model, B: e.Model}
	}
	if len(e.Vec) != s.dim {
		return nil, fmt.Errorf("gallery: query: %w: got %d, want %d", ErrLength, len(e.Vec), s.dim)
	}
	q := &query{
		vec:  slices.Clone(e.Vec),
		code: make([]int8, s.stride),
		abs:  make([]int8, s.stride),
	}
	if err := unitize(q.vec); err != nil {
		return nil, fmt.Errorf("gallery: query: %w", err)
	}
	scale, errNorm, _ := quantise(q.vec, q.code)
	absCodes(q.code, q.abs)
	q.scale = float64(scale)
	q.errNorm = errNorm
	var ss float64
	for _, x := range q.vec {
		ss += float64(x) * float64(x)
	}
	q.norm = math.Sqrt(ss)
	q.widthBase = s.slack
	q.widthMax = q.width(s.errMax, s.codeMax)
	return q, nil
}

// width is the half-width of a template's score interval. The factor
// absorbs the rounding of the norms themselves.
func (q *query) width(errW, codeW float64) float64 {
	return (errW*q.norm+codeW*q.errNorm)*(1+1e-6) + q.widthBase
}

// Search returns up to k distinct persons best matching q, best first. A
// query from another model yields recognizer.ErrModelMismatch. The query is
// renormalised to unit length. Search runs on the calling goroutine; use
// SearchBatch to spread one query over several cores.
func (s *Snapshot) Search(q recognizer.Embedding, k int) ([]Match, error) {
	if s == nil {
		return nil, errors.New("gallery: search of a nil snapshot")
	}
	if k <= 0 {
		return nil, fmt.Errorf("gallery: k = %d, want at least 1", k)
	}
	pq, err := s.prepare(q)
	if err != nil {
		return nil, err
	}
	if s.aggregates() {
		return s.searchAgg(pq, nil, k), nil
	}
	sc := s.newScan(pq, k)
	scans := []*scan{sc}
	s.scanRange(0, s.rows, scans, make([]int32, s.block))
	return s.finish(k, scans), nil
}

// minRowsPerWorker keeps goroutines from being started for slices of the
// gallery that take less time to scan than to hand out.
const minRowsPerWorker = 4096

// SearchBatch searches every query in qs and returns their results in
// order. workers goroutines share the work (GOMAXPROCS when workers ≤ 0).
// Each takes an equal slice of the gallery and runs all queries over it one
// cache-sized block at a time, so the gallery is read from memory once per
// batch rather than once per query, and the load is even for one query or
// many. An invalid query fails the whole batch with an error naming it.
func (s *Snapshot) SearchBatch(qs []recognizer.Embedding, k, workers int) ([][]Match, error) {
	if s == nil {
		return nil, errors.New("gallery: search of a nil snapshot")
	}
	if k <= 0 {
		return nil, fmt.Errorf("gallery: k = %d, want at least 1", k)
	}
	pqs := make([]*query, len(qs))
	for i, q := range qs {
		pq, err := s.prepare(q)
		if err != nil {
			return nil, fmt.Errorf("gallery: query %d: %w", i, err)
		}
		pqs[i] = pq
	}
	if len(pqs) == 0 {
		return [][]Match{}, nil
	}
	if s.aggregates() {
		out := make([][]Match, len(pqs))
		for i, pq := range pqs {
			out[i] = s.searchAgg(pq, nil, k)
		}
		return out, nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, s.rows/minRowsPerWorker))

	// scans[w][i] is query i over worker w's slice.
	scans := make([][]*scan, workers)
	var wg sync.WaitGroup
	quads := s.rows / quad
	for w := range workers {
		lo, hi := w*quads/workers*quad, (w+1)*quads/workers*quad
		scans[w] = make([]*scan, len(pqs))
		for i, pq := range pqs {
			scans[w][i] = s.newScan(pq, k)
		}
		wg.Go(func() { s.scanRange(lo, hi, scans[w], make([]int32, s.block)) })
	}
	wg.Wait()

	out := make([][]Match, len(pqs))
	for w := range min(workers, len(pqs)) {
		wg.Go(func() {
			per := make([]*scan, workers)
			for i := w; i < len(pqs); i += workers {
				for v := range per {
					per[v] = scans[v][i]
				}
				out[i] = s.finish(k, per)
			}
		})
	}
	wg.Wait()
	return out, nil
}

// scanRange scores rows [lo, hi) for every scan; lo and hi are multiples of
// quad.
func (s *Snapshot) scanRange(lo, hi int, scans []*scan, buf []int32) {
	for b := lo; b < hi; b += s.block {
		e := min(b+s.block, hi)
		codes := s.codes[b*s.stride : e*s.stride]
		valid := max(0, min(e, s.n)-b) // the padding rows are not templates
		for _, sc := range scans {
			out := buf[:e-b]
			dots(sc.q.code, sc.q.abs, codes, s.stride, out)
			sc.consume(b, out[:valid])
		}
	}
}

// cand is a template that may belong to a top-k person, with the interval
// its exact score lies in.
type cand struct {
	t      int32
	lb, ub float64
}

// scan is the state of one query over one slice of the gallery.
type scan struct {
	s     *Snapshot
	q     *query
	top   topK    // best lower bound of up to k persons seen
	cut   float64 // templates scoring below this are skipped unexamined
	cands []cand
	limit int // compact cands when it grows past this
}

func (s *Snapshot) newScan(q *query, k int) *scan {
	// There cannot be more than Persons() distinct results; asking for
	// fewer bounds keeps the threshold finite when k exceeds that.
	k = max(1, min(k, len(s.personIDs)))
	return &scan{s: s, q: q, top: newTopK(k), cut: math.Inf(-1), cands: make([]cand, 0, 256), limit: 1024}
}

// consume takes the integer dot products of rows lo, lo+1, ...; this loop
// runs once per template, so it does no more than two multiplies and a
// compare (plus an add with score normalisation).
func (sc *scan) consume(lo int, d []int32) {
	b := sc.q.scale
	mult := sc.s.mult[lo : lo+len(d)]
	cut := sc.cut
	if sc.s.off == nil {
		for i, x := range d {
			if y := float64(x) * mult[i] * b; y >= cut {
				sc.admit(lo+i, y)
				cut = sc.cut
			}
		}
		return
	}
	off := sc.s.off[lo : lo+len(d)]
	for i, x := range d {
		if y := float64(x)*mult[i]*b + off[i]; y >= cut {
			sc.admit(lo+i, y)
			cut = sc.cut
		}
	}
}

// admit looks closer at template t with approximate score y. The cut used
// the widest interval of the gallery; this uses t's own.
func (sc *scan) admit(t int, y float64) {
	w := sc.q.width(sc.s.errW[t], sc.s.codeW[t])
	floor := sc.top.floor()
	ub := y + w
	if ub < floor {
		return
	}
	lb := y - w
	sc.cands = append(sc.cands, cand{int32(t), lb, ub})
	if lb > floor {
		sc.top.offer(sc.s.person[t], lb)
		floor = sc.top.floor()
		sc.cut = floor - sc.q.widthMax
	}
	if len(sc.cands) > sc.limit {
		sc.cands = slices.DeleteFunc(sc.cands, func(c cand) bool { return c.ub < floor })
		sc.limit = max(sc.limit, 2*len(sc.cands))
	}
}

// result is a person's exact best template.
type result struct {
	p, t     int32
	z, raw   float64
	personID string
}

// before orders results best first: higher score, then smaller PersonID.
func (a result) before(b result) bool {
	if a.z != b.z {
		return a.z > b.z
	}
	return a.personID < b.personID
}

// finish merges the scans of one query and rescores what may be in its top
// k exactly.
//
// Every person's best lower bound is at most its exact score, so the k-th
// largest of them, floor, is at most the k-th best exact person score. The
// best template of a top-k person thus has an upper bound ≥ floor and is
// among the candidates kept. Within a person, a template whose upper bound
// is below another's lower bound cannot be that person's best.
func (s *Snapshot) finish(k int, scans []*scan) []Match {
	q := scans[0].q
	k = min(k, len(s.personIDs))
	top := newTopK(scans[0].top.k)
	n := 0
	for _, sc := range scans {
		for _, b := range sc.top.h {
			top.offer(b.p, b.lb)
		}
		n += len(sc.cands)
	}
	floor := top.floor()
	cs := make([]cand, 0, n)
	for _, sc := range scans {
		for _, c := range sc.cands {
			if c.ub >= floor {
				cs = append(cs, c)
			}
		}
	}
	// Group by person, each group by falling upper bound.
	slices.SortFunc(cs, func(a, b cand) int {
		if pa, pb := s.person[a.t], s.person[b.t]; pa != pb {
			return int(pa - pb)
		}
		if a.ub != b.ub {
			if a.ub > b.ub {
				return -1
			}
			return 1
		}
		return int(a.t - b.t)
	})
	type group struct {
		from, to int
		ub, lb   float64
	}
	var groups []group
	for i := 0; i < len(cs); {
		g := group{from: i, ub: cs[i].ub, lb: cs[i].lb}
		p := s.person[cs[i].t]
		for i++; i < len(cs) && s.person[cs[i].t] == p; i++ {
			g.lb = max(g.lb, cs[i].lb)
		}
		g.to = i
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b group) int {
		if a.ub != b.ub {
			if a.ub > b.ub {
				return -1
			}
			return 1
		}
		return a.from - b.from
	})

	best := make([]result, 0, k+1) // best first, at most k
	for _, g := range groups {
		// A person whose upper bound is below the k-th exact score cannot
		// enter; neither can any later group. An equal one could, by name.
		if len(best) == k && g.ub < best[k-1].z {
			break
		}
		r := result{t: -1}
		for _, c := range cs[g.from:g.to] {
			if c.ub < g.lb || (r.t >= 0 && c.ub < r.z) {
				break // sorted by upper bound, so no later one can win
			}
			raw, z := s.exact(q, int(c.t))
			if r.t < 0 || z > r.z || (z == r.z && c.t < r.t) {
				r = result{p: s.person[c.t], t: c.t, z: z, raw: raw}
			}
		}
		r.personID = s.personIDs[r.p]
		at, _ := slices.BinarySearchFunc(best, r, func(a, b result) int {
			if a.before(b) {
				return -1
			}
			return 1
		})
		if at < k {
			best = slices.Insert(best, at, r)
			best = best[:min(len(best), k)]
		}
	}

	ms := make([]Match, len(best))
	for i, r := range best {
		ms[i] = Match{PersonID: r.personID, TemplateID: s.ids[r.t], Score: float32(r.z), RawScore: float32(r.raw)}
	}
	return ms
}

// exact is the defining score: the float64 dot product in index order, and
// its normalised form.
func (s *Snapshot) exact(q *query, t int) (raw, z float64) {
	v := s.vecs[t*s.dim : (t+1)*s.dim]
	u := q.vec[:len(v)]
	for i, x := range v {
		raw += float64(x) * float64(u[i])
	}
	if s.mu == nil {
		return raw, raw
	}
	return raw, (raw - s.mu[t]) / s.sigma[t]
}

// topK holds the best lower bound of up to k distinct persons in a min-heap,
// so its root is the k-th best once full.
type topK struct {
	k  int
	h  []bound
	at map[int32]int // heap position by person, for large k only
}

type bound struct {
	p  int32
	lb float64
}

// linearTopK is the k up to which a person is found by scanning the heap,
// cheaper than a map for the usual handful of results.
const linearTopK = 16

func newTopK(k int) topK {
	t := topK{k: k, h: make([]bound, 0, min(k, 64))}
	if k > linearTopK {
		t.at = make(map[int32]int)
	}
	return t
}

func (t *topK) floor() float64 {
	if len(t.h) < t.k {
		return math.Inf(-1)
	}
	return t.h[0].lb
}

func (t *topK) find(p int32) int {
	if t.at != nil {
		if i, ok := t.at[p]; ok {
			return i
		}
		return -1
	}
	for i := range t.h {
		if t.h[i].p == p {
			return i
		}
	}
	return -1
}

// offer raises person p's bound to lb if that is better.
func (t *topK) offer(p int32, lb float64) {
	if i := t.find(p); i >= 0 {
		if lb > t.h[i].lb {
			t.h[i].lb = lb
			t.down(i)
		}
		return
	}
	if len(t.h) < t.k {
		t.h = append(t.h, bound{p, lb})
		t.moved(len(t.h) - 1)
		t.up(len(t.h) - 1)
		return
	}
	if lb <= t.h[0].lb {
		return
	}
	if t.at != nil {
		delete(t.at, t.h[0].p)
	}
	t.h[0] = bound{p, lb}
	t.moved(0)
	t.down(0)
}

func (t *topK) moved(i int) {
	if t.at != nil {
		t.at[t.h[i].p] = i
	}
}

func (t *topK) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.moved(i)
	t.moved(j)
}

func (t *topK) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if t.h[parent].lb <= t.h[i].lb {
			return
		}
		t.swap(i, parent)
		i = parent
	}
}

func (t *topK) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(t.h) {
			return
		}
		if c+1 < len(t.h) && t.h[c+1].lb < t.h[c].lb {
			c++
		}
		if t.h[i].lb <= t.h[c].lb {
			return
		}
		t.swap(i, c)
		i = c
	}
}
