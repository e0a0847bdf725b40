package enrol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
	"github.com/dozor-edge/dozor/recognizer/gallery"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

// Status is the verdict for one photo (enrolcheck's statuses).
type Status = enrolcheck.Status

// Source is the origin recorded with the photos and templates enrolled
// here.
const Source = "region enrolment"

// Limits of one call.
const (
	// MaxPhotos bounds the photos of one call.
	MaxPhotos = 16
	// MaxPhotoBytes bounds an uploaded photo file.
	MaxPhotoBytes = 16 << 20
	// MaxSide is the longer side photos are decoded to at most: the
	// detector works at 640, and the embedders' chips gain nothing
	// beyond.
	MaxSide = 1280
)

// Store is the part of the region's store that enrolment uses;
// store.Store implements it.
type Store interface {
	Person(ctx context.Context, id string) (store.Person, error)
	Templates(ctx context.Context, actor, model string) ([]store.Template, error)
	Enrol(ctx context.Context, actor string, e store.Enrolment) (store.EnrolResult, error)
	Audit(ctx context.Context, actor, action, object, detail string) error
}

// Decoder turns the bytes of a photo file into a BGR image; any error
// means the file is not a usable image (opencv.DecodeImage bound to
// MaxSide in production).
type Decoder func(data []byte) (*recognizer.Image, error)

// Config configures an Enroller.
type Config struct {
	Store  Store
	Engine recognizer.Engine
	Decode Decoder
	// Threshold is the similarity to another person at or above which a
	// photo is refused; zero means enrolcheck.DefaultThreshold of the
	// engine's model.
	Threshold float32
	// Policy gates face quality; zero means recognizer.DefaultEnrolPolicy.
	Policy recognizer.QualityPolicy
}

// Profile is the person a call enrols. For a person the region already
// holds, empty fields (a nil slice) keep the stored value.
type Profile struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"display_name,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	WatchLists  []string `json:"watch_lists,omitempty"`
	// Facility is the site that holds the person; required for a new
	// person, and for a held person only to repeat it (a move is a
	// transfer).
	Facility string `json:"facility,omitempty"`
}

// Photo is one uploaded photo file.
type Photo struct {
	// Name names the photo in the results (the file name).
	Name string
	Data []byte
}

// Result is the verdict for one photo, in the order given.
type Result struct {
	Image  string `json:"image"`
	Status Status `json:"status"`
	// Reason explains a refusal.
	Reason string `json:"reason,omitempty"`
	Faces  int    `json:"faces,omitempty"`
	// Quality is the face's quality score in [0,1].
	Quality float32 `json:"quality,omitempty"`
	// SimilarTo and Score name the most similar other person when the
	// score reached the threshold.
	SimilarTo string  `json:"similar_to,omitempty"`
	Score     float32 `json:"score,omitempty"`
	// SHA256 is the hash of the photo as stored.
	SHA256 string `json:"sha256,omitempty"`
}

// Enroller enrols photos with one engine into the region's store.
type Enroller struct {
	cfg   Config
	model string

	// mu serialises calls: the engine serves one goroutine at a time.
	mu sync.Mutex
}

// New checks cfg and returns an Enroller.
func New(cfg Config) (*Enroller, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("enrol: no store")
	case cfg.Engine == nil:
		return nil, errors.New("enrol: no engine")
	case cfg.Decode == nil:
		return nil, errors.New("enrol: no image decoder")
	}
	model := cfg.Engine.Model()
	if cfg.Threshold == 0 {
		t, ok := enrolcheck.DefaultThreshold(model)
		if !ok {
			return nil, fmt.Errorf("enrol: no similarity threshold is known for model %q; set one", model)
		}
		cfg.Threshold = t
	}
	if !enrolcheck.CheckThreshold(cfg.Threshold) {
		return nil, fmt.Errorf("enrol: similarity threshold %v is not a cosine similarity in (-1, 1]", cfg.Threshold)
	}
	if cfg.Policy == (recognizer.QualityPolicy{}) {
		cfg.Policy = recognizer.DefaultEnrolPolicy
	}
	return &Enroller{cfg: cfg, model: string(model)}, nil
}

// Model is the embedding model templates are enrolled under.
func (e *Enroller) Model() string { return e.model }

// Threshold is the look-alike threshold in use.
func (e *Enroller) Threshold() float32 { return e.cfg.Threshold }

// Enrol checks every photo and writes the accepted ones, with the
// profile, in one transaction; it returns one Result per photo. A profile
// or photo list that is not acceptable is an error wrapping
// store.ErrInvalid, naming the field, and nothing is checked. A refusal
// of the store (a facility change outside a transfer, say) turns the
// accepted photos into StatusError with its reason. The error is
// otherwise non-nil only when the store failed or ctx ended; nothing was
// written then.
func (e *Enroller) Enrol(ctx context.Context, actor string, p Profile, photos []Photo) ([]Result, error) {
	if err := checkInput(actor, p, photos); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()

	cur, err := e.cfg.Store.Person(ctx, p.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("enrol: reading person %s: %w", p.ID, err)
	}
	if !exists && p.Facility == "" {
		return nil, fmt.Errorf("enrol: facility: required for a new person: %w", store.ErrInvalid)
	}
	idx, enrolled, err := e.gallery(ctx, actor, p.ID)
	if err != nil {
		return nil, err
	}

	results := make([]Result, len(photos))
	var (
		accepted  []int // indexes into photos of the photos to write
		newPhotos []store.NewPhoto
		templates []store.Template
	)
	for i, ph := range photos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, jpeg, emb, q := e.check(ph, p.ID, idx, enrolled)
		if r.Status == enrolcheck.StatusSimilar {
			if err := e.audit(ctx, actor, "enrol.similar", "person:"+p.ID, map[string]any{
				"similar_to": r.SimilarTo, "score": r.Score, "threshold": e.cfg.Threshold, "model": e.model,
				"photo_sha256": r.SHA256, "enrolled": false}); err != nil {
				return nil, err
			}
		}
		results[i] = r
		if r.Status != enrolcheck.StatusEnrolled {
			continue
		}
		// Accepted: a second copy of it later in the call is already
		// enrolled, and a later photo of someone else is compared with it.
		enrolled[r.SHA256] = true
		idx.Add(gallery.Template{PersonID: p.ID, TemplateID: r.SHA256, Vec: emb.Vec})
		accepted = append(accepted, i)
		newPhotos = append(newPhotos, store.NewPhoto{JPEG: jpeg, Source: Source})
		templates = append(templates, store.Template{Person: p.ID, PhotoSHA256: r.SHA256, Model: e.model,
			Vec: emb.Vec, Quality: enrolcheck.TemplateQuality(q), Source: Source})
	}
	if len(accepted) > 0 {
		en := store.Enrolment{Person: profile(p, cur, exists), Photos: newPhotos, Templates: templates}
		if _, err := e.cfg.Store.Enrol(context.WithoutCancel(ctx), actor, en); err != nil {
			if !refusal(err) {
				return nil, fmt.Errorf("enrol: storing %s: %w", p.ID, err)
			}
			for _, i := range accepted {
				results[i].Status, results[i].Reason = enrolcheck.StatusError, "storing: "+err.Error()
			}
		}
	}
	counts := map[Status]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	if err := e.audit(context.WithoutCancel(ctx), actor, "enrol.batch", "person:"+p.ID, map[string]any{
		"images": len(photos), "model": e.model, "threshold": e.cfg.Threshold, "counts": counts}); err != nil {
		return results, err
	}
	return results, nil
}

// check gives one photo its verdict; for an accepted photo it also returns
// the JPEG to store, the embedding and the face quality.
func (e *Enroller) check(ph Photo, self string, idx *enrolcheck.Index, enrolled map[string]bool) (
	Result, []byte, recognizer.Embedding, recognizer.Quality) {
	r := Result{Image: ph.Name}
	var (
		img *recognizer.Image
		err error
	)
	// The hash is taken over the bytes the store will hold, so that it
	// can be compared with stored photos.
	stored := ph.Data
	if !isJPEG(stored) {
		if img, err = e.cfg.Decode(ph.Data); err != nil {
			r.Status, r.Reason = enrolcheck.StatusBadImage, err.Error()
			return r, nil, recognizer.Embedding{}, recognizer.Quality{}
		}
		if stored, err = enrolcheck.EncodeJPEG(img, gallerysync.MaxPhotoBytes); err != nil {
			r.Status, r.Reason = enrolcheck.StatusBadImage, "re-encoding as JPEG: "+err.Error()
			return r, nil, recognizer.Embedding{}, recognizer.Quality{}
		}
	}
	sum := sha256.Sum256(stored)
	r.SHA256 = hex.EncodeToString(sum[:])
	if enrolled[r.SHA256] {
		r.Status, r.Reason = enrolcheck.StatusAlreadyEnrolled, "this photo is already enrolled for "+self
		return r, nil, recognizer.Embedding{}, recognizer.Quality{}
	}
	if img == nil {
		if img, err = e.cfg.Decode(ph.Data); err != nil {
			r.Status, r.Reason = enrolcheck.StatusBadImage, err.Error()
			return r, nil, recognizer.Embedding{}, recognizer.Quality{}
		}
	}
	v := enrolcheck.Check(e.cfg.Engine, img, e.cfg.Policy)
	r.Faces = v.Faces
	if v.Faces == 1 {
		r.Quality = v.Quality.Score
	}
	if !v.OK() {
		r.Status, r.Reason = v.Status, v.Reason
		return r, nil, recognizer.Embedding{}, recognizer.Quality{}
	}
	other, score, err := idx.NearestOther(v.Embedding, self)
	if err != nil {
		r.Status, r.Reason = enrolcheck.StatusError, "gallery search: "+err.Error()
		return r, nil, recognizer.Embedding{}, recognizer.Quality{}
	}
	if other != "" && score >= e.cfg.Threshold {
		r.SimilarTo, r.Score = other, score
		r.Status, r.Reason = enrolcheck.StatusSimilar, enrolcheck.SimilarReason(other, score, e.cfg.Threshold)
		return r, nil, recognizer.Embedding{}, recognizer.Quality{}
	}
	r.Status = enrolcheck.StatusEnrolled
	return r, stored, v.Embedding, v.Quality
}

// gallery reads every template of the model (an audited read under the
// actor) into a look-alike index, and the photos of person already behind
// one of them.
func (e *Enroller) gallery(ctx context.Context, actor, person string) (*enrolcheck.Index, map[string]bool, error) {
	ts, err := e.cfg.Store.Templates(ctx, actor, e.model)
	if err != nil {
		return nil, nil, fmt.Errorf("enrol: reading the gallery of %s: %w", e.model, err)
	}
	all := make([]gallery.Template, 0, len(ts))
	enrolled := map[string]bool{}
	for _, t := range ts {
		all = append(all, gallery.Template{PersonID: t.Person, TemplateID: t.Person + "/" + t.PhotoSHA256, Vec: t.Vec})
		if t.Person == person {
			enrolled[t.PhotoSHA256] = true
		}
	}
	idx, err := enrolcheck.NewIndex(recognizer.ModelID(e.model), e.cfg.Engine.Dim(), all)
	if err != nil {
		return nil, nil, fmt.Errorf("enrol: %w", err)
	}
	return idx, enrolled, nil
}

// profile is the person to write: the given profile for a new person, or
// the stored one with the fields the call gives.
func profile(p Profile, cur store.Person, exists bool) store.Person {
	if !exists {
		next := store.Person{ID: p.ID, DisplayName: p.DisplayName, Categories: p.Categories, WatchLists: p.WatchLists,
			Facility: p.Facility, Status: store.PersonActive}
		if next.DisplayName == "" {
			next.DisplayName = p.ID
		}
		return next
	}
	next := cur
	if p.DisplayName != "" {
		next.DisplayName = p.DisplayName
	}
	if p.Categories != nil {
		next.Categories = p.Categories
	}
	if p.WatchLists != nil {
		next.WatchLists = p.WatchLists
	}
	if p.Facility != "" {
		next.Facility = p.Facility
	}
	return next
}

// refusal reports whether the store refused this input, rather than
// failed.
func refusal(err error) bool {
	return errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}

func (e *Enroller) audit(ctx context.Context, actor, action, object string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("enrol: audit %s: %w", action, err)
	}
	if err := e.cfg.Store.Audit(ctx, actor, action, object, string(b)); err != nil {
		return fmt.Errorf("enrol: audit %s: %w", action, err)
	}
	return nil
}

var jpegMagic = []byte{0xFF, 0xD8, 0xFF}

// isJPEG reports whether the file can be stored as it is: a JPEG within
// the size a revision carries.
func isJPEG(b []byte) bool {
	return bytes.HasPrefix(b, jpegMagic) && len(b) <= gallerysync.MaxPhotoBytes
}

// checkInput validates what a caller gives, naming the field.
func checkInput(actor string, p Profile, photos []Photo) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("enrol: %s: %s: %w", field, fmt.Sprintf(format, args...), store.ErrInvalid)
	}
	if actor == "" {
		return bad("actor", "empty: every enrolment is audited under the name of who made it")
	}
	if err := checkID(p.ID); err != nil {
		return bad("id", "%v", err)
	}
	if p.Facility != "" {
		if err := wire.ValidateSegment(p.Facility); err != nil {
			return bad("facility", "%q: %v", p.Facility, err)
		}
	}
	if len(photos) == 0 {
		return bad("photos", "none given")
	}
	if len(photos) > MaxPhotos {
		return bad("photos", "%d given, at most %d per call", len(photos), MaxPhotos)
	}
	for i, ph := range photos {
		if len(ph.Data) == 0 {
			return bad(fmt.Sprintf("photos[%d]", i), "empty file")
		}
		if len(ph.Data) > MaxPhotoBytes {
			return bad(fmt.Sprintf("photos[%d]", i), "%d bytes, at most %d", len(ph.Data), MaxPhotoBytes)
		}
	}
	return nil
}

// checkID applies the rule for person ids of a revision: 1 to
// gallerysync.MaxIDLen bytes of printable UTF-8 without white space.
func checkID(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	if len(v) > gallerysync.MaxIDLen {
		return fmt.Errorf("%d bytes long, at most %d are allowed", len(v), gallerysync.MaxIDLen)
	}
	if !utf8.ValidString(v) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%q contains %q: only printable characters without spaces are allowed", v, r)
		}
	}
	return nil
}
