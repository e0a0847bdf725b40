package gallery

import (
	"math"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

// TestViewCohort checks the view cohort against a brute-force computation
// of its definition, and that it does what it is for: a side-on stranger
// who resembles everyone's profile mugshot alike stops scoring high on
// them, while a person's own profile still names them.
func TestViewCohort(t *testing.T) {
	rng := newRand(11)
	const dim, sigma = 64, 40.0
	side := recognizer.RandomUnit(rng, dim) // what every profile has in common
	front, profile := &Pose{Pitch: 5}, &Pose{Yaw: 90}
	var ts []Template
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		ts = append(ts,
			Template{PersonID: id, TemplateID: id + "-front", Vec: recognizer.RandomUnit(rng, dim), Pose: front},
			Template{PersonID: id, TemplateID: id + "-side", Vec: near(rng, side, 0.8), Pose: profile})
	}
	ts = append(ts, Template{PersonID: "f", TemplateID: "f", Vec: recognizer.RandomUnit(rng, dim), Pose: front})
	agg := Aggregation{Kind: AggSoftmax, T: 0.1}
	plain, err := New(testModel, dim, ts, Options{Aggregation: agg})
	if err != nil {
		t.Fatal(err)
	}
	viewed, err := New(testModel, dim, ts, Options{Aggregation: agg, ViewCohortSigma: sigma})
	if err != nil {
		t.Fatal(err)
	}

	// want is the definition written out with exact scores: each
	// template standardised by the query's pose-weighted scores against
	// other persons' templates and mapped onto its person's frontal
	// template's statistics.
	want := func(q []float32, person string) float64 {
		stat := func(t Template) (mu, sd float64) {
			var sw, m, m2 float64
			for _, c := range ts {
				if c.PersonID == t.PersonID {
					continue
				}
				w, y := PoseWeight(*t.Pose, *c.Pose, sigma), float64(recognizer.Dot(unitClone(q), unitClone(c.Vec)))
				sw, m, m2 = sw+w, m+w*y, m2+w*y*y
			}
			m /= sw
			return m, math.Sqrt(m2/sw - m*m)
		}
		var s []float64
		var refMu, refSd float64
		for _, t := range ts {
			if t.PersonID == person && t.Pose == front {
				refMu, refSd = stat(t)
			}
		}
		for _, t := range ts {
			if t.PersonID != person {
				continue
			}
			y := float64(recognizer.Dot(unitClone(q), unitClone(t.Vec)))
			if t.Pose == profile {
				mu, sd := stat(t)
				y = refMu + refSd*(y-mu)/sd
			}
			s = append(s, y)
		}
		return agg.Score(s, nil)
	}

	stranger := near(rng, side, 0.9)
	mp, err := plain.SearchPose(emb(stranger), Pose{Yaw: 90}, 6)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := viewed.SearchPose(emb(stranger), Pose{Yaw: 90}, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mv {
		w := want(stranger, m.PersonID)
		if m.PersonID == "f" {
			w = float64(recognizer.Dot(unitClone(stranger), unitClone(ts[len(ts)-1].Vec)))
		}
		// The cohort statistics come from the int8 scores.
		if math.Abs(float64(m.Score)-w) > 2e-3 {
			t.Errorf("%s scores %v, want %v", m.PersonID, m.Score, w)
		}
	}
	// Every profile scores about 0.72 against the stranger, so plainly
	// the stranger looks like somebody; against the profile cohort they
	// look like nobody in particular.
	if !(mp[0].Score > 0.6 && mv[0].Score < mp[0].Score-0.3) {
		t.Errorf("stranger's best: plain %v, view cohort %v; want it pulled far down", mp[0], mv[0])
	}

	// The person with one template scores the same either way.
	fq := near(rng, ts[len(ts)-1].Vec, 0.7)
	a, _ := plain.SearchPose(emb(fq), Pose{}, 1)
	b, _ := viewed.SearchPose(emb(fq), Pose{}, 1)
	if a[0].PersonID != "f" || a[0].Score != b[0].Score {
		t.Errorf("single-template person: plain %+v, view cohort %+v", a[0], b[0])
	}

	// c seen side-on stands out among the profiles and is still named.
	cq := near(rng, ts[5].Vec, 0.9)
	mc, _ := viewed.SearchPose(emb(cq), Pose{Yaw: 90}, 2)
	if mc[0].PersonID != "c" || !(mc[0].Score > mc[1].Score+0.1) || math.Abs(float64(mc[0].Score)-want(cq, "c")) > 2e-3 {
		t.Errorf("c side-on: %+v, want c clearly first with score %v", mc, want(cq, "c"))
	}
}

func TestViewCohortOption(t *testing.T) {
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := New(testModel, 4, nil, Options{ViewCohortSigma: bad}); err == nil {
			t.Errorf("ViewCohortSigma %v accepted", bad)
		}
	}
}
