package gallery

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// benchSet is a synthetic gallery shaped like an enrolment database: five
// templates per person around a person centre (cosine about 0.8 to it), and
// queries of enrolled persons, so each query has one strong match and
// 100k-ish impostors.
type benchSet struct {
	s       *Snapshot
	ts      []Template
	queries []recognizer.Embedding
}

var benchSets = struct {
	sync.Mutex
	m map[string]*benchSet
}{m: map[string]*benchSet{}}

const benchK = 5

func benchGallery(b *testing.B, n, dim int, norm bool) *benchSet {
	b.Helper()
	key := fmt.Sprint(n, dim, norm)
	benchSets.Lock()
	defer benchSets.Unlock()
	if set, ok := benchSets.m[key]; ok {
		return set
	}
	rng := newRand(uint64(n*dim) + 17)
	var ts []Template
	var centres [][]float32
	for i := 0; len(ts) < n; i++ {
		c := recognizer.RandomUnit(rng, dim)
		centres = append(centres, c)
		for j := 0; j < 5 && len(ts) < n; j++ {
			ts = append(ts, Template{PersonID: fmt.Sprint("person", i), TemplateID: fmt.Sprint(i, ".", j), Vec: near(rng, c, 0.8)})
		}
	}
	s, err := New(testModel, dim, ts, Options{ScoreNorm: norm})
	if err != nil {
		b.Fatal(err)
	}
	set := &benchSet{s: s, ts: ts}
	for range 64 {
		set.queries = append(set.queries, emb(near(rng, centres[rng.IntN(len(centres))], 0.75)))
	}
	benchSets.m[key] = set
	// Collect the construction garbage now rather than during the timing.
	runtime.GC()
	return set
}

var benchSizes = []struct {
	name string
	n    int
}{{"1k", 1000}, {"10k", 10000}, {"100k", 100000}}

// BenchmarkSearch is one query on one goroutine, at dim 512.
func BenchmarkSearch(b *testing.B) {
	b.Logf("dot kernel: %s", kernelName())
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) { benchSearch(b, size.n, 512, false) })
	}
}

// BenchmarkSearch640 is BenchmarkSearch at dim 640.
func BenchmarkSearch640(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) { benchSearch(b, size.n, 640, false) })
	}
}

// BenchmarkSearchScoreNorm is BenchmarkSearch with normalised scores.
func BenchmarkSearchScoreNorm(b *testing.B) {
	b.Run("100k", func(b *testing.B) { benchSearch(b, 100000, 512, true) })
}

func benchSearch(b *testing.B, n, dim int, norm bool) {
	set := benchGallery(b, n, dim, norm)
	i := 0
	for b.Loop() {
		if _, err := set.s.Search(set.queries[i%len(set.queries)], benchK); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSearchBatch reports the time per batch and per query for one and
// sixteen queries on one and two workers.
func BenchmarkSearchBatch(b *testing.B) {
	set := benchGallery(b, 100000, 512, false)
	for _, q := range []int{1, 16} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("100k/q%d/w%d", q, w), func(b *testing.B) {
				i := 0
				for b.Loop() {
					lo := (i * q) % len(set.queries)
					if _, err := set.s.SearchBatch(set.queries[lo:lo+q], benchK, w); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*q)/1e6, "ms/query")
			})
		}
	}
}

// BenchmarkSearchParallel is independent single-query searches on every
// core at once, as with one search goroutine per camera.
func BenchmarkSearchParallel(b *testing.B) {
	set := benchGallery(b, 100000, 512, false)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := set.s.Search(set.queries[i%len(set.queries)], benchK); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkNaiveScan is the baseline: recognizer.Dot over every float32
// template, keeping only the best one.
func BenchmarkNaiveScan(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			set := benchGallery(b, size.n, 512, false)
			s := set.s
			i := 0
			for b.Loop() {
				q := set.queries[i%len(set.queries)].Vec
				best, at := float32(-2), -1
				for t := range s.Len() {
					if d := recognizer.Dot(q, s.vecs[t*s.dim:(t+1)*s.dim]); d > best {
						best, at = d, t
					}
				}
				if at < 0 {
					b.Fatal("no template")
				}
				i++
			}
		})
	}
}

// BenchmarkNew is the cost of building a snapshot, which an enrolment
// change pays once.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, norm := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dk/norm%v", n/1000, norm), func(b *testing.B) {
				set := benchGallery(b, n, 512, false)
				for b.Loop() {
					if _, err := New(testModel, 512, set.ts, Options{ScoreNorm: norm}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
