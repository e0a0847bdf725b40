package track

import (
	"math/rand/v2"
	"testing"
)

// bestAssignment finds by exhaustive search the most allowed pairs and,
// among those, the least total cost.
func bestAssignment(cost []float64, rows, cols int) (pairs int, total float64) {
	usedC := make([]bool, cols)
	pairs, total = -1, 0
	var walk func(r, n int, sum float64)
	walk = func(r, n int, sum float64) {
		if r == rows {
			if n > pairs || n == pairs && sum < total {
				pairs, total = n, sum
			}
			return
		}
		walk(r+1, n, sum) // row r unmatched
		for c := range cols {
			if x := cost[r*cols+c]; !usedC[c] && x < forbidden {
				usedC[c] = true
				walk(r+1, n+1, sum+x)
				usedC[c] = false
			}
		}
	}
	walk(0, 0, 0)
	return pairs, total
}

func checkAssignment(t *testing.T, cost []float64, rows, cols int, got []pair) (n int, total float64) {
	t.Helper()
	seenR, seenC := map[int]bool{}, map[int]bool{}
	for i, p := range got {
		if seenR[p.r] || seenC[p.c] {
			t.Fatalf("row or column used twice in %v", got)
		}
		if i > 0 && got[i-1].r >= p.r {
			t.Fatalf("pairs not ordered by row: %v", got)
		}
		seenR[p.r], seenC[p.c] = true, true
		x := cost[p.r*cols+p.c]
		if x >= forbidden {
			t.Fatalf("forbidden pair %v in %v", p, got)
		}
		total += x
	}
	return len(got), total
}

func TestAssignMatchesExhaustiveSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a assigner
	for iter := range 3000 {
		rows, cols := rng.IntN(6), rng.IntN(6)
		cost := make([]float64, rows*cols)
		for i := range cost {
			if rng.Float64() < 0.35 {
				cost[i] = forbidden
			} else {
				// Coarse values make ties, which must not matter.
				cost[i] = float64(rng.IntN(8)) / 8
			}
		}
		got := a.solve(cost, rows, cols, nil)
		n, total := checkAssignment(t, cost, rows, cols, got)
		wn, wtotal := bestAssignment(cost, rows, cols)
		if n != wn || total > wtotal+1e-9 {
			t.Fatalf("iteration %d, %dx%d %v: got %d pairs costing %v, best is %d costing %v", iter, rows, cols, cost, n, total, wn, wtotal)
		}
	}
}

func TestAssignGreedyBeyondExactLimit(t *testing.T) {
	const n = exactLimit + 6
	cost := make([]float64, n*(n+3))
	cols := n + 3
	for r := range n {
		for c := range cols {
			cost[r*cols+c] = forbidden
		}
		cost[r*cols+r+3] = 0.1 // the right pair
		cost[r*cols+r] = 0.5   // plausible but worse
	}
	var a assigner
	got := a.solve(cost, n, cols, nil)
	if len(got) != n {
		t.Fatalf("%d pairs, want %d", len(got), n)
	}
	for _, p := range got {
		if p.c != p.r+3 {
			t.Fatalf("row %d got column %d, want %d", p.r, p.c, p.r+3)
		}
	}
}
