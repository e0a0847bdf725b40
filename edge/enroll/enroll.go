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

// Status is the outcome for one photo.
type Status string

const (
	// StatusEnrolled: the photo and a template of it were stored.
	StatusEnrolled Status = "enrolled"
	// StatusAlreadyEnrolled: the same photo (by SHA-256) is already
	// behind a template of this person and model; nothing was written.
	StatusAlreadyEnrolled Status = "already_enrolled"
	// StatusBadImage: the file could not be read or decoded.
	StatusBadImage Status = "bad_image"
	// StatusNoFace: the engine found no face.
	StatusNoFace Status = "no_face"
	// StatusSeveralFaces: more than one face; refused as ambiguous.
	StatusSeveralFaces Status = "several_faces"
	// StatusPoorQuality: the face fails the enrolment quality policy;
	// Result.Reason says why.
	StatusPoorQuality Status = "poor_quality"
	// StatusSimilar: the face looks like another enrolled person at or
	// above the threshold (Result.SimilarTo, Result.Score); not enrolled.
	StatusSimilar Status = "similar"
	// StatusError: the store refused the profile or the engine failed on
	// this photo; Result.Reason has the error.
	StatusError Status = "error"
)

// Statuses lists every status in the order reports show them.
var Statuses = []Status{StatusEnrolled, StatusAlreadyEnrolled, StatusBadImage, StatusNoFace,
	StatusSeveralFaces, StatusPoorQuality, StatusSimilar, StatusError}

// Failed reports whether the photo ended without a template.
func (s Status) Failed() bool { return s != StatusEnrolled && s != StatusAlreadyEnrolled }

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

// rebuildEvery bounds the templates searched one by one before the
// gallery snapshot is rebuilt with them: a rebuild is linear in the
// gallery, so rebuilding for every photo would make a large import
// quadratic, and a linear scan of a few hundred vectors costs less than a
// rebuild.
const rebuildEvery = 256

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

	all     []gallery.Template
	snap    *gallery.Snapshot
	pending []gallery.Template
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
	if !(opt.Threshold > -1 && opt.Threshold <= 1) {
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
	e.all = make([]gallery.Template, 0, len(ts))
	for _, t := range ts {
		if len(t.Vec) != eng.Dim() {
			return nil, fmt.Errorf("enroll: the store holds %d-component templates of model %q, the engine makes %d: not one vector space",
				len(t.Vec), model, eng.Dim())
		}
		e.all = append(e.all, gallery.Template{PersonID: t.PersonID, TemplateID: t.ID, Vec: t.Vec})
		e.photos[t.PersonID] = append(e.photos[t.PersonID], templatePhoto{t.ID, t.PhotoID})
	}
	if e.snap, err = gallery.New(model, eng.Dim(), e.all, gallery.Options{}); err != nil {
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
	faces, err := e.eng.Detect(img)
	if err != nil {
		return refuse(StatusError, "face detection: %v", err)
	}
	r.Faces = len(faces)
	switch len(faces) {
	case 0:
		return refuse(StatusNoFace, "no face found")
	case 1:
	default:
		return refuse(StatusSeveralFaces, "%d faces: a booking photo must show the one person it enrols; crop it to that face", len(faces))
	}
	q := assess(faces[0], e.opt.Policy)
	r.Quality = q.Score
	if !q.Usable() {
		return refuse(StatusPoorQuality, "%s", q.Reason)
	}
	emb, err := embedOne(e.eng, img, faces[0])
	if err != nil {
		return refuse(StatusError, "%v", err)
	}

	other, score, err := e.nearestOther(emb, it.Profile.ID)
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
			return refuse(StatusSimilar, "looks like %s (score %.3f, threshold %.3f): a second profile of one person, or a swapped photo",
				other, score, e.opt.Threshold)
		}
		r.Reason = fmt.Sprintf("looks like %s (score %.3f, threshold %.3f); enrolled because look-alikes were allowed",
			other, score, e.opt.Threshold)
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
		Vec: emb.Vec, Quality: min(1, max(0, q.Score)), Source: Source, PhotoID: photoID})
	if err != nil {
		return e.storeFailure(r, "storing the template", err)
	}
	r.TemplateID = tid
	r.Status = StatusEnrolled
	e.photos[it.Profile.ID] = append(e.photos[it.Profile.ID], templatePhoto{tid, photoID})
	e.addToGallery(gallery.Template{PersonID: it.Profile.ID, TemplateID: tid, Vec: emb.Vec})
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

// nearestOther returns the most similar person other than self and the
// score, searching the snapshot and the templates added since.
func (e *Enroller) nearestOther(emb recognizer.Embedding, self string) (string, float32, error) {
	best, bestScore := "", float32(-2)
	if e.snap.Len() > 0 {
		ms, err := e.snap.Search(emb, 2)
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
	if len(e.pending) > 0 {
		q := slices.Clone(emb.Vec)
		recognizer.Normalize(q)
		for _, t := range e.pending {
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

func (e *Enroller) addToGallery(t gallery.Template) {
	t.Vec = slices.Clone(t.Vec)
	recognizer.Normalize(t.Vec)
	e.all = append(e.all, t)
	e.pending = append(e.pending, t)
	if len(e.pending) < rebuildEvery {
		return
	}
	// The vectors were checked when they were stored, so a rebuild
	// cannot fail; if it ever did, the linear scan keeps covering them.
	if s, err := gallery.New(e.model, e.eng.Dim(), e.all, gallery.Options{}); err == nil {
		e.snap, e.pending = s, nil
	}
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

// assess applies the enrolment policy to a detected face, reusing the
// sharpness the engine measured on the aligned chip. An engine that does
// not assess quality (the go-face engine leaves Quality zero) has no
// sharpness to offer; its faces are gated on size, pose and detector
// score only, rather than refused as blurred for want of a measurement.
func assess(f recognizer.Face, p recognizer.QualityPolicy) recognizer.Quality {
	if f.Quality == (recognizer.Quality{}) {
		p.MinSharpness = 0
	}
	return recognizer.AssessQuality(f, f.Quality.Sharpness, p)
}

// embedOne embeds one face and checks that the engine kept to its model.
func embedOne(eng recognizer.Engine, img *recognizer.Image, f recognizer.Face) (recognizer.Embedding, error) {
	embs, err := eng.Embed(img, []recognizer.Face{f})
	if err != nil {
		return recognizer.Embedding{}, fmt.Errorf("embedding: %w", err)
	}
	if len(embs) != 1 || embs[0].Model != eng.Model() || len(embs[0].Vec) != eng.Dim() {
		return recognizer.Embedding{}, fmt.Errorf("embedding: the engine returned %d embeddings, not one %d-component vector of model %q",
			len(embs), eng.Dim(), eng.Model())
	}
	return embs[0], nil
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
