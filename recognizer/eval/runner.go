package eval

import (
	"errors"
	"math"
	"path/filepath"

	"github.com/dozor-edge/dozor/recognizer"
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
	var ts []gallery.Template
	dim := 0
	for _, g := range ds.Gallery {
		e := embs[g.Path]
		if e == nil {
			continue
		}
		dim = len(e)
		ts = append(ts, gallery.Template{PersonID: g.ID, TemplateID: g.Path, Vec: e})
	}
	if len(ts) == 0 {
		return IdentifyResult{}, errors.New("no gallery photo yielded a face")
	}
	snap, err := gallery.New(model, dim, ts, gallery.Options{ScoreNorm: opts.ScoreNorm})
	if err != nil {
		return IdentifyResult{}, err
	}
	probes := make([]Probe, 0, len(genuine)+len(ds.Impostor))
	for _, set := range []struct {
		list    []Labeled
		genuine bool
	}{{genuine, true}, {ds.Impostor, false}} {
		for _, l := range set.list {
			p, err := search(snap, model, l, set.genuine, embs[l.Path])
			if err != nil {
				return IdentifyResult{}, err
			}
			probes = append(probes, p)
		}
	}
	if opts.MarginWeight == 0 {
		return Identify(probes)
	}
	return IdentifyWith(probes, MarginStat(opts.MarginWeight))
}

// search turns one probe image's embedding (nil without a face) into a
// Probe with its best candidates.
func search(snap *gallery.Snapshot, model recognizer.ModelID, l Labeled, genuine bool, e []float32) (Probe, error) {
	p := Probe{TrueID: l.ID, Genuine: genuine}
	if e == nil {
		p.NoFace = true
		return p, nil
	}
	ms, err := snap.Search(recognizer.Embedding{Model: model, Vec: e}, searchK)
	if err != nil {
		return p, err
	}
	for _, m := range ms {
		p.Candidates = append(p.Candidates, Candidate{ID: m.PersonID, Score: float64(m.Score)})
	}
	return p, nil
}
