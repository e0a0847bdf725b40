package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
)

// PhotoInfo describes one stored enrolment photo without its image.
type PhotoInfo struct {
	ID       string
	PersonID string
	Source   string
	// SHA256 is the lower-case hex SHA-256 of the image as stored
	// (the plaintext, not the sealed value).
	SHA256     string
	Size       int // bytes of the image
	EnrolledBy string
	EnrolledAt time.Time
}

// ModelCount is one embedding model's share of the stored templates.
type ModelCount struct {
	Model     recognizer.ModelID
	Dim       int
	Templates int // templates of the model
	Persons   int // distinct persons with at least one of them
}

// TemplateCount is the number of templates one person has of one model.
type TemplateCount struct {
	PersonID string
	Model    recognizer.ModelID
	Count    int
}

// photoHash is the key under which an enrolment photo is found again.
func photoHash(image []byte) string {
	sum := sha256.Sum256(image)
	return hex.EncodeToString(sum[:])
}

// The queries below read metadata only: ids, persons, sources, hashes,
// sizes, qualities, times, models, dimensions and counts. None of them touches a
// sealed column, so they reveal no face and are not biometric reads; like
// Persons they are not audited, need no key (they work on a store opened
// with Options.NoKey) and take no write lock. Reading an image or a
// vector still goes through Photo or Templates, which are audited.

const photoColumns = `id, person_id, source, sha256, size_bytes, enrolled_by, enrolled_at_ms`

// Photos lists the enrolment photos of one person, oldest first, or of
// every person (ordered by person, then age) when personID is empty. A
// person without photos, or unknown to the store, has none: the result is
// empty, not an error.
func (s *Store) Photos(ctx context.Context, personID string) ([]PhotoInfo, error) {
	q, args := `SELECT `+photoColumns+` FROM enrolment_photos ORDER BY person_id, enrolled_at_ms, id`, []any(nil)
	if personID != "" {
		if err := checkID("photo query", "person", personID); err != nil {
			return nil, err
		}
		q = `SELECT ` + photoColumns + ` FROM enrolment_photos WHERE person_id = ? ORDER BY enrolled_at_ms, id`
		args = []any{personID}
	}
	return s.photoInfos(ctx, "photos", q, args...)
}

// PhotosByHash lists every enrolment photo whose image has the given
// SHA-256 (64 hex digits, either case), oldest first, whichever person it
// belongs to: the same file may have been enrolled for more than one
// person, or twice for one. An empty result means the file was never
// enrolled.
func (s *Store) PhotosByHash(ctx context.Context, sum string) ([]PhotoInfo, error) {
	sum = strings.ToLower(sum)
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return nil, invalid("photo query", "sha256", "%q is not 64 hexadecimal digits", sum)
	}
	return s.photoInfos(ctx, "photos by hash",
		`SELECT `+photoColumns+` FROM enrolment_photos WHERE sha256 = ? ORDER BY enrolled_at_ms, id`, sum)
}

func (s *Store) photoInfos(ctx context.Context, op, q string, args ...any) ([]PhotoInfo, error) {
	return readRows(ctx, s, op, []PhotoInfo{}, func(r scanner) (PhotoInfo, error) {
		var p PhotoInfo
		var at int64
		err := r.Scan(&p.ID, &p.PersonID, &p.Source, &p.SHA256, &p.Size, &p.EnrolledBy, &at)
		p.EnrolledAt = fromMs(at)
		return p, err
	}, q, args...)
}

// TemplateModels lists, sorted by model id, every model that has stored
// templates, with its dimension and how many templates and persons it
// has. The store keeps one dimension per model (AddTemplate refuses
// another), so each model appears once.
func (s *Store) TemplateModels(ctx context.Context) ([]ModelCount, error) {
	return readRows(ctx, s, "template models", []ModelCount{}, func(r scanner) (ModelCount, error) {
		var m ModelCount
		var model string
		err := r.Scan(&model, &m.Dim, &m.Templates, &m.Persons)
		m.Model = recognizer.ModelID(model)
		return m, err
	}, `SELECT model_id, min(dim), count(*), count(DISTINCT person_id)
		FROM face_templates GROUP BY model_id ORDER BY model_id`)
}

// TemplateCounts lists how many templates each person has of each model,
// ordered by person and model; pairs with no template are left out.
func (s *Store) TemplateCounts(ctx context.Context) ([]TemplateCount, error) {
	return readRows(ctx, s, "template counts", []TemplateCount{}, func(r scanner) (TemplateCount, error) {
		var c TemplateCount
		var model string
		err := r.Scan(&c.PersonID, &model, &c.Count)
		c.Model = recognizer.ModelID(model)
		return c, err
	}, `SELECT person_id, model_id, count(*)
		FROM face_templates GROUP BY person_id, model_id ORDER BY person_id, model_id`)
}

// TemplateInfo describes one stored face template without its vector.
type TemplateInfo struct {
	ID         string
	PersonID   string
	Model      recognizer.ModelID
	Dim        int
	Quality    float32
	Source     string
	PhotoID    string // the enrolment photo it was made from, "" if none is stored
	EnrolledBy string
	EnrolledAt time.Time
}

// TemplateInfos lists the templates of one person, oldest first, without
// their vectors; an unknown person has none.
func (s *Store) TemplateInfos(ctx context.Context, personID string) ([]TemplateInfo, error) {
	if err := checkID("template query", "person", personID); err != nil {
		return nil, err
	}
	return readRows(ctx, s, "template infos", []TemplateInfo{}, func(r scanner) (TemplateInfo, error) {
		var t TemplateInfo
		var model string
		var quality float64
		var photo sql.NullString
		var at int64
		err := r.Scan(&t.ID, &t.PersonID, &model, &t.Dim, &quality, &t.Source, &photo, &t.EnrolledBy, &at)
		t.Model, t.Quality, t.PhotoID, t.EnrolledAt = recognizer.ModelID(model), float32(quality), photo.String, fromMs(at)
		return t, err
	}, `SELECT id, person_id, model_id, dim, quality, source, photo_id, enrolled_by, enrolled_at_ms
		FROM face_templates WHERE person_id = ? ORDER BY enrolled_at_ms, id`, personID)
}
