package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // enrolment photos may be PNG

	"golang.org/x/image/draw"

	"github.com/dozor-edge/dozor/sync/wire"
)

// queueEnrolment sends a template enrolled at the site up to the region,
// inside the transaction that stores it (AddTemplate): one gallery/enrol
// message with the person's profile, the photo the template was made of
// and the template, so that the region makes it part of the master
// gallery. Nothing is sent for a template without a photo (the region
// keeps photos, from which each site makes its own model's templates) nor
// for one made of a photo a gallery revision brought (the region has it:
// such templates are the site's re-embeddings for its own model).
func (s *Store) queueEnrolment(ctx context.Context, tx *sql.Tx, actor, templateID string, t NewTemplate) error {
	if t.PhotoID == "" {
		return nil
	}
	var sum, source string
	var synced bool
	var sealed []byte
	err := tx.QueryRowContext(ctx, `SELECT sha256, source, synced, image FROM enrolment_photos WHERE id = ?`, t.PhotoID).
		Scan(&sum, &source, &synced, &sealed)
	if err != nil {
		return notFound(err, "enrolment photo", t.PhotoID)
	}
	if synced {
		return nil
	}
	img, err := s.seal.open(sealed, photoAD(t.PhotoID, t.PersonID))
	if err != nil {
		return fmt.Errorf("photo %s: %w", t.PhotoID, err)
	}
	if img, err = enrolmentJPEG(img); err != nil {
		return invalid("template", "photo", "cannot be sent to the region: %v", err)
	}
	sum = photoHash(img) // of what is sent: a re-encoded photo is another file
	persons, err := loadPersons(ctx, tx, t.PersonID)
	if err != nil {
		return err
	}
	if len(persons) == 0 {
		return fmt.Errorf("%w: person %q", ErrNotFound, t.PersonID)
	}
	p := persons[0]
	id, err := wire.NewID()
	if err != nil {
		return err
	}
	topic, err := wire.GalleryEnrolTopic(s.region, s.site)
	if err != nil {
		return err
	}
	at := s.now().UTC()
	_, err = s.appendOutbox(ctx, tx, func(seq uint64) (OutboxMessage, error) {
		e := wire.GalleryEnrolment{Seq: seq, Site: s.site, ID: id, At: at, By: actor,
			Person:    wire.EnrolledPerson{ID: p.ID, DisplayName: p.DisplayName, Categories: p.Categories, WatchLists: p.WatchLists},
			Photo:     wire.EnrolledPhoto{SHA256: sum, JPEG: img, Source: source},
			Templates: []wire.EnrolledTemplate{{Model: string(t.Model), Vec: t.Vec, Quality: t.Quality}}}
		b, err := wire.Encode(e)
		if err != nil {
			return OutboxMessage{}, fmt.Errorf("gallery enrolment of template %s: %w", templateID, err)
		}
		return OutboxMessage{Topic: topic, Payload: b}, nil
	})
	return err
}

// enrolmentJPEG returns the photo as the wire carries it: a JPEG of at
// most wire.MaxEnrolPhotoLen bytes. A JPEG that fits goes as it is (the
// region then holds the very file, and finds it again by its hash); a PNG,
// or a JPEG too large, is re-encoded, scaled down until it fits.
func enrolmentJPEG(img []byte) ([]byte, error) {
	if bytes.HasPrefix(img, jpegMagic) && len(img) <= wire.MaxEnrolPhotoLen {
		return img, nil
	}
	src, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	for range 12 {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		var out bytes.Buffer
		if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 90}); err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		if out.Len() <= wire.MaxEnrolPhotoLen {
			return out.Bytes(), nil
		}
		w, h = max(1, w*3/4), max(1, h*3/4)
	}
	return nil, fmt.Errorf("no JPEG of it fits in %d bytes", wire.MaxEnrolPhotoLen)
}
