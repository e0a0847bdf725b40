package eval

import (
	"errors"
	"math"
	"path/filepath"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// Variant is one engine configuration under test (a model, with or
// without mirrored chips, fusion weights): it turns an image's cached
// Features into the embedding that configuration would produce.
type Variant interface {
	Model() recognizer.ModelID
	// Embed returns nil when the image has no usable face.
	Embed(Features) []float32
}

// Name is the data set's folder name, as reports and tables show it.
func (d *Dataset) Name() string { return filepath.Base(filepath.Clean(d.Dir)) }

// Embeddings embeds every image's features with v; images without a face
// map to nil.
func Embeddings(feats map[string]Features, v Variant) map[string][]float32 {
	out := make(map[string][]float32, len(feats))
	for p, f := range feats {
		if f.NoFace {
			out[p] = nil
			continue
		}
		out[p] = v.Embed(f)
	}
	return out
}

// VerifyDataset scores every pair of the data set by cosine similarity
// and runs the verification protocol (Verify). A pair with an image
// missing from embs, or without a face, scores NaN.
func VerifyDataset(ds *Dataset, embs map[string][]float32) (VerifyResult, error) {
	return Verify(ds.Pairs, pairScores(ds.Pairs, embs), ds.Folds)
}

func pairScores(pairs []Pair, embs map[string][]float32) []float64 {
	scores := make([]float64, len(pairs))
	for i, p := range pairs {
		a, b := embs[p.A], embs[p.B]
		if a == nil || b == nil {
			scores[i] = math.NaN()
			continue
		}
		scores[i] = float64(recognizer.Dot(a, b))
	}
	return scores
}

// DefaultMarginWeight is the λ of the decision score top1 + λ·(top1 −
// top2). A margin term should penalise a probe that resembles two
// enrolled people alike, but on the development sets it moved FNIR at
// FPIR 1% by about one probe either way (README, "Accuracy"), so the plain
// top score is used.
const DefaultMarginWeight = 0

// searchK is how many distinct people each probe search returns: the
// margin statistic needs the runner-up, nothing uses more.
const searchK = 5

// IdentifyOptions set up open-set identification over a data set.
type IdentifyOptions struct {
	// Genuine is the genuine-probe list in identification/; "" means
	// GenuineFile.
	Genuine string
	// ScoreNorm normalises each gallery template's scores by its cohort
	// statistics (gallery.Options.ScoreNorm).
	ScoreNorm bool
	// MarginWeight is λ in the decision score top1 + λ·(top1 − top2);
	// 0 is the plain top score.
	MarginWeight float64
	// Gallery is the enrolment list; nil means the data set's own. A
	// person may have several images (see Views).
	Gallery []Labeled
	// Aggregation scores a person with several templates; the zero value
	// is the gallery's default (gallery.DefaultAggregation).
	Aggregation gallery.Aggregation
	// PoseSigma weighs each template by the closeness of its pose to the
	// probe's (gallery.Options.PoseSigma); it needs Faces.
	PoseSigma float64
	// ViewCohortSigma standardises the templates of persons with several
	// templates against other persons' templates of similar pose
	// (gallery.Options.ViewCohortSigma); it needs Faces.
	ViewCohortSigma float64
	// Faces holds each image's labelled face, for poses and the
	// usability gate.
	Faces map[string]recognizer.Face
	// Usable, when set, is the usability gate: a probe whose face it
	// rejects is never identified (a miss when genuine, never a false
	// positive), and the result also reports the usable probes alone.
	// It needs Faces.
	Usable func(recognizer.Face) bool
	// Enrollable, when set, is the enrolment check: a gallery photo whose
	// face it rejects is not enrolled, as the booking desk would refuse
	// it. It needs Faces.
	Enrollable func(recognizer.Face) bool
}

// DefaultEnrollable is the production enrolment quality check
// (recognizer.DefaultEnrolPolicy) on a data-set face.
func DefaultEnrollable(f recognizer.Face) bool {
	return enrolcheck.Assess(f, recognizer.DefaultEnrolPolicy).Reason == ""
}

// DefaultUsable is the production usability gate on a data-set face: the
// sharpness is the one the detector measured for the face.
func DefaultUsable(f recognizer.Face) bool {
	return recognizer.DefaultUsablePolicy.Check(f, f.Quality.Sharpness).Usable
}

// FacesOf returns each image's labelled face; images without one are
// left out.
func FacesOf(feats map[string]Features) map[string]recognizer.Face {
	out := make(map[string]recognizer.Face, len(feats))
	for p, f := range feats {
		if !f.NoFace {
			out[p] = f.Face
		}
	}
	return out
}

// poseOf estimates the head pose of an image's face from its landmarks.
func poseOf(faces map[string]recognizer.Face, path string) (gallery.Pose, bool) {
	f, ok := faces[path]
	if !ok {
		return gallery.Pose{}, false
	}
	yaw, pitch, _ := recognizer.EstimatePose(f.Landmarks)
	return gallery.Pose{Yaw: yaw, Pitch: pitch}, true
}

// IdentifyDataset enrols the data set's gallery in a gallery.Snapshot of
// the given model, searches it with every genuine probe (from
// opts.Genuine) and every impostor probe (never enrolled), and runs the
// identification protocol (Identify). An enrolment photo without a face
// enrols nobody, as at a real booking desk; that person's probes then
// count as misses.
func IdentifyDataset(ds *Dataset, model recognizer.ModelID, embs map[string][]float32, opts IdentifyOptions) (IdentifyResult, error) {
	list := opts.Genuine
	if list == "" {
		list = GenuineFile
	}
	genuine, err := ds.LoadGenuine(list)
	if err != nil {
		return IdentifyResult{}, err
	}
	enrol := opts.Gallery
	if enrol == nil {
		enrol = ds.Gallery
	}
	var ts []gallery.Template
	dim := 0
	for _, g := range enrol {
		e := embs[g.Path]
		if e == nil {
			continue
		}
		if f, ok := opts.Faces[g.Path]; opts.Enrollable != nil && (!ok || !opts.Enrollable(f)) {
			continue
		}
		dim = len(e)
		t := gallery.Template{PersonID: g.ID, TemplateID: g.Path, Vec: e}
		if pose, ok := poseOf(opts.Faces, g.Path); ok {
			t.Pose = &pose
		}
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return IdentifyResult{}, errors.New("no gallery photo yielded a face")
	}
	snap, err := gallery.New(model, dim, ts, gallery.Options{ScoreNorm: opts.ScoreNorm, Aggregation: opts.Aggregation,
		PoseSigma: opts.PoseSigma, ViewCohortSigma: opts.ViewCohortSigma})
	if err != nil {
		return IdentifyResult{}, err
	}
	probes := make([]Probe, 0, len(genuine)+len(ds.Impostor))
	var usable []Probe
	for _, set := range []struct {
		list    []Labeled
		genuine bool
	}{{genuine, true}, {ds.Impostor, false}} {
		for _, l := range set.list {
			e := embs[l.Path]
			pose, _ := poseOf(opts.Faces, l.Path)
			p, err := search(snap, model, l, set.genuine, e, pose)
			if err != nil {
				return IdentifyResult{}, err
			}
			if opts.Usable != nil && !p.NoFace {
				if f, ok := opts.Faces[l.Path]; ok && opts.Usable(f) {
					usable = append(usable, p)
				} else {
					p.Candidates = nil // the gate says nobody
				}
			}
			probes = append(probes, p)
		}
	}
	stat := TopScore
	if opts.MarginWeight != 0 {
		stat = MarginStat(opts.MarginWeight)
	}
	r, err := IdentifyWith(probes, stat)
	if err != nil || opts.Usable == nil {
		return r, err
	}
	r.Gated, r.UsableProbes = true, len(usable)
	if u, err := IdentifyWith(usable, stat); err == nil {
		r.OverUsable = &u
	}
	return r, nil
}

// search turns one probe image's embedding (nil without a face) into a
// Probe with its best candidates; pose is the probe's head pose, which
// the snapshot uses when it weighs templates by pose.
func search(snap *gallery.Snapshot, model recognizer.ModelID, l Labeled, genuine bool, e []float32, pose gallery.Pose) (Probe, error) {
	p := Probe{TrueID: l.ID, Genuine: genuine}
	if e == nil {
		p.NoFace = true
		return p, nil
	}
	ms, err := snap.SearchPose(recognizer.Embedding{Model: model, Vec: e}, pose, searchK)
	if err != nil {
		return p, err
	}
	for _, m := range ms {
		p.Candidates = append(p.Candidates, Candidate{ID: m.PersonID, Score: float64(m.Score)})
	}
	return p, nil
}
