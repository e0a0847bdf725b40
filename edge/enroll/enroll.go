package enroll

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// Reader is the read-only part of the facility store that List and
// ReadCatalogue use: profiles and biometric metadata, nothing decrypted.
// A store opened without its key provides it.
type Reader interface {
	Persons(ctx context.Context) ([]store.Person, error)
	Photos(ctx context.Context, personID string) ([]store.PhotoInfo, error)
	TemplateModels(ctx context.Context) ([]store.ModelCount, error)
	TemplateCounts(ctx context.Context) ([]store.TemplateCount, error)
}

// Store is the part of the facility store that enrolment uses. It is
// declared here, where it is consumed, so that a test can put a fault in
// front of the real store; *store.Store implements it.
type Store interface {
	Reader
	PutPerson(ctx context.Context, actor string, p store.Person) error
	AddPhoto(ctx context.Context, actor, personID string, image []byte, source string) (string, error)
	PhotosByHash(ctx context.Context, sha256 string) ([]store.PhotoInfo, error)
	Photo(ctx context.Context, actor, id string) ([]byte, error)
	AddTemplate(ctx context.Context, actor string, t store.NewTemplate) (string, error)
	Templates(ctx context.Context, model recognizer.ModelID, actor string) ([]store.Template, error)
	Audit(ctx context.Context, actor, action, object, detail string) error
}

var _ Store = (*store.Store)(nil)

// Decoder turns the bytes of a photo file into a BGR image; any error
// means the file is not a usable image. The production decoder
// (opencv.DecodeImage bound to a maximum side) lives in a cgo package, so
// it is passed in rather than imported.
type Decoder func(data []byte) (*recognizer.Image, error)

// Source is the origin recorded with the photos and templates enrolled
// here.
const Source = "booking photo"

// Status is the outcome for one photo; the statuses are enrolcheck's,
// shared with enrolment at the region.
type Status = enrolcheck.Status

// The statuses, documented in enrolcheck.
const (
	StatusEnrolled        = enrolcheck.StatusEnrolled
	StatusAlreadyEnrolled = enrolcheck.StatusAlreadyEnrolled
	StatusBadImage        = enrolcheck.StatusBadImage
	StatusNoFace          = enrolcheck.StatusNoFace
	StatusSeveralFaces    = enrolcheck.StatusSeveralFaces
	StatusPoorQuality     = enrolcheck.StatusPoorQuality
	StatusSimilar         = enrolcheck.StatusSimilar
	StatusError           = enrolcheck.StatusError
)

// Statuses lists every status in the order reports show them.
var Statuses = enrolcheck.Statuses

// Profile is what an import knows about a person. Fields left empty (a
// nil slice) leave an existing profile's value as it is; an empty
// non-nil slice clears it.
type Profile struct {
	ID string
	// DisplayName of a new profile defaults to its id.
	DisplayName string
	Categories  []string
	WatchLists  []string
}

// Item is one photo to enrol for one person.
type Item struct {
	Profile Profile
	// Path names the photo in results and is read when Data is nil.
	Path string
	Data []byte
	// Line is the CSV line the item came from; 0 otherwise.
	Line int
}

// Result is the outcome for one photo.
type Result struct {
	Person string `json:"person"`
	Image  string `json:"image"`
	Line   int    `json:"line,omitempty"`
	Status Status `json:"status"`
	// Reason explains a refusal, or notes something about an accepted
	// photo (a look-alike enrolled with AllowSimilar).
	Reason string `json:"reason,omitempty"`
	Faces  int    `json:"faces,omitempty"`
	// Quality is the face's quality score in [0,1] (see recognizer.Quality).
	Quality float32 `json:"quality,omitempty"`
	// SimilarTo and Score name the most similar other person when the
	// score reached the threshold.
	SimilarTo  string  `json:"similar_to,omitempty"`
	Score      float32 `json:"score,omitempty"`
	PhotoID    string  `json:"photo_id,omitempty"`
	TemplateID string  `json:"template_id,omitempty"`
	// SHA256 is the hash of the photo as stored, the key of idempotence.
	SHA256 string `json:"sha256,omitempty"`
}

// Progress hears about every finished photo: done of total, and its
// result. It runs on the enrolling goroutine.
type Progress func(done, total int, r Result)

// Options configure an Enroller.
type Options struct {
	// Actor is recorded with every write and read in the audit log.
	Actor string
	// Facility is given to profiles created by the import.
	Facility string
	// Decode decodes photo files; required.
	Decode Decoder
	// Threshold is the similarity to another person at or above which a
	// photo is refused as StatusSimilar. Scores are cosine similarities
	// of the engine's model, so the value depends on the model; zero
	// means DefaultThreshold(engine.Model()).
	Threshold float32
	// AllowSimilar enrols look-alikes anyway; their Result still names
	// the other person and the score.
	AllowSimilar bool
	// Policy gates face quality; the zero value means
	// recognizer.DefaultEnrolPolicy.
	Policy recognizer.QualityPolicy
}

// Enroller enrols photos with one engine into one store. Like the engine
// it owns, it is used by one goroutine at a time.
type Enroller struct {
	st    Store
	eng   recognizer.Engine
	opt   Options
	model recognizer.ModelID

	profiles map[string]store.Person
	// photos lists, per person, the enrolment photos behind their
	// templates of the model.
	photos map[string][]templatePhoto

	// idx answers the look-alike question for the model.
	idx *enrolcheck.Index
	// unchecked counts profiles without a template of the model.
	unchecked int
}

type templatePhoto struct{ template, photo string }

// New loads the profiles and the engine's gallery from the store (an
// audited template read) and returns an Enroller.
func New(ctx context.Context, st Store, eng recognizer.Engine, opt Options) (*Enroller, error) {
	if opt.Actor == "" {
		return nil, errors.New("enroll: no actor given: every enrolment is audited under the name of who made it")
	}
	if opt.Facility == "" {
		return nil, errors.New("enroll: no facility given for new profiles")
	}
	if opt.Decode == nil {
		return nil, errors.New("enroll: no image decoder given")
	}
	model := eng.Model()
	if opt.Threshold == 0 {
		t, ok := DefaultThreshold(model)
		if !ok {
			return nil, fmt.Errorf("enroll: no similarity threshold is known for model %q; set one", model)
		}
		opt.Threshold = t
	}
	if !enrolcheck.CheckThreshold(opt.Threshold) {
		return nil, fmt.Errorf("enroll: similarity threshold %v is not a cosine similarity in (-1, 1]", opt.Threshold)
	}
	if opt.Policy == (recognizer.QualityPolicy{}) {
		opt.Policy = recognizer.DefaultEnrolPolicy
	}
	e := &Enroller{st: st, eng: eng, opt: opt, model: model,
		profiles: map[string]store.Person{}, photos: map[string][]templatePhoto{}}
	// Templates first: profiles are never deleted, so every person with a
	// template is then among the profiles read next, and a photo found
	// already enrolled never makes its profile look new.
	ts, err := st.Templates(ctx, model, opt.Actor)
	if err != nil {
		return nil, fmt.Errorf("enroll: loading the gallery of %s: %w", model, err)
	}
	persons, err := st.Persons(ctx)
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	for _, p := range persons {
		e.profiles[p.ID] = p
	}
	all := make([]gallery.Template, 0, len(ts))
	for _, t := range ts {
		if len(t.Vec) != eng.Dim() {
			return nil, fmt.Errorf("enroll: the store holds %d-component templates of model %q, the engine makes %d: not one vector space",
				len(t.Vec), model, eng.Dim())
		}
		all = append(all, gallery.Template{PersonID: t.PersonID, TemplateID: t.ID, Vec: t.Vec})
		e.photos[t.PersonID] = append(e.photos[t.PersonID], templatePhoto{t.ID, t.PhotoID})
	}
	if e.idx, err = enrolcheck.NewIndex(model, eng.Dim(), all); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	for _, p := range persons {
		if _, ok := e.photos[p.ID]; !ok {
			e.unchecked++
		}
	}
	return e, nil
}

// Model is the embedding model templates are enrolled under.
func (e *Enroller) Model() recognizer.ModelID { return e.model }

// Threshold is the similarity threshold in use.
func (e *Enroller) Threshold() float32 { return e.opt.Threshold }

// Unchecked is the number of profiles that had no template of the model
// when the Enroller was made: new photos cannot be compared with them
// until they are re-embedded (see Reembed).
func (e *Enroller) Unchecked() int { return e.unchecked }

// Run enrols items in order and reports each to progress (which may be
// nil). It stops early, returning the results so far, when ctx is
// cancelled or the store fails in a way that is not about one photo (a
// full disk, say). A summary of the run is audited either way.
func (e *Enroller) Run(ctx context.Context, items []Item, progress Progress) ([]Result, error) {
	results := make([]Result, 0, len(items))
	var runErr error
	for i, it := range items {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		r, err := e.Add(ctx, it)
		results = append(results, r)
		if progress != nil {
			progress(i+1, len(items), r)
		}
		if err != nil {
			runErr = err
			break
		}
	}
	counts := Count(results)
	detail := map[string]any{"images": len(items), "processed": len(results), "threshold": e.opt.Threshold,
		"allow_similar": e.opt.AllowSimilar, "counts": counts}
	if runErr != nil {
		detail["stopped"] = clip(runErr.Error())
	}
	// The summary is written even when the run was cancelled: what was
	// done up to then is part of the record.
	if err := e.audit(context.WithoutCancel(ctx), "enrol.batch", "model:"+string(e.model), detail); err != nil {
		return results, errors.Join(runErr, err)
	}
	return results, runErr
}

// Count tallies results by status.
func Count(results []Result) map[Status]int {
	out := map[Status]int{}
	for _, r := range results {
		out[r.Status]++
	}
	return out
}

// Add enrols one photo. The error is non-nil only when the store failed
// in a way that is not about this photo, or ctx ended; a refused photo is
// a Result with a failing Status and a nil error.
func (e *Enroller) Add(ctx context.Context, it Item) (Result, error) {
	r := Result{Person: it.Profile.ID, Image: it.Path, Line: it.Line}
	refuse := func(s Status, format string, args ...any) (Result, error) {
		r.Status, r.Reason = s, fmt.Sprintf(format, args...)
		return r, nil
	}
	if err := checkID(it.Profile.ID); err != nil {
		return refuse(StatusError, "person id: %v", err)
	}
	data := it.Data
	if data == nil {
		var err error
		if data, err = readPhoto(it.Path); err != nil {
			return refuse(StatusBadImage, "%v", err)
		}
	}

	// The hash is taken over the bytes the store will hold, so that it
	// can be compared with stored photos. Most photos are stored as they
	// are and need no decoding for the comparison.
	var img *recognizer.Image
	stored := data
	if !storable(data) {
		var err error
		if img, err = e.opt.Decode(data); err != nil {
			return refuse(StatusBadImage, "%v", err)
		}
		if stored, err = encodeJPEG(img); err != nil {
			return refuse(StatusBadImage, "re-encoding for storage: %v", err)
		}
	}
	sum := sha256.Sum256(stored)
	r.SHA256 = hex.EncodeToString(sum[:])
	tid, err := e.known(ctx, it.Profile.ID, r.SHA256)
	if err != nil {
		return r, err
	}
	if tid != "" {
		if res, err := e.putProfile(ctx, it.Profile, &r); res || err != nil {
			return r, err
		}
		r.TemplateID = tid
		return refuse(StatusAlreadyEnrolled, "this photo is already enrolled for %s", it.Profile.ID)
	}

	if img == nil {
		if img, err = e.opt.Decode(data); err != nil {
			return refuse(StatusBadImage, "%v", err)
		}
	}
	v := enrolcheck.Check(e.eng, img, e.opt.Policy)
	r.Faces = v.Faces
	if v.Faces == 1 {
		r.Quality = v.Quality.Score
	}
	if !v.OK() {
		return refuse(v.Status, "%s", v.Reason)
	}
	emb := v.Embedding

	other, score, err := e.idx.NearestOther(emb, it.Profile.ID)
	if err != nil {
		return refuse(StatusError, "gallery search: %v", err)
	}
	if other != "" && score >= e.opt.Threshold {
		r.SimilarTo, r.Score = other, score
		if err := e.audit(ctx, "enrol.similar", "person:"+it.Profile.ID, map[string]any{
			"similar_to": other, "score": score, "threshold": e.opt.Threshold, "model": e.model,
			"photo_sha256": r.SHA256, "enrolled": e.opt.AllowSimilar}); err != nil {
			return r, err
		}
		if !e.opt.AllowSimilar {
			return refuse(StatusSimilar, "%s", enrolcheck.SimilarReason(other, score, e.opt.Threshold))
		}
		r.Reason = enrolcheck.SimilarAllowedReason(other, score, e.opt.Threshold)
	}

	// From here the photo is written whole: a cancellation between the
	// photo and its template would leave a photo that no template uses.
	// Run notices the cancellation before the next photo.
	wctx := context.WithoutCancel(ctx)
	if res, err := e.putProfile(wctx, it.Profile, &r); res || err != nil {
		return r, err
	}
	photoID, err := e.st.AddPhoto(wctx, e.opt.Actor, it.Profile.ID, stored, Source)
	if err != nil {
		return e.storeFailure(r, "storing the photo", err)
	}
	r.PhotoID = photoID
	tid, err = e.st.AddTemplate(wctx, e.opt.Actor, store.NewTemplate{PersonID: it.Profile.ID, Model: e.model,
		Vec: emb.Vec, Quality: enrolcheck.TemplateQuality(v.Quality), Source: Source, PhotoID: photoID})
	if err != nil {
		return e.storeFailure(r, "storing the template", err)
	}
	r.TemplateID = tid
	r.Status = StatusEnrolled
	e.photos[it.Profile.ID] = append(e.photos[it.Profile.ID], templatePhoto{tid, photoID})
	e.idx.Add(gallery.Template{PersonID: it.Profile.ID, TemplateID: tid, Vec: emb.Vec})
	return r, nil
}

// storeFailure turns a store error into the photo's result when the store
// refused this input, and into the run's error otherwise.
func (e *Enroller) storeFailure(r Result, what string, err error) (Result, error) {
	r.Status, r.Reason = StatusError, fmt.Sprintf("%s: %v", what, err)
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return r, nil
	}
	return r, fmt.Errorf("enroll: %s for %s: %w", what, r.Person, err)
}

// known returns the template of the model behind an enrolment photo of
// the person with the same SHA-256, or "". The store keeps each photo's
// hash, so the lookup reads metadata only: no photo is decrypted. A photo
// enrolled earlier in this run is found the same way, since it is stored
// before the next one is looked up.
func (e *Enroller) known(ctx context.Context, person, sum string) (string, error) {
	same, err := e.st.PhotosByHash(ctx, sum)
	if err != nil {
		return "", fmt.Errorf("enroll: looking up the photo's hash for %s: %w", person, err)
	}
	for _, p := range same {
		if p.PersonID != person {
			continue
		}
		for _, tp := range e.photos[person] {
			if tp.photo == p.ID {
				return tp.template, nil
			}
		}
	}
	return "", nil
}

// putProfile creates the profile, or updates the fields the import gives
// when they differ from the stored ones. It reports refused when the
// store rejected the profile, with r filled in.
func (e *Enroller) putProfile(ctx context.Context, p Profile, r *Result) (refused bool, err error) {
	cur, exists := e.profiles[p.ID]
	next := cur
	if !exists {
		next = store.Person{ID: p.ID, DisplayName: p.DisplayName, Facility: e.opt.Facility, Status: store.StatusActive,
			Categories: p.Categories, WatchLists: p.WatchLists}
		if next.DisplayName == "" {
			next.DisplayName = p.ID
		}
	} else {
		changed := false
		if p.DisplayName != "" && p.DisplayName != cur.DisplayName {
			next.DisplayName, changed = p.DisplayName, true
		}
		if p.Categories != nil && !sameSet(p.Categories, cur.Categories) {
			next.Categories, changed = p.Categories, true
		}
		if p.WatchLists != nil && !sameSet(p.WatchLists, cur.WatchLists) {
			next.WatchLists, changed = p.WatchLists, true
		}
		if !changed {
			return false, nil
		}
	}
	if err := e.st.PutPerson(ctx, e.opt.Actor, next); err != nil {
		res, err := e.storeFailure(*r, "storing the profile", err)
		*r = res
		return err == nil, err
	}
	next.Categories, next.WatchLists = normSet(next.Categories), normSet(next.WatchLists)
	e.profiles[p.ID] = next
	return false, nil
}

func (e *Enroller) audit(ctx context.Context, action, object string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("enroll: audit %s: %w", action, err)
	}
	if err := e.st.Audit(ctx, e.opt.Actor, action, object, string(b)); err != nil {
		return fmt.Errorf("enroll: audit %s: %w", action, err)
	}
	return nil
}

// clip shortens an error quoted in an audit detail, which the store
// bounds (store.MaxNoteBytes).
func clip(s string) string {
	const max = 1000
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// sameSet compares token lists as the store keeps them: sorted, without
// duplicates.
func sameSet(a, b []string) bool { return slices.Equal(normSet(a), normSet(b)) }

func normSet(v []string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}
