package track

import (
	"math"
	"slices"
)

// exactLimit is the largest side of a cost matrix solved exactly. The
// Hungarian method costs O(n²m); at 64 that is a quarter of a million steps,
// still far below the embedding work of the same frame. Beyond it (a crowd
// filling a wide-angle camera) greedy pairing is close enough.
const exactLimit = 64

// forbidden marks a pair that may not be matched. It dwarfs any sum of
// allowed costs, which lie in [0, 1], so the exact solver first maximises
// the number of allowed pairs and only then minimises their cost.
const forbidden = 1e9

// pair is an allowed match of row r (a track) and column c (an observation).
type pair struct{ r, c int }

// assigner solves rectangular assignment problems, reusing its buffers.
type assigner struct {
	u, v, minv         []float64
	p, way             []int
	used               []bool
	rowOf              []int
	t                  []float64 // transposed costs
	cands              []cand
	rowTaken, colTaken []bool
}

type cand struct {
	cost float64
	r, c int
}

// solve returns the allowed pairs of a least-cost assignment of the rows×cols
// matrix cost (row-major; forbidden marks disallowed pairs), ordered by row.
func (a *assigner) solve(cost []float64, rows, cols int, out []pair) []pair {
	out = out[:0]
	if rows == 0 || cols == 0 {
		return out
	}
	if max(rows, cols) > exactLimit {
		return a.greedy(cost, rows, cols, out)
	}
	if rows <= cols {
		colOf := a.hungarian(cost, rows, cols)
		for r, c := range colOf {
			if c >= 0 && cost[r*cols+c] < forbidden {
				out = append(out, pair{r, c})
			}
		}
		return out
	}
	// The method wants no more rows than columns: solve the transpose.
	a.t = grow(a.t, rows*cols)
	for r := range rows {
		for c := range cols {
			a.t[c*rows+r] = cost[r*cols+c]
		}
	}
	rowOf := a.hungarian(a.t, cols, rows)
	for c, r := range rowOf {
		if r >= 0 && cost[r*cols+c] < forbidden {
			out = append(out, pair{r, c})
		}
	}
	slices.SortFunc(out, func(x, y pair) int { return x.r - y.r })
	return out
}

// hungarian assigns every one of n rows a distinct one of m ≥ n columns at
// least total cost and returns the column of each row. It keeps a potential
// per row (u) and per column (v) such that cost − u − v ≥ 0 everywhere and
// is zero on the assignment; each row is added by a shortest augmenting
// path over the reduced costs (a Dijkstra-like sweep), shifting the
// potentials by the distance found. Index 0 of p and way is a virtual
// column where each augmentation starts.
func (a *assigner) hungarian(cost []float64, n, m int) []int {
	a.u = fill(a.u, n+1, 0)
	a.v = fill(a.v, m+1, 0)
	a.p = fillInt(a.p, m+1, 0) // p[j]: 1-based row holding column j
	a.way = fillInt(a.way, m+1, 0)
	for i := 1; i <= n; i++ {
		a.p[0] = i
		j0 := 0
		a.minv = fill(a.minv, m+1, math.Inf(1))
		a.used = fillBool(a.used, m+1)
		for {
			a.used[j0] = true
			i0 := a.p[j0]
			delta, j1 := math.Inf(1), 0
			row := cost[(i0-1)*m : i0*m]
			for j := 1; j <= m; j++ {
				if a.used[j] {
					continue
				}
				if cur := row[j-1] - a.u[i0] - a.v[j]; cur < a.minv[j] {
					a.minv[j], a.way[j] = cur, j0
				}
				if a.minv[j] < delta {
					delta, j1 = a.minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if a.used[j] {
					a.u[a.p[j]] += delta
					a.v[j] -= delta
				} else {
					a.minv[j] -= delta
				}
			}
			j0 = j1
			if a.p[j0] == 0 {
				break
			}
		}
		// Flip the augmenting path back to the virtual column.
		for j0 != 0 {
			j1 := a.way[j0]
			a.p[j0] = a.p[j1]
			j0 = j1
		}
	}
	a.rowOf = fillInt(a.rowOf, n, -1)
	for j := 1; j <= m; j++ {
		if a.p[j] != 0 {
			a.rowOf[a.p[j]-1] = j - 1
		}
	}
	return a.rowOf
}

// greedy takes allowed pairs cheapest first, ties by row then column.
func (a *assigner) greedy(cost []float64, rows, cols int, out []pair) []pair {
	a.cands = a.cands[:0]
	for r := range rows {
		for c := range cols {
			if x := cost[r*cols+c]; x < forbidden {
				a.cands = append(a.cands, cand{x, r, c})
			}
		}
	}
	slices.SortFunc(a.cands, func(x, y cand) int {
		switch {
		case x.cost < y.cost:
			return -1
		case x.cost > y.cost:
			return 1
		case x.r != y.r:
			return x.r - y.r
		}
		return x.c - y.c
	})
	a.rowTaken = fillBool(a.rowTaken, rows)
	a.colTaken = fillBool(a.colTaken, cols)
	for _, k := range a.cands {
		if !a.rowTaken[k.r] && !a.colTaken[k.c] {
			a.rowTaken[k.r], a.colTaken[k.c] = true, true
			out = append(out, pair{k.r, k.c})
		}
	}
	slices.SortFunc(out, func(x, y pair) int { return x.r - y.r })
	return out
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func fill(s []float64, n int, x float64) []float64 {
	s = grow(s, n)
	for i := range s {
		s[i] = x
	}
	return s
}

func fillInt(s []int, n, x int) []int {
	if cap(s) < n {
		s = make([]int, n)
	}
	s = s[:n]
	for i := range s {
		s[i] = x
	}
	return s
}

func fillBool(s []bool, n int) []bool {
	if cap(s) < n {
		s = make([]bool, n)
	}
	s = s[:n]
	clear(s)
	return s
}
