package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
)

// Template is one enrolled face sample of a person.
type Template struct {
	ID         string // assigned by the store
	PersonID   string
	Model      recognizer.ModelID
	Vec        []float32
	Quality    float32 // recognizer.Quality.Score of the enrolment face, in [0,1]
	Source     string  // where the face came from: "booking photo", "camera"...
	PhotoID    string  // enrolment photo it was taken from, if stored
	EnrolledBy string
	EnrolledAt time.Time
}

// NewTemplate is what AddTemplate stores.
type NewTemplate struct {
	PersonID string
	Model    recognizer.ModelID
	Vec      []float32
	Quality  float32
	Source   string
	PhotoID  string // optional
}

func (t NewTemplate) validate() error {
	const what = "template"
	if err := checkID(what, "person", t.PersonID); err != nil {
		return err
	}
	if err := checkID(what, "model", string(t.Model)); err != nil {
		return err
	}
	if len(t.Vec) == 0 || len(t.Vec) > MaxDim {
		return invalid(what, "vector", "has %d components, want 1..%d", len(t.Vec), MaxDim)
	}
	var norm float64
	for i, x := range t.Vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return invalid(what, "vector", "component %d is %v", i, x)
		}
		norm += float64(x) * float64(x)
	}
	if norm < 1e-12 {
		return invalid(what, "vector", "is all zeros")
	}
	if err := checkUnit(what, "quality", t.Quality); err != nil {
		return err
	}
	if err := checkText(what, "source", t.Source, MaxNameBytes, true, false); err != nil {
		return err
	}
	if t.PhotoID != "" {
		return checkID(what, "photo", t.PhotoID)
	}
	return nil
}

// newID returns a random UUID (version 4) for rows the store names itself.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// The additional data binding each sealed value to its row. A template is
// also bound to its person, model and dimension: a row re-attributed to
// another person, or to another model's vector space, no longer decrypts.
func templateAD(id, person string, model recognizer.ModelID, dim int) []byte {
	return boundTo("face_templates", "vector", id, person, string(model), strconv.Itoa(dim))
}

func photoAD(id, person string) []byte {
	return boundTo("enrolment_photos", "image", id, person)
}

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// AddTemplate enrols a face template of an existing person and returns
// its id. The vector is encrypted; its dimension must equal that of the
// model's templates already stored. The enrolment is audited under actor in
// the same transaction. A template made of a photo enrolled at the site is
// also sent up to the region, in that transaction: a gallery/enrol message
// in the outbox (see queueEnrolment).
func (s *Store) AddTemplate(ctx context.Context, actor string, t NewTemplate) (string, error) {
	if err := s.needKey("add template"); err != nil {
		return "", err
	}
	if err := checkID("template", "actor", actor); err != nil {
		return "", err
	}
	if err := t.validate(); err != nil {
		return "", err
	}
	id := newID()
	err := s.write(ctx, "add template", func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "persons", "person", t.PersonID); err != nil {
			return err
		}
		var dim int
		err := tx.QueryRowContext(ctx, `SELECT dim FROM face_templates WHERE model_id = ? LIMIT 1`, string(t.Model)).Scan(&dim)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case dim != len(t.Vec):
			return invalid("template", "vector", "has %d components but model %q templates have %d", len(t.Vec), t.Model, dim)
		}
		var photo any
		if t.PhotoID != "" {
			var owner string
			err := tx.QueryRowContext(ctx, `SELECT person_id FROM enrolment_photos WHERE id = ?`, t.PhotoID).Scan(&owner)
			if err != nil {
				return notFound(err, "enrolment photo", t.PhotoID)
			}
			if owner != t.PersonID {
				return invalid("template", "photo", "%q is a photo of another person", t.PhotoID)
			}
			photo = t.PhotoID
		}
		sealed := s.seal.seal(encodeVec(t.Vec), templateAD(id, t.PersonID, t.Model, len(t.Vec)))
		_, err = tx.ExecContext(ctx, `INSERT INTO face_templates
			(id, person_id, model_id, dim, quality, source, photo_id, enrolled_by, enrolled_at_ms, vector)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, t.PersonID, string(t.Model), len(t.Vec), float64(t.Quality), t.Source, photo, actor, s.nowMs(), sealed)
		if err != nil {
			return err
		}
		if err := s.queueEnrolment(ctx, tx, actor, id, t); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "template.enrol", "template:"+id, map[string]any{
			"person": t.PersonID, "model": t.Model, "source": t.Source, "dim": len(t.Vec)})
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Templates loads and decrypts every template of one model, ordered by
// person and enrolment, for building the gallery. The read is audited
// under actor (normally SystemActor) in the same transaction. Any template
// that fails to decrypt fails the whole load with an error naming it
// (ErrDecrypt): a gallery silently missing people is worse than none.
func (s *Store) Templates(ctx context.Context, model recognizer.ModelID, actor string) ([]Template, error) {
	if err := s.needKey("templates"); err != nil {
		return nil, err
	}
	if err := checkID("template query", "actor", actor); err != nil {
		return nil, err
	}
	if err := checkID("template query", "model", string(model)); err != nil {
		return nil, err
	}
	var out []Template
	err := s.write(ctx, "load templates", func(tx *sql.Tx) (err error) {
		out, err = appendRows(ctx, tx, nil, func(r scanner) (Template, error) {
			t := Template{Model: model}
			var dim int
			var quality float64
			var photo sql.NullString
			var at int64
			var sealed []byte
			if err := r.Scan(&t.ID, &t.PersonID, &dim, &quality, &t.Source, &photo, &t.EnrolledBy, &at, &sealed); err != nil {
				return t, err
			}
			plain, err := s.seal.open(sealed, templateAD(t.ID, t.PersonID, model, dim))
			if err != nil {
				return t, fmt.Errorf("template %s of person %s: %w", t.ID, t.PersonID, err)
			}
			if len(plain) != 4*dim {
				return t, fmt.Errorf("template %s: %w: %d bytes for dimension %d", t.ID, ErrCorrupt, len(plain), dim)
			}
			t.Vec = decodeVec(plain)
			t.Quality = float32(quality)
			t.PhotoID = photo.String
			t.EnrolledAt = fromMs(at)
			return t, nil
		}, `SELECT id, person_id, dim, quality, source, photo_id, enrolled_by, enrolled_at_ms, vector
			FROM face_templates WHERE model_id = ? ORDER BY person_id, enrolled_at_ms, id`, string(model))
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "template.read", "model:"+string(model), map[string]any{
			"purpose": "gallery load", "count": len(out)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddPhoto stores an encrypted enrolment photo (JPEG or PNG) of an
// existing person and returns its id; audited under actor. The photo's
// SHA-256 and size are kept beside it in the clear (see Photos).
func (s *Store) AddPhoto(ctx context.Context, actor, personID string, image []byte, source string) (string, error) {
	const what = "enrolment photo"
	if err := s.needKey("add photo"); err != nil {
		return "", err
	}
	if err := checkID(what, "actor", actor); err != nil {
		return "", err
	}
	if err := checkID(what, "person", personID); err != nil {
		return "", err
	}
	if err := checkImage(what, "image", image, MaxPhotoBytes); err != nil {
		return "", err
	}
	if err := checkText(what, "source", source, MaxNameBytes, true, false); err != nil {
		return "", err
	}
	id := newID()
	// The hash is taken over the plaintext, before sealing, so that the
	// same photo always gives the same hash whatever its nonce. A hash of
	// a face photo is not itself biometric data: the face cannot be
	// recovered from it or compared through it. It is only ever used to
	// detect that the very same file was enrolled before, which is why it
	// is stored in the clear (see PhotoInfo).
	sum := photoHash(image)
	err := s.write(ctx, "add photo", func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "persons", "person", personID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO enrolment_photos
			(id, person_id, source, enrolled_by, enrolled_at_ms, sha256, size_bytes, image)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, personID, source, actor, s.nowMs(), sum, len(image),
			s.seal.seal(image, photoAD(id, personID)))
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, actor, "photo.enrol", "photo:"+id, map[string]any{
			"person": personID, "source": source, "bytes": len(image)})
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Photo decrypts one enrolment photo; the read is audited under actor.
func (s *Store) Photo(ctx context.Context, actor, id string) ([]byte, error) {
	if err := s.needKey("photo"); err != nil {
		return nil, err
	}
	if err := checkID("photo query", "actor", actor); err != nil {
		return nil, err
	}
	if err := checkID("photo query", "id", id); err != nil {
		return nil, err
	}
	var out []byte
	err := s.write(ctx, "read photo "+id, func(tx *sql.Tx) error {
		var person string
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT person_id, image FROM enrolment_photos WHERE id = ?`, id).Scan(&person, &sealed)
		if err != nil {
			return notFound(err, "enrolment photo", id)
		}
		if out, err = s.seal.open(sealed, photoAD(id, person)); err != nil {
			return fmt.Errorf("photo %s: %w", id, err)
		}
		return s.appendAudit(ctx, tx, actor, "photo.read", "photo:"+id, map[string]any{"person": person})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteBiometrics removes every template and enrolment photo of a person
// (on release, or when retention ends) and returns how many of each were
// deleted; audited under actor. The profile itself stays.
func (s *Store) DeleteBiometrics(ctx context.Context, actor, personID string) (templates, photos int64, err error) {
	if err := checkID("biometric deletion", "actor", actor); err != nil {
		return 0, 0, err
	}
	if err := checkID("biometric deletion", "person", personID); err != nil {
		return 0, 0, err
	}
	err = s.write(ctx, "delete biometrics of "+personID, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "persons", "person", personID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM face_templates WHERE person_id = ?`, personID)
		if err != nil {
			return err
		}
		templates, _ = res.RowsAffected()
		if res, err = tx.ExecContext(ctx, `DELETE FROM enrolment_photos WHERE person_id = ?`, personID); err != nil {
			return err
		}
		photos, _ = res.RowsAffected()
		return s.appendAudit(ctx, tx, actor, "biometric.delete", "person:"+personID, map[string]any{
			"templates": templates, "photos": photos})
	})
	return templates, photos, err
}
