package gallery

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/dozor-edge/dozor/recognizer"
)

const (
	// DefaultCohortSize is the cohort sampled for score normalisation when
	// Options.CohortSize is zero.
	DefaultCohortSize = 500
	// MaxDim is the largest supported embedding dimension; it keeps every
	// integer dot product of quantised codes within int32.
	MaxDim = 1 << 16
	// MinSigma floors the cohort standard deviation so that a degenerate
	// cohort (one template, or identical ones) cannot divide by zero.
	MinSigma = 1e-3
)

// Reasons a template or query vector is rejected; errors returned by New
// and Search wrap them.
var (
	ErrNoPerson  = errors.New("empty PersonID")
	ErrLength    = errors.New("vector length differs from the gallery dimension")
	ErrNotFinite = errors.New("vector has a NaN or infinite component")
	ErrZeroNorm  = errors.New("vector norm is zero or too small to normalise")
)

// TemplateError says which template New rejected and why.
type TemplateError struct {
	Index      int // position in the slice given to New
	PersonID   string
	TemplateID string
	Err        error // wraps one of the Err* reasons
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("gallery: template %d (person %q, template %q): %v", e.Index, e.PersonID, e.TemplateID, e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }

// Template is one enrolled face of a person. A person may have several.
type Template struct {
	PersonID   string
	TemplateID string
	Vec        []float32
	// Pose is the head pose of the enrolment photo, nil when unknown. It
	// lets SearchPose weigh a person's templates by how close their pose
	// is to the query's.
	Pose *Pose
}

// Options tune a Snapshot. The zero value gives raw cosine scores.
type Options struct {
	// ScoreNorm ranks by the per-template normalised score (s − μ_t)/σ_t,
	// where μ_t and σ_t are the mean and standard deviation of template t's
	// similarity to a cohort of other persons' templates. The statistics are
	// taken from the int8 codes, which keeps building a 100k gallery to
	// about a second; averaged over the cohort their error is about 1e-4,
	// far below σ_t, and they are the same on every architecture.
	ScoreNorm bool
	// CohortSize is how many templates form the cohort; zero means
	// DefaultCohortSize. A gallery no larger than this uses all of its
	// templates, otherwise a fixed pseudo-random sample, so rebuilding the
	// same gallery gives the same statistics. Each template's own person is
	// left out of its cohort.
	CohortSize int
	// Aggregation turns the scores of a person's templates into that
	// person's score; the zero value is DefaultAggregation. A person with
	// one template scores that template, whatever the rule.
	Aggregation Aggregation
	// PoseSigma, in degrees, is the spread of PoseWeight that SearchPose
	// uses to weigh a person's templates; 0 weighs them alike.
	PoseSigma float64
	// ViewCohortSigma, in degrees, makes SearchPose standardise each
	// template of a person with several templates by the query's scores
	// against a cohort of other persons' templates, weighted by
	// PoseWeight of their poses with this spread, and map it back onto the
	// scale of the person's most frontal template. A profile template
	// that every side-on face resembles then counts for how much the query
	// stands out among other people's profiles, not for its raw score.
	// Persons with one template, templates of unknown pose and each
	// person's most frontal template keep their scores. The cohort is the
	// one of ScoreNorm (CohortSize); 0 turns this off.
	ViewCohortSigma float64
}

// Snapshot is an immutable, searchable set of templates of one model. It is
// safe for concurrent use.
type Snapshot struct {
	model     recognizer.ModelID
	dim       int
	stride    int // bytes per quantised row: dim rounded up to codeAlign
	n         int
	rows      int // n rounded up to a whole quad; the extra rows are zero
	block     int // rows scored per kernel call, sized to stay in L2
	scoreNorm bool

	personIDs []string // by person index, in order of first appearance
	person    []int32  // person index of each template
	ids       []string // TemplateID of each template
	vecs      []float32
	codes     []int8 // quad-interleaved, see kernel.go

	// The approximate score of template t is dot·mult[t]·queryScale +
	// off[t]; its error is at most errW[t]·‖q‖ + codeW[t]·‖q − q̂‖ + slack.
	mult         []float64
	off          []float64 // nil without ScoreNorm
	errW, codeW  []float64
	errMax       float64
	codeMax      float64
	slack        float64
	mu, sigma    []float64 // nil without ScoreNorm
	cohortLength int

	// A person with several templates is scored by agg over members, its
	// templates; with one template per person the search ranks by the
	// best template, which is the same thing and needs no aggregation.
	agg       Aggregation
	multi     bool
	members   [][]int32 // template indices by person
	poses     []Pose
	hasPose   []bool
	poseSigma float64
	view      *viewNorm // nil without ViewCohortSigma
}

// New builds a snapshot of templates produced by model, each of length dim.
// Vectors are copied and renormalised to unit length; a template without a
// PersonID, of the wrong length, with NaN or infinite components or with a
// zero norm is rejected with a *TemplateError. An empty ts gives an empty,
// searchable snapshot.
func New(model recognizer.ModelID, dim int, ts []Template, opt Options) (*Snapshot, error) {
	if dim <= 0 || dim > MaxDim {
		return nil, fmt.Errorf("gallery: dimension %d is outside 1..%d", dim, MaxDim)
	}
	if opt.CohortSize < 0 {
		return nil, fmt.Errorf("gallery: negative cohort size %d", opt.CohortSize)
	}
	if err := opt.Aggregation.validate(); err != nil {
		return nil, err
	}
	if !(opt.PoseSigma >= 0) || math.IsInf(opt.PoseSigma, 0) {
		return nil, fmt.Errorf("gallery: pose sigma %v, want a finite value >= 0", opt.PoseSigma)
	}
	if !(opt.ViewCohortSigma >= 0) || math.IsInf(opt.ViewCohortSigma, 0) {
		return nil, fmt.Errorf("gallery: view cohort sigma %v, want a finite value >= 0", opt.ViewCohortSigma)
	}
	n := len(ts)
	stride := roundUp(dim, codeAlign)
	s := &Snapshot{
		model:     model,
		dim:       dim,
		stride:    stride,
		n:         n,
		rows:      roundUp(n, quad),
		block:     max(quad, (128<<10)/stride/quad*quad),
		scoreNorm: opt.ScoreNorm,
		person:    make([]int32, n),
		ids:       make([]string, n),
		vecs:      make([]float32, n*dim),
		agg:       opt.Aggregation.resolve(),
		poses:     make([]Pose, n),
		hasPose:   make([]bool, n),
		poseSigma: opt.PoseSigma,
	}
	index := make(map[string]int32)
	for i, t := range ts {
		fail := func(err error) error {
			return &TemplateError{Index: i, PersonID: t.PersonID, TemplateID: t.TemplateID, Err: err}
		}
		if t.PersonID == "" {
			return nil, fail(ErrNoPerson)
		}
		if len(t.Vec) != dim {
			return nil, fail(fmt.Errorf("%w: got %d, want %d", ErrLength, len(t.Vec), dim))
		}
		v := s.vecs[i*dim : (i+1)*dim]
		copy(v, t.Vec)
		if err := unitize(v); err != nil {
			return nil, fail(err)
		}
		p, ok := index[t.PersonID]
		if !ok {
			p = int32(len(s.personIDs))
			index[t.PersonID] = p
			s.personIDs = append(s.personIDs, t.PersonID)
		}
		s.person[i] = p
		s.ids[i] = t.TemplateID
		if t.Pose != nil {
			s.poses[i], s.hasPose[i] = *t.Pose, true
		}
	}
	s.members = make([][]int32, len(s.personIDs))
	for i, p := range s.person {
		s.members[p] = append(s.members[p], int32(i))
		s.multi = s.multi || len(s.members[p]) > 1
	}

	s.codes = make([]int8, s.rows*stride)
	scales := make([]float32, n)
	errN := make([]float64, n)
	codeN := make([]float64, n)
	row := make([]int8, stride)
	for i := range n {
		scales[i], errN[i], codeN[i] = quantise(s.vecs[i*dim:(i+1)*dim], row)
		putRow(s.codes, stride, i, row)
	}

	s.mult = make([]float64, s.rows)
	s.errW = make([]float64, n)
	s.codeW = make([]float64, n)
	// yMax bounds |approximate score| + |offset|; the slack covers float64
	// rounding in the scan and in the exact rescoring, which grows with the
	// size of the scores and with dim. It is orders of magnitude above that
	// rounding and far below the quantisation bound, so it only makes the
	// intervals safe, never noticeably wider.
	yMax := 2.0
	if opt.ScoreNorm {
		size := opt.CohortSize
		if size == 0 {
			size = DefaultCohortSize
		}
		s.mu, s.sigma, s.cohortLength = s.cohortStats(size, scales)
		s.off = make([]float64, s.rows)
		for i := range n {
			inv := 1 / s.sigma[i]
			s.mult[i] = float64(scales[i]) * inv
			s.off[i] = -s.mu[i] * inv
			s.errW[i] = errN[i] * inv
			s.codeW[i] = codeN[i] * inv
			yMax = max(yMax, (2+math.Abs(s.mu[i]))*inv)
		}
	} else {
		for i := range n {
			s.mult[i] = float64(scales[i])
			s.errW[i] = errN[i]
			s.codeW[i] = codeN[i]
		}
	}
	for i := range n {
		s.errMax = max(s.errMax, s.errW[i])
		s.codeMax = max(s.codeMax, s.codeW[i])
	}
	s.slack = (1e-7 + float64(dim)*1e-13) * (1 + yMax)
	if opt.ViewCohortSigma > 0 && s.multi {
		size := opt.CohortSize
		if size == 0 {
			size = DefaultCohortSize
		}
		s.view = s.newViewNorm(opt.ViewCohortSigma, size)
	}
	return s, nil
}

// unitize scales v to unit length in place.
func unitize(v []float32) error {
	// Squares of float32 values cannot overflow float64, so the sum is
	// finite exactly when every component is.
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.IsNaN(ss) || math.IsInf(ss, 0) {
		return ErrNotFinite
	}
	if recognizer.Normalize(v) == 0 {
		return ErrZeroNorm
	}
	// A norm near the float32 limits leaves the scaled vector non-finite or
	// visibly off unit length.
	ss = 0
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.IsNaN(ss) || math.IsInf(ss, 0) || math.Abs(math.Sqrt(ss)-1) > 1e-4 {
		return ErrZeroNorm
	}
	return nil
}

// quantise writes the int8 codes of v into code (zero-padded to its length)
// and returns the scale, ‖v − v̂‖ and ‖v̂‖ where v̂ = scale·code.
func quantise(v []float32, code []int8) (scale float32, errNorm, codeNorm float64) {
	clear(code)
	var peak float32
	for _, x := range v {
		// Clearing the sign bit avoids a branch on the sign, which is a coin
		// toss for embeddings and mispredicts half the time.
		if a := math.Float32frombits(math.Float32bits(x) &^ (1 << 31)); a > peak {
			peak = a
		}
	}
	if peak == 0 {
		return 0, 0, 0
	}
	scale = peak / 127
	inv := 1 / float64(scale)
	var e, c float64
	for i, x := range v {
		q := math.Round(float64(x) * inv)
		if q > 127 {
			q = 127
		} else if q < -127 {
			q = -127
		}
		code[i] = int8(q)
		// scale·q has at most 31 significant bits, so it and the difference
		// are exact in float64.
		r := float64(scale) * q
		d := float64(x) - r
		e += d * d
		c += r * r
	}
	return scale, math.Sqrt(e), math.Sqrt(c)
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// Len is the number of templates.
func (s *Snapshot) Len() int { return s.n }

// Persons is the number of distinct persons.
func (s *Snapshot) Persons() int { return len(s.personIDs) }

// Model is the embedding model of every template.
func (s *Snapshot) Model() recognizer.ModelID { return s.model }

// Dim is the embedding length.
func (s *Snapshot) Dim() int { return s.dim }

// Aggregation is the rule that scores a person with several templates.
func (s *Snapshot) Aggregation() Aggregation { return s.agg }

// ScoreNorm reports whether Match.Score is the normalised score.
func (s *Snapshot) ScoreNorm() bool { return s.scoreNorm }

// Holder publishes the current snapshot. Readers call Load for every search
// and never block; a writer builds a new snapshot and calls Swap. The zero
// Holder holds nil.
type Holder struct {
	p atomic.Pointer[Snapshot]
}

// NewHolder returns a Holder that starts with s.
func NewHolder(s *Snapshot) *Holder {
	h := new(Holder)
	h.p.Store(s)
	return h
}

// Load returns the current snapshot, nil if none was stored.
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Swap publishes s and returns the snapshot it replaces. Searches that
// already loaded the old one finish on it.
func (h *Holder) Swap(s *Snapshot) (old *Snapshot) { return h.p.Swap(s) }
