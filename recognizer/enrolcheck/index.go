package enrolcheck

import (
	"fmt"
	"slices"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// rebuildEvery bounds the templates searched one by one before the
// gallery snapshot is rebuilt with them: a rebuild is linear in the
// gallery, so rebuilding for every photo would make a large import
// quadratic, and a linear scan of a few hundred vectors costs less than a
// rebuild.
const rebuildEvery = 256

// Index answers "who else does this face look like" for one model: a
// gallery snapshot built once, plus the templates added since. It is not
// safe for concurrent use.
type Index struct {
	model   recognizer.ModelID
	dim     int
	all     []gallery.Template
	snap    *gallery.Snapshot
	pending []gallery.Template
}

// NewIndex builds an Index of templates of one model; every vector must
// have dim components.
func NewIndex(model recognizer.ModelID, dim int, ts []gallery.Template) (*Index, error) {
	for _, t := range ts {
		if len(t.Vec) != dim {
			return nil, fmt.Errorf("enrolcheck: a %d-component template of model %q where the engine makes %d: not one vector space",
				len(t.Vec), model, dim)
		}
	}
	all := slices.Clone(ts)
	snap, err := gallery.New(model, dim, all, gallery.Options{})
	if err != nil {
		return nil, fmt.Errorf("enrolcheck: %w", err)
	}
	return &Index{model: model, dim: dim, all: all, snap: snap}, nil
}

// Len is the number of templates in the index.
func (x *Index) Len() int { return len(x.all) }

// Add puts a newly enrolled template into the index.
func (x *Index) Add(t gallery.Template) {
	t.Vec = slices.Clone(t.Vec)
	recognizer.Normalize(t.Vec)
	x.all = append(x.all, t)
	x.pending = append(x.pending, t)
	if len(x.pending) < rebuildEvery {
		return
	}
	// The vectors were checked when they were stored, so a rebuild
	// cannot fail; if it ever did, the linear scan keeps covering them.
	if s, err := gallery.New(x.model, x.dim, x.all, gallery.Options{}); err == nil {
		x.snap, x.pending = s, nil
	}
}

// NearestOther returns the most similar person other than self and the
// score; "" when the index holds nobody else.
func (x *Index) NearestOther(emb recognizer.Embedding, self string) (string, float32, error) {
	best, bestScore := "", float32(-2)
	if x.snap.Len() > 0 {
		ms, err := x.snap.Search(emb, 2)
		if err != nil {
			return "", 0, err
		}
		for _, m := range ms {
			if m.PersonID != self {
				best, bestScore = m.PersonID, m.Score
				break
			}
		}
	}
	if len(x.pending) > 0 {
		q := slices.Clone(emb.Vec)
		recognizer.Normalize(q)
		for _, t := range x.pending {
			if t.PersonID == self {
				continue
			}
			s := recognizer.Dot(q, t.Vec)
			if s > bestScore || (s == bestScore && t.PersonID < best) {
				best, bestScore = t.PersonID, s
			}
		}
	}
	return best, bestScore, nil
}
