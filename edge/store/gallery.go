package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

// PersonOrigin says who manages a profile.
type PersonOrigin string

const (
	// OriginLocal: enrolled at the site; the site manages it.
	OriginLocal PersonOrigin = "local"
	// OriginRegion: brought by a gallery revision of the region, which
	// manages it: the site applies the region's revisions and refuses to
	// remove it locally (ErrRegionManaged).
	OriginRegion PersonOrigin = "region"
)

// RegionActor is the actor of the changes a gallery revision makes.
const RegionActor = "region"

// GalleryState is the revision of the region's gallery in force at the
// site.
type GalleryState struct {
	// Revision is the revision in force; 0 before the first is applied.
	Revision uint64
	// BodySHA256 is the SHA-256 (hex) of the revision's body as signed.
	BodySHA256 string
	// Signer is the fingerprint of the region key that signed it.
	Signer    string
	AppliedAt time.Time
}

// RevisionSource is what a revision's signed envelope says of it besides
// its body: kept in the gallery state and the audit log.
type RevisionSource struct {
	BodySHA256 string
	Signer     string
}

// AppliedRevision says what ApplyGalleryRevision did.
type AppliedRevision struct {
	Revision uint64
	Full     bool
	// Upserted persons were added or replaced, Removed persons removed
	// (those a full revision left out included).
	Upserted, Removed int
	// Templates is the number of templates the site holds after it.
	Templates int
	// AckSeq is the outbox sequence number of the applied ack.
	AckSeq uint64
}

// GalleryState returns the revision in force (the zero state before the
// first).
func (s *Store) GalleryState(ctx context.Context) (GalleryState, error) {
	var g GalleryState
	err := s.read(ctx, "gallery state", func(tx *sql.Tx) (err error) {
		g, err = galleryState(ctx, tx)
		return err
	})
	return g, err
}

// GalleryInForce returns the number of the revision in force, 0 for none.
func (s *Store) GalleryInForce(ctx context.Context) (uint64, error) {
	g, err := s.GalleryState(ctx)
	return g.Revision, err
}

func galleryState(ctx context.Context, q querier) (GalleryState, error) {
	var g GalleryState
	var at int64
	err := q.QueryRowContext(ctx, `SELECT revision, body_sha256, signer, applied_at_ms FROM gallery_state WHERE id = 1`).
		Scan(&g.Revision, &g.BodySHA256, &g.Signer, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return GalleryState{}, nil
	}
	if err != nil {
		return GalleryState{}, err
	}
	g.AppliedAt = fromMs(at)
	return g, nil
}

// ApplyGalleryRevision applies a verified revision of the region's gallery
// in one transaction, and queues its applied ack (gallery/ack) in the
// outbox in the same transaction: the gallery changes and the region is
// told, or neither happens.
//
//   - The revision must follow the one in force (gallerysync.CheckOrder);
//     otherwise the error wraps the *gallerysync.Refusal and nothing is
//     written.
//   - Each upserted person's profile is replaced and becomes the region's
//     (OriginRegion, facility this site). Its photos are found by SHA-256
//     and added when missing; its templates by (photo, model). The
//     person's synced photos and templates that the revision no longer
//     lists are deleted (with the templates made of such a photo); those
//     enrolled at the site and not yet synced stay.
//   - Each removed person goes as RemovePerson removes it; an unknown one
//     is already gone. A full revision also removes every region person it
//     does not list.
//   - The gallery state records the revision, and "gallery.apply" is
//     audited under RegionActor.
func (s *Store) ApplyGalleryRevision(ctx context.Context, rev gallerysync.Revision, src RevisionSource) (AppliedRevision, error) {
	if err := s.needKey("apply gallery revision"); err != nil {
		return AppliedRevision{}, err
	}
	if rev.Site != s.site || rev.Region != s.region {
		return AppliedRevision{}, invalid("gallery revision", "site", "%s/%s is not this site (%s/%s)", rev.Region, rev.Site, s.region, s.site)
	}
	if err := rev.Validate(); err != nil {
		return AppliedRevision{}, invalid("gallery revision", "body", "%v", err)
	}
	out := AppliedRevision{Revision: rev.Number, Full: rev.Full}
	err := s.write(ctx, fmt.Sprintf("apply gallery revision %d", rev.Number), func(tx *sql.Tx) error {
		cur, err := galleryState(ctx, tx)
		if err != nil {
			return err
		}
		if err := gallerysync.CheckOrder(cur.Revision, rev); err != nil {
			return err
		}
		now := s.nowMs()
		listed := make(map[string]bool, len(rev.Upserts))
		for _, p := range rev.Upserts {
			listed[p.ID] = true
			if err := s.upsertRegionPerson(ctx, tx, p, now); err != nil {
				return fmt.Errorf("person %s: %w", p.ID, err)
			}
		}
		removals := rev.Removals
		if rev.Full {
			ids, err := appendRows(ctx, tx, nil, func(r scanner) (string, error) {
				var id string
				return id, r.Scan(&id)
			}, `SELECT id FROM persons WHERE origin = 'region' ORDER BY id`)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if !listed[id] {
					removals = append(removals, id)
				}
			}
		}
		var removedIDs []string
		for _, id := range removals {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM persons WHERE id = ?`, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := deletePerson(ctx, tx, id); err != nil {
				return fmt.Errorf("remove person %s: %w", id, err)
			}
			removedIDs = append(removedIDs, id)
		}
		out.Upserted, out.Removed = len(rev.Upserts), len(removedIDs)
		if _, err := tx.ExecContext(ctx, `INSERT INTO gallery_state (id, revision, body_sha256, signer, applied_at_ms)
			VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET revision = excluded.revision,
			body_sha256 = excluded.body_sha256, signer = excluded.signer, applied_at_ms = excluded.applied_at_ms`,
			int64(rev.Number), src.BodySHA256, src.Signer, now); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM face_templates`).Scan(&out.Templates); err != nil {
			return err
		}
		upserted := make([]string, len(rev.Upserts))
		for i, p := range rev.Upserts {
			upserted[i] = p.ID
		}
		if err := s.appendAudit(ctx, tx, RegionActor, "gallery.apply", fmt.Sprintf("gallery:%d", rev.Number), map[string]any{
			"revision": rev.Number, "base": rev.Base, "full": rev.Full, "issued": rev.Issued.UTC(),
			"upserts": auditIDs(upserted), "removals": auditIDs(removedIDs), "upserted": len(upserted), "removed": len(removedIDs),
			"templates": out.Templates, "signer": src.Signer, "body_sha256": src.BodySHA256}); err != nil {
			return err
		}
		out.AckSeq, err = s.appendOutbox(ctx, tx, s.galleryAck(wire.GalleryAck{Revision: rev.Number, InForce: rev.Number,
			Status: wire.GalleryApplied, Templates: out.Templates}))
		return err
	})
	if err != nil {
		return AppliedRevision{}, err
	}
	return out, nil
}

// auditIDs keeps the audit detail of a large revision (a first full sync
// of thousands) short: the ids themselves only up to a hundred; the counts
// are beside them.
func auditIDs(ids []string) []string {
	const most = 100
	if len(ids) > most {
		return append(ids[:most:most], fmt.Sprintf("... %d more", len(ids)-most))
	}
	return ids
}

// upsertRegionPerson writes one person of a revision inside tx.
func (s *Store) upsertRegionPerson(ctx context.Context, tx *sql.Tx, gp gallerysync.Person, now int64) error {
	p := Person{ID: gp.ID, DisplayName: gp.DisplayName, Facility: s.site, Status: PersonStatus(gp.Status),
		Categories: gp.Categories, WatchLists: gp.WatchLists}
	if err := p.normalise(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO persons (id, display_name, facility, status, origin, created_at_ms, updated_at_ms)
		VALUES (?, ?, ?, ?, 'region', ?, ?)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, facility = excluded.facility,
			status = excluded.status, origin = 'region', updated_at_ms = excluded.updated_at_ms`,
		p.ID, p.DisplayName, p.Facility, string(p.Status), now, now); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM person_categories WHERE person_id = ?`, `DELETE FROM person_watchlists WHERE person_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
			return err
		}
	}
	for _, c := range p.Categories {
		if _, err := tx.ExecContext(ctx, `INSERT INTO person_categories (person_id, category) VALUES (?, ?)`, p.ID, c); err != nil {
			return err
		}
	}
	for _, w := range p.WatchLists {
		if _, err := tx.ExecContext(ctx, `INSERT INTO person_watchlists (person_id, watchlist) VALUES (?, ?)`, p.ID, w); err != nil {
			return err
		}
	}

	// Photos, by SHA-256: the oldest photo of the person with that hash
	// stands for it (the site may hold the file twice).
	photoOf := map[string]string{} // sha -> photo id
	for _, ph := range gp.Photos {
		if _, done := photoOf[ph.SHA256]; done {
			continue
		}
		if err := checkImage("gallery photo", "jpeg", ph.JPEG, MaxPhotoBytes); err != nil {
			return err
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM enrolment_photos WHERE person_id = ? AND sha256 = ?
			ORDER BY enrolled_at_ms, id LIMIT 1`, p.ID, ph.SHA256).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id = newID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO enrolment_photos
				(id, person_id, source, enrolled_by, enrolled_at_ms, sha256, size_bytes, image, synced)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`, id, p.ID, sourceOr(ph.Source), RegionActor, now, ph.SHA256,
				len(ph.JPEG), s.seal.seal(ph.JPEG, photoAD(id, p.ID))); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE enrolment_photos SET synced = 1 WHERE id = ?`, id); err != nil {
				return err
			}
		}
		photoOf[ph.SHA256] = id
	}
	// Synced photos the revision no longer lists go, with every template
	// made of them.
	stale, err := appendRows(ctx, tx, nil, func(r scanner) (string, error) {
		var id, sum string
		err := r.Scan(&id, &sum)
		if _, keep := photoOf[sum]; keep {
			id = ""
		}
		return id, err
	}, `SELECT id, sha256 FROM enrolment_photos WHERE person_id = ? AND synced = 1`, p.ID)
	if err != nil {
		return err
	}
	for _, id := range stale {
		if id == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM face_templates WHERE photo_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM enrolment_photos WHERE id = ?`, id); err != nil {
			return err
		}
	}

	// Templates, by (photo, model).
	keep := map[string]bool{} // template ids the revision lists
	for i, gt := range gp.Templates {
		photo := photoOf[gt.PhotoSHA256] // present: Validate checked it
		nt := NewTemplate{PersonID: p.ID, Model: recognizer.ModelID(gt.Model), Vec: gt.Vec, Quality: gt.Quality,
			Source: RegionActor, PhotoID: photo}
		if err := nt.validate(); err != nil {
			return fmt.Errorf("templates[%d]: %w", i, err)
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM face_templates WHERE person_id = ? AND photo_id = ? AND model_id = ?
			ORDER BY synced DESC, enrolled_at_ms, id LIMIT 1`, p.ID, photo, gt.Model).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if id, err = s.insertTemplate(ctx, tx, RegionActor, nt, true, now); err != nil {
				return fmt.Errorf("templates[%d]: %w", i, err)
			}
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE face_templates SET synced = 1 WHERE id = ?`, id); err != nil {
				return err
			}
		}
		keep[id] = true
	}
	ids, err := appendRows(ctx, tx, nil, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT id FROM face_templates WHERE person_id = ? AND synced = 1`, p.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if keep[id] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM face_templates WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

func sourceOr(src string) string {
	if strings.TrimSpace(src) == "" || checkText("", "", src, MaxNameBytes, true, false) != nil {
		return RegionActor
	}
	return src
}

// insertTemplate stores a validated template inside tx, checking that its
// dimension is that of the model's templates already stored.
func (s *Store) insertTemplate(ctx context.Context, tx *sql.Tx, actor string, t NewTemplate, synced bool, now int64) (string, error) {
	var dim int
	err := tx.QueryRowContext(ctx, `SELECT dim FROM face_templates WHERE model_id = ? LIMIT 1`, string(t.Model)).Scan(&dim)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", err
	case dim != len(t.Vec):
		return "", invalid("template", "vector", "has %d components but model %q templates have %d", len(t.Vec), t.Model, dim)
	}
	var photo any
	if t.PhotoID != "" {
		photo = t.PhotoID
	}
	id := newID()
	sealed := s.seal.seal(encodeVec(t.Vec), templateAD(id, t.PersonID, t.Model, len(t.Vec)))
	_, err = tx.ExecContext(ctx, `INSERT INTO face_templates
		(id, person_id, model_id, dim, quality, source, photo_id, enrolled_by, enrolled_at_ms, vector, synced)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, t.PersonID, string(t.Model), len(t.Vec), float64(t.Quality), t.Source, photo, actor, now, sealed, boolInt(synced))
	return id, err
}

// GalleryRefusal is a revision the site does not apply, and why.
type GalleryRefusal struct {
	// Revision is the refused revision's number; 0 when it is not known
	// (a malformed chunk).
	Revision uint64
	// Reason is a short code (a gallerysync reason: "unsigned",
	// "bad_signature", "replayed"...), Detail the text that explains it.
	Reason, Detail string
	// Resync asks the region for what follows the revision in force
	// instead of reporting Revision failed: for a gap, a replay, or a
	// revision whose number is unknown.
	Resync bool
}

// RefuseGalleryRevision records a refused revision: "gallery.refused" is
// audited (reason, revision, detail) under RegionActor and the ack for the
// region is queued, in one transaction. The gallery is not touched. The
// ack is failed (Revision refused, Reason "reason: detail"), or a resync
// when r.Resync is set or the revision is unknown. It returns the ack's
// outbox sequence number.
func (s *Store) RefuseGalleryRevision(ctx context.Context, r GalleryRefusal) (uint64, error) {
	const what = "gallery refusal"
	if err := checkID(what, "reason", r.Reason); err != nil {
		return 0, err
	}
	if r.Revision > wire.MaxSeq {
		return 0, invalid(what, "revision", "%d exceeds 2^53-1", r.Revision)
	}
	detail := clipText(r.Detail, MaxNoteBytes)
	var seq uint64
	err := s.write(ctx, "refuse gallery revision", func(tx *sql.Tx) error {
		cur, err := galleryState(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.appendAudit(ctx, tx, RegionActor, "gallery.refused", fmt.Sprintf("gallery:%d", r.Revision), map[string]any{
			"reason": r.Reason, "revision": r.Revision, "in_force": cur.Revision, "detail": detail}); err != nil {
			return err
		}
		ack := wire.GalleryAck{Revision: r.Revision, InForce: cur.Revision, Status: wire.GalleryFailed,
			Reason: clipText(r.Reason+": "+detail, 512)}
		if r.Resync || r.Revision == 0 {
			ack.Revision, ack.Status, ack.Reason = cur.Revision, wire.GalleryResync, clipText(r.Reason, 512)
		}
		seq, err = s.appendOutbox(ctx, tx, s.galleryAck(ack))
		return err
	})
	return seq, err
}

// QueueGalleryResync queues a resync ack (the revision in force, "send
// what follows"), as the site sends once after each connect; reason says
// why ("connect"). Nothing is audited: the ack changes nothing here.
func (s *Store) QueueGalleryResync(ctx context.Context, reason string) (uint64, error) {
	var seq uint64
	err := s.write(ctx, "queue gallery resync", func(tx *sql.Tx) error {
		cur, err := galleryState(ctx, tx)
		if err != nil {
			return err
		}
		seq, err = s.appendOutbox(ctx, tx, s.galleryAck(wire.GalleryAck{Revision: cur.Revision, InForce: cur.Revision,
			Status: wire.GalleryResync, Reason: clipText(reason, 512)}))
		return err
	})
	return seq, err
}

// galleryAck composes ack (Seq, Site and At filled in) for the outbox.
func (s *Store) galleryAck(ack wire.GalleryAck) Compose {
	return func(seq uint64) (OutboxMessage, error) {
		topic, err := wire.GalleryAckTopic(s.region, s.site)
		if err != nil {
			return OutboxMessage{}, err
		}
		ack.Seq, ack.Site, ack.At = seq, s.site, s.now().UTC()
		b, err := wire.Encode(ack)
		if err != nil {
			return OutboxMessage{}, err
		}
		return OutboxMessage{Topic: topic, Payload: b}, nil
	}
}

// clipText cuts s to at most max bytes on a character boundary.
func clipText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
