package gallery

import "math"

// viewNorm holds what SearchPose needs to standardise the templates of
// persons with several templates against their pose peers
// (Options.ViewCohortSigma).
type viewNorm struct {
	cohort []int32 // cohort template indices, all with a known pose
	// For template t of a person with several templates, weights[t] holds
	// PoseWeight(pose of t, pose of cohort[j], σ) for every j, 0 for the
	// person's own templates; nil for every other template.
	weights [][]float64
	// ref[p] is person p's most frontal template of known pose, whose
	// scale the person's other templates are mapped onto; -1 for none.
	ref []int32
}

// newViewNorm prepares the pose-weighted cohort of every template that
// belongs to a person with several templates and has a known pose.
func (s *Snapshot) newViewNorm(sigma float64, size int) *viewNorm {
	v := &viewNorm{weights: make([][]float64, s.n), ref: make([]int32, len(s.personIDs))}
	for _, t := range sampleIndices(s.n, size) {
		if s.hasPose[t] {
			v.cohort = append(v.cohort, t)
		}
	}
	for p, ts := range s.members {
		v.ref[p] = -1
		for _, t := range ts {
			if s.hasPose[t] && (v.ref[p] < 0 || offFrontal(s.poses[t]) < offFrontal(s.poses[v.ref[p]])) {
				v.ref[p] = t
			}
		}
		if len(ts) < 2 {
			continue
		}
		for _, t := range ts {
			if !s.hasPose[t] {
				continue
			}
			w := make([]float64, len(v.cohort))
			for j, c := range v.cohort {
				if s.person[c] != int32(p) {
					w[j] = PoseWeight(s.poses[t], s.poses[c], sigma)
				}
			}
			v.weights[t] = w
		}
	}
	return v
}

// offFrontal is the squared angle between a pose and the frontal one.
func offFrontal(p Pose) float64 {
	return float64(p.Yaw)*float64(p.Yaw) + float64(p.Pitch)*float64(p.Pitch)
}

// maps returns, for one query whose approximate template scores are ys,
// the affine map a·y + b of every template: (y − μ_t)/σ_t mapped back
// through the person's reference template's μ and σ, where μ_t and σ_t
// are the pose-weighted mean and deviation of the query's scores against
// other persons' templates. A template without cohort weights, or whose
// cohort weighs nothing (no other person seen from near its angle), keeps
// a = 1, b = 0; so does every reference template, which makes a person's
// most frontal template, and a person with one template, score as before.
// The statistics come from the approximate scores, like the gallery
// cohort's: deterministic, and far more precise than σ_t.
func (v *viewNorm) maps(s *Snapshot, ys []float64) (a, b []float64) {
	a, b = make([]float64, s.n), make([]float64, s.n)
	mu, sd := make([]float64, s.n), make([]float64, s.n)
	ok := make([]bool, s.n)
	for t, w := range v.weights {
		a[t] = 1
		if w == nil {
			continue
		}
		var sw, m, m2 float64
		for j, c := range v.cohort {
			y := ys[c]
			sw += w[j]
			m += w[j] * y
			m2 += w[j] * y * y
		}
		// A weight sum this small means the cohort holds no template within
		// several σ of this pose: its statistics would be noise.
		if sw < 1e-6 {
			continue
		}
		m /= sw
		mu[t], sd[t], ok[t] = m, max(math.Sqrt(max(m2/sw-m*m, 0)), MinSigma), true
	}
	for p, ts := range s.members {
		r := v.ref[p]
		if r < 0 || !ok[r] {
			continue
		}
		for _, t := range ts {
			if t == r || !ok[t] {
				continue
			}
			a[t] = sd[r] / sd[t]
			b[t] = mu[r] - a[t]*mu[t]
		}
	}
	return a, b
}
