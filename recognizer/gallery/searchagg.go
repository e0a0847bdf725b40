package gallery

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dozor-edge/dozor/recognizer"
)

// aggregates reports whether persons are scored by an aggregation other
// than their best template.
func (s *Snapshot) aggregates() bool { return s.multi && s.agg.Kind != AggMax }

// SearchPose is Search for a query seen at pose p: with Options.PoseSigma
// set, each template the snapshot knows the pose of is weighted by
// PoseWeight in its person's aggregation, so a CCTV face seen from the
// side leans on the person's profile mugshots. Templates of unknown pose
// weigh 1. With Options.ViewCohortSigma set, templates are also
// standardised against their pose peers (see there).
func (s *Snapshot) SearchPose(q recognizer.Embedding, p Pose, k int) ([]Match, error) {
	if s == nil {
		return nil, errors.New("gallery: search of a nil snapshot")
	}
	if !s.aggregates() || (s.poseSigma == 0 && s.view == nil) {
		return s.Search(q, k)
	}
	if k <= 0 {
		return nil, fmt.Errorf("gallery: k = %d, want at least 1", k)
	}
	pq, err := s.prepare(q)
	if err != nil {
		return nil, err
	}
	var w []float64
	if s.poseSigma > 0 {
		w = make([]float64, s.n)
		for t := range w {
			w[t] = 1
			if s.hasPose[t] {
				w[t] = PoseWeight(p, s.poses[t], s.poseSigma)
			}
		}
	}
	return s.searchAgg(pq, w, k), nil
}

// searchAgg ranks persons by the aggregation of their template scores,
// with template weights w (nil: equal). Every aggregation rises with each
// score, so scoring a person's templates at the low and high ends of their
// approximate intervals bounds the person's exact score; only persons
// whose upper bound reaches the k-th best lower bound are rescored exactly.
// With a view cohort, each template's score passes through its affine map
// for this query before aggregation; the maps rise with the score, so they
// carry the intervals along.
func (s *Snapshot) searchAgg(q *query, w []float64, k int) []Match {
	k = min(k, len(s.personIDs))
	ys := make([]float64, s.rows)
	buf := make([]int32, s.block)
	for b := 0; b < s.rows; b += s.block {
		e := min(b+s.block, s.rows)
		dots(q.code, q.abs, s.codes[b*s.stride:e*s.stride], s.stride, buf[:e-b])
		for i := b; i < min(e, s.n); i++ {
			y := float64(buf[i-b]) * s.mult[i] * q.scale
			if s.off != nil {
				y += s.off[i]
			}
			ys[i] = y
		}
	}
	a, b := s.viewMaps(ys)
	np := len(s.personIDs)
	lo, hi := make([]float64, np), make([]float64, np)
	var ls, us, ws []float64
	weights := func(ts []int32) []float64 {
		if w == nil {
			return nil
		}
		ws = ws[:0]
		for _, t := range ts {
			ws = append(ws, w[t])
		}
		return ws
	}
	for p, ts := range s.members {
		ls, us = ls[:0], us[:0]
		for _, t := range ts {
			d := q.width(s.errW[t], s.codeW[t])
			ls = append(ls, a[t]*(ys[t]-d)+b[t])
			us = append(us, a[t]*(ys[t]+d)+b[t])
		}
		lo[p] = s.agg.Score(ls, weights(ts))
		hi[p] = s.agg.Score(us, weights(ts))
	}
	floor := slices.Clone(lo)
	slices.Sort(floor)
	cut := floor[np-k]

	var rs []result
	zs := make([]float64, 0, 8)
	for p, ts := range s.members {
		if hi[p] < cut {
			continue
		}
		zs = zs[:0]
		r := result{p: int32(p), t: -1, personID: s.personIDs[p]}
		var bestZ float64
		for _, t := range ts {
			raw, z := s.exact(q, int(t))
			zs = append(zs, a[t]*z+b[t])
			if r.t < 0 || z > bestZ {
				r.t, r.raw, bestZ = t, raw, z
			}
		}
		r.z = s.agg.Score(zs, weights(ts))
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b result) int {
		if c := compareFloat(b.z, a.z); c != 0 {
			return c
		}
		return strings.Compare(a.personID, b.personID)
	})
	rs = rs[:min(k, len(rs))]
	ms := make([]Match, len(rs))
	for i, r := range rs {
		ms[i] = Match{PersonID: r.personID, TemplateID: s.ids[r.t], Score: float32(r.z), RawScore: float32(r.raw)}
	}
	return ms
}

// viewMaps returns each template's affine score map for a query with
// approximate scores ys: the view cohort's, or the identity without one.
func (s *Snapshot) viewMaps(ys []float64) (a, b []float64) {
	if s.view != nil {
		return s.view.maps(s, ys)
	}
	a, b = make([]float64, s.n), make([]float64, s.n)
	for t := range a {
		a[t] = 1
	}
	return a, b
}
